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
import { BackupDrillError, RemoteError, UsageError, ExitCode, exitCodeOf } from '../../src/errors.js';
import { SshSession } from '../../src/reach/ssh-session.js';
import { openTunnel } from '../../src/reach/tunnel.js';
import { parseKnownHosts } from '../../src/reach/known-hosts.js';
import { parseEndpoint } from '../../src/reach/options.js';
import { connect } from '../../src/postgres/connect.js';
import { sampleUsers, seedSample } from '../../src/postgres/sample.js';
import { TEST_PASSWORDS } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';
import { CONTAINER_ADDRESS, IsolatedServer, sshUnavailable } from '../helpers/ssh-server.js';

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
    assert.match(restoreLogger.lines.join('\n'), new RegExp(`Files into: +${into.replace(/[/.-]/g, '\\$&')} on bdssh@`), 'the preview names the server');
    assert.match(restoreLogger.lines.join('\n'), /restored.* on 127\.0\.0\.1:5432 via bdssh@/, 'the target is named as the server sees it, not as the tunnel');
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

describe('over SSH: unreadable files, restore interrupted at each step, Compose services, a bastion, a restricted key', { skip }, () => {
  let server: IsolatedServer;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;
  let backupStorage: string;

  const sshInputs = (sshd = server.sshd, overrides: Record<string, string> = {}): Record<string, string> => ({
    ssh: sshd.target,
    'ssh-private-key': sshd.clientKey.privateKey,
    'ssh-known-hosts': sshd.knownHostsLine,
    ...overrides,
  });
  const config = (values: Record<string, string>) => buildConfig((n) => values[n], {});
  /** A logger that drops every SSH connection when a line matching `when` is logged. */
  const dropOn = (when: RegExp) => {
    const logger = new MemoryLogger();
    const info = logger.info.bind(logger);
    let dropped = false;
    logger.info = (message: string) => {
      info(message);
      if (!dropped && when.test(message)) {
        dropped = true;
        server.sshd.dropConnections();
      }
    };
    return { logger, dropped: () => dropped };
  };
  const failureOf = async (run: Promise<unknown>): Promise<unknown> =>
    run.then(
      () => assert.fail('must fail'),
      (e: unknown) => e,
    );

  before(async () => {
    server = await IsolatedServer.start();
    work = await tempDir('bd-ssh-work2-');
    server.psql('CREATE DATABASE app');
    await onServer(server, server.dbUrl('app'), async (c) => seedSample(c, { scale: 2, users: await sampleUsers(TEST_PASSWORDS) }));
    // What a least-privilege backup role must still read: a table under row-level security, and a large object.
    server.psql(
      `CREATE TABLE private_notes (id int, body text); INSERT INTO private_notes SELECT g, 'n' || g FROM generate_series(1, 7) g;
       ALTER TABLE private_notes ENABLE ROW LEVEL SECURITY; SELECT lo_from_bytea(0, 'large object bytes');`,
      'app',
    );
    uploads = await server.serverDir('uploads');
    await mkdir(join(uploads, 'a'), { recursive: true });
    await writeFile(join(uploads, 'a/one.bin'), Buffer.alloc(100_000, 1));
    await writeFile(join(uploads, 'two.txt'), 'two');
    server.chownTree(uploads);
    backupStorage = join(work.path, 'backups');
    await runBackup(config({ ...sshInputs(), 'database-url': server.dbUrl('app'), storage: backupStorage, 'files-path': uploads }), {
      logger: new MemoryLogger(),
    });
  });
  after(async () => {
    await server?.stop();
    await work?.remove();
  });

  test('files the SSH user cannot read: a clear error naming them, nothing stored', async () => {
    const locked = await server.serverDir('locked');
    await writeFile(join(locked, 'ok.txt'), 'ok');
    server.chownTree(locked);
    await writeFile(join(locked, 'secret.key'), 'root only');
    await chmod(join(locked, 'secret.key'), 0o600); // owned by root: the SSH user cannot open it
    const storage = join(work.path, 'unreadable');
    const error = await failureOf(
      runBackup(config({ ...sshInputs(), 'database-url': server.dbUrl('app'), storage, 'files-path': locked }), { logger: new MemoryLogger() }),
    );
    assert.ok(error instanceof RemoteError, String(error));
    assert.match(error.message, /cannot be read by the SSH user: secret\.key/);
    for (const id of await readdir(join(storage, 'default')).catch(() => [] as string[])) assert.deepEqual(await readdir(join(storage, 'default', id)), []);
  });

  test('restore: the connection drops while the files are staged: database and live folder untouched', async () => {
    server.psql('CREATE DATABASE r_staging');
    const live = await server.serverDir('live-staging');
    await writeFile(join(live, 'current.txt'), 'current');
    server.chownTree(live);
    const { logger, dropped } = dropOn(/^Downloading and verifying/);
    const error = await failureOf(
      runRestore(
        config({
          ...sshInputs(),
          mode: 'restore',
          storage: backupStorage,
          'database-url': server.dbUrl('r_staging'),
          'files-path': live,
          'report-dir': join(work.path, 'reports'),
        }),
        { logger },
      ),
    );
    assert.ok(dropped());
    assert.ok(error instanceof RemoteError, String(error));
    assert.match(error.message, /dropped/);
    assert.equal(server.psql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`, 'r_staging').trim(), '0', 'nothing restored into the database');
    assert.deepEqual(await readdir(live), ['current.txt'], 'the live folder is as it was');
  });

  test('restore: the connection drops while the database is restored: the transaction rolls back, the live folder is untouched, the leftover staging folder is named', async () => {
    server.psql('CREATE DATABASE r_during');
    const live = await server.serverDir('live-during');
    await writeFile(join(live, 'current.txt'), 'current');
    server.chownTree(live);
    const { logger, dropped } = dropOn(/^Restoring into/);
    const error = await failureOf(
      runRestore(
        config({
          ...sshInputs(),
          mode: 'restore',
          storage: backupStorage,
          'database-url': server.dbUrl('r_during'),
          'files-path': live,
          'report-dir': join(work.path, 'reports'),
        }),
        { logger },
      ),
    );
    assert.ok(dropped());
    assert.ok(error instanceof RemoteError, String(error));
    assert.match(error.message, /dropped during the restore/);
    assert.equal(server.psql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`, 'r_during').trim(), '0', 'rolled back');
    assert.deepEqual(await readdir(live), ['current.txt']);
    assert.match(logger.lines.join('\n'), /staged files at \S+\.live-during\.restore-\S+ could not be removed/);
  });

  test('restore: the connection drops after the database COMMIT: the error says the database is restored and where the verified files wait', async () => {
    server.psql('CREATE DATABASE r_commit');
    const live = await server.serverDir('live-commit');
    await writeFile(join(live, 'current.txt'), 'current');
    server.chownTree(live);
    const { logger, dropped } = dropOn(/^Committed:/);
    const error = await failureOf(
      runRestore(
        config({
          ...sshInputs(),
          mode: 'restore',
          storage: backupStorage,
          'database-url': server.dbUrl('r_commit'),
          'files-path': live,
          'report-dir': join(work.path, 'reports'),
        }),
        { logger },
      ),
    );
    assert.ok(dropped());
    assert.ok(error instanceof BackupDrillError && error.category === 'remote', String(error));
    assert.match(error.message, /now holds backup .* \(committed\), but its files were not swapped in/);
    const staged = /The verified files wait at (\S+);/.exec(error.message)?.[1];
    assert.ok(staged, error.message);
    assert.ok(Number(server.psql('SELECT count(*) FROM users', 'r_commit')) > 0, 'the database restore is committed');
    assert.deepEqual(await readdir(live), ['current.txt'], 'the live folder is unchanged');
    assert.deepEqual((await readdir(staged)).sort(), ['a', 'two.txt'], 'the staged folder holds the backup’s files');
  });

  test('docker-service: the container address is looked up on the server and tunnelled to; not running and no permission are clear errors', async () => {
    const calls = join(await server.serverDir('docker-log'), 'calls.log'); // writable by the SSH user
    const inspect = JSON.stringify([
      {
        Id: 'c0ffee',
        Name: '/shop-db-1',
        State: { Running: true, Status: 'running' },
        Config: { Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'db' } },
        NetworkSettings: { IPAddress: '', Networks: { shop_default: { IPAddress: CONTAINER_ADDRESS } } },
      },
    ]);
    const docker = await server.serverScript(
      'docker',
      `echo "$*" >> ${calls}
case "$1" in
  ps) case "$*" in *label=com.docker.compose.service=db*label=com.docker.compose.project=shop*) echo c0ffee ;; esac ;;
  inspect) echo '${inspect}' ;;
esac\n`,
    );
    const denied = await server.serverScript(
      'docker-denied',
      `echo 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.24/containers/json": dial unix /var/run/docker.sock: connect: permission denied' >&2; exit 1\n`,
    );
    // "db" resolves nowhere: only the lookup on the server can find the container.
    const dbUrl = `postgres://postgres:${server.pgPassword}@db:5432/app`;
    const logger = new MemoryLogger();
    const backup = await runBackup(
      config({
        ...sshInputs(),
        'database-url': dbUrl,
        storage: join(work.path, 'docker'),
        'docker-service': 'db',
        'compose-project': 'shop',
        'ssh-docker-command': docker,
      }),
      { logger },
    );
    assert.ok(backup.manifest.totals.rows > 0);
    assert.match(logger.lines.join('\n'), new RegExp(`container shop-db-1 at ${CONTAINER_ADDRESS.replace(/\./g, '\\.')}`));
    assert.match(await readFile(calls, 'utf8'), /^ps .*\ninspect c0ffee$/m);

    const notRunning = await failureOf(
      runBackup(
        config({ ...sshInputs(), 'database-url': dbUrl, storage: join(work.path, 'docker2'), 'docker-service': 'worker', 'ssh-docker-command': docker }),
        { logger: new MemoryLogger() },
      ),
    );
    assert.ok(notRunning instanceof RemoteError && /No running container of Compose service 'worker'/.test(notRunning.message), String(notRunning));
    const noPermission = await failureOf(
      runBackup(config({ ...sshInputs(), 'database-url': dbUrl, storage: join(work.path, 'docker3'), 'docker-service': 'db', 'ssh-docker-command': denied }), {
        logger: new MemoryLogger(),
      }),
    );
    assert.ok(noPermission instanceof RemoteError && /may not use Docker/.test(noPermission.message), String(noPermission));
    assert.match(noPermission.hint ?? '', /sudo -n docker/);
  });

  test('ssh-jump: a server reachable only from the bastion is backed up through it', async () => {
    // The second sshd listens on the namespace's own loopback: only the first one (the bastion) can reach it.
    const inner = await server.addSshd('sshd-inner', { port: 2223, address: '127.0.0.1', clientKey: server.sshd.clientKey });
    const logger = new MemoryLogger();
    const backup = await runBackup(
      config({
        ...sshInputs(inner, { 'ssh-known-hosts': `${server.sshd.knownHostsLine}\n${inner.knownHostsLine}` }),
        'ssh-jump': server.sshd.target,
        'database-url': server.dbUrl('app'),
        storage: join(work.path, 'jump'),
        'files-path': uploads,
      }),
      { logger },
    );
    assert.equal(backup.manifest.files?.count, 2);
    assert.match(logger.lines.join('\n'), /Connecting to bdssh@127\.0\.0\.1:2223 through bdssh@/);
    // The bastion's key is checked too: without its line, nothing goes through.
    const error = await failureOf(
      runBackup(config({ ...sshInputs(inner), 'ssh-jump': server.sshd.target, 'database-url': server.dbUrl('app'), storage: join(work.path, 'jump2') }), {
        logger: new MemoryLogger(),
      }),
    );
    assert.ok(error instanceof RemoteError && /has no key for \[/.test(error.message), String(error));
  });

  test('least privilege: a restricted key (forced dispatcher, permitopen) and a read-only role with BYPASSRLS back up everything; nothing else is allowed', async () => {
    // Without BYPASSRLS (and large-object access) pg_read_all_data is not enough: each line of the recipe is needed.
    server.psql(`CREATE ROLE backup LOGIN PASSWORD 'backup-pw' IN ROLE pg_read_all_data`);
    const refused = await failureOf(
      runBackup(config({ ...sshInputs(), 'database-url': server.dbUrl('app', 'backup', 'backup-pw'), storage: join(work.path, 'least-refused') }), {
        logger: new MemoryLogger(),
      }),
    );
    assert.match(String((refused as Error).message), /row-level security/);
    server.psql(`ALTER ROLE backup BYPASSRLS; ALTER ROLE backup SET lo_compat_privileges = on;`);
    const dispatcher = await server.serverScript(
      'backup-drill-dispatch',
      (await readFile(join(import.meta.dirname, '../../docs/ssh/backup-drill-dispatch'), 'utf8'))
        .replace(/^#!.*\n/, '')
        .replace("UPLOADS='/srv/app/uploads'", `UPLOADS='${uploads}'`),
    );
    const restricted = await server.addSshd('sshd-restricted', {
      port: 2224,
      clientKey: server.sshd.clientKey,
      keyOptions: `restrict,port-forwarding,permitopen="127.0.0.1:5432",command="${dispatcher}"`,
    });
    const storage = join(work.path, 'least');
    const backup = await runBackup(
      config({ ...sshInputs(restricted), 'database-url': server.dbUrl('app', 'backup', 'backup-pw'), storage, 'files-path': uploads }),
      { logger: new MemoryLogger() },
    );
    assert.equal(backup.manifest.tables.find((t) => t.name === 'private_notes')?.rows, 7, 'row-level security did not hide rows');
    const drill = await runDrill(config({ mode: 'restore-drill', storage, 'report-dir': join(work.path, 'reports') }), { logger: new MemoryLogger() });
    assert.equal(drill.report.status, 'passed', drill.report.failures.join('; '));

    // The same key can neither run another command nor open a tunnel to another address.
    const session = await SshSession.open({
      target: parseEndpoint('ssh', restricted.target),
      privateKey: restricted.clientKey.privateKey,
      knownHosts: parseKnownHosts(restricted.knownHostsLine),
      acceptNewHostKey: false,
      logger: new MemoryLogger(),
    });
    try {
      const r = await session.run('id');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /refused/);
      await assert.rejects(session.forward(CONTAINER_ADDRESS, 5432), /could not open a tunnel/);
    } finally {
      session.close();
    }
  });

  test('restore with the documented restore key (restrict, port-forwarding, permitopen): database and files, previous folder discarded', async () => {
    const restoreKey = await server.addSshd('sshd-restore', {
      port: 2225,
      clientKey: server.sshd.clientKey,
      keyOptions: 'restrict,port-forwarding,permitopen="127.0.0.1:5432"',
    });
    server.psql('CREATE DATABASE r_key');
    const live = await server.serverDir('live-key');
    await writeFile(join(live, 'current.txt'), 'current');
    server.chownTree(live);
    const restored = await runRestore(
      config({
        ...sshInputs(restoreKey),
        mode: 'restore',
        storage: backupStorage,
        'database-url': server.dbUrl('r_key'),
        'files-path': live,
        'discard-previous-files': 'true',
        'report-dir': join(work.path, 'reports'),
      }),
      { logger: new MemoryLogger() },
    );
    assert.equal(restored.report?.status, 'passed', restored.report?.failures.join('; '));
    assert.deepEqual((await readdir(live)).sort(), ['a', 'two.txt']);
    assert.equal(restored.previousFilesPath, undefined);
    const siblings = (await readdir(join(live, '..'))).filter((n) => n.startsWith('live-key') || n.startsWith('.live-key'));
    assert.deepEqual(siblings, ['live-key'], 'no previous folder and no staging folder left');
  });
});
