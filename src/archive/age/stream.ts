// The age payload: a 16-byte nonce, then the STREAM construction over
// ChaCha20-Poly1305 (node:crypto, i.e. OpenSSL) with 64 KiB plaintext chunks.
//
//   payload key = HKDF-SHA256(ikm = file key, salt = nonce, info = "payload")
//   chunk nonce = 11-byte big-endian chunk counter || 0x01 for the last chunk, else 0x00
//
// The last chunk may be full-sized; it is empty only when the whole plaintext is
// empty. Decryption emits a chunk's plaintext only after its tag verified, and
// rejects a missing final chunk (truncation), altered bytes and trailing data.
// Chunks are processed in batches of up to BATCH_CHUNKS and each batch leaves as one
// buffer: downstream writes (files, pipes) then see 1 MiB writes, not 64 KiB ones,
// which measured ~1.5x faster end to end than one buffer per chunk. Memory stays
// flat: about two batches per stream, whatever the input size.

import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupDrillError, IntegrityError } from '../../errors.js';
import { findHeaderEnd, macMatches, MAX_HEADER_BYTES, parseHeader, VERSION_LINE, type HeaderScan, type ParsedHeader } from './header.js';
import { ByteQueue, splitViews } from './queue.js';

export const CHUNK_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
export const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
export const NONCE_SIZE = 16;
const BATCH_CHUNKS = 16;
const HIGH_WATER_MARK = BATCH_CHUNKS * CHUNK_SIZE;
const MAX_COUNTER = 2 ** 48 - 1; // we write the counter's low 6 bytes; 16 EiB of payload

function payloadKey(fileKey: Uint8Array, nonce: Buffer): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32)));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  if (counter > MAX_COUNTER) throw new RangeError('age STREAM chunk counter overflow');
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  if (last) nonce[11] = 1;
  return nonce;
}

function totalLength(views: Buffer[]): number {
  let n = 0;
  for (const v of views) n += v.length;
  return n;
}

export interface EncryptSetup {
  /** The complete header, MAC line included. */
  header: Buffer;
  fileKey: Buffer;
}

/** Plaintext in, age file out. `setup` runs (once) when the first data or the end arrives. */
export class AgeEncryptStream extends Transform {
  private key: KeyObject | null = null;
  private readonly queue = new ByteQueue();
  private counter = 0;

