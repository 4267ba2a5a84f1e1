// Per-table row counts and content checksums, and the schema hash.
//
// Checksum: sum over rows of a 64-bit row hash, as numeric, so it is
// independent of row order and takes one scan. Two row hashes (the method is
// recorded per table in the manifest, docs/FORMAT.md):
// - 'record' (PostgreSQL 14+): hash_record_extended over the binary values,
//   5-6x cheaper. Columns whose binary hash would not survive a restore
//   (enums hash by OID; json/xml/geometric types have no hash; user types;
//   nondeterministic collations) are listed in `textColumns` and hashed
//   through their text form instead, inside the same record hash;
// - 'text': hashtextextended of the whole row's text form, for servers before
//   14 and for tables with redacted columns.
// Text forms depend on session settings, which connect() pins. Partitioned
// tables are recorded through their leaf partitions (which hold the rows).
import { createHash } from 'node:crypto';
import type { Client } from './connect.js';
import { ident, qualified } from './connect.js';
import type { ChecksumMethod, TableStats } from '../archive/manifest.js';

/** The whole-row hash of each method, over the row alias `bd_row_`. */
export const ROW_HASH: Record<ChecksumMethod, string> = {
  text: 'hashtextextended(ROW(bd_row_.*)::text, 0)',
  record: 'hash_record_extended(bd_row_.*, 0)', // .*: a column may be named bd_row_ (the sample has one)
};

/**
 * The row hash for a table: ROW_HASH, or for 'record' with text columns a
 * record of every column (`columns`, in table order) where those are cast to text.
 * Keep in step with the gate's plpgsql (restore/gate.ts) and docs/RECOVERY.md.
 */
export function rowHashSql(method: ChecksumMethod, textColumns: string[] = [], columns: string[] = []): string {
  if (method === 'text' || textColumns.length === 0) return ROW_HASH[method];
  const cast = new Set(textColumns);
  const values = columns.map((c) => (cast.has(c) ? `(bd_row_.${ident(c)})::text COLLATE "C"` : `bd_row_.${ident(c)}`));
  return `hash_record_extended(ROW(${values.join(', ')}), 0)`;
}

