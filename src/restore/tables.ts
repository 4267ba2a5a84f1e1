// Per-table restore, for the deleted-rows case. Two ways:
//  - into the live target: the listed tables' data is replaced (TRUNCATE, then
//    the backup's rows) in one transaction; nothing else is touched;
//  - into a side schema (`into-schema`): copies of the tables, as they were in
//    the backup, are created there so rows can be compared and copied back by hand.
// Tables are picked exactly from the dump's TOC (`pg_restore -L`), never by a
// name pattern that could match more.
import type { Manifest, TableStats } from '../archive/manifest.js';
import { UsageError } from '../errors.js';
import { ident } from '../postgres/connect.js';
import type { Toc, TocEntry } from './toc.js';

const key = (schema: string, name: string) => `${schema}.${name}`;

function unquote(part: string): string {
  return part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part;
}

/** Splits `schema.table`, `table` or `"My Schema"."My Table"`. */
export function parseTableName(text: string): { schema?: string; name: string } | undefined {
  const m = /^(?:("(?:[^"]|"")+"|[^."]+)\.)?("(?:[^"]|"")+"|[^."]+)$/.exec(text.trim());
  if (!m) return undefined;
  return m[1] ? { schema: unquote(m[1]), name: unquote(m[2]!) } : { name: unquote(m[2]!) };
}

/**
 * Resolves the `tables` input against the backup's tables. A partitioned
 * table stands for its partitions (which hold the rows). Problems are
 * returned, not thrown, so the preview can show them.
 */
export function resolveTables(requested: string[], manifest: Pick<Manifest, 'tables'>): { selected: TableStats[]; problems: string[] } {
  const selected = new Map<string, TableStats>();
  const problems: string[] = [];
  const all = manifest.tables;
  for (const text of requested) {
    const parsed = parseTableName(text);
    if (!parsed) {
      problems.push(`'${text}' is not a table name (use schema.table).`);
      continue;
    }
    const matches = (caseSensitive: boolean): Array<{ table: TableStats; owner: string }> => {
      const eq = (a: string, b: string) => (caseSensitive ? a === b : a.toLowerCase() === b.toLowerCase());
      const named = (schema: string, name: string) => eq(name, parsed.name) && (parsed.schema === undefined || eq(schema, parsed.schema));
      const out: Array<{ table: TableStats; owner: string }> = [];
      for (const t of all) {
        if (named(t.schema, t.name)) out.push({ table: t, owner: key(t.schema, t.name) });
        else if (t.partitionOf) {
          const parent = parseTableName(t.partitionOf);
          if (parent?.schema !== undefined && named(parent.schema, parent.name)) out.push({ table: t, owner: t.partitionOf });
        }
      }
      return out;
    };
    let hits = matches(true);
    if (hits.length === 0) hits = matches(false);
    const found = hits.map((h) => h.table);
    const owners = new Set(hits.map((h) => h.owner));
    if (found.length === 0) {
      const near = all.filter((t) => t.name.toLowerCase().includes(parsed.name.toLowerCase().slice(0, 4))).slice(0, 5);
      problems.push(`Table '${text}' is not in the backup${near.length ? `; similar: ${near.map((t) => key(t.schema, t.name)).join(', ')}` : ''}.`);
      continue;
    }
    if (parsed.schema === undefined && owners.size > 1) {
      problems.push(`Table '${text}' is ambiguous: ${[...owners].join(', ')}. Give the schema.`);
      continue;
    }
    for (const t of found) selected.set(key(t.schema, t.name), t);
  }
  return { selected: [...selected.values()], problems };
}

/** Tables (`schema.name`) whose rows are in redacted-data.sql instead of the dump. */
export function redactedTableKeys(manifest: Pick<Manifest, 'redactions'>): Set<string> {
  return new Set((manifest.redactions ?? []).map((r) => key(r.schema, r.table)));
}

/**
 * The TOC entries to restore: the tables' data (live), or their definitions and
 * data (copies). Redacted tables have no data entry: their rows come from
 * redacted-data.sql (selectCopyBlocks).
 */
export function tocSelection(
  toc: Toc,
  tables: TableStats[],
  withDefinitions: boolean,
  redacted: Set<string> = new Set(),
): { entries: TocEntry[]; missing: string[] } {
  const entries: TocEntry[] = [];
  const missing: string[] = [];
  for (const t of tables) {
    const data = toc.entries.find((e) => e.type === 'TABLE DATA' && e.schema === t.schema && e.name === t.name);
    const def = toc.entries.find((e) => e.type === 'TABLE' && e.schema === t.schema && e.name === t.name);
    if ((!data && !redacted.has(key(t.schema, t.name))) || (withDefinitions && !def)) missing.push(key(t.schema, t.name));
    if (withDefinitions && def) entries.push(def);
    if (data) entries.push(data);
  }
  // pg_restore follows the list's order: definitions first, then data.
  entries.sort((a, b) => Number(a.type === 'TABLE DATA') - Number(b.type === 'TABLE DATA') || a.dumpId - b.dumpId);
  return { entries, missing };
}

