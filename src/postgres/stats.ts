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
// Format 3 hashes the columns in a canonical order (by name, C collation,
// recorded in `columns`), because a restore may reorder an inheritance
// child's columns, and leaves out the columns whose value does not survive
// pg_dump exactly (`unverifiableColumns`). Text forms depend on session
// settings, which every hashing session pins (CHECKSUM_SETTINGS, recorded in
// the manifest). Partitioned tables are recorded through their leaf
// partitions (which hold the rows).
import { createHash } from 'node:crypto';
import type { Client } from './connect.js';
import { ident, qualified } from './connect.js';
import type { ChecksumMethod, ChecksumSettingName, TableStats, UnverifiableColumn } from '../archive/manifest.js';

/**
 * The session settings every format-3 checksum is computed and compared under:
 * each one changes the text form of some value. search_path: reg* values
 * print qualified or not through it (and a database or role may set it);
 * quote_all_identifiers: the same values' quoting; lc_monetary: money;
 * extra_float_digits 3: floats (and extension types printing floats) at
 * full precision, as pg_dump writes them; the date, interval and bytea styles.
 * lc_numeric, xmlbinary and xmloption change no stored value's output today;
 * pinned so a future one cannot drift. Recorded as Manifest.checksumSettings.
 */
export const CHECKSUM_SETTINGS: Readonly<Record<ChecksumSettingName, string>> = {
  search_path: '',
  quote_all_identifiers: 'off',
  TimeZone: 'UTC',
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
  lc_monetary: 'C',
  lc_numeric: 'C',
  xmlbinary: 'base64',
  xmloption: 'content',
  client_encoding: 'UTF8',
};

/** What formats 1-2 pinned (no search_path, floats at extra_float_digits 1): their checksums are compared under these. */
export const LEGACY_CHECKSUM_SETTINGS: Readonly<Record<string, string>> = {
  TimeZone: 'UTC',
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  extra_float_digits: '1',
  bytea_output: 'hex',
  lc_monetary: 'C',
  client_encoding: 'UTF8',
};

/** The settings a manifest's checksums were computed under. */
export function checksumSettingsOf(manifest: { checksumSettings?: Record<string, string> }): Readonly<Record<string, string>> {
  return manifest.checksumSettings ?? LEGACY_CHECKSUM_SETTINGS;
}

/** Sets `settings` for the rest of the session (or of the open transaction, if it rolls back). */
export async function pinChecksumSettings(client: Client, settings: Readonly<Record<string, string>>): Promise<void> {
  const entries = Object.entries(settings);
  if (!entries.length) return;
  await client.query(`SELECT ${entries.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ')}`, entries.flat());
}

/** The whole-row hash of each method, over the row alias `bd_row_` (formats 1-2, and tables with no column list). */
export const ROW_HASH: Record<ChecksumMethod, string> = {
  text: 'hashtextextended(ROW(bd_row_.*)::text, 0)',
  record: 'hash_record_extended(bd_row_.*, 0)', // .*: a column may be named bd_row_ (the sample has one)
};

/**
 * The row hash for a table. With `canonical` (format 3: the recorded column
 * list, in its order) every listed column, text columns cast to text. Without
 * it (formats 1-2): ROW_HASH, or for 'record' with text columns a record of
 * every column (`columns`, in table order) where those are cast to text.
 * Keep in step with the gate (restore/gate.ts) and docs/RECOVERY.md.
 */
export function rowHashSql(method: ChecksumMethod, textColumns: string[] = [], columns: string[] = [], canonical?: string[]): string {
  const cast = new Set(method === 'record' ? textColumns : []);
  const value = (c: string) => (cast.has(c) ? `(bd_row_.${ident(c)})::text COLLATE "C"` : `bd_row_.${ident(c)}`);
  if (canonical) {
    const row = `ROW(${canonical.map(value).join(', ')})`;
    return method === 'text' ? `hashtextextended(${row}::text, 0)` : `hash_record_extended(${row}, 0)`;
  }
  if (method === 'text' || textColumns.length === 0) return ROW_HASH[method];
  return `hash_record_extended(ROW(${columns.map(value).join(', ')}), 0)`;
}

