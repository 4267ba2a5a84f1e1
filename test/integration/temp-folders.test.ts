// Shared and self-hosted runners: temp folders of our own, never a fixed shared
// path; drill databases kept on purpose survive later drills' cleanup.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EphemeralCluster, KEPT_CLUSTER_MAX_AGE_HOURS, cleanupStaleClusters } from '../../src/postgres/cluster.js';
import { connect } from '../../src/postgres/connect.js';
import { UsageError } from '../../src/errors.js';
import { runTempRoot } from '../../src/util/temp-root.js';
import { serverBinDir } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';

describe('temp folders', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  test('RUNNER_TEMP in Actions, otherwise a folder of this user under the OS temp dir', async () => {
    assert.equal(runTempRoot({ RUNNER_TEMP: '/runner/_temp' }), '/runner/_temp');
    const work = await tempDir();
    cleanups.push(work.remove);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = work.path;
    try {
      const root = runTempRoot({});
      assert.equal(root, join(work.path, `backup-drill-${process.getuid!()}`));
      assert.ok((await readdir(work.path)).includes(`backup-drill-${process.getuid!()}`));
    } finally {
      restoreTmpdir(saved);
    }
  });

  test('a per-user folder that another user owns is refused, not used', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async () => {
    const work = await tempDir();
    cleanups.push(work.remove);
    const squatted = join(work.path, `backup-drill-${process.getuid!()}`);
    await mkdir(squatted);
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    await chown(squatted, uid, uid);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = work.path;
    try {
      assert.throws(
        () => runTempRoot({}),
        (e: unknown) => e instanceof UsageError && /belongs to another user \(uid \d+, we are 0\)/.test(e.describe()) && /TMPDIR/.test(e.describe()),
      );
    } finally {
      restoreTmpdir(saved);
    }
  });

  test('a throwaway server starts under a temp folder deeper than the 107-byte Unix socket path limit', async () => {
    const work = await tempDir();
    cleanups.push(work.remove);
    let deep = work.path;
    for (const part of ['a-rather-long-runner-temp-folder', 'of-a-self-hosted-runner-job', 'with-more-levels-below-it', 'and-one-more-level-here']) {
      deep = join(deep, part);
      await mkdir(deep, { mode: 0o755 });
      await chmod(deep, 0o755);
    }
    await chmod(work.path, 0o755);
    assert.ok(deep.length > 107, deep);
    const cluster = await EphemeralCluster.start({ binDir: await serverBinDir(), parentDir: deep });
    try {
      const client = await connect(cluster.url());
      assert.equal((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
      await client.end();
    } finally {
      await cluster.stop();
    }
  });

  test('a kept drill database survives later cleanup until its age limit or an explicit --cleanup', async () => {
    const work = await tempDir();
    cleanups.push(work.remove);
    await chmod(work.path, 0o755); // the server's own user must reach its folder
    const parent = join(work.path, 'clusters');
    const startKept = async () => {
      const cluster = await EphemeralCluster.start({ binDir: await serverBinDir(), parentDir: parent });
      await cluster.markKept();
      // As after `drill --keep-database` exits: the owning process is gone, the server runs on.
      const gone = spawn('true');
      await new Promise((r) => gone.once('exit', r));
      const ownerPath = join(cluster.root, 'owner.json');
      const owner = JSON.parse(await readFile(ownerPath, 'utf8'));
      await writeFile(ownerPath, JSON.stringify({ ...owner, pid: gone.pid }));
      cleanups.push(() => cluster.stop());
      return cluster;
    };
    const reachable = async (cluster: EphemeralCluster) => {
      const client = await connect(cluster.url()).catch(() => undefined);
      await client?.end();
      return client !== undefined;
    };
    const kept = await startKept();
    assert.equal(await cleanupStaleClusters(undefined, parent), 0, 'a later drill leaves it');
    assert.ok(await reachable(kept));
    const later = new Date(Date.now() + (KEPT_CLUSTER_MAX_AGE_HOURS + 1) * 3600_000);
    assert.equal(await cleanupStaleClusters(undefined, parent, { now: later }), 1, 'removed after the age limit');
    assert.deepEqual(await readdir(parent), []);

    const second = await startKept();
    assert.equal(await cleanupStaleClusters(undefined, parent, { includeKept: true }), 1, 'drill --cleanup removes it');
    assert.equal(await reachable(second), false);
  });
});

function restoreTmpdir(saved: string | undefined): void {
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
}
