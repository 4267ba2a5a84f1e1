// Class 8, runs at once on one backup set (issue 11, why 7: "prune during a
// drill deletes the backup being drilled"). Prune never deletes a backup being
// drilled; of two backups at once one waits or exits 8 cleanly.
import { after, before, describe } from 'node:test';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collect, describeRun, EXIT, hasStackTrace, runCli, spawnCli, type CliRun } from './helpers/cli.js';
import { backupDir, copyStorage, storedParts, listIds, startWorld, takeBackup, type World } from './helpers/fixture.js';
import { TreeWatcher, waitFor } from './helpers/procs.js';
import { completeButDamaged, leftoverLocks, leftoverPartials } from './helpers/storage-check.js';
import { faultTest, QUICK } from './helpers/tally.js';

/** How long the drill's last check sleeps: longer than a prune or a small backup takes on a busy machine. */
const HOLD_OPEN_SECONDS = 20;

describe('class 8: concurrent runs', () => {
  let world: World;
  let pristine: string;
  let ids: string[];
  let caseNo = 0;

  before(async () => {
    world = await startWorld({ scale: 20, bulkRows: 150_000 });
    pristine = join(world.work, 'pristine');
    await takeBackup(world, pristine);
    await takeBackup(world, pristine);
    ids = await listIds(pristine);
  });
  after(() => world?.stop());

  const fresh = async () => {
    const storage = join(world.work, `conc-${caseNo++}`);
    await copyStorage(pristine, storage);
    return storage;
  };
  const backupArgs = (storage: string) => ['backup', '--storage', storage, '--database-url', world.sourceUrl, '--files-path', world.uploads];
  const cleanEnd = (run: CliRun, allowed: number[], what: string): string | undefined => {
    if (run.timedOut) return `${what} hung: ${describeRun(run)}`;
    if (!allowed.includes(run.status ?? -1)) return `${what}: ${describeRun(run)}`;
    if (hasStackTrace(run)) return `${what} printed a stack trace`;
    if (run.status === EXIT.locked && !/lock/i.test(run.stderr)) return `${what} exited 8 without saying what holds the lock`;
    return undefined;
  };

  /** Starts a drill of the older backup; once it is restoring, runs `during`; returns what went wrong. */
  async function drillWhile(storage: string, during: () => Promise<CliRun[]>, labels: string[], allowed: number[][]): Promise<string | undefined> {
    const older = ids[0]!;
    const expected = await storedParts(backupDir(storage, older));
    // A slow check keeps the drill reading after pg_restore starts: a small backup restores in ~1 s,
    // so without it the prune could legitimately delete the backup after the drill has finished.
    const checks = join(world.work, 'hold-open.checks.yml');
    await writeFile(checks, `checks:\n  - name: hold the drill open\n    sql: select 1 from pg_sleep(${HOLD_OPEN_SECONDS})\n    expect: { equals: 1 }\n`);
    const child = spawnCli(['drill', '--storage', storage, '--backup-id', older, '--checks', checks, '--report-dir', join(storage, 'reports')]);
    let drillEnded = false;
    const drilled = collect(child, 300_000).then((run) => {
      drillEnded = true;
      return run;
    });
    const watcher = new TreeWatcher(child.pid!);
    const restoring = await waitFor(() => watcher.running('pg_restore'), 120_000);
    watcher.stop();
    const others = restoring ? await during() : [];
    const overlapped = !drillEnded;
    const drill = await drilled;
    const problems: string[] = [];
    if (!restoring) problems.push(`the drill never reached pg_restore: ${describeRun(drill)}`);
    if (drill.status !== 0) problems.push(`the drill did not pass: ${describeRun(drill)}`);
    others.forEach((r, i) => {
      const p = cleanEnd(r, allowed[i]!, labels[i]!);
      if (p) problems.push(p);
    });
    const now = await storedParts(backupDir(storage, older));
    if (!overlapped) problems.push(`inconclusive: the drill ended before ${labels.join(' and ')} did (raise HOLD_OPEN_SECONDS)`);
    else if (now.join() !== expected.join())
      problems.push(
        `the backup being drilled (${older}) lost parts: now ${now.join(', ') || 'nothing'} — ${others.map((r, i) => `${labels[i]}: ${describeRun(r)}`).join('; ')}`,
      );
    return problems.join('; ') || undefined;
  }

  faultTest('concurrency', 'why 7: prune --keep-last 1 during a drill of the older backup does not delete it', async () => {
    const storage = await fresh();
    const problem = await drillWhile(
      storage,
      async () => [await runCli(['prune', '--storage', storage, '--keep-last', '1'])],
      ['prune'],
      [[0, EXIT.locked, 3]],
    );
    await rm(storage, { recursive: true, force: true });
    return problem;
  });

  faultTest('concurrency', 'two backups at once: one waits or exits 8 cleanly, nothing partial is left', async () => {
    const storage = await fresh();
    const [a, b] = await Promise.all([runCli(backupArgs(storage), { timeoutMs: 300_000 }), runCli(backupArgs(storage), { timeoutMs: 300_000 })]);
    const problems = [cleanEnd(a!, [0, EXIT.locked], 'first backup'), cleanEnd(b!, [0, EXIT.locked], 'second backup')].filter(Boolean) as string[];
    if (a!.status !== 0 && b!.status !== 0) problems.push('neither backup succeeded');
    problems.push(...(await completeButDamaged({ storage })));
    const locks = await leftoverLocks(storage);
    if (locks.length) problems.push(`locks left: ${locks.join(', ')}`);
    const partials = await leftoverPartials(storage);
    if (partials.length) problems.push(`partial files left: ${partials.join(', ')}`);
    await rm(storage, { recursive: true, force: true });
    return problems.join('; ') || undefined;
  });

  if (!QUICK) {
    faultTest('concurrency', 'backup, prune and a drill at once: the drilled backup stays, each run ends cleanly', async () => {
      const storage = await fresh();
      const problem = await drillWhile(
        storage,
        () => Promise.all([runCli(backupArgs(storage), { timeoutMs: 300_000 }), runCli(['prune', '--storage', storage, '--keep-last', '1'])]),
        ['backup', 'prune'],
        [
          [0, EXIT.locked],
          [0, EXIT.locked, 3],
        ],
      );
      const more = await completeButDamaged({ storage });
      await rm(storage, { recursive: true, force: true });
      return [problem, ...more].filter(Boolean).join('; ') || undefined;
    });

    faultTest('concurrency', 'prune while a backup runs: the backup completes or exits 8, the set stays verifiable', async () => {
      const storage = await fresh();
      const child = spawnCli(backupArgs(storage));
      const backup = collect(child, 300_000);
      const watcher = new TreeWatcher(child.pid!);
      await waitFor(() => watcher.running('pg_dump'), 120_000);
      watcher.stop();
      const prune = await runCli(['prune', '--storage', storage, '--keep-last', '1']);
      const b = await backup;
      const problems = [cleanEnd(b, [0], 'backup'), cleanEnd(prune, [0, EXIT.locked], 'prune')].filter(Boolean) as string[];
      problems.push(...(await completeButDamaged({ storage })));
      if ((await listIds(storage)).length === 0) problems.push('no backup left');
      await rm(storage, { recursive: true, force: true });
      return problems.join('; ') || undefined;
    });
  }
});
