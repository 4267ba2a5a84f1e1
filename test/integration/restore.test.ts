// Manual restores against a real PostgreSQL, with real pg_restore and psql:
// preview, guards, all-or-nothing (failures injected midway leave the target
// byte-for-byte as it was), dry-run, per-table restores, files swap.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, open, readFile, readdir, lstat, readlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runRestore, renderPreview, RestoreRefused, type RestoreDeps } from '../../src/modes/restore.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { DatabaseError, IntegrityError, UsageError, BackupDrillError, exitCodeOf } from '../../src/errors.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { connect } from '../../src/postgres/connect.js';
import { collectStats, listTables, schemaHash } from '../../src/postgres/stats.js';
import { createEncryptStream, generateIdentity, recipientOf } from '../../src/archive/age/index.js';
import { withDigest } from '../../src/archive/manifest.js';
import { HashingStream } from '../../src/archive/hashing.js';
import { parseToc } from '../../src/restore/toc.js';
import { findRefusals } from '../../src/restore/guards.js';
import { inspectTarget } from '../../src/restore/target.js';
import { rewriteIntoSchema, resolveTables } from '../../src/restore/tables.js';
import { createSeededDatabase, startCluster, withClient, TEST_PASSWORDS } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { storedDump } from '../helpers/dump.js';

const CHECKS = `checks:
  - name: canary login
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: TEST_CANARY_PASSWORD
`;

/** Everything a restore could change in a database, to compare before/after. */
async function fingerprint(url: string) {
  return withClient(url, async (c) => {
    const tables = await listTables(c);
    const stats = await collectStats([c], tables);
    const relations = (
      await c.query<{ r: string }>(
        `SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1`,
      )
    ).rows.map((r) => r.r);
    const sequences = (
      await c.query<{ s: string }>(`SELECT schemaname || '.' || sequencename || '=' || coalesce(last_value::text, '-') AS s FROM pg_sequences ORDER BY 1`)
    ).rows.map((r) => r.s);
    const schemas = (
      await c.query<{ s: string }>(`SELECT nspname || ':' || pg_get_userbyid(nspowner) || ':' || coalesce(nspacl::text, '') AS s FROM pg_namespace ORDER BY 1`)
    ).rows.map((r) => r.s);
    const events = (await c.query<{ e: string }>('SELECT evtname AS e FROM pg_event_trigger ORDER BY 1')).rows.map((r) => r.e);
    return { stats, hash: await schemaHash(c), relations, sequences, schemas, events };
  });
}

