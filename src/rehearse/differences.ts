// Turns a rehearsal restore (pg_restore's errors, the table and object comparisons, the
// extensions the target lacks) into one list of differences, each explained or not.
import type { ObjectResult, TableResult } from '../report/types.js';
import { explain } from './explained.js';
import type { RehearsalDifference, RehearsalResult } from './types.js';

/**
 * pg_restore without --exit-on-error prints each failed statement as
 * `pg_restore: error: could not execute query: ERROR: …` followed by `Command was: …`.
 */
export function restoreErrors(stderr: string): RehearsalDifference[] {
  const out: RehearsalDifference[] = [];
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^pg_restore: error: (.*)$/.exec(lines[i]!);
    if (!m) continue;
    const detail = [m[1]!];
    const command: string[] = [];
    for (let j = i + 1; j < lines.length && !/^pg_restore: /.test(lines[j]!); j++) {
      const line = lines[j]!.trim();
      if (/^Command was: /.test(line)) command.push(line.slice('Command was: '.length));
      else if (command.length)
        command.push(line); // a statement over several lines
      else if (line && !/^LINE \d+:|^\^$/.test(line)) detail.push(line);
    }
    const statement = command.join(' ').replace(/\s+/g, ' ').trim();
    out.push({
      object: objectOfStatement(statement),
      type: 'restore-error',
      message: `${shorten(detail.join(' '))}${statement ? ` (${shorten(statement, 120)})` : ''}`,
    });
  }
  return out;
}

function shorten(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `CREATE EXTENSION IF NOT EXISTS x WITH …` → `extension x`, `COPY s.t (…)` → `table s.t`; otherwise the statement's first words. */
function objectOfStatement(command: string): string {
  const data = /^(?:COPY|ALTER TABLE(?: ONLY)?)\s+([^\s(]+)/i.exec(command);
  if (data) return `table ${data[1]}`;
  const m =
    /^(?:CREATE|ALTER|COMMENT ON|DROP)\s+(?:OR REPLACE\s+)?(?:UNIQUE\s+)?(TABLE|EXTENSION|FUNCTION|AGGREGATE|OPERATOR|INDEX|VIEW|MATERIALIZED VIEW|TYPE|SCHEMA|TRIGGER|SEQUENCE|POLICY|DOMAIN)\s+(?:IF NOT EXISTS\s+)?([^\s(]+)/i.exec(
      command,
    );
  return m ? `${m[1]!.toLowerCase()} ${m[2]}` : command ? command.split(/\s+/).slice(0, 3).join(' ') : 'database';
}

export function tableDifferences(tables: TableResult[]): RehearsalDifference[] {
  return tables
    .filter((t) => t.status === 'failed' || t.status === 'error')
    .map((t) => ({ object: `table ${t.schema}.${t.name}`, type: 'table' as const, message: t.message ?? t.status }));
}

export function objectDifferences(objects: ObjectResult[]): RehearsalDifference[] {
  return objects.filter((o) => o.status === 'failed').map((o) => ({ object: `${o.kind} ${o.name}`, type: 'object' as const, message: o.message }));
}

/** Extensions the backup has that the target major's server does not offer. */
export function missingExtensions(recorded: string[], available: Set<string>): RehearsalDifference[] {
  return recorded
    .filter((e) => !available.has(e))
    .map((e) => ({
      object: `extension ${e}`,
      type: 'extension-missing' as const,
      message: `not available on this PostgreSQL server: tables and functions using it will not restore`,
    }));
}

export function rehearsalResult(
  major: number,
  sourceMajor: number,
  serverVersion: string,
  found: RehearsalDifference[],
  durationSeconds: number,
): RehearsalResult {
  const differences = found.map((d) => {
    const by = explain(d, sourceMajor, major);
    return by ? { ...d, explainedBy: by } : d;
  });
  const unexplained = differences.filter((d) => !d.explainedBy).length;
  const status = !differences.length ? 'passed' : unexplained ? 'differences' : 'explained';
  return { major, sourceMajor, serverVersion, status, differences, unexplained, durationSeconds };
}
