// Credential redaction for backups: chosen columns are replaced (NULL, or a
// placeholder when NOT NULL) in the stored data, while the rest of the table,
// its constraints and indexes restore normally.
//
// How: pg_dump skips those tables' data (--exclude-table-data), and a separate
// part, redacted-data.sql, holds their rows with the columns replaced, taken by
// psql's COPY in the same exported snapshot. A restore loads it between
// pg_restore's data and post-data sections (before indexes and foreign keys).
// Row counts and checksums of those tables are computed over the redacted form.
import picomatch from 'picomatch';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { TailBuffer, toolFailed, waitForExit } from '../util/exec.js';
import { PINNED_SETTINGS, ident, libpqConnection, qualified, type Client } from './connect.js';
import type { TableRef } from './stats.js';

export interface RedactedColumn {
  schema: string;
  table: string;
  column: string;
  /** SQL expression stored instead of the value. */
  replacement: string;
}

export interface RedactedTable {
  schema: string;
  table: string;
  /** Every column in order, with redacted ones replaced: the SELECT list. */
  selectList: string;
  columns: string[];
}

export interface ColumnInfo {
  schema: string;
  table: string;
  column: string;
  type: string;
  notNull: boolean;
  maxLength: number | null;
}

/** Every column of every user table, in order: read once per backup, shared by the functions below. */
export async function userColumns(client: Client): Promise<ColumnInfo[]> {
  const { rows } = await client.query<{ schema: string; table: string; column: string; type: string; notnull: boolean; maxlen: number | null }>(`
    SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS notnull, CASE WHEN a.atttypmod > 4 AND t.typcategory = 'S' THEN a.atttypmod - 4 END AS maxlen
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
     WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     ORDER BY n.nspname, c.relname, a.attnum`);
  return rows.map((r) => ({ schema: r.schema, table: r.table, column: r.column, type: r.type, notNull: r.notnull, maxLength: r.maxlen }));
}

/** `table.column` (any schema) or `schema.table.column`; each part may be a glob. */
function matcherFor(pattern: string, input: string): (c: ColumnInfo) => boolean {
  const parts = pattern.split('.').map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) {
    throw new UsageError(`Input '${input}' has '${pattern}', which is not table.column or schema.table.column.`, {
      input,
      hint: 'Example: users.password_hash, public.api_tokens.token_*',
    });
  }
  const [schema, table, column] = parts.length === 3 ? parts : ['*', ...parts];
  const m = (glob: string) => picomatch(glob!, { nocase: false, dot: true });
  const ms = m(schema!);
  const mt = m(table!);
  const mc = m(column!);
  return (c) => ms(c.schema) && mt(c.table) && mc(c.column);
}

function replacementFor(c: ColumnInfo): string {
  if (!c.notNull) return 'NULL';
  if (/^(text|character varying|character|varchar|citext)/.test(c.type)) {
    const placeholder = c.maxLength !== null && c.maxLength < 8 ? 'redacted'.slice(0, c.maxLength) : 'redacted';
    return `'${placeholder}'`;
  }
  if (c.type === 'bytea') return `'\\x'::bytea`;
  if (c.type === 'jsonb' || c.type === 'json') return `'{}'::${c.type}`;
  throw new UsageError(`Column ${c.schema}.${c.table}.${c.column} is NOT NULL of type ${c.type}; it cannot be redacted to NULL or a text placeholder.`, {
    input: 'redact-columns',
    hint: 'Redact text, bytea or json columns, or encrypt the backup instead (encrypt-recipients).',
  });
}

/** Resolves the patterns against the database; every pattern must match at least one column. */
export function resolveRedactions(columns: ColumnInfo[], patterns: string[]): RedactedColumn[] {
  const chosen = new Map<string, RedactedColumn>();
  for (const pattern of patterns) {
    const match = matcherFor(pattern, 'redact-columns');
    const hits = columns.filter(match);
    if (hits.length === 0) {
      throw new UsageError(`Input 'redact-columns': '${pattern}' matches no column.`, {
        input: 'redact-columns',
        hint: "Check the table and column names ('backup-drill inspect-db' lists likely credential columns).",
      });
    }
    for (const c of hits)
      chosen.set(`${c.schema}.${c.table}.${c.column}`, { schema: c.schema, table: c.table, column: c.column, replacement: replacementFor(c) });
  }
  return [...chosen.values()];
}

/** Tables with redacted columns, with their redacted SELECT list (all columns, in order). */
export function redactedTables(columns: ColumnInfo[], redactions: RedactedColumn[]): RedactedTable[] {
  const tables = new Map<string, RedactedTable>();
  for (const r of redactions) {
    const key = `${r.schema}.${r.table}`;
    if (tables.has(key)) continue;
    const cols = columns.filter((c) => c.schema === r.schema && c.table === r.table);
    const list = cols.map((c) => {
      const hit = redactions.find((x) => x.schema === c.schema && x.table === c.table && x.column === c.column);
      return hit ? `${hit.replacement}::${c.type} AS ${ident(c.column)}` : ident(c.column);
    });
    tables.set(key, { schema: r.schema, table: r.table, selectList: list.join(', '), columns: cols.map((c) => c.column) });
  }
  return [...tables.values()];
}

/**
 * sensitive-columns: columns that must never be stored in clear. An unencrypted
 * backup is refused while any of them is not redacted.
 */
