// Real applications' schemas from Debian packages, filled with generated data,
// through backup → drill (with login checks) → restore, against a plain round trip.
import { verdictTests } from './verdicts.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { runTool } from '../../src/util/exec.js';
import { startCluster, withClient } from '../helpers/postgres.js';
import { APPS, checksFileFor, schemaSql, type App } from './apps.js';
import { fillDatabase, type FillResult } from './generate.js';
import type { KnownDifference } from './fingerprint.js';
import { describeOutcome, tortureDatabase, type TortureOutcome } from './round-trip.js';
import { runScript, skipReason } from './torture-env.js';

/** Differences between an app database and its plain pg_dump | pg_restore copy, with the reason. */
const APP_PLAIN_DIFFERENCES: KnownDifference[] = [];

const skip = skipReason();

describe('torture: real applications from Debian packages', { skip }, () => {
  let cluster: EphemeralCluster;
  let work: string;
  let appsRoot: string;

  before(async () => {
    appsRoot = runScript('install-packages.sh');
    cluster = await startCluster();
    work = await mkdtemp(join(tmpdir(), 'torture-apps-'));
  });
  after(async () => {
    await cluster?.stop();
    if (work && !process.env.BACKUP_DRILL_TORTURE_KEEP) await rm(work, { recursive: true, force: true });
  });

  for (const app of APPS) {
    describe(app.label, () => {
      let fill: FillResult;
      let outcome: TortureOutcome;

      before(async () => {
        fill = await loadAndFill(cluster, appsRoot, app);
        console.log(`[torture ${app.label}] filled ${fill.filled}/${fill.tables} tables, ${fill.rows} rows`);
        for (const u of fill.unfilled) console.log(`[torture ${app.label}]   unfilled ${u.table}: ${u.reason}`);
        const checks = checksFileFor(app);
        Object.assign(process.env, checks.env);
        const checksFile = app.logins.length ? join(work, `${app.label}-checks.yml`) : undefined;
        if (checksFile) await writeFile(checksFile, checks.yaml);
        outcome = await tortureDatabase(
          { label: app.label, url: (d) => cluster.url(d), database: app.label, binDir: cluster.binDir },
          { work, checksFile, knownPlainDifferences: APP_PLAIN_DIFFERENCES },
        );
        console.log(describeOutcome(outcome));
      });

      test('generated data fills at least 90% of the tables', () => {
        assert.ok(
          fill.filled >= 0.9 * fill.tables,
          `${fill.filled}/${fill.tables} filled; empty: ${fill.unfilled.map((u) => `${u.table} (${u.reason})`).join('; ')}`,
        );
      });
      verdictTests(() => outcome, 'zero false failures');
      if (app.logins.length) {
        test('the login checks pass on the restored data', () => {
          for (const login of app.logins) {
            const result = outcome.checks.find((c) => c.name === login.name);
            assert.equal(result?.status, 'passed', `${login.name}: ${result?.status ?? 'not run'}: ${result?.message ?? ''}`);
          }
        });
      }
    });
  }
});

async function loadAndFill(cluster: EphemeralCluster, root: string, app: App): Promise<FillResult> {
  await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE "${app.label}"`));
  const url = cluster.url(app.label);
  for (const file of app.schemaFiles) {
    await runTool(join(cluster.binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname', url], { input: await schemaSql(root, file) });
  }
  return withClient(url, async (c) => {
    const fill = await fillDatabase(c);
    for (const login of app.logins) if (login.setup) await c.query(login.setup);
    return fill;
  });
}
