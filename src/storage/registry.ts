// Picks a storage adapter by URL scheme.
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { LocalStorage } from './local.js';
import type { Storage } from './port.js';

export async function openStorage(config: Pick<Config, 'storage' | 's3'>): Promise<Storage> {
  const url = config.storage;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || scheme === 'file') return new LocalStorage(url);
  if (scheme === 's3') {
    const { S3Storage } = await import('./s3.js');
    return S3Storage.fromUrl(url, config.s3);
  }
  throw new UsageError(`Input 'storage' has an unsupported scheme '${scheme}://'.`, { input: 'storage' });
}