export function refuseSensitiveInClear(columns: ColumnInfo[], patterns: string[], redactions: RedactedColumn[], encrypted: boolean): void {
  if (encrypted || patterns.length === 0) return;
  const matchers = patterns.map((p) => matcherFor(p, 'sensitive-columns'));
  const redacted = new Set(redactions.map((r) => `${r.schema}.${r.table}.${r.column}`));
  const exposed = columns
    .filter((c) => matchers.some((m) => m(c)))
    .map((c) => `${c.schema}.${c.table}.${c.column}`)
    .filter((n) => !redacted.has(n));
  if (exposed.length) {
    throw new UsageError(`Refusing an unencrypted backup that would store sensitive columns in clear: ${exposed.join(', ')}.`, {
      input: 'sensitive-columns',
      hint: 'Encrypt the backup (encrypt-recipients or encrypt-passphrase), or add these columns to redact-columns.',
    });
  }
}

/** pg_dump arguments that leave out the redacted tables' data (their definitions stay). */
export function excludeDataArgs(tables: RedactedTable[]): string[] {
  // pg_dump patterns: double quotes make each part literal (and case-sensitive).
  return tables.map((t) => `--exclude-table-data=${qualified(t.schema, t.table)}`);
}

/** The stats query's FROM source for a table: the redacted form when it has redacted columns. */
export function statsSource(table: TableRef, redacted: RedactedTable[]): string | undefined {
  const t = redacted.find((r) => r.schema === table.schema && r.table === table.name);
  return t ? `(SELECT ${t.selectList} FROM ONLY ${qualified(t.schema, t.table)})` : undefined;
}

/**
 * Streams redacted-data.sql: a psql script of `COPY … FROM stdin` blocks with
 * the redacted rows, read in the exported snapshot.
 */
export function startRedactedCopy(options: { binDir: string; databaseUrl: string | undefined; snapshotId: string; tables: RedactedTable[] }): {
  stdout: Readable;
  done: Promise<void>;
} {
  const conn = libpqConnection(options.databaseUrl);
  const settings = Object.entries(PINNED_SETTINGS)
    .map(([k, v]) => `SET ${k} = '${v}';`)
    .join('\n');
  const script = [
    '\\set ON_ERROR_STOP on',
    settings,
    `BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;`,
    `SET TRANSACTION SNAPSHOT '${options.snapshotId}';`,
    // Output lines of the produced script, which `psql -f redacted-data.sql` replays.
    `\\echo '-- backup-drill redacted table data (columns replaced at backup time)'`,
    ...options.tables.flatMap((t) => [
      `\\echo ${psqlEchoQuote(`COPY ${qualified(t.schema, t.table)} (${t.columns.map(ident).join(', ')}) FROM stdin;`)}`,
      `COPY (SELECT ${t.selectList} FROM ONLY ${qualified(t.schema, t.table)}) TO STDOUT;`,
      `\\echo '\\\\.'`,
    ]),
    'COMMIT;',
  ].join('\n');
  const path = join(options.binDir, 'psql');
  const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', '-'];
  if (conn.dbname) args.push(`--dbname=${conn.dbname}`);
  const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...conn.env, PGOPTIONS: '' } });
  const stderr = new TailBuffer();
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(script);
  const done = waitForExit(child, path).then((code) => {
    if (code !== 0) throw toolFailed(path, code, stderr.toString());
  });
  done.catch(() => undefined);
  return { stdout: child.stdout!, done };
}

/** Quotes text for psql's \echo (single quotes, backslashes doubled). */
function psqlEchoQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Likely credential columns, by name and by the shape of their values (for inspect-db). */
export async function suggestRedactions(client: Client): Promise<Array<{ column: string; reason: string }>> {
  const columns = await userColumns(client);
  const NAME = /(pass(word|wd)?|pwd|hash|secret|token|otp|totp|mfa|2fa|api_?key|private_?key|salt|recovery_?code|session)/i;
  const SHAPES: Array<[RegExp, string]> = [
    [/^\$2[aby]\$\d\d\$/, 'bcrypt hashes'],
    [/^\$argon2(id|i|d)\$/, 'argon2 hashes'],
    [/^(pbkdf2_sha\d+|pbkdf2:sha\d+|\$pbkdf2)/, 'PBKDF2 hashes'],
    [/^(\$scrypt\$|scrypt:)/, 'scrypt hashes'],
    [/^\$[156]\$/, 'crypt(3) hashes'],
    [/^[A-Z2-7]{16,32}$/, 'base32 secrets (TOTP seeds)'],
    [/^[0-9a-f]{40,128}$/i, 'hex digests or tokens'],
  ];
  const found: Array<{ column: string; reason: string }> = [];
  for (const c of columns) {
    const name = `${c.schema}.${c.table}.${c.column}`;
    const reasons: string[] = [];
    if (NAME.test(c.column)) reasons.push('name');
    if (/^(text|character|bytea)/.test(c.type)) {
      const { rows } = await client.query<{ v: string }>(
        `SELECT ${ident(c.column)}::text AS v FROM ${qualified(c.schema, c.table)} WHERE ${ident(c.column)} IS NOT NULL LIMIT 20`,
      );
      for (const [shape, label] of SHAPES) {
        if (rows.length && rows.filter((r) => shape.test(r.v)).length >= Math.ceil(rows.length / 2)) {
          reasons.push(`values look like ${label}`);
          break;
        }
      }
    }
    if (reasons.length) found.push({ column: name, reason: reasons.join('; ') });
  }
  return found;
}
