// Typed errors for the engine. Only the shells (action, CLI) turn them into
// exit codes or setFailed; every message says what failed, the value, and the fix.

/**
 * Every outcome's exit code, old and new, in one table (README "Exit codes" and `--help` render it).
 * Codes are never renumbered; later features take new codes from here.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  checksFailed: 3,
  database: 4,
  storage: 5,
  tool: 6,
  integrity: 7,
  locked: 8,
  environment: 9,
  timedOut: 10,
  suspect: 11,
  notVerifiable: 12,
  remote: 13,
  interrupted: 130,
} as const;

/** What each exit code means, for `--help` and the README table. */
export const EXIT_CODE_MEANINGS: Record<keyof typeof ExitCode, string> = {
  ok: 'success',
  failure: 'unexpected error (a bug: please report it with BACKUP_DRILL_DEBUG=1 output)',
  usage: 'bad input or configuration: the message names the input, the value and the fix',
  checksFailed: 'a drill or verification ran to the end and found a problem',
  database: 'database unreachable, login refused, or a server-side error',
  storage: 'storage unreachable, timed out, unwritable, or an object missing',
  tool: 'an external tool (pg_dump, pg_restore, psql) failed',
  integrity: 'checksum mismatch, truncated or altered backup',
  locked: "another run holds the backup set's lock",
  environment:
    'could not run here: disk full or unwritable temp folder, no PostgreSQL binaries, initdb or the throwaway server failed (the backup is not to blame)',
  timedOut: 'the run exceeded its deadline',
  suspect:
    'the backup looks wrong next to its history (trend guard: rows or stored size shrank past max-shrink); accept it with `backup-drill accept <id>` if the drop was deliberate',
  notVerifiable: 'the backup cannot be verified (e.g. encrypted and no key given where content must be read)',
  remote: 'the SSH server is unreachable, its host key is not the pinned one, it refused the login, or the SSH connection dropped',
  interrupted: 'stopped by SIGINT/SIGTERM after cleaning up',
};

export type ErrorCategory = keyof typeof ExitCode;

export class BackupDrillError extends Error {
  readonly category: ErrorCategory;
  readonly hint?: string;
  constructor(category: ErrorCategory, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.category = category;
    this.hint = options.hint;
  }
  get exitCode(): number {
    return ExitCode[this.category];
  }
  /** One paragraph for humans: what failed, then what to do. */
  describe(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

/** An input has a value we cannot use. Names the input and the value. */
export class UsageError extends BackupDrillError {
  readonly input?: string;
  constructor(message: string, options: { input?: string; hint?: string; cause?: unknown } = {}) {
    super('usage', message, options);
    this.input = options.input;
  }
}

export class DatabaseError extends BackupDrillError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('database', message, options);
  }
}

export class StorageError extends BackupDrillError {
  readonly key?: string;
  /** The object does not exist (the backup lacks it), as opposed to a storage that could not be read. */
  readonly missing: boolean;
  constructor(message: string, options: { key?: string; hint?: string; cause?: unknown; missing?: boolean } = {}) {
    super('storage', message, options);
    this.key = options.key;
    this.missing = options.missing ?? false;
  }
}

/**
 * The storage failed (unreachable, throttled, timed out), so nothing about the backup was learnt:
 * "could not verify" (exit 5), never "damaged" (exit 7) or "drill failed" (exit 3).
 */
export function isStorageOutage(error: unknown): error is StorageError {
  return error instanceof StorageError && !error.missing;
}

/** An external program is missing, or exited non-zero. Keeps the tail of its stderr. */
export class ToolError extends BackupDrillError {
  readonly tool: string;
  readonly exitCode_?: number | null;
  readonly stderr?: string;
  constructor(tool: string, message: string, options: { hint?: string; cause?: unknown; exitCode?: number | null; stderr?: string } = {}) {
    super('tool', message, options);
    this.tool = tool;
    this.exitCode_ = options.exitCode;
    this.stderr = options.stderr;
  }
}

export class IntegrityError extends BackupDrillError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('integrity', message, options);
  }
}

export class LockedError extends BackupDrillError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('locked', message, options);
  }
}

/**
 * The run could not happen on this machine: disk full or read-only temp folder, missing
 * PostgreSQL binaries, a throwaway server that would not start. Not the backup's fault.
 */
export class EnvironmentError extends BackupDrillError {
  readonly path?: string;
  constructor(message: string, options: { path?: string; hint?: string; cause?: unknown } = {}) {
    super('environment', message, options);
    this.path = options.path;
  }
}

/** Reaching the server over SSH failed: connect, host key, login, tunnel, or a remote command. */
export class RemoteError extends BackupDrillError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('remote', message, options);
  }
}

/** SIGINT/SIGTERM: the run stopped on request (after cleaning up). */
export class InterruptedError extends BackupDrillError {
  constructor(signal: string) {
    super('interrupted', `Interrupted by ${signal}.`, { hint: 'Partial parts and the lock were removed; run again when ready.' });
  }
}

/** The run passed its `timeout`: children stopped, partial parts deleted, lock released. */
export class TimedOutError extends BackupDrillError {
  constructor(seconds: number, mode: string) {
    super('timedOut', `The ${mode} run exceeded its timeout of ${formatSeconds(seconds)} and was stopped.`, {
      hint: "Partial parts and the lock were removed. Raise 'timeout' if the run needs longer, or find what made it slow (the log's last phase).",
    });
  }
}

function formatSeconds(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}

/** The trend guard flagged the backup (a drop past max-shrink against the trailing median) and nobody accepted it. */
export class SuspectError extends BackupDrillError {
  constructor(message: string, options: { hint?: string } = {}) {
    super('suspect', message, options);
  }
}

/** A drill or verification ran to the end and something did not match. */
export class ChecksFailedError extends BackupDrillError {
  constructor(message: string, options: { hint?: string } = {}) {
    super('checksFailed', message, options);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof BackupDrillError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}

export function exitCodeOf(error: unknown): number {
  return error instanceof BackupDrillError ? error.exitCode : ExitCode.failure;
}
