// The storage port: every backend (local folder, S3, memory) offers these five
// operations on '/'-separated keys relative to the storage root. Everything
// above it (catalog, retention, locks, modes) speaks only this interface.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Called with byte counts as the body streams. */
  onProgress?: (bytes: number) => void;
  /** Expected size, when known: lets S3 size its multipart parts (10,000 parts at most) with little memory. */
  sizeHint?: number;
}

export interface Storage {
  /** Human-readable location with no secrets, e.g. `file:///srv/backups` or `s3://bucket/prefix`. */
  readonly location: string;
  /** Streams body to key. The object appears whole or not at all. Resolves with bytes written. */
  put(key: string, body: Readable, options?: PutOptions): Promise<{ size: number }>;
  /** Streams an object (optionally a byte range, end inclusive). Throws StorageError when missing. */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** Size and time of an object, or undefined when it does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix, in key order, across all pages. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes keys; missing keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Full URI of a key, for outputs and messages. */
  uriOf(key: string): string;
  /** Checks the location is reachable and writable before a long run starts. */
  checkWritable(): Promise<void>;
  /**
   * Optional: a filesystem path where the object can be read in place (local
   * folders), so pg_restore can seek in it and restore in parallel without a copy.
   */
  localPath?(key: string): string | undefined;
}

export function joinKey(...parts: string[]): string {
  return parts
    .filter((p) => p.length > 0)
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .join('/');
}
