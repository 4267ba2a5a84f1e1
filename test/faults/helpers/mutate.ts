// Seeded damage: byte flips and truncations, reproducible from one seed.
import { readFile, writeFile } from 'node:fs/promises';

/** mulberry32: a tiny seeded PRNG, enough to pick offsets reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromEnv(): number {
  const given = process.env.FAULTS_SEED;
  if (given && /^\d+$/.test(given)) return Number(given);
  return Math.floor(Math.random() * 2 ** 31);
}

export interface Damage {
  kind: 'flip' | 'truncate';
  offset: number;
  /** flip: the XOR mask (never 0); truncate: unused. */
  mask: number;
}

export function pickDamage(rng: () => number, size: number, kind: Damage['kind']): Damage {
  if (kind === 'flip') return { kind, offset: Math.floor(rng() * size), mask: 1 + Math.floor(rng() * 255) };
  return { kind, offset: Math.floor(rng() * size), mask: 0 };
}

export function applyDamage(bytes: Buffer, d: Damage): Buffer {
  if (d.kind === 'truncate') return bytes.subarray(0, d.offset);
  const out = Buffer.from(bytes);
  out[d.offset] = out[d.offset]! ^ d.mask;
  return out;
}

export function describeDamage(d: Damage, size: number): string {
  return d.kind === 'flip' ? `flip byte ${d.offset}/${size} ^0x${d.mask.toString(16)}` : `truncate ${size} → ${d.offset} bytes`;
}

/** True when `a` and `b` are both JSON and mean the same (a whitespace-only edit): not damage. */
export function sameJson(a: Buffer, b: Buffer): boolean {
  try {
    return JSON.stringify(JSON.parse(a.toString('utf8'))) === JSON.stringify(JSON.parse(b.toString('utf8')));
  } catch {
    return false;
  }
}

export async function damageFile(path: string, d: Damage): Promise<void> {
  await writeFile(path, applyDamage(await readFile(path), d));
}
