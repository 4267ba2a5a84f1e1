// File-system errors (ENOSPC, EACCES, EROFS, ...) as messages that name the path and
// say what to do. Where the path is decides the blame: the storage folder is a storage
// problem (exit 5); a temp or work folder means the run cannot happen here (exit 9).
import { BackupDrillError, EnvironmentError, StorageError } from '../errors.js';

export type PathRole = 'storage' | 'temp';

const ADVICE: Record<string, (role: PathRole) => string> = {
  ENOSPC: (role) =>
    role === 'temp'
      ? 'The disk holding the temp folder is full: free space, or point TMPDIR (RUNNER_TEMP in Actions) at a bigger disk.'
      : 'The disk is full: free space, prune old backups, or use another storage location.',
  EDQUOT: () => 'The disk quota is exhausted: free space or raise the quota.',
  EACCES: () => 'This user may not write there: fix the folder permissions (owner, mode) or use another folder.',
  EPERM: () => 'The operation is not permitted there: fix the permissions or use another folder.',
  EROFS: () => 'The file system is mounted read-only: use a writable folder.',
  ENOTDIR: () => 'A file stands where a folder is needed: remove it or choose another path.',
  EISDIR: () => 'A folder stands where a file is needed: remove it or choose another path.',
  ENAMETOOLONG: () => 'The path is too long: use a shorter folder.',
  EMFILE: () => 'Too many open files: raise the limit (ulimit -n).',
  EIO: () => 'The disk reported an I/O error: check the device.',
};

/** A typed error for a failed file-system call; errors that are already ours pass through. */
export function fileSystemError(error: unknown, path: string, role: PathRole, what: string, key?: string): unknown {
  if (error instanceof BackupDrillError) return error;
  const e = error as NodeJS.ErrnoException;
  const advice = e?.code ? ADVICE[e.code] : undefined;
  if (!advice && !e?.code) return error;
  const reason = e.code === 'ENOSPC' ? 'no space left on the device' : (e.message ?? String(error)).replace(/^[A-Z]+: /, '');
  const message = `${what}: ${reason} (${e.code}, ${path}).`;
  const hint = advice?.(role) ?? 'Check the path and its permissions.';
  return role === 'temp' ? new EnvironmentError(message, { path, hint, cause: error }) : new StorageError(message, { key, hint, cause: error });
}

const ENVIRONMENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE', 'EIO']);
/** What servers and tools print when this machine, not their input, is the problem. */
const ENVIRONMENT_TEXT =
  /No space left on device|could not extend file|Disk quota exceeded|Read-only file system|Too many open files|could not create shared memory|out of memory/i;

function errnoCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && ENVIRONMENT_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/**
 * When `error` means "this machine cannot do it" (a full or read-only temp disk, a server that
 * ran out of space), an EnvironmentError saying so, so a drill does not blame the backup.
 * `where` names the folder the work happened in.
 */
export function environmentProblem(error: unknown, where: string, doing: string): EnvironmentError | undefined {
  if (error instanceof EnvironmentError) return error;
  if (error instanceof BackupDrillError && error.category !== 'tool' && error.category !== 'failure') return undefined;
  const code = errnoCode(error);
  const text = error instanceof Error ? `${error.message} ${(error as { stderr?: string }).stderr ?? ''}` : String(error);
  if (!code && !ENVIRONMENT_TEXT.test(text)) return undefined;
  const reason = code === 'ENOSPC' || /No space left|could not extend file/i.test(text) ? 'no space left on the device' : (error as Error).message;
  return new EnvironmentError(`Could not ${doing} on this machine: ${reason} (in ${where}). This says nothing about the backup itself.`, {
    path: where,
    hint: 'Free space (or permissions) there, or point TMPDIR (RUNNER_TEMP in Actions) at a bigger, writable disk, then run again.',
    cause: error,
  });
}
