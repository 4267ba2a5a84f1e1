// Reach over SSH with real parts: Debian's sshd and a PostgreSQL inside a network
// namespace that only the sshd shares (test/helpers/ssh-server.ts). Backup →
// drill → restore through SSH with a pinned host key, and what goes wrong:
// wrong host key, wrong user key, unreachable host, tunnel dropped mid-dump,
// missing or unreadable server paths.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { readdir, readFile, writeFile, mkdir, chmod, symlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { runRestore } from '../../src/modes/restore.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { RemoteError, UsageError, ExitCode, exitCodeOf } from '../../src/errors.js';
import { SshSession } from '../../src/reach/ssh-session.js';
import { openTunnel } from '../../src/reach/tunnel.js';
import { parseKnownHosts } from '../../src/reach/known-hosts.js';
import { parseEndpoint } from '../../src/reach/options.js';
import { connect } from '../../src/postgres/connect.js';
import { sampleUsers, seedSample } from '../../src/postgres/sample.js';
import { TEST_PASSWORDS } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';
import { IsolatedServer, sshUnavailable } from '../helpers/ssh-server.js';

const skip = sshUnavailable();

/** Runs fn with a pg client to the server's database through our own tunnel (the test's admin access). */
async function onServer<T>(server: IsolatedServer, url: string, fn: (c: Awaited<ReturnType<typeof connect>>) => Promise<T>): Promise<T> {
  const logger = new MemoryLogger();
  const session = await SshSession.open({
    target: parseEndpoint('ssh', server.sshd.target),
    privateKey: server.sshd.clientKey.privateKey,
    knownHosts: parseKnownHosts(server.sshd.knownHostsLine),
    acceptNewHostKey: false,
    logger,
  });
  const tunnel = await openTunnel(session, '127.0.0.1', 5432, logger);
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(tunnel.port);
  const client = await connect(u.toString());
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
    await tunnel.close();
    session.close();
  }
}

/** Every file under a folder with its bytes (what the app would see). */
async function tree(root: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of (await readdir(join(root, prefix), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await tree(root, rel));
    else if (e.isSymbolicLink()) out[rel] = 'link';
    else out[rel] = (await readFile(join(root, rel))).toString('base64');
  }
  return out;
}

