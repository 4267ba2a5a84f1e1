// Verifies a password against a hash as web apps store it, so a login check can prove that a
// canary account in the restored database still accepts its password. Pure JS/WASM (no native
// addons). Anything we cannot parse or compute is `not-verified`, never `passed`.

import { createHash, pbkdf2, scrypt, timingSafeEqual } from 'node:crypto';
import { argon2d, argon2i, argon2id, bcryptVerify } from 'hash-wasm';

export type HashStatus = 'passed' | 'failed' | 'not-verified';
export interface HashVerdict {
  status: HashStatus;
  /** Which format was recognised, e.g. `bcrypt`, `pbkdf2-sha256 (Django)`; `unknown` otherwise. */
  scheme: string;
  /** Why the hash could not be verified (never contains the password or the hash). */
  reason?: string;
}

/** A stored value we recognise but cannot check: becomes `not-verified` with this message. */
class Unverifiable extends Error {}

// Work limits: a hash read from a backup decides how much CPU and memory we spend. These are far
// above what apps use (bcrypt 10-14, argon2 m ≤ 256 MiB, Django pbkdf2 1.2M) but stop a hostile
// or corrupt row from hanging the drill or exhausting the runner.
const MAX_BCRYPT_COST = 20;
const MAX_MEMORY_BYTES = 1024 ** 3;
const MAX_ARGON2_TIME = 64;
const MAX_PARALLELISM = 64;
const MAX_PBKDF2_ITERATIONS = 20_000_000;
// An empty or tiny stored digest would "match" any password once derived to that length.
const MIN_DIGEST_BYTES = 16;

interface Scheme {
  /** Format name for the report, from the match (e.g. the digest or argon2 variant). */
  scheme: string | ((m: RegExpMatchArray) => string);
  match: RegExp;
  /** Resolves true/false, or throws Unverifiable. */
  verify(password: string, m: RegExpMatchArray): Promise<boolean>;
}

