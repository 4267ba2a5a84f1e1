// Row checksums by method, against a real PostgreSQL: which columns get the
// cheap binary hash and which the text form ('record' with textColumns), and
// that every form gives the same checksum after a real pg_dump/pg_restore round
// trip (drill and restore), while an enum's binary hash really would not.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { runRestore } from '../../src/modes/restore.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { findBinDir } from '../../src/postgres/binaries.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import {
  CHECKSUM_SETTINGS,
  LEGACY_CHECKSUM_SETTINGS,
  ROW_HASH,
  pinChecksumSettings,
  textHashedColumns,
  tableKey,
  tableStats,
} from '../../src/postgres/stats.js';
import type { Manifest } from '../../src/archive/manifest.js';
import { startCluster, withClient } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';
import { plainDump } from '../helpers/dump.js';

const SCHEMA = `
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN mood_d AS mood;
CREATE TYPE pair AS (a int, b text);
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- Every column here hashes the same after a restore: 'record'.
CREATE TABLE wide (
  id bigint PRIMARY KEY, small smallint, n numeric, f4 real, f8 double precision, t text, vc varchar(20), c char(5),
  b bytea, ok boolean, d date, ts timestamp, tstz timestamptz, iv interval, tm time, u uuid, ip inet, net cidr,
  mac macaddr, j jsonb, tags text[], vtags varchar[], grid int[][], p positive, o oid, nm name
);
INSERT INTO wide
SELECT g, g % 100, g * 1.5, CASE g % 4 WHEN 0 THEN 'NaN' WHEN 1 THEN '-0' ELSE g / 3.0 END, g / 7.0, 'row ' || g, 'v' || g, 'c' || (g % 9),
       decode(md5(g::text), 'hex'), g % 2 = 0, date '2026-01-01' + g, timestamp '2026-01-01' + g * interval '1 minute',
       timestamptz '2026-01-01 00:00+00' + g * interval '1 hour', g * interval '1 second', time '00:00' + g * interval '1 second',
       md5(g::text)::uuid, ('10.0.' || (g % 250) || '.1')::inet, ('10.' || (g % 250) || '.0.0/16')::cidr,
       '08:00:2b:01:02:03'::macaddr, jsonb_build_object('g', g, 'tags', jsonb_build_array('x', g)), ARRAY['a' || g, NULL, 'b'],
       ARRAY['v' || g]::varchar[], ARRAY[[g, g + 1], [g + 2, g + 3]], g, g, 'name' || g
  FROM generate_series(1, 300) g;
CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;

-- Each of these has one column that needs the text form: 'text'.
CREATE TABLE with_enum (id int, m mood);
INSERT INTO with_enum SELECT g, (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood FROM generate_series(1, 50) g;
CREATE TABLE with_enum_array (id int, ms mood[]);
INSERT INTO with_enum_array VALUES (1, '{sad,happy}');
CREATE TABLE with_enum_domain (id int, m mood_d);
INSERT INTO with_enum_domain VALUES (1, 'ok');
CREATE TABLE with_json (id int, j json);
INSERT INTO with_json VALUES (1, '{"a": 1,  "b": [1, 2]}');
CREATE TABLE with_xml (id int, x xml);
INSERT INTO with_xml VALUES (1, '<a>1</a>');
CREATE TABLE with_point (id int, p point);
INSERT INTO with_point VALUES (1, '(1,2)');
CREATE TABLE with_composite (id int, p pair);
INSERT INTO with_composite VALUES (1, ROW(1, 'x'));
CREATE TABLE with_range (id int, r int4range);
INSERT INTO with_range VALUES (1, '[1,5)');
CREATE TABLE with_regclass (id int, r regclass);
INSERT INTO with_regclass VALUES (1, 'wide'::regclass);
CREATE TABLE with_bits (id int, b bit varying);
INSERT INTO with_bits VALUES (1, B'1011');
CREATE TABLE with_ci_text (id int, t text COLLATE ci);
INSERT INTO with_ci_text VALUES (1, 'Hello'), (2, 'hello');
CREATE TABLE with_many (id int, m mood, note text, j json, "Odd Name" mood, "bd_row_" text);
INSERT INTO with_many SELECT g, 'ok', 'n' || g, '{"g": 1}', 'sad', 'x' FROM generate_series(1, 20) g;

-- Redacted at backup time: hashed over its redacted text form.
CREATE TABLE api_tokens (id int PRIMARY KEY, token text NOT NULL);
INSERT INTO api_tokens SELECT g, md5(g::text) FROM generate_series(1, 10) g;
`;

