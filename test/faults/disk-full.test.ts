// Class 5, a tiny file system (tmpfs) at several fill levels, as storage and
// as the drill's (and a restore's) temp folder (issue 11, why 5: "disk full at
// about half the needed space: an ENOSPC stack trace, exit 1, partial files and
// the lock left behind; a drill whose temp folder fills up blames the backup").
import { after, before, describe } from 'node:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSeededDatabase } from '../helpers/postgres.js';
import { describeRun, EXIT, hasStackTrace, runCli, type CliRun } from './helpers/cli.js';
import { fingerprint } from './helpers/fingerprint.js';
import { filesUnder, sizeOfTree, startWorld, takeBackup, type World } from './helpers/fixture.js';
import { leftoverLocks } from './helpers/storage-check.js';
import { faultTest, QUICK, skipFault } from './helpers/tally.js';
import { freeBytes, mountTmpfs, tmpfsUnavailable } from './helpers/tmpfs.js';

const unavailable = await tmpfsUnavailable();
const SAYS_SPACE = /space|ENOSPC|disk|full|quota/i;

/** A clean failure: not a pass, not "unexpected" (1), no stack trace, says it ran out of space. */
function cleanNoSpace(run: CliRun, forbidden: number[]): string[] {
  const problems: string[] = [];
  if (run.timedOut) problems.push('hung');
  else if (run.status === 0) problems.push('exit 0: the run did not notice (or did not need the space)');
  else if (forbidden.includes(run.status ?? -1)) problems.push(`exit ${run.status} (${run.status === 1 ? 'unexpected failure' : 'blames the backup'})`);
  if (hasStackTrace(run)) problems.push('stack trace in the output');
  if (!SAYS_SPACE.test(run.stderr)) problems.push('the message does not say the disk is full');
  return problems;
}

describe('class 5: a tiny file system', () => {
  if (unavailable) {
    for (const name of ['storage on a full tmpfs', 'drill temp dir on a full tmpfs']) skipFault('disk-full', name, unavailable);
    return;
  }
  let world: World;
  let backupBytes: number;
  let storage: string;
  let target: string;
  let caseNo = 0;

  before(async () => {
    world = await startWorld({ scale: 10, extraUploadBytes: 20 << 20 });
    storage = join(world.work, 'storage');
    const id = await takeBackup(world, storage, ['--redact-columns', 'users.mfa_secret']);
    backupBytes = await sizeOfTree(join(storage, 'default', id));
    target = await createSeededDatabase(world.cluster, 'target', 4);
  });
  after(() => world?.stop());

  const storageLevels = QUICK ? [0.5] : [0, 0.1, 0.5, 0.9];
  for (const level of storageLevels) {
    faultTest('disk-full', `why 5: backup into storage with ${Math.round(level * 100)}% of the space it needs`, async () => {
      const dir = join(world.work, `fs-${caseNo++}`);
      const total = backupBytes + (1 << 20);
      const unmount = await mountTmpfs(dir, total);
      try {
        // Fill it so that `level` of the backup's size is free.
        const fill = Math.max(0, freeBytes(dir) - Math.floor(backupBytes * level));
        await writeFile(join(dir, 'filler'), Buffer.alloc(fill)).catch(() => undefined);
        const run = await runCli([
          'backup',
          '--storage',
          dir,
          '--database-url',
          world.sourceUrl,
          '--files-path',
          world.uploads,
          '--redact-columns',
          'users.mfa_secret',
        ]);
        const problems = cleanNoSpace(run, [EXIT.failure]);
        const left = (await filesUnder(join(dir, 'default'))).filter((f) => /^\d{8}T/.test(f));
        if (left.length) problems.push(`partial parts left: ${left.join(', ')}`);
        const locks = await leftoverLocks(dir);
        if (locks.length) problems.push(`lock left: ${locks.join(', ')}`);
        return problems.length ? `${problems.join('; ')} — ${describeRun(run)}` : undefined;
      } finally {
        unmount();
      }
    });
  }

  const tempLevels = QUICK ? [16 << 20] : [1 << 20, 16 << 20, 45 << 20, 60 << 20];
  for (const bytes of tempLevels) {
    faultTest('disk-full', `why 5: a drill with a ${bytes >> 20} MiB temp folder does not blame the backup`, async () => {
      const dir = join(world.work, `tmp-${caseNo++}`);
      const unmount = await mountTmpfs(dir, bytes);
      try {
        const run = await runCli(['drill', '--storage', storage, '--report-dir', join(world.work, 'reports')], { env: { TMPDIR: dir } });
        const problems = cleanNoSpace(run, [EXIT.failure, EXIT.checksFailed, EXIT.integrity]);
        // The per-user root (backup-drill-<uid>) may stay; nothing of this run may stay in it.
        const left = (await filesUnder(dir)).filter((f) => f.startsWith('backup-drill'));
        if (left.length) problems.push(`temp files left: ${left.slice(0, 5).join(', ')}`);
        return problems.length ? `${problems.join('; ')} — ${describeRun(run)}` : undefined;
      } finally {
        unmount();
      }
    });
  }

  if (!QUICK)
    faultTest('disk-full', 'a restore with a 1 MiB temp folder fails cleanly and leaves the target unchanged', async () => {
      const dir = join(world.work, `tmp-${caseNo++}`);
      const unmount = await mountTmpfs(dir, 1 << 20);
      try {
        const before = await fingerprint(target);
        const run = await runCli(
          ['restore', 'latest', '--storage', storage, '--database-url', target, '--force', '--ignore-schema-mismatch', '--yes', '--parts', 'database'],
          {
            env: { TMPDIR: dir },
          },
        );
        const problems = cleanNoSpace(run, [EXIT.failure, EXIT.checksFailed, EXIT.integrity]);
        if ((await fingerprint(target)) !== before) problems.push('the target changed');
        return problems.length ? `${problems.join('; ')} — ${describeRun(run)}` : undefined;
      } finally {
        unmount();
      }
    });
});
