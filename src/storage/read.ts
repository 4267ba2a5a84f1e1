// Small helpers to read whole (small) objects: manifests, checksum lists.
import { StorageError } from '../errors.js';
import type { Storage } from './port.js';

export async function readText(storage: Storage, key: string, limit = 16 * 1024 * 1024): Promise<string> {
  const stream = await storage.get(key);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new StorageError(`${storage.uriOf(key)} is larger than expected (${limit} bytes max).`, { key });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
