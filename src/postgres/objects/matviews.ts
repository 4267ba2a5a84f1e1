// Materialized views. pg_dump stores no rows for them: a restore refreshes
// every view that was populated, from the restored tables. So content is
// comparable only when the source's stored rows were its query's result at
// the backup ("fresh": checked in the backup's snapshot) and the query gives
// the same result on the same data in another session (no clock, randomness,
// session or database name). Otherwise the report says why it is not compared.
import type { ObjectsSummary } from '../../archive/manifest.js';
import type { ObjectResult } from '../../report/types.js';
import type { Client } from '../connect.js';
import { qualified } from '../connect.js';
import { ROW_HASH } from '../stats.js';
import { USER_SCHEMAS, notExtensionMember, plural } from './common.js';

type MatView = ObjectsSummary['materializedViews'][number];

/** SQL value keywords (pg_get_viewdef prints them in capitals) and stable built-ins whose value depends on when, where or by whom a query runs. */
const UNSTABLE_KEYWORDS =
  /\b(CURRENT_DATE|CURRENT_TIME|CURRENT_TIMESTAMP|LOCALTIME|LOCALTIMESTAMP|CURRENT_USER|SESSION_USER|USER|CURRENT_ROLE|CURRENT_CATALOG|CURRENT_SCHEMA)\b/;
