// Sequences' positions (last_value, is_called): pg_dump restores each with
// setval, so a restored copy must hold the same. Read with one UNION ALL per
// batch of sequences rather than a round trip each.
import type { ObjectsSummary } from '../../archive/manifest.js';
import type { ObjectResult } from '../../report/types.js';
import type { Client } from '../connect.js';
import { qualified } from '../connect.js';
import { USER_SCHEMAS, literal, notExtensionMember, plural, someOf } from './common.js';

type Sequence = ObjectsSummary['sequences'][number];

const BATCH = 200;

/** Sequences pg_dump sets: the user's, and those an extension marked with pg_extension_config_dump. */
async function listSequences(client: Client): Promise<Array<{ schema: string; name: string }>> {
  const { rows } = await client.query<{ schema: string; name: string }>(`
    SELECT n.nspname AS schema, c.relname AS name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND c.relpersistence <> 't' AND ${USER_SCHEMAS}
       AND (${notExtensionMember('pg_class', 'c.oid')}
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE c.oid = ANY (e.extconfig)))
     ORDER BY 1, 2`);
  return rows;
}

export async function captureSequences(client: Client): Promise<Sequence[]> {
  const list = await listSequences(client);
  const out: Sequence[] = [];
  for (let i = 0; i < list.length; i += BATCH) {
    const batch = list.slice(i, i + BATCH);
    const sql = batch
      .map((s) => `SELECT ${literal(s.schema)} AS schema, ${literal(s.name)} AS name, last_value::text AS last, is_called FROM ${qualified(s.schema, s.name)}`)
      .join('\nUNION ALL\n');
    const { rows } = await client.query<{ schema: string; name: string; last: string; is_called: boolean }>(sql);
    for (const r of rows) out.push({ schema: r.schema, name: r.name, lastValue: r.last, isCalled: r.is_called });
  }
  return out;
}

function position(s: Sequence): string {
  return `last_value ${s.lastValue}${s.isCalled ? '' : ' (not yet called)'}`;
}

export async function compareSequences(client: Client, expected: Sequence[]): Promise<ObjectResult> {
  const got = new Map((await captureSequences(client)).map((s) => [JSON.stringify([s.schema, s.name]), s]));
  const missing: string[] = [];
  const moved: string[] = [];
  for (const s of expected) {
    const r = got.get(JSON.stringify([s.schema, s.name]));
    if (!r) missing.push(`${s.schema}.${s.name}`);
    else if (r.lastValue !== s.lastValue || r.isCalled !== s.isCalled)
      moved.push(`${s.schema}.${s.name}: ${position(s)} in the backup, ${position(r)} restored`);
  }
  const name = 'sequences';
  if (!missing.length && !moved.length) {
    return { kind: 'sequences', name, status: 'passed', message: `${plural(expected.length, 'sequence')} at the backup's positions` };
  }
  const parts = [...(moved.length ? [someOf(moved, 3)] : []), ...(missing.length ? [`missing: ${someOf(missing)}`] : [])];
  return { kind: 'sequences', name, status: 'failed', message: `${moved.length + missing.length} of ${expected.length} sequences differ: ${parts.join('; ')}` };
}
