// The in-transaction verification: after the script ran and before COMMIT,
// every restored table's row count and content checksum are compared with the
// manifest inside the same transaction. Any difference raises an error, psql
// stops (ON_ERROR_STOP), and the transaction is rolled back: the target only
// ever commits data that matches the backup's record.
//
// Each table is hashed with its recorded method and columns, under the
// settings its checksum was computed with, using the same row-hash
// expressions as postgres/stats.ts (rowHashSql). Two kinds of problems, told
// apart in the error: the restored data differs from the record (the backup
// is corrupt), or a table could not be hashed as recorded (the verification
// could not reproduce it). A format 1-2 checksum that a restore legitimately
// changes (postgres/compare.ts legacyUnverifiableSql) is neither: a notice.
import type { Manifest, TableStats } from '../archive/manifest.js';
import { IntegrityError } from '../errors.js';
import { legacyNote, legacyUnverifiableSql } from '../postgres/compare.js';
import { ROW_HASH, checksumSettingsOf, rowHashSql } from '../postgres/stats.js';
import { redactedTableKeys } from './tables.js';

export const GATE_MARK = 'backup-drill: restored data does not match the backup';
/** Counts in the gate's error, which gateFailure reads back. */
const COUNTS = /(\d+) differ from the record, (\d+) could not be reproduced/;

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function textArray(items: string[] | undefined): string {
  return items ? `ARRAY[${items.map(literal).join(', ')}]::text[]` : 'NULL::text[]';
}

/**
 * SQL that checks `tables` (as restored under `schemaOf(t)`) against their
 * recorded stats. Tables with redacted columns are checked by row count only.
 */
