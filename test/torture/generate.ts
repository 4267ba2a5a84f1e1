// Generic test data for any schema: rows that respect NOT NULL, foreign keys,
// CHECK and UNIQUE, so a real application's schema can be backed up full.
//
// Tables are filled parents first (topological order by foreign keys); a foreign
// key takes the referenced columns of an existing parent row; values come from
// the column's type, unique by construction (a row counter is in every value);
// CHECK constraints lend their literals as candidate values. A row the database
// still rejects is retried with other values, then skipped; a table that got no
// row is reported with the last error. Cycles: nullable references start NULL,
// and unfilled tables get a second pass once their parents have rows.
import { createHash } from 'node:crypto';
import type { Client } from '../../src/postgres/connect.js';

export interface Column {
  name: string;
  notNull: boolean;
  /** A sequence or identity fills it: leave it out of the INSERT. */
  autoFilled: boolean;
  /** A generated column: never written. */
  generated: boolean;
  hasDefault: boolean;
  base: string;
  category: string;
  typtype: string;
  element?: string;
  typmod: number;
  enumLabels: string[];
}

interface Table {
  oid: number;
  qname: string;
  label: string;
  columns: Column[];
  foreignKeys: { columns: string[]; parent: number; parentColumns: string[] }[];
  checkLiterals: Map<string, string[]>;
}

export interface FillResult {
  tables: number;
  filled: number;
  rows: number;
  /** Tables left empty, with the reason (the last error, or why no row could be built). */
  unfilled: { table: string; reason: string }[];
}

export async function fillDatabase(client: Client, options: { rowsPerTable?: number; skip?: (table: string) => boolean } = {}): Promise<FillResult> {
  const rowsPerTable = options.rowsPerTable ?? 20;
  const tables = (await loadTables(client)).filter((t) => !options.skip?.(t.label));
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const parentRows = new Map<number, Record<string, unknown>[]>();
  const lastError = new Map<number, string>();
  let rows = 0;

  const fill = async (table: Table) => {
    const inserted = await fillTable(client, table, rowsPerTable, parentRows, byOid, (e) => lastError.set(table.oid, e));
    rows += inserted;
    if (inserted > 0) lastError.delete(table.oid);
    await refreshParentRows(client, table, parentRows, tables);
  };
  const order = topologicalOrder(tables);
  for (const table of order) await fill(table);
  // Second pass: tables whose parent (in a cycle, or filled later) had no rows yet.
  for (const table of order) if ((parentRows.get(table.oid)?.length ?? (await countRows(client, table))) === 0) await fill(table);

  const unfilled: FillResult['unfilled'] = [];
  for (const t of tables) {
    if ((await countRows(client, t)) === 0) unfilled.push({ table: t.label, reason: lastError.get(t.oid) ?? 'no row could be built' });
  }
  return { tables: tables.length, filled: tables.length - unfilled.length, rows, unfilled };
}

async function countRows(client: Client, t: Table): Promise<number> {
  return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.qname}`)).rows[0]!.n);
}

async function loadTables(client: Client): Promise<Table[]> {
  const tables = await client.query<{ oid: number; qname: string; label: string }>(
    `SELECT c.oid::int, format('%I.%I', n.nspname, c.relname) AS qname, n.nspname || '.' || c.relname AS label
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 3`,
  );
  const columns = await client.query<Column & { relid: number }>(
    `SELECT a.attrelid::int AS relid, a.attname AS name, a.attnotnull AS "notNull",
            (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%') AS "autoFilled",
            a.attgenerated <> '' AS generated, a.atthasdef AS "hasDefault",
            b.typname AS base, b.typcategory AS category, b.typtype AS typtype, e.typname AS element,
            CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
            coalesce((SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = coalesce(e.oid, b.oid)), '{}') AS "enumLabels"
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
       LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
  );
  const fks = await client.query<{ relid: number; parent: number; columns: string[]; parent_columns: string[] }>(
    `SELECT c.conrelid::int AS relid, c.confrelid::int AS parent,
            array(SELECT attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i) AS columns,
            array(SELECT attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i) AS parent_columns
       FROM pg_constraint c WHERE c.contype = 'f'`,
  );
  const checks = await client.query<{ relid: number; columns: string[]; def: string }>(
    `SELECT c.conrelid::int AS relid, pg_get_constraintdef(c.oid) AS def,
            array(SELECT attname::text FROM unnest(c.conkey) k(n) JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n) AS columns
       FROM pg_constraint c WHERE c.contype = 'c' AND c.conrelid <> 0`,
  );
  return tables.rows.map((t) => {
    const checkLiterals = new Map<string, string[]>();
    for (const c of checks.rows.filter((c) => c.relid === t.oid && c.columns.length === 1)) {
      const literals = [...c.def.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));
      const numbers = [...c.def.replace(/'(?:[^']|'')*'/g, '').matchAll(/(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])/g)].map((m) => m[0]);
      checkLiterals.set(c.columns[0]!, [...(checkLiterals.get(c.columns[0]!) ?? []), ...literals, ...numbers]);
    }
    return {
      ...t,
      columns: columns.rows.filter((c) => c.relid === t.oid),
      foreignKeys: fks.rows.filter((f) => f.relid === t.oid).map((f) => ({ columns: f.columns, parent: f.parent, parentColumns: f.parent_columns })),
      checkLiterals,
    };
  });
}

