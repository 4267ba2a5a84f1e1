// Objects beyond tables' rows, on a real PostgreSQL: large objects, sequences,
// an extension configuration table, materialized views (fresh, stale, not
// populated, clock-dependent), policies, triggers and other structure are
// recorded at backup and compared by the drill; a changed large-object byte,
// sequence position or index definition on the restored copy fails the drill
// naming it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, constants, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import type { Manifest } from '../../src/archive/manifest.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill, type DrillDeps } from '../../src/modes/drill.js';
import { runRestore } from '../../src/modes/restore.js';
import { connect } from '../../src/postgres/connect.js';
import { EphemeralCluster } from '../../src/postgres/cluster.js';
import type { ObjectResult } from '../../src/report/types.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { serverBinDir, withClient } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';

const EXTENSION = 'bd_objects_test';

/** A tiny extension with a configuration table: two rows of its own, and user rows pg_dump must carry. */
async function installTestExtension(url: string): Promise<string | undefined> {
  const shareDir = await withClient(url, async (c) => (await c.query<{ s: string }>(`SELECT setting AS s FROM pg_config WHERE name = 'SHAREDIR'`)).rows[0]!.s);
  const dir = join(shareDir, 'extension');
  try {
    await access(dir, constants.W_OK);
  } catch {
    return undefined;
  }
  await writeFile(join(dir, `${EXTENSION}.control`), `comment = 'backup-drill test'\ndefault_version = '1.0'\nrelocatable = false\n`, { mode: 0o644 });
  await writeFile(
    join(dir, `${EXTENSION}--1.0.sql`),
    `CREATE TABLE bd_conf (id int PRIMARY KEY, name text NOT NULL, builtin boolean NOT NULL DEFAULT false);
INSERT INTO bd_conf VALUES (1, 'shipped', true), (2, 'also shipped', true);
SELECT pg_catalog.pg_extension_config_dump('bd_conf', 'WHERE NOT builtin');
`,
    { mode: 0o644 },
  );
  return dir;
}

const SOURCE_SQL = `
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric NOT NULL DEFAULT 0);
INSERT INTO items (name, price) SELECT 'item ' || g, g FROM generate_series(1, 50) g;
CREATE MATERIALIZED VIEW stale_mv AS SELECT id, name FROM items;
INSERT INTO items (name, price) VALUES ('late', 7);
CREATE MATERIALIZED VIEW fresh_mv AS SELECT count(*) AS n, sum(price) AS total FROM items;
CREATE MATERIALIZED VIEW empty_mv AS SELECT 1 AS one WITH NO DATA;
CREATE MATERIALIZED VIEW clock_mv AS SELECT now() AS t;
CREATE INDEX items_name_idx ON items (lower(name));
CREATE SEQUENCE lonely START 5;
SELECT nextval('lonely'), nextval('lonely');
CREATE SEQUENCE untouched;
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_visible ON items USING (price >= 0);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE items IS 'things for sale';
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
SELECT lo_from_bytea(0, 'hello'), lo_from_bytea(0, ''), lo_from_bytea(0, decode(repeat('ab', 1500000), 'hex'));
`;

function drillConfig(storage: string, reportDir: string) {
  return buildConfig((name) => ({ mode: 'restore-drill', storage, 'report-dir': reportDir })[name], {});
}

function find(objects: ObjectResult[] | undefined, kind: string, name: string): ObjectResult {
  const r = objects?.find((o) => o.kind === kind && o.name === name);
  assert.ok(r, `no ${kind} result for ${name} in ${JSON.stringify(objects, null, 1)}`);
  return r;
}

