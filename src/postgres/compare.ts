// Compares a restored database with the manifest: every table's row count
// and content checksum, plus tables that are missing or unexpected. Shared by
// the drill and the restore's post-restore verification.
//
// Verdicts per table: passed; failed (the restored rows differ from the
// record); not verified, for a format 1-2 checksum that a legitimate
// difference of the restore changes (legacyUnverifiableSql). A format-3
// table's unverifiable columns (recorded at backup time) are named in
// `notVerifiable`; the rest of the table is compared exactly.
import type { Manifest } from '../archive/manifest.js';
import type { TableResult } from '../report/types.js';
import { connect, type Client } from './connect.js';
import { checksumSettingsOf, collectStatsSettled, listTables } from './stats.js';

/** Types whose text form names objects through search_path (qualified or not): their format 1-2 checksums depend on it. */
const SEARCH_PATH_TYPES = ['regclass', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regtype', 'regconfig', 'regdictionary', 'regcollation'];

/**
 * SQL (one text value, or NULL) saying why a format 1-2 checksum of the table
 * `rel` (a regclass expression) cannot be reproduced after a restore:
 * - an inheritance child (not a partition: pg_dump attaches those and keeps
 *   their order): pg_dump recreates it with the parent's columns first, so a
 *   column the parent gained later moves, and those checksums hashed the row
 *   in table order;
 * - a reg* column (through domains and arrays): those checksums hashed its
 *   text under the session's search_path, which was not pinned and which a
 *   database or role setting changes (and pg_dump does not carry to a drill).
 * Only asked when the row count matched and the checksum did not.
 */
export function legacyUnverifiableSql(rel: string): string {
  return `NULLIF(concat_ws('; ',
    CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
                       WHERE i.inhrelid = ${rel} AND NOT k.relispartition)
         THEN 'an inheritance child, whose columns a restore may reorder' END,
    (SELECT 'its ' || string_agg(DISTINCT r.typname::text, ', ') || ' values print through search_path'
       FROM pg_catalog.pg_attribute a
       CROSS JOIN LATERAL (
         WITH RECURSIVE bd_types(oid, depth) AS (
           SELECT a.atttypid, 0
           UNION ALL
           SELECT CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, bd_types.depth + 1
             FROM bd_types JOIN pg_catalog.pg_type ty ON ty.oid = bd_types.oid
            WHERE bd_types.depth < 8 AND (ty.typtype = 'd' OR ty.typcategory = 'A'))
         SELECT ty.typname FROM bd_types JOIN pg_catalog.pg_type ty ON ty.oid = bd_types.oid
          WHERE ty.typnamespace = 'pg_catalog'::pg_catalog.regnamespace
            AND ty.typname = ANY (ARRAY[${SEARCH_PATH_TYPES.map((t) => `'${t}'`).join(', ')}]::name[])) r
      WHERE a.attrelid = ${rel} AND a.attnum > 0 AND NOT a.attisdropped)), '')`;
}

/** The note for a format-1/2 table that cannot be verified, e.g. "not verifiable (format 2 checksum): …". */
export function legacyNote(formatVersion: number, reason: string): string {
  return `not verifiable (format ${formatVersion} checksum): ${reason}; the row count matches`;
}

export async function compareTables(
  targetUrl: string,
  manifest: Pick<Manifest, 'tables'> & Partial<Pick<Manifest, 'formatVersion' | 'checksumSettings'>>,
  jobs: number,
): Promise<{ tables: TableResult[]; unexpected: string[] }> {
  const clients = [];
  try {
    for (let i = 0; i < Math.max(1, Math.min(jobs, 4)); i++) clients.push(await connect(targetUrl, { inputName: 'drill-database-url' }));
    const present = await listTables(clients[0]!);
    const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
    const presentKeys = new Set(present.map(key));
    // Each table is hashed the way the backup hashed it (TableStats carries the method, columns and settings).
    const expected = manifest.tables.filter((t) => presentKeys.has(key(t)));
    const stats = await collectStatsSettled(clients, expected, undefined, { settings: checksumSettingsOf(manifest) });
    const byKey = new Map(expected.map((t, i) => [key(t), stats[i]!]));
    const tables: TableResult[] = [];
    for (const t of manifest.tables) {
      const got = byKey.get(key(t));
      const base = { schema: t.schema, name: t.name, expectedRows: t.rows, expectedChecksum: t.checksum };
      const notes = (t.unverifiableColumns ?? []).map((u) => `${u.column}: not verifiable: ${u.reason}`);
      const notVerifiable = notes.length ? { notVerifiable: notes } : {};
      if (!got) {
        tables.push({ ...base, restoredRows: null, restoredChecksum: null, status: 'failed', message: 'missing after restore' });
      } else if (got instanceof Error) {
        // A recorded column missing after the restore, or a value that no longer casts: this table could not be hashed.
        const message = `could not be hashed as the backup recorded it: ${got.message}`;
        tables.push({ ...base, restoredRows: null, restoredChecksum: null, status: 'failed', message, ...notVerifiable });
      } else if (got.rows !== t.rows) {
        tables.push({
          ...base,
          restoredRows: got.rows,
          restoredChecksum: got.checksum,
          status: 'failed',
          message: `expected ${t.rows} rows, restored ${got.rows}`,
        });
      } else if (got.checksum !== t.checksum) {
        const reason = t.columns ? null : await legacyReason(clients[0]!, t);
        tables.push(
          reason
            ? {
                ...base,
                restoredRows: got.rows,
                restoredChecksum: got.checksum,
                status: 'not-verified',
                message: legacyNote(manifest.formatVersion ?? 1, reason),
              }
            : {
                ...base,
                restoredRows: got.rows,
                restoredChecksum: got.checksum,
                status: 'failed',
                message: 'same row count, different content checksum',
                ...notVerifiable,
              },
        );
      } else {
        tables.push({ ...base, restoredRows: got.rows, restoredChecksum: got.checksum, status: 'passed', ...notVerifiable });
      }
    }
    const manifestKeys = new Set(manifest.tables.map(key));
    const unexpected = present.map(key).filter((k) => !manifestKeys.has(k));
    return { tables, unexpected };
  } finally {
    for (const c of clients) await c.end().catch(() => undefined);
  }
}

async function legacyReason(client: Client, t: { schema: string; name: string }): Promise<string | null> {
  const { rows } = await client.query<{ reason: string | null }>(
    `SELECT ${legacyUnverifiableSql(`pg_catalog.format('%I.%I', $1::text, $2::text)::pg_catalog.regclass`)} AS reason`,
    [t.schema, t.name],
  );
  return rows[0]?.reason ?? null;
}
