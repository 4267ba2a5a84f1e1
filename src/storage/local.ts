// Local-folder adapter. Writes go to a hidden temp name in the same folder and
// are renamed into place, so a reader never sees half an object.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, statfs, access, writeFile, constants as fsConstants } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { StorageError, UsageError } from '../errors.js';
import { fileSystemError } from '../util/fs-errors.js';
import type { ObjectInfo, PutOptions, Storage } from './port.js';

const TEMP_MARK = '.partial-';

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on directories; the file's own fsync is what matters most.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL' && (error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Kernel pseudo file systems (statfs f_type): nothing written there is kept, and Node's
 * recursive mkdir loops forever at 100% CPU on them (/proc answers ENOENT for every parent).
 */
const PSEUDO_FILE_SYSTEMS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x1cd1: 'devpts',
  0x6165676c: 'pstore',
  0xcafe4a11: 'bpf',
  0x62656570: 'configfs',
  0x65735543: 'fusectl',
  0x19800202: 'mqueue',
  0x42494e4d: 'binfmt_misc',
};

/** The nearest folder of `path` (itself or a parent) that exists. */
async function nearestExisting(path: string): Promise<string> {
  let dir = path;
  for (;;) {
    try {
      await stat(dir);
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return dir;
      dir = parent;
    }
  }
}

/** Refuses a storage folder on a kernel pseudo file system (/proc, /sys, ...). */
async function refusePseudoFileSystem(root: string): Promise<void> {
  const existing = await nearestExisting(root);
  let type: number | undefined;
  try {
    type = Number((await statfs(existing)).type);
  } catch {
    return; // statfs unsupported here: the write probe decides
  }
  const name = PSEUDO_FILE_SYSTEMS[type];
  if (name) {
    throw new UsageError(`Input 'storage' points at ${root}, on the kernel's ${name} file system (${existing}), which cannot keep files.`, {
      input: 'storage',
      hint: 'Give a folder on a real disk (e.g. ./backups or /srv/backups) or an s3:// URL.',
    });
  }
}

/**
 * mkdir -p one level at a time. Node's `mkdir(..., { recursive: true })` spins forever
 * on /proc; this fails with the first real error instead.
 */
async function makeDirs(path: string): Promise<void> {
  const missing: string[] = [];
  let dir = path;
  for (;;) {
    try {
      const info = await stat(dir);
      if (!info.isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path: dir });
      }
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw error;
      const parent = dirname(dir);
      if (parent === dir) break;
      missing.unshift(dir);
      dir = parent;
    }
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export class LocalStorage implements Storage {
  readonly root: string;
  constructor(location: string) {
    this.root = resolve(location.startsWith('file://') ? fileURLToPath(location) : location);
  }
  get location(): string {
    return pathToFileURL(this.root).toString();
  }
  uriOf(key: string): string {
    return pathToFileURL(this.pathOf(key)).toString();
  }
  localPath(key: string): string {
    return this.pathOf(key);
  }
  private pathOf(key: string): string {
    const full = resolve(this.root, ...key.split('/'));
    if (full !== this.root && !full.startsWith(this.root + sep)) {
      throw new StorageError(`Key '${key}' escapes the storage folder ${this.root}.`, { key });
    }
    return full;
  }

  async checkWritable(): Promise<void> {
    await refusePseudoFileSystem(this.root);
    try {
      await makeDirs(this.root);
      await access(this.root, fsConstants.W_OK);
      const probe = join(this.root, `.write-test-${randomBytes(4).toString('hex')}`);
      await writeFile(probe, '');
      await rm(probe, { force: true });
    } catch (error) {
      throw fileSystemError(error, this.root, 'storage', `Storage folder ${this.root} is not writable`);
    }
  }

  /** Reading from a folder that does not exist is a mistake in 'storage', not an empty set. */
  private async requireRoot(): Promise<void> {
    try {
      const info = await stat(this.root);
      if (info.isDirectory()) return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') {
        throw fileSystemError(error, this.root, 'storage', `Cannot read storage folder ${this.root}`);
      }
    }
    throw new UsageError(`Input 'storage' points at ${this.root}, which does not exist (or is not a folder).`, {
      input: 'storage',
      hint: 'Check the path (relative paths start at the working directory), or take a backup there first.',
    });
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    const target = this.pathOf(key);
    const temp = join(dirname(target), `.${target.slice(dirname(target).length + 1)}${TEMP_MARK}${randomBytes(4).toString('hex')}`);
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        options.onProgress?.(chunk.length);
        cb(null, chunk);
      },
    });
    try {
      await makeDirs(dirname(target));
      await pipeline(body, counter, createWriteStream(temp, { flags: 'wx' }), { signal: options.signal });
      // Durable before visible: a crash must never leave a manifest pointing at parts that never reached the disk.
      await syncPath(temp);
      await rename(temp, target);
      await syncPath(dirname(target));
      return { size };
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      if (error instanceof StorageError) throw error;
      if ((error as NodeJS.ErrnoException).code && (error as NodeJS.ErrnoException).syscall)
        throw fileSystemError(error, target, 'storage', `Cannot write ${target}`, key);
      throw error;
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.pathOf(key);
    const info = await this.stat(key);
    if (!info) throw new StorageError(`Object ${this.uriOf(key)} does not exist.`, { key, missing: true });
    return createReadStream(path, { start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size, modified: s.mtime } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    await this.requireRoot();
    const keys: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw fileSystemError(error, dir, 'storage', `Cannot list ${dir}`);
      }
      for (const entry of entries) {
        const key = keyPrefix ? `${keyPrefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (prefix.startsWith(key + '/') || key.startsWith(prefix) || prefix === '') await walk(join(dir, entry.name), key);
        } else if (entry.isFile() && !entry.name.includes(TEMP_MARK) && key.startsWith(prefix)) {
          const s = await stat(join(dir, entry.name));
          keys.push({ key, size: s.size, modified: s.mtime });
        }
      }
    };
    await walk(this.root, '');
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* keys;
  }

  async delete(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true });
      dirs.add(dirname(path));
    }
    // Remove folders left empty, up to the root, so deleted backups leave no trace.
    for (let dir of dirs) {
      while (dir.startsWith(this.root + sep)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
        dir = dirname(dir);
      }
    }
  }
}
