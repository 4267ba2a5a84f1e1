// A database's fingerprint: a plain pg_dump taken with --serializable-deferrable
// (a consistent view, no interference), hashed, plus every sequence's state
// (nextval is not transactional, so a rolled-back restore can still move them).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serverBinDir, withClient } from '../../helpers/postgres.js';

const run = promisify(execFile);

export async function fingerprint(url: string): Promise<string> {
  const bin = await serverBinDir();
  const { stdout } = await run(join(bin, 'pg_dump'), ['--serializable-deferrable', '--no-password', '-d', url], { maxBuffer: 1 << 30, encoding: 'buffer' });
  const sequences = await withClient(url, async (c) => {
    const r = await c.query<{ s: string }>(
      `SELECT coalesce(string_agg(schemaname || '.' || sequencename || '=' || coalesce(last_value::text, 'null'), ',' ORDER BY 1), '') AS s FROM pg_sequences`,
    );
    return r.rows[0]!.s;
  });
  return createHash('sha256').update(stdout).update('\0').update(sequences).digest('hex');
}
