// Recognises the migration ledgers of common frameworks and reads the latest
// applied entry, so a restore can tell when the app's schema moved on.
import type { Client } from './connect.js';
import type { MigrationHead } from '../archive/manifest.js';

interface Ledger {
  ledger: string;
  table: string;
  /** Column holding the version/name, and how to pick the latest applied one. */
  head: string;
  order: string;
  where?: string;
}

// Order matters only when several exist; the first one found wins.
export const LEDGERS: Ledger[] = [
  {
    ledger: 'prisma',
    table: '_prisma_migrations',
    head: 'migration_name',
    order: 'finished_at DESC NULLS LAST, migration_name DESC',
    where: 'finished_at IS NOT NULL AND rolled_back_at IS NULL',
  },
  { ledger: 'diesel', table: '__diesel_schema_migrations', head: 'version', order: 'version DESC' },
  { ledger: 'django', table: 'django_migrations', head: "app || '.' || name", order: 'applied DESC, id DESC' },
  { ledger: 'alembic', table: 'alembic_version', head: 'version_num', order: 'version_num DESC' },
  { ledger: 'flyway', table: 'flyway_schema_history', head: 'coalesce(version, description)', order: 'installed_rank DESC', where: 'success' },
  { ledger: 'knex', table: 'knex_migrations', head: 'name', order: 'id DESC' },
  { ledger: 'goose', table: 'goose_db_version', head: 'version_id::text', order: 'id DESC', where: 'is_applied' },
  { ledger: 'sqlx', table: '_sqlx_migrations', head: 'version::text', order: 'version DESC', where: 'success' },
  { ledger: 'sequelize', table: 'SequelizeMeta', head: 'name', order: 'name DESC' },
  { ledger: 'typeorm', table: 'migrations', head: 'name', order: 'timestamp DESC, id DESC' },
  { ledger: 'golang-migrate', table: 'schema_migrations', head: 'version::text', order: 'version DESC', where: 'NOT dirty' },
  // Rails and Ecto share the name schema_migrations; golang-migrate's has a 'dirty' column, tried first.
  { ledger: 'rails', table: 'schema_migrations', head: 'version::text', order: 'version DESC' },
  { ledger: 'liquibase', table: 'databasechangelog', head: 'id', order: 'orderexecuted DESC' },
];

export async function migrationHead(client: Client): Promise<MigrationHead | null> {
  const { rows: found } = await client.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY (n.nspname = 'public') DESC, n.nspname`,
    [LEDGERS.map((l) => l.table)],
  );
  for (const ledger of LEDGERS) {
    const hit = found.find((f) => f.table === ledger.table);
    if (!hit) continue;
    const table = `"${hit.schema.replace(/"/g, '""')}"."${hit.table.replace(/"/g, '""')}"`;
    // Inside a transaction, a savepoint keeps a failed probe (wrong columns for this ledger) from aborting it.
    const savepoint = await client.query('SAVEPOINT bd_ledger').then(
      () => true,
      () => false,
    );
    try {
      const { rows } = await client.query<{ head: string | null; count: string }>(
        `SELECT (SELECT (${ledger.head})::text FROM ${table} ${ledger.where ? `WHERE ${ledger.where}` : ''} ORDER BY ${ledger.order} LIMIT 1) AS head,
                (SELECT count(*)::text FROM ${table} ${ledger.where ? `WHERE ${ledger.where}` : ''}) AS count`,
      );
      if (savepoint) await client.query('RELEASE SAVEPOINT bd_ledger');
      if (rows[0]?.head == null) continue;
      return { ledger: ledger.ledger, table: `${hit.schema}.${hit.table}`, head: rows[0].head, count: Number(rows[0].count) };
    } catch {
      if (savepoint) await client.query('ROLLBACK TO SAVEPOINT bd_ledger').catch(() => undefined);
    }
  }
  return null;
}
