// A database's fingerprint: a plain pg_dump taken with --serializable-deferrable
// (a consistent view, no interference), hashed, plus every sequence's state
// (nextval is not transactional, so a rolled-back restore can still move them).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serverBinDir, withClient } from '../../helpers/postgres.js';

const run = promisify(execFile);

export interface Fingerprint {
  dumpSha256: string;
  sequences: string;
  /** The dump's lines, to say what differs. */
  lines: string[];
}

export async function takeFingerprint(url: string): Promise<Fingerprint> {
  const bin = await serverBinDir();
  const { stdout } = await run(join(bin, 'pg_dump'), ['--serializable-deferrable', '--no-password', '-d', url], { maxBuffer: 1 << 30, encoding: 'buffer' });
  const sequences = await withClient(url, async (c) => {
    const r = await c.query<{ s: string }>(
      `SELECT coalesce(string_agg(schemaname || '.' || sequencename || '=' || coalesce(last_value::text, 'null'), ',' ORDER BY schemaname, sequencename), '') AS s FROM pg_sequences`,
    );
    return r.rows[0]!.s;
  });
  // pg_dump (since 15.14) wraps its script in \restrict <random key> … \unrestrict <key>: not state.
  const lines = stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l));
  return { dumpSha256: createHash('sha256').update(lines.join('\n')).digest('hex'), sequences, lines };
}

/** undefined when equal; else what differs (the first differing dump lines, or the sequences). */
export function fingerprintDiff(a: Fingerprint, b: Fingerprint): string | undefined {
  const out: string[] = [];
  if (a.sequences !== b.sequences) out.push(`sequences ${a.sequences} → ${b.sequences}`);
  if (a.dumpSha256 !== b.dumpSha256) {
    const removed = a.lines.filter((l) => !new Set(b.lines).has(l));
    const added = b.lines.filter((l) => !new Set(a.lines).has(l));
    out.push(`dump differs: -${removed.length} +${added.length} lines, e.g. -'${(removed[0] ?? '').slice(0, 120)}' +'${(added[0] ?? '').slice(0, 120)}'`);
  }
  return out.length ? out.join('; ') : undefined;
}

/** Kept for simple equality checks: one string per state. */
export async function fingerprint(url: string): Promise<string> {
  const f = await takeFingerprint(url);
  return `${f.dumpSha256}|${f.sequences}`;
}
