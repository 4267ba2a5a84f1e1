// Reads a custom-format dump's table of contents (`pg_restore -l`): which
// schemas it creates, which extensions it needs, which tables and table data
// it holds. The restore uses it to know what to replace, to name missing
// extensions in the preview, and to select single tables (`pg_restore -L`).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { TailBuffer, runTool, toolFailed, waitForExit } from '../util/exec.js';

export interface TocEntry {
  /** The whole line as `pg_restore -l` printed it (what a `-L` list file repeats). */
  line: string;
  dumpId: number;
  /** TABLE, TABLE DATA, SCHEMA, EXTENSION, … */
  type: string;
  /** '-' for objects outside a schema. */
  schema: string;
  /** The entry's tag: a table's name for TABLE / TABLE DATA. */
  name: string;
}

export interface Toc {
  entries: TocEntry[];
  /** Schemas the dump creates itself (SCHEMA entries). */
  schemas: string[];
  /** Extensions the dump creates (`CREATE EXTENSION IF NOT EXISTS …`). */
  extensions: string[];
  hasLargeObjects: boolean;
}

// Entry types of more than one word, longest first, so "TABLE DATA" is not read as "TABLE".
const MULTI_WORD_TYPES = [
  'PUBLICATION TABLES IN SCHEMA',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'TEXT SEARCH TEMPLATE',
  'TEXT SEARCH PARSER',
  'MATERIALIZED VIEW DATA',
  'FOREIGN DATA WRAPPER',
  'PROCEDURAL LANGUAGE',
  'DATABASE PROPERTIES',
  'SEQUENCE OWNED BY',
  'PUBLICATION TABLE',
  'MATERIALIZED VIEW',
  'CHECK CONSTRAINT',
  'OPERATOR FAMILY',
  'OPERATOR CLASS',
  'SECURITY LABEL',
  'BLOB METADATA',
  'EVENT TRIGGER',
  'FK CONSTRAINT',
  'ACCESS METHOD',
  'FOREIGN TABLE',
  'FOREIGN SERVER',
  'LARGE OBJECT',
  'ROW SECURITY',
  'SEQUENCE SET',
  'TABLE ATTACH',
  'INDEX ATTACH',
  'USER MAPPING',
  'DEFAULT ACL',
  'SHELL TYPE',
  'TABLE DATA',
];

const LINE = /^(\d+);\s+\d+\s+\d+\s+(.*)$/;

/** Parses `pg_restore -l` output. Comment lines (`;`) are skipped. */
export function parseToc(text: string): Toc {
  const entries: TocEntry[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trimEnd());
    if (!m) continue;
    const rest = m[2]!;
    const type = MULTI_WORD_TYPES.find((t) => rest.startsWith(t + ' ')) ?? rest.split(' ')[0]!;
    const after = rest.slice(type.length + 1);
    const space = after.indexOf(' ');
    const schema = space === -1 ? after : after.slice(0, space);
    // The tag runs up to the owner, the last word (absent for some entries: then the tag is all that is left).
    const tagAndOwner = space === -1 ? '' : after.slice(space + 1);
    const lastSpace = tagAndOwner.lastIndexOf(' ');
    const name = lastSpace === -1 ? tagAndOwner : tagAndOwner.slice(0, lastSpace);
    entries.push({ line: line.trimEnd(), dumpId: Number(m[1]), type, schema, name });
  }
  return {
    entries,
    schemas: entries
      .filter((e) => e.type === 'SCHEMA')
      .map((e) => e.name || e.schema)
      .filter((s) => s && s !== '-'),
    extensions: entries.filter((e) => e.type === 'EXTENSION').map((e) => e.name || e.schema),
    hasLargeObjects: entries.some((e) => e.type === 'BLOB' || e.type === 'BLOBS' || e.type === 'LARGE OBJECT' || e.type === 'BLOB METADATA'),
  };
}

/** Reads the TOC of a staged (verified) dump file. */
export async function readTocFile(binDir: string, file: string): Promise<Toc> {
  const { stdout } = await runTool(join(binDir, 'pg_restore'), ['-l', file]);
  return parseToc(stdout);
}

/**
 * Reads the TOC from the head of a dump stream: pg_restore stops after the TOC,
 * and the rest of the stream is never downloaded. The bytes are not verified
 * yet: this is for the preview only; the restore re-reads the verified copy.
 */
export async function readTocStream(binDir: string, input: Readable): Promise<Toc> {
  const path = join(binDir, 'pg_restore');
  const child = spawn(path, ['-l'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err = new TailBuffer();
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  let inputError: unknown;
  child.stdin!.on('error', () => undefined); // EPIPE once pg_restore has read the TOC and left
  input.on('error', (error) => {
    inputError = error;
    child.kill('SIGTERM');
  });
  input.pipe(child.stdin!);
  try {
    const code = await waitForExit(child, path);
    if (code !== 0) {
      if (inputError) throw inputError;
      throw toolFailed(path, code, err.toString());
    }
  } finally {
    input.unpipe(child.stdin!);
    input.destroy();
  }
  return parseToc(Buffer.concat(out).toString('utf8'));
}

/** Writes a `pg_restore -L` list file selecting exactly `entries`. */
export async function writeTocList(dir: string, name: string, entries: TocEntry[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, entries.map((e) => e.line).join('\n') + '\n');
  return path;
}