export function gateSql(
  tables: TableStats[],
  manifest: Pick<Manifest, 'redactions'> & Partial<Pick<Manifest, 'formatVersion' | 'checksumSettings'>>,
  schemaOf: (t: TableStats) => string = (t) => t.schema,
): string {
  if (tables.length === 0) return '';
  const redacted = redactedTableKeys(manifest);
  const rows = tables.map(
    (t) =>
      `(${literal(schemaOf(t))}, ${literal(t.name)}, ${t.rows}::bigint, ${literal(t.checksum)}, ${redacted.has(`${t.schema}.${t.name}`) ? 'false' : 'true'}, ` +
      `${literal(t.checksumMethod ?? 'text')}, ${textArray(t.textColumns ?? [])}, ${textArray(t.columns)}, ` +
      `${t.columns ? literal(rowHashSql(t.checksumMethod ?? 'text', t.textColumns, [], t.columns)) : 'NULL::text'})`,
  );
  // Formats 1-2 hashed under the database's own search_path; format 3 under the recorded one ('').
  const settings = [
    ...(manifest.checksumSettings ? [] : ['RESET search_path;']),
    // Setting names are known ones (parseManifest checks a manifest's against CHECKSUM_SETTINGS).
    ...Object.entries(checksumSettingsOf(manifest)).map(([k, v]) => `SET ${k} = ${literal(v)};`),
  ].join('\n');
  const legacy = literal(legacyNote(manifest.formatVersion ?? 1, '%s'));
  return `
${settings}
DO $bd_gate$
DECLARE
  t record;
  got_rows bigint;
  got_sum text;
  row_hash text;
  why text;
  lacking text;
  corrupt text := '';
  unreproduced text := '';
  n_corrupt int := 0;
  n_unreproduced int := 0;
BEGIN
  FOR t IN SELECT * FROM (VALUES
    ${rows.join(',\n    ')}
  ) AS v(s, name, rows, checksum, content, method, text_cols, cols, v3_hash) LOOP
    IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.s, t.name)) IS NULL THEN
      corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: missing', t.s, t.name); n_corrupt := n_corrupt + 1;
      CONTINUE;
    END IF;
    IF t.cols IS NOT NULL THEN
      -- Format 3: the recorded columns, in the recorded order.
      SELECT pg_catalog.string_agg(c, ', ') INTO lacking FROM pg_catalog.unnest(t.cols) AS c
       WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = pg_catalog.format('%I.%I', t.s, t.name)::pg_catalog.regclass
                            AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
      IF lacking IS NOT NULL THEN
        corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: restored without the column(s) %s', t.s, t.name, lacking); n_corrupt := n_corrupt + 1;
        CONTINUE;
      END IF;
      row_hash := t.v3_hash;
    ELSIF t.method = 'record' AND cardinality(t.text_cols) > 0 THEN
      -- Formats 1-2, as postgres/stats.ts rowHashSql builds it: every column in table order.
      SELECT 'hash_record_extended(ROW(' || pg_catalog.string_agg(
               CASE WHEN a.attname = ANY (t.text_cols) THEN pg_catalog.format('(bd_row_.%I)::text COLLATE "C"', a.attname) ELSE pg_catalog.format('bd_row_.%I', a.attname) END,
               ', ' ORDER BY a.attnum) || '), 0)'
        INTO row_hash
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = pg_catalog.format('%I.%I', t.s, t.name)::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped;
    ELSIF t.method = 'record' THEN
      row_hash := ${literal(ROW_HASH.record)};
    ELSE
      row_hash := ${literal(ROW_HASH.text)};
    END IF;
    BEGIN
      EXECUTE pg_catalog.format('SELECT count(*), coalesce(sum(%s::numeric), 0)::text FROM ONLY %I.%I AS bd_row_', row_hash, t.s, t.name)
        INTO got_rows, got_sum;
    EXCEPTION WHEN OTHERS THEN
      unreproduced := unreproduced || pg_catalog.format(E'\\n  %I.%I: could not be hashed as recorded: %s', t.s, t.name, SQLERRM);
      n_unreproduced := n_unreproduced + 1;
      CONTINUE;
    END;
    IF got_rows <> t.rows THEN
      corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: expected %s rows, restored %s', t.s, t.name, t.rows, got_rows); n_corrupt := n_corrupt + 1;
    ELSIF t.content AND got_sum <> t.checksum THEN
      why := NULL;
      IF t.cols IS NULL THEN
        SELECT ${legacyUnverifiableSql(`pg_catalog.format('%I.%I', t.s, t.name)::pg_catalog.regclass`)} INTO why;
      END IF;
      IF why IS NOT NULL THEN
        RAISE NOTICE '%.%: %', t.s, t.name, pg_catalog.format(${legacy}, why);
      ELSE
        corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: same row count, different content checksum', t.s, t.name); n_corrupt := n_corrupt + 1;
      END IF;
    END IF;
  END LOOP;
  IF n_corrupt + n_unreproduced > 0 THEN
    RAISE EXCEPTION '${GATE_MARK}: % differ from the record, % could not be reproduced:%', n_corrupt, n_unreproduced, corrupt || unreproduced;
  END IF;
END
$bd_gate$;
`;
}

/**
 * The error for a gate failure (psql's stderr holds GATE_MARK): "the backup
 * is corrupt" when any restored table differs from its record, otherwise
 * "the verification could not reproduce" the tables it could not hash.
 */
export function gateFailure(stderr: string, tail: string, fate: string, rolledBack: boolean): IntegrityError {
  const [, corrupt = '1', unreproduced = '0'] = COUNTS.exec(stderr) ?? [];
  const rolled = rolledBack ? ', so the restore was rolled back' : '';
  if (Number(corrupt) > 0) {
    return new IntegrityError(`The backup is corrupt: the restored data did not match the backup's record${rolled}: ${tail}`, {
      hint: `${fate} The dump and its manifest disagree: use another backup, and report this.`,
    });
  }
  return new IntegrityError(
    `The verification could not reproduce ${unreproduced} table(s) of this backup${rolled} (this is not evidence that the backup is damaged): ${tail}`,
    {
      hint: `${fate} Run 'backup-drill drill' on this backup to see which tables and why; restore it by hand (docs/RECOVERY.md) if you need it now, and report this.`,
    },
  );
}
