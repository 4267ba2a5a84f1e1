// Restore drills against real backups of a real PostgreSQL, restored into a
// real throwaway cluster with real pg_restore.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile, open } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { BackupDrillError, EnvironmentError, StorageError, UsageError } from '../../src/errors.js';
import { EphemeralCluster, cleanupStaleClusters, clustersRoot } from '../../src/postgres/cluster.js';
import { connect } from '../../src/postgres/connect.js';
import { createSeededDatabase, serverBinDir, startCluster, TEST_PASSWORDS } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { storedDump } from '../helpers/dump.js';

const CHECKS = `checks:
  - name: tickets exist
    sql: select count(*) from tickets
    expect: { min: 10 }
  - name: canary login
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: TEST_CANARY_PASSWORD
`;

function drillConfig(values: Record<string, string>) {
  return buildConfig((name) => ({ mode: 'restore-drill', ...values })[name], {});
}

describe('restore drill', () => {
  let work: { path: string; remove(): Promise<void> };
  let storage: string;
  let backupId: string;
  let checks: string;

  before(async () => {
    work = await tempDir();
    storage = join(work.path, 'backups');
    const uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    checks = join(work.path, 'checks.yml');
    await writeFile(checks, CHECKS);
    const source = await startCluster();
    try {
      const url = await createSeededDatabase(source, 'app');
      backupId = (
        await runBackup(
          buildConfig((n) => ({ 'database-url': url, storage, 'files-path': uploads })[n], {}),
          { logger: new MemoryLogger() },
        )
      ).id;
    } finally {
      // The source is gone before any drill runs: a drill never needs (or touches) it.
      await source.stop();
    }
    process.env.TEST_CANARY_PASSWORD = TEST_PASSWORDS.canary;
  });
  after(async () => {
    delete process.env.TEST_CANARY_PASSWORD;
    await work?.remove();
  });

  test('the latest backup restores and every table, file and check passes; reports are written', async () => {
    const reportDir = join(work.path, 'reports');
    const r = await runDrill(drillConfig({ storage, checks, 'max-age': '1h', 'report-dir': reportDir }), { logger: new MemoryLogger() });
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.equal(r.report.backupId, backupId);
    assert.equal(r.report.tables.length, 8);
    assert.ok(r.report.tables.every((t) => t.status === 'passed' && t.restoredRows === t.expectedRows && t.restoredChecksum === t.expectedChecksum));
    assert.equal(r.report.files.status, 'passed');
    assert.equal(r.report.files.restoredCount, 6);
    const byName = new Map(r.report.checks.map((c) => [c.name, c]));
    assert.equal(byName.get('canary login')?.status, 'passed');
    assert.equal(byName.get('tickets exist')?.status, 'passed');
    assert.equal(byName.get('freshness')?.status, 'passed');
    const json = JSON.parse(await readFile(r.jsonPath, 'utf8'));
    assert.equal(json.status, 'passed');
    const junit = await readFile(r.junitPath, 'utf8');
    assert.match(junit, /<testcase[^>]*name="public\.tickets"/);
    assert.match(junit, /failures="0"/);
    // Nothing left behind: no cluster dir of ours.
    assert.equal(r.databaseUrl, undefined);
  });

  test('a flipped byte in the dump fails the drill naming the part and both digests', async () => {
    const copy = join(work.path, 'corrupt');
    await copyBackup(storage, copy);
    const dump = storedDump(join(copy, 'default', backupId));
    const fh = await open(dump, 'r+');
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, 5000);
    buf[0] = buf[0]! ^ 0xff;
    await fh.write(buf, 0, 1, 5000);
    await fh.close();
    const r = await runDrill(drillConfig({ storage: copy, 'report-dir': join(work.path, 'reports') }), { logger: new MemoryLogger() });
    assert.equal(r.report.status, 'failed');
    const text = r.report.failures.join('\n');
    assert.match(
      text,
      /Part database\.dump(\.zst)? .* does not match its manifest: expected \d+ bytes with SHA-256 [0-9a-f]{64}, got \d+ bytes with SHA-256 [0-9a-f]{64}/,
    );
  });

  test('a missing part fails the drill', async () => {
    const copy = join(work.path, 'missing');
    await copyBackup(storage, copy);
    await rm(join(copy, 'default', backupId, 'files.tar'));
    const r = await runDrill(drillConfig({ storage: copy, 'report-dir': join(work.path, 'reports') }), { logger: new MemoryLogger() });
    assert.equal(r.report.status, 'failed');
    assert.match(r.report.failures.join('\n'), /files\.tar.*does not exist/);
    assert.equal(r.report.files.status, 'failed');
  });

  test('no backup, or only incomplete ones: a clear error', async () => {
    await assert.rejects(runDrill(drillConfig({ storage: join(work.path, 'no-such-folder') }), { logger: new MemoryLogger() }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.describe(), /'storage' points at .*no-such-folder, which does not exist/);
      return true;
    });
    await mkdir(join(work.path, 'empty'), { recursive: true });
    await assert.rejects(runDrill(drillConfig({ storage: join(work.path, 'empty') }), { logger: new MemoryLogger() }), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.match(e.describe(), /No backups found under .*empty\/default.*Check 'storage' and 'name'/);
      return true;
    });
    const partial = join(work.path, 'partial');
    await copyBackup(storage, partial);
    await rm(join(partial, 'default', backupId, 'manifest.json'));
    await assert.rejects(runDrill(drillConfig({ storage: partial }), { logger: new MemoryLogger() }), /Only incomplete backups/);
    await assert.rejects(runDrill(drillConfig({ storage, 'backup-id': '20200101T000000Z-abcdef' }), { logger: new MemoryLogger() }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.describe(), new RegExp(`not found.*Nearest backups: ${backupId}`, 's'));
      return true;
    });
  });

  test('no server binaries for the needed major: says how to get them', async () => {
    await assert.rejects(runDrill(drillConfig({ storage, 'postgres-version': '42' }), { logger: new MemoryLogger() }), (e: unknown) => {
      assert.ok(e instanceof EnvironmentError);
      assert.match(e.describe(), /No initdb\/pg_ctl\/postgres of PostgreSQL 42 or newer found.*postgresql-42.*postgres-bin-dir/s);
      return true;
    });
  });

  test('a checks file with a syntax error is refused with its line number, before any restore', async () => {
    const bad = join(work.path, 'bad.yml');
    await writeFile(bad, 'checks:\n  - name: x\n    sql: select 1\n    expect: { min: 1\n');
    await assert.rejects(runDrill(drillConfig({ storage, checks: bad }), { logger: new MemoryLogger() }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /bad\.yml:\d+/);
      return true;
    });
  });

  test('a check query that errors, an unset login env var, and a stale backup each fail the drill', async () => {
    const file = join(work.path, 'failing.yml');
    await writeFile(
      file,
      `checks:
  - name: broken query
    sql: select count(*) from no_such_table
    expect: { min: 1 }
  - name: canary without secret
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: TEST_UNSET_PASSWORD_VAR
`,
    );
    await new Promise((r) => setTimeout(r, 1100));
    const r = await runDrill(drillConfig({ storage, checks: file, 'max-age': '1s', 'report-dir': join(work.path, 'reports') }), { logger: new MemoryLogger() });
    assert.equal(r.report.status, 'failed');
    const byName = new Map(r.report.checks.map((c) => [c.name, c]));
    assert.equal(byName.get('broken query')?.status, 'error');
    assert.match(byName.get('broken query')!.message, /no_such_table/);
    assert.equal(byName.get('canary without secret')?.status, 'failed');
    assert.match(byName.get('canary without secret')!.message, /TEST_UNSET_PASSWORD_VAR/);
    assert.equal(byName.get('freshness')?.status, 'failed');
    assert.ok(
      r.report.tables.every((t) => t.status === 'passed'),
      'tables still verified',
    );
    const junit = await readFile(r.junitPath, 'utf8');
    assert.match(junit, /<(failure|error)[^>]*/);
  });

  test('keep-database leaves the restored database running until cleaned up', async () => {
    const r = await runDrill(drillConfig({ storage, 'keep-database': 'true', 'report-dir': join(work.path, 'reports') }), { logger: new MemoryLogger() });
    assert.ok(r.databaseUrl);
    const client = await connect(r.databaseUrl);
    const { rows } = await client.query('SELECT count(*)::int AS n FROM tickets');
    await client.end();
    assert.ok(rows[0].n > 0);
    // Our process is alive, so a stale-cluster sweep leaves it alone; stopping by path removes it.
    assert.equal(await cleanupStaleClusters(), 0);
    const { removeClusterAt } = await import('../../src/postgres/cluster.js');
    const port = new URL(r.databaseUrl).port;
    for (const dir of await readdir(clustersRoot())) {
      const conf = await readFile(join(clustersRoot(), dir, 'data', 'postgresql.auto.conf'), 'utf8').catch(() => '');
      if (conf.includes(`port = '${port}'`)) {
        await removeClusterAt(join(clustersRoot(), dir));
        await rm(join(clustersRoot(), dir), { recursive: true, force: true });
      }
    }
    await assert.rejects(connect(r.databaseUrl), /Cannot reach/);
  });

  test('a busy port is refused clearly', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      await assert.rejects(EphemeralCluster.start({ binDir: await serverBinDir(), port }), (e: unknown) => {
        assert.ok(e instanceof BackupDrillError);
        assert.match(e.describe(), new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use`));
        return true;
      });
    } finally {
      server.close();
    }
  });

  test('SIGINT during a drill stops it and removes its cluster and temp files', async () => {
    const before = new Set(await readdir(clustersRoot()).catch(() => [] as string[]));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'drill', '--storage', storage, '--report-dir', join(work.path, 'reports')], {
      stdio: 'ignore',
    });
    let ours: string | undefined;
    for (let i = 0; i < 300 && !ours; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for (const dir of await readdir(clustersRoot()).catch(() => [] as string[])) {
        const owner = await readFile(join(clustersRoot(), dir, 'owner.json'), 'utf8').catch(() => '');
        if (!before.has(dir) && owner.includes(`"pid":${child.pid}`)) ours = dir;
      }
    }
    assert.ok(ours, 'the drill started a cluster');
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    assert.ok(!(await readdir(clustersRoot())).includes(ours), 'cluster removed by the interrupted run itself');
  });

  test('a drill killed mid-restore leaves nothing behind after the next run', async () => {
    const before = new Set(await readdir(clustersRoot()).catch(() => [] as string[]));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'drill', '--storage', storage, '--report-dir', join(work.path, 'reports')], {
      stdio: 'ignore',
      env: { ...process.env },
    });
    // Wait until its throwaway cluster exists, then kill it without a chance to clean up.
    let ours: string | undefined;
    for (let i = 0; i < 300 && !ours; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for (const dir of await readdir(clustersRoot()).catch(() => [] as string[])) {
        if (before.has(dir)) continue;
        const owner = await readFile(join(clustersRoot(), dir, 'owner.json'), 'utf8').catch(() => '');
        // postmaster.pid also exists during initdb (single-user postgres): wait for the real server.
        const log = await readFile(join(clustersRoot(), dir, 'server.log'), 'utf8').catch(() => '');
        if (owner.includes(`"pid":${child.pid}`) && /ready to accept connections/.test(log)) ours = dir;
      }
    }
    assert.ok(ours, 'the drill started a cluster');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok((await readdir(clustersRoot())).includes(ours));
    // The next run's cleanup removes it (and stops its server).
    assert.ok((await cleanupStaleClusters()) >= 1);
    assert.ok(!(await readdir(clustersRoot())).includes(ours));
  });

  test('cleanup also stops what a run killed during initdb left running in its folder', async () => {
    // What initdb leaves when its parent dies: a process still working in the
    // cluster folder (stand-in: sleep), an owner that is gone, no server to stop.
    const parent = join(work.path, 'stale-clusters');
    const root = join(parent, 'pg-killed');
    await mkdir(join(root, 'data'), { recursive: true });
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    await writeFile(
      join(root, 'owner.json'),
      JSON.stringify({ pid: gone.pid, binDir: await serverBinDir(), dataDir: join(root, 'data'), startedAt: new Date().toISOString() }),
    );
    const straggler = spawn('sleep', ['60'], { cwd: join(root, 'data'), stdio: 'ignore' });
    const exited = new Promise((r) => straggler.once('exit', (_code, signal) => r(signal)));
    assert.equal(await cleanupStaleClusters(undefined, parent), 1);
    assert.equal(await exited, 'SIGKILL');
    assert.deepEqual(await readdir(parent), []);
  });
});

async function copyBackup(from: string, to: string): Promise<void> {
  const { cp } = await import('node:fs/promises');
  await cp(from, to, { recursive: true });
}
