// The action's acquisition path against a real apt repository: built here from Debian's own
// postgresql-<major> packages of the installed major (apt-get download + dpkg-scanpackages, a `file:` source),
// with the installed PostgreSQL hidden from the search. The first run fetches and caches, the
// second restores from the cache (its apt source points nowhere), and the fetched binaries
// take a real backup and run a real drill.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { EnvironmentError } from '../../src/errors.js';
import { findAllBinDirs } from '../../src/postgres/binaries.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { AptSource, FolderCache, Toolchain } from '../../src/toolchain/index.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { createSeededDatabase, startCluster } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';

/** Hides every installed PostgreSQL: the search looks only here. */
const HIDDEN = ['/nonexistent-backup-drill-bin'];

function sh(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

describe('toolchain: PostgreSQL binaries from an apt repository, cached', () => {
  let work: { path: string; remove(): Promise<void> };
  let sourcesList: string;
  let repoVersion: string;
  let M: number;
  let skip: string | undefined;

  before(async () => {
    work = await tempDir('bd-apt-');
    await chmod(work.path, 0o755); // the fetched server runs as the postgres user when we are root
    const repo = join(work.path, 'repo');
    await mkdir(join(repo, 'pool'), { recursive: true });
    const server = (await findAllBinDirs(['initdb', 'pg_ctl', 'postgres'])).sort((a, b) => b.major - a.major)[0];
    assert.ok(server, 'an installed PostgreSQL server (apt-get install postgresql)');
    M = server.major;
    // The distribution's own packages of the installed major (bookworm: 15, noble: 16), the installed copy hidden below.
    const download = spawnSync('apt-get', ['-q', 'download', `postgresql-${M}`, `postgresql-client-${M}`, 'libpq5'], {
      cwd: join(repo, 'pool'),
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (download.status !== 0) {
      skip = `apt-get download postgresql-${M} failed (no apt lists or no mirror here): ${download.stderr.trim().split('\n').pop()}`;
      return;
    }
    await writeFile(join(repo, 'Packages'), sh('dpkg-scanpackages', ['--multiversion', 'pool', '/dev/null'], repo));
    repoVersion = new RegExp(`Package: postgresql-client-${M}\n(?:.*\n)*?Version: (.+)`).exec(await readFile(join(repo, 'Packages'), 'utf8'))![1]!;
    sourcesList = `deb [trusted=yes] file:${repo} ./\n`;
  });
  after(async () => work?.remove());

  function toolchain(name: string, list: string, logger: MemoryLogger): Toolchain {
    return new Toolchain({
      logger,
      policy: 'acquire',
      sources: [new AptSource({ sourcesList: list, logger })],
      cache: new FolderCache(join(work.path, 'cache')),
      toolRoot: join(work.path, name),
      searchDirs: HIDDEN,
    });
  }

  test('fetched once (apt), restored from the cache by the next run without apt, then used for a real backup and drill', async (t) => {
    if (skip) return t.skip(skip);
    const first = new MemoryLogger();
    const got = await toolchain('tools-1', sourcesList, first).find({ kind: 'client', major: M, allowNewer: false, purpose: 'a test' });
    assert.equal(got.origin, 'apt');
    assert.ok(got.dir.startsWith(join(work.path, 'tools-1')), got.dir);
    const pgDump = sh(join(got.dir, 'pg_dump'), ['--version'], work.path);
    assert.equal(/\(PostgreSQL\) (\S+)/.exec(pgDump)?.[1], repoVersion.split('-')[0], 'the fetched pg_dump is the repository version');
    const cached = await readdir(join(work.path, 'cache'));
    assert.deepEqual(
      cached.filter((k) => !k.startsWith('.')),
      cached.filter((k) => k.includes(`postgresql-${M}-client-apt-`) && k.endsWith(repoVersion.replace(/[^A-Za-z0-9._+-]/g, '_'))),
    );
    assert.equal(cached.length, 1, `one cache entry, keyed by the exact version: ${cached.join(', ')}`);
    assert.ok(
      first.lines.some((l) => /fetched .* from apt/.test(l)),
      first.lines.join('\n'),
    );

    // A later step (or job, on a self-hosted runner) uses the tool folder as it is while the repository serves that release.
    const reuse = new MemoryLogger();
    assert.equal((await toolchain('tools-1', sourcesList, reuse).find({ kind: 'client', major: M, allowNewer: false, purpose: 'a test' })).origin, 'cache');
    assert.ok(
      reuse.lines.some((l) => /using the tool folder .* from an earlier step or job/.test(l)),
      reuse.lines.join('\n'),
    );
    // …but not once the repository serves a newer release than the folder holds: the cache's entry of that release replaces it.
    const marker = join(work.path, 'tools-1', `postgresql-${M}-client-apt`, '.backup-drill-tools.json');
    await writeFile(marker, (await readFile(marker, 'utf8')).replace(repoVersion, `${M}.0-0`));
    const stale = new MemoryLogger();
    await toolchain('tools-1', sourcesList, stale).find({ kind: 'client', major: M, allowNewer: false, purpose: 'a test' });
    assert.ok(
      stale.lines.some((l) => l.includes(`restored ${repoVersion} (apt) from the folder cache`)),
      stale.lines.join('\n'),
    );
    assert.ok((await readFile(marker, 'utf8')).includes(`"version": "${repoVersion}"`));

    // The next run: a fresh tool folder, and an apt source that would fail, so only the cache can serve it.
    const second = new MemoryLogger();
    const brokenApt = `deb [trusted=yes] file:${join(work.path, 'no-such-repo')} ./\n`;
    const again = await toolchain('tools-2', brokenApt, second).find({ kind: 'client', major: M, allowNewer: false, purpose: 'a test' });
    assert.equal(again.origin, 'cache');
    assert.ok(again.dir.startsWith(join(work.path, 'tools-2')), again.dir);
    assert.ok(
      second.lines.some((l) => new RegExp(`restored .* from the folder cache, key backup-drill-postgresql-${M}-client-apt-`).test(l)),
      second.lines.join('\n'),
    );
    assert.ok(!second.lines.some((l) => /fetching from apt/.test(l)), second.lines.join('\n'));

    // A cached entry of an older minor release is not used while the repository serves a newer one: fetched again, cached too.
    const entry = (await readdir(join(work.path, 'cache')))[0]!;
    await rename(join(work.path, 'cache', entry), join(work.path, 'cache', entry.replace(new RegExp(`-${M}\\.\\d+`), `-${M}.0`)));
    const third = new MemoryLogger();
    const fresh = await toolchain('tools-2b', sourcesList, third).find({ kind: 'client', major: M, allowNewer: false, purpose: 'a test' });
    assert.equal(fresh.origin, 'apt', third.lines.join('\n'));
    assert.equal((await readdir(join(work.path, 'cache'))).length, 2);

    // The fetched binaries do the real work: a backup with the fetched pg_dump, a drill on a fetched server.
    const logger = new MemoryLogger();
    const chain = toolchain('tools-3', sourcesList, logger);
    const storage = join(work.path, 'backups');
    const source = await startCluster();
    try {
      const url = await createSeededDatabase(source, 'app', 5);
      const backup = await runBackup(
        buildConfig((n) => ({ 'database-url': url, storage })[n], {}),
        { logger, toolchain: chain },
      );
      assert.equal(backup.manifest.dump.toolVersion, repoVersion.split('-')[0], 'the backup names the fetched pg_dump');
    } finally {
      await source.stop();
    }
    const drill = await runDrill(
      buildConfig((n) => ({ mode: 'restore-drill', storage, 'report-dir': join(work.path, 'reports') })[n], {}),
      {
        logger,
        toolchain: chain,
      },
    );
    assert.equal(drill.report.status, 'passed', drill.report.failures.join('\n'));
    assert.equal(drill.report.drillServerVersion, repoVersion.split('-')[0], 'the throwaway server is the fetched one');
    assert.ok(
      logger.lines.some((l) => new RegExp(`PostgreSQL ${M} server: fetched .* from apt`).test(l)),
      logger.lines.join('\n'),
    );
  });

  test('a major the repository does not carry fails with the reason and what to do', async (t) => {
    if (skip) return t.skip(skip);
    const logger = new MemoryLogger();
    await assert.rejects(
      toolchain('tools-4', sourcesList, logger).find({ kind: 'client', major: M + 2, allowNewer: false, purpose: `a PostgreSQL ${M + 2}.2 server` }),
      (error: unknown) => {
        assert.ok(error instanceof EnvironmentError, String(error));
        assert.match(error.message, new RegExp(`No pg_dump/pg_restore/psql of PostgreSQL ${M + 2} found for a PostgreSQL ${M + 2}\\.2 server`));
        assert.match(error.message, new RegExp(`apt: .*no postgresql-client-${M + 2}`));
        assert.match(error.hint ?? '', /postgres-bin-dir/);
        return true;
      },
    );
  });
});
