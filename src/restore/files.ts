// Files restore: extract into a sibling temp dir of files-path, verify every
// file against files.sha256, then swap it in by rename. The previous directory
// is kept as `<path>.before-<backup-id>-<timestamp>` unless discarded. Until the
// swap, the live directory is never touched; the swap itself is two renames in
// one directory, and it can be undone by renaming back.
import { access, chmod, chown, lchown, lstat, mkdir, mkdtemp, readdir, rename, rm, stat, constants as fsConstants } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { UsageError, IntegrityError } from '../errors.js';
import { parseChecksums } from '../archive/checksums.js';
import { compareFiles, extractFiles } from '../archive/files-verify.js';
import type { FilesSummary } from '../archive/manifest.js';
import type { FilesResult } from '../report/types.js';

export interface FilesTarget {
  path: string;
  parent: string;
  exists: boolean;
  /** The nearest existing ancestor (the parent, unless folders must be created). */
  existingAncestor: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** The SSH server the path is on (user@host[:port]); undefined = this machine. */
  server?: string;
}

/** Looks at files-path without changing it; returns the problems that make a swap impossible. */
export async function inspectFilesTarget(path: string): Promise<{ target: FilesTarget; problems: string[] }> {
  const full = resolve(path);
  const parent = dirname(full);
  const problems: string[] = [];
  const target: FilesTarget = { path: full, parent, exists: false, existingAncestor: parent };
  const info = await lstat(full).catch((e: NodeJS.ErrnoException) => e);
  if (!(info instanceof Error)) {
    target.exists = true;
    if (!info.isDirectory()) {
      problems.push(`files-path ${full} exists but is not a directory${info.isSymbolicLink() ? ' (it is a symlink: give the real directory)' : ''}.`);
      return { target, problems };
    }
    Object.assign(target, { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid });
    const parentInfo = await stat(parent);
    if (parentInfo.dev !== info.dev) {
      problems.push(
        `files-path ${full} is a mount point; the restore swaps the directory by renaming it, which a mount point does not allow. ` +
          `Mount the volume one level up, or restore into a directory inside it.`,
      );
    }
  } else if (info.code !== 'ENOENT' && info.code !== 'ENOTDIR') {
    problems.push(`Cannot use files-path ${full}: ${info.message}.`);
    return { target, problems };
  }
  // Walk up to the nearest existing ancestor: it must be a writable directory.
  let ancestor = parent;
  for (;;) {
    const a = await stat(ancestor).catch((e: NodeJS.ErrnoException) => e);
    if (!(a instanceof Error)) {
      if (!a.isDirectory()) {
        problems.push(`Cannot restore files into ${full}: ${ancestor} is not a directory.`);
        return { target, problems };
      }
      break;
    }
    if (a.code === 'ENOTDIR') {
      // Some ancestor further up is a regular file: find it for the message.
      let up = dirname(ancestor);
      while (
        up !== dirname(up) &&
        (await stat(up).then(
          (s) => s.isDirectory(),
          () => true,
        ))
      )
        up = dirname(up);
      problems.push(`Cannot restore files into ${full}: ${up} is a file, not a directory.`);
      return { target, problems };
    }
    if (ancestor === dirname(ancestor)) break;
    ancestor = dirname(ancestor);
  }
  target.existingAncestor = ancestor;
  try {
    await access(ancestor, fsConstants.W_OK);
  } catch {
    problems.push(`Cannot restore files into ${full}: ${ancestor} is not writable by this user.`);
  }
  return { target, problems };
}

export interface StagedFiles {
  dir: string;
  result: FilesResult;
}

/**
 * Extracts the tar into a sibling temp dir of the target and compares every
 * file with the list. On any problem the temp dir is removed and nothing else changed.
 */
