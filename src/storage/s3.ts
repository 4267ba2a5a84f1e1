// Placeholder until the S3 adapter lands (issue: S3-compatible storage).
import { UsageError } from '../errors.js';
import type { S3Options } from '../config.js';
import type { Storage } from './port.js';

export class S3Storage {
  static fromUrl(url: string, _options: S3Options): Storage {
    throw new UsageError(`S3 storage (${url}) is not available in this build yet.`, { input: 'storage', hint: 'Use a local folder for now.' });
  }
}