function topologicalOrder(tables: Table[]): Table[] {
  const pending = new Map(
    tables.map((t) => [t.oid, new Set(t.foreignKeys.map((f) => f.parent).filter((p) => p !== t.oid && tables.some((x) => x.oid === p)))]),
  );
  const order: Table[] = [];
  while (pending.size) {
    const ready = tables.filter((t) => pending.get(t.oid)?.size === 0);
    // A cycle: take the table with the fewest unmet parents; its references start NULL.
    const next = ready.length ? ready : [tables.filter((t) => pending.has(t.oid)).sort((a, b) => pending.get(a.oid)!.size - pending.get(b.oid)!.size)[0]!];
    for (const t of next) {
      order.push(t);
      pending.delete(t.oid);
      for (const deps of pending.values()) deps.delete(t.oid);
    }
  }
  return order;
}

async function refreshParentRows(client: Client, table: Table, parentRows: Map<number, Record<string, unknown>[]>, tables: Table[]): Promise<void> {
  const wanted = new Set(tables.flatMap((t) => t.foreignKeys.filter((f) => f.parent === table.oid).flatMap((f) => f.parentColumns)));
  if (!wanted.size) {
    parentRows.set(table.oid, [{}]);
    const n = await countRows(client, table);
    if (n === 0) parentRows.set(table.oid, []);
    return;
  }
  const cols = [...wanted].map((c) => `${quoteIdent(c)}::text AS ${quoteIdent(c)}`).join(', ');
  parentRows.set(table.oid, (await client.query(`SELECT ${cols} FROM ${table.qname} LIMIT 500`)).rows);
}

async function fillTable(
  client: Client,
  table: Table,
  count: number,
  parentRows: Map<number, Record<string, unknown>[]>,
  byOid: Map<number, Table>,
  onError: (message: string) => void,
): Promise<number> {
  const written = table.columns.filter((c) => !c.generated && !c.autoFilled);
  let inserted = 0;
  for (let i = 0; i < count; i++) {
    for (let attempt = 0; attempt < 6; attempt++) {
      const row = buildRow(table, written, i, attempt, parentRows, byOid);
      if (typeof row === 'string') {
        onError(row);
        return inserted; // no parent rows: no other row can do better
      }
      const names = Object.keys(row);
      const sql = names.length
        ? `INSERT INTO ${table.qname} (${names.map(quoteIdent).join(', ')}) VALUES (${names.map((_, k) => `$${k + 1}`).join(', ')})`
        : `INSERT INTO ${table.qname} DEFAULT VALUES`;
      try {
        await client.query(sql, Object.values(row));
        inserted++;
        break;
      } catch (error) {
        onError((error as Error).message);
      }
    }
  }
  return inserted;
}

function buildRow(
  table: Table,
  written: Column[],
  i: number,
  attempt: number,
  parentRows: Map<number, Record<string, unknown>[]>,
  byOid: Map<number, Table>,
): Record<string, unknown> | string {
  const seed = i + 1 + attempt * 7919 + ((table.oid * 13) % 1000) * 100000;
  const row: Record<string, unknown> = {};
  const fromForeignKey = new Set<string>();
  table.foreignKeys.forEach((fk, k) => {
    const candidates = parentRows.get(fk.parent) ?? [];
    const nullable = fk.columns.every((c) => !table.columns.find((x) => x.name === c)?.notNull);
    if (!candidates.length || (fk.parent === table.oid && nullable && i % 3 === 0)) {
      if (!nullable) return;
      for (const c of fk.columns) if (!fromForeignKey.has(c)) row[c] = null;
      for (const c of fk.columns) fromForeignKey.add(c);
      return;
    }
    const parent = candidates[(i + attempt + k * 3) % candidates.length]!;
    fk.columns.forEach((c, j) => {
      if (fromForeignKey.has(c)) return;
      row[c] = parent[fk.parentColumns[j]!];
      fromForeignKey.add(c);
    });
  });
  for (const fk of table.foreignKeys) {
    const notNull = fk.columns.some((c) => table.columns.find((x) => x.name === c)?.notNull);
    if (notNull && !fk.columns.every((c) => fromForeignKey.has(c))) {
      return `no row in the referenced table ${byOid.get(fk.parent)?.label ?? fk.parent} for the NOT NULL foreign key (${fk.columns.join(', ')})`;
    }
  }
  for (const column of written) {
    if (fromForeignKey.has(column.name)) continue;
    const literals = table.checkLiterals.get(column.name);
    if (literals?.length && attempt % 2 === 0) {
      row[column.name] = literals[(i + attempt) % literals.length];
      continue;
    }
    const value = valueFor(column, seed);
    if (value === undefined) {
      if (column.hasDefault) continue;
      if (column.notNull) return `no value generator for type ${column.base} (column ${column.name})`;
      row[column.name] = null;
    } else row[column.name] = value;
  }
  return row;
}

