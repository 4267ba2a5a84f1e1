// A fingerprint of a whole database, as issue 10 defines "unchanged": the
// output of `pg_dump --serializable-deferrable` (schema, data, large objects)
// plus every sequence's state, hashed. Two fingerprints taken before and after
// a failed restore must be identical. The dump is hashed as it streams, one
// digest per TOC entry (pg_dump's `-- Name: …; Type: …` headers), so a
// difference can be named, and never held in memory. A table's rows count as
// a multiset (the order COPY happens to read them in is not content).
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { connect, libpqConnection } from './connect.js';
import { findBinDir } from './binaries.js';
import { TailBuffer, toolFailed, waitForExit } from '../util/exec.js';

export interface Fingerprint {
  /** SHA-256 over every entry's digest and every sequence's state. */
  digest: string;
  /** pg_dump's entry header (e.g. "Name: t; Type: TABLE DATA; Schema: public; Owner: app") → SHA-256 of its text. */
  entries: Map<string, string>;
  /** `schema.name last_value is_called`, sorted. */
  sequences: string[];
}

export interface FingerprintOptions {
  databaseUrl: string | undefined;
  /** A directory with pg_dump for the server's major (found on the machine when absent). */
  binDir?: string;
}

const HEADER = /^-- (?:Data for )?(Name: .*; Type: .*)$/;
// psql's \restrict key is random per run (pg_dump 15.14+): it says nothing about the database.
const RANDOM_LINE = /^\\(un)?restrict /;
const COPY_FROM_STDIN = /^COPY .* FROM stdin;$/;
const ROW_SUM_MODULUS = 1n << 256n;

/** Fingerprints the database at `databaseUrl`. Read-only. */
export async function fingerprintDatabase(options: FingerprintOptions): Promise<Fingerprint> {
  const sequences = await sequenceStates(options.databaseUrl);
  const binDir = options.binDir ?? (await pgDumpFor(options.databaseUrl));
  const entries = await dumpEntryDigests(binDir, options.databaseUrl);
  const total = createHash('sha256');
  for (const [name, digest] of entries) total.update(`${name}\0${digest}\n`);
  for (const s of sequences) total.update(`sequence ${s}\n`);
  return { digest: total.digest('hex'), entries, sequences };
}

/** What differs between two fingerprints, one line per entry or sequence (empty when identical). */
export function fingerprintDifferences(before: Fingerprint, after: Fingerprint): string[] {
  const out: string[] = [];
  for (const [name, digest] of before.entries) {
    const now = after.entries.get(name);
    if (now === undefined) out.push(`gone: ${name}`);
    else if (now !== digest) out.push(`changed: ${name}`);
  }
  for (const name of after.entries.keys()) if (!before.entries.has(name)) out.push(`new: ${name}`);
  const was = new Set(before.sequences);
  const is = new Set(after.sequences);
  for (const s of before.sequences) if (!is.has(s)) out.push(`sequence was: ${s}`);
  for (const s of after.sequences) if (!was.has(s)) out.push(`sequence now: ${s}`);
  return out;
}

/** pg_dump directories by server major: looking for them takes seconds, and tests fingerprint often. */
const pgDumpDirs = new Map<number, Promise<string>>();

async function pgDumpFor(url: string | undefined): Promise<string> {
  const client = await connect(url, { applicationName: 'backup-drill fingerprint' });
  let major: number;
  try {
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    major = Math.floor(Number(rows[0]!.v) / 10000);
  } finally {
    await client.end().catch(() => undefined);
  }
  let dir = pgDumpDirs.get(major);
  if (!dir) {
    dir = findBinDir({ tools: ['pg_dump'], wanted: major, purpose: 'fingerprinting a database' }).then((b) => b.dir);
    dir.catch(() => pgDumpDirs.delete(major));
    pgDumpDirs.set(major, dir);
  }
  return dir;
}

async function sequenceStates(url: string | undefined): Promise<string[]> {
  const client = await connect(url, { applicationName: 'backup-drill fingerprint' });
  try {
    const { rows } = await client.query<{ q: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS q FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'S' ORDER BY 1`,
    );
    const states: string[] = [];
    for (const { q } of rows) {
      const s = await client.query<{ v: string; c: boolean }>(`SELECT last_value::text AS v, is_called AS c FROM ${q}`);
      states.push(`${q} ${s.rows[0]!.v} ${s.rows[0]!.c}`);
    }
    return states;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Streams a plain-format pg_dump, hashing each entry's lines under its header. */
async function dumpEntryDigests(binDir: string, url: string | undefined): Promise<Map<string, string>> {
  const conn = libpqConnection(url);
  const path = join(binDir, 'pg_dump');
  const args = ['--serializable-deferrable', '--format=plain', '--no-password'];
  if (conn.dbname) args.push(`--dbname=${conn.dbname}`);
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...conn.env } });
  const stderr = new TailBuffer();
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  const exited = waitForExit(child, path);
  exited.catch(() => undefined);

  const digests = new Map<string, string>();
  let name = '(preamble)';
  let hash: Hash = createHash('sha256');
  const close = () => {
    let key = name;
    for (let n = 2; digests.has(key); n++) key = `${name} #${n}`;
    digests.set(key, hash.digest('hex'));
  };
  // A table's rows are a multiset: their digests are added up, so the physical order COPY reads them in does not count.
  let rows: { sum: bigint; count: number } | undefined;
  let rest = '';
  const line = (text: string) => {
    if (rows) {
      if (text === '\\.') {
        hash.update(`rows ${rows.count} ${(rows.sum % ROW_SUM_MODULUS).toString(16)}\n`);
        rows = undefined;
      } else {
        rows.sum += BigInt('0x' + createHash('sha256').update(text, 'latin1').digest('hex'));
        rows.count++;
      }
      return;
    }
    const m = HEADER.exec(text);
    if (m) {
      close();
      name = m[1]!;
      hash = createHash('sha256');
    } else if (!RANDOM_LINE.test(text)) {
      hash.update(text + '\n', 'latin1');
      if (COPY_FROM_STDIN.test(text)) rows = { sum: 0n, count: 0 };
    }
  };
  for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
    const lines = (rest + chunk.toString('latin1')).split('\n');
    rest = lines.pop()!;
    for (const l of lines) line(l);
  }
  if (rest) line(rest);
  close();
  const code = await exited;
  if (code !== 0) throw toolFailed(path, code, stderr.toString());
  return digests;
}
