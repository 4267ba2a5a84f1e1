// Bech32 (BIP 173, the original checksum, not bech32m) as age uses it for keys:
// `age1…` recipients and `AGE-SECRET-KEY-1…` identities. Unlike BIP 173, age sets
// no 90-character limit. Strings must be all lower or all upper case.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATORS[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Regroups bits; `pad` false rejects leftover non-zero bits (decoding). */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    const value = data[i]!;
    if (value >>> from !== 0) return null;
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return null;
  }
  return out;
}

/** Encodes bytes under a human-readable part; `upper` for identities. */
export function bech32Encode(hrp: string, bytes: Uint8Array, upper = false): string {
  const lower = hrp.toLowerCase();
  const data = convertBits(bytes, 8, 5, true)!;
  const values = [...hrpExpand(lower), ...data, 0, 0, 0, 0, 0, 0];
  const mod = polymod(values) ^ 1;
  const checksum: number[] = [];
  for (let i = 0; i < 6; i++) checksum.push((mod >>> (5 * (5 - i))) & 31);
  const text = lower + '1' + [...data, ...checksum].map((d) => CHARSET[d]).join('');
  return upper ? text.toUpperCase() : text;
}

export interface Bech32Decoded {
  /** Human-readable part, lower case. */
  hrp: string;
  bytes: Uint8Array;
}

/** Decodes a bech32 string; returns a reason (never the input) when invalid. */
export function bech32Decode(text: string): Bech32Decoded | { error: string } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return { error: 'mixes upper and lower case' };
  const s = text.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1) return { error: 'has no bech32 separator' };
  if (s.length - sep - 1 < 6) return { error: 'is too short' };
  const hrp = s.slice(0, sep);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) return { error: 'has an invalid character' };
  }
  const data: number[] = [];
  for (const ch of s.slice(sep + 1)) {
    const d = CHARSET.indexOf(ch);
    if (d < 0) return { error: 'has a character outside the bech32 alphabet' };
    data.push(d);
  }
  if (polymod([...hrpExpand(hrp), ...data]) !== 1) return { error: 'has a bad checksum (mistyped or cut short?)' };
  const bytes = convertBits(data.slice(0, -6), 5, 8, false);
  if (!bytes) return { error: 'has invalid padding' };
  return { hrp, bytes: Uint8Array.from(bytes) };
}