/** Tables whose every column hashes as binary. */
const BINARY = ['wide', 'no_columns'];
/** Tables with 'record' checksums and the columns hashed through their text form. */
const TEXT_COLUMNS: Record<string, string[]> = {
  with_enum: ['m'],
  with_enum_array: ['ms'],
  with_enum_domain: ['m'],
  with_json: ['j'],
  with_xml: ['x'],
  with_point: ['p'],
  with_composite: ['p'],
  with_range: ['r'],
  with_regclass: ['r'],
  with_bits: ['b'],
  with_ci_text: ['t'],
  with_many: ['m', 'j', 'Odd Name'],
};
const TABLES = BINARY.length + Object.keys(TEXT_COLUMNS).length + 1;

describe('row checksum methods', () => {
  let cluster: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let url: string;
  let storage: string;
  let manifest: Manifest;

  before(async () => {
    cluster = await startCluster();
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE types'));
    url = cluster.url('types');
    await withClient(url, (c) => c.query(SCHEMA));
    work = await tempDir();
    storage = join(work.path, 'backups');
    manifest = (
      await runBackup(
        buildConfig((n) => ({ 'database-url': url, storage, 'redact-columns': 'api_tokens.token' })[n], {}),
        { logger: new MemoryLogger() },
      )
    ).manifest;
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('hashes binary values, except the columns whose binary hash would not survive a restore', async () => {
    const plans = await withClient(url, async (c) => textHashedColumns(c, Number((await c.query('SHOW server_version_num')).rows[0].server_version_num)));
    for (const name of BINARY) assert.deepEqual(plans.get(tableKey({ schema: 'public', name })), [], name);
    for (const [name, columns] of Object.entries(TEXT_COLUMNS)) assert.deepEqual(plans.get(tableKey({ schema: 'public', name })), columns, name);
    const recorded = (name: string) => manifest.tables.find((t) => t.name === name)!;
    for (const name of BINARY) assert.deepEqual([recorded(name).checksumMethod, recorded(name).textColumns], ['record', undefined], name);
    for (const [name, columns] of Object.entries(TEXT_COLUMNS))
      assert.deepEqual([recorded(name).checksumMethod, recorded(name).textColumns], ['record', columns], name);
    assert.equal(recorded('api_tokens').checksumMethod, undefined, 'a redacted table keeps the text form');
    assert.equal(manifest.formatVersion, 4);
    // Before PostgreSQL 14 there is no hash_record_extended: every table keeps 'text'.
    assert.equal((await withClient(url, (c) => textHashedColumns(c, 130000))).size, 0);
  });

  test('a drill in a fresh cluster reproduces every checksum, binary, mixed and text', async () => {
    const r = await runDrill(
      buildConfig((n) => ({ mode: 'restore-drill', storage, 'report-dir': join(work.path, 'reports') })[n], {}),
      { logger: new MemoryLogger() },
    );
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.equal(r.report.tables.length, TABLES);
    assert.ok(r.report.tables.every((t) => t.status === 'passed' && t.restoredChecksum === t.expectedChecksum));
  });

  test('a restore passes its in-transaction gate and post-restore check, binary, mixed and text', async () => {
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE target'));
    const result = await runRestore(
      buildConfig(
        (n) => ({ mode: 'restore', storage, 'database-url': cluster.url('target'), parts: 'database', 'report-dir': join(work.path, 'reports') })[n],
        {},
      ),
      {
        logger: new MemoryLogger(),
      },
    );
    const report = result.report!;
    assert.equal(report.status, 'passed', report.failures.join('\n'));
    assert.ok(report.tables.every((t) => t.status === 'passed'));
  });

  test('a format-1 backup (every checksum over the row text, no checksumMethod) still drills', async () => {
    // Rewrite this backup's manifest as the previous version wrote it: text checksums only.
    const old = join(work.path, 'format-1');
    await cp(storage, old, { recursive: true });
    const path = join(old, 'default', manifest.id, 'manifest.json');
    const m = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    m.formatVersion = 1;
    delete m.checksumSettings;
    delete m.digest; // format 1 had no digest (a digest present is always checked)
    m.tables = await withClient(url, async (c) => {
      await pinChecksumSettings(c, LEGACY_CHECKSUM_SETTINGS); // what format 1 hashed under
      const out = [];
      for (const t of m.tables) {
        const { checksumMethod: _, textColumns: __, columns: ___, unverifiableColumns: ____, ...rest } = t;
        // Text checksums of the source; the redacted table's is already over its (redacted) text form.
        out.push(t.checksumMethod ? { ...rest, checksum: (await tableStats(c, { schema: t.schema, name: t.name })).checksum } : rest);
      }
      return out;
    });
    assert.ok(m.tables.every((t) => t.checksumMethod === undefined && t.textColumns === undefined && t.columns === undefined));
    await writeFile(path, JSON.stringify(m, null, 2));
    const r = await runDrill(
      buildConfig((n) => ({ mode: 'restore-drill', storage: old, 'report-dir': join(work.path, 'reports') })[n], {}),
      { logger: new MemoryLogger() },
    );
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    // And a record checksum where the manifest says text is a mismatch: the method really is read from the manifest.
    const wide = m.tables.find((t) => t.name === 'wide')!;
    wide.checksum = manifest.tables.find((t) => t.name === 'wide')!.checksum;
    await writeFile(path, JSON.stringify(m, null, 2));
    const bad = await runDrill(
      buildConfig((n) => ({ mode: 'restore-drill', storage: old, 'report-dir': join(work.path, 'reports') })[n], {}),
      { logger: new MemoryLogger() },
    );
    assert.equal(bad.report.status, 'failed');
    assert.deepEqual(
      bad.report.tables.filter((t) => t.status !== 'passed').map((t) => t.name),
      ['wide'],
    );
  });

  test('a changed value in a record-hashed table changes its checksum', async () => {
    const wide = manifest.tables.find((t) => t.name === 'wide')!;
    await withClient(url, async (c) => {
      await pinChecksumSettings(c, CHECKSUM_SETTINGS);
      assert.equal((await tableStats(c, wide)).checksum, wide.checksum);
      await c.query(`UPDATE public.wide SET tags = ARRAY['a1', NULL, 'B'] WHERE id = 1`);
      assert.notEqual((await tableStats(c, wide)).checksum, wide.checksum);
      await c.query(`UPDATE public.wide SET tags = ARRAY['a1', NULL, 'b'] WHERE id = 1`);
      assert.equal((await tableStats(c, wide)).checksum, wide.checksum);
      // And in a column hashed as text (an enum), with the others binary.
      const many = manifest.tables.find((t) => t.name === 'with_many')!;
      assert.equal((await tableStats(c, many)).checksum, many.checksum);
      await c.query(`UPDATE public.with_many SET "Odd Name" = 'happy' WHERE id = 7`);
      assert.notEqual((await tableStats(c, many)).checksum, many.checksum);
      await c.query(`UPDATE public.with_many SET "Odd Name" = 'sad' WHERE id = 7`);
      assert.equal((await tableStats(c, many)).checksum, many.checksum);
    });
  });

  test('why enum columns are hashed as text: their binary hash changes across a restore', async () => {
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE enum_copy'));
    const pgRestore = await findBinDir({ tools: ['pg_restore'], wanted: manifest.source.major, purpose: 'test' });
    execFileSync(join(pgRestore.dir, 'pg_restore'), [
      '--no-owner',
      '--exit-on-error',
      '-d',
      cluster.url('enum_copy'),
      plainDump(join(storage, 'default', manifest.id)),
    ]);
    const sums = async (u: string) =>
      withClient(u, async (c) => {
        const q = (method: 'text' | 'record') => c.query(`SELECT sum(${ROW_HASH[method]}::numeric)::text AS s FROM with_enum AS bd_row_`);
        return { text: (await q('text')).rows[0].s, record: (await q('record')).rows[0].s };
      });
    const [source, copy] = [await sums(url), await sums(cluster.url('enum_copy'))];
    assert.equal(copy.text, source.text);
    assert.notEqual(copy.record, source.record);
  });
});
