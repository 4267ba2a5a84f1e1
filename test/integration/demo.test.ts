// The README's first command, as a new user runs it: `npm run demo` (the
// committed CLI bundle) in a fresh folder, twice. It must pass both times,
// keep both backups, and leave no throwaway cluster running.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { clustersRoot } from '../../src/postgres/cluster.js';
import { tempDir } from '../helpers/fs.js';

const repo = process.cwd(); // the tests run from the repository root, like the other bundle tests

describe('npm run demo', () => {
  let work: { path: string; remove(): Promise<void> };
  before(async () => {
    work = await tempDir('bd-demo-');
  });
  after(async () => {
    await work?.remove();
  });

  const clusters = async () => new Set(await readdir(clustersRoot()).catch(() => [] as string[]));

  test('passes from a fresh folder, and again on a second run', async () => {
    const before = await clusters();
    const run = () =>
      spawnSync('npm', ['run', '--silent', '--prefix', repo, 'demo', '--', '--storage', join(work.path, 'backup-drill-demo')], {
        cwd: work.path,
        encoding: 'utf8',
        timeout: 300_000,
        env: { ...process.env, NO_COLOR: '1' },
      });
    for (const attempt of [1, 2]) {
      const r = run();
      assert.equal(r.status, 0, `run ${attempt}: ${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
      assert.match(r.stdout, /PASSED +restore drill of backup/);
      assert.match(r.stdout, /Tables: all 8 passed/);
      assert.match(r.stdout, /canary account can log in \(bcrypt\) +login +passed/);
      assert.match(r.stdout, /admin can log in \(argon2id\) +login +passed/);
      assert.match(r.stdout, /Files: ✓ 24 of 24 files/);
    }
    assert.equal((await readdir(join(work.path, 'backup-drill-demo', 'demo'))).length, 2, 'both backups kept');
    const left = [...(await clusters())].filter((c) => !before.has(c));
    assert.deepEqual(left, [], 'no throwaway cluster left behind');
  });
});
