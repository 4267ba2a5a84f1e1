// The uploads folder on the server, read over SSH: `tar -c` runs there on an
// exec channel and its stream is repacked here, entry by entry, into the same
// tar + files.sha256 + summary the local packing produces (per-file digests,
// files-exclude, symlinks kept as links, specials skipped). Nothing is staged:
// each file's bytes pass through once, hashed on the way.
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import picomatch from 'picomatch';
import tarStream from 'tar-stream';
import { RemoteError, UsageError } from '../errors.js';
import type { FilesSource } from '../archive/files-source.js';
import { packFile, type PackedFiles } from '../archive/files-tar.js';
import type { FilesSummary } from '../archive/manifest.js';
import { formatChecksumLine } from '../archive/checksums.js';
import type { Logger } from '../util/logger.js';
import { describeEndpoint } from './options.js';
import type { SshSession } from './ssh-session.js';

/** Quotes a word for the remote POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The exact commands sent for the uploads (a forced-command dispatcher on the server matches these; see docs/SSH.md). */
export const REMOTE_COMMANDS = {
  isDirectory: (path: string) => `test -d ${shellQuote(path)}`,
  /** GNU tar: --hard-dereference stores hard-linked files as files (the local packing reads each name too). */
  pack: (path: string) => `tar -c -f - --hard-dereference -C ${shellQuote(path)} .`,
  size: (path: string) => `du -s -k ${shellQuote(path)}`,
} as const;

export function remoteFilesSource(session: SshSession, path: string): FilesSource {
  const where = `${path} on ${describeEndpoint(session.endpoint)}`;
  return {
    description: where,
    async check() {
      if (!path.startsWith('/')) {
        throw new UsageError(`Input 'files-path' must be an absolute path on the server when 'ssh' is set, got '${path}'.`, {
          input: 'files-path',
          hint: 'Give the uploads folder as the server sees it, e.g. /srv/app/uploads.',
        });
      }
      const r = await session.run(REMOTE_COMMANDS.isDirectory(path));
      if (r.code !== 0) {
        throw new UsageError(`Input 'files-path' points at ${where}, which is not a folder there (or not visible to the SSH user).`, {
          input: 'files-path',
          hint: `Check the path on the server (ls -ld ${shellQuote(path)}) and that the SSH user may enter it, or leave files-path empty to back up the database only.`,
        });
      }
    },
    async estimateBytes() {
      // Best effort: a restricted key may not allow du; the estimate only sizes storage parts.
      const r = await session.run(REMOTE_COMMANDS.size(path)).catch(() => undefined);
      const kib = r?.code === 0 ? Number(/^(\d+)/.exec(r.stdout)?.[1]) : NaN;
      return Number.isFinite(kib) ? kib * 1024 : 0;
    },
    pack: (exclude, logger, onBytes) => packRemote(session, path, where, exclude, logger, onBytes),
  };
}

