// Typed errors for the engine. Only the shells (action, CLI) turn them into
// exit codes or setFailed; every message says what failed, the value, and the fix.

export const ExitCode = {
  ok: 0,
  failure: 1, // unexpected error
  usage: 2, // bad input or configuration
  checksFailed: 3, // a drill or verification ran and found a problem
  database: 4, // database unreachable, auth, server-side error
  storage: 5, // storage unreachable, unwritable, missing objects
  tool: 6, // an external tool (pg_dump, pg_restore, initdb) missing or failed
  integrity: 7, // checksum mismatch, truncated or altered backup
  locked: 8, // another run holds the lock
} as const;

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
  constructor(message: string, options: { key?: string; hint?: string; cause?: unknown } = {}) {
    super('storage', message, options);
    this.key = options.key;
  }
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
