// Compares a restored database with the manifest: every table's row count
// and content checksum, plus tables that are missing or unexpected. Shared by
// the drill and the restore's post-restore verification.
import type { Manifest } from '../archive/manifest.js';
import type { TableResult } from '../report/types.js';
import { connect } from './connect.js';
import { collectStats, listTables } from './stats.js';

export async function compareTables(
  targetUrl: string,
  manifest: Pick<Manifest, 'tables'>,
  jobs: number,
): Promise<{ tables: TableResult[]; unexpected: string[] }> {
  const clients = [];
  try {
    for (let i = 0; i < Math.max(1, Math.min(jobs, 4)); i++) clients.push(await connect(targetUrl, { inputName: 'drill-database-url' }));
    const present = await listTables(clients[0]!);
    const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
    const presentKeys = new Set(present.map(key));
    // Each table is hashed the way the backup hashed it (TableStats carries the method).
    const expected = manifest.tables.filter((t) => presentKeys.has(key(t)));
    const stats = await collectStats(clients, expected);
    const byKey = new Map(stats.map((s) => [key(s), s]));
    const tables: TableResult[] = manifest.tables.map((t) => {
      const got = byKey.get(key(t));
      if (!got) {
        return {
          schema: t.schema,
          name: t.name,
          expectedRows: t.rows,
          restoredRows: null,
          expectedChecksum: t.checksum,
          restoredChecksum: null,
          status: 'failed',
          message: 'missing after restore',
        };
      }
      const ok = got.rows === t.rows && got.checksum === t.checksum;
      const message = ok ? undefined : got.rows !== t.rows ? `expected ${t.rows} rows, restored ${got.rows}` : 'same row count, different content checksum';
      return {
        schema: t.schema,
        name: t.name,
        expectedRows: t.rows,
        restoredRows: got.rows,
        expectedChecksum: t.checksum,
        restoredChecksum: got.checksum,
        status: ok ? 'passed' : 'failed',
        ...(message ? { message } : {}),
      };
    });
    const manifestKeys = new Set(manifest.tables.map(key));
    const unexpected = present.map(key).filter((k) => !manifestKeys.has(k));
    return { tables, unexpected };
  } finally {
    for (const c of clients) await c.end().catch(() => undefined);
  }
}
