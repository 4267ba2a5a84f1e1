// Extension configuration tables (pg_extension_config_dump, e.g. PostGIS
// spatial_ref_sys): CREATE EXTENSION recreates the extension's own rows and
// pg_dump adds the rows matching the recorded condition (`WHERE …`, or all).
// Those rows are what a restore must reproduce: hashed like tables
// (postgres/stats.ts), over `SELECT * FROM ONLY t <condition>` as pg_dump reads them.
import type { TableStats } from '../../archive/manifest.js';
import type { ObjectResult } from '../../report/types.js';
import type { Client } from '../connect.js';
import { qualified } from '../connect.js';
import { collectStats, type TableRef } from '../stats.js';

interface ConfigTable {
  schema: string;
  name: string;
  extension: string;
  condition: string;
}

async function listConfigTables(client: Client): Promise<ConfigTable[]> {
  const { rows } = await client.query<ConfigTable>(`
    SELECT n.nspname AS schema, c.relname AS name, e.extname AS extension, coalesce(x.cond, '') AS condition
      FROM pg_catalog.pg_extension e
      CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS x(rel, cond)
      JOIN pg_catalog.pg_class c ON c.oid = x.rel JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r'
     ORDER BY 1, 2`);
  return rows;
}

/** The rows pg_dump carries for a configuration table. The condition comes from the catalog of the database being read. */
function dumpedRows(t: ConfigTable): string {
  return `(SELECT * FROM ONLY ${qualified(t.schema, t.name)} ${t.condition})`;
}

async function statsOf(client: Client, tables: ConfigTable[]): Promise<TableStats[]> {
  const refs: TableRef[] = tables.map((t) => ({ schema: t.schema, name: t.name }));
  const stats = await collectStats([client], refs, (ref) => dumpedRows(tables.find((t) => t.schema === ref.schema && t.name === ref.name)!));
  return stats.map((s, i) => ({
    ...s,
    extensionConfig: { extension: tables[i]!.extension, ...(tables[i]!.condition ? { condition: tables[i]!.condition } : {}) },
  }));
}

export async function captureExtensionConfig(client: Client): Promise<TableStats[]> {
  return statsOf(client, await listConfigTables(client));
}

/**
 * Each recorded configuration table, hashed in the restored database with the
 * condition its extension declares there. When that condition is not the
 * recorded one (another extension version), the rows are not verifiable.
 */
export async function compareExtensionConfig(client: Client, expected: TableStats[]): Promise<ObjectResult[]> {
  const present = new Map((await listConfigTables(client)).map((t) => [JSON.stringify([t.schema, t.name]), t]));
  const results: ObjectResult[] = [];
  for (const t of expected) {
    const name = `${t.schema}.${t.name}`;
    const here = present.get(JSON.stringify([t.schema, t.name]));
    const recorded = t.extensionConfig?.condition ?? '';
    if (!here) {
      results.push({
        kind: 'extension-config',
        name,
        status: 'failed',
        message: `missing after restore (configuration table of extension ${t.extensionConfig?.extension})`,
      });
      continue;
    }
    if (here.condition !== recorded) {
      results.push({
        kind: 'extension-config',
        name,
        status: 'not-verifiable',
        message: `extension ${here.extension} declares another dump condition here (${JSON.stringify(here.condition)}, backup: ${JSON.stringify(recorded)}): another extension version`,
      });
      continue;
    }
    const [got] = await statsOf(client, [here]);
    const ok = got!.rows === t.rows && got!.checksum === t.checksum;
    const what = recorded ? `rows ${recorded}` : 'all rows';
    results.push({
      kind: 'extension-config',
      name,
      status: ok ? 'passed' : 'failed',
      message: ok
        ? `${t.rows} ${what} identical`
        : got!.rows !== t.rows
          ? `${what}: expected ${t.rows} rows, restored ${got!.rows}`
          : `${what}: same row count, different content checksum`,
    });
  }
  return results;
}
