// A pass-through that fails at its end when the bytes of a stored part do
// not match the manifest (size and SHA-256), so a consumer never finishes on
// a corrupted part without knowing.
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { IntegrityError } from '../errors.js';
import type { PartInfo } from './manifest.js';
import { streamed } from '../util/memory.js';

export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  constructor(
    private readonly part: PartInfo,
    private readonly where: string,
    private readonly onBytes?: (n: number) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    streamed(chunk.length);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }
  override _flush(callback: (error?: Error | null) => void): void {
    const digest = this.hash.digest('hex');
    if (this.bytes !== this.part.bytes || digest !== this.part.sha256) {
      callback(
        new IntegrityError(
          `Part ${this.part.name} of ${this.where} does not match its manifest: expected ${this.part.bytes} bytes with SHA-256 ${this.part.sha256}, got ${this.bytes} bytes with SHA-256 ${digest}.`,
          { hint: 'The stored copy is corrupted or was altered; use another backup and check the storage.' },
        ),
      );
      return;
    }
    callback();
  }
}
