// Issue 11, "faults that end cleanly": each numbered case is a named test, run against the
// real CLI (a subprocess), a real PostgreSQL, a real S3 server (s3rver) behind a fault proxy,
// and real tiny file systems (tmpfs). Every failure must exit with its documented code, name
// what failed and what to do, print no stack trace, and leave no partial parts and no lock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { RUNS_FOLDER } from '../../src/history/record.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT_CODE_MEANINGS, ExitCode } from '../../src/errors.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { openStorage } from '../../src/storage/registry.js';
import { readCommandFile, runnerFiles } from '../helpers/action-runner.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { createSeededDatabase, startCluster, withClient } from '../helpers/postgres.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const REPO = process.cwd();
const STACK_TRACE = /\n\s+at .+[:(].*\d+:\d+\)?/;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI (TypeScript through tsx) as a subprocess. */
function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/index.ts'), ...args], {
    cwd: REPO,
    env: { ...process.env, NODE_OPTIONS: '', BACKUP_DRILL_DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const done = new Promise<Run>((resolve) =>
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
  return { child, done };
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => startCli(args, env).done;

function assertClean(r: Run, code: number, patterns: RegExp[]): void {
  const out = `exit ${r.status}\n${r.stderr}\n${r.stdout}`;
  assert.equal(r.status, code, out);
  for (const p of patterns) assert.match(r.stderr, p, out);
  assert.doesNotMatch(r.stderr, STACK_TRACE, `no stack trace:\n${r.stderr}`);
}

/**
 * Every file (not folder) under a local folder, relative, but the run records (`<set>/runs/`): a failed
 * run must leave its record (issue 14), and it is never a backup part or a lock.
 */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(root.length + 1))
    .filter((f) => !f.split('/').includes(RUNS_FOLDER));
}

type Fault = 'stall' | 'reset' | 'error500';

