// Streams one part of a backup to storage while hashing the stored bytes, so
// the manifest and checksums.sha256 describe exactly what is in the bucket.
import { pipeline } from 'node:stream/promises';
import type { Readable, Transform } from 'node:stream';
import { HashingStream } from './hashing.js';
import type { PartInfo } from './manifest.js';
import type { Storage } from '../storage/port.js';

export interface PartWriterOptions {
  storage: Storage;
  /** Folder key of the backup, e.g. `default/20261124T062000Z-a1b2c3`. */
  prefix: string;
  /** Optional transform applied before storing (encryption). */
  seal?: () => Transform;
  signal?: AbortSignal;
}

export async function writePart(
  options: PartWriterOptions,
  name: string,
  role: string,
  source: Readable,
  onBytes?: (n: number) => void,
  sizeHint?: number,
): Promise<PartInfo> {
  const hasher = new HashingStream();
  const key = `${options.prefix}/${name}`;
  const stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream> = [source];
  const sealing = options.seal?.();
  if (sealing) stages.push(sealing);
  stages.push(hasher);
  await Promise.all([
    pipeline(stages as unknown as [Readable, Transform], { signal: options.signal }),
    options.storage.put(key, hasher, { signal: options.signal, onProgress: onBytes, sizeHint }),
  ]);
  const part: PartInfo = { name, role, bytes: hasher.bytes, sha256: hasher.sha256 };
  if (sealing) part.encrypted = true;
  return part;
}
