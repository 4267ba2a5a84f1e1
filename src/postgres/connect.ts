// Opens pg connections with pinned session settings (so row text, and thus the
// content checksums, is the same at backup and at drill time) and turns
// connection failures into errors that say what to do. Never prints passwords.
import pg from 'pg';
import { DatabaseError } from '../errors.js';
import { safeUrl } from '../util/redact.js';
import { deadlines } from '../util/deadlines.js';

export type Client = pg.Client;

/** Settings of every session; those that compute or compare checksums add postgres/stats.ts CHECKSUM_SETTINGS. */
export const PINNED_SETTINGS: Record<string, string> = {
  TimeZone: 'UTC',
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  extra_float_digits: '3', // full precision, as pg_dump writes floats (redacted-data.sql's COPY uses these)
  bytea_output: 'hex',
  lc_monetary: 'C',
  client_encoding: 'UTF8',
};

export function describeTarget(url: string | undefined): string {
  if (!url)
    return `the database from PG* environment variables (${process.env.PGHOST ?? 'local socket'}/${process.env.PGDATABASE ?? process.env.PGUSER ?? ''})`;
  if (/^postgres(ql)?:\/\//i.test(url)) {
    try {
      const u = new URL(url);
      return `${decodeURIComponent(u.pathname.slice(1)) || '(default db)'} on ${u.hostname || 'local socket'}${u.port ? ':' + u.port : ''}`;
    } catch {
      /* fall through */
    }
  }
  return safeUrl(url);
}

export async function connect(url: string | undefined, options: { applicationName?: string; inputName?: string } = {}): Promise<Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: options.applicationName ?? 'backup-drill',
    connectionTimeoutMillis: deadlines().connectMs, // input connect-timeout
  });
  // An idle client whose server goes away emits 'error'; without a listener it crashes the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw translateConnectError(error, url, options.inputName ?? 'database-url');
  }
  const sets = Object.entries(PINNED_SETTINGS)
    .map(([k, v]) => `SET ${k} = '${v}'`)
    .join('; ');
  await client.query(sets);
  return client;
}

function translateConnectError(error: unknown, url: string | undefined, inputName: string): DatabaseError {
  const e = error as NodeJS.ErrnoException & { code?: string };
  const target = describeTarget(url);
  const detail = e.message ?? String(error);
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'EAI_AGAIN':
      return new DatabaseError(`Cannot reach ${target}: ${detail}.`, {
        hint: `Check the host and port in '${inputName}', that the server is running and accepts TCP connections from this machine (listen_addresses, firewall, pg_hba.conf).`,
        cause: error,
      });
    case '28P01':
    case '28000':
      return new DatabaseError(`The server rejected the login for ${target}: ${detail}.`, {
        hint: `Check the user and password in '${inputName}' (percent-encode special characters in the password) and pg_hba.conf.`,
        cause: error,
      });
    case '3D000':
      return new DatabaseError(`${detail} (${target}).`, { hint: `Check the database name in '${inputName}'.`, cause: error });
    default:
      if (/timeout/i.test(detail)) {
        return new DatabaseError(`Timed out connecting to ${target} after ${deadlines().connectMs / 1000}s (connect-timeout).`, {
          hint: `Check the host and port in '${inputName}' and that the server accepts connections; raise connect-timeout for a slow link.`,
          cause: error,
        });
      }
      return new DatabaseError(`Cannot connect to ${target}: ${detail}.`, { hint: `Check '${inputName}'.`, cause: error });
  }
}

export interface ServerInfo {
  version: string;
  versionNum: number;
  major: number;
  database: string;
  encoding: string;
}

export async function serverInfo(client: Client): Promise<ServerInfo> {
  const { rows } = await client.query<{ v: string; n: string; db: string; enc: string }>(
    `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n,
            current_database() AS db, pg_encoding_to_char(encoding) AS enc
       FROM pg_database WHERE datname = current_database()`,
  );
  const row = rows[0]!;
  const versionNum = Number(row.n);
  return { version: row.v.split(' ')[0]!, versionNum, major: Math.floor(versionNum / 10000), database: row.db, encoding: row.enc };
}

/** Quotes an identifier for SQL. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/**
 * Environment + a `--dbname` value for libpq tools (pg_dump, pg_restore, psql)
 * that keeps the password out of the process arguments (visible in `ps`).
 */
export function libpqConnection(url: string | undefined): { dbname?: string; env: Record<string, string> } {
  if (!url) return { env: {} };
  if (!/^postgres(ql)?:\/\//i.test(url)) return { dbname: url, env: {} };
  const u = new URL(url);
  const env: Record<string, string> = {};
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return { dbname: u.toString(), env };
}
