// In-memory adapter for unit tests of logic above the port (catalog, retention, locks).
import { Readable } from 'node:stream';
import { StorageError } from '../errors.js';
import type { ObjectInfo, PutOptions, Storage } from './port.js';

export class MemoryStorage implements Storage {
  readonly objects = new Map<string, { data: Buffer; modified: Date }>();
  constructor(readonly location = 'memory://test') {}
  uriOf(key: string): string {
    return `${this.location}/${key}`;
  }
  async checkWritable(): Promise<void> {}
  async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      options.signal?.throwIfAborted();
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      options.onProgress?.(buf.length);
      chunks.push(buf);
    }
    const data = Buffer.concat(chunks);
    this.objects.set(key, { data, modified: new Date() });
    return { size: data.length };
  }
  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const object = this.objects.get(key);
    if (!object) throw new StorageError(`Object ${this.uriOf(key)} does not exist.`, { key, missing: true });
    const data = range ? object.data.subarray(range.start, range.end === undefined ? undefined : range.end + 1) : object.data;
    return Readable.from([data]);
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    const object = this.objects.get(key);
    return object ? { key, size: object.data.length, modified: object.modified } : undefined;
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) yield (await this.stat(key))!;
  }
  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }
}