export interface TableRef {
  schema: string;
  name: string;
  partitionOf?: string;
  /** How the checksum is computed; absent = 'text' (backups made before 'record' existed). */
  checksumMethod?: ChecksumMethod;
  /** With 'record': columns hashed through their text form. */
  textColumns?: string[];
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
export async function tableStats(client: Client, table: TableRef, source?: string, knownColumns?: string[]): Promise<TableStats> {
  // `source` replaces the table with a subquery (the redacted form of a table with redacted columns).
  const from = source ?? `ONLY ${qualified(table.schema, table.name)}`;
  const method = table.checksumMethod ?? 'text';
  const textColumns = method === 'record' ? (table.textColumns ?? []) : [];
  const columns = textColumns.length ? (knownColumns ?? (await columnNames(client, [table])).get(tableKey(table)) ?? []) : [];
  const { rows } = await client.query<{ rows: string; checksum: string }>(
    `SELECT count(*)::text AS rows, coalesce(sum(${rowHashSql(method, textColumns, columns)}::numeric), 0)::text AS checksum
       FROM ${from} AS bd_row_`,
  );
  const result: TableStats = { schema: table.schema, name: table.name, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
  if (method !== 'text') result.checksumMethod = method;
  if (textColumns.length) result.textColumns = textColumns;
  if (table.partitionOf) result.partitionOf = table.partitionOf;
  return result;
}

/** The columns of each table, in table order (one query for all). */
async function columnNames(client: Client, tables: TableRef[]): Promise<Map<string, string[]>> {
  if (tables.length === 0) return new Map();
  const { rows } = await client.query<{ schema: string; name: string; columns: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS name, array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE a.attrelid = ANY ($1::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
      GROUP BY 1, 2`,
    [tables.map((t) => qualified(t.schema, t.name))],
  );
  return new Map(rows.map((r) => [tableKey(r), r.columns]));
}

/**
 * For 'record' checksums: every table (by tableKey) with the columns whose
 * binary hash would not survive a restore, which are hashed as text. A column
 * hashes as binary when its type, through domains and arrays, is a built-in
 * type with its own default hash opclass that has an extended hash function
 * (so not an enum, composite or other user type, not json/xml/geometric, not a
 * reg* or aclitem that hash OIDs) and its collation is deterministic.
 * Empty before PostgreSQL 14 (no hash_record_extended): every table is 'text'.
 */
export async function textHashedColumns(client: Client, serverVersionNum: number): Promise<Map<string, string[]>> {
  if (serverVersionNum < 140000) return new Map();
  const { rows } = await client.query<{ schema: string; name: string; text_columns: string[] }>(`
    WITH RECURSIVE cols AS (
      SELECT c.oid AS rel, a.attnum, a.attname::text AS attname, a.atttypid AS t, a.attcollation AS coll
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE c.relkind = 'r' AND ${USER_SCHEMAS}
    ), leaf(root, t, depth) AS (
      -- Each distinct column type, followed through domains and array elements (few types, many columns).
      SELECT DISTINCT t, t, 0 FROM cols
      UNION ALL
      SELECT l.root, CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, l.depth + 1
        FROM leaf l JOIN pg_type ty ON ty.oid = l.t
       WHERE l.depth < 16
         AND (ty.typtype = 'd' OR EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid))
    ), unsafe_types AS (
      SELECT DISTINCT l.root FROM leaf l JOIN pg_type ty ON ty.oid = l.t
       WHERE ty.typtype <> 'd' AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid)
         AND (ty.typnamespace <> 'pg_catalog'::regnamespace OR ty.oid = 'aclitem'::regtype
              OR NOT EXISTS (
                SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                  JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amproclefttype = oc.opcintype AND p.amprocnum = 2
                 WHERE am.amname = 'hash' AND oc.opcdefault
                   AND oc.opcintype = CASE ty.oid WHEN 'varchar'::regtype THEN 'text'::regtype WHEN 'cidr'::regtype THEN 'inet'::regtype ELSE ty.oid END))
    ), unsafe AS (
      SELECT rel, attnum FROM cols WHERE t IN (SELECT root FROM unsafe_types)
      UNION
      SELECT rel, attnum FROM cols JOIN pg_collation co ON co.oid = cols.coll WHERE NOT co.collisdeterministic
    )
    SELECT n.nspname AS schema, c.relname AS name, coalesce(x.text_columns, '{}'::text[]) AS text_columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN (SELECT k.rel, array_agg(k.attname ORDER BY k.attnum) AS text_columns
                   FROM cols k JOIN unsafe u ON u.rel = k.rel AND u.attnum = k.attnum GROUP BY k.rel) x ON x.rel = c.oid
     WHERE c.relkind = 'r' AND ${USER_SCHEMAS}`);
  return new Map(rows.map((r) => [tableKey(r), r.text_columns]));
}

/**
 * Gives each table the cheapest checksum that survives a restore: 'record'
 * (with its text-hashed columns) on PostgreSQL 14+, unless its key is in
 * `textOnly` (tables with redacted columns, hashed in their redacted text form).
 */
export async function chooseChecksumMethods(
  client: Client,
  tables: TableRef[],
  serverVersionNum: number,
  textOnly: Set<string> = new Set(),
): Promise<TableRef[]> {
  const plans = await textHashedColumns(client, serverVersionNum);
  return tables.map((t) => {
    const textColumns = plans.get(tableKey(t));
    if (!textColumns || textOnly.has(tableKey(t))) return t;
    return textColumns.length ? { ...t, checksumMethod: 'record' as const, textColumns } : { ...t, checksumMethod: 'record' as const };
  });
}

/** Stats of every table, spread over the given clients (all in the same snapshot). */
export async function collectStats(
  clients: Client[],
  tables: TableRef[],
  sourceOf: (t: TableRef) => string | undefined = () => undefined,
): Promise<TableStats[]> {
  const results: TableStats[] = new Array(tables.length);
  // Column lists for the record hashes with text columns, fetched at once rather than a round trip per table.
  const columns = await columnNames(
    clients[0]!,
    tables.filter((t) => t.checksumMethod === 'record' && t.textColumns?.length),
  );
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < tables.length) {
        const i = next++;
        const table = tables[i]!;
        results[i] = await tableStats(client, table, sourceOf(table), columns.get(tableKey(table)));
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
