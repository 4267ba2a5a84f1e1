// Class 1, kill -9 of the CLI at many points of a backup, a drill and a restore
// (issue 11, why 7: "after a kill, pg_dump can outlive the CLI"), and the
// action's cancellation (why 8). After each kill: no complete-looking damaged
// backup, no tool of that run still running, no throwaway server of it left
// after the next run, the next run succeeds (stale lock), a restore target unchanged.
import { after, before, describe } from 'node:test';
import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { actionDefaults, readCommandFile, runnerFiles } from '../helpers/action-runner.js';
import { createSeededDatabase, withClient } from '../helpers/postgres.js';
import { collect, describeRun, REPO, runCli, spawnCli } from './helpers/cli.js';
import { fingerprintDiff, takeFingerprint } from './helpers/fingerprint.js';
import { startWorld, takeBackup, type World } from './helpers/fixture.js';
import { postgresUnder, sleep, TreeWatcher, waitFor } from './helpers/procs.js';
import { completeButDamaged, leftoverLocks, leftoverPartials, type StorageRef } from './helpers/storage-check.js';
import { faultTest, QUICK } from './helpers/tally.js';

/** Client tools a run starts; none may outlive it by more than a few seconds. */
const TOOLS = new Set(['pg_dump', 'pg_dumpall', 'pg_restore', 'psql', 'initdb', 'tar', 'age', 'pg_ctl']);

interface KillPoint {
  why?: number;
  what: string;
  command: 'backup' | 'backup-s3' | 'drill' | 'restore';
  /** Resolves when the run has reached the point (true) or gave up (false). */
  reached(p: Probe): Promise<boolean>;
  quick?: boolean;
}

interface Probe {
  watcher: TreeWatcher;
  storage: string;
  tmp: string;
  s3: S3TestServer;
  world: World;
  requestsBefore: number;
}

async function anyFile(dir: string, match: (name: string) => boolean): Promise<boolean> {
  const walk = async (d: string): Promise<boolean> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory() ? await walk(join(d, e.name)) : match(e.name)) return true;
    }
    return false;
  };
  return walk(dir);
}

/** Something inside the drill's own temp folder (tmp/backup-drill-XXXX), not its cluster. */
async function drillTempHasFiles(tmp: string): Promise<boolean> {
  for (const d of await readdir(tmp).catch(() => [] as string[])) {
    if (d.startsWith('backup-drill-') && d !== 'backup-drill-clusters' && (await anyFile(join(tmp, d), () => true))) return true;
  }
  return false;
}

const WAIT = 120_000;
const POINTS: KillPoint[] = [
  {
    what: 'backup, during the snapshot',
    command: 'backup',
    reached: (p) =>
      waitFor(
        async () =>
          withClient(p.world.sourceUrl, async (c) => {
            const r = await c.query<{ n: string }>(
              "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = 'app' AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
            );
            return Number(r.rows[0]!.n) > 0;
          }).catch(() => false),
        WAIT,
        10,
      ),
  },
  {
    why: 7,
    what: 'backup, during pg_dump',
    command: 'backup',
    quick: true,
    reached: (p) => waitFor(() => p.watcher.running('pg_dump'), WAIT).then(async (ok) => (await sleep(400), ok)),
  },
  {
    what: 'backup, while the files tar is written',
    command: 'backup',
    reached: (p) => waitFor(() => anyFile(p.storage, (n) => n.startsWith('.files.tar.partial')), WAIT, 10),
  },
  {
    what: 'backup to S3, during the upload',
    command: 'backup-s3',
    reached: (p) => waitFor(() => p.s3.requests.slice(p.requestsBefore).some((r) => /^(PUT|POST) .*database\.dump/.test(r)), WAIT, 10),
  },
  {
    what: 'backup, while the manifest is written',
    command: 'backup',
    reached: (p) => waitFor(() => anyFile(p.storage, (n) => n === 'checksums.sha256' || n.startsWith('.manifest.json')), WAIT, 5),
  },
  { what: 'drill, during initdb', command: 'drill', reached: (p) => waitFor(() => p.watcher.running('initdb'), WAIT, 10) },
  // A local, unencrypted dump is restored in place; what the drill downloads into its temp folder is the files part.
  { what: 'drill, while it downloads and extracts the files', command: 'drill', reached: (p) => waitFor(() => drillTempHasFiles(p.tmp), WAIT, 10) },
  {
    what: 'drill, during pg_restore',
    command: 'drill',
    reached: (p) => waitFor(() => p.watcher.running('pg_restore'), WAIT).then(async (ok) => (await sleep(300), ok)),
  },
  {
    what: 'drill, while it verifies the restored tables',
    command: 'drill',
    // After the last pg_restore (post-data) has exited: the drill compares tables and files.
    reached: (p) =>
      waitFor(
        () => [...p.watcher.seen.values()].filter((x) => x.comm === 'pg_restore').length >= 2 && !p.watcher.running('pg_restore') && !p.watcher.running('psql'),
        WAIT,
        10,
      ),
  },
  {
    what: 'restore, while it downloads and verifies',
    command: 'restore',
    reached: (p) => waitFor(() => anyFile(p.tmp, (n) => n.includes('database.dump')), WAIT, 10),
  },
  {
    what: 'restore, during the load',
    command: 'restore',
    quick: true,
    reached: (p) => waitFor(() => p.watcher.running('pg_restore') || p.watcher.running('psql'), WAIT, 10).then(async (ok) => (await sleep(200), ok)),
  },
];