describe('backup and restore over SSH (sshd + PostgreSQL in a network namespace)', { skip }, () => {
  let server: IsolatedServer;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;

  const sshInputs = (overrides: Record<string, string> = {}): Record<string, string> => ({
    ssh: server.sshd.target,
    'ssh-private-key': server.sshd.clientKey.privateKey,
    'ssh-known-hosts': server.sshd.knownHostsLine,
    ...overrides,
  });
  const config = (values: Record<string, string>) => buildConfig((n) => values[n], {});

  before(async () => {
    server = await IsolatedServer.start();
    work = await tempDir('bd-ssh-work-');
    server.psql('CREATE DATABASE app');
    await onServer(server, server.dbUrl('app'), async (c) => seedSample(c, { scale: 5, users: await sampleUsers(TEST_PASSWORDS) }));
    uploads = await server.serverDir('uploads');
    await mkdir(join(uploads, 'tickets/1'), { recursive: true });
    await mkdir(join(uploads, 'cache'), { recursive: true });
    await writeFile(join(uploads, 'tickets/1/screenshot.png'), Buffer.alloc(300_000, 7));
    await writeFile(join(uploads, 'tickets/1/notes.txt'), 'hello\n');
    await writeFile(join(uploads, 'cache/thumb.jpg'), 'thumb');
    await symlink('tickets/1/notes.txt', join(uploads, 'latest-notes'));
    await chmod(join(uploads, 'tickets/1/notes.txt'), 0o640);
    server.chownTree(uploads);
  });
  after(async () => {
    await server?.stop();
    await work?.remove();
  });

  test('the database cannot be reached directly from the runner side, only through the SSH server', async () => {
    for (const host of [server.nsAddress, '127.0.0.1']) {
      const outcome = await new Promise<string>((resolve) => {
        const s = netConnect({ host, port: 5432, timeout: 2000 });
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('timeout', () => {
          s.destroy();
          resolve('timeout');
        });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      // 127.0.0.1:5432 on the runner side might be another test's server; what matters is that it is not this one.
      if (host === server.nsAddress) assert.notEqual(outcome, 'connected', `${host}:5432 must not accept connections`);
      else if (outcome === 'connected') await assert.rejects(connect(`postgres://postgres:${server.pgPassword}@127.0.0.1:5432/app`));
    }
    // Through the SSH server it works.
    const n = await onServer(server, server.dbUrl('app'), async (c) => (await c.query<{ n: string }>('SELECT count(*)::text AS n FROM users')).rows[0]!.n);
    assert.ok(Number(n) > 0);
  });

  test('backup → drill → restore through SSH with a pinned host key (database and uploads)', async () => {
    const storage = join(work.path, 'main');
    const logger = new MemoryLogger();
    const backup = await runBackup(
      config({ ...sshInputs(), 'database-url': server.dbUrl('app'), storage, 'files-path': uploads, 'files-exclude': 'cache/**' }),
      { logger },
    );
    assert.ok(backup.manifest.totals.rows > 0);
    assert.equal(backup.manifest.files?.count, 2, 'screenshot.png and notes.txt; cache/ excluded');
    assert.equal(backup.manifest.files?.symlinks, 1);
    assert.match(logger.lines.join('\n'), /SSH tunnel: 127\.0\.0\.1:\d+ → 127\.0\.0\.1:5432 via bdssh@/);
    assert.doesNotMatch(logger.lines.join('\n'), new RegExp(server.pgPassword), 'the database password never appears in the log');
    const sourceRows = await onServer(
      server,
      server.dbUrl('app'),
      async (c) => (await c.query<{ n: string }>('SELECT count(*)::text AS n FROM users')).rows[0]!.n,
    );

    const drill = await runDrill(config({ mode: 'restore-drill', storage, 'report-dir': join(work.path, 'reports') }), { logger: new MemoryLogger() });
    assert.equal(drill.report.status, 'passed', drill.report.failures.join('; '));
    assert.equal(drill.report.files.status, 'passed');

    // Restore into another database and another uploads folder on the server; that folder exists with other content.
    server.psql('CREATE DATABASE restored');
    const into = await server.serverDir('uploads-restored');
    await writeFile(join(into, 'old.txt'), 'previous content');
    server.chownTree(into);
    const restoreLogger = new MemoryLogger();
    const restored = await runRestore(
      config({
        ...sshInputs(),
        mode: 'restore',
        storage,
        'database-url': server.dbUrl('restored'),
        'files-path': into,
        'report-dir': join(work.path, 'reports'),
      }),
      { logger: restoreLogger },
    );
    assert.equal(restored.report?.status, 'passed', restored.report?.failures.join('; '));
    assert.equal(server.psql('SELECT count(*) FROM users', 'restored').trim(), sourceRows);
    assert.equal(restored.files?.status, 'passed');
    const expected = await tree(uploads);
    delete expected['cache/thumb.jpg'];
    assert.deepEqual(await tree(into), expected, 'the restored folder holds exactly the backed-up files');
    assert.equal((await stat(join(into, 'tickets/1/notes.txt'))).mode & 0o777, 0o640, 'modes restored');
    assert.ok(restored.previousFilesPath, 'the previous folder is kept');
    assert.equal(await readFile(join(restored.previousFilesPath!, 'old.txt'), 'utf8'), 'previous content');
    assert.match(restoreLogger.lines.join('\n'), /owners not/);
  });

  test('a wrong host key is refused before logging in: nothing is sent, nothing stored', async () => {
    const storage = join(work.path, 'wrong-host-key');
    const before = server.sshd.log.split('\n').length;
    const other = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const error = await runBackup(
      config({ ...sshInputs({ 'ssh-known-hosts': `[${server.nsAddress}]:2222 ssh-ed25519 ${other}` }), 'database-url': server.dbUrl('app'), storage }),
      { logger: new MemoryLogger() },
    ).then(
      () => assert.fail('must be refused'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(exitCodeOf(error), ExitCode.remote);
    assert.match(error.message, /not the one pinned.*Nothing was sent/s);
    await new Promise((r) => setTimeout(r, 300));
    const newLog = server.sshd.log
      .split('\n')
      .slice(before - 1)
      .join('\n');
    assert.doesNotMatch(newLog, /publickey|Accepted|Failed/i, `no authentication was attempted:\n${newLog}`);
    assert.deepEqual(await readdir(storage).catch(() => []), [], 'nothing stored');
  });

  test('ssh-accept-new-host-key trusts an unknown host once and prints the line to pin; never a changed one', async () => {
    const logger = new MemoryLogger();
    const storage = join(work.path, 'tofu');
    await runBackup(
      config({
        ssh: server.sshd.target,
        'ssh-private-key': server.sshd.clientKey.privateKey,
        'ssh-accept-new-host-key': 'true',
        'database-url': server.dbUrl('app'),
        storage,
      }),
      { logger },
    );
    assert.ok(logger.lines.join('\n').includes(server.sshd.knownHostsLine), 'the line to pin is printed');
    assert.throws(
      () => config({ ssh: server.sshd.target, 'ssh-private-key': server.sshd.clientKey.privateKey, 'database-url': server.dbUrl('app'), storage }),
      (e: unknown) => {
        assert.ok(e instanceof UsageError && e.input === 'ssh-known-hosts');
        return true;
      },
    );
  });

  test('a key the server does not know is refused with exit 13', async () => {
    const { execFileSync } = await import('node:child_process');
    const keyPath = join(work.path, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    const error = await runBackup(
      config({
        ...sshInputs({ 'ssh-private-key': await readFile(keyPath, 'utf8') }),
        'database-url': server.dbUrl('app'),
        storage: join(work.path, 'wrong-key'),
      }),
      { logger: new MemoryLogger() },
    ).then(
      () => assert.fail('must be refused'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RemoteError, String(error));
    assert.match(error.message, /refused the login/);
    assert.equal(exitCodeOf(error), 13);
  });

  test('an unreachable SSH server fails with exit 13 naming it', async () => {
    const error = await runBackup(
      config({
        ...sshInputs({ ssh: `bdssh@${server.nsAddress}:2299`, 'ssh-known-hosts': server.sshd.knownHostsLine.replace(':2222', ':2299') }),
        'database-url': server.dbUrl('app'),
        storage: join(work.path, 'unreachable'),
      }),
      { logger: new MemoryLogger() },
    ).then(
      () => assert.fail('must fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RemoteError, String(error));
    assert.match(error.message, new RegExp(`Cannot reach the SSH server bdssh@${server.nsAddress.replace(/\./g, '\\.')}:2299`));
  });

  test('a missing files-path on the server fails before anything is stored', async () => {
    const storage = join(work.path, 'missing-path');
    const error = await runBackup(config({ ...sshInputs(), 'database-url': server.dbUrl('app'), storage, 'files-path': '/srv/no/such/uploads' }), {
      logger: new MemoryLogger(),
    }).then(
      () => assert.fail('must fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof UsageError && error.input === 'files-path', String(error));
    assert.match(error.message, /\/srv\/no\/such\/uploads on bdssh@/);
    assert.deepEqual(await readdir(storage).catch(() => []), []);
  });

  test('the tunnel dropped while pg_dump runs: the backup fails, names the drop, and stores nothing complete', async () => {
    const storage = join(work.path, 'dropped');
    // Hold a lock pg_dump must wait for, so the dump is connected through the tunnel when the connection drops.
    let dropped = 0;
    const dropLogger = new MemoryLogger();
    const trace = setInterval(
      () =>
        process.env.SSH_TEST_TRACE &&
        console.log(
          dropLogger.lines
            .filter((l) => !/so far/.test(l))
            .slice(-6)
            .join('\n'),
        ),
      2000,
    );
    const error = await onServer(server, server.dbUrl('app'), async (locker) => {
      await locker.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const run = runBackup(config({ ...sshInputs(), 'database-url': server.dbUrl('app'), storage, 'files-path': uploads }), {
        logger: dropLogger,
        afterSnapshot: async () => {
          setTimeout(() => (dropped = server.sshd.dropConnections()), 1500);
        },
      });
      const outcome = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      await locker.query('ROLLBACK').catch(() => undefined);
      return outcome;
    }).catch((e: unknown) => e);
    clearInterval(trace);
    assert.ok(dropped > 0, 'the SSH connections were killed');
    assert.ok(error instanceof RemoteError, `expected a RemoteError, got ${String(error)}`);
    assert.match(error.message, /SSH connection to bdssh@.* dropped/);
    const names = await readdir(join(storage, 'default')).catch(() => [] as string[]);
    for (const id of names) assert.deepEqual(await readdir(join(storage, 'default', id)), [], `no part of ${id} was left`);
  });
});