export async function stageFiles(target: FilesTarget, backupId: string, tar: Readable, listText: string, summary: FilesSummary): Promise<StagedFiles> {
  await mkdir(target.parent, { recursive: true });
  const dir = await mkdtemp(join(target.parent, `.${basename(target.path)}.restore-${backupId}-`));
  try {
    const { files, problems } = await extractFiles(tar, dir);
    const result = compareFiles(files, parseChecksums(listText), summary, problems);
    if (result.status !== 'passed') {
      throw new IntegrityError(`The restored files do not match the backup's file list: ${result.problems.slice(0, 5).join('; ')}.`, {
        hint: `Nothing was changed in ${target.path}. The backup's files part is damaged: use another backup.`,
      });
    }
    // The restored directory takes the previous one's mode and (when we may) owner, so the app can still use it.
    await chmod(dir, target.mode ?? 0o755);
    if (target.uid !== undefined && target.gid !== undefined && process.getuid?.() === 0) await chownTree(dir, target.uid, target.gid);
    return { dir, result };
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

/** Verifies the files without writing them anywhere (dry-run). */
export async function verifyFilesOnly(tar: Readable, listText: string, summary: FilesSummary): Promise<FilesResult> {
  const { files, problems } = await extractFiles(tar, undefined);
  return compareFiles(files, parseChecksums(listText), summary, problems);
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await lchown(p, uid, gid);
  }
}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export interface Swap {
  /** Where the previous directory now is (undefined when there was none). */
  previous?: string;
  /** Puts the previous directory back and removes the restored one. */
  undo(): Promise<void>;
  /** Deletes the previous directory (discard-previous-files). */
  discardPrevious(): Promise<void>;
}

/** Name the previous directory will get; computed up front for the plan. */
export function previousName(target: FilesTarget, backupId: string, now = new Date()): string {
  return `${target.path}.before-${backupId}-${stamp(now)}`;
}

/** Two renames: live → previous, staged → live. If the second fails, the first is undone. */
export async function swapIn(target: FilesTarget, staged: StagedFiles, previousPath: string): Promise<Swap> {
  let previous: string | undefined;
  if (
    await lstat(target.path).then(
      () => true,
      () => false,
    )
  ) {
    await rename(target.path, previousPath).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`Cannot move ${target.path} aside to ${previousPath}: ${error.message}.`, {
        input: 'files-path',
        hint: 'Nothing was changed. Check that the directory and its parent are writable and not in use as a mount point.',
      });
    });
    previous = previousPath;
  }
  try {
    await rename(staged.dir, target.path);
  } catch (error) {
    if (previous) await rename(previous, target.path).catch(() => undefined);
    throw new UsageError(`Cannot move the restored files into ${target.path}: ${(error as Error).message}.`, {
      input: 'files-path',
      hint: 'The previous directory was put back; nothing was changed.',
    });
  }
  return {
    previous,
    undo: async () => {
      await rename(target.path, staged.dir);
      if (previous) await rename(previous, target.path);
      await rm(staged.dir, { recursive: true, force: true });
    },
    discardPrevious: async () => {
      if (previous) await rm(previous, { recursive: true, force: true });
    },
  };
}

/**
 * Where restored files go: this machine's files-path, or a folder on a server reached
 * over SSH (src/reach/remote-restore.ts). The restore mode drives either the same way.
 */
export interface FilesDestination {
  inspect(): Promise<{ target: FilesTarget; problems: string[] }>;
  stage(target: FilesTarget, backupId: string, tar: Readable, listText: string, summary: FilesSummary): Promise<StagedFiles>;
  swap(target: FilesTarget, staged: StagedFiles, previousPath: string): Promise<Swap>;
  removeStaged(staged: StagedFiles): Promise<void>;
  /** Staging needs free space on this machine's disk (checked before downloading). */
  readonly local: boolean;
  /**
   * Swap only after the database COMMIT. Over SSH an undo after a failed COMMIT could be cut
   * off by the same broken link, so the swap waits until the database is final.
   */
  readonly swapAfterCommit: boolean;
}

export function localFilesDestination(path: string): FilesDestination {
  return {
    inspect: () => inspectFilesTarget(path),
    stage: stageFiles,
    swap: swapIn,
    removeStaged: (staged) => rm(staged.dir, { recursive: true, force: true }),
    local: true,
    swapAfterCommit: false,
  };
}
