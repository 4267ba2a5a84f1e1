// Fetches the parts a restore needs, verifying every digest while the bytes
// stream (and decrypting encrypted parts), before anything touches the target.
// Free disk space is checked first, so a big download fails at once and clearly.
import { createWriteStream } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pipeline as pipelineCallback } from 'node:stream';
import type { Readable, Transform } from 'node:stream';
import { BackupDrillError } from '../errors.js';
import type { Manifest, PartInfo } from '../archive/manifest.js';
import { VerifyingStream } from '../archive/verify-stream.js';
import { needKeyError } from '../archive/seal.js';
import type { Storage } from '../storage/port.js';
import { formatBytes } from '../util/format.js';

/** A part by its plain name; encrypted backups store it as `<name>.age`. */
export function findPart(manifest: Manifest, name: string): PartInfo | undefined {
  return manifest.parts.find((p) => p.name === name || p.name === `${name}.age`);
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir`. A seam for tests. */
export type FreeSpace = (dir: string) => Promise<number>;

export const freeSpace: FreeSpace = async (dir) => {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};

export interface SpaceNeed {
  /** An existing directory on the filesystem that will receive the bytes. */
  dir: string;
  bytes: number;
  what: string;
  /** How to make room or go elsewhere. */
  hint: string;
}

/** Margin on top of the byte counts: filesystem blocks, directories, pg_restore's own temp use. */
function withMargin(bytes: number): number {
  return Math.ceil(bytes * 1.05) + 16 * 1024 * 1024;
}

/** Throws before any download when a filesystem lacks room; needs on the same filesystem add up. */
export async function checkFreeSpace(needs: SpaceNeed[], free: FreeSpace = freeSpace): Promise<void> {
  const byDevice = new Map<number, SpaceNeed[]>();
  for (const need of needs) {
    if (need.bytes <= 0) continue;
    const dev = (await stat(need.dir)).dev;
    byDevice.set(dev, [...(byDevice.get(dev) ?? []), need]);
  }
  for (const group of byDevice.values()) {
    const needed = withMargin(group.reduce((s, n) => s + n.bytes, 0));
    const available = await free(group[0]!.dir);
    if (available < needed) {
      const what = group.map((n) => `${n.what} (${formatBytes(n.bytes)}) in ${n.dir}`).join(' and ');
      throw new BackupDrillError('storage', `Not enough free disk space to stage the restore: ${what} need about ${formatBytes(needed)}, but only ${formatBytes(available)} is free there.`, {
        hint: `Nothing was written to the target. ${[...new Set(group.map((n) => n.hint))].join(' ')}`,
      });
    }
  }
}

export type Decryptor = (part: PartInfo) => Transform | undefined;

/**
 * Decrypting transforms for encrypted parts (keys from decrypt-identity /
 * decrypt-passphrase, read by archive/seal.ts); refuses at once when a part is
 * encrypted and no key was given.
 */
export function makeDecryptor(manifest: Manifest, needed: PartInfo[], unseal: (() => Transform) | undefined): Decryptor {
  if (!needed.some((p) => p.encrypted)) return () => undefined;
  if (!unseal) throw needKeyError(manifest.id);
  return (part) => (part.encrypted ? unseal() : undefined);
}

/** storage object → digest check → (decryption): the streams, in order. */
async function partStreams(storage: Storage, prefix: string, part: PartInfo, decrypt: Decryptor, onBytes?: (n: number) => void): Promise<Array<Readable | Transform>> {
  const source = await storage.get(`${prefix}/${part.name}`);
  const streams: Array<Readable | Transform> = [source, new VerifyingStream(part, storage.uriOf(prefix), onBytes)];
  const decipher = decrypt(part);
  if (decipher) streams.push(decipher);
  return streams;
}

/**
 * A verified (and decrypted) stream of a part; integrity is known only at its
 * end. Destroying it (a reader that stops early) closes the whole chain, so no
 * download is left hanging.
 */
export async function openPart(storage: Storage, prefix: string, part: PartInfo, decrypt: Decryptor, onBytes?: (n: number) => void): Promise<Readable> {
  const streams = await partStreams(storage, prefix, part, decrypt, onBytes);
  // Errors reach the reader: pipeline destroys every stream, the last one with the error.
  return pipelineCallback(streams as unknown as [Readable, Transform], () => undefined) as unknown as Readable;
}

/** Downloads a part into `dir`, verified and decrypted; returns the file's path. */
export async function stagePart(storage: Storage, prefix: string, part: PartInfo, decrypt: Decryptor, dir: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const file = join(dir, part.name);
  const streams = await partStreams(storage, prefix, part, decrypt, onBytes);
  await pipeline([...streams, createWriteStream(file, { mode: 0o600 })] as unknown as [Readable, NodeJS.WritableStream], { signal });
  return file;
}

/** Reads a small part whole (verified, decrypted), e.g. files.sha256. */
export async function readPartText(storage: Storage, prefix: string, part: PartInfo, decrypt: Decryptor): Promise<string> {
  const stream = await openPart(storage, prefix, part, decrypt);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
