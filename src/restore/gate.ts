// The in-transaction verification: after the script ran and before COMMIT,
// every restored table's row count and content checksum are compared with the
// manifest inside the same transaction. Any difference raises an error, psql
// stops (ON_ERROR_STOP), and the transaction is rolled back: the target only
// ever commits data that matches the backup's record.
//
// Each table is hashed with its recorded method, using the same row-hash
// expressions as postgres/stats.ts (ROW_HASH).
import type { Manifest, TableStats } from '../archive/manifest.js';
import { PINNED_SETTINGS } from '../postgres/connect.js';
import { ROW_HASH } from '../postgres/stats.js';
import { redactedTableKeys } from './tables.js';

export const GATE_MARK = 'backup-drill: restored data does not match the backup';

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * SQL that checks `tables` (as restored under `schemaOf(t)`) against their
 * recorded stats. Tables with redacted columns are checked by row count only.
 */
export function gateSql(tables: TableStats[], manifest: Pick<Manifest, 'redactions'>, schemaOf: (t: TableStats) => string = (t) => t.schema): string {
  if (tables.length === 0) return '';
  const redacted = redactedTableKeys(manifest);
  const rows = tables.map(
    (t) =>
      `(${literal(schemaOf(t))}, ${literal(t.name)}, ${t.rows}::bigint, ${literal(t.checksum)}, ${redacted.has(`${t.schema}.${t.name}`) ? 'false' : 'true'}, ` +
      `${literal(t.checksumMethod ?? 'text')}, ARRAY[${(t.textColumns ?? []).map(literal).join(', ')}]::text[])`,
  );
  const settings = Object.entries(PINNED_SETTINGS)
    .map(([k, v]) => `SET ${k} = ${literal(v)};`)
    .join('\n');
  return `
RESET search_path;
${settings}
DO $bd_gate$
DECLARE
  t record;
  got_rows bigint;
  got_sum text;
  row_hash text;
  bad text := '';
  n int := 0;
BEGIN
  FOR t IN SELECT * FROM (VALUES
    ${rows.join(',\n    ')}
  ) AS v(s, name, rows, checksum, content, method, text_cols) LOOP
    IF to_regclass(format('%I.%I', t.s, t.name)) IS NULL THEN
      bad := bad || format(E'\\n  %I.%I: missing', t.s, t.name); n := n + 1;
      CONTINUE;
    END IF;
    -- The row hash as postgres/stats.ts rowHashSql builds it.
    IF t.method = 'record' AND cardinality(t.text_cols) > 0 THEN
      SELECT 'hash_record_extended(ROW(' || string_agg(
               CASE WHEN a.attname = ANY (t.text_cols) THEN format('(bd_row_.%I)::text COLLATE "C"', a.attname) ELSE format('bd_row_.%I', a.attname) END,
               ', ' ORDER BY a.attnum) || '), 0)'
        INTO row_hash
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = format('%I.%I', t.s, t.name)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    ELSIF t.method = 'record' THEN
      row_hash := ${literal(ROW_HASH.record)};
    ELSE
      row_hash := ${literal(ROW_HASH.text)};
    END IF;
    EXECUTE format('SELECT count(*), coalesce(sum(%s::numeric), 0)::text FROM ONLY %I.%I AS bd_row_', row_hash, t.s, t.name)
      INTO got_rows, got_sum;
    IF got_rows <> t.rows THEN
      bad := bad || format(E'\\n  %I.%I: expected %s rows, restored %s', t.s, t.name, t.rows, got_rows); n := n + 1;
    ELSIF t.content AND got_sum <> t.checksum THEN
      bad := bad || format(E'\\n  %I.%I: same row count, different content checksum', t.s, t.name); n := n + 1;
    END IF;
  END LOOP;
  IF n > 0 THEN
    RAISE EXCEPTION '${GATE_MARK} (% table(s)):%', n, bad;
  END IF;
END
$bd_gate$;
`;
}
