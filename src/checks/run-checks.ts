// Runs the user's checks against a restored database. Each check gets its own read-only
// transaction that is rolled back, so a check cannot change the data (checks also run after a
// real `restore`) and one failing check cannot poison the next. Never throws for a check: every
// outcome becomes a CheckResult. Passwords are compared locally and never reach a message.

import { performance } from 'node:perf_hooks';
import { redact, registerSecret } from '../util/redact.js';
import type { Check, LoginCheck, ScalarValue, SqlCheck } from './checks-file.js';
import { verifyPassword } from './password-hash.js';

export type CheckStatus = 'passed' | 'failed' | 'not-verified' | 'error';

export interface CheckResult {
  name: string;
  kind: 'sql' | 'login';
  /** `error`: the query itself failed (counts as failed). `not-verified`: could not be judged. */
  status: CheckStatus;
  message: string;
  durationMs: number;
}

/** What we need of a pg.Client: `query(text, params)` resolving to rows (and field names). */
export interface QueryClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; fields?: Array<{ name: string }> }>;
}

export interface RunChecksOptions {
  /** The backup blanked credential columns: a NULL/placeholder hash is "not verifiable: redacted". */
  redacted?: boolean;
  /** Columns the backup redacted (from the manifest); non-empty implies `redacted`. */
  redactedColumns?: Array<{ schema: string; table: string; column: string }>;
  /** Replacement values the redaction wrote, besides NULL, '' and 'redacted'-like strings. */
  redactionPlaceholders?: string[];
  /** Run each check in a READ ONLY transaction (default true). It is rolled back either way. */
  readOnly?: boolean;
  /** Per-check `statement_timeout`, so a runaway query cannot hang the drill. */
  statementTimeoutMs?: number;
}

export async function runChecks(
  checks: readonly Check[],
  client: QueryClient,
  env: Record<string, string | undefined> = process.env,
  options: RunChecksOptions = {},
): Promise<CheckResult[]> {
  // Register every canary password first, so no message of any check can carry one.
  for (const check of checks) if (check.kind === 'login') registerSecret(env[check.passwordEnv]);
  const results: CheckResult[] = [];
  for (const check of checks) {
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = check.kind === 'sql' ? await runSql(check, client, options) : await runLogin(check, client, env, options);
    } catch (error) {
      outcome = { status: 'error', message: describeDbError(error) };
    }
    // Messages quote database values and errors: mask every registered secret (incl. the passwords).
    const message = redact(outcome.message);
    results.push({ name: check.name, kind: check.kind, status: outcome.status, message, durationMs: Math.round(performance.now() - started) });
  }
  return results;
}

type Outcome = Pick<CheckResult, 'status' | 'message'>;

