// The PostgreSQL regression database (537+ tables of every shape the server's own
// tests create) through backup → drill → restore, against a plain round trip.
import { verdictTests } from './verdicts.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverBinDir } from '../helpers/postgres.js';
import { startCopy, type CopiedCluster } from './cached-cluster.js';
import type { KnownDifference } from './fingerprint.js';
import { describeOutcome, tortureDatabase, type TortureOutcome } from './round-trip.js';
import { runScript, skipReason } from './torture-env.js';

/** Differences between the regression database and its plain pg_dump | pg_restore copy, with the reason. */
export const REGRESSION_PLAIN_DIFFERENCES: KnownDifference[] = [
  {
    object: /^TABLE( DATA)? /,
    kind: 'changed',
    columnOrderOnly: true,
    reason:
      'inheritance children whose parent gained a column later: pg_dump recreates them with the parent columns first, so the column order (and the COPY column list) differs',
  },
];

const skip = skipReason();

describe('torture: the PostgreSQL regression database', { skip }, () => {
  let cluster: CopiedCluster;
  let work: string;
  let outcome: TortureOutcome;

  before(async () => {
    const cached = runScript('build-regression.sh');
    cluster = await startCopy(cached, await serverBinDir());
    work = await mkdtemp(join(tmpdir(), 'torture-regression-'));
    outcome = await tortureDatabase(
      { label: 'regression', url: (d) => cluster.url(d), database: 'regression', binDir: cluster.binDir },
      { work, knownPlainDifferences: REGRESSION_PLAIN_DIFFERENCES },
    );
    console.log(describeOutcome(outcome));
  });
  after(async () => {
    await cluster?.stop();
    if (work && !process.env.BACKUP_DRILL_TORTURE_KEEP) await rm(work, { recursive: true, force: true });
  });

  test('the drill verifies the tables', () => {
    assert.ok(outcome.tablesVerified > 400, `only ${outcome.tablesVerified} tables verified`);
  });
  verdictTests(() => outcome, 'zero false failures (the data did not change)');
});
