// Streams one part of a backup to storage while hashing the stored bytes, so
// the manifest and checksums.sha256 describe exactly what is in the bucket.
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { HashingStream } from './hashing.js';
import type { PartInfo, PartRole } from './manifest.js';
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
  role: PartRole,
  source: Readable,
  onBytes?: (n: number) => void,
  sizeHint?: number,
): Promise<PartInfo> {
  const hasher = new HashingStream();
  const key = `${options.prefix}/${name}`;
  // pg_dump writes 4 KiB pieces; coalescing them into ~1 MiB chunks cuts the per-chunk cost of
  // hashing, encryption and writes (measured: node CPU 6.2 s → 2.1 s per GB, see BENCHMARKS.md).
  const stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream> = [source, new Coalesce()];
  const sealing = options.seal?.();
  if (sealing) stages.push(sealing);
  stages.push(hasher);
  const storing = options.storage.put(key, hasher, { signal: options.signal, onProgress: onBytes, sizeHint });
  try {
    await Promise.all([pipeline(stages as unknown as [Readable, Transform], { signal: options.signal }), storing]);
  } catch (error) {
    // A storage failure (disk full, timeout) also breaks the upstream pipeline with the raw error:
    // report the storage's own error, which names the path or endpoint and says what to do.
    throw (
      (await storing.then(
        () => undefined,
        (stored: unknown) => stored,
      )) ?? error
    );
  }
  const part: PartInfo = { name, role, bytes: hasher.bytes, sha256: hasher.sha256 };
  if (sealing) part.encrypted = true;
  return part;
}

/** Chunks at least this big are worth their own write and hash call. */
const BIG_CHUNK = 64 * 1024;

/**
 * Gathers small chunks into ~1 MiB ones. Small chunks are copied, not kept: one is often a slice
 * of Node's shared 8 KiB buffer pool, and keeping it keeps the whole slab alive (a list line of
 * 100 bytes held 8 KiB: 50 MB for a 6,600-file upload tree, BENCHMARKS.md).
 */
export class Coalesce extends Transform {
  private buffer: Buffer | undefined;
  private size = 0;
  constructor(private readonly target = 1 << 20) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A big chunk (a file read, a pipe read) passes as is: copying it into a new buffer only makes garbage.
    if (chunk.length >= BIG_CHUNK) {
      this.release();
      this.push(chunk);
      callback();
      return;
    }
    if (this.size + chunk.length > this.target) this.release();
    this.buffer ??= Buffer.allocUnsafeSlow(Math.max(this.target, chunk.length));
    chunk.copy(this.buffer, this.size);
    this.size += chunk.length;
    if (this.size >= this.target) this.release();
    callback();
  }
  override _flush(callback: (error?: Error | null) => void): void {
    this.release();
    callback();
  }
  private release(): void {
    if (!this.buffer || this.size === 0) return;
    this.push(this.buffer.subarray(0, this.size));
    this.buffer = undefined;
    this.size = 0;
  }
}