/** An HTTP proxy in front of s3rver that injects one fault into every request `matches` picks. */
async function faultProxy(
  target: string,
  fault: Fault,
  matches: (req: IncomingMessage) => boolean,
): Promise<{ endpoint: string; hits: () => number; close(): void }> {
  let hits = 0;
  const server: Server = createHttpServer((req, res) => {
    if (matches(req)) {
      hits++;
      if (fault === 'reset') return void req.socket.destroy();
      req.resume(); // accept the upload…
      if (fault === 'stall') return; // …and never answer
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><Error><Code>InternalError</Code><Message>injected failure</Message></Error>');
      });
      return;
    }
    const upstream = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** pg_dump processes of our test cluster (other suites may run their own). */
function pgDumpsOf(port: number): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return ps
    .split('\n')
    .filter((line) => /pg_dump /.test(line) && line.includes(`127.0.0.1:${port}/`) && !/^\s*\d+\s+ps /.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function canMountTmpfs(dir: string): boolean {
  return (
    process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0 && spawnSync('umount', [dir]).status === 0
  );
}

describe('faults and inputs (issue 11)', () => {
  let cluster: EphemeralCluster;
  let url: string;
  let s3: S3TestServer;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;
  let lockTable: string;
  let awsEnv: Record<string, string>;
  const mounts: string[] = [];

  before(async () => {
    cluster = await startCluster();
    url = await createSeededDatabase(cluster, 'app');
    s3 = await startS3Server();
    work = await tempDir('bd-faults-');
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    await writeFile(join(uploads, 'big.bin'), randomBytes(3 * 1024 * 1024));
    lockTable = await withClient(url, async (c) => {
      const { rows } = await c.query<{ t: string }>(
        "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1 LIMIT 1",
      );
      return rows[0]!.t;
    });
    awsEnv = {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: s3.region,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  });
  after(async () => {
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    await cluster?.stop();
    await s3?.stop();
    await work?.remove();
  });

  /** Runs `fn` while another session holds an exclusive lock on a table, so pg_dump blocks mid-dump. */
  async function withTableLocked<T>(fn: () => Promise<T>): Promise<T> {
    return withClient(url, async (c) => {
      await c.query('BEGIN');
      await c.query(`LOCK TABLE ${lockTable} IN ACCESS EXCLUSIVE MODE`);
      try {
        return await fn();
      } finally {
        await c.query('ROLLBACK');
      }
    });
  }

  test('1. exit codes: one table, listed with number and meaning in --help and the README', async () => {
    const help = await cli(['--help']);
    assert.equal(help.status, 0, help.stderr);
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const codes = Object.entries(ExitCode);
    assert.equal(new Set(codes.map(([, v]) => v)).size, codes.length, 'every code is unique');
    for (const [name, code] of codes) {
      const meaning = EXIT_CODE_MEANINGS[name as keyof typeof ExitCode];
      assert.match(help.stdout, new RegExp(`^  ${code}\\s+${meaning.slice(0, 20).replace(/[()]/g, '\\$&')}`, 'm'), `--help lists ${code} ${name}`);
      assert.match(readme, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `README lists ${code}`);
    }
    for (const [name, code] of [
      ['environment', 9],
      ['timedOut', 10],
      ['suspect', 11],
      ['notVerifiable', 12],
      ['interrupted', 130],
    ] as const)
      assert.equal(ExitCode[name], code);
  });

  describe('2. deadlines: a misbehaving S3 endpoint ends the backup with exit 5, no backup, no lock', () => {
    for (const fault of ['stall', 'reset', 'error500'] as const) {
      test(`S3 endpoint that ${fault === 'stall' ? 'accepts the upload and never answers' : fault === 'reset' ? 'resets the connection' : 'answers 500'}`, async () => {
        const proxy = await faultProxy(s3.endpoint, fault, (req) => (req.method === 'PUT' || req.method === 'POST') && /database\.dump/.test(req.url ?? ''));
        const prefix = `fault-${fault}`;
        const started = Date.now();
        try {
          const r = await cli(
            [
              'backup',
              '--storage',
              `s3://${s3.bucket}/${prefix}`,
              '--s3-endpoint',
              proxy.endpoint,
              '--s3-force-path-style',
              '--database-url',
              url,
              '--storage-timeout',
              '1s',
              '--connect-timeout',
              '2s',
            ],
            awsEnv,
          );
          assertClean(r, ExitCode.storage, [new RegExp(proxy.endpoint.replace(/[.:/]/g, '\\$&')), /database\.dump/]);
          if (fault === 'stall') assert.match(r.stderr, /stopped answering within 1s \(storage-timeout\)/);
          assert.ok(proxy.hits() >= 2, `the request was retried (${proxy.hits()} attempts)`);
          assert.ok(Date.now() - started < 120_000, 'ended well within the deadlines');
        } finally {
          proxy.close();
        }
        Object.assign(process.env, awsEnv); // the check below reads the bucket directly, in this process
        const direct = await openStorage({ storage: `s3://${s3.bucket}/${prefix}`, s3: { endpoint: s3.endpoint, forcePathStyle: true, region: s3.region } });
        const left: string[] = [];
        for await (const o of direct.list('')) if (!o.key.split('/').includes(RUNS_FOLDER)) left.push(o.key);
        assert.deepEqual(left, [], 'no partial parts, no manifest, no lock left behind (the failed run keeps its record)');
      });
    }

    test('a PostgreSQL server that accepts TCP and never answers: exit 4 after connect-timeout', async () => {
      const silent: TcpServer = createTcpServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as { port: number };
      try {
        const started = Date.now();
        const r = await cli([
          'backup',
          '--storage',
          join(work.path, 'pg-timeout'),
          '--database-url',
          `postgres://app:pw@127.0.0.1:${port}/app`,
          '--connect-timeout',
          '2s',
        ]);
        assertClean(r, ExitCode.database, [/Timed out connecting to app on 127\.0\.0\.1/, /connect-timeout/]);
        assert.ok(Date.now() - started < 30_000, 'gave up after the deadline');
      } finally {
        silent.close();
      }
    });
  });

  test('3. --storage on /proc or /sys is refused at once (it used to spin at 100% CPU)', async () => {
    for (const storage of ['/proc/x', '/proc/self/backups', '/sys/kernel/x']) {
      const started = Date.now();
      const r = await cli(['backup', '--storage', storage, '--database-url', url]);
      assertClean(r, ExitCode.usage, [new RegExp(`'storage' points at ${storage}`), /(proc|sysfs) file system/, /real disk/]);
      assert.ok(Date.now() - started < 20_000);
    }
    const list = await cli(['list', '--storage', '/proc/x']);
    assertClean(list, ExitCode.usage, [/\/proc\/x, which does not exist/]);
  });

  describe('4. full, read-only and unwritable disks', () => {
    test('disk full while storing: exit 5 naming the path, partial parts and the lock removed', async (t) => {
      const tiny = join(work.path, 'tiny');
      await mkdir(tiny);
      if (!canMountTmpfs(tiny)) return t.skip('needs root and tmpfs mounts');
      assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tiny]).status, 0);
      mounts.push(tiny);
      const r = await cli(['backup', '--storage', join(tiny, 'backups'), '--database-url', url, '--files-path', uploads]);
      assertClean(r, ExitCode.storage, [/no space left on the device \(ENOSPC, .*tiny\/backups/, /disk is full: free space/]);
      assert.deepEqual(await filesUnder(tiny), [], 'nothing left: no partial parts, no lock');
    });

    test('read-only storage: exit 5 naming the path and the fix', async (t) => {
      const ro = join(work.path, 'readonly');
      await mkdir(ro);
      if (!canMountTmpfs(ro)) return t.skip('needs root and tmpfs mounts');
      assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', ro]).status, 0);
      mounts.push(ro);
      const r = await cli(['backup', '--storage', join(ro, 'backups'), '--database-url', url]);
      assertClean(r, ExitCode.storage, [/EROFS/, /readonly\/backups/, /read-only: use a writable folder/]);
    });

    test('a storage folder this user may not write: exit 5 naming the path (EACCES)', async (t) => {
      const locked = join(work.path, 'locked');
      await mkdir(locked, { mode: 0o755 });
      // Root ignores permissions: run the CLI as the unprivileged postgres user.
      const probe = spawnSync('runuser', ['-u', 'postgres', '--', process.execPath, '--import', 'tsx', 'src/cli/index.ts', '--version'], {
        cwd: REPO,
        encoding: 'utf8',
      });
      if (process.getuid?.() !== 0 || probe.status !== 0) return t.skip(`needs root and a postgres user that can run the CLI (${probe.stderr?.slice(0, 200)})`);
      const r = spawnSync(
        'runuser',
        ['-u', 'postgres', '--', process.execPath, '--import', 'tsx', 'src/cli/index.ts', 'backup', '--storage', join(locked, 'b'), '--database-url', url],
        {
          cwd: REPO,
          encoding: 'utf8',
          env: { ...process.env, NODE_OPTIONS: '' },
        },
      );
      assertClean({ status: r.status, stdout: r.stdout, stderr: r.stderr }, ExitCode.storage, [/EACCES/, /locked\/b/, /permissions/]);
    });

    test('a drill whose temp folder is full says it could not run here (exit 9), not that the backup is broken', async (t) => {
      const storage = join(work.path, 'good');
      const b = await cli(['backup', '--storage', storage, '--database-url', url]);
      assert.equal(b.status, 0, b.stderr);
      const tmp = join(work.path, 'tinytmp');
      await mkdir(tmp);
      if (!canMountTmpfs(tmp)) return t.skip('needs root and tmpfs mounts');
      assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=1777', 'tmpfs', tmp]).status, 0);
      mounts.push(tmp);
      const r = await cli(['drill', '--storage', storage, '--report-dir', join(work.path, 'reports')], { TMPDIR: tmp });
      assertClean(r, ExitCode.environment, [/on this machine|could not run here/i, /TMPDIR/]);
      assert.doesNotMatch(r.stderr + r.stdout, /Drill failed|0 tables/);
    });

    test('a drill with no server binaries for the backup is an environment problem (exit 9)', async () => {
      const storage = join(work.path, 'good');
      const r = await cli(['drill', '--storage', storage, '--postgres-version', '42', '--report-dir', join(work.path, 'reports')]);
      assertClean(r, ExitCode.environment, [/No initdb\/pg_ctl\/postgres of PostgreSQL 42/, /postgres-bin-dir/]);
    });
  });

  test('5. inputs are never silently reinterpreted (exit 2, the input, the value, the fix)', async () => {
    const storage = join(work.path, 'inputs');
    const empty = join(work.path, 'empty-bin');
    await mkdir(empty, { recursive: true });
    const cases: Array<[string[], RegExp[]]> = [
      [
        ['--storage', 's3:/bucket/x'],
        [/'storage'/, /s3:\/bucket\/x/, /s3:\/\/bucket\/x/],
      ],
      [
        ['--storage', 's3:bucket/x'],
        [/'storage'/, /s3:bucket\/x/, /s3:\/\/bucket\/x/],
      ],
      [
        ['--storage', 'S3://'],
        [/'storage'/, /S3:\/\//, /s3:\/\/bucket-name/],
      ],
      [
        ['--storage', 'gs://bucket/x'],
        [/'storage'/, /gs:\/\//, /Supported/],
      ],
      [
        ['--storage', storage, '--postgres-bin-dir', '/nonexistent'],
        [/'postgres-bin-dir'/, /\/nonexistent/, /does not exist/],
      ],
      [
        ['--storage', storage, '--postgres-bin-dir', empty],
        [/'postgres-bin-dir'/, /empty-bin/, /pg_config --bindir/],
      ],
      [
        ['--storage', storage, '--files-path', uploads, '--files-exclude', '['],
        [/'files-exclude'/, /'\['/, /Close every/],
      ],
      [
        ['--storage', storage, '--files-path', uploads, '--files-exclude', '/etc/*'],
        [/'files-exclude'/, /\/etc\/\*/, /relative to files-path/],
      ],
      [
        ['--storage', join(uploads, 'backups'), '--files-path', uploads],
        [/'storage'/, /inside 'files-path'/, /outside the uploads/],
      ],
      [
        ['--storage', storage, '--encrypt-recipients', '/nonexistent/recipients.txt'],
        [/'encrypt-recipients'/, /recipients\.txt/, /does not exist/],
      ],
      [
        ['--storage', storage, '--database-url', 'postgres://app:hunter2secret@db host:5432/app'],
        [/'database-url'/, /postgres:\/\/app:\*\*\*@db host:5432\/app/, /percent-encode/],
      ],
    ];
    for (const [args, patterns] of cases) {
      const r = await cli(['backup', ...args]);
      assertClean(r, ExitCode.usage, patterns);
      assert.doesNotMatch(r.stderr, /hunter2secret/);
    }
    const missing = await cli(['list', '--storage', '/nonexistent']);
    assertClean(missing, ExitCode.usage, [/'storage' points at \/nonexistent, which does not exist/]);
    const identity = await cli(['drill', '--storage', join(work.path, 'good'), '--decrypt-identity', './no-such-key.txt']);
    assertClean(identity, ExitCode.usage, [/'decrypt-identity'/, /no-such-key\.txt/, /does not exist/]);
    assert.doesNotMatch(identity.stderr, /malformed|invalid.*key/i);
  });

  describe('6. signals: children die with us, partial parts and the lock are removed', () => {
    test('kill -9 of the CLI mid-dump, 5 times: no pg_dump outlives it', async () => {
      await withTableLocked(async () => {
        for (let i = 0; i < 5; i++) {
          const { child, done } = startCli(['backup', '--storage', join(work.path, `kill9-${i}`), '--database-url', url]);
          await waitFor('pg_dump to start', () => pgDumpsOf(cluster.port).length > 0);
          child.kill('SIGKILL');
          await done;
          await waitFor('pg_dump to die with the CLI', () => pgDumpsOf(cluster.port).length === 0, 10_000);
        }
      });
    });

    test('SIGTERM mid-dump: the CLI stops pg_dump, deletes partial parts, releases the lock, exits 130', async () => {
      const storage = join(work.path, 'sigterm');
      await withTableLocked(async () => {
        const { child, done } = startCli(['backup', '--storage', storage, '--database-url', url, '--files-path', uploads]);
        await waitFor('pg_dump to start', () => pgDumpsOf(cluster.port).length > 0);
        await sleep(300);
        child.kill('SIGTERM');
        const r = await done;
        assertClean(r, ExitCode.interrupted, [/Interrupted by SIGTERM/]);
        assert.equal(pgDumpsOf(cluster.port).length, 0, 'pg_dump stopped');
      });
      assert.deepEqual(await filesUnder(storage), [], 'no partial parts, no lock');
    });

    /** The action's main step (src/action/index.ts) with runner-like env; state goes to GITHUB_STATE. */
    function startAction(entry: 'action' | 'post', storage: string, dir: string, state: Record<string, string> = {}) {
      const files = runnerFiles(dir);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        NODE_OPTIONS: '',
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: files.output,
        GITHUB_STATE: files.state,
        GITHUB_STEP_SUMMARY: files.summary,
        RUNNER_TEMP: dir,
        INPUT_MODE: 'backup',
        INPUT_STORAGE: storage,
        'INPUT_DATABASE-URL': url,
        INPUT_NAME: 'default',
      };
      for (const [k, v] of Object.entries(state)) env[`STATE_${k}`] = v;
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, `src/${entry === 'action' ? 'action' : 'post'}/index.ts`)], {
        cwd: REPO,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stdout += c.toString()));
      const done = new Promise<Run>((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr: '' })));
      return { child, done, files };
    }

    test('action: SIGINT then SIGTERM (the runner cancelling) cleans up like the CLI', async () => {
      const storage = join(work.path, 'action-sigint');
      const dir = join(work.path, 'runner1');
      await mkdir(dir, { recursive: true });
      await withTableLocked(async () => {
        const { child, done } = startAction('action', storage, dir);
        await waitFor('pg_dump to start', () => pgDumpsOf(cluster.port).length > 0);
        child.kill('SIGINT');
        await sleep(200);
        child.kill('SIGTERM'); // must not cut the cleanup short
        const r = await done;
        assert.match(r.stdout, /::error::Interrupted by SIGINT/, r.stdout);
        assert.equal(pgDumpsOf(cluster.port).length, 0);
      });
      assert.deepEqual(await filesUnder(storage), [], 'no partial parts, no lock');
    });

    test('action killed (SIGKILL) mid-backup: the post step releases its lock and removes its partial parts', async () => {
      const storage = join(work.path, 'action-kill');
      const dir = join(work.path, 'runner2');
      await mkdir(dir, { recursive: true });
      let files;
      await withTableLocked(async () => {
        const main = startAction('action', storage, dir);
        files = main.files;
        await waitFor('pg_dump to start', () => pgDumpsOf(cluster.port).length > 0);
        await waitFor('a partial part', async () => (await filesUnder(storage)).some((f) => /partial|roles|files/.test(f)), 5_000).catch(() => undefined);
        main.child.kill('SIGKILL');
        await main.done;
      });
      const leftBefore = await filesUnder(storage);
      assert.ok(
        leftBefore.some((f) => f.startsWith('locks/')),
        `the killed run left its lock: ${leftBefore.join(', ')}`,
      );
      const state = readCommandFile(files!.state);
      assert.ok(state['main-pid'] && state['backup-prefix'], JSON.stringify(state));
      const post = await startAction('post', storage, dir, state).done;
      assert.equal(post.status, 0, post.stdout);
      assert.match(post.stdout, /Released lock .* left by the interrupted run/);
      assert.deepEqual(await filesUnder(storage), [], `post step left nothing: ${post.stdout}`);
    });
  });
});
