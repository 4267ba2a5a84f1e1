// The server's Debian-packaged extensions, a table per extension type, through
// backup → drill → restore, against a plain round trip.
import { verdictTests } from './verdicts.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { startCluster, withClient } from '../helpers/postgres.js';
import { EXTENSION_CASES } from './extensions.js';
import type { KnownDifference } from './fingerprint.js';
import { describeOutcome, tortureDatabase, type TortureOutcome } from './round-trip.js';
import { runScript, skipReason } from './torture-env.js';

/** Differences between the extensions database and its plain pg_dump | pg_restore copy, with the reason. */
const EXTENSION_PLAIN_DIFFERENCES: KnownDifference[] = [
  {
    object: /^TABLE DATA public\.ext_unit$/,
    kind: 'changed',
    reason:
      "unit's output function prints 17 significant digits that its input function does not read back exactly: pg_dump itself changes some values (e.g. 142.857142857142861 mm/s → 142.85714285714289 mm/s)",
  },
];

const skip = skipReason();

describe('torture: Debian-packaged extensions', { skip }, () => {
  let cluster: EphemeralCluster;
  let work: string;
  let outcome: TortureOutcome;
  const setupErrors: string[] = [];

  before(async () => {
    runScript('install-packages.sh');
    cluster = await startCluster();
    work = await mkdtemp(join(tmpdir(), 'torture-extensions-'));
    await withClient(cluster.url(), (c) => c.query('CREATE DATABASE extensions'));
    await withClient(cluster.url('extensions'), async (c) => {
      for (const e of EXTENSION_CASES) {
        try {
          await c.query(`CREATE EXTENSION IF NOT EXISTS "${e.extension}"`);
          await c.query(e.setup);
        } catch (error) {
          setupErrors.push(`${e.extension}: ${(error as Error).message}`);
        }
      }
    });
    outcome = await tortureDatabase(
      { label: 'extensions', url: (d) => cluster.url(d), database: 'extensions', binDir: cluster.binDir },
      { work, knownPlainDifferences: EXTENSION_PLAIN_DIFFERENCES },
    );
    console.log(describeOutcome(outcome));
  });
  after(async () => {
    await cluster?.stop();
    if (work && !process.env.BACKUP_DRILL_TORTURE_KEEP) await rm(work, { recursive: true, force: true });
  });

  test('every extension installs and gets a table with data', () => {
    assert.deepEqual(setupErrors, []);
  });
  verdictTests(() => outcome, 'zero false failures');
  test("rows a user added to an extension's configuration table are verified (PostGIS spatial_ref_sys)", async () => {
    // Verified as a table, or in a section of its own: the drill's report must name it.
    const report = outcome.drillReportPath ? await readFile(outcome.drillReportPath, 'utf8') : '';
    assert.match(report, /spatial_ref_sys/, `the drill's report does not mention spatial_ref_sys; its tables: ${outcome.drillTables.join(', ')}`);
  });
  test('the lossy extension type is reported as not verifiable, never passed silently', () => {
    // unit drifts at 17 significant digits through pg_dump: the drill must name it.
    const named = outcome.notVerified.some((n) => /unit/.test(n) && /not verifiable/i.test(n));
    const failed = outcome.falseFailures.some((f) => /ext_unit/.test(f));
    assert.ok(named || failed, `ext_unit was neither reported as not verifiable nor failed: ${outcome.notVerified.join('; ')}`);
  });
});