async function inTransaction<T>(client: QueryClient, options: RunChecksOptions, fn: () => Promise<T>): Promise<T> {
  await client.query(options.readOnly === false ? 'BEGIN' : 'BEGIN TRANSACTION READ ONLY');
  try {
    const ms = options.statementTimeoutMs;
    if (ms !== undefined && ms > 0) await client.query(`SET LOCAL statement_timeout = ${Math.ceil(ms)}`);
    return await fn();
  } finally {
    // After an error the transaction is aborted; ROLLBACK clears it for the next check.
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

async function query(client: QueryClient, options: RunChecksOptions, text: string, params: unknown[]) {
  const result = await inTransaction(client, options, () => client.query(text, params));
  // Without params pg uses the simple protocol, which runs several statements and returns an array.
  if (Array.isArray(result)) throw new Error('the SQL holds several statements; a check runs exactly one query');
  return result;
}

async function runSql(check: SqlCheck, client: QueryClient, options: RunChecksOptions): Promise<Outcome> {
  const result = await query(client, options, check.sql, check.params);
  const rows = result.rows;
  const expect = check.expect;
  if (expect.type === 'rows') {
    return rows.length === expect.count
      ? { status: 'passed', message: `${plural(rows.length, 'row')}` }
      : { status: 'failed', message: `expected ${plural(expect.count, 'row')}, got ${rows.length}` };
  }
  if (rows.length === 0) return { status: 'failed', message: 'the query returned no rows; expected a value in the first column of the first row' };
  const value = firstValue(rows[0], result.fields);
  if (expect.type === 'equals') {
    const shown = typeof expect.value === 'number' ? showNumber(value) : show(value);
    return matches(value, expect.value)
      ? { status: 'passed', message: `first value is ${shown}` }
      : { status: 'failed', message: `expected ${show(expect.value)}, got ${shown}` };
  }
  const n = toNumber(value);
  const { min, max } = expect;
  const wanted = min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
  if (n === undefined) return { status: 'failed', message: `expected a number ${wanted}, got ${show(value)}` };
  const ok = (min === undefined || n >= min) && (max === undefined || n <= max);
  return ok
    ? { status: 'passed', message: `first value ${showNumber(value)} is ${wanted}` }
    : { status: 'failed', message: `expected ${wanted}, got ${showNumber(value)}` };
}

async function runLogin(check: LoginCheck, client: QueryClient, env: Record<string, string | undefined>, options: RunChecksOptions): Promise<Outcome> {
  const password = env[check.passwordEnv];
  if (password === undefined || password === '') {
    // A canary that cannot run must fail the drill loudly rather than pass silently.
    return {
      status: 'failed',
      message:
        `environment variable ${check.passwordEnv} is ${password === undefined ? 'not set' : 'empty'}: set it to the canary account's ` +
        `password (in GitHub Actions: env: ${check.passwordEnv}: \${{ secrets.${check.passwordEnv} }}) so this login check can run`,
    };
  }
  const who = show(check.identity);
  const { rows, fields } = await query(client, options, check.query, [check.identity]);
  if (rows.length === 0) return { status: 'failed', message: `identity ${who} not found: the login query returned no rows` };
  if (rows.length > 1)
    return { status: 'failed', message: `the login query returned ${rows.length} rows for ${who}; it must select exactly one password hash` };
  const raw = firstValue(rows[0], fields);
  const stored = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
  const redacted = options.redacted === true || (options.redactedColumns?.length ?? 0) > 0;
  if (redacted && isPlaceholder(stored, options.redactionPlaceholders ?? [])) return { status: 'not-verified', message: 'not verifiable: redacted' };
  if (stored === null || stored === undefined) return { status: 'failed', message: `the account ${who} has no password hash (NULL)` };
  const verdict = await verifyPassword(password, String(stored));
  switch (verdict.status) {
    case 'passed':
      return { status: 'passed', message: `password for ${who} verified (${verdict.scheme})` };
    case 'failed':
      return {
        status: 'failed',
        message: `the password in ${check.passwordEnv} does not match the stored ${verdict.scheme} hash for ${who}${verdict.reason ? ` (${verdict.reason})` : ''}`,
      };
    default:
      return { status: 'not-verified', message: `cannot verify the stored hash for ${who}: ${verdict.reason ?? 'unsupported format'} (${verdict.scheme})` };
  }
}

/** The first column of the first row; node-pg rows are objects keyed by column name, or arrays. */
function firstValue(row: unknown, fields?: Array<{ name: string }>): unknown {
  if (Array.isArray(row)) return row[0];
  if (row === null || typeof row !== 'object') return row;
  const record = row as Record<string, unknown>;
  const name = fields?.[0]?.name;
  // Rows are keyed by name, so a repeated name holds the LAST such column, not the first.
  if (name !== undefined && fields!.filter((f) => f.name === name).length > 1) {
    throw new Error(`the first column's name ${JSON.stringify(name)} is used by another column too; give it a unique alias (select … as value)`);
  }
  return name !== undefined && name in record ? record[name] : Object.values(record)[0];
}

function isPlaceholder(value: unknown, extra: string[]): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value !== 'string') return false;
  return value.trim() === '' || /^[\W_]*redacted[\W_]*$/i.test(value.trim()) || extra.includes(value);
}

/** pg returns bigint/numeric as strings: compare them as numbers. */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*$/i.test(value)) return Number(value);
  return undefined;
}

function matches(actual: unknown, expected: ScalarValue): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (actual === null || actual === undefined) return false;
  if (typeof expected === 'number') return toNumber(actual) === expected;
  if (typeof expected === 'boolean') {
    if (typeof actual === 'boolean') return actual === expected;
    const t = String(actual).toLowerCase();
    return expected ? t === 't' || t === 'true' : t === 'f' || t === 'false';
  }
  return String(actual) === expected;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'string' ? JSON.stringify(value) : value instanceof Date ? value.toISOString() : String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Numbers (and pg's numeric/bigint strings) without quotes. */
function showNumber(value: unknown): string {
  return toNumber(value) !== undefined ? String(value).trim() : show(value);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeDbError(error: unknown): string {
  const e = error as { message?: string; code?: string };
  const message = e?.message ?? String(error);
  return e?.code && /^[0-9A-Z]{5}$/.test(e.code) ? `${message} (SQLSTATE ${e.code})` : message;
}
