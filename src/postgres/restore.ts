// Runs pg_restore. A restore that "succeeds" with ignored errors is a failure:
// --exit-on-error, and any "errors ignored" line is treated as an error too.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { libpqConnection } from './connect.js';
import { TailBuffer, dieWithParent, toolFailed, waitForExit } from '../util/exec.js';
import { ToolError } from '../errors.js';

export interface RestoreOptions {
  binDir: string;
  databaseUrl: string;
  /** A seekable dump file (allows parallel jobs) … */
  file?: string;
  /** … or a stream of the dump (single job). */
  input?: Readable;
  jobs?: number;
  extraArgs?: string[];
  signal?: AbortSignal;
  /** Restore everything that restores and return the errors (an upgrade rehearsal lists them all) instead of stopping at the first. */
  keepGoing?: boolean;
}

export async function runPgRestore(options: RestoreOptions): Promise<{ stderr: string }> {
  const conn = libpqConnection(options.databaseUrl);
  const args = [
    '--no-owner',
    '--no-acl',
    ...(options.keepGoing ? [] : ['--exit-on-error']),
    '--no-password',
    `--dbname=${conn.dbname}`,
    ...(options.extraArgs ?? []),
  ];
  if (options.file) {
    if ((options.jobs ?? 1) > 1) args.push(`--jobs=${options.jobs}`);
    args.push(options.file);
  }
  const path = join(options.binDir, 'pg_restore');
  const { code, stderr: text } = await runFed(path, args, conn.env, options.input, options.signal);
  if (options.keepGoing && (code === 0 || /errors ignored on restore/i.test(text))) return { stderr: text };
  if (code !== 0) throw toolFailed(path, code, text);
  if (/errors ignored on restore/i.test(text)) {
    throw new ToolError('pg_restore', `pg_restore reported ignored errors: ${text.split('\n').slice(-12).join('\n')}`, { stderr: text });
  }
  return { stderr: text };
}

/** Runs a SQL script (e.g. redacted-data.sql) through psql, stopping at the first error. */
export async function runPsqlScript(options: { binDir: string; databaseUrl: string; input: Readable }): Promise<void> {
  const conn = libpqConnection(options.databaseUrl);
  const path = join(options.binDir, 'psql');
  const { code, stderr } = await runFed(
    path,
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password', `--dbname=${conn.dbname}`, '-f', '-'],
    conn.env,
    options.input,
  );
  if (code !== 0) throw toolFailed(path, code, stderr);
}

/**
 * Runs a libpq tool, feeding `input` (when given) to its stdin. A failed or
 * truncated input is the real cause of whatever the tool then says, so it is
 * thrown instead of the tool's complaint.
 */
async function runFed(
  path: string,
  args: string[],
  env: Record<string, string>,
  input?: Readable,
  signal?: AbortSignal,
): Promise<{ code: number; stderr: string }> {
  const [command, commandArgs] = dieWithParent(path, args); // a killed drill or restore must not leave pg_restore running
  const child = spawn(command, commandArgs, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, signal });
  const stderr = new TailBuffer(64 * 1024);
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  let inputError: unknown;
  const feeding = input
    ? pipeline(input, child.stdin!).catch((error) => {
        inputError = error;
        child.kill('SIGTERM');
      })
    : Promise.resolve();
  const [code] = await Promise.all([waitForExit(child, path), feeding]);
  if (inputError && (inputError as NodeJS.ErrnoException).code !== 'EPIPE') throw inputError;
  return { code, stderr: stderr.toString() };
}