/** A value of the column's type, unique for the seed; undefined when the type is unknown here. */
export function valueFor(
  column: Pick<Column, 'base' | 'category' | 'typtype' | 'element' | 'typmod' | 'enumLabels' | 'name'>,
  seed: number,
): string | undefined {
  if (column.category === 'A') {
    if (!column.element) return '{}';
    const element = valueFor({ ...column, base: column.element, category: '', typtype: 'b', element: undefined, typmod: -1 }, seed);
    return element === undefined ? '{}' : `{"${element.replace(/["\\]/g, '\\$&')}"}`;
  }
  if (column.typtype === 'e' || column.enumLabels.length) return column.enumLabels[seed % column.enumLabels.length];
  // Within a few years of 2021 whatever the seed (years past 9999 do not parse).
  const when = new Date(Date.UTC(2021, 0, 1) + (seed % 50_000) * 3_600_500 + (seed % 1000) * 1000);
  switch (column.base) {
    case 'int2':
      return String((seed % 32000) + 1);
    case 'int4':
    case 'oid':
      return String(seed % 2_000_000_000);
    case 'int8':
      return String(seed);
    case 'numeric':
      return numeric(column.typmod, seed);
    case 'float4':
      return String(Math.fround(seed / 7));
    case 'float8':
      return String(seed / 3);
    case 'money':
      return `${seed % 100000}.25`;
    case 'bool':
      return seed % 2 ? 'true' : 'false';
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
    case 'citext':
      return text(column.name, column.base === 'name' ? 63 : column.typmod > 4 ? column.typmod - 4 : 40, seed);
    case 'bytea':
      return `\\x${createHash('sha1').update(String(seed)).digest('hex')}`;
    case 'date':
      return when.toISOString().slice(0, 10);
    case 'timestamp':
    case 'timestamptz':
      return `${when.toISOString().slice(0, 19).replace('T', ' ')}.${String(seed % 1_000_000).padStart(6, '0')}${column.base === 'timestamptz' ? '+00' : ''}`;
    case 'time':
    case 'timetz':
      return when.toISOString().slice(11, 19);
    case 'interval':
      return `${seed % 100000} minutes`;
    case 'uuid': {
      const h = createHash('md5').update(String(seed)).digest('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    case 'json':
    case 'jsonb':
      return JSON.stringify({ n: seed, s: `v${seed}`, f: seed / 3 });
    case 'inet':
    case 'cidr':
      return `10.${(seed >> 16) & 255}.${(seed >> 8) & 255}.${seed & 255}/32`;
    case 'macaddr':
      return `08:00:2b:${hex2(seed >> 16)}:${hex2(seed >> 8)}:${hex2(seed)}`;
    case 'tsvector':
      return `word${seed} other`;
    case 'xml':
      return `<v n="${seed}"/>`;
    case 'bit':
      return (seed % 2 ? '1' : '0').repeat(Math.max(column.typmod, 1));
    case 'varbit':
      return (seed >>> 0).toString(2);
    case 'point':
      return `(${seed},${seed / 3})`;
    default:
      return undefined;
  }
}

function hex2(n: number): string {
  return (n & 255).toString(16).padStart(2, '0');
}

function numeric(typmod: number, seed: number): string {
  if (typmod < 4) return `${seed}.${seed % 1000}`;
  const precision = ((typmod - 4) >> 16) & 0xffff;
  const scale = (typmod - 4) & 0xffff;
  const digits = Math.min(precision - scale, 9);
  const whole = digits > 0 ? seed % 10 ** digits : 0;
  return scale > 0 ? `${whole}.${String(seed % 10 ** Math.min(scale, 6)).padStart(Math.min(scale, 6), '0')}` : String(whole);
}

function text(column: string, max: number, seed: number): string {
  const value = `${seed.toString(36)}-${column}`;
  return value.slice(0, Math.max(1, max));
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
