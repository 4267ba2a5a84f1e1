// Per-table row counts and content checksums, and the schema hash.
//
// Checksum: sum over rows of hashtextextended(row text, 0), as numeric, so it
// is independent of row order and takes one scan. Row text depends on session
// settings, which connect() pins. Partitioned tables are recorded through
// their leaf partitions (which hold the rows); parents are not listed.
import { createHash } from 'node:crypto';
import type { Client } from './connect.js';
import { qualified } from './connect.js';
import type { TableStats } from '../archive/manifest.js';

export interface TableRef {
  schema: string;
  name: string;
  partitionOf?: string;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/** Ordinary tables holding rows, in user schemas, not owned by an extension. */
export async function listTables(client: Client): Promise<TableRef[]> {
  const { rows } = await client.query<{ schema: string; name: string; parent: string | null }>(`
    SELECT n.nspname AS schema, c.relname AS name,
           (SELECT pn.nspname || '.' || p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
              JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND ${USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY 1, 2`);
  return rows.map((r) => (r.parent ? { schema: r.schema, name: r.name, partitionOf: r.parent } : { schema: r.schema, name: r.name }));
}

/** Row count and checksum of one table (ONLY: inheritance children are counted on their own). */
export async function tableStats(client: Client, table: TableRef, source?: string): Promise<TableStats> {
  // `source` replaces the table with a subquery (the redacted form of a table with redacted columns).
  const from = source ?? `ONLY ${qualified(table.schema, table.name)}`;
  const { rows } = await client.query<{ rows: string; checksum: string }>(
    `SELECT count(*)::text AS rows, coalesce(sum(hashtextextended(ROW(bd_row_.*)::text, 0)::numeric), 0)::text AS checksum
       FROM ${from} AS bd_row_`,
  );
  const result: TableStats = { schema: table.schema, name: table.name, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
  if (table.partitionOf) result.partitionOf = table.partitionOf;
  return result;
}

/** Stats of every table, spread over the given clients (all in the same snapshot). */
export async function collectStats(clients: Client[], tables: TableRef[], sourceOf: (t: TableRef) => string | undefined = () => undefined): Promise<TableStats[]> {
  const results: TableStats[] = new Array(tables.length);
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < tables.length) {
        const i = next++;
        results[i] = await tableStats(client, tables[i]!, sourceOf(tables[i]!));
      }
    }),
  );
  return results;
}

/**
 * A hash of the shape of the user schemas: tables, views, their columns and
 * types, in a stable order. Same schema → same hash, on any server of the same major.
 */
export async function schemaHash(client: Client): Promise<string> {
  const { rows } = await client.query<{ line: string }>(`
    SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || a.attname || ':' ||
           format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text AS line
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND ${USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY n.nspname, c.relname, a.attnum`);
  const hash = createHash('sha256');
  for (const row of rows) hash.update(row.line + '\n');
  return `sha256:${hash.digest('hex')}`;
}

/** Number of user tables (any kind that holds rows), for the restore's "non-empty target" guard. */
export async function countUserTables(client: Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`
    SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${USER_SCHEMAS}`);
  return Number(rows[0]!.n);
}
