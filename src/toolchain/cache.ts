// The cache port: a folder of acquired binaries saved under a key and restored by key or key
// prefix (the newest match), like actions/cache's restore-keys. The action plugs in
// @actions/cache (src/action/tool-cache.ts); tests and self-hosted machines use a folder.
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface ToolCache {
  readonly name: string;
  /** Restores `key`, else the newest entry whose key starts with one of `restoreKeys`, into `folder`. The key restored, or undefined. */
  restore(folder: string, key: string, restoreKeys: string[]): Promise<string | undefined>;
  /** Saves `folder` under `key`: true when saved; false when it was not (an entry of that key exists: keys are immutable, as in actions/cache). */
  save(folder: string, key: string): Promise<boolean>;
}

/** Keys become folder names: anything but letters, digits and `.-_+` is replaced. */
function folderName(key: string): string {
  return key.replace(/[^A-Za-z0-9._+-]/g, '_');
}

/** A cache in a local folder: one sub-folder per key, written whole (staged, then renamed) or not at all. */
export class FolderCache implements ToolCache {
  readonly name = 'folder';
  constructor(private readonly root: string) {}

  async restore(folder: string, key: string, restoreKeys: string[]): Promise<string | undefined> {
    const entries = await readdir(this.root).catch(() => [] as string[]);
    let hit = entries.find((e) => e === folderName(key));
    if (!hit) {
      const matches: { name: string; mtime: number }[] = [];
      for (const prefix of restoreKeys.map(folderName)) {
        for (const e of entries.filter((n) => n.startsWith(prefix) && !n.startsWith('.'))) {
          matches.push({ name: e, mtime: (await stat(join(this.root, e))).mtimeMs });
        }
        if (matches.length) break; // restore-keys are tried in order, like actions/cache
      }
      hit = matches.sort((a, b) => b.mtime - a.mtime)[0]?.name;
    }
    if (!hit) return undefined;
    await rm(folder, { recursive: true, force: true });
    await cp(join(this.root, hit), folder, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    return hit;
  }

  async save(folder: string, key: string): Promise<boolean> {
    await mkdir(this.root, { recursive: true });
    const final = join(this.root, folderName(key));
    if (await stat(final).catch(() => undefined)) return false;
    const staging = join(this.root, `.staging-${randomBytes(4).toString('hex')}`);
    try {
      await cp(folder, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      await rename(staging, final).catch(async (error: unknown) => {
        // Another run saved the same key first: theirs is as good as ours.
        if (!(await stat(final).catch(() => undefined))) throw error;
      });
      return true;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}