/** Foreign keys from tables outside the selection into it: TRUNCATE would refuse them, so we refuse first. */
export function outsideReferences(tables: TableStats[], foreignKeys: Array<{ from: string; to: string; name: string }>): string[] {
  const chosen = new Set(tables.map((t) => key(t.schema, t.name)));
  const referenced = new Set([...chosen, ...tables.filter((t) => t.partitionOf).map((t) => t.partitionOf!)]);
  return foreignKeys
    .filter((fk) => referenced.has(fk.to) && !chosen.has(fk.from) && !tables.some((t) => t.partitionOf === fk.from))
    .map((fk) => `${fk.from} (${fk.name} → ${fk.to})`);
}

const QUALIFIED = /^(CREATE (?:UNLOGGED )?TABLE|COPY) ("(?:[^"]|"")+"|[^\s."]+)\.("(?:[^"]|"")+"|[^\s."(]+)(.*)$/s;

/**
 * Rewrites pg_restore's script for the selected tables so they are created
 * under `intoSchema`. The script may hold only what a TABLE + TABLE DATA
 * selection produces; anything else is refused rather than run against the
 * live schema.
 */
export async function* rewriteIntoSchema(source: AsyncIterable<Buffer>, tables: TableStats[], intoSchema: string): AsyncGenerator<Buffer> {
  const wanted = new Set(tables.map((t) => key(t.schema, t.name)));
  // Lines are handled as latin1 so every byte round-trips whatever the dump's encoding.
  const newSchema = Buffer.from(ident(intoSchema), 'utf8').toString('latin1');
  let inCopy = false;
  let inCreate = false;
  const handle = (line: string): string => {
    if (inCopy) {
      if (line === '\\.') inCopy = false;
      return line;
    }
    if (inCreate) {
      if (/^\s*INHERITS \(|^\s*PARTITION OF /.test(line)) {
        throw new UsageError(
          'A selected table inherits from another table; copying it into another schema would make its rows visible through the live parent.',
          {
            input: 'tables',
            hint: 'Restore it into the live target instead, or restore the whole backup into a scratch database.',
          },
        );
      }
      if (line.trimEnd().endsWith(';')) inCreate = false;
      return line;
    }
    if (line === '' || line.startsWith('--') || /^SET [a-z_]+ = .*;$/.test(line) || line.startsWith('SELECT pg_catalog.set_config(')) return line;
    if (/^\\(un)?restrict /.test(line)) return line;
    const m = QUALIFIED.exec(line);
    if (m) {
      const { schema, name } = statementTarget(m);
      if (!wanted.has(key(schema, name))) throw new Error(`internal: the per-table script names ${schema}.${name}, which was not selected`);
      if (m[1] === 'COPY') inCopy = / FROM stdin;$/.test(line);
      else inCreate = !line.trimEnd().endsWith(';');
      return `${m[1]} ${newSchema}.${m[3]}${m[4]}`;
    }
    throw new Error(`internal: unexpected statement in the per-table script, not run: ${line.slice(0, 120)}`);
  };
  yield* mapLines(source, handle);
}

/**
 * Keeps only the COPY blocks of `tables` from redacted-data.sql (comment lines
 * pass through), for a per-table restore of tables whose rows are there.
 */
export async function* selectCopyBlocks(source: AsyncIterable<Buffer>, tables: TableStats[]): AsyncGenerator<Buffer> {
  const wanted = new Set(tables.map((t) => key(t.schema, t.name)));
  let keep = false;
  let inCopy = false;
  const handle = (line: string): string | undefined => {
    if (inCopy) {
      if (line === '\\.') inCopy = false;
      return keep ? line : undefined;
    }
    const m = QUALIFIED.exec(line);
    if (m && m[1] === 'COPY') {
      const { schema, name } = statementTarget(m);
      keep = wanted.has(key(schema, name));
      inCopy = true;
      return keep ? line : undefined;
    }
    if (line === '' || line.startsWith('--')) return line;
    throw new Error(`internal: unexpected statement in redacted-data.sql, not run: ${line.slice(0, 120)}`);
  };
  yield* mapLines(source, handle);
}

/** The table a QUALIFIED match names (the line was read as latin1; names are UTF-8). */
function statementTarget(m: RegExpExecArray): { schema: string; name: string } {
  return { schema: unquote(Buffer.from(m[2]!, 'latin1').toString('utf8')), name: unquote(Buffer.from(m[3]!, 'latin1').toString('utf8')) };
}

/**
 * Passes a SQL script through `handle` line by line; undefined drops a line.
 * Lines are handled as latin1 so every byte round-trips whatever the encoding.
 */
async function* mapLines(source: AsyncIterable<Buffer>, handle: (line: string) => string | undefined): AsyncGenerator<Buffer> {
  let rest = '';
  const emit = (lines: string[]): Buffer | undefined => {
    const kept = lines.map(handle).filter((l): l is string => l !== undefined);
    return kept.length ? Buffer.from(kept.join('\n') + '\n', 'latin1') : undefined;
  };
  for await (const chunk of source) {
    const lines = (rest + chunk.toString('latin1')).split('\n');
    rest = lines.pop()!;
    const out = emit(lines);
    if (out) yield out;
  }
  const last = rest ? emit([rest]) : undefined;
  if (last) yield last;
}
