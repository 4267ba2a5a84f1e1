// A database's fingerprint, as the issue defines "unchanged": the output of
// `pg_dump --serializable-deferrable` (schema, data, large objects) plus every
// sequence's state. Written for the suite, independent of the engine's own
// fingerprint code, so the adversary does not share the engine's blind spots.
//
// The dump is cut into its TOC entries ("TABLE public.foo", "TABLE DATA public.foo",
// ...) so a difference is reported per object. Data lines are compared as a
// sorted multiset: a restore may legitimately store rows in another order.
// Owners and privileges are left out (restores run with --no-owner --no-acl).
import { join } from 'node:path';
import { runTool } from '../../src/util/exec.js';
import { withClient } from '../helpers/postgres.js';

export type Fingerprint = Map<string, string>;

export interface Difference {
  object: string;
  kind: 'missing' | 'extra' | 'changed';
  /** The first line that differs on each side, for the report. */
  detail: string;
  /** Both sides hold the same columns and values, in another column order. */
  columnOrderOnly?: boolean;
}

// pg_dump writes these where the session state changes, i.e. before whichever object comes
// first: positional, not content. Non-default tablespaces and access methods stay visible.
const SESSION_DEFAULTS = new Set(["SET default_tablespace = '';", 'SET default_table_access_method = heap;']);

const HEADER = /^-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*); Owner: .*$/;

export async function fingerprint(url: string, binDir: string): Promise<Fingerprint> {
  const dump = await runTool(join(binDir, 'pg_dump'), ['--serializable-deferrable', '--no-owner', '--no-privileges', '--format=plain', '--dbname', url], {
    env: { ...process.env, PGOPTIONS: '' },
  });
  const sections = splitDump(dump.stdout);
  for (const [name, state] of await sequenceStates(url)) sections.set(`SEQUENCE STATE ${name}`, state);
  return sections;
}

export function splitDump(text: string): Fingerprint {
  const sections: Fingerprint = new Map();
  let key = 'PREAMBLE';
  let lines: string[] = [];
  const flush = () => {
    let unique = key;
    for (let n = 2; sections.has(unique); n++) unique = `${key} #${n}`;
    // \restrict / \unrestrict carry a random key per dump (pg_dump 15.14+): not content.
    const body = lines.filter((l) => l !== '' && l !== '--' && !l.startsWith('-- Dumped ') && !/^\\(un)?restrict /.test(l) && !SESSION_DEFAULTS.has(l));
    sections.set(unique, (/^(TABLE DATA|BLOBS|BLOB DATA)\b/.test(key) ? body.sort() : body).join('\n'));
  };
  for (const line of text.split('\n')) {
    const m = HEADER.exec(line);
    if (!m) {
      lines.push(line);
      continue;
    }
    flush();
    const [, name, type, schema] = m;
    key = `${type} ${schema === '-' ? '' : `${schema}.`}${name}`;
    lines = [];
  }
  flush();
  return sections;
}

async function sequenceStates(url: string): Promise<Map<string, string>> {
  return withClient(url, async (c) => {
    const seqs = await c.query<{ q: string; name: string }>(
      `SELECT format('%I.%I', n.nspname, s.relname) AS q, n.nspname || '.' || s.relname AS name
         FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
        WHERE s.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 2`,
    );
    const states = new Map<string, string>();
    for (const s of seqs.rows) {
      const r = await c.query<{ v: string }>(`SELECT last_value::text || ' called=' || is_called::text AS v FROM ${s.q}`);
      states.set(s.name, r.rows[0]!.v);
    }
    return states;
  });
}

/** What differs between two fingerprints, object by object (a = expected, b = actual). */
export function compareFingerprints(a: Fingerprint, b: Fingerprint): Difference[] {
  const out: Difference[] = [];
  for (const [object, text] of a) {
    const other = b.get(object);
    if (other === undefined) out.push({ object, kind: 'missing', detail: firstLine(text) });
    else if (other !== text)
      out.push({ object, kind: 'changed', detail: firstDifference(text, other), columnOrderOnly: sameUpToColumnOrder(object, text, other) });
  }
  for (const [object, text] of b) if (!a.has(object)) out.push({ object, kind: 'extra', detail: firstLine(text) });
  return out;
}

/** True when a table's definition or data differ only in the order of its columns. */
export function sameUpToColumnOrder(object: string, a: string, b: string): boolean {
  if (object.startsWith('TABLE DATA ')) return canonicalData(a) === canonicalData(b);
  if (object.startsWith('TABLE ')) return canonicalDefinition(a) === canonicalDefinition(b);
  return false;
}

/** COPY data with every row's fields in the sorted order of the column names (lines arrive sorted). */
function canonicalData(text: string): string | undefined {
  const lines = text.split('\n');
  const copy = lines.find((l) => l.startsWith('COPY '));
  const columns = /^COPY \S+ \((.*)\) FROM stdin;$/.exec(copy ?? '')?.[1]?.split(', ');
  if (!columns) return undefined;
  const order = columns.map((c, i) => [c, i] as const).sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const rows = lines.filter((l) => l !== copy && l !== '\\.').map((l) => order.map(([, i]) => l.split('\t')[i]).join('\t'));
  return [`COPY (${order.map(([c]) => c).join(', ')})`, ...rows.sort()].join('\n');
}

function canonicalDefinition(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/,$/, ''))
    .sort()
    .join('\n');
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() && !l.startsWith('SET ')) ?? '';
}

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}: expected ${clip(x[i])} got ${clip(y[i])}`;
  }
  return '';
}

function clip(line: string | undefined): string {
  if (line === undefined) return '(nothing)';
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}…` : line);
}

/** A difference the plain pg_dump | pg_restore round trip has too, and why. */
export interface KnownDifference {
  object: RegExp;
  kind?: Difference['kind'];
  /** Only when the difference is the column order alone. */
  columnOrderOnly?: boolean;
  reason: string;
}

export function explain(
  differences: Difference[],
  known: KnownDifference[],
): { explained: { difference: Difference; reason: string }[]; unexplained: Difference[] } {
  const explained: { difference: Difference; reason: string }[] = [];
  const unexplained: Difference[] = [];
  for (const d of differences) {
    const k = known.find((e) => e.object.test(d.object) && (!e.kind || e.kind === d.kind) && (!e.columnOrderOnly || d.columnOrderOnly === true));
    if (k) explained.push({ difference: d, reason: k.reason });
    else unexplained.push(d);
  }
  return { explained, unexplained };
}
