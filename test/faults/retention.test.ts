// Class 6, retention over damaged sets (issue 11, why 1: "retention deletes the
// only backups that verify"). Three backups; the newest (or the newest two)
// damaged in each way; prune with keep-last / keep-daily / keep-weekly. The
// newest backup that still verifies must never be deleted.
import { after, before, describe } from 'node:test';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, runCli } from './helpers/cli.js';
import { backupDir, copyStorage, storedParts, startWorld, takeBackup, type World } from './helpers/fixture.js';
import { faultTest, QUICK } from './helpers/tally.js';
import { storedDump } from '../helpers/dump.js';

interface Damage {
  what: string;
  apply(dir: string): Promise<void>;
}

async function flipAt(path: string, fraction: number): Promise<void> {
  const bytes = await readFile(path);
  const at = Math.floor(bytes.length * fraction);
  bytes[at] = bytes[at]! ^ 0x5a;
  await writeFile(path, bytes);
}

const DAMAGES: Damage[] = [
  { what: 'a flipped byte in its dump', apply: (d) => flipAt(storedDump(d), 0.6) },
  { what: 'a flipped byte in its tar', apply: (d) => flipAt(join(d, 'files.tar'), 0.5) },
  { what: 'its dump truncated', apply: async (d) => writeFile(storedDump(d), (await readFile(storedDump(d))).subarray(0, 1000)) },
  { what: 'its dump deleted', apply: (d) => rm(storedDump(d)) },
  { what: 'a checksums.sha256 flip', apply: (d) => flipAt(join(d, 'checksums.sha256'), 0.3) },
  {
    what: 'manifest.json truncated to invalid JSON',
    apply: async (d) => writeFile(join(d, 'manifest.json'), (await readFile(join(d, 'manifest.json'))).subarray(0, 200)),
  },
];

const POLICIES = [
  ['--keep-last', '1'],
  ['--keep-daily', '1'],
  ['--keep-weekly', '1'],
];

describe('class 6: retention over damaged backups', () => {
  let world: World;
  let pristine: string;
  /** Oldest first. */
  let ids: string[] = [];
  const expected = new Map<string, string[]>();

  before(async () => {
    world = await startWorld({ scale: 5 });
    pristine = join(world.work, 'pristine');
    for (let i = 0; i < 3; i++) ids.push(await takeBackup(world, pristine));
    ids = ids.sort();
    for (const id of ids) expected.set(id, await storedParts(backupDir(pristine, id)));
  });
  after(() => world?.stop());

  /** undefined when the backup is still there, whole, and verifies. */
  async function intact(storage: string, id: string): Promise<string | undefined> {
    const now = await storedParts(backupDir(storage, id));
    if (now.length === 0) return `the newest good backup ${id} was deleted`;
    if (now.join() !== expected.get(id)!.join()) return `the newest good backup ${id} lost parts: has ${now.join(', ')}`;
    const run = await runCli(['verify', id, '--storage', storage]);
    return run.status === 0 ? undefined : `the newest good backup ${id} no longer verifies: ${describeRun(run)}`;
  }

  let n = 0;
  const cases: Array<{ name: string; damaged: number; policy: string[]; damage: Damage }> = [];
  for (const damage of DAMAGES)
    for (const policy of POLICIES) cases.push({ name: `newest backup with ${damage.what}, prune ${policy.join(' ')}`, damaged: 1, policy, damage });
  for (const damage of DAMAGES)
    cases.push({ name: `two newest backups with ${damage.what}, prune --keep-last 2`, damaged: 2, policy: ['--keep-last', '2'], damage });
  const chosen = QUICK ? cases.filter((_, i) => [0, 7, 14, 18, 23].includes(i)) : cases;

  for (const c of chosen) {
    faultTest('retention', `why 1: ${c.name}`, async () => {
      const storage = join(world.work, `case-${n++}`);
      await copyStorage(pristine, storage);
      const newestFirst = [...ids].reverse();
      for (const id of newestFirst.slice(0, c.damaged)) await c.damage.apply(backupDir(storage, id));
      const goodId = newestFirst[c.damaged]!;
      const run = await runCli(['prune', '--storage', storage, ...c.policy]);
      const problem = await intact(storage, goodId);
      await rm(storage, { recursive: true, force: true });
      return problem ? `${problem} — prune: ${describeRun(run)}` : undefined;
    });
  }
});
