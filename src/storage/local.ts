// Local-folder adapter. Writes go to a hidden temp name in the same folder and
// are renamed into place, so a reader never sees half an object.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, access, writeFile, constants as fsConstants } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { StorageError } from '../errors.js';
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
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, fsConstants.W_OK);
      const probe = join(this.root, `.write-test-${randomBytes(4).toString('hex')}`);
      await writeFile(probe, '');
      await rm(probe, { force: true });
    } catch (error) {
      throw new StorageError(`Storage folder ${this.root} is not writable: ${(error as Error).message}.`, {
        hint: 'Create it with write permission for this user, or point storage at another folder.',
        cause: error,
      });
    }
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
      await mkdir(dirname(target), { recursive: true });
      await pipeline(body, counter, createWriteStream(temp, { flags: 'wx' }), { signal: options.signal });
      // Durable before visible: a crash must never leave a manifest pointing at parts that never reached the disk.
      await syncPath(temp);
      await rename(temp, target);
      await syncPath(dirname(target));
      return { size };
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      if (error instanceof StorageError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS' || code === 'ENOSPC') {
        throw new StorageError(`Cannot write ${target}: ${(error as Error).message}.`, {
          key,
          hint: code === 'ENOSPC' ? 'Free disk space or use another storage location.' : 'Check the folder permissions.',
          cause: error,
        });
      }
      throw error;
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.pathOf(key);
    const info = await this.stat(key);
    if (!info) throw new StorageError(`Object ${this.uriOf(key)} does not exist.`, { key });
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
    const keys: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
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
