// Packs the uploads directory into a tar stream, one read per file: each
// file's bytes are hashed on their way into the tar, and a `files.sha256`
// list (sha256sum format, paths relative to the directory) streams alongside.
//
// On purpose: symlinks are stored as links (never followed, so a link cannot
// pull files from outside the directory into the backup); sockets, FIFOs and
// devices are skipped and listed in the manifest; excluded paths (globs
// relative to the directory) are skipped, and an excluded directory is not entered.
import { createHash } from 'node:crypto';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import picomatch from 'picomatch';
import tarStream from 'tar-stream';
import type { FilesSummary } from './manifest.js';
import { formatChecksumLine } from './checksums.js';
import type { Logger } from '../util/logger.js';

export interface PackedFiles {
  tar: Readable;
  list: Readable;
  /** Resolves with the summary once every file is in the tar. */
  done: Promise<FilesSummary>;
}

const READ_SIZE = 1 << 20;

/** What a file's tar header carries besides its type. */
export interface FileHeader {
  name: string;
  size: number;
  mode?: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
}

/**
 * Adds one file to the tar from its chunks, hashing them on the way in; resolves with the SHA-256
 * of the content once the tar has the whole entry. Used for local files and for files read over SSH.
 */
export async function packFile(pack: tarStream.Pack, header: FileHeader, chunks: AsyncIterable<Buffer>, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let finished!: (error?: Error | null) => void;
  const added = new Promise<void>((resolve, reject) => (finished = (e) => (e ? reject(e) : resolve())));
  const entry = pack.entry({ ...header, type: 'file' }, (e) => finished(e));
  // The failure arrives through the callback above; without a listener, an entry destroyed with the
  // tar (e.g. the disk filled up) would also emit an unhandled 'error' and crash the process.
  (entry as unknown as NodeJS.EventEmitter).on('error', () => undefined);
  added.catch(() => undefined); // awaited below; a failure while writing must not count as unhandled meanwhile
  for await (const chunk of chunks) {
    hash.update(chunk);
    onBytes?.(chunk.length);
    if (!entry.write(chunk)) await once(entry as unknown as NodeJS.EventEmitter, 'drain');
  }
  entry.end(undefined as unknown as Buffer);
  await added;
  return hash.digest('hex');
}

/** Exactly `size` bytes of an open file, padded with zeros if it shrank meanwhile (the tar header already says `size`). */
async function* readExactly(handle: FileHandle, size: number, name: string, logger: Logger): AsyncGenerator<Buffer> {
  let position = 0;
  while (position < size) {
    // A fresh buffer per read: the tar stream keeps the chunk, so handing it over saves a copy.
    const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, size - position));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    let chunk: Buffer;
    if (bytesRead === 0) {
      logger.warn(`files: ${name} changed while being read; its copy is padded with zeros.`);
      chunk = Buffer.alloc(size - position);
    } else {
      chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
    position += chunk.length;
    yield chunk;
  }
}

export function packFiles(root: string, exclude: string[], logger: Logger, onBytes?: (n: number) => void): PackedFiles {
  const pack = tarStream.pack();
  const tar = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
  const list = new PassThrough();
  const isExcluded = exclude.length ? picomatch(exclude, { dot: true }) : () => false;
  const summary: FilesSummary = { count: 0, bytes: 0, directories: 0, symlinks: 0, skipped: [], exclude };

  const writeList = async (line: string): Promise<void> => {
    if (!list.write(line)) await once(list, 'drain');
  };

  const addFile = async (path: string, name: string): Promise<void> => {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        logger.warn(`files: ${name} disappeared before it was read; not backed up.`);
        return;
      }
      throw error;
    }
    try {
      const stat = await handle.stat();
      const size = stat.size;
      const header = { name, size, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid };
      const sha256 = await packFile(pack, header, readExactly(handle, size, name, logger), onBytes);
      summary.count++;
      summary.bytes += size;
      await writeList(formatChecksumLine({ sha256, name }));
    } finally {
      await handle.close();
    }
  };

  const addEntry = (header: Partial<tarStream.Header> & { name: string }): Promise<void> =>
    new Promise((resolve, reject) => pack.entry(header, (e) => (e ? reject(e) : resolve())));

  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = (await readdir(dir)).sort();
    for (const entryName of entries) {
      const path = join(dir, entryName);
      const name = prefix ? `${prefix}/${entryName}` : entryName;
      if (isExcluded(name)) continue;
      let stat;
      try {
        stat = await lstat(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if (stat.isDirectory()) {
        await addEntry({ name, type: 'directory', mode: stat.mode & 0o7777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid });
        summary.directories++;
        await walk(path, name);
      } else if (stat.isFile()) {
        await addFile(path, name);
      } else if (stat.isSymbolicLink()) {
        await addEntry({ name, type: 'symlink', linkname: await readlink(path), mode: 0o777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid });
        summary.symlinks++;
      } else {
        logger.warn(`files: ${name} is a socket, FIFO or device; not backed up.`);
        summary.skipped.push(name);
      }
    }
  };

  const done = (async () => {
    try {
      await walk(root, '');
      pack.finalize();
      list.end();
      return summary;
    } catch (error) {
      pack.destroy(error as Error);
      list.destroy(error as Error);
      throw error;
    }
  })();
  done.catch(() => undefined);
  return { tar, list, done };
}

/** Total bytes of regular files under root (a stat-only walk): a size hint for storage. */
export async function estimateTreeBytes(root: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) total += (await lstat(path).catch(() => ({ size: 0 }))).size + 1024;
    }
  };
  await walk(root);
  return total;
}