const UNSTABLE_CALLS =
  /\b(now|transaction_timestamp|statement_timestamp|current_database|current_setting|current_schemas|inet_client_addr|inet_server_addr|inet_client_port|pg_backend_pid|txid_current|pg_current_xact_id|age|pg_postmaster_start_time|pg_conf_load_time)\s*\(/i;

interface Listed {
  schema: string;
  name: string;
  populated: boolean;
  definition: string;
}

async function listMatViews(client: Client): Promise<Listed[]> {
  const { rows } = await client.query<Listed>(`
    SELECT n.nspname AS schema, c.relname AS name, c.relispopulated AS populated, pg_catalog.pg_get_viewdef(c.oid) AS definition
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'm' AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY 1, 2`);
  return rows;
}

/** Why a query may give another result on the same data, or undefined. Conservative: a false "not compared" is honest, a false failure is not. */
async function unstableReason(client: Client, definition: string): Promise<string | undefined> {
  const word = UNSTABLE_KEYWORDS.exec(definition) ?? UNSTABLE_CALLS.exec(definition);
  if (word) return `its query uses ${word[1]!.toLowerCase()}, which differs between runs`;
  const called = [...new Set([...definition.matchAll(/([A-Za-z_][A-Za-z0-9_$]*)\s*\(/g)].map((m) => m[1]!.toLowerCase()))];
  if (!called.length) return undefined;
  // Any volatile overload of a called name, or any non-immutable function of the user's (it may read the clock inside).
  const { rows } = await client.query<{ name: string }>(
    `SELECT DISTINCT p.proname AS name FROM pg_catalog.pg_proc p
      WHERE p.proname = ANY ($1::text[])
        AND (p.provolatile = 'v' OR (p.provolatile = 's' AND p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace))
      ORDER BY 1`,
    [called],
  );
  return rows.length ? `its query calls ${rows.map((r) => r.name).join(', ')}, which may differ between runs` : undefined;
}

function contentSql(from: string): string {
  return `SELECT count(*)::text AS rows, coalesce(sum(${ROW_HASH.text}::numeric), 0)::text AS checksum FROM ${from} AS bd_row_`;
}

async function content(client: Client, from: string): Promise<{ rows: number; checksum: string }> {
  const { rows } = await client.query<{ rows: string; checksum: string }>(contentSql(from));
  return { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
}

/** A view's query runs once more at backup to tell whether it is fresh: never for longer than this. */
const FRESHNESS_TIMEOUT = '120s';

/** Runs `fn` under a savepoint and a time limit, so a failing or slow query leaves the snapshot's transaction usable. */
async function attempt<T>(client: Client, fn: () => Promise<T>): Promise<T | Error> {
  const { rows } = await client.query<{ t: string }>(`SELECT current_setting('statement_timeout') AS t`);
  await client.query(`SAVEPOINT bd_matview; SET LOCAL statement_timeout = '${FRESHNESS_TIMEOUT}'`);
  try {
    const value = await fn();
    await client.query('RELEASE SAVEPOINT bd_matview');
    await client.query(`SELECT set_config('statement_timeout', $1, true)`, [rows[0]!.t]);
    return value;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT bd_matview');
    return (error as { code?: string }).code === '57014' ? new Error(`it took longer than ${FRESHNESS_TIMEOUT}`) : (error as Error);
  }
}

/** At backup, in the snapshot (inside its transaction): each view's state, and its content when it is fresh. */
export async function captureMatViews(client: Client): Promise<MatView[]> {
  const out: MatView[] = [];
  for (const v of await listMatViews(client)) {
    const base: MatView = { schema: v.schema, name: v.name, populated: v.populated };
    if (!v.populated) {
      out.push(base);
      continue;
    }
    const unstable = await unstableReason(client, v.definition);
    if (unstable) {
      out.push({ ...base, fresh: false, reason: unstable });
      continue;
    }
    const stored = await attempt(client, () => content(client, qualified(v.schema, v.name)));
    const query = await attempt(client, () => content(client, `(${v.definition.trim().replace(/;$/, '')})`));
    if (stored instanceof Error || query instanceof Error) {
      const error = (stored instanceof Error ? stored : query) as Error;
      out.push({ ...base, fresh: false, reason: `its query could not be run at backup: ${error.message}` });
    } else if (stored.rows !== query.rows || stored.checksum !== query.checksum) {
      out.push({ ...base, fresh: false, reason: 'its stored rows were not its query’s result at backup (the data changed after its last refresh)' });
    } else {
      out.push({ ...base, fresh: true, rows: stored.rows, checksum: stored.checksum });
    }
  }
  return out;
}

/**
 * After a restore. `refresh` (the drill's throwaway copy): each fresh view is
 * refreshed in this pinned session and its content compared. A real target is
 * not refreshed: only its state is checked.
 */
export async function compareMatViews(client: Client, expected: MatView[], refresh: boolean): Promise<ObjectResult[]> {
  const present = new Map((await listMatViews(client)).map((v) => [JSON.stringify([v.schema, v.name]), v]));
  const results: ObjectResult[] = [];
  for (const v of expected) {
    const name = `${v.schema}.${v.name}`;
    const result = (status: ObjectResult['status'], message: string) => results.push({ kind: 'materialized-view', name, status, message });
    const here = present.get(JSON.stringify([v.schema, v.name]));
    if (!here) {
      result('failed', 'missing after restore');
    } else if (here.populated !== v.populated) {
      result('failed', v.populated ? 'populated in the backup, not populated after the restore' : 'not populated in the backup, populated after the restore');
    } else if (!v.populated) {
      result('passed', 'not populated, as in the backup');
    } else if (!v.fresh || v.checksum === undefined) {
      result('not-compared', `refreshed on restore, not compared: ${v.reason ?? 'not fresh at backup'}`);
    } else if (!refresh) {
      result('not-compared', 'refreshed on restore; content is compared by a drill, not on a live target');
    } else {
      const got = await refreshed(client, v);
      if (got instanceof Error) result('not-compared', `refreshed on restore, not compared: could not refresh it again here: ${got.message}`);
      else if (got.rows === v.rows && got.checksum === v.checksum) result('passed', `${plural(got.rows, 'row')} identical after refresh`);
      else
        result(
          'failed',
          got.rows !== v.rows ? `expected ${v.rows} rows after refresh, got ${got.rows}` : 'same row count after refresh, different content checksum',
        );
    }
  }
  return results;
}

async function refreshed(client: Client, v: MatView): Promise<{ rows: number; checksum: string } | Error> {
  try {
    await client.query(`REFRESH MATERIALIZED VIEW ${qualified(v.schema, v.name)}`);
    return await content(client, qualified(v.schema, v.name));
  } catch (error) {
    return error as Error;
  }
}
