// Restoring the uploads into a folder on the server over SSH, with the local
// restore's guarantees: the backup's tar streams into `tar -x` in a sibling
// folder of files-path (never staged whole on the runner) while every file is
// hashed here and compared with files.sha256; only a fully verified folder is
// swapped in, by two renames, and only after the database COMMIT
// (FilesDestination.swapAfterCommit). The previous folder is kept unless discarded.
import { randomBytes } from 'node:crypto';
import { basename, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { IntegrityError, RemoteError, UsageError } from '../errors.js';
import { parseChecksums } from '../archive/checksums.js';
import { compareFiles, extractFiles } from '../archive/files-verify.js';
import type { FilesSummary } from '../archive/manifest.js';
import type { FilesDestination, FilesTarget, StagedFiles, Swap } from '../restore/files.js';
import type { Logger } from '../util/logger.js';
import { describeEndpoint } from './options.js';
import { shellQuote as q } from './remote-files.js';
import type { SshSession } from './ssh-session.js';

/** The exact commands a restore sends (docs/SSH.md lists them for a restore key's dispatcher). */
export const RESTORE_COMMANDS = {
  inspect: (path: string, parent: string) => `stat -c '%n|%F|%a|%u|%g|%d' -- ${q(path)} ${q(parent)}; id -u; test -w ${q(parent)} && echo writable`,
  extract: (parent: string, stage: string) => `mkdir -p -- ${q(parent)} && mkdir -m 700 -- ${q(stage)} && tar -x -p -f - -C ${q(stage)}`,
  chmod: (mode: number, stage: string) => `chmod ${mode.toString(8)} -- ${q(stage)}`,
  swap: (live: string, previous: string | undefined, stage: string) =>
    previous
      ? `mv -T -- ${q(live)} ${q(previous)} && { mv -T -- ${q(stage)} ${q(live)} || { mv -T -- ${q(previous)} ${q(live)}; exit 3; }; }`
      : `mv -T -- ${q(stage)} ${q(live)}`,
  remove: (path: string) => `rm -rf -- ${q(path)}`,
} as const;

export class RemoteFilesTarget implements FilesDestination {
  readonly local = false;
  readonly swapAfterCommit = true;
  private readonly where: string;
  private remoteUid?: number;

  constructor(
    private readonly session: SshSession,
    private readonly path: string,
    private readonly logger: Logger,
  ) {
    this.where = `on ${describeEndpoint(session.endpoint)}`;
  }

  async inspect(): Promise<{ target: FilesTarget; problems: string[] }> {
    if (!this.path.startsWith('/')) {
      throw new UsageError(`Input 'files-path' must be an absolute path on the server when 'ssh' is set, got '${this.path}'.`, {
        input: 'files-path',
        hint: 'Give the uploads folder as the server sees it, e.g. /srv/app/uploads.',
      });
    }
    const full = posix.normalize(this.path).replace(/\/+$/, '') || '/';
    const parent = posix.dirname(full);
    const r = await this.session.run(RESTORE_COMMANDS.inspect(full, parent));
    const lines = r.stdout.split('\n').filter(Boolean);
    const stats = new Map(
      lines
        .filter((l) => l.includes('|'))
        .map((l) => {
          const [name, type, mode, uid, gid, dev] = l.split('|');
          return [name!, { type: type!, mode: parseInt(mode!, 8), uid: Number(uid), gid: Number(gid), dev: dev! }] as const;
        }),
    );
    this.remoteUid = Number(lines.find((l) => /^\d+$/.test(l)));
    const target: FilesTarget = { path: full, parent, exists: false, existingAncestor: parent, server: describeEndpoint(this.session.endpoint) };
    const problems: string[] = [];
    const live = stats.get(full);
    const up = stats.get(parent);
    if (!up) problems.push(`Cannot restore files into ${full} ${this.where}: its parent folder ${parent} does not exist there.`);
    else if (!lines.includes('writable')) problems.push(`Cannot restore files into ${full} ${this.where}: ${parent} is not writable by the SSH user.`);
    if (live) {
      target.exists = true;
      if (live.type !== 'directory') {
        problems.push(`files-path ${full} ${this.where} exists but is not a directory (${live.type}).`);
      } else {
        Object.assign(target, { mode: live.mode, uid: live.uid, gid: live.gid });
        if (up && up.dev !== live.dev)
          problems.push(`files-path ${full} ${this.where} is a mount point; the restore swaps the folder by renaming it. Restore into a folder inside it.`);
      }
    }
    return { target, problems };
  }

  async stage(target: FilesTarget, backupId: string, tar: Readable, listText: string, summary: FilesSummary): Promise<StagedFiles> {
    const dir = posix.join(target.parent, `.${basename(target.path)}.restore-${backupId}-${randomBytes(4).toString('hex')}`);
    const command = await this.session.exec(RESTORE_COMMANDS.extract(target.parent, dir));
    const stderr: string[] = [];
    command.stderr.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    command.stdout.resume(); // the channel closes only once its output side is read to the end
    const toServer = new PassThrough();
    const toHash = new PassThrough();
    tar.on('error', (e) => {
      toServer.destroy(e);
      toHash.destroy(e);
    });
    tar.pipe(toServer);
    tar.pipe(toHash);
    toServer.on('error', () => command.channel.close());
    toServer.pipe(command.stdin);
    try {
      const [hashed, exit] = await Promise.all([extractFiles(toHash, undefined), command.exit]);
      if (exit.code !== 0) {
        if (this.session.lost) throw this.session.lostError(`finish writing the files into ${dir}`);
        throw new RemoteError(
          `Writing the files into ${dir} ${this.where} failed (tar exit ${exit.code ?? exit.signal}): ${stderr.join('').trim().slice(0, 500)}.`,
          {
            hint: `Nothing was changed in ${target.path}. Check free space and permissions in ${target.parent} on the server.`,
          },
        );
      }
      const result = compareFiles(hashed.files, parseChecksums(listText), summary, hashed.problems);
      if (result.status !== 'passed') {
        throw new IntegrityError(`The restored files do not match the backup's file list: ${result.problems.slice(0, 5).join('; ')}.`, {
          hint: `Nothing was changed in ${target.path}. The backup's files part is damaged: use another backup.`,
        });
      }
      await this.must(RESTORE_COMMANDS.chmod(target.mode ?? 0o755, dir), `set the mode of ${dir}`);
      if (this.remoteUid !== 0)
        this.logger.info(
          `files: modes restored; owners not (the SSH user is not root), so the restored files belong to the SSH user ${describeEndpoint(this.session.endpoint).split('@')[0]}.`,
        );
      return { dir, result };
    } catch (error) {
      command.channel.close();
      await this.session.run(RESTORE_COMMANDS.remove(dir)).catch(() => undefined);
      throw error;
    }
  }

  async swap(target: FilesTarget, staged: StagedFiles, previousPath: string): Promise<Swap> {
    const previous = target.exists ? previousPath : undefined;
    const r = await this.session.run(RESTORE_COMMANDS.swap(target.path, previous, staged.dir));
    if (r.code !== 0) {
      throw new RemoteError(`Cannot swap the restored files into ${target.path} ${this.where}: ${r.stderr.trim() || `exit ${r.code}`}.`, {
        hint: r.code === 3 ? 'The previous folder was put back.' : `Check that ${target.parent} is writable on the server.`,
      });
    }
    return {
      previous,
      undo: async () => {
        await this.must(`mv -T -- ${q(target.path)} ${q(staged.dir)}${previous ? ` && mv -T -- ${q(previous)} ${q(target.path)}` : ''}`, 'undo the swap');
      },
      discardPrevious: async () => {
        if (previous) await this.must(RESTORE_COMMANDS.remove(previous), `remove ${previous}`);
      },
    };
  }

  async removeStaged(staged: StagedFiles): Promise<void> {
    await this.must(RESTORE_COMMANDS.remove(staged.dir), `remove ${staged.dir}`);
  }

  private async must(command: string, doing: string): Promise<void> {
    const r = await this.session.run(command);
    if (r.code !== 0) throw new RemoteError(`Could not ${doing} ${this.where}: ${r.stderr.trim() || `exit ${r.code}`}.`);
  }
}