/** Every entry of a directory tree with its type and content digest. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = await lstat(p);
      if (s.isDirectory()) {
        out.push(`${r}/`);
        await walk(p, r);
      } else if (s.isSymbolicLink()) out.push(`${r} -> ${await readlink(p)}`);
      else
        out.push(
          `${r} ${createHash('sha256')
            .update(await readFile(p))
            .digest('hex')}`,
        );
    }
  };
  await walk(root, '');
  return out;
}

describe('restore', () => {
  let cluster: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let storage: string;
  let uploads: string;
  let backupId: string;
  let sourceUrl: string;
  let dbCount = 0;

  const deps = (extra: Omit<Partial<RestoreDeps>, 'logger'> = {}): RestoreDeps & { logger: MemoryLogger } => ({ ...extra, logger: new MemoryLogger() });
  const config = (values: Record<string, string>) =>
    buildConfig((name) => ({ mode: 'restore', storage, 'report-dir': join(work.path, 'reports'), ...values })[name], {});
  async function emptyDb(): Promise<string> {
    const name = `t${++dbCount}`;
    await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${name}`));
    return cluster.url(name);
  }
  /** Same app (schema and migrations) as the backup, different rows. */
  async function seededDb(): Promise<string> {
    return createSeededDatabase(cluster, `s${++dbCount}`, 5);
  }
  async function restoredDb(): Promise<string> {
    const url = await emptyDb();
    await runRestore(config({ 'database-url': url, parts: 'database' }), deps());
    return url;
  }
  async function uploadsCopy(extra = true): Promise<string> {
    const dir = join(work.path, `files-${++dbCount}`, 'uploads');
    await mkdir(dirname(dir), { recursive: true });
    await cp(uploads, dir, { recursive: true, verbatimSymlinks: true });
    if (extra) await writeFile(join(dir, 'added-after-backup.txt'), 'newer\n');
    return dir;
  }

  before(async () => {
    work = await tempDir('bd-restore-');
    storage = join(work.path, 'backups');
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    cluster = await startCluster();
    sourceUrl = await createSeededDatabase(cluster, 'app', 20);
    backupId = (
      await runBackup(
        buildConfig((n) => ({ 'database-url': sourceUrl, storage, 'files-path': uploads })[n], {}),
        { logger: new MemoryLogger() },
      )
    ).id;
    process.env.TEST_CANARY_PASSWORD = TEST_PASSWORDS.canary;
  });
  after(async () => {
    delete process.env.TEST_CANARY_PASSWORD;
    await cluster?.stop();
    await work?.remove();
  });

  test('into an empty database: preview first, one transaction, verified table by table, files and checks', async () => {
    const url = await emptyDb();
    const checks = join(work.path, 'checks.yml');
    await writeFile(checks, CHECKS);
    const filesPath = join(work.path, 'fresh-host', 'srv', 'uploads');
    const d = deps();
    let previewSeen = false;
    const r = await runRestore(config({ 'database-url': url, 'files-path': filesPath, checks }), { ...d, onPreview: () => (previewSeen = true) });
    assert.ok(previewSeen);
    assert.equal(r.dryRun, false);
    assert.equal(r.report?.kind, 'restore');
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    assert.equal(r.report?.tables.length, 8);
    assert.ok(r.report?.tables.every((t) => t.status === 'passed' && t.restoredRows === t.expectedRows && t.restoredChecksum === t.expectedChecksum));
    assert.equal(r.report?.checks.find((c) => c.name === 'canary login')?.status, 'passed');
    assert.equal(r.report?.files.status, 'passed');
    assert.equal(r.previousFilesPath, undefined);
    assert.deepEqual(await tree(filesPath), await tree(uploads));
    assert.ok(JSON.parse(await readFile(r.reportPath!, 'utf8')).kind === 'restore');
    // The restored database is the source's: same schema hash and migration head.
    const [before, restored] = [await fingerprint(sourceUrl), await fingerprint(url)];
    assert.deepEqual(restored.stats, before.stats);
    assert.equal(restored.hash, before.hash);
    // The preview was logged before any download, and told what matters.
    const text = d.logger.lines.join('\n');
    const previewAt = text.indexOf('Restore preview');
    assert.ok(previewAt >= 0 && previewAt < text.indexOf('Downloading and verifying'));
    assert.match(text, new RegExp(`backup ${backupId}`));
    assert.match(text, /Migration head: +20260301000000_add_billing \(prisma, 2 applied\)/);
    assert.match(text, /public\.tickets +80 rows/);
    assert.match(text, /Files: +6 files/);
    assert.match(text, /Encryption: +none/);
    assert.doesNotMatch(text, new RegExp(cluster.password));
    assert.deepEqual(r.preview.extensions, { used: [], missing: [] });
    assert.deepEqual(r.preview.refusals, []);
  });

  test('a non-empty target is refused without force, naming database and host, and is unchanged', async () => {
    const url = await seededDb();
    const before = await fingerprint(url);
    let asked = false;
    await assert.rejects(runRestore(config({ 'database-url': url }), deps({ confirm: async () => (asked = true) })), (e: unknown) => {
      assert.ok(e instanceof RestoreRefused && e instanceof UsageError);
      assert.equal(exitCodeOf(e), 2);
      const text = e.describe();
      assert.match(text, new RegExp(`database '${basename(new URL(url).pathname)}' on 127\\.0\\.0\\.1:${cluster.port}`));
      assert.match(text, /already has 9 user table\(s\).*force/);
      assert.doesNotMatch(text, new RegExp(cluster.password));
      assert.ok(e.preview && e.plan.length > 0);
      return true;
    });
    assert.equal(asked, false, 'refused before asking');
    assert.deepEqual(await fingerprint(url), before);
  });

  test('a schema or migration mismatch is refused even with force; ignore-schema-mismatch allows it', async () => {
    const url = await seededDb();
    await withClient(url, (c) =>
      c.query(
        `ALTER TABLE tickets ADD COLUMN sla_minutes int; INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name) VALUES ('3', 'c3', now(), '20261101000000_sla')`,
      ),
    );
    const before = await fingerprint(url);
    await assert.rejects(runRestore(config({ 'database-url': url, force: 'true' }), deps()), (e: unknown) => {
      assert.ok(e instanceof RestoreRefused);
      assert.match(e.message, /schema hash .* differs from the backup's/);
      assert.match(e.message, /migration head is 20261101000000_sla \(prisma\) where the backup's is 20260301000000_add_billing/);
      assert.match(e.message, /ignore-schema-mismatch together with force/);
      return true;
    });
    assert.deepEqual(await fingerprint(url), before);
    const r = await runRestore(config({ 'database-url': url, force: 'true', 'ignore-schema-mismatch': 'true' }), deps());
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    assert.equal((await fingerprint(url)).hash, (await fingerprint(sourceUrl)).hash);
  });

  test('a target its operator marked read-only (default_transaction_read_only) is refused even with force, and is unchanged', async () => {
    const url = await seededDb();
    const db = basename(new URL(url).pathname);
    await withClient(cluster.url(), (c) => c.query(`ALTER DATABASE "${db}" SET default_transaction_read_only = on`));
    try {
      const before = await fingerprint(url);
      await assert.rejects(runRestore(config({ 'database-url': url, force: 'true', 'ignore-schema-mismatch': 'true' }), deps()), (e: unknown) => {
        assert.ok(e instanceof RestoreRefused);
        assert.match(e.message, /is marked read-only: default_transaction_read_only is on/);
        assert.match(e.message, new RegExp(`ALTER DATABASE "${db}" RESET default_transaction_read_only`));
        return true;
      });
      assert.deepEqual(await fingerprint(url), before);
    } finally {
      await withClient(cluster.url(), (c) => c.query(`ALTER DATABASE "${db}" RESET default_transaction_read_only`));
    }
  });

  test('force replaces everything: nothing newer than the backup survives in the restored schemas', async () => {
    const url = await restoredDb();
    await withClient(url, async (c) => {
      await c.query('CREATE TABLE public.newer_feature (id int PRIMARY KEY, note text)');
      await c.query("INSERT INTO public.newer_feature VALUES (1, 'after the backup')");
      await c.query('CREATE TABLE billing.refunds (id int)');
      await c.query("CREATE FUNCTION public.added_later() RETURNS int LANGUAGE sql AS 'select 1'");
      await c.query("UPDATE tickets SET subject = 'changed' WHERE id < 5");
      await c.query('DELETE FROM audit_log WHERE id % 2 = 0');
      await c.query('CREATE SCHEMA reporting; CREATE TABLE reporting.kept (id int)');
    });
    const r = await runRestore(config({ 'database-url': url, force: 'true', 'ignore-schema-mismatch': 'true', parts: 'database' }), deps());
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    const after = await fingerprint(url);
    const source = await fingerprint(sourceUrl);
    assert.ok(!after.relations.some((x) => x.startsWith('public.newer_feature') || x.startsWith('billing.refunds')), 'newer tables are gone');
    assert.equal(await withClient(url, async (c) => (await c.query("SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'added_later'")).rows[0].n), 0);
    assert.deepEqual(
      after.stats.filter((s) => s.schema !== 'reporting'),
      source.stats,
    );
    assert.equal(after.sequences.join(), source.sequences.join());
    // A schema the backup does not have is left alone, and said so.
    assert.ok(after.relations.includes('reporting.kept:r'));
    assert.match(r.preview.warnings.join('\n'), /not in the backup are left as they are: reporting/);
    assert.deepEqual(r.report?.unexpectedTables, ['reporting.kept']);
    // public keeps its owner and privileges (PUBLIC may still use it).
    assert.deepEqual(
      after.schemas.filter((s) => s.startsWith('public:')),
      source.schemas.filter((s) => s.startsWith('public:')),
    );
  });

  test('a failure midway (after data is in) leaves the target and its files byte-for-byte as they were', async () => {
    const url = await restoredDb();
    await withClient(url, async (c) => {
      await c.query('CREATE TABLE public.newer_feature (id int)');
      await c.query('INSERT INTO public.newer_feature SELECT generate_series(1, 100)');
      await c.query("UPDATE tickets SET subject = 'edited after backup' WHERE id % 3 = 0");
      // An object on the target that makes the restore fail once the data is loaded (indexes come after data).
      await c.query('CREATE SCHEMA ops');
      await c.query(
        `CREATE FUNCTION ops.refuse_index() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure: no new indexes here'; END $$`,
      );
      await c.query("CREATE EVENT TRIGGER refuse_index ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION ops.refuse_index()");
    });
    const filesPath = await uploadsCopy();
    const before = await fingerprint(url);
    const filesBefore = await tree(filesPath);
    await assert.rejects(
      runRestore(config({ 'database-url': url, 'files-path': filesPath, force: 'true', 'ignore-schema-mismatch': 'true' }), deps()),
      (e: unknown) => {
        assert.ok(e instanceof DatabaseError, String(e));
        assert.match(e.describe(), /rolled back.*injected failure.*target is unchanged/s);
        return true;
      },
    );
    assert.deepEqual(await fingerprint(url), before);
    assert.deepEqual(await tree(filesPath), filesBefore);
    assert.deepEqual(await readdir(dirname(filesPath)), ['uploads'], 'no staging or .before dir left behind');
  });

  test('a target connection killed mid-restore leaves the target exactly as it was', async () => {
    const url = await restoredDb();
    await withClient(url, async (c) => {
      await c.query("UPDATE users SET name = 'renamed later' WHERE id < 3");
      await c.query('CREATE SCHEMA ops');
      await c.query('CREATE FUNCTION ops.slow_index() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); END $$');
      await c.query("CREATE EVENT TRIGGER slow_index ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION ops.slow_index()");
    });
    const before = await fingerprint(url);
    const running = runRestore(config({ 'database-url': url, force: 'true', parts: 'database' }), deps());
    running.catch(() => undefined);
    const admin = await connect(cluster.url());
    try {
      let killed = false;
      for (let i = 0; i < 300 && !killed; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const { rows } = await admin.query(
          "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'backup-drill restore' AND wait_event = 'PgSleep'",
        );
        killed = rows.length > 0;
      }
      assert.ok(killed, 'the restore reached the point after its data was loaded');
    } finally {
      await admin.end();
    }
    await assert.rejects(running, (e: unknown) => {
      assert.ok(e instanceof DatabaseError, String(e));
      assert.match(e.describe(), /connection .* was lost during the restore.*not committed.*unchanged/s);
      return true;
    });
    assert.deepEqual(await fingerprint(url), before);
  });

  test('dry-run verifies every part and prints the plan, but writes nothing (and reports what a real run would refuse)', async () => {
    const url = await seededDb();
    const filesPath = await uploadsCopy();
    const before = await fingerprint(url);
    const filesBefore = await tree(filesPath);
    let asked = false;
    const d = deps({ confirm: async () => (asked = true) });
    const r = await runRestore(config({ 'database-url': url, 'files-path': filesPath, 'dry-run': 'true' }), d);
    assert.equal(r.dryRun, true);
    assert.equal(r.report, undefined);
    assert.equal(asked, false);
    assert.equal(r.files?.status, 'passed');
    assert.equal(r.files?.restoredCount, 6);
    assert.match(r.plan[0]!, /DRY RUN/);
    assert.ok(r.plan.some((s) => /ONE transaction/.test(s)));
    assert.match(r.preview.refusals.join('\n'), /already has 9 user table\(s\)/);
    assert.match(d.logger.lines.join('\n'), /Plan:\n  1\. DRY RUN/);
    assert.deepEqual(await fingerprint(url), before);
    assert.deepEqual(await tree(filesPath), filesBefore);
    assert.deepEqual(await readdir(dirname(filesPath)), ['uploads']);
    // Into an empty database a dry run has nothing to refuse.
    const empty = await emptyDb();
    const r2 = await runRestore(config({ 'database-url': empty, 'dry-run': 'true', parts: 'database' }), deps());
    assert.deepEqual(r2.preview.refusals, []);
    assert.equal(await withClient(empty, async (c) => (await listTables(c)).length), 0);
  });

  test('per-table restore into a side schema: copies as they were in the backup; live tables untouched', async () => {
    const url = await restoredDb();
    await withClient(url, (c) => c.query('DELETE FROM billing.invoices WHERE number % 2 = 0; DELETE FROM audit_log WHERE id > 50'));
    const before = await fingerprint(url);
    const r = await runRestore(config({ 'database-url': url, tables: 'billing.invoices, audit_log', 'into-schema': 'recovered', parts: 'database' }), deps());
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    assert.deepEqual(r.report?.tables.map((t) => `${t.schema}.${t.name}`).sort(), [
      'recovered.audit_log_2025',
      'recovered.audit_log_2026',
      'recovered.invoices',
    ]);
    const after = await fingerprint(url);
    assert.deepEqual(
      after.stats.filter((s) => s.schema !== 'recovered'),
      before.stats,
      'live tables unchanged',
    );
    const source = await fingerprint(sourceUrl);
    const copy = after.stats.find((s) => s.schema === 'recovered' && s.name === 'invoices')!;
    const original = source.stats.find((s) => s.schema === 'billing' && s.name === 'invoices')!;
    assert.deepEqual([copy.rows, copy.checksum], [original.rows, original.checksum]);
    // The deleted rows can now be copied back by hand.
    const missing = await withClient(
      url,
      async (c) =>
        (await c.query('SELECT count(*)::int AS n FROM recovered.invoices r WHERE NOT EXISTS (SELECT 1 FROM billing.invoices b WHERE b.number = r.number)'))
          .rows[0].n,
    );
    assert.equal(missing, 10);
    // Again: the copies exist now, so it is refused without force.
    await assert.rejects(
      runRestore(config({ 'database-url': url, tables: 'billing.invoices', 'into-schema': 'recovered', parts: 'database' }), deps()),
      /already has invoices.*force/,
    );
  });

  test('per-table restore into the live target replaces just those rows; foreign keys from outside are refused', async () => {
    const url = await restoredDb();
    await withClient(url, (c) => c.query("DELETE FROM billing.invoices WHERE number > 1005; UPDATE users SET name = 'x' WHERE id = 3"));
    const before = await fingerprint(url);
    await assert.rejects(runRestore(config({ 'database-url': url, tables: 'public.tickets', force: 'true', parts: 'database' }), deps()), (e: unknown) => {
      assert.ok(e instanceof RestoreRefused);
      assert.match(e.message, /public\.attachments \(attachments_ticket_id_fkey → public\.tickets\)/);
      assert.match(e.message, /billing\.invoices/);
      return true;
    });
    await assert.rejects(
      runRestore(config({ 'database-url': url, tables: 'billing.invoices', parts: 'database' }), deps()),
      /replaces their rows .* Set force/,
    );
    assert.deepEqual(await fingerprint(url), before);
    const r = await runRestore(config({ 'database-url': url, tables: 'invoices', force: 'true', parts: 'database' }), deps());
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    const after = await fingerprint(url);
    const source = await fingerprint(sourceUrl);
    assert.deepEqual(
      after.stats.find((s) => s.name === 'invoices'),
      source.stats.find((s) => s.name === 'invoices'),
    );
    assert.deepEqual(
      after.stats.find((s) => s.name === 'users'),
      before.stats.find((s) => s.name === 'users'),
      'other tables untouched',
    );
  });

  test('files: swapped in by rename, the previous directory kept (or discarded when asked)', async () => {
    const filesPath = await uploadsCopy();
    await writeFile(join(filesPath, 'tickets/1/notes.txt'), 'edited after the backup\n');
    const previous = await tree(filesPath);
    const r = await runRestore(config({ 'files-path': filesPath, parts: 'files' }), deps());
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    assert.equal(r.report?.tables.length, 0);
    assert.deepEqual(await tree(filesPath), await tree(uploads));
    assert.ok(r.previousFilesPath);
    assert.match(r.previousFilesPath, new RegExp(`uploads\\.before-${backupId}-\\d{8}T\\d{6}Z$`));
    assert.deepEqual(await tree(r.previousFilesPath), previous);
    assert.deepEqual((await readdir(dirname(filesPath))).sort(), ['uploads', basename(r.previousFilesPath)].sort());

    const other = await uploadsCopy();
    const r2 = await runRestore(config({ 'files-path': other, parts: 'files', 'discard-previous-files': 'true' }), deps());
    assert.equal(r2.previousFilesPath, undefined);
    assert.deepEqual(await readdir(dirname(other)), ['uploads']);
    assert.deepEqual(await tree(other), await tree(uploads));
  });

  test('a corrupted part is refused before anything is written', async () => {
    const copy = join(work.path, 'corrupt');
    await cp(storage, copy, { recursive: true });
    for (const part of [storedDump(join(copy, 'default', backupId)), join(copy, 'default', backupId, 'files.tar')]) {
      const fh = await open(part, 'r+');
      const buf = Buffer.alloc(1);
      const at = part.endsWith('files.tar') ? 600 : 3000;
      await fh.read(buf, 0, 1, at);
      buf[0] = buf[0]! ^ 0xff;
      await fh.write(buf, 0, 1, at);
      await fh.close();
    }
    const url = await seededDb();
    const filesPath = await uploadsCopy();
    const before = await fingerprint(url);
    const filesBefore = await tree(filesPath);
    await assert.rejects(runRestore(config({ storage: copy, 'database-url': url, 'files-path': filesPath, force: 'true' }), deps()), (e: unknown) => {
      assert.ok(e instanceof IntegrityError, String(e));
      assert.match(e.message, /Part (database\.dump(\.zst)?|files\.tar) .* does not match its manifest/);
      return true;
    });
    assert.deepEqual(await fingerprint(url), before);
    assert.deepEqual(await tree(filesPath), filesBefore);
    assert.deepEqual(await readdir(dirname(filesPath)), ['uploads']);
  });

  test('data that does not match the manifest is never committed; an unknown dump format is refused outright', async () => {
    const copy = join(work.path, 'tampered');
    await cp(storage, copy, { recursive: true });
    const manifestPath = join(copy, 'default', backupId, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.tables.find((t: { name: string }) => t.name === 'tickets').checksum = '12345';
    await writeFile(manifestPath, JSON.stringify(withDigest(manifest))); // re-signed: the data, not the manifest, must give it away
    const url = await seededDb();
    const before = await fingerprint(url);
    await assert.rejects(runRestore(config({ storage: copy, 'database-url': url, force: 'true', parts: 'database' }), deps()), (e: unknown) => {
      assert.ok(e instanceof IntegrityError, String(e));
      assert.match(
        e.describe(),
        /did not match the backup's record, so the restore was rolled back.*public\.tickets: same row count, different content checksum.*unchanged/s,
      );
      return true;
    });
    assert.deepEqual(await fingerprint(url), before);
    manifest.dump.format = 'directory';
    await writeFile(manifestPath, JSON.stringify(withDigest(manifest)));
    await assert.rejects(runRestore(config({ storage: copy, 'database-url': url, force: 'true' }), deps()), /dump of an unknown kind \(pg_dump directory\)/);
  });

  test('extensions: those the target has but the backup lacks are named before they go; missing ones refuse', async () => {
    const url = await restoredDb();
    await withClient(url, (c) => c.query('CREATE EXTENSION citext'));
    const r = await runRestore(config({ 'database-url': url, force: 'true', 'ignore-schema-mismatch': 'true', parts: 'database' }), deps());
    assert.match(r.preview.warnings.join('\n'), /not in the backup are dropped with their schema: citext \(in public\)/);
    assert.equal(await withClient(url, async (c) => (await c.query("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'citext'")).rows[0].n), 0);
    const reasons = findRefusals({
      config: config({ 'database-url': url }),
      manifest: JSON.parse(await readFile(join(storage, 'default', backupId, 'manifest.json'), 'utf8')),
      mode: 'full',
      selected: [],
      tableProblems: [],
      missingExtensions: ['postgis'],
      filesProblems: [],
      restoreFiles: false,
    });
    assert.match(reasons.join('\n'), /extension\(s\) the target server does not have: postgis/);
  });

  test('a target older than PostgreSQL 14 is refused when the backup has binary checksums it could not verify', async () => {
    const manifest = JSON.parse(await readFile(join(storage, 'default', backupId, 'manifest.json'), 'utf8'));
    const target = await withClient(sourceUrl, (c) => inspectTarget(c, sourceUrl));
    const refusals = (t: typeof target, m = manifest) =>
      findRefusals({
        config: config({ 'database-url': sourceUrl, force: 'true' }),
        manifest: m,
        mode: 'full',
        target: t,
        selected: [],
        tableProblems: [],
        missingExtensions: [],
        filesProblems: [],
        restoreFiles: false,
      }).join('\n');
    assert.doesNotMatch(refusals(target), /hash_record_extended/);
    assert.match(
      refusals({ ...target, major: 13, serverVersion: '13.16' }),
      /PostgreSQL 13\.16.*content checksums of \d+ table\(s\).*needs PostgreSQL 14 or newer/,
    );
    // A backup whose checksums are all over the row text restores there.
    const textOnly = { ...manifest, tables: manifest.tables.map((t: { checksumMethod?: string }) => ({ ...t, checksumMethod: undefined })) };
    assert.doesNotMatch(refusals({ ...target, major: 13, serverVersion: '13.16' }, textOnly), /hash_record_extended/);
  });

  test('an unknown backup id lists the nearest ones', async () => {
    await assert.rejects(runRestore(config({ 'database-url': await emptyDb(), 'backup-id': '20200101T000000Z-abcdef' }), deps()), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.describe(), new RegExp(`not found.*Nearest backups: ${backupId}`, 's'));
      return true;
    });
  });

  test('not enough disk space fails before any download, clearly', async () => {
    const url = await seededDb();
    const before = await fingerprint(url);
    await assert.rejects(runRestore(config({ 'database-url': url, force: 'true', parts: 'database' }), deps({ freeSpace: async () => 4096 })), (e: unknown) => {
      assert.ok(e instanceof BackupDrillError);
      assert.match(
        e.describe(),
        /Not enough free disk space to stage the restore: the database dump .* need about .*, but only 4\.0 KiB is free there.*Nothing was written.*TMPDIR/s,
      );
      return true;
    });
    assert.deepEqual(await fingerprint(url), before);
  });

  test('a files target that cannot be written (under a regular file) is refused; database unchanged', async () => {
    const url = await seededDb();
    const file = join(work.path, 'plain-file');
    await writeFile(file, 'not a directory');
    const before = await fingerprint(url);
    await assert.rejects(runRestore(config({ 'database-url': url, 'files-path': join(file, 'uploads'), force: 'true' }), deps()), (e: unknown) => {
      assert.ok(e instanceof RestoreRefused);
      assert.match(e.message, /Cannot restore files into .*plain-file\/uploads: .*plain-file is (a file, )?not a directory/);
      return true;
    });
    assert.deepEqual(await fingerprint(url), before);
    assert.equal(await readFile(file, 'utf8'), 'not a directory');
  });

  test('the confirmation names the backup, database and host; no means no', async () => {
    const url = await emptyDb();
    let question = '';
    await assert.rejects(
      runRestore(config({ 'database-url': url, parts: 'database' }), deps({ confirm: async (q) => ((question = q), false) })),
      (e: unknown) => e instanceof RestoreRefused && /Not confirmed/.test(e.message),
    );
    assert.equal(question, `Restore backup ${backupId} into database ${basename(new URL(url).pathname)} on host 127.0.0.1:${cluster.port}?`);
    assert.equal(await withClient(url, async (c) => (await listTables(c)).length), 0);
  });

  test('an encrypted backup restores with its key; a wrong key is refused before anything is written', async () => {
    const identity = generateIdentity();
    const encrypted = join(work.path, 'encrypted');
    await encryptBackupCopy(storage, encrypted, backupId, recipientOf(identity));
    const url = await emptyDb();
    const wrong = generateIdentity();
    await assert.rejects(
      runRestore(config({ storage: encrypted, 'database-url': url, parts: 'database', 'decrypt-identity': wrong }), deps()),
      (e: unknown) => {
        assert.ok(e instanceof IntegrityError, String(e));
        assert.match(e.message, /wrong key/);
        return true;
      },
    );
    assert.equal(await withClient(url, async (c) => (await listTables(c)).length), 0);
    await assert.rejects(runRestore(config({ storage: encrypted, 'database-url': url, parts: 'database' }), deps()), /is encrypted; reading it needs a key/);
    const r = await runRestore(
      config({ storage: encrypted, 'database-url': url, 'decrypt-identity': identity, 'files-path': join(work.path, 'enc-files', 'uploads') }),
      deps(),
    );
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    assert.match(renderPreview(r.preview), /Encryption: +age, to age1/);
    assert.deepEqual(await tree(join(work.path, 'enc-files', 'uploads')), await tree(uploads));
  });

  test('a non-superuser that owns the target database (the managed-Postgres case) restores, and backs up', async () => {
    await withClient(cluster.url(), async (c) => {
      await c.query(`CREATE ROLE app_owner LOGIN PASSWORD 'owner-pass-123'`);
      await c.query('CREATE DATABASE owned OWNER app_owner');
    });
    const owned = new URL(cluster.url('owned'));
    owned.username = 'app_owner';
    owned.password = 'owner-pass-123';
    const url = owned.toString();
    const first = await runRestore(config({ 'database-url': url, parts: 'database' }), deps());
    assert.equal(first.report?.status, 'passed', first.report?.failures.join('\n'));
    // Again over its own restore (force): the schemas it replaces are its own.
    const again = await runRestore(config({ 'database-url': url, parts: 'database', force: 'true' }), deps());
    assert.equal(again.report?.status, 'passed', again.report?.failures.join('\n'));
    await withClient(url, async (c) => {
      const owners = await c.query<{ o: string }>(
        `SELECT DISTINCT pg_get_userbyid(c.relowner) AS o FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'billing') AND c.relkind = 'r'`,
      );
      assert.deepEqual(
        owners.rows.map((r) => r.o),
        ['app_owner'],
      );
    });
    // A backup by that role.
    const logger = new MemoryLogger();
    const b = await runBackup(
      buildConfig((n) => ({ 'database-url': url, storage: join(work.path, 'owned-backups') })[n], {}),
      { logger },
    );
    // pg_dumpall --roles-only --no-role-passwords reads pg_roles, which any role may: the role list is captured too.
    assert.equal(b.manifest.tables.length, first.report!.tables.length);
    assert.deepEqual(b.manifest.parts.map((p) => p.role).sort(), ['checksums', 'database', 'roles']);
    assert.deepEqual(b.manifest.warnings, []);
  });

  test('unit: TOC parsing, table name resolution, and the side-schema rewrite refuses anything unexpected', async () => {
    const toc = parseToc(
      [
        '; comment',
        '6; 2615 16466 SCHEMA - billing postgres',
        '3459; 0 0 COMMENT - EXTENSION pgcrypto ',
        '2; 3079 16500 EXTENSION - pgcrypto ',
        '3436; 0 16446 TABLE DATA public audit_log_2025 postgres',
        '224; 1259 16446 TABLE public audit_log_2025 postgres',
        '3242; 0 0 TABLE ATTACH public audit_log_2025 postgres',
        '3440; 0 16479 TABLE DATA public CustomerNotes postgres',
      ].join('\n'),
    );
    assert.deepEqual(toc.schemas, ['billing']);
    assert.deepEqual(toc.extensions, ['pgcrypto']);
    assert.deepEqual(toc.entries.map((e) => `${e.type}|${e.schema}|${e.name}`).slice(3), [
      'TABLE DATA|public|audit_log_2025',
      'TABLE|public|audit_log_2025',
      'TABLE ATTACH|public|audit_log_2025',
      'TABLE DATA|public|CustomerNotes',
    ]);
    const manifestTables = [
      { schema: 'public', name: 'tickets', rows: 1, checksum: '1' },
      { schema: 'billing', name: 'tickets', rows: 1, checksum: '1' },
      { schema: 'public', name: 'audit_log_2025', rows: 1, checksum: '1', partitionOf: 'public.audit_log' },
      { schema: 'public', name: 'CustomerNotes', rows: 1, checksum: '1' },
    ];
    assert.deepEqual(
      resolveTables(['public.audit_log'], { tables: manifestTables }).selected.map((t) => t.name),
      ['audit_log_2025'],
    );
    assert.deepEqual(
      resolveTables(['"CustomerNotes"', 'customernotes'], { tables: manifestTables }).selected.map((t) => t.name),
      ['CustomerNotes'],
    );
    assert.match(resolveTables(['tickets'], { tables: manifestTables }).problems[0]!, /ambiguous: public\.tickets, billing\.tickets/);
    assert.match(resolveTables(['public.ticket'], { tables: manifestTables }).problems[0]!, /not in the backup; similar: public\.tickets/);
    const rewrite = async (script: string) => {
      const out: Buffer[] = [];
      for await (const b of rewriteIntoSchema(Readable.from([Buffer.from(script)]), [manifestTables[3]!], 'recovered')) out.push(b);
      return Buffer.concat(out).toString();
    };
    const ok = await rewrite(
      'SET x = 1;\nCREATE TABLE public."CustomerNotes" (\n    a int\n);\nCOPY public."CustomerNotes" (a) FROM stdin;\nCREATE TABLE public.evil (\n\\.\n',
    );
    assert.equal(
      ok,
      'SET x = 1;\nCREATE TABLE "recovered"."CustomerNotes" (\n    a int\n);\nCOPY "recovered"."CustomerNotes" (a) FROM stdin;\nCREATE TABLE public.evil (\n\\.\n',
    );
    await assert.rejects(rewrite('ALTER TABLE ONLY public."CustomerNotes" ADD CONSTRAINT x;\n'), /unexpected statement/);
    await assert.rejects(rewrite('CREATE TABLE public.tickets (\n'), /not selected/);
  });
});

/** A copy of a backup with its parts age-encrypted, as an encrypting backup would store them. */
async function encryptBackupCopy(from: string, to: string, id: string, recipient: string): Promise<void> {
  await cp(from, to, { recursive: true });
  const dir = join(to, 'default', id);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  for (const part of manifest.parts) {
    if (part.role === 'checksums') continue;
    const plain = await readFile(join(dir, part.name));
    const hasher = new HashingStream();
    const chunks: Buffer[] = [];
    hasher.on('data', (c: Buffer) => chunks.push(c));
    await pipeline(Readable.from([plain]), createEncryptStream({ recipients: [recipient] }), hasher);
    await writeFile(join(dir, part.name), Buffer.concat(chunks));
    Object.assign(part, { bytes: hasher.bytes, sha256: hasher.sha256, encrypted: true });
  }
  manifest.encryption = { recipients: [recipient], passphrase: false };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(withDigest(manifest)));
}