export interface TableRef {
  schema: string;
  name: string;
  partitionOf?: string;
  /** How the checksum is computed; absent = 'text' (backups made before 'record' existed). */
  checksumMethod?: ChecksumMethod;
  /** With 'record': columns hashed through their text form. */
  textColumns?: string[];
  /** Format 3: the hashed columns, in hashing order (canonical). Absent: formats 1-2, the table's own order. */
  columns?: string[];
  /** Format 3: columns left out of the hash (not verifiable). */
  unverifiableColumns?: UnverifiableColumn[];
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
  const legacyColumns = !table.columns && textColumns.length ? (knownColumns ?? (await columnNames(client, [table])).get(tableKey(table)) ?? []) : [];
  const { rows } = await client.query<{ rows: string; checksum: string }>(
    `SELECT count(*)::text AS rows, coalesce(sum(${rowHashSql(method, textColumns, legacyColumns, table.columns)}::numeric), 0)::text AS checksum
       FROM ${from} AS bd_row_`,
  );
  const result: TableStats = { schema: table.schema, name: table.name, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
  if (method !== 'text') result.checksumMethod = method;
  if (textColumns.length) result.textColumns = textColumns;
  if (table.partitionOf) result.partitionOf = table.partitionOf;
  if (table.columns) result.columns = table.columns;
  if (table.unverifiableColumns?.length) result.unverifiableColumns = table.unverifiableColumns;
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

interface ColumnInfo {
  name: string;
  /** format_type, qualified when not in pg_catalog (search_path is empty in hashing sessions). */
  type: string;
  /** Its type is not built in (through domains and arrays; enums excepted), so its text form may not read back exactly. */
  foreign: boolean;
}

/**
 * Every table's columns in the canonical hashing order: by name, compared
 * byte-wise (C collation), which no restore can change. One query for all.
 */
async function canonicalColumns(client: Client, tables: TableRef[]): Promise<Map<string, ColumnInfo[]>> {
  if (tables.length === 0) return new Map();
  const { rows } = await client.query<{ schema: string; name: string; columns: ColumnInfo[] }>(
    `WITH RECURSIVE cols AS (
       SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod FROM pg_attribute a
        WHERE a.attrelid = ANY ($1::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
     ), leaf(root, t, depth) AS (
       SELECT DISTINCT atttypid, atttypid, 0 FROM cols
       UNION ALL
       SELECT l.root, CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, l.depth + 1
         FROM leaf l JOIN pg_type ty ON ty.oid = l.t
        WHERE l.depth < 16 AND (ty.typtype = 'd' OR EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid))
     ), foreign_types AS (
       SELECT DISTINCT l.root FROM leaf l JOIN pg_type ty ON ty.oid = l.t
        WHERE ty.typtype NOT IN ('d', 'e') AND ty.typnamespace <> 'pg_catalog'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid)
     )
     SELECT n.nspname AS schema, c.relname AS name,
            json_agg(json_build_object('name', k.attname, 'type', format_type(k.atttypid, k.atttypmod),
                                       'foreign', k.atttypid IN (SELECT root FROM foreign_types))
                     ORDER BY k.attname COLLATE "C") AS columns
       FROM cols k JOIN pg_class c ON c.oid = k.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      GROUP BY 1, 2`,
    [tables.map((t) => qualified(t.schema, t.name))],
  );
  return new Map(rows.map((r) => [tableKey(r), r.columns]));
}

/**
 * The columns (of `candidates`) whose text form does not survive the round
 * trip a restore makes, input(output(v)), on some row of this snapshot:
 * exactly what the text hash would see after pg_dump (which writes the same
 * text under the same settings). Run in a savepoint: a type whose output does
 * not even read back is unverifiable too, and must not abort the backup.
 */
async function unverifiableColumns(client: Client, from: string, candidates: ColumnInfo[]): Promise<UnverifiableColumn[]> {
  if (candidates.length === 0) return [];
  const drifts = (c: ColumnInfo) =>
    `coalesce(bool_or(((bd_row_.${ident(c.name)})::text)::${c.type}::text IS DISTINCT FROM (bd_row_.${ident(c.name)})::text), false)`;
  const test = async (cols: ColumnInfo[]): Promise<boolean[]> => {
    await client.query('SAVEPOINT bd_round_trip');
    try {
      const { rows } = await client.query({ text: `SELECT ${cols.map(drifts).join(', ')} FROM ${from} AS bd_row_`, rowMode: 'array' });
      await client.query('RELEASE SAVEPOINT bd_round_trip');
      return rows[0] as boolean[];
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT bd_round_trip');
      throw error;
    }
  };
  const lossy = (c: ColumnInfo): UnverifiableColumn => ({ column: c.name, type: c.type, reason: `${c.type} loses precision through pg_dump` });
  try {
    const drifted = await test(candidates);
    return candidates.filter((_, i) => drifted[i]).map(lossy);
  } catch {
    // One column's text does not read back: find which, one at a time.
    const out: UnverifiableColumn[] = [];
    for (const c of candidates) {
      try {
        if ((await test([c]))[0]) out.push(lossy(c));
      } catch (error) {
        out.push({ column: c.name, type: c.type, reason: `${c.type} does not read back its own text form (${(error as Error).message})` });
      }
    }
    return out;
  }
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

/**
 * A table's format-3 hashing plan, at backup time: all its columns in
 * canonical order, less those whose text form does not survive pg_dump
 * (tested among the text-hashed columns of types that are not built in).
 */
async function planTable(client: Client, table: TableRef, all: ColumnInfo[], source: string | undefined): Promise<TableRef> {
  // Every column of a 'text' table is hashed as text; of a 'record' table, its text columns.
  const text = new Set(table.checksumMethod === 'record' ? (table.textColumns ?? []) : all.map((c) => c.name));
  const from = source ?? `ONLY ${qualified(table.schema, table.name)}`;
  const lost = await unverifiableColumns(
    client,
    from,
    all.filter((c) => c.foreign && text.has(c.name)),
  );
  const dropped = new Set(lost.map((u) => u.column));
  const columns = all.map((c) => c.name).filter((c) => !dropped.has(c));
  const textColumns = table.textColumns?.filter((c) => !dropped.has(c));
  const { textColumns: _, ...rest } = table;
  return { ...rest, ...(textColumns?.length ? { textColumns } : {}), columns, ...(lost.length ? { unverifiableColumns: lost } : {}) };
}

export interface CollectOptions {
  /** Pinned on every client first: CHECKSUM_SETTINGS at backup, the manifest's at verification. */
  settings?: Readonly<Record<string, string>>;
  /**
   * Backup (format 3): hash every table's columns in canonical order and leave
   * out those whose value does not survive pg_dump. Needs the clients inside a
   * transaction (the snapshot's), for the savepoints of that test.
   */
  plan?: boolean;
}

/** Stats of every table, spread over the given clients (all in the same snapshot). */
export async function collectStats(
  clients: Client[],
  tables: TableRef[],
  sourceOf: (t: TableRef) => string | undefined = () => undefined,
  options: CollectOptions = {},
): Promise<TableStats[]> {
  const results = await collectStatsSettled(clients, tables, sourceOf, options, false);
  return results as TableStats[];
}

/**
 * collectStats, where a table whose query fails gets its error in its place
 * (with `settle`), so one table that cannot be hashed does not hide the others.
 */
export async function collectStatsSettled(
  clients: Client[],
  tables: TableRef[],
  sourceOf: (t: TableRef) => string | undefined = () => undefined,
  options: CollectOptions = {},
  settle = true,
): Promise<Array<TableStats | Error>> {
  if (options.settings) for (const c of clients) await pinChecksumSettings(c, options.settings);
  const results: Array<TableStats | Error> = new Array(tables.length);
  // Column lists, fetched at once rather than a round trip per table: canonical ones to plan (backup),
  // physical ones for formats 1-2 record hashes with text columns.
  const canonical = options.plan ? await canonicalColumns(clients[0]!, tables) : new Map<string, ColumnInfo[]>();
  const columns = await columnNames(
    clients[0]!,
    tables.filter((t) => !t.columns && !options.plan && t.checksumMethod === 'record' && t.textColumns?.length),
  );
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < tables.length) {
        const i = next++;
        const table = tables[i]!;
        const source = sourceOf(table);
        try {
          const ref = options.plan ? await planTable(client, table, canonical.get(tableKey(table)) ?? [], source) : table;
          results[i] = await tableStats(client, ref, source, columns.get(tableKey(table)));
        } catch (error) {
          if (!settle) throw error;
          results[i] = error instanceof Error ? error : new Error(String(error));
        }
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