const SCHEMES: Scheme[] = [
  { scheme: 'bcrypt', match: /^(\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/, verify: (pw, m) => bcryptCheck(pw, m[1]!) },
  { scheme: 'bcrypt (Django)', match: /^bcrypt\$(\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/, verify: (pw, m) => bcryptCheck(pw, m[1]!) },
  {
    // Django hashes first so long passwords are not truncated: bcrypt(hex(sha256(password))).
    scheme: 'bcrypt-sha256 (Django)',
    match: /^bcrypt_sha256\$(\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/,
    verify: (pw, m) => bcryptCheck(createHash('sha256').update(pw, 'utf8').digest('hex'), m[1]!),
  },
  {
    // PHC string; Django stores the same string behind an `argon2` prefix.
    scheme: (m) => `${m[2]}${m[1] ? ' (Django)' : ''}`,
    match: /^(argon2(?=\$))?(?:\$(argon2(?:id|i|d))(\$.*))$/,
    verify: (pw, m) => argon2Check(pw, `$${m[2]}${m[3]}`),
  },
  {
    // passlib: $scrypt$ln=16,r=8,p=1$<b64 salt>$<b64 digest> (unpadded standard base64).
    scheme: 'scrypt (passlib)',
    match: /^\$scrypt\$([a-z]+=\d+(?:,[a-z]+=\d+)*)\$([A-Za-z0-9+/.]*={0,2})\$([A-Za-z0-9+/.]+={0,2})$/,
    verify: (pw, m) => {
      const params = parseParams(m[1]!, ['ln', 'r', 'p']);
      if (params.ln! < 1 || params.ln! > 40) throw new Unverifiable(`scrypt ln=${params.ln} is out of range`);
      return scryptCheck(pw, decodeB64(m[2]!), 2 ** params.ln!, params.r!, params.p!, decodeB64(m[3]!));
    },
  },
  {
    // Werkzeug ≥ 2.3: scrypt:N:r:p$<salt text>$<hex digest> (64 bytes).
    scheme: 'scrypt (Werkzeug)',
    match: /^scrypt:(\d+):(\d+):(\d+)\$([^$]*)\$([0-9a-fA-F]+)$/,
    verify: (pw, m) => scryptCheck(pw, Buffer.from(m[4]!, 'utf8'), Number(m[1]), Number(m[2]), Number(m[3]), decodeHex(m[5]!)),
  },
  {
    // Django ≥ 4.0: scrypt$N$<salt text>$r$p$<b64 digest>.
    scheme: 'scrypt (Django)',
    match: /^scrypt\$(\d+)\$([^$]*)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+={0,2})$/,
    verify: (pw, m) => scryptCheck(pw, Buffer.from(m[2]!, 'utf8'), Number(m[1]), Number(m[3]), Number(m[4]), decodeB64(m[5]!)),
  },
  {
    // Django: pbkdf2_sha256$<iterations>$<salt text>$<b64 digest>.
    scheme: (m) => `pbkdf2-${m[1]} (Django)`,
    match: /^pbkdf2_(sha256|sha1)\$(\d+)\$([^$]*)\$([A-Za-z0-9+/]+={0,2})$/,
    verify: (pw, m) => pbkdf2Check(pw, Buffer.from(m[3]!, 'utf8'), Number(m[2]), m[1]!, decodeB64(m[4]!)),
  },
  {
    // Werkzeug: pbkdf2:sha256:<iterations>$<salt text>$<hex digest>. Without the iteration count
    // the hash depends on the Werkzeug version that wrote it, so we refuse to guess.
    scheme: (m) => `pbkdf2-${m[1]} (Werkzeug)`,
    match: /^pbkdf2:([a-z0-9_]+)(?::(\d*))?\$([^$]*)\$([0-9a-fA-F]+)$/,
    verify: (pw, m) => {
      if (!m[2]) throw new Unverifiable('no iteration count in the hash (its default depends on the Werkzeug version)');
      return pbkdf2Check(pw, Buffer.from(m[3]!, 'utf8'), Number(m[2]), m[1]!, decodeHex(m[4]!));
    },
  },
  {
    // passlib: $pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 digest>; bare $pbkdf2$ is SHA-1.
    scheme: (m) => `pbkdf2-${m[1] ?? 'sha1'} (passlib)`,
    match: /^\$pbkdf2(?:-(sha1|sha256|sha512))?\$(\d+)\$([A-Za-z0-9./]*)\$([A-Za-z0-9./]+)$/,
    verify: (pw, m) => pbkdf2Check(pw, decodeB64(m[3]!), Number(m[2]), m[1] ?? 'sha1', decodeB64(m[4]!)),
  },
  {
    // MediaWiki: :pbkdf2:<digest>:<iterations>:<key length>:<b64 salt>:<b64 digest>.
    scheme: (m) => `pbkdf2-${m[1]} (MediaWiki)`,
    match: /^:pbkdf2:([a-z0-9]+):(\d+):(\d+):([A-Za-z0-9+/]*={0,2}):([A-Za-z0-9+/]+={0,2})$/,
    verify: (pw, m) => {
      const stored = decodeB64(m[5]!);
      if (stored.length !== Number(m[3])) throw new Unverifiable(`the MediaWiki hash says ${m[3]} bytes but holds ${stored.length}`);
      return pbkdf2Check(pw, decodeB64(m[4]!), Number(m[2]), m[1]!, stored);
    },
  },
];

export async function verifyPassword(password: string, stored: string): Promise<HashVerdict> {
  // char(n) columns pad with spaces; none of these formats contain whitespace.
  const text = typeof stored === 'string' ? stored.trim() : '';
  for (const { scheme, match, verify } of SCHEMES) {
    const m = text.match(match);
    if (!m) continue;
    const label = typeof scheme === 'string' ? scheme : scheme(m);
    try {
      return (await verify(password, m)) ? { status: 'passed', scheme: label } : { status: 'failed', scheme: label };
    } catch (error) {
      const reason = error instanceof Unverifiable ? error.message : `cannot compute the hash: ${(error as Error).message}`;
      return { status: 'not-verified', scheme: label, reason };
    }
  }
  if (/^![A-Za-z0-9]{0,40}$/.test(text)) {
    // Django's make_password(None): the account has no usable password, so no login can succeed.
    return { status: 'failed', scheme: 'unusable (Django)', reason: 'the account has an unusable password (Django "!" marker)' };
  }
  return { status: 'not-verified', scheme: 'unknown', reason: describeUnknown(text) };
}

/** Names the format without echoing the hash itself (it is crackable offline). */
function describeUnknown(text: string): string {
  if (!text) return 'the stored hash is empty';
  if (/^\$2[axy]?\$/.test(text) && !/^\$2[aby]\$/.test(text)) return `bcrypt variant "${text.slice(0, 4)}" is not supported`;
  const prefix = text.match(/^(\$?[A-Za-z0-9_-]{1,24}[$:])/)?.[1];
  return prefix
    ? `unrecognised or malformed hash format (starts with "${prefix}")`
    : 'unrecognised hash format (not bcrypt, argon2, scrypt or pbkdf2 as Django, Werkzeug, passlib or MediaWiki store them)';
}

async function bcryptCheck(password: string, hash: string): Promise<boolean> {
  const cost = Number(hash.slice(4, 6));
  if (cost < 4 || cost > MAX_BCRYPT_COST) throw new Unverifiable(`bcrypt cost ${cost} is outside 4..${MAX_BCRYPT_COST}`);
  // bcrypt uses only the first 72 bytes (every C implementation truncates); hash-wasm throws instead.
  const bytes = Buffer.from(password, 'utf8').subarray(0, 72);
  if (bytes.length === 0) throw new Unverifiable('hash-wasm cannot check an empty password against bcrypt');
  return bcryptVerify({ password: bytes, hash });
}

const ARGON2 = /^\$argon2(id|i|d)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

async function argon2Check(password: string, phc: string): Promise<boolean> {
  const m = phc.match(ARGON2);
  if (!m) throw new Unverifiable('malformed argon2 PHC string (expected $argon2id$v=19$m=…,t=…,p=…$salt$hash)');
  const [, type, version, mem, time, par] = m;
  if (version !== '19') throw new Unverifiable(`argon2 version ${version ?? '16 (no v= field)'} is not supported (only v=19)`);
  const memorySize = Number(mem);
  const iterations = Number(time);
  const parallelism = Number(par);
  if (memorySize * 1024 > MAX_MEMORY_BYTES) throw new Unverifiable(`argon2 memory m=${memorySize} KiB exceeds the 1 GiB limit`);
  if (iterations > MAX_ARGON2_TIME || parallelism > MAX_PARALLELISM) throw new Unverifiable(`argon2 t=${iterations}, p=${parallelism} exceed the limits`);
  const salt = decodeB64(m[6]!);
  const expected = expectDigest(decodeB64(m[7]!));
  const fn = type === 'id' ? argon2id : type === 'i' ? argon2i : argon2d;
  const actual = await fn({ password, salt, iterations, parallelism, memorySize, hashLength: expected.length, outputType: 'binary' });
  return timingSafeEqual(Buffer.from(actual), expected);
}

function scryptCheck(password: string, salt: Buffer, N: number, r: number, p: number, digest: Buffer): Promise<boolean> {
  const expected = expectDigest(digest);
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) throw new Unverifiable(`scrypt N=${N} is not a power of two`);
  if (r < 1 || p < 1 || p > MAX_PARALLELISM || 128 * N * r > MAX_MEMORY_BYTES) {
    throw new Unverifiable(`scrypt N=${N}, r=${r}, p=${p} exceed the limits (1 GiB, p ≤ ${MAX_PARALLELISM})`);
  }
  // node's default maxmem is 32 MiB, below common parameters; OpenSSL needs 128·r·(N + p + 2) bytes.
  const maxmem = 128 * r * (N + p + 2) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, expected.length, { N, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(timingSafeEqual(key, expected));
    });
  });
}

