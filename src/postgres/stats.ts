// Per-table row counts and content checksums, and the schema hash.
//
// Checksum: sum over rows of a 64-bit row hash, as numeric, so it is
// independent of row order and takes one scan. Two row hashes (the method is
// recorded per table in the manifest, docs/FORMAT.md):
// - 'record': hash_record_extended over the binary values (PostgreSQL 14+),
//   5-6x cheaper; only for tables whose every column hashes the same after a
//   restore (built-in types with an extended hash, deterministic collations);
// - 'text': hashtextextended of the row's text form, for everything else
//   (enums hash by OID, json/xml/geometric types have no hash, older servers).
// Row text depends on session settings, which connect() pins. Partitioned
// tables are recorded through their leaf partitions (which hold the rows).
import { createHash } from 'node:crypto';
import type { Client } from './connect.js';
import { qualified } from './connect.js';
import type { ChecksumMethod, TableStats } from '../archive/manifest.js';

/** The per-row hash of each method, over the row alias `bd_row_`. */
export const ROW_HASH: Record<ChecksumMethod, string> = {
  text: 'hashtextextended(ROW(bd_row_.*)::text, 0)',
  record: 'hash_record_extended(bd_row_.*, 0)', // .*: a column may be named bd_row_ (the sample has one)
};

export interface TableRef {
  schema: string;
  name: string;
  partitionOf?: string;
  /** How the checksum is computed; absent = 'text' (backups made before 'record' existed). */
  checksumMethod?: ChecksumMethod;
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

/** A map key for a table (names may hold dots). */
export function tableKey(t: { schema: string; name: string }): string {
  return JSON.stringify([t.schema, t.name]);
}

/** Row count and checksum of one table (ONLY: inheritance children are counted on their own). */
export async function tableStats(client: Client, table: TableRef, source?: string): Promise<TableStats> {
  // `source` replaces the table with a subquery (the redacted form of a table with redacted columns).
  const from = source ?? `ONLY ${qualified(table.schema, table.name)}`;
  const method = table.checksumMethod ?? 'text';
  const { rows } = await client.query<{ rows: string; checksum: string }>(
    `SELECT count(*)::text AS rows, coalesce(sum(${ROW_HASH[method]}::numeric), 0)::text AS checksum
       FROM ${from} AS bd_row_`,
  );
  const result: TableStats = { schema: table.schema, name: table.name, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
  if (method !== 'text') result.checksumMethod = method;
  if (table.partitionOf) result.partitionOf = table.partitionOf;
  return result;
}

/**
 * Tables (`schema.name`) whose rows can be checksummed with 'record': every
 * column's type, through domains and arrays, is a built-in type with its own
 * default hash opclass that has an extended hash (so no enum, composite or
 * user type, no json/xml/geometric type, no reg* or aclitem that hash OIDs),
 * and every collation is deterministic. Keys: tableKey(). Empty before PostgreSQL 14.
 */
export async function recordHashableTables(client: Client, serverVersionNum: number): Promise<Set<string>> {
  if (serverVersionNum < 140000) return new Set();
  const { rows } = await client.query<{ schema: string; name: string }>(`
    WITH RECURSIVE cols AS (
      SELECT c.oid AS rel, a.atttypid AS t, a.attcollation AS coll
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE c.relkind = 'r' AND ${USER_SCHEMAS}
    ), leaf(rel, t, depth) AS (
      SELECT rel, t, 0 FROM cols
      UNION ALL
      SELECT l.rel, CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, l.depth + 1
        FROM leaf l JOIN pg_type ty ON ty.oid = l.t
       WHERE l.depth < 16
         AND (ty.typtype = 'd' OR EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid))
    ), unsafe AS (
      SELECT l.rel FROM leaf l JOIN pg_type ty ON ty.oid = l.t
       WHERE ty.typtype <> 'd' AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid)
         AND (ty.typnamespace <> 'pg_catalog'::regnamespace OR ty.oid = 'aclitem'::regtype
              OR NOT EXISTS (
                SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                  JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amproclefttype = oc.opcintype AND p.amprocnum = 2
                 WHERE am.amname = 'hash' AND oc.opcdefault
                   AND oc.opcintype = CASE ty.oid WHEN 'varchar'::regtype THEN 'text'::regtype WHEN 'cidr'::regtype THEN 'inet'::regtype ELSE ty.oid END))
      UNION
      SELECT rel FROM cols JOIN pg_collation co ON co.oid = cols.coll WHERE NOT co.collisdeterministic
    )
    SELECT n.nspname AS schema, c.relname AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND ${USER_SCHEMAS} AND c.oid NOT IN (SELECT rel FROM unsafe)`);
  return new Set(rows.map(tableKey));
}

/**
 * Gives each table the cheapest checksum method that survives a restore:
 * 'record' where recordHashableTables allows it, unless its key is in `textOnly`.
 */
export async function chooseChecksumMethods(client: Client, tables: TableRef[], serverVersionNum: number, textOnly: Set<string> = new Set()): Promise<TableRef[]> {
  const hashable = await recordHashableTables(client, serverVersionNum);
  return tables.map((t) => (hashable.has(tableKey(t)) && !textOnly.has(tableKey(t)) ? { ...t, checksumMethod: 'record' as const } : t));
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
