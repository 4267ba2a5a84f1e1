// Format-3 checksums against a real PostgreSQL: they survive every legitimate
// difference of a restore (an inheritance child's column order, a database's
// or role's search_path behind reg* values, another lc_monetary), still catch
// a float's last digit, report a type whose text does not survive pg_dump as
// "not verifiable" instead of passing or failing, and format-2 manifests keep
// drilling (reporting what their checksums cannot reproduce).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { runRestore } from '../../src/modes/restore.js';
import { MemoryLogger } from '../../src/util/logger.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { LEGACY_CHECKSUM_SETTINGS, pinChecksumSettings, tableStats } from '../../src/postgres/stats.js';
import { withDigest, type Manifest } from '../../src/archive/manifest.js';
import { startCluster, withClient } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';

const SCHEMA = `
CREATE SCHEMA app;
CREATE TABLE app.things (id int);
CREATE FUNCTION app.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';
CREATE TYPE app.colour AS ENUM ('red', 'green');

-- reg* values: their text names objects through search_path.
CREATE TABLE public.refs (id int, c regclass, p regproc, t regtype, cs regclass[]);
INSERT INTO public.refs VALUES (1, 'app.things', 'app.answer', 'app.colour', ARRAY['app.things'::regclass, 'public.refs'::regclass]);

-- An inheritance child whose parent gained a column later: pg_dump recreates it as class, aa, a, bb.
CREATE TABLE public.parent (class text, aa int);
CREATE TABLE public.child (bb int) INHERITS (public.parent);
ALTER TABLE public.parent ADD COLUMN a int;
INSERT INTO public.child (class, aa, bb, a) SELECT 'c' || g, g, g * 2, g * 3 FROM generate_series(1, 50) g;
INSERT INTO public.parent VALUES ('p', 1, 2);

-- Floats hashed through their text form (inside a composite) and as binary.
CREATE TYPE public.vec AS (x float8, y float4);
CREATE TABLE public.measures (id int PRIMARY KEY, f float8, v public.vec);
INSERT INTO public.measures SELECT g, g / 7.0, ROW((g / 7.0)::float8, (g / 3.0)::float4)::public.vec FROM generate_series(1, 100) g;
INSERT INTO public.measures VALUES (1000, 0.14285714285714285, ROW(0.14285714285714285::float8, 1::float4)::public.vec);

CREATE TABLE public.docs (id int, body json);
INSERT INTO public.docs VALUES (1, '{"a": 1}');

CREATE TABLE public.plain (id int, note text);
INSERT INTO public.plain SELECT g, 'n' || g FROM generate_series(1, 20) g;
`;