function pbkdf2Check(password: string, salt: Buffer, iterations: number, digest: string, stored: Buffer): Promise<boolean> {
  const expected = expectDigest(stored);
  if (!/^(sha1|sha224|sha256|sha384|sha512)$/.test(digest)) throw new Unverifiable(`pbkdf2 digest "${digest}" is not supported`);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new Unverifiable(`pbkdf2 iteration count ${iterations} is outside 1..${MAX_PBKDF2_ITERATIONS}`);
  }
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, expected.length, digest, (error, key) => {
      if (error) reject(error);
      else resolve(timingSafeEqual(key, expected));
    });
  });
}

function expectDigest(digest: Buffer): Buffer {
  if (digest.length < MIN_DIGEST_BYTES) throw new Unverifiable(`the stored digest is only ${digest.length} bytes`);
  return digest;
}

/** Standard base64 or passlib's adapted base64 ('.' for '+'), padded or not. */
function decodeB64(text: string): Buffer {
  const body = text.replace(/=+$/, '').replace(/\./g, '+');
  if (!/^[A-Za-z0-9+/]*$/.test(body) || body.length % 4 === 1) throw new Unverifiable('malformed base64 in the hash');
  return Buffer.from(body, 'base64');
}

function decodeHex(text: string): Buffer {
  if (text.length % 2 !== 0) throw new Unverifiable('malformed hex digest in the hash');
  return Buffer.from(text, 'hex');
}

/** Parses `ln=16,r=8,p=1` in any order; every name in `required` must be present exactly once. */
function parseParams(text: string, required: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [key, value] = part.split('=') as [string, string];
    if (!required.includes(key) || key in out) throw new Unverifiable(`unexpected parameter "${key}" in the hash`);
    out[key] = Number(value);
  }
  const missing = required.filter((k) => !(k in out));
  if (missing.length) throw new Unverifiable(`missing parameter ${missing.join(', ')} in the hash`);
  return out;
}
