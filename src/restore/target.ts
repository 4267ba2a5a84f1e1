// What the restore target looks like now, read over a read-only session:
// what the preview shows and the guards decide on. Never writes.
import type { MigrationHead } from '../archive/manifest.js';
import { connect, serverInfo, type Client } from '../postgres/connect.js';
import { migrationHead } from '../postgres/migrations.js';
import { countUserTables, schemaHash } from '../postgres/stats.js';

export interface TargetState {
  database: string;
  /** host[:port], or 'local socket'; never the user's password. */
  host: string;
  user: string;
  serverVersion: string;
  major: number;
  userTables: number;
  schemaHash: string;
  migration: MigrationHead | null;
  /** Non-system schemas on the target. */
  schemas: string[];
  /**
   * Why the target refuses writes by its own settings: `default_transaction_read_only` set for the
   * database, the role or the server (its reset value, which our read-only session SET does not change),
   * or a standby. A restore never overrides that: an operator marked it so.
   */
  readOnly?: string;
  availableExtensions: string[];
  /** Extensions installed in the target database, with the schema holding their objects. */
  installedExtensions: Array<{ name: string; schema: string }>;
  /** Ordinary and partitioned tables as `schema.name`. */
  tables: string[];
  /** Foreign keys between tables, as `schema.name` pairs (referencing → referenced). */
  foreignKeys: Array<{ from: string; to: string; name: string }>;
  largeObjects: number;
}

/** host[:port] of a connection string or the libpq environment, for messages. Never includes a password. */
export function targetHost(url: string | undefined): string {
  if (url && /^postgres(ql)?:\/\//i.test(url)) {
    try {
      const u = new URL(url);
      const host = decodeURIComponent(u.hostname) || u.searchParams.get('host') || process.env.PGHOST || 'local socket';
      const port = u.port || u.searchParams.get('port') || '';
      return port ? `${host}:${port}` : host;
    } catch {
      /* fall through */
    }
  }
  if (url) {
    const host = /\bhost\s*=\s*'?([^'\s]+)/.exec(url)?.[1];
    const port = /\bport\s*=\s*'?(\d+)/.exec(url)?.[1];
    if (host) return port ? `${host}:${port}` : host;
  }
  const host = process.env.PGHOST || 'local socket';
  return process.env.PGPORT ? `${host}:${process.env.PGPORT}` : host;
}

const USER_SCHEMAS = `nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'`;

export async function inspectTarget(client: Client, url: string | undefined): Promise<TargetState> {
  const info = await serverInfo(client);
  const user = (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  const schemas = (await client.query<{ n: string }>(`SELECT nspname AS n FROM pg_namespace WHERE ${USER_SCHEMAS} ORDER BY 1`)).rows.map((r) => r.n);
  const availableExtensions = (await client.query<{ n: string }>('SELECT name AS n FROM pg_available_extensions ORDER BY 1')).rows.map((r) => r.n);
  const installedExtensions = (
    await client.query<{ name: string; schema: string }>(
      `SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`,
    )
  ).rows;
  const tables = (
    await client.query<{ t: string }>(
      `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.${USER_SCHEMAS} ORDER BY 1`,
    )
  ).rows.map((r) => r.t);
  const foreignKeys = (
    await client.query<{ from: string; to: string; name: string }>(
      `SELECT fn.nspname || '.' || f.relname AS from, tn.nspname || '.' || t.relname AS to, c.conname AS name
         FROM pg_constraint c
         JOIN pg_class f ON f.oid = c.conrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
         JOIN pg_class t ON t.oid = c.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE c.contype = 'f'`,
    )
  ).rows;
  const marked = (
    await client.query<{ v: string; standby: boolean }>(
      "SELECT reset_val AS v, pg_catalog.pg_is_in_recovery() AS standby FROM pg_catalog.pg_settings WHERE name = 'default_transaction_read_only'",
    )
  ).rows[0];
  const readOnly = marked?.standby
    ? 'it is a standby server (in recovery)'
    : marked?.v === 'on'
      ? 'default_transaction_read_only is on for it (set for the database, the role or the server)'
      : undefined;
  const largeObjects = Number((await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject_metadata')).rows[0]!.n);
  return {
    ...(readOnly ? { readOnly } : {}),
    database: info.database,
    host: targetHost(url),
    user,
    serverVersion: info.version,
    major: info.major,
    userTables: await countUserTables(client),
    schemaHash: await schemaHash(client),
    migration: await migrationHead(client),
    schemas,
    availableExtensions,
    installedExtensions,
    tables,
    foreignKeys,
    largeObjects,
  };
}

/** Opens a session that cannot write: what the preview and a dry-run use. */
export async function connectReadOnly(url: string | undefined): Promise<Client> {
  const client = await connect(url, { applicationName: 'backup-drill restore (read-only)', inputName: 'database-url' });
  try {
    await client.query('SET default_transaction_read_only = on');
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}