function packRemote(session: SshSession, path: string, where: string, exclude: string[], logger: Logger, onBytes?: (n: number) => void): PackedFiles {
  const pack = tarStream.pack();
  const tar = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
  const list = new PassThrough();
  const isExcluded = exclude.length ? picomatch(exclude, { dot: true }) : () => false;
  const summary: FilesSummary = { count: 0, bytes: 0, directories: 0, symlinks: 0, skipped: [], exclude };
  const excludedDirs: string[] = [];

  const addEntry = (header: Partial<tarStream.Header> & { name: string }): Promise<void> =>
    new Promise((resolve, reject) => pack.entry(header, (e) => (e ? reject(e) : resolve())));

  const copyFile = async (header: tarStream.Header, name: string, stream: Readable): Promise<void> => {
    const size = header.size ?? 0;
    const fileHeader = { name, size, mode: header.mode, mtime: header.mtime, uid: header.uid, gid: header.gid };
    const sha256 = await packFile(pack, fileHeader, stream as AsyncIterable<Buffer>, onBytes);
    summary.count++;
    summary.bytes += size;
    if (!list.write(formatChecksumLine({ sha256, name }))) await once(list, 'drain');
  };

  const done = (async () => {
    const command = await session.exec(REMOTE_COMMANDS.pack(path));
    command.stdin.end();
    const stderr: string[] = [];
    command.stderr.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    try {
      const extract = tarStream.extract();
      command.stdout.on('error', (e: Error) => extract.destroy(e));
      command.stdout.pipe(extract as unknown as NodeJS.WritableStream);
      for await (const entryStream of extract as unknown as AsyncIterable<Readable & { header: tarStream.Header }>) {
        const header = entryStream.header;
        const name = header.name.replace(/^\.\/?/, '').replace(/\/+$/, '');
        if (!name || excludedDirs.some((d) => name.startsWith(`${d}/`)) || isExcluded(name)) {
          if (name && header.type === 'directory') excludedDirs.push(name);
          entryStream.resume();
          continue;
        }
        if (header.type === 'file' || header.type === 'contiguous-file') {
          await copyFile(header, name, entryStream);
          continue;
        }
        entryStream.resume();
        if (header.type === 'directory') {
          await addEntry({ name, type: 'directory', mode: header.mode, mtime: header.mtime, uid: header.uid, gid: header.gid });
          summary.directories++;
        } else if (header.type === 'symlink') {
          await addEntry({ name, type: 'symlink', linkname: header.linkname ?? '', mode: 0o777, mtime: header.mtime, uid: header.uid, gid: header.gid });
          summary.symlinks++;
        } else {
          logger.warn(`files: ${name} is a socket, FIFO or device (${header.type}); not backed up.`);
          summary.skipped.push(name);
        }
      }
      const { code, signal } = await command.exit;
      const errors = stderr.join('');
      if (code === 0 || (code === 1 && !/Cannot (open|read|stat)/.test(errors))) {
        // GNU tar exits 1 when a file changed while it was read: the copy is kept, as the local packing does.
        if (code === 1) logger.warn(`files: tar on the server reported changes while reading: ${errors.trim().slice(0, 500)}`);
        pack.finalize();
        list.end();
        return summary;
      }
      if (code === null && session.lost) throw session.lostError(`finish reading ${where}`);
      throw tarFailure(errors, where, code, signal);
    } catch (error) {
      command.channel.close();
      const failure = session.lost && !(error instanceof UsageError) ? session.lostError(`finish reading ${where}`) : error;
      pack.destroy(failure as Error);
      list.destroy(failure as Error);
      throw failure;
    }
  })();
  done.catch(() => undefined);
  return { tar, list, done };
}

function tarFailure(errors: string, where: string, code: number | null, signal: string | undefined): Error {
  const unreadable = [...errors.matchAll(/^tar: \.?\/?(.*?): Cannot (?:open|read|stat|savedir): Permission denied$/gm)].map((m) => m[1] || '.');
  if (unreadable.length) {
    return new RemoteError(
      `${unreadable.length} file(s) in ${where} cannot be read by the SSH user: ${unreadable.slice(0, 10).join(', ')}${unreadable.length > 10 ? ', …' : ''}. Nothing was stored.`,
      {
        hint: 'Give the backup user read access (e.g. a group the app writes with, or setfacl -R -m u:backup:rX), or exclude those paths with files-exclude.',
      },
    );
  }
  if (/command not found|not found/i.test(errors) && /tar/.test(errors)) {
    return new RemoteError(`tar is not installed on the server (${where}).`, { hint: 'Install GNU tar on the server (apt-get install tar).' });
  }
  return new RemoteError(`Reading ${where} with tar failed (exit ${code ?? signal ?? 'unknown'}): ${errors.trim().slice(0, 500) || 'no message'}.`, {
    hint: 'Check that the SSH user may read the folder, and the server-side tar (GNU tar is expected).',
  });
}