  constructor(private readonly setup: () => Promise<EncryptSetup>) {
    super({ readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
  }

  private async start(): Promise<void> {
    const { header, fileKey } = await this.setup();
    const nonce = randomBytes(NONCE_SIZE);
    this.key = payloadKey(fileKey, nonce);
    fileKey.fill(0);
    this.push(Buffer.concat([header, nonce]));
  }

  private run(work: () => void, callback: TransformCallback): void {
    if (this.key) {
      try {
        work();
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback();
      return;
    }
    this.start()
      .then(() => {
        work();
        callback();
      })
      .catch((error: unknown) => callback(error as Error));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.queue.push(chunk);
    this.run(() => this.drain(false), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.run(() => {
      this.drain(true);
      // 0..CHUNK_SIZE bytes remain: the last chunk (empty only if nothing came before).
      const length = this.queue.length;
      const out = Buffer.allocUnsafe(length + TAG_SIZE);
      this.seal(this.queue.take(length), true, out, 0);
      this.push(out);
    }, callback);
  }

  /** Seals full chunks, always keeping at least one byte back: only the end decides the last chunk. */
  private drain(final: boolean): void {
    while (this.queue.length > CHUNK_SIZE && (final || this.queue.length > BATCH_CHUNKS * CHUNK_SIZE)) {
      const n = Math.min(BATCH_CHUNKS, Math.floor((this.queue.length - 1) / CHUNK_SIZE));
      const out = Buffer.allocUnsafe(n * ENCRYPTED_CHUNK_SIZE);
      for (let i = 0; i < n; i++) this.seal(this.queue.take(CHUNK_SIZE), false, out, i * ENCRYPTED_CHUNK_SIZE);
      this.push(out);
    }
  }

  private seal(views: Buffer[], last: boolean, out: Buffer, offset: number): void {
    const cipher = createCipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter, last), { authTagLength: TAG_SIZE });
    let pos = offset;
    for (const view of views) pos += cipher.update(view).copy(out, pos);
    pos += cipher.final().copy(out, pos);
    pos += cipher.getAuthTag().copy(out, pos);
    if (pos !== offset + totalLength(views) + TAG_SIZE) throw new Error('age: unexpected ChaCha20-Poly1305 output length');
    this.counter++;
  }
}

/** Returns the file key for a parsed header (it need not check the MAC); throws when no identity fits. */
export type UnlockHeader = (header: ParsedHeader) => Promise<Buffer>;

function asIntegrityError(error: unknown): Error {
  if (error instanceof BackupDrillError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new IntegrityError(`age decryption failed: ${message}`, { cause: error });
}

/** age file in, plaintext out. Every failure is an IntegrityError. */
export class AgeDecryptStream extends Transform {
  private headerBytes: Buffer | null = Buffer.alloc(0); // null once the header is done
  private readonly headerScan: HeaderScan = { lineStart: 0, scanned: 0 };
  private fileKey: Buffer | null = null;
  private key: KeyObject | null = null;
  private readonly queue = new ByteQueue();
  private counter = 0;
  private payloadOffset = 0; // file offset of chunk 0

  constructor(private readonly unlock: UnlockHeader) {
    super({ readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.headerBytes) {
      this.readHeader(chunk)
        .then(() => {
          this.drain(false);
          callback();
        })
        .catch((error: unknown) => callback(asIntegrityError(error)));
      return;
    }
    try {
      this.queue.push(chunk);
      this.drain(false);
      callback();
    } catch (error) {
      callback(asIntegrityError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.finish();
      callback();
    } catch (error) {
      callback(asIntegrityError(error));
    }
  }

  private async readHeader(chunk: Buffer): Promise<void> {
    const bytes = this.headerBytes!.length ? Buffer.concat([this.headerBytes!, chunk]) : chunk;
    this.headerBytes = bytes;
    checkMagic(bytes, false);
    const end = findHeaderEnd(bytes, this.headerScan);
    if (end < 0 ? bytes.length > MAX_HEADER_BYTES : end > MAX_HEADER_BYTES) {
      throw new IntegrityError(`The age header is longer than ${MAX_HEADER_BYTES} bytes; refusing to read further.`, {
        hint: 'The file is not an age file, or its header is damaged.',
      });
    }
    if (end < 0) return;
    const header = parseHeader(bytes.subarray(0, end));
    this.headerBytes = null;
    this.queue.push(bytes.subarray(end));
    const fileKey = await this.unlock(header);
    if (!macMatches(header, fileKey)) {
      throw new IntegrityError('The age header MAC does not verify: the header was altered.', {
        hint: 'The recipient stanza opened, but the rest of the header changed after encryption. Do not trust this file.',
      });
    }
    this.fileKey = fileKey;
    this.payloadOffset = end + NONCE_SIZE;
  }

  private ensureKey(): boolean {
    if (this.key) return true;
    if (!this.fileKey || this.queue.length < NONCE_SIZE) return false;
    this.key = payloadKey(this.fileKey, this.queue.takeBuffer(NONCE_SIZE));
    this.fileKey.fill(0);
    this.fileKey = null;
    return true;
  }

  /** Opens chunks that are followed by more data (so cannot be the last one), in batches. */
  private drain(final: boolean): void {
    if (!this.ensureKey()) return;
    while (this.queue.length > ENCRYPTED_CHUNK_SIZE && (final || this.queue.length > BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE)) {
      const n = Math.min(BATCH_CHUNKS, Math.floor((this.queue.length - 1) / ENCRYPTED_CHUNK_SIZE));
      const out = Buffer.allocUnsafe(n * CHUNK_SIZE);
      for (let i = 0; i < n; i++) {
        const views = this.queue.take(ENCRYPTED_CHUNK_SIZE);
        const opened = this.open(views, false, out, i * CHUNK_SIZE);
        if (opened >= 0 && opened !== CHUNK_SIZE) throw new Error('age: unexpected ChaCha20-Poly1305 output length');
        if (opened < 0) {
          if (this.open(views, true, Buffer.allocUnsafe(CHUNK_SIZE), 0) >= 0) {
            throw new IntegrityError(
              `The age file has data after its final chunk (chunk ${this.counter}, ending at byte ${this.chunkOffset() + ENCRYPTED_CHUNK_SIZE}).`,
              { hint: 'Trailing bytes were appended, or two files were concatenated. Do not trust the extra data.' },
            );
          }
          throw this.altered();
        }
        this.counter++;
      }
      // Only verified plaintext leaves: `out` is pushed after every chunk in it authenticated.
      this.push(out);
    }
  }

  private finish(): void {
    if (this.headerBytes) {
      checkMagic(this.headerBytes, true);
      throw new IntegrityError(`The age file ends inside its header (after ${this.headerBytes.length} bytes): it is truncated.`);
    }
    this.drain(true);
    if (!this.key) {
      throw new IntegrityError('The age file ends right after its header, before the payload: it is truncated.');
    }
    const length = this.queue.length; // 0..ENCRYPTED_CHUNK_SIZE
    if (length < TAG_SIZE) {
      // (drain keeps at least one byte back after a chunk, so 0 bytes means no chunk at all)
      throw new IntegrityError(
        length === 0
          ? 'The age file is truncated: it ends after the payload nonce, before any chunk.'
          : `The age file is truncated: its last chunk is ${length} bytes, shorter than an authentication tag.`,
        { hint: 'The upload or download was cut short. Do not restore from this file.' },
      );
    }
    const views = this.queue.take(length);
    const out = Buffer.allocUnsafe(length - TAG_SIZE);
    const opened = this.open(views, true, out, 0);
    if (opened >= 0 && opened !== out.length) throw new Error('age: unexpected ChaCha20-Poly1305 output length');
    if (opened < 0) {
      if (length === ENCRYPTED_CHUNK_SIZE && this.open(views, false, Buffer.allocUnsafe(CHUNK_SIZE), 0) >= 0) {
        throw new IntegrityError(
          `The age file is truncated: it ends after chunk ${this.counter} (byte ${this.chunkOffset() + length}) without the final chunk.`,
          { hint: 'The upload or download was cut short at a 64 KiB boundary. Do not restore from this file.' },
        );
      }
      throw this.altered();
    }
    if (out.length === 0 && this.counter > 0) {
      throw new IntegrityError('The age file ends with an empty final chunk, which age forbids unless the whole file is empty.', {
        hint: 'The file was written by a non-conforming encoder or altered.',
      });
    }
    this.counter++;
    this.push(out);
  }

  private chunkOffset(): number {
    return this.payloadOffset + this.counter * ENCRYPTED_CHUNK_SIZE;
  }

  private altered(): IntegrityError {
    return new IntegrityError(
      `The age payload does not authenticate at chunk ${this.counter} (byte ${this.chunkOffset()}): the file was altered, truncated, or has trailing data.`,
      { hint: 'Do not restore from this file; use another backup and check the storage.' },
    );
  }

  /** Decrypts one chunk into `out`; the plaintext length, or -1 if the tag does not verify. */
  private open(views: Buffer[], last: boolean, out: Buffer, offset: number): number {
    const [body, tag] = splitViews(views, totalLength(views) - TAG_SIZE);
    const decipher = createDecipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter, last), { authTagLength: TAG_SIZE });
    decipher.setAuthTag(tag.length === 1 ? tag[0]! : Buffer.concat(tag));
    let pos = offset;
    for (const view of body) pos += decipher.update(view).copy(out, pos);
    try {
      pos += decipher.final().copy(out, pos);
    } catch {
      return -1;
    }
    return pos - offset;
  }
}

const MAGIC = Buffer.from(`${VERSION_LINE}\n`, 'latin1');

/** Rejects early (and clearly) input that is not a binary age v1 file. */
function checkMagic(bytes: Buffer, ended: boolean): void {
  const n = Math.min(bytes.length, MAGIC.length);
  if (bytes.subarray(0, n).equals(MAGIC.subarray(0, n)) && (n === MAGIC.length || !ended)) return;
  if (bytes.length === 0) throw new IntegrityError('The input is empty: it is not an age file.');
  if (bytes.subarray(0, 14).toString('latin1') === '-----BEGIN AGE') {
    throw new IntegrityError('The input is an ASCII-armored age file (age --armor); only binary age files are supported.', {
      hint: 'Remove the armor first: age -d reads it, or re-encrypt without -a.',
    });
  }
  if (n < MAGIC.length && bytes.subarray(0, n).equals(MAGIC.subarray(0, n))) {
    throw new IntegrityError(`The age file ends inside its header (after ${bytes.length} bytes): it is truncated.`);
  }
  throw new IntegrityError(`The input is not an age file: it does not start with "${VERSION_LINE}".`, {
    hint: 'Was the backup stored unencrypted, or encrypted with another tool?',
  });
}
