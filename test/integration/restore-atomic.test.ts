// Restore is all-or-nothing for every shape of database (issue 10): whatever
// fails and wherever (the gate, post-data, a lock timeout, the connection
// dropped, SIGINT/SIGTERM to the CLI), the target is exactly as before, by
// the fingerprint the issue defines (pg_dump --serializable-deferrable output
// plus every sequence's state). Large objects are present in every case:
// pg_restore's script wraps their data in a BEGIN/COMMIT of its own.
import { withDigest } from '../../src/archive/manifest.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runRestore, type RestoreDeps } from '../../src/modes/restore.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { BackupDrillError, DatabaseError, IntegrityError } from '../../src/errors.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { connect, type Client } from '../../src/postgres/connect.js';
import { fingerprintDatabase, fingerprintDifferences, type Fingerprint } from '../../src/postgres/fingerprint.js';
import { EARLY_COMMIT_MARK, PsqlExited, PsqlSession, TransactionEscaped } from '../../src/restore/psql.js';
import { guardScript } from '../../src/restore/script-guard.js';
import { serverBinDir, startCluster, withClient } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';

// picky() lets one backup fail (or stall) in post-data on chosen targets only:
// the index on it is built after the data, in the restore's session.
const SOURCE_SQL = `
CREATE FUNCTION public.picky(n int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF n = 1 THEN
    CASE current_setting('bd_test.index', true)
      WHEN 'fail' THEN RAISE EXCEPTION 'injected failure: this index cannot be built here';
      WHEN 'slow' THEN PERFORM pg_sleep(60);
      ELSE NULL;
    END CASE;
  END IF;
  RETURN n;
END $$;
CREATE TABLE public.items (id serial PRIMARY KEY, label text NOT NULL);
INSERT INTO public.items (label) SELECT 'backup item ' || g FROM generate_series(1, 40) g;
CREATE INDEX items_picky ON public.items (public.picky(id));
SELECT lo_from_bytea(0, 'x');
SELECT lo_from_bytea(0, convert_to(repeat('large object of the backup ', 2000), 'UTF8'));
`;

// The target: other rows, a newer table, large objects of its own, a moved sequence.
const TARGET_SQL = `
CREATE TABLE public.items (id serial PRIMARY KEY, label text NOT NULL, added text);
INSERT INTO public.items (label, added) SELECT 'live item ' || g, 'later' FROM generate_series(1, 25) g;
CREATE TABLE public.newer_feature (id bigserial PRIMARY KEY, note text);
INSERT INTO public.newer_feature (note) SELECT 'note ' || g FROM generate_series(1, 10) g;
SELECT setval('public.newer_feature_id_seq', 777);
SELECT lo_from_bytea(0, 'live large object');
COMMENT ON TABLE public.newer_feature IS 'added after the backup';
`;

