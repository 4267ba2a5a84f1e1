// The dump's compression (manifest format 4): zstd by default, gzip inside pg_dump
// on request, Node's zlib zstd where the zstd command is missing, and a damaged
// zstd stream caught even when every digest was forged to match it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { withDigest, type Manifest } from '../../src/archive/manifest.js';
import { parseCompression } from '../../src/archive/codec.js';
import { UsageError } from '../../src/errors.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

describe('dump compression', () => {
  let cluster: EphemeralCluster;
  let url: string;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;

  const backup = async (storage: string, values: Record<string, string> = {}) => {
    const r = await runBackup(
      buildConfig((n) => ({ 'database-url': url, storage, 'files-path': uploads, ...values })[n], {}),
      { logger: new MemoryLogger() },
    );
    return join(storage, 'default', r.id);
  };
  const drill = (storage: string) =>
    runDrill(
      buildConfig((n) => ({ mode: 'restore-drill', storage, jobs: '2', 'report-dir': join(work.path, 'reports') })[n], {}),
      {
        logger: new MemoryLogger(),
      },
    );
  /** Runs the CLI bundle with `zstd` shadowed by a command that fails: as on a machine without it. */
  const cliWithoutZstd = (args: string[]) => {
    const shadow = join(work.path, 'no-zstd');
    mkdirSync(shadow, { recursive: true });
    writeFileSync(join(shadow, 'zstd'), '#!/bin/sh\nexit 127\n');
    chmodSync(join(shadow, 'zstd'), 0o755);
    return spawnSync(process.execPath, ['dist/cli/index.js', ...args], {
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, PATH: `${shadow}:${process.env.PATH ?? ''}` },
    });
  };

  before(async () => {
    cluster = await startCluster();
    url = await createSeededDatabase(cluster, 'app');
    work = await tempDir('bd-compression-');
    uploads = join(work.path, 'uploads');
    mkdirSync(uploads);
    await makeUploads(uploads);
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('the compression input: auto, codecs with levels, the old bare levels; anything else names the input', () => {
    assert.deepEqual(parseCompression(undefined), { codec: 'auto' });
    assert.deepEqual(parseCompression('auto'), { codec: 'auto' });
    assert.deepEqual(parseCompression('zstd'), { codec: 'zstd', level: 1 });
    assert.deepEqual(parseCompression('zstd:19'), { codec: 'zstd', level: 19 });
    assert.deepEqual(parseCompression('gzip'), { codec: 'gzip', level: 1 });
    assert.deepEqual(parseCompression('gzip:6'), { codec: 'gzip', level: 6 });
    assert.deepEqual(parseCompression('none'), { codec: 'gzip', level: 0 });
    assert.deepEqual(parseCompression('6'), { codec: 'gzip', level: 6 }, 'a bare level keeps its old meaning');
    for (const bad of ['zstd:0', 'zstd:20', 'gzip:10', '12', 'fast', 'lz4'])
      assert.throws(
        () => parseCompression(bad),
        (e: unknown) => e instanceof UsageError && e.input === 'compression' && e.message.includes(`'${bad}'`),
        bad,
      );
  });

  test('default: one zstd stream of a -Z0 archive, recorded in the manifest, unpacked by the zstd command; the drill restores it with 2 jobs', async () => {
    const storage = join(work.path, 'zstd');
    const dir = await backup(storage);
    const m = manifestOf(dir);
    assert.equal(m.formatVersion, 4);
    assert.deepEqual([m.dump.codec, m.dump.compression], ['zstd', 1]);
    const part = m.parts.find((p) => p.role === 'database')!;
    assert.deepEqual([part.name, part.compression], ['database.dump.zst', 'zstd']);
    const plain = join(work.path, 'plain.dump');
    execFileSync('zstd', ['-d', '-q', '-o', plain, join(dir, part.name)]);
    assert.equal(readFileSync(plain).subarray(0, 5).toString(), 'PGDMP', 'a pg_dump custom-format archive inside');
    assert.equal(part.contentBytes, statSync(plain).size, 'the recorded content size is exact');
    const r = await drill(storage);
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.match(r.report.checks.find((c) => c.name === 'pg_restore')!.message, /with 2 jobs from an uncompressed copy of the dump staged/);
  });

  test('compression gzip: pg_dump compresses, the dump is a plain database.dump read in place', async () => {
    const storage = join(work.path, 'gzip');
    const dir = await backup(storage, { compression: 'gzip:1' });
    const m = manifestOf(dir);
    assert.deepEqual([m.dump.codec, m.dump.compression], ['gzip', 1]);
    const part = m.parts.find((p) => p.role === 'database')!;
    assert.deepEqual([part.name, part.compression], ['database.dump', undefined]);
    const r = await drill(storage);
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.doesNotMatch(r.report.checks.find((c) => c.name === 'pg_restore')!.message, /staged/);
  });

  test("without the zstd command: Node's zlib writes and reads the same zstd format", async () => {
    const storage = join(work.path, 'zlib');
    const b = cliWithoutZstd(['backup', '--database-url', url, '--files-path', uploads, '--storage', storage, '--json']);
    assert.equal(b.status, 0, b.stderr);
    const dir = join(storage, 'default', JSON.parse(b.stdout).backupId);
    assert.equal(manifestOf(dir).dump.codec, 'zstd');
    execFileSync('zstd', ['-t', '-q', join(dir, 'database.dump.zst')]); // the real zstd reads what zlib wrote
    const d = cliWithoutZstd(['drill', '--storage', storage, '--jobs', '2', '--report-dir', join(work.path, 'reports-zlib'), '--json']);
    assert.equal(d.status, 0, d.stdout.slice(-1500) + d.stderr.slice(-1500));
    assert.equal(JSON.parse(d.stdout).status, 'passed');
  });

  test('a damaged zstd stream fails the drill, naming the part, even with every digest forged to match', async () => {
    const storage = join(work.path, 'zstd-forged');
    cpSync(join(work.path, 'zstd'), storage, { recursive: true });
    const id = JSON.parse(spawnSync(process.execPath, ['dist/cli/index.js', 'list', '--storage', storage, '--json'], { encoding: 'utf8' }).stdout)[0].id;
    const dir = join(storage, 'default', id);
    const dumpPath = join(dir, 'database.dump.zst');
    const bytes = readFileSync(dumpPath);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(dumpPath, bytes);
    // Forge: the manifest's digest of the part, checksums.sha256, and the manifest's own digest.
    const sha = createHash('sha256').update(bytes).digest('hex');
    const m = manifestOf(dir);
    const part = m.parts.find((p) => p.role === 'database')!;
    const sums = readFileSync(join(dir, 'checksums.sha256'), 'utf8').replace(part.sha256, sha);
    writeFileSync(join(dir, 'checksums.sha256'), sums);
    part.sha256 = sha;
    const sumsPart = m.parts.find((p) => p.role === 'checksums')!;
    sumsPart.sha256 = createHash('sha256').update(sums).digest('hex');
    const { digest: _old, ...unsigned } = m as Manifest & { digest?: unknown };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(withDigest(unsigned as Manifest), null, 2) + '\n');
    const r = await drill(storage);
    assert.equal(r.report.status, 'failed');
    assert.match(r.report.failures.join('\n'), /database\.dump\.zst.*(does not decompress|zstd)/s);
  });
});
