// The dump of a backup folder as the tests need it: the stored part (to damage it),
// or a plain custom-format archive that pg_restore reads directly.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The stored dump of a local backup folder: `database.dump.zst` (zstd, the default since format 4) or `database.dump`. */
export function storedDump(dir: string): string {
  const zst = join(dir, 'database.dump.zst');
  return existsSync(zst) ? zst : join(dir, 'database.dump');
}

/** A plain custom-format archive of the backup's dump: `zstd -d` into a new temp folder under `into` when compressed. */
export function plainDump(dir: string, into = tmpdir()): string {
  const stored = storedDump(dir);
  if (!stored.endsWith('.zst')) return stored;
  const out = join(mkdtempSync(join(into, 'plain-dump-')), 'database.dump');
  execFileSync('zstd', ['-d', '-q', '-o', out, stored]);
  return out;
}
