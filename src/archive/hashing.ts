// A pass-through that hashes (SHA-256) and counts what flows through it.
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { streamed } from '../util/memory.js';

export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private digestHex?: string;
  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    streamed(chunk.length);
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }
  override _flush(callback: (error?: Error | null) => void): void {
    this.digestHex = this.hash.digest('hex');
    callback();
  }
  /** Hex SHA-256 of everything that passed; available once the stream ended. */
  get sha256(): string {
    if (!this.digestHex) throw new Error('internal: digest read before the stream ended');
    return this.digestHex;
  }
}