describe('class 1: kill -9 at many points', () => {
  let world: World;
  let s3: S3TestServer;
  let targetUrl: string;
  let drillStorage: string;
  let caseNo = 0;
  const s3Env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
  const s3Args = () => ['--s3-endpoint', s3.endpoint, '--s3-region', s3.region, '--s3-force-path-style'];

  before(async () => {
    world = await startWorld({ scale: 20, bulkRows: 400_000, extraUploadBytes: 40 << 20 });
    s3 = await startS3Server();
    targetUrl = await createSeededDatabase(world.cluster, 'target', 7);
    drillStorage = join(world.work, 'drill-storage');
    await takeBackup(world, drillStorage, ['--redact-columns', 'users.mfa_secret']);
  });
  after(async () => {
    await s3?.stop();
    await world?.stop();
  });

  function argsFor(point: KillPoint, storage: string): { args: string[]; ref: StorageRef } {
    const src = ['--database-url', world.sourceUrl, '--files-path', world.uploads];
    switch (point.command) {
      case 'backup':
        return { args: ['backup', '--storage', storage, ...src], ref: { storage } };
      case 'backup-s3': {
        const url = `s3://${s3.bucket}/${storage.split('/').pop()}`;
        return { args: ['backup', '--storage', url, ...src, ...s3Args()], ref: { storage: url, args: s3Args(), env: s3Env } };
      }
      case 'drill':
        return { args: ['drill', '--storage', drillStorage, '--report-dir', join(storage, 'reports')], ref: { storage: drillStorage } };
      case 'restore':
        return {
          args: [
            'restore',
            'latest',
            '--storage',
            drillStorage,
            '--database-url',
            targetUrl,
            '--force',
            '--ignore-schema-mismatch',
            '--yes',
            '--parts',
            'database',
          ],
          ref: { storage: drillStorage },
        };
    }
  }

  for (const point of POINTS.filter((p) => !QUICK || p.quick)) {
    faultTest('kill', `${point.why ? `why ${point.why}: ` : ''}kill -9 of the CLI: ${point.what}`, async () => {
      const storage = join(world.work, `kill-${caseNo++}`);
      const tmp = join(storage, 'tmp');
      await mkdir(tmp, { recursive: true });
      await chmod(storage, 0o755);
      await chmod(tmp, 0o1777);
      const { args, ref } = argsFor(point, storage);
      const env = { TMPDIR: tmp, ...(point.command === 'backup-s3' ? s3Env : {}) };
      const before = point.command === 'restore' ? await takeFingerprint(targetUrl) : undefined;

      const child = spawnCli(args, { env });
      const done = collect(child, 300_000);
      const watcher = new TreeWatcher(child.pid!);
      const reached = await point.reached({ watcher, storage, tmp, s3, world, requestsBefore: s3.requests.length });
      watcher.poll();
      child.kill('SIGKILL');
      const killed = await done;
      watcher.stop();
      const problems: string[] = [];
      if (!reached) return `the run never reached the point (${describeRun(killed)})`;
      if (killed.signal !== 'SIGKILL') problems.push(`the run ended before the kill: ${describeRun(killed)}`);

      // Tools of that run: gone within a few seconds.
      const atKill = watcher
        .survivors()
        .filter((p) => TOOLS.has(p.comm))
        .map((p) => p.comm);
      await waitFor(() => watcher.survivors().filter((p) => TOOLS.has(p.comm)).length === 0, 5_000, 100);
      const tools = watcher.survivors().filter((p) => TOOLS.has(p.comm));
      if (tools.length) problems.push(`still running 5 s after the kill: ${tools.map((p) => `${p.comm}[${p.pid}]`).join(', ')}`);
      for (const p of tools) process.kill(p.pid, 'SIGKILL');

      if (before !== undefined) {
        const diff = fingerprintDiff(before, await takeFingerprint(targetUrl));
        if (diff) problems.push(`the restore target changed (${diff}; tools alive at the kill: ${atKill.join(', ') || 'none'})`);
      }
      problems.push(...(await completeButDamaged(ref)));

      // The next run of the same command succeeds (stale lock, stale cluster).
      const next = await runCli(args, { env, timeoutMs: 300_000 });
      if (next.status !== 0) problems.push(`the next run failed: ${describeRun(next)}`);
      const servers = postgresUnder(tmp);
      if (servers.length)
        problems.push(`throwaway PostgreSQL of the killed run still running after the next run: pids ${servers.map((p) => p.pid).join(', ')}`);
      for (const p of servers) process.kill(p.pid, 'SIGKILL');
      // Parts a killed run left (no manifest) are incomplete, never a backup; retention removes them after 24 h.
      await rm(storage, { recursive: true, force: true });
      return problems.join('; ') || undefined;
    });
  }

  // why 8: the action under the runner's cancellation (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that).
  async function runActionUntil(signal: 'SIGINT' | 'SIGKILL', storage: string) {
    const runner = join(storage, 'runner');
    await mkdir(runner, { recursive: true });
    const files = runnerFiles(runner);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      NODE_OPTIONS: '',
      ...actionDefaults(),
      INPUT_MODE: 'backup',
      INPUT_STORAGE: storage,
      'INPUT_DATABASE-URL': world.sourceUrl,
      'INPUT_FILES-PATH': world.uploads,
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: files.output,
      GITHUB_STATE: files.state,
      GITHUB_STEP_SUMMARY: files.summary,
      RUNNER_TEMP: runner,
      GITHUB_REPOSITORY: 'acme/helpdesk',
      GITHUB_RUN_ID: '4242',
      GITHUB_SERVER_URL: 'https://github.com',
    };
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(REPO, 'src/action/index.ts')], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done = collect(child, 300_000);
    const watcher = new TreeWatcher(child.pid!);
    const reached = await waitFor(() => watcher.running('pg_dump'), WAIT);
    await sleep(300);
    if (signal === 'SIGINT') {
      child.kill('SIGINT');
      const t1 = setTimeout(() => child.kill('SIGTERM'), 7_500);
      const t2 = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done.finally(() => (clearTimeout(t1), clearTimeout(t2)));
    } else child.kill('SIGKILL');
    const run = await done;
    watcher.stop();
    await sleep(2_000);
    const post = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(REPO, 'src/post/index.ts')], {
      cwd: REPO,
      env: { ...env, ...Object.fromEntries(Object.entries(readCommandFile(files.state)).map(([k, v]) => [`STATE_${k}`, v])) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const postRun = await collect(post, 120_000);
    return { reached, run, postRun, watcher };
  }

  async function cancellationProblems(storage: string, signal: 'SIGINT' | 'SIGKILL'): Promise<string | undefined> {
    const { reached, run, postRun, watcher } = await runActionUntil(signal, storage);
    if (!reached) return `the action never started pg_dump: ${describeRun(run)}`;
    const problems: string[] = [];
    const tools = watcher.survivors().filter((p) => TOOLS.has(p.comm));
    if (tools.length) problems.push(`still running after the cancel: ${tools.map((p) => `${p.comm}[${p.pid}]`).join(', ')}`);
    for (const p of tools) process.kill(p.pid, 'SIGKILL');
    const locks = await leftoverLocks(storage);
    if (locks.length) problems.push(`lock left after the post step: ${locks.join(', ')} (post: ${describeRun(postRun)})`);
    const backups = (await readdir(join(storage, 'default')).catch(() => [] as string[])).filter((d) => /^\d{8}T/.test(d));
    for (const id of backups) {
      const hasManifest = await stat(join(storage, 'default', id, 'manifest.json')).then(
        () => true,
        () => false,
      );
      if (!hasManifest) problems.push(`partial backup ${id} left: ${(await readdir(join(storage, 'default', id))).join(', ')}`);
    }
    const partials = await leftoverPartials(join(storage, 'default'));
    if (partials.length) problems.push(`partial files left: ${partials.join(', ')}`);
    if (signal === 'SIGINT' && run.signal === 'SIGKILL') problems.push('the action did not stop within the runner’s 10 s cancellation window');
    await rm(storage, { recursive: true, force: true });
    return problems.join('; ') || undefined;
  }

  faultTest('kill', 'why 8: the action, cancelled by the runner mid-backup (SIGINT, SIGTERM, SIGKILL), leaves no partial parts, no lock, no pg_dump', () =>
    cancellationProblems(join(world.work, `action-${caseNo++}`), 'SIGINT'),
  );
  if (!QUICK)
    faultTest('kill', 'why 8: the post step releases the lock of an action run killed mid-backup', () =>
      cancellationProblems(join(world.work, `action-${caseNo++}`), 'SIGKILL'),
    );
});
