// backup → list → drill → prune through a real S3 server (s3rver on 127.0.0.1),
// from the CLI bundle, the action bundle and the engine; plus locking and a
// server that dies mid-upload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { listBackups } from '../../src/storage/catalog.js';
import { acquireLock } from '../../src/storage/lock.js';
import { openStorage } from '../../src/storage/registry.js';
import { LockedError } from '../../src/errors.js';
import { MemoryLogger } from '../../src/util/logger.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { readCommandFile, runAsync, runBundleAsync, runnerFiles } from '../helpers/action-runner.js';

describe('S3 round trip', () => {
  let cluster: EphemeralCluster;
  let url: string;
  let s3: S3TestServer;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;
  let awsEnv: Record<string, string>;

  before(async () => {
    cluster = await startCluster();
    url = await createSeededDatabase(cluster, 'app');
    s3 = await startS3Server();
    work = await tempDir();
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    awsEnv = {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: s3.region,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    Object.assign(process.env, awsEnv); // the engine in this process reads the standard AWS chain too
  });
  after(async () => {
    await cluster?.stop();
    await s3?.stop();
    await work?.remove();
  });

  // Async: s3rver runs in this process, so a blocking spawn would deadlock it.
  function cli(args: string[]) {
    return runAsync(process.execPath, ['dist/cli/index.js', ...args, '--s3-endpoint', s3.endpoint, '--s3-force-path-style'], { ...process.env, ...awsEnv });
  }

  test('CLI: backup ×3, list, drill, prune --keep-last 1', async () => {
    const storage = `s3://${s3.bucket}/cli`;
    for (let i = 0; i < 3; i++) {
      const b = await cli(['backup', '--database-url', url, '--files-path', uploads, '--storage', storage, '--json']);
      assert.equal(b.status, 0, b.stderr);
      assert.match(JSON.parse(b.stdout).backupUri, new RegExp(`^s3://${s3.bucket}/cli/default/`));
    }
    const listed = await cli(['list', '--storage', storage, '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as Array<{ id: string; complete: boolean }>;
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.complete));
    const drill = await cli(['drill', '--storage', storage, '--report-dir', join(work.path, 'reports'), '--json', '--jobs', '2']);
    assert.equal(drill.status, 0, drill.stdout.slice(-2000) + drill.stderr.slice(-2000));
    const report = JSON.parse(drill.stdout);
    assert.equal(report.status, 'passed');
    // A zstd dump from S3 is restored in parallel from a staged copy, and the report says so.
    const restoreCheck = (report.checks as Array<{ name: string; message: string }>).find((c) => c.name === 'pg_restore');
    assert.match(restoreCheck?.message ?? '', /with 2 jobs from an uncompressed copy of the dump staged in the temp folder \(\d/);
    assert.equal(report.backupId, rows[0]!.id, 'drills the newest');
    assert.equal(report.files.status, 'passed');
    const verify = await cli(['verify', 'latest', '--storage', storage]);
    assert.equal(verify.status, 0, verify.stderr);
    const dry = await cli(['prune', '--storage', storage, '--keep-last', '1', '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(JSON.parse((await cli(['list', '--storage', storage, '--json'])).stdout).length, 3, 'dry run deletes nothing');
    const pruned = await cli(['prune', '--storage', storage, '--keep-last', '1']);
    assert.equal(pruned.status, 0, pruned.stderr);
    const after = JSON.parse((await cli(['list', '--storage', storage, '--json'])).stdout) as Array<{ id: string }>;
    assert.deepEqual(
      after.map((r) => r.id),
      [rows[0]!.id],
    );
    const refuse = await cli(['prune', '--storage', storage, '--keep-last', '0']);
    assert.equal(refuse.status, 2);
    assert.match(refuse.stderr, /keep-last/);
  });

  test('action bundle: backup with retention, then drill, through S3', async () => {
    const storage = `s3://${s3.bucket}/action`;
    const common = { storage, 's3-endpoint': s3.endpoint, 's3-force-path-style': 'true' };
    for (let i = 0; i < 3; i++) {
      const f = runnerFiles(await mkdirp(join(work.path, `a-backup-${i}`)));
      const r = await runBundleAsync('dist/action/index.js', { ...common, mode: 'backup', 'database-url': url, 'keep-last': '2' }, f, { env: awsEnv });
      assert.equal(r.status, 0, r.stdout.slice(-2000) + r.stderr.slice(-2000));
    }
    const entries = await listBackups(await openStorage(buildConfig((n) => ({ ...common })[n as keyof typeof common], awsEnv)), 'default');
    assert.equal(entries.length, 2, 'keep-last 2 applied after each backup');
    const f = runnerFiles(await mkdirp(join(work.path, 'a-drill')));
    const d = await runBundleAsync('dist/action/index.js', { ...common, mode: 'restore-drill' }, f, { env: awsEnv });
    assert.equal(d.status, 0, d.stdout.slice(-2000));
    assert.equal(readCommandFile(f.output).status, 'passed');
  });

  test('a lock held by a live run stops a second backup, naming the holder', async () => {
    const config = buildConfig(
      (n) => ({ 'database-url': url, storage: `s3://${s3.bucket}/locked`, 's3-endpoint': s3.endpoint, 's3-force-path-style': 'true' })[n],
      awsEnv,
    );
    Object.assign(process.env, awsEnv);
    const storage = await openStorage(config);
    const held = await acquireLock(storage, 'default', {
      operation: 'backup',
      holder: 'https://github.com/acme/app/actions/runs/7',
      logger: new MemoryLogger(),
    });
    try {
      await assert.rejects(runBackup(config, { logger: new MemoryLogger(), storage }), (e: unknown) => {
        assert.ok(e instanceof LockedError);
        assert.match(e.describe(), /actions\/runs\/7/);
        return true;
      });
      assert.equal((await listBackups(storage, 'default')).length, 0, 'nothing written while locked');
    } finally {
      await held.release();
    }
    const ok = await runBackup(config, { logger: new MemoryLogger(), storage });
    assert.ok(ok.id);
  });

  test('the S3 server dying mid-upload: no manifest, and the next backup succeeds', async () => {
    const dying = await startS3Server({ bucket: 'dying' });
    const big = join(work.path, 'big-uploads');
    await mkdir(big);
    await writeFile(join(big, 'video.bin'), randomBytes(60 << 20));
    // The backup runs in its own process (as in real life), so its lock is left by a dead process afterwards.
    const running = runAsync(
      process.execPath,
      [
        'dist/cli/index.js',
        'backup',
        '--database-url',
        url,
        '--storage',
        's3://dying/p',
        '--s3-endpoint',
        dying.endpoint,
        '--s3-force-path-style',
        '--files-path',
        big,
      ],
      { ...process.env, ...awsEnv },
    );
    // Kill the server once the uploads' PUT is under way (the multipart abort itself is covered by the conformance suite).
    for (let i = 0; i < 800 && !dying.requests.some((r) => /PUT .*files\.tar/.test(r)); i++) await new Promise((r) => setTimeout(r, 10));
    if (!dying.requests.some((r) => /files\.tar/.test(r)))
      assert.fail(
        `no upload seen: ${dying.requests.slice(0, 20).join(', ')} / ${JSON.stringify(await Promise.race([running, new Promise((r) => setTimeout(() => r('still running'), 100))]))}`,
      );
    await dying.kill();
    const failed = await running;
    assert.equal(failed.status, 5, failed.stderr.slice(-2000));
    assert.match(failed.stderr, /dying/);
    // Same folder, new server: what the dead one stored is visible, and it holds no complete backup.
    const revived = await startS3Server({ directory: dying.directory, bucket: 'dying' });
    try {
      const values = { 'database-url': url, storage: 's3://dying/p', 's3-endpoint': revived.endpoint, 's3-force-path-style': 'true', 'files-path': big };
      const config = buildConfig((n) => values[n as keyof typeof values], awsEnv);
      const storage = await openStorage(config);
      assert.ok(
        (await listBackups(storage, 'default')).every((e) => !e.complete),
        'no manifest from the failed run',
      );
      const logger = new MemoryLogger();
      const ok = await runBackup(config, { logger, storage });
      assert.match(logger.lines.join('\n'), /process \d+ on this host is gone/, "the dead run's lock was taken over");
      const entries = await listBackups(storage, 'default');
      assert.equal(entries.find((e) => e.complete)?.id, ok.id);
    } finally {
      await revived.stop();
    }
  });
});

async function mkdirp(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}
