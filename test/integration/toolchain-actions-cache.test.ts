// The action's cache adapter: the real @actions/cache client (tar, compression, the v1 REST
// protocol) against a stand-in for GitHub's cache service whose storage is a folder. Binaries
// fetched by the first run are saved once and restored by the next run, which never asks the source.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ActionsToolCache } from '../../src/action/tool-cache.js';
import { findAllBinDirs } from '../../src/postgres/binaries.js';
import { Toolchain } from '../../src/toolchain/index.js';
import { readMarker, writeMarker } from '../../src/toolchain/tool-folder.js';
import type { ToolSource } from '../../src/toolchain/types.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { startCacheService, type FakeCacheService } from '../helpers/cache-service.js';
import { tempDir } from '../helpers/fs.js';

const ENV = ['ACTIONS_CACHE_URL', 'ACTIONS_RUNTIME_TOKEN', 'RUNNER_TEMP', 'ACTIONS_CACHE_SERVICE_V2'] as const;

describe('toolchain: the @actions/cache adapter', () => {
  let work: { path: string; remove(): Promise<void> };
  let service: FakeCacheService;
  let installed: string;
  let M: number;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    work = await tempDir('bd-actions-cache-');
    service = await startCacheService(join(work.path, 'service'));
    for (const k of ENV) saved[k] = process.env[k];
    process.env.ACTIONS_CACHE_URL = service.url;
    process.env.ACTIONS_RUNTIME_TOKEN = 'test-token';
    process.env.RUNNER_TEMP = join(work.path, 'runner-temp');
    delete process.env.ACTIONS_CACHE_SERVICE_V2;
    await mkdir(process.env.RUNNER_TEMP, { recursive: true });
    const newest = (await findAllBinDirs(['pg_dump', 'pg_restore', 'psql'])).sort((a, b) => b.major - a.major)[0]!;
    installed = newest.dir;
    M = newest.major;
  });
  after(async () => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await service?.close();
    await work?.remove();
  });

  /** A source that copies the machine's PostgreSQL client tools (the apt source is covered by toolchain-apt.test.ts). */
  function copySource(calls: string[]): ToolSource {
    return {
      name: 'apt',
      usable: async () => true,
      cacheKeyPrefix: async (major, kind) => `backup-drill-postgresql-${major}-${kind}-test-`,
      installCommands: async () => [],
      acquire: async (major, kind, folder) => {
        calls.push(`${major} ${kind}`);
        await cp(installed, join(folder, 'bin'), { recursive: true });
        await writeMarker(folder, { binDir: join(folder, 'bin'), major, version: `${major}.0-copy`, kind, source: 'apt' });
        return (await readMarker(folder))!;
      },
    };
  }

  test('saved once by the first run, restored by the next without the source; a second save of the key is declined', async () => {
    const toolRoot = join(work.path, 'tools');
    const calls: string[] = [];
    const options = { policy: 'acquire' as const, cache: new ActionsToolCache(), toolRoot, searchDirs: ['/nonexistent-backup-drill-bin'] };
    const first = new MemoryLogger();
    const got = await new Toolchain({ ...options, logger: first, sources: [copySource(calls)] }).find({
      kind: 'client',
      major: M,
      allowNewer: false,
      purpose: 'a test',
    });
    assert.equal(got.origin, 'apt');
    assert.deepEqual(calls, [`${M} client`]);
    assert.deepEqual(
      service.entries.map((e) => [e.key, e.committed]),
      [[`backup-drill-postgresql-${M}-client-test-${M}.0-copy`, true]],
    );
    assert.ok(service.requests.includes('PATCH /_apis/artifactcache/caches/1'), service.requests.join('\n'));
    assert.ok(
      first.lines.some((l) =>
        l.includes(`Saved PostgreSQL ${M}.0-copy to the GitHub Actions cache (key backup-drill-postgresql-${M}-client-test-${M}.0-copy)`),
      ),
      first.lines.join('\n'),
    );

    // The next job: an empty tool folder at the same path (actions/cache restores to the paths it saved).
    await rm(toolRoot, { recursive: true, force: true });
    const second = new MemoryLogger();
    const again = await new Toolchain({ ...options, logger: second, sources: [copySource(calls)] }).find({
      kind: 'client',
      major: M,
      allowNewer: false,
      purpose: 'a test',
    });
    assert.equal(again.origin, 'cache');
    assert.deepEqual(calls, [`${M} client`], 'the source was not asked again');
    assert.ok(
      second.lines.some((l) =>
        l.includes(`restored ${M}.0-copy (apt) from the GitHub Actions cache, key backup-drill-postgresql-${M}-client-test-${M}.0-copy`),
      ),
      second.lines.join('\n'),
    );
    const pgDump = spawnSync(join(again.dir, 'pg_dump'), ['--version'], { encoding: 'utf8' });
    assert.match(pgDump.stdout, new RegExp(`\\(PostgreSQL\\) ${M}\\.`));
    assert.deepEqual((await readdir(again.dir)).sort(), (await readdir(installed)).sort());

    assert.equal(
      await new ActionsToolCache().save(join(toolRoot, `postgresql-${M}-client-apt`), `backup-drill-postgresql-${M}-client-test-${M}.0-copy`),
      false,
    );
    assert.equal(service.entries.length, 1);
  });
});
