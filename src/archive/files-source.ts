// Where the uploads come from: a folder on this machine, or one on a server
// reached over SSH (src/reach/remote-files.ts). Both produce the same packing:
// a tar stream, a per-file digest list and a summary.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { estimateTreeBytes, packFiles, type PackedFiles } from './files-tar.js';

export interface FilesSource {
  /** For messages: the folder, and the server when remote. */
  readonly description: string;
  /** Fails with a clear error when the folder is missing or not a folder (before any backup work starts). */
  check(): Promise<void>;
  /** Bytes of regular files, a size hint for storage (0 when unknown). */
  estimateBytes(): Promise<number>;
  pack(exclude: string[], logger: Logger, onBytes?: (n: number) => void): PackedFiles;
}

export function localFilesSource(path: string): FilesSource {
  const full = resolve(path);
  return {
    description: full,
    async check() {
      let info;
      try {
        info = await stat(full);
      } catch {
        throw new UsageError(`Input 'files-path' points at '${path}', which does not exist.`, {
          input: 'files-path',
          hint: 'Give the uploads directory of the app, or leave files-path empty to back up the database only.',
        });
      }
      if (!info.isDirectory()) {
        throw new UsageError(`Input 'files-path' must be a directory; '${path}' is not.`, { input: 'files-path' });
      }
    },
    estimateBytes: () => estimateTreeBytes(full),
    pack: (exclude, logger, onBytes) => packFiles(full, exclude, logger, onBytes),
  };
}