describe('restore is all-or-nothing', () => {
  let cluster: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let storage: string;
  let tampered: string;
  let dbCount = 0;

  const config = (values: Record<string, string>) =>
    buildConfig(
      (name) =>
        ({
          mode: 'restore',
          storage,
          'report-dir': join(work.path, 'reports'),
          force: 'true',
          'ignore-schema-mismatch': 'true',
          parts: 'database',
          ...values,
        })[name],
      {},
    );
  const deps = (extra: Omit<Partial<RestoreDeps>, 'logger'> = {}): RestoreDeps & { logger: MemoryLogger } => ({ ...extra, logger: new MemoryLogger() });

  async function liveTarget(setting?: 'fail' | 'slow'): Promise<string> {
    const name = `live${++dbCount}`;
    await withClient(cluster.url(), async (c) => {
      await c.query(`CREATE DATABASE ${name}`);
      if (setting) await c.query(`ALTER DATABASE ${name} SET bd_test.index = '${setting}'`);
    });
    const url = cluster.url(name);
    await withClient(url, (c) => c.query(TARGET_SQL));
    return url;
  }
  const fingerprint = (url: string) => fingerprintDatabase({ databaseUrl: url });
  function assertUnchanged(after: Fingerprint, before: Fingerprint): void {
    assert.deepEqual(fingerprintDifferences(before, after), []);
    assert.equal(after.digest, before.digest);
  }
  /** The restore's own session, once it sleeps in post-data (the data and large objects are in by then). */
  async function waitForSleepingRestore(admin: Client): Promise<number> {
    for (let i = 0; i < 400; i++) {
      const { rows } = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'backup-drill restore' AND wait_event = 'PgSleep'",
      );
      if (rows[0]) return rows[0].pid;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the restore never reached post-data');
  }
  async function noRestoreSessionLeft(): Promise<void> {
    await withClient(cluster.url(), async (c) => {
      const { rows } = await c.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'backup-drill restore'");
      assert.equal(rows.length, 0, 'the restore left no session behind');
    });
  }

  before(async () => {
    work = await tempDir('bd-restore-atomic-');
    storage = join(work.path, 'backups');
    cluster = await startCluster();
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE source'));
    const sourceUrl = cluster.url('source');
    await withClient(sourceUrl, (c) => c.query(SOURCE_SQL));
    const id = (
      await runBackup(
        buildConfig((n) => ({ 'database-url': sourceUrl, storage })[n], {}),
        { logger: new MemoryLogger() },
      )
    ).id;
    // A copy whose manifest disagrees with the dump: the in-transaction gate rejects it, after everything loaded.
    tampered = join(work.path, 'tampered');
    await cp(storage, tampered, { recursive: true });
    const manifestPath = join(tampered, 'default', id, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.tables.find((t: { name: string }) => t.name === 'items').checksum = '12345';
    await writeFile(manifestPath, JSON.stringify(withDigest(manifest))); // re-signed: the record lies, the file is intact
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test("the fingerprint sees one row, one large object byte, one sequence position; not the rows' physical order", async () => {
    const url = await liveTarget();
    const base = await fingerprint(url);
    await withClient(url, (c) => c.query("UPDATE public.items SET label = 'live item 1!' WHERE id = 1"));
    assert.deepEqual(fingerprintDifferences(base, await fingerprint(url)), ['changed: Name: items; Type: TABLE DATA; Schema: public; Owner: postgres']);
    // Put back (the row now lies elsewhere in the table: same content), and change one large object's byte.
    await withClient(url, async (c) => {
      await c.query("UPDATE public.items SET label = 'live item 1' WHERE id = 1");
      await c.query("SELECT lo_put(min(oid), 0, 'L') FROM pg_largeobject_metadata");
    });
    assert.deepEqual(fingerprintDifferences(base, await fingerprint(url)), ['changed: Name: BLOBS; Type: BLOBS; Schema: -; Owner: -']);
    await withClient(url, async (c) => {
      await c.query("SELECT lo_put(min(oid), 0, 'l') FROM pg_largeobject_metadata");
      await c.query("SELECT nextval('public.newer_feature_id_seq')");
    });
    const moved = await fingerprint(url);
    assert.ok(fingerprintDifferences(base, moved).length > 0);
    assert.ok(
      fingerprintDifferences(base, moved).every((d) => /newer_feature_id_seq/.test(d)),
      fingerprintDifferences(base, moved).join('\n'),
    );
    assert.notEqual(moved.digest, base.digest);
  });

  test('the gate rejects the data after large objects were loaded: rolled back, target unchanged', async () => {
    const url = await liveTarget();
    const before = await fingerprint(url);
    await assert.rejects(runRestore(config({ storage: tampered, 'database-url': url }), deps()), (e: unknown) => {
      assert.ok(e instanceof IntegrityError, String(e));
      assert.match(e.describe(), /did not match the backup's record.*rolled back.*public\.items.*different content checksum/s);
      assert.match(e.describe(), /unchanged/);
      return true;
    });
    assertUnchanged(await fingerprint(url), before);
    await noRestoreSessionLeft();
  });

  test('an index that fails to build in post-data: rolled back, target unchanged', async () => {
    const url = await liveTarget('fail');
    const before = await fingerprint(url);
    await assert.rejects(runRestore(config({ 'database-url': url }), deps()), (e: unknown) => {
      assert.ok(e instanceof DatabaseError, String(e));
      assert.match(e.describe(), /rolled back.*injected failure: this index cannot be built here.*unchanged/s);
      return true;
    });
    assertUnchanged(await fingerprint(url), before);
  });

  test('a lock held by another session: times out before changing anything', async () => {
    const url = await liveTarget();
    const before = await fingerprint(url);
    const app = await connect(url);
    try {
      await app.query('BEGIN');
      await app.query('LOCK TABLE public.newer_feature IN ACCESS SHARE MODE');
      await assert.rejects(runRestore(config({ 'database-url': url }), deps({ lockTimeout: '300ms' })), (e: unknown) => {
        assert.ok(e instanceof DatabaseError, String(e));
        assert.match(e.describe(), /Timed out \(300ms\) waiting for locks.*unchanged/s);
        return true;
      });
    } finally {
      await app.query('ROLLBACK');
      await app.end();
    }
    assertUnchanged(await fingerprint(url), before);
  });

  test("the restore's connection terminated mid-restore: the server rolled it back, target unchanged", async () => {
    const url = await liveTarget('slow');
    const before = await fingerprint(url);
    const running = runRestore(config({ 'database-url': url }), deps());
    running.catch(() => undefined);
    await withClient(cluster.url(), async (admin) => {
      const pid = await waitForSleepingRestore(admin);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    });
    await assert.rejects(running, (e: unknown) => {
      assert.ok(e instanceof DatabaseError, String(e));
      assert.match(e.describe(), /connection .* was lost during the restore.*rolled back.*confirmed.*unchanged/is);
      return true;
    });
    assertUnchanged(await fingerprint(url), before);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} to the CLI mid-restore: stopped, rolled back, target unchanged`, async () => {
      const url = await liveTarget('slow');
      const before = await fingerprint(url);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/index.ts',
          'restore',
          'latest',
          '--storage',
          storage,
          '--database-url',
          url,
          '--parts',
          'database',
          '--yes',
          '--force',
          '--ignore-schema-mismatch',
          '--report-dir',
          join(work.path, 'reports'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      await withClient(cluster.url(), async (admin) => {
        await waitForSleepingRestore(admin);
      });
      child.kill(signal);
      const code = await exited;
      assert.notEqual(code, 0, stderr);
      assert.match(stderr, new RegExp(`Interrupted by ${signal}.*rolled back.*confirmed.*unchanged`, 'is'));
      assertUnchanged(await fingerprint(url), before);
      await noRestoreSessionLeft();
    });
  }

  test('the server-side net: a COMMIT that got past the guard rolls everything back; after a ROLLBACK nothing can write', async () => {
    const url = await liveTarget();
    const before = await fingerprint(url);
    const binDir = await serverBinDir();
    const early = PsqlSession.start({ binDir, databaseUrl: url });
    await early.begin();
    await early.write('DROP TABLE public.newer_feature;\nCOMMIT;\n');
    await assert.rejects(early.ready(), (e: unknown) => e instanceof PsqlExited && e.stderr.includes(EARLY_COMMIT_MARK));
    assertUnchanged(await fingerprint(url), before);

    const escaped = PsqlSession.start({ binDir, databaseUrl: url });
    await escaped.begin();
    await escaped.write('ROLLBACK;\nSELECT 1;\n');
    await assert.rejects(escaped.ready(), TransactionEscaped);
    await escaped.abort();
    const writer = PsqlSession.start({ binDir, databaseUrl: url });
    await writer.begin();
    await writer.write('ROLLBACK;\nDELETE FROM public.items;\n');
    await assert.rejects(writer.ready(), (e: unknown) => e instanceof PsqlExited && /read-only transaction/.test(e.stderr));
    assertUnchanged(await fingerprint(url), before);

    // And the session's own COMMIT goes through.
    const own = PsqlSession.start({ binDir, databaseUrl: url });
    await own.begin();
    await own.write('DELETE FROM public.newer_feature WHERE id = 1;\n');
    await own.ready();
    await own.commit();
    assert.deepEqual(fingerprintDifferences(before, await fingerprint(url)), [
      'changed: Name: newer_feature; Type: TABLE DATA; Schema: public; Owner: postgres',
    ]);
  });

  test('unit: the script guard strips only the outer transaction and refuses whatever could end it', async () => {
    const run = async (text: string, strip = true) => {
      const out: Buffer[] = [];
      const chunks = [...text].map((c) => Buffer.from(c, 'latin1')); // one byte at a time: state survives chunk edges
      async function* source() {
        yield* chunks;
      }
      for await (const b of guardScript(source(), { stripOuterTransaction: strip, what: 'the dump' })) out.push(b);
      return Buffer.concat(out).toString('latin1');
    };
    const head = '\\restrict abc\n\nBEGIN;\n\nSET lock_timeout = 0;\n';
    const tail = '\nCOMMIT;\n\n--\n\\unrestrict abc\n';
    const body = [
      "CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $_$ BEGIN COMMIT; RETURN 'x;'; END $_$;",
      'CREATE FUNCTION public.g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;',
      "COMMENT ON TABLE public.t IS 'COMMIT;\n;ROLLBACK; it''s fine';",
      'CREATE TABLE "COMMIT" (a int); /* COMMIT; /* nested */ ROLLBACK; */',
      'COPY public.t (a, "b;") FROM stdin;\nCOMMIT;\nEND;\n\\connect other\n\\.',
      "SELECT E'\\';COMMIT;', $1;",
      "SELECT pg_catalog.lowrite(0, '\\x78');",
    ].join('\n');
    assert.equal(await run(head + body + tail), '\\restrict abc\n\n\n\nSET lock_timeout = 0;\n' + body + '\n\n\n--\n\\unrestrict abc\n');
    const refused = async (text: string, pattern: RegExp, strip = true) =>
      assert.rejects(run(text, strip), (e: unknown) => {
        assert.ok(e instanceof BackupDrillError, String(e));
        assert.match(e.message, pattern);
        return true;
      });
    await refused(head + 'SELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;' + tail, /BEGIN/);
    await refused(head + 'SELECT 1;\nCOMMIT;\nSELECT 2;\n', /after the end of its transaction/);
    await refused(head + 'end ;' + tail, /END/);
    await refused(head + 'ROLLBACK;' + tail, /ROLLBACK/);
    await refused(head + '\\connect other\n' + tail, /\\connect/);
    await refused(head + "PREPARE TRANSACTION 'x';" + tail, /PREPARE TRANSACTION/);
    await refused(head + 'SET default_transaction_read_only = off;' + tail, /default_transaction_read_only/);
    await refused(head + 'VACUUM public.t;' + tail, /VACUUM/);
    await refused(head + 'CREATE INDEX CONCURRENTLY i ON t (a);' + tail, /CONCURRENTLY/);
    await refused('SELECT 1;\n', /not the BEGIN/);
    await refused('SELECT 1;\nBEGIN;\nSELECT 2;\n', /BEGIN/, false);
    assert.equal(await run('-- comment\nCOPY public.t (a) FROM stdin;\n1\n\\.\n', false), '-- comment\nCOPY public.t (a) FROM stdin;\n1\n\\.\n');
    await refused('SELECT 1', /ends inside/, false);
    // A data line that only looks like the end (an escaped backslash), CRLF line ends, and a statement too big to hold.
    const data = 'COPY public.t (a) FROM stdin;\r\n\\\\.\r\nCOMMIT;\r\n\\.\r\n';
    assert.equal(await run(data, false), data);
    await refused(data.slice(0, -4), /ends inside COPY data/, false);
    const huge = `COMMENT ON TABLE public.t IS '${'x;'.repeat(700_000)}';\n`;
    const out: Buffer[] = [];
    for await (const b of guardScript([Buffer.from(huge + 'SELECT 1;\n', 'latin1')], { stripOuterTransaction: false, what: 'the dump' })) out.push(b);
    assert.equal(Buffer.concat(out).toString('latin1'), huge + 'SELECT 1;\n');
  });
});
