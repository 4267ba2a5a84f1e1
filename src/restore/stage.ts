// Fetches the parts a restore needs, verifying every digest while the bytes
// stream (and decrypting encrypted parts), before anything touches the target.
// Free disk space is checked first, so a big download fails at once and clearly.
import { stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupDrillError } from '../errors.js';
import type { PartInfo } from '../archive/manifest.js';
import { stageContent, type Decryptor } from '../archive/open-part.js';
import type { Storage } from '../storage/port.js';
import { formatBytes } from '../util/format.js';

/** Free bytes for an unprivileged writer on the filesystem holding `dir`. A seam for tests. */
export type FreeSpace = (dir: string) => Promise<number>;

export const freeSpace: FreeSpace = async (dir) => {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};

export interface SpaceNeed {
  /** An existing directory on the filesystem that will receive the bytes. */
  dir: string;
  bytes: number;
  what: string;
  /** How to make room or go elsewhere. */
  hint: string;
}

/** Margin on top of the byte counts: filesystem blocks, directories, pg_restore's own temp use. */
function withMargin(bytes: number): number {
  return Math.ceil(bytes * 1.05) + 16 * 1024 * 1024;
}

/** Throws before any download when a filesystem lacks room; needs on the same filesystem add up. */
export async function checkFreeSpace(needs: SpaceNeed[], free: FreeSpace = freeSpace): Promise<void> {
  const byDevice = new Map<number, SpaceNeed[]>();
  for (const need of needs) {
    if (need.bytes <= 0) continue;
    const dev = (await stat(need.dir)).dev;
    byDevice.set(dev, [...(byDevice.get(dev) ?? []), need]);
  }
  for (const group of byDevice.values()) {
    const needed = withMargin(group.reduce((s, n) => s + n.bytes, 0));
    const available = await free(group[0]!.dir);
    if (available < needed) {
      const what = group.map((n) => `${n.what} (${formatBytes(n.bytes)}) in ${n.dir}`).join(' and ');
      throw new BackupDrillError(
        'storage',
        `Not enough free disk space to stage the restore: ${what} need about ${formatBytes(needed)}, but only ${formatBytes(available)} is free there.`,
        {
          hint: `Nothing was written to the target. ${[...new Set(group.map((n) => n.hint))].join(' ')}`,
        },
      );
    }
  }
}

/**
 * Disk a staged dump needs. A zstd dump is staged decompressed: its recorded content size, or,
 * when a backup did not record it, 4× the stored size (zstd -1 shrinks dumps 2.5-4× in our tests).
 */
export function stagedDumpBytes(part: PartInfo): number {
  if (part.compression !== 'zstd') return part.bytes;
  return part.contentBytes ?? part.bytes * 4;
}

/** Downloads a part into `dir`, verified, decrypted and decompressed (a seekable dump for pg_restore -j); returns the file's path. */
export async function stagePart(
  storage: Storage,
  prefix: string,
  part: PartInfo,
  decrypt: Decryptor,
  dir: string,
  onBytes?: (n: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const file = join(dir, part.name.replace(/\.zst(?=\.age$|$)/, ''));
  await stageContent(storage, prefix, part, decrypt, file, onBytes, signal);
  return file;
}