describe('objects beyond rows', () => {
  let work: { path: string; remove(): Promise<void> };
  let source: EphemeralCluster;
  let extensionDir: string | undefined;
  let storage: string;
  let manifest: Manifest;
  let bigLo: number;
  let drilled: ObjectResult[] | undefined;

  before(async () => {
    work = await tempDir();
    await chmod(work.path, 0o755); // the server runs as the postgres user
    storage = join(work.path, 'backups');
    // In a folder of its own: other runs' stale-cluster cleanup on this machine never sees it.
    source = await EphemeralCluster.start({ binDir: await serverBinDir(), parentDir: join(work.path, 'clusters') });
    extensionDir = await installTestExtension(source.url());
    await withClient(source.url(), (c) => c.query('CREATE DATABASE app'));
    const url = source.url('app');
    await withClient(url, async (c) => {
      await c.query(SOURCE_SQL);
      await c.query('ALTER DATABASE app SET work_mem = 8192');
      if (extensionDir) await c.query(`CREATE EXTENSION ${EXTENSION}; INSERT INTO bd_conf (id, name) VALUES (100, 'added by the user')`);
      bigLo = Number((await c.query<{ oid: string }>('SELECT oid::text FROM pg_largeobject_metadata ORDER BY oid DESC LIMIT 1')).rows[0]!.oid);
    });
    manifest = (
      await runBackup(
        buildConfig((n) => ({ 'database-url': url, storage })[n], {}),
        { logger: new MemoryLogger() },
      )
    ).manifest;
  });
  after(async () => {
    await source?.stop().catch(() => undefined);
    if (extensionDir) for (const f of [`${EXTENSION}.control`, `${EXTENSION}--1.0.sql`]) await rm(join(extensionDir, f), { force: true });
    await work?.remove();
  });

  test('the backup records them in its snapshot', () => {
    const o = manifest.objects!;
    assert.equal(o.largeObjects?.count, 3);
    assert.equal(o.largeObjects?.bytes, 5 + 1_500_000);
    assert.equal(o.largeObjects?.items?.length, 3);
    const seq = (name: string) => o.sequences.find((s) => s.name === name);
    assert.deepEqual(seq('lonely'), { schema: 'public', name: 'lonely', lastValue: '6', isCalled: true });
    assert.deepEqual(seq('untouched'), { schema: 'public', name: 'untouched', lastValue: '1', isCalled: false });
    assert.equal(seq('items_id_seq')?.lastValue, '51');
    const mv = (name: string) => o.materializedViews.find((v) => v.name === name)!;
    assert.equal(mv('fresh_mv').fresh, true);
    assert.equal(mv('fresh_mv').rows, 1);
    assert.equal(mv('stale_mv').fresh, false);
    assert.match(mv('stale_mv').reason!, /stored rows were not/);
    assert.equal(mv('empty_mv').populated, false);
    assert.match(mv('clock_mv').reason!, /now/);
    assert.equal(o.structure.indexes?.objects?.['public.items_name_idx'] !== undefined, true);
    assert.equal(o.structure.policies?.count, 1);
    assert.equal(o.structure.triggers?.count, 1);
    assert.ok(o.structure.functions!.count >= 1);
    assert.ok(o.notVerifiable?.some((n) => n.kind === 'database settings' && /work_mem/.test(n.reason)));
  });

  test('the drill compares them and passes', async () => {
    const r = await runDrill(drillConfig(storage, join(work.path, 'reports')), { logger: new MemoryLogger() });
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    const objects = r.report.objects;
    assert.equal(find(objects, 'large-objects', 'large objects').status, 'passed');
    assert.equal(find(objects, 'sequences', 'sequences').status, 'passed');
    assert.equal(find(objects, 'materialized-view', 'public.fresh_mv').status, 'passed');
    const stale = find(objects, 'materialized-view', 'public.stale_mv');
    assert.equal(stale.status, 'not-compared');
    assert.match(stale.message, /refreshed on restore, not compared/);
    assert.equal(find(objects, 'materialized-view', 'public.clock_mv').status, 'not-compared');
    assert.equal(find(objects, 'materialized-view', 'public.empty_mv').status, 'passed');
    for (const kind of ['indexes', 'constraints', 'triggers', 'policies', 'functions', 'views', 'comments', 'types', 'columns', 'sequences'])
      assert.equal(find(objects, 'structure', kind).status, 'passed', kind);
    assert.equal(find(objects, 'owners-privileges', 'owners and privileges').status, 'not-compared');
    assert.ok(objects!.some((x) => x.status === 'not-verifiable' && /database settings/.test(x.name)));
    drilled = objects;
  });

  test('an extension configuration table: the rows pg_dump carries are recorded and compared', (t) => {
    if (!extensionDir) return t.skip(`the server's extension folder is not writable: cannot install the test extension ${EXTENSION}`);
    const conf = manifest.objects?.extensionConfig?.find((x) => x.name === 'bd_conf');
    assert.equal(conf?.rows, 1, 'only the user row is what pg_dump carries');
    assert.deepEqual(conf?.extensionConfig, { extension: EXTENSION, condition: 'WHERE NOT builtin' });
    assert.equal(find(drilled, 'extension-config', 'public.bd_conf').status, 'passed');
  });

  async function tamperedDrill(sql: (url: string) => string): Promise<string> {
    const deps: DrillDeps = {
      logger: new MemoryLogger(),
      afterRestore: async (url) => {
        const c = await connect(url);
        try {
          await c.query(sql(url));
        } finally {
          await c.end();
        }
      },
    };
    const r = await runDrill(drillConfig(storage, join(work.path, 'reports')), deps);
    assert.equal(r.report.status, 'failed');
    return r.report.failures.join('\n');
  }

  test('a changed large-object byte, sequence position, index definition and extension configuration row on the restored copy each fail the drill, named', async () => {
    const failures = await tamperedDrill(() =>
      [
        `SELECT lo_put(${bigLo}, 1200000, '\\x00')`,
        `SELECT setval('public.lonely', 7)`,
        'DROP INDEX public.items_name_idx',
        'CREATE INDEX items_name_idx ON public.items (upper(name))',
        // Only in the restored copy: noted, not a failure (the backup's own objects are what must come back).
        `COMMENT ON INDEX public.items_pkey IS 'added after the restore'`,
        ...(extensionDir ? [`UPDATE public.bd_conf SET name = 'changed' WHERE id = 100`] : []),
      ].join(';\n'),
    );
    assert.match(failures, new RegExp(`large objects: .*content differs: large object ${bigLo}`));
    assert.match(failures, /sequences: 1 of \d+ sequences differ: public\.lonely: last_value 6 in the backup, last_value 7 restored/);
    assert.match(failures, /structure \(indexes\): index public\.items_name_idx differs/);
    if (extensionDir) assert.match(failures, /public\.bd_conf: rows WHERE NOT builtin: same row count, different content checksum/);
    assert.equal(failures.split('\n').length, extensionDir ? 4 : 3, failures);
    assert.doesNotMatch(failures, /comment/);
  });

  test('a restore into an empty database verifies them too, without refreshing views on the live target', async () => {
    await withClient(source.url(), (c) => c.query('CREATE DATABASE restored'));
    const config = buildConfig(
      (name) => ({ mode: 'restore', storage, 'database-url': source.url('restored'), parts: 'database', 'report-dir': join(work.path, 'reports') })[name],
      {},
    );
    const r = await runRestore(config, { logger: new MemoryLogger() });
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    const objects = r.report?.objects;
    assert.equal(find(objects, 'large-objects', 'large objects').status, 'passed');
    assert.equal(find(objects, 'sequences', 'sequences').status, 'passed');
    assert.equal(find(objects, 'structure', 'indexes').status, 'passed');
    assert.match(find(objects, 'materialized-view', 'public.fresh_mv').message, /compared by a drill/);
    if (extensionDir) assert.equal(find(objects, 'extension-config', 'public.bd_conf').status, 'passed');
  });
});