describe('format-3 checksums', () => {
  let cluster: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let localeDir: string | undefined;

  const backup = async (url: string, storage: string): Promise<Manifest> =>
    (
      await runBackup(
        buildConfig((n) => ({ 'database-url': url, storage })[n], {}),
        { logger: new MemoryLogger() },
      )
    ).manifest;
  const drill = async (storage: string) =>
    (
      await runDrill(
        buildConfig((n) => ({ mode: 'restore-drill', storage, 'report-dir': join(work.path, 'reports') })[n], {}),
        {
          logger: new MemoryLogger(),
        },
      )
    ).report;
  const manifestPath = (storage: string, m: Manifest) => join(storage, 'default', m.id, 'manifest.json');
  const restore = (storage: string, db: string) =>
    runRestore(
      buildConfig((n) => ({ mode: 'restore', storage, 'database-url': cluster.url(db), parts: 'database', 'report-dir': join(work.path, 'reports') })[n], {}),
      { logger: new MemoryLogger() },
    );
  const statusOf = (report: { tables: Array<{ name: string; status: string }> }) => Object.fromEntries(report.tables.map((t) => [t.name, t.status]));

  before(async () => {
    work = await tempDir();
    // A locale whose money text differs from C's, for the server only (LOCPATH), when localedef can build it.
    try {
      localeDir = join(work.path, 'locales');
      await mkdir(localeDir);
      await chmod(work.path, 0o755); // the server runs as the postgres user
      execFileSync('localedef', ['-i', 'de_DE', '-f', 'UTF-8', join(localeDir, 'de_DE.UTF-8')], { stdio: 'ignore' });
      process.env.LOCPATH = localeDir;
    } catch {
      localeDir = undefined;
    }
    cluster = await startCluster();
    if (localeDir) delete process.env.LOCPATH;
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('an inheritance child with reordered columns and a database-level search_path with reg* values: the drill passes', async () => {
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE dbpath'));
    await withClient(cluster.url('dbpath'), (c) => c.query(SCHEMA));
    await withClient(cluster.url(), (c) => c.query('ALTER DATABASE dbpath SET search_path = app, public'));
    const storage = join(work.path, 'dbpath');
    const m = await backup(cluster.url('dbpath'), storage);
    assert.equal(m.formatVersion, 4);
    assert.equal(m.checksumSettings?.search_path, '');
    assert.equal(m.checksumSettings?.extra_float_digits, '3');
    const child = m.tables.find((t) => t.name === 'child')!;
    assert.deepEqual(child.columns, ['a', 'aa', 'bb', 'class'], 'canonical order: by name');
    const report = await drill(storage);
    assert.equal(report.status, 'passed', report.failures.join('\n'));
    assert.ok(
      report.tables.every((t) => t.status === 'passed'),
      JSON.stringify(report.tables.filter((t) => t.status !== 'passed')),
    );
    // And a restore into an empty database on the same server: its in-transaction gate and post-restore check agree.
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE dbpath_restored'));
    await withClient(cluster.url(), (c) => c.query('ALTER DATABASE dbpath_restored SET search_path = public, app'));
    const restored = await restore(storage, 'dbpath_restored');
    assert.equal(restored.report!.status, 'passed', restored.report!.failures.join('\n'));
  });

  test('a role-level search_path with reg* values: the drill passes', async () => {
    await withClient(cluster.url(), async (c) => {
      await c.query('CREATE DATABASE rolepath');
      await c.query(`CREATE ROLE pathy LOGIN SUPERUSER PASSWORD 'pathy-pass'`);
      await c.query('ALTER ROLE pathy SET search_path = app, public');
    });
    await withClient(cluster.url('rolepath'), (c) => c.query(SCHEMA));
    const url = new URL(cluster.url('rolepath'));
    url.username = 'pathy';
    url.password = 'pathy-pass';
    const storage = join(work.path, 'rolepath');
    await backup(url.toString(), storage);
    const report = await drill(storage);
    assert.equal(report.status, 'passed', report.failures.join('\n'));
  });

  test('money under another lc_monetary hashes as under C', async (t) => {
    if (!localeDir) return t.skip('localedef could not build de_DE.UTF-8 here (no locale sources)');
    await withClient(cluster.url(), async (c) => {
      await c.query('CREATE DATABASE money_c');
      await c.query('CREATE DATABASE money_de');
      await c.query(`ALTER DATABASE money_de SET lc_monetary = 'de_DE.UTF-8'`);
    });
    const rows = 'CREATE TABLE prices (id int, amount money); INSERT INTO prices SELECT g, g * 1234.56 FROM generate_series(1, 30) g;';
    for (const db of ['money_c', 'money_de']) await withClient(cluster.url(db), (c) => c.query(rows));
    // The database's setting really changes money's text, and the pinned checksum does not see it.
    const text = await withClient(cluster.url('money_de'), async (c) => {
      await c.query('RESET lc_monetary'); // connect() pins C; the database's own setting is what pg_dump sees
      return (await c.query(`SELECT amount::text AS t FROM prices WHERE id = 1`)).rows[0].t;
    });
    assert.match(text, /€/);
    const [c, de] = [await backup(cluster.url('money_c'), join(work.path, 'money_c')), await backup(cluster.url('money_de'), join(work.path, 'money_de'))];
    assert.equal(de.tables[0]!.checksum, c.tables[0]!.checksum);
    // (A drill of money_de would fail at pg_restore: pg_dump writes money in the source's lc_monetary, which a default server cannot read.)
  });

  test("a float's last digit changed is caught, naming the table", async () => {
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE floats'));
    await withClient(cluster.url('floats'), (c) => c.query(SCHEMA));
    const storage = join(work.path, 'floats');
    const before = await backup(cluster.url('floats'), storage);
    // 0.14285714285714285 → 0.14285714285714288: the next double up, in the text-hashed composite.
    await withClient(cluster.url('floats'), (c) => c.query('UPDATE public.measures SET v.x = 0.14285714285714288 WHERE id = 1000'));
    const changed = await backup(cluster.url('floats'), join(work.path, 'floats-changed'));
    const recorded = (m: Manifest) => m.tables.find((t) => t.name === 'measures')!;
    assert.notEqual(recorded(changed).checksum, recorded(before).checksum);
    // The first backup's dump with the changed data's record: the drill fails on that table alone.
    const m = JSON.parse(await readFile(manifestPath(storage, before), 'utf8')) as Manifest;
    m.tables.find((t) => t.name === 'measures')!.checksum = recorded(changed).checksum;
    await writeFile(manifestPath(storage, before), JSON.stringify(withDigest(m), null, 2));
    const report = await drill(storage);
    assert.equal(report.status, 'failed');
    assert.deepEqual(
      report.tables.filter((t) => t.status !== 'passed').map((t) => t.name),
      ['measures'],
    );
    assert.ok(
      report.failures.some((f) => f.includes('public.measures') && f.includes('different content checksum')),
      report.failures.join('\n'),
    );
  });

  test('a type whose text does not survive pg_dump is reported not verifiable; the drill passes and the rest is compared', async (t) => {
    if (!existsSync('/usr/share/postgresql/15/extension/unit.control')) {
      return t.skip('extension unit not installed: apt-get install -y postgresql-15-unit postgresql-15=<installed version>');
    }
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE lossy'));
    await withClient(cluster.url('lossy'), (c) =>
      c.query(`
        CREATE EXTENSION unit;
        CREATE TABLE public.readings (id int, v unit, note text);
        INSERT INTO public.readings SELECT g, (g * 1.2345678901234567 || ' km')::unit, 'r' || g FROM generate_series(1, 3000) g;
        CREATE TABLE public.exact_units (id int, v unit);
        INSERT INTO public.exact_units SELECT g, (g || ' m')::unit FROM generate_series(1, 100) g;`),
    );
    const storage = join(work.path, 'lossy');
    const m = await backup(cluster.url('lossy'), storage);
    const readings = m.tables.find((x) => x.name === 'readings')!;
    assert.deepEqual(readings.unverifiableColumns, [{ column: 'v', type: 'public.unit', reason: 'public.unit loses precision through pg_dump' }]);
    assert.deepEqual(readings.columns, ['id', 'note'], 'the rest of the table is hashed');
    const exact = m.tables.find((x) => x.name === 'exact_units')!;
    assert.equal(exact.unverifiableColumns, undefined, 'values that survive pg_dump keep being compared');
    assert.deepEqual(exact.columns, ['id', 'v']);
    const report = await drill(storage);
    assert.equal(report.status, 'passed', report.failures.join('\n'));
    const row = report.tables.find((x) => x.name === 'readings')!;
    assert.equal(row.status, 'passed');
    assert.deepEqual(row.notVerifiable, ['v: not verifiable: public.unit loses precision through pg_dump']);
    assert.ok(report.warnings.some((w) => w.includes('public.readings') && w.includes('not verifiable: public.unit loses precision through pg_dump')));
  });

  test('a format-2 manifest still drills: what its checksum cannot reproduce is not verifiable, a real difference still fails', async () => {
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE legacy'));
    await withClient(cluster.url('legacy'), (c) => c.query(SCHEMA));
    await withClient(cluster.url(), (c) => c.query('ALTER DATABASE legacy SET search_path = app, public'));
    const source = join(work.path, 'legacy-3');
    const m3 = await backup(cluster.url('legacy'), source);
    // The manifest as format 2 wrote it: table-order hashes under the session's own search_path, floats at 1 extra digit.
    const storage = join(work.path, 'legacy-2');
    await cp(source, storage, { recursive: true });
    const m = JSON.parse(await readFile(manifestPath(storage, m3), 'utf8')) as Manifest;
    m.formatVersion = 2;
    delete m.checksumSettings;
    m.tables = await withClient(cluster.url('legacy'), async (c) => {
      await pinChecksumSettings(c, LEGACY_CHECKSUM_SETTINGS);
      const out = [];
      for (const { columns: _, unverifiableColumns: __, ...t } of m.tables) out.push({ ...t, checksum: (await tableStats(c, t)).checksum });
      return out;
    });
    await writeFile(manifestPath(storage, m3), JSON.stringify(withDigest(m), null, 2));
    const report = await drill(storage);
    assert.equal(report.status, 'passed', report.failures.join('\n'));
    const status = statusOf(report);
    assert.equal(status.child, 'not-verified');
    assert.equal(status.refs, 'not-verified');
    assert.equal(status.plain, 'passed');
    assert.equal(status.measures, 'passed');
    const note = (name: string) => report.tables.find((t) => t.name === name)!.message ?? '';
    assert.match(note('child'), /^not verifiable \(format 2 checksum\): an inheritance child/);
    assert.match(note('refs'), /^not verifiable \(format 2 checksum\): its .*regclass.* values print through search_path/);
    assert.equal(report.totals.failedTables, 0);
    assert.ok(report.totals.notVerified >= 2);
    // A restore's in-transaction gate and post-restore check agree: committed, those two tables not verified.
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE legacy_restored'));
    const restored = (await restore(storage, 'legacy_restored')).report!;
    assert.equal(restored.status, 'passed', restored.failures.join('\n'));
    assert.deepEqual([statusOf(restored).child, statusOf(restored).refs, statusOf(restored).plain], ['not-verified', 'not-verified', 'passed']);
    // A real difference in a format-2 table still fails.
    m.tables.find((t) => t.name === 'plain')!.checksum = '12345';
    await writeFile(manifestPath(storage, m3), JSON.stringify(withDigest(m), null, 2));
    const bad = await drill(storage);
    assert.equal(bad.status, 'failed');
    assert.equal(statusOf(bad).plain, 'failed');
  });

  test('the restore gate tells a corrupt backup from one it could not reproduce', async () => {
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE gated'));
    await withClient(cluster.url('gated'), (c) => c.query(SCHEMA));
    const source = join(work.path, 'gated');
    const m = await backup(cluster.url('gated'), source);
    const tampered = async (name: string, change: (m: Manifest) => void) => {
      const storage = join(work.path, name);
      await cp(source, storage, { recursive: true });
      const copy = JSON.parse(await readFile(manifestPath(storage, m), 'utf8')) as Manifest;
      change(copy);
      await writeFile(manifestPath(storage, m), JSON.stringify(withDigest(copy), null, 2));
      await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${name}`));
      return restore(storage, name);
    };
    // Data that differs from the record: the backup is corrupt.
    await assert.rejects(
      tampered('gate_corrupt', (x) => (x.tables.find((t) => t.name === 'plain')!.checksum = '12345')),
      (e: Error) => {
        assert.match(e.message, /^The backup is corrupt: .*public\.plain: same row count, different content checksum/s);
        return true;
      },
    );
    // A json column hashed as binary (no such hash): the verification cannot reproduce the table, which is no evidence of damage.
    await assert.rejects(
      tampered('gate_unreproduced', (x) => delete x.tables.find((t) => t.name === 'docs')!.textColumns),
      (e: Error & { hint?: string }) => {
        assert.match(
          e.message,
          /^The verification could not reproduce 1 table\(s\).*not evidence that the backup is damaged.*public\.docs: could not be hashed as recorded/s,
        );
        assert.doesNotMatch(e.message, /corrupt/);
        return true;
      },
    );
    for (const db of ['gate_corrupt', 'gate_unreproduced'])
      assert.equal(
        await withClient(cluster.url(db), async (c) => (await c.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'plain'`)).rows[0].n),
        0,
        `${db} unchanged`,
      );
  });
});
