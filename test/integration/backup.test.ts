// Backup against a real PostgreSQL server started by the test, real pg_dump,
// real sha256sum / pg_restore / tar to check what was stored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, readdir, writeFile, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { parseManifest } from '../../src/archive/manifest.js';
import { findBinDir } from '../../src/postgres/binaries.js';
import { listTables, tableStats, schemaHash } from '../../src/postgres/stats.js';
import { connect } from '../../src/postgres/connect.js';
import { BackupDrillError, DatabaseError, EnvironmentError, ToolError, UsageError, StorageError } from '../../src/errors.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster, withClient } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { plainDump } from '../helpers/dump.js';

function config(values: Record<string, string>) {
  return buildConfig((name) => values[name], {});
}

describe('backup to a local folder', () => {
  let cluster: EphemeralCluster;
  let url: string;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;

  before(async () => {
    cluster = await startCluster();
    url = await createSeededDatabase(cluster, 'app');
    work = await tempDir();
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('stores a dump, files, checksums and a manifest that match the database', async () => {
    const storage = join(work.path, 'backups');
    const logger = new MemoryLogger();
    const result = await runBackup(config({ 'database-url': url, storage, 'files-path': uploads, 'files-exclude': 'cache/**' }), { logger });
    const dir = join(storage, 'default', result.id);
    assert.deepEqual((await readdir(dir)).sort(), ['checksums.sha256', 'database.dump.zst', 'files.sha256', 'files.tar', 'manifest.json', 'roles.sql']);

    const manifest = parseManifest(await readFile(join(dir, 'manifest.json'), 'utf8'), 'test');
    assert.equal(manifest.id, result.id);
    assert.equal(manifest.source.database, 'app');
    assert.equal(manifest.source.major, 15 <= manifest.source.major ? manifest.source.major : -1);
    assert.equal(manifest.source.migration?.ledger, 'prisma');
    assert.equal(manifest.source.migration?.head, '20260301000000_add_billing');
    assert.ok(!JSON.stringify(manifest).includes(cluster.password), 'manifest must not contain the password');

    // Every table's count and checksum equal what the database holds now (nothing changed since).
    await withClient(url, async (client) => {
      const tables = await listTables(client);
      assert.equal(manifest.tables.length, tables.length);
      for (const t of tables) {
        const recorded = manifest.tables.find((m) => m.schema === t.schema && m.name === t.name);
        assert.ok(recorded, `${t.schema}.${t.name} recorded`);
        const live = await tableStats(client, recorded);
        assert.equal(recorded.rows, live.rows, `${t.schema}.${t.name} rows`);
        assert.equal(recorded.checksum, live.checksum, `${t.schema}.${t.name} checksum`);
      }
      assert.equal(manifest.source.schemaHash, await schemaHash(client));
    });
    // Partitioned tables are recorded through their leaves; the mixed-case and second-schema tables are there.
    const names = manifest.tables.map((t) => `${t.schema}.${t.name}`);
    assert.ok(names.includes('public.audit_log_2025') && !names.includes('public.audit_log'));
    assert.equal(manifest.tables.find((t) => t.name === 'audit_log_2025')?.partitionOf, 'public.audit_log');
    assert.ok(names.includes('public.CustomerNotes') && names.includes('billing.invoices'));
    assert.ok(manifest.tables.every((t) => t.rows >= 0 && /^-?\d+$/.test(t.checksum)));

    // sha256sum -c accepts checksums.sha256.
    const check = spawnSync('sha256sum', ['-c', 'checksums.sha256'], { cwd: dir, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /database\.dump\.zst: OK/);
    assert.match(check.stdout, /files\.tar: OK/);
    for (const part of manifest.parts) {
      const stored = execFileSync('sha256sum', [join(dir, part.name)], { encoding: 'utf8' }).split(' ')[0];
      assert.equal(stored, part.sha256, part.name);
    }

    // pg_restore reads the dump's table of contents.
    const pgRestore = await findBinDir({ tools: ['pg_restore'], wanted: manifest.source.major, purpose: 'test' });
    const toc = execFileSync(join(pgRestore.dir, 'pg_restore'), ['-l', plainDump(dir, work.path)], { encoding: 'utf8' });
    assert.match(toc, /TABLE DATA public tickets/);
    assert.match(toc, /TABLE DATA billing invoices/);
    assert.match(toc, /TABLE DATA public "?CustomerNotes"?/);

    // Files: tar extracts, and `sha256sum -c files.sha256` verifies every file; excluded cache is absent.
    const extract = join(work.path, 'extract');
    await mkdir(extract);
    execFileSync('tar', ['-xf', join(dir, 'files.tar'), '-C', extract]);
    const filesCheck = spawnSync('sha256sum', ['-c', join(dir, 'files.sha256')], { cwd: extract, encoding: 'utf8' });
    assert.equal(filesCheck.status, 0, filesCheck.stdout + filesCheck.stderr);
    assert.equal(manifest.files?.count, 5);
    assert.equal(manifest.files?.symlinks, 1);
    assert.ok(!(await readdir(extract)).includes('cache'));
    assert.equal(await readFile(join(extract, 'latest-notes'), 'utf8'), 'hello\n');
  });

  test('rows written while the backup runs are in neither the dump nor the counts', async () => {
    const storage = join(work.path, 'consistency');
    const before = await withClient(url, async (c) => Number((await c.query('SELECT count(*) FROM tickets')).rows[0].count));
    const result = await runBackup(config({ 'database-url': url, storage }), {
      logger: new MemoryLogger(),
      afterSnapshot: async () => {
        // Committed after the snapshot was exported, while the dump and stats are about to read.
        await withClient(url, async (c) => {
          await c.query(`INSERT INTO tickets (subject) SELECT 'late ' || g FROM generate_series(1, 25) g`);
          await c.query(`DELETE FROM attachments WHERE id <= 5`);
        });
      },
    });
    const tickets = result.manifest.tables.find((t) => t.name === 'tickets')!;
    assert.equal(tickets.rows, before, 'counts come from the snapshot, not from after the inserts');
    const attachments = result.manifest.tables.find((t) => t.name === 'attachments')!;
    // Restore the dump into a fresh database: it has the same rows and checksums as the manifest.
    const admin = await connect(cluster.url());
    await admin.query('CREATE DATABASE restored');
    await admin.end();
    const pgRestore = await findBinDir({ tools: ['pg_restore'], wanted: 15, purpose: 'test' });
    execFileSync(join(pgRestore.dir, 'pg_restore'), [
      '--no-owner',
      '--exit-on-error',
      '-d',
      cluster.url('restored'),
      plainDump(join(storage, 'default', result.id), work.path),
    ]);
    await withClient(cluster.url('restored'), async (c) => {
      const t = await tableStats(c, tickets);
      assert.equal(t.rows, tickets.rows);
      assert.equal(t.checksum, tickets.checksum);
      const a = await tableStats(c, attachments);
      assert.equal(a.rows, attachments.rows);
      assert.equal(a.checksum, attachments.checksum);
    });
    const live = await withClient(url, async (c) => Number((await c.query('SELECT count(*) FROM tickets')).rows[0].count));
    assert.equal(live, before + 25);
  });

  describe('bad input fails clearly and leaves no backup behind', () => {
    async function expectFailure(values: Record<string, string>, kind: new (...args: never[]) => BackupDrillError, pattern: RegExp) {
      const logger = new MemoryLogger();
      await assert.rejects(
        async () => runBackup(config(values), { logger }),
        (error: unknown) => {
          assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
          assert.match((error as BackupDrillError).describe(), pattern);
          return true;
        },
      );
      return logger;
    }

    test('unreachable database', async () => {
      const storage = join(work.path, 'bad1');
      await expectFailure(
        { 'database-url': 'postgres://app:pw@127.0.0.1:1/app', storage },
        DatabaseError,
        /Cannot reach app on 127\.0\.0\.1:1.*Check the host and port/s,
      );
      assert.deepEqual(await readdir(join(storage, 'default')).catch(() => []), []);
    });

    test('wrong password: rejected, and the password appears nowhere', async () => {
      const wrong = url.replace(cluster.password, 'Wr0ngPassw0rdXYZ');
      const logger = await expectFailure(
        { 'database-url': wrong, storage: join(work.path, 'bad2') },
        DatabaseError,
        /rejected the login.*Check the user and password in 'database-url'/s,
      );
      try {
        await runBackup(config({ 'database-url': wrong, storage: join(work.path, 'bad2') }), { logger });
      } catch (error) {
        assert.ok(!(error as Error).message.includes('Wr0ngPassw0rdXYZ'));
        assert.ok(!(error as BackupDrillError).describe().includes('Wr0ngPassw0rdXYZ'));
      }
      assert.ok(!logger.lines.join('\n').includes('Wr0ngPassw0rdXYZ'));
    });

    test('files-path missing, or not a directory', async () => {
      await expectFailure(
        { 'database-url': url, storage: join(work.path, 'bad3'), 'files-path': join(work.path, 'nope') },
        UsageError,
        /'files-path'.*does not exist/,
      );
      await writeFile(join(work.path, 'a-file'), 'x');
      await expectFailure(
        { 'database-url': url, storage: join(work.path, 'bad3'), 'files-path': join(work.path, 'a-file') },
        UsageError,
        /'files-path' must be a directory/,
      );
    });

    test('unwritable storage folder', async () => {
      // Root ignores permission bits, so use a path whose parent is a file: unwritable for anyone.
      await writeFile(join(work.path, 'blocker'), 'x');
      await expectFailure({ 'database-url': url, storage: join(work.path, 'blocker', 'backups') }, StorageError, /not writable/);
      if (process.getuid?.() !== 0) {
        const ro = join(work.path, 'ro');
        await mkdir(ro);
        await chmod(ro, 0o500);
        await expectFailure({ 'database-url': url, storage: ro }, StorageError, /not writable/);
      }
    });

    test('a pg_dump that fails midway leaves no manifest and no parts', async () => {
      // A pg_dump stand-in of the right version that writes some bytes, then fails.
      const bin = join(work.path, 'fake-bin');
      await mkdir(bin);
      const real = await findBinDir({ tools: ['pg_dump'], wanted: 15, purpose: 'test' });
      await writeFile(
        join(bin, 'pg_dump'),
        `#!/bin/sh\nif [ "$1" = "--version" ]; then exec ${join(real.dir, 'pg_dump')} --version; fi\nhead -c 100000 /dev/urandom\necho "pg_dump: error: simulated failure" >&2\nexit 1\n`,
      );
      await chmod(join(bin, 'pg_dump'), 0o755);
      const storage = join(work.path, 'bad5');
      await expectFailure(
        { 'database-url': url, storage, 'postgres-bin-dir': bin, 'files-path': uploads },
        ToolError,
        /pg_dump exited with code 1.*simulated failure/s,
      );
      const left = await readdir(join(storage, 'default')).catch(() => []);
      assert.deepEqual(left, [], `nothing left behind, found ${left.join(', ')}`);
    });

    test('no pg_dump matching the server version', async () => {
      const bin = join(work.path, 'old-bin');
      await mkdir(bin);
      await writeFile(join(bin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 13.9"\n');
      await chmod(join(bin, 'pg_dump'), 0o755);
      await assert.rejects(findBinDir({ tools: ['pg_dump'], wanted: 15, purpose: 'a PostgreSQL 15.4 server', searchDirs: [bin] }), (error: unknown) => {
        assert.ok(error instanceof EnvironmentError);
        assert.match(error.describe(), /No pg_dump of PostgreSQL 15 or newer found for a PostgreSQL 15\.4 server; found: 13 \(.*old-bin\)/);
        assert.match(error.describe(), /postgresql-client-15/);
        assert.match(error.describe(), /postgres-bin-dir/);
        return true;
      });
    });
  });
});
