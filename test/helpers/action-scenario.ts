// The committed bundle, run as the GitHub runner runs it: backup → drill
// (keep-database) → post step cleanup, restore mode, bad input. One scenario,
// registered once per runtime by the action-bundle*.test.ts files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '../../src/postgres/connect.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster, TEST_PASSWORDS } from './postgres.js';
import { makeUploads, tempDir } from './fs.js';
import { readCommandFile, runBundle, runBundleAsync, runnerFiles } from './action-runner.js';
import { startHttpReceiver } from './receivers.js';

/**
 * Registers the scenario for one runtime. `node` gives the binary (undefined:
 * this process's node); `runtimeChecks` runs first, e.g. to check the version.
 */
export function actionScenario(label: string, node: () => string | undefined, runtimeChecks?: () => void) {
  describe(`bundled action (${label})`, () => {
    let cluster: EphemeralCluster;
    let url: string;
    let work: { path: string; remove(): Promise<void> };

    before(async () => {
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

    if (runtimeChecks) test('the runtime is the one meant', runtimeChecks);

    test('backup, then drill with keep-database, then the post step removes the cluster', async () => {
      const storage = join(work.path, 'backups');
      const b = runnerFiles(await mkdirp(join(work.path, 'step-backup')));
      const backup = runBundle(
        'dist/action/index.js',
        { mode: 'backup', 'database-url': url, storage, 'files-path': join(work.path, 'uploads'), 'files-exclude': 'cache/**' },
        b,
        { node: node() },
      );
      assert.equal(backup.status, 0, backup.stdout.slice(-3000) + backup.stderr.slice(-3000));
      assert.doesNotMatch(backup.stderr, /ExperimentalWarning|DeprecationWarning/, 'no runtime warnings');
      const outputs = readCommandFile(b.output);
      assert.match(outputs['backup-id'] ?? '', /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.equal(outputs.tables, '8');
      assert.ok(Number(outputs['size-bytes']) > 0);
      assert.ok(Number(outputs.files) > 0);
      // The runner's own pg_dump of the server's major: nothing fetched (and no cache service off GitHub).
      assert.match(outputs['postgres-binaries'] ?? '', /^client \d+: installed$/);
      assert.match(readFileSync(b.summary, 'utf8'), /Backup .*Tables \/ rows/s);
      // The database password is masked (::add-mask::) and never printed in clear otherwise.
      assert.ok(backup.stdout.includes(`::add-mask::${cluster.password}`), backup.stdout.slice(0, 2000));
      const printed = backup.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
      assert.ok(!printed.join('\n').includes(cluster.password), 'password printed in clear');

      const checks = join(work.path, 'checks.yml');
      writeFileSync(
        checks,
        `checks:\n  - name: canary\n    login:\n      query: select password_hash from users where email = $1\n      identity: canary@example.com\n      password-env: CANARY_PASSWORD\n`,
      );
      const d = runnerFiles(await mkdirp(join(work.path, 'step-drill')));
      const drill = runBundle(
        'dist/action/index.js',
        { mode: 'restore-drill', storage, checks, 'keep-database': 'true', 'max-age': '1h', 'backup-id': outputs['backup-id']! },
        d,
        {
          node: node(),
          env: { CANARY_PASSWORD: TEST_PASSWORDS.canary },
        },
      );
      assert.equal(drill.status, 0, drill.stdout + drill.stderr);
      const out = readCommandFile(d.output);
      assert.equal(out.status, 'passed');
      assert.equal(out['backup-id'], outputs['backup-id']);
      assert.equal(out.tables, '8');
      assert.equal(out['failed-checks'], '0');
      assert.match(out['postgres-binaries'] ?? '', /^server \d+: installed, client \d+: installed$/);
      assert.ok(existsSync(out['report-path']!));
      assert.ok(existsSync(out['report-path']!.replace(/\.json$/, '.junit.xml')));
      const summary = readFileSync(d.summary, 'utf8');
      assert.match(summary, /passed/i);
      assert.match(summary, /public\.tickets/);
      const restored = out['database-url']!;
      const client = await connect(restored);
      assert.ok((await client.query('SELECT count(*)::int AS n FROM users')).rows[0].n > 0);
      await client.end();

      // Post step: gets the saved state and removes the kept cluster.
      const state = readCommandFile(d.state);
      assert.ok(state['cleanup-paths'], 'main step saved its cleanup list');
      const p = runnerFiles(await mkdirp(join(work.path, 'step-post')));
      const post = runBundle('dist/post/index.js', {}, p, { node: node(), state });
      assert.equal(post.status, 0, post.stdout + post.stderr);
      await assert.rejects(connect(restored), /Cannot reach/);
      for (const item of JSON.parse(state['cleanup-paths']!) as Array<{ path: string }>) assert.ok(!existsSync(item.path), `${item.path} removed`);
    });

    test('a failing drill fails the step with error annotations', async () => {
      await new Promise((r) => setTimeout(r, 1500)); // the backup is now older than max-age 1s
      const d = runnerFiles(await mkdirp(join(work.path, 'step-fail')));
      const drill = runBundle('dist/action/index.js', { mode: 'restore-drill', storage: join(work.path, 'backups'), 'max-age': '1s' }, d, { node: node() });
      assert.notEqual(drill.status, 0);
      assert.match(drill.stdout, /::error title=Restore drill::freshness/);
      assert.equal(readCommandFile(d.output).status, 'failed');
    });

    test('restore mode: dry run previews and writes nothing; then restores into an empty database', async () => {
      const storage = join(work.path, 'backups');
      const admin = await connect(cluster.url());
      await admin.query('CREATE DATABASE restore_target');
      await admin.end();
      const target = cluster.url('restore_target');
      const dry = runnerFiles(await mkdirp(join(work.path, 'step-restore-dry')));
      const d = runBundle('dist/action/index.js', { mode: 'restore', storage, 'database-url': target, parts: 'database', 'dry-run': 'true' }, dry, {
        node: node(),
      });
      assert.equal(d.status, 0, d.stdout.slice(-2000));
      assert.equal(readCommandFile(dry.output).status, 'dry-run');
      assert.match(readFileSync(dry.summary, 'utf8'), /Restore preview/);
      const empty = await connect(target);
      assert.equal((await empty.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n, 0, 'dry run wrote nothing');
      await empty.end();
      const real = runnerFiles(await mkdirp(join(work.path, 'step-restore')));
      const r = runBundle('dist/action/index.js', { mode: 'restore', storage, 'database-url': target, parts: 'database' }, real, { node: node() });
      assert.equal(r.status, 0, r.stdout.slice(-2000));
      const out = readCommandFile(real.output);
      assert.equal(out.status, 'passed');
      assert.equal(out.tables, '8');
      // A second restore into the now non-empty target is refused without force.
      const again = runnerFiles(await mkdirp(join(work.path, 'step-restore-again')));
      const refused = runBundle('dist/action/index.js', { mode: 'restore', storage, 'database-url': target, parts: 'database' }, again, { node: node() });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stdout, /::error::.*force/);
    });

    test('never silent: a backup pings /start and success; a failing drill pings /fail and posts a Teams card linking the run; summaries chart the run history', async () => {
      const receiver = await startHttpReceiver();
      try {
        const storage = join(work.path, 'backups');
        const github = { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '42', GITHUB_ACTOR: 'octocat', GITHUB_EVENT_NAME: 'schedule' };
        // The same inputs as the first test's backup, so the trend guard compares like with like (and has a baseline when run alone).
        const inputs = { mode: 'backup', 'database-url': url, storage, 'files-path': join(work.path, 'uploads'), 'files-exclude': 'cache/**' };
        const first = await runBundleAsync('dist/action/index.js', inputs, runnerFiles(await mkdirp(join(work.path, 'step-ns-first'))), { node: node() });
        assert.equal(first.status, 0, first.stdout.slice(-3000));
        await new Promise((r) => setTimeout(r, 1100)); // backup ids have one-second resolution
        const b = runnerFiles(await mkdirp(join(work.path, 'step-ns-backup')));
        const backup = await runBundleAsync('dist/action/index.js', { ...inputs, 'ping-url': `${receiver.url}/ping` }, b, { node: node(), env: github });
        assert.equal(backup.status, 0, backup.stdout.slice(-3000));
        assert.deepEqual(
          receiver.requests.map((r) => r.path),
          ['/ping/start', '/ping'],
          backup.stdout.slice(-3000),
        );
        const summary = readFileSync(b.summary, 'utf8');
        assert.match(summary, /### Against the previous backups[\s\S]*stored size/);
        assert.match(summary, /### Last runs of 'default'[\s\S]*```mermaid\nxychart-beta\n {2}title "Stored size/);

        await new Promise((r) => setTimeout(r, 1500)); // the backup must be older than max-age (1s) when the drill looks
        const d = runnerFiles(await mkdirp(join(work.path, 'step-ns-drill')));
        const teams = `teams+http://127.0.0.1:${new URL(receiver.url).port}/teams`;
        const drill = await runBundleAsync(
          'dist/action/index.js',
          { mode: 'restore-drill', storage, 'max-age': '1s', notify: teams, 'ping-url': `${receiver.url}/ping` },
          d,
          { node: node(), env: github },
        );
        assert.notEqual(drill.status, 0);
        assert.ok(drill.stdout.includes(`::add-mask::${teams}`), 'the notify URL is masked');
        assert.deepEqual(
          receiver.requests.map((r) => r.path),
          ['/ping/start', '/ping', '/ping/start', '/ping/fail', '/teams'],
        );
        const card = JSON.parse(receiver.requests.find((r) => r.path === '/teams')!.body) as {
          attachments: Array<{ content: { type: string; actions: Array<{ type: string; url: string }> } }>;
        };
        assert.equal(card.attachments[0]!.content.type, 'AdaptiveCard');
        assert.deepEqual(card.attachments[0]!.content.actions[0], {
          type: 'Action.OpenUrl',
          title: 'Open the run',
          url: 'https://github.com/acme/app/actions/runs/42',
        });
        assert.match(readFileSync(d.summary, 'utf8'), /\| restore-drill \| FAILED \|/);
      } finally {
        await receiver.close();
      }
    });

    test('bad input: a clear failure naming the input', async () => {
      const d = runnerFiles(await mkdirp(join(work.path, 'step-bad')));
      const r = runBundle('dist/action/index.js', { mode: 'explode', storage: join(work.path, 'backups') }, d, { node: node() });
      assert.notEqual(r.status, 0);
      assert.match(r.stdout, /::error::Unknown mode 'explode'\. Use one of: backup, restore-drill, restore\./);
    });
  });
}

async function mkdirp(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}
