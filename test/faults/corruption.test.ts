// Class 2, stored damage: seeded random byte flips and truncations over every
// stored file of a plain and of an encrypted backup. Each must be caught by
// `verify` and/or `drill`, naming the damaged file; a pass is a miss. Issue 11,
// why 2 ("not every stored file is verified") and why 3 ("verify refuses every
// encrypted backup"). Reproduce with FAULTS_SEED=<the printed seed>.
import { after, before, describe, test } from 'node:test';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, hasStackTrace, runCli, type CliRun } from './helpers/cli.js';
import { backupDir, copyStorage, filesUnder, startWorld, takeBackup, type World } from './helpers/fixture.js';
import { applyDamage, describeDamage, pickDamage, prng, sameJson, seedFromEnv, type Damage } from './helpers/mutate.js';
import { faultSubtest, faultTest, QUICK } from './helpers/tally.js';

const SEED = seedFromEnv();
const FLIPS_PER_BACKUP = QUICK ? 3 : 50;

interface Stored {
  label: 'plain' | 'encrypted';
  storage: string;
  id: string;
  files: string[];
  /** Extra flags a drill of it needs (the key). */
  drillArgs: string[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A run catches damage to `file` when it fails cleanly and names the file. */
function catches(run: CliRun, file: string): boolean {
  const named = new RegExp(`(^|[^A-Za-z0-9._-])${escape(file)}($|[^A-Za-z0-9._-])`, 'm').test(`${run.stdout}\n${run.stderr}`);
  return run.status !== 0 && !run.timedOut && named && !hasStackTrace(run);
}

describe(`class 2: stored damage (FAULTS_SEED=${SEED})`, () => {
  let world: World;
  const stored: Stored[] = [];
  let caseNo = 0;

  before(async () => {
    world = await startWorld({ scale: 5 });
    const plain = join(world.work, 'plain');
    const encrypted = join(world.work, 'encrypted');
    const redact = ['--redact-columns', 'users.mfa_secret'];
    const plainId = await takeBackup(world, plain, redact);
    const encId = await takeBackup(world, encrypted, ['--encrypt-recipients', world.recipient, ...redact]);
    stored.push({ label: 'plain', storage: plain, id: plainId, files: await filesUnder(backupDir(plain, plainId)), drillArgs: [] });
    stored.push({
      label: 'encrypted',
      storage: encrypted,
      id: encId,
      files: await filesUnder(backupDir(encrypted, encId)),
      drillArgs: ['--decrypt-identity', world.keyFile],
    });
    console.log(`FAULTS_SEED=${SEED}; plain backup: ${stored[0]!.files.join(', ')}; encrypted: ${stored[1]!.files.join(', ')}`);
  });
  after(() => world?.stop());

  /** A fresh copy of one backup's storage, with `file` replaced by `bytes`. */
  async function damagedCopy(s: Stored, file: string, bytes: Buffer): Promise<string> {
    const storage = join(world.work, `case-${caseNo++}`);
    await copyStorage(s.storage, storage);
    await writeFile(join(backupDir(storage, s.id), file), bytes);
    return storage;
  }

  const drill = (s: Stored, storage: string) => runCli(['drill', '--storage', storage, '--report-dir', join(storage, '..', 'reports'), ...s.drillArgs]);
  const verify = (storage: string) => runCli(['verify', 'latest', '--storage', storage]);

  /** Caught when verify (or else the drill) fails naming the file. */
  async function judgeDamage(s: Stored, file: string, bytes: Buffer): Promise<string | undefined> {
    const storage = await damagedCopy(s, file, bytes);
    try {
      const v = await verify(storage);
      if (catches(v, file)) return undefined;
      const d = await drill(s, storage);
      if (catches(d, file)) return undefined;
      return `neither verify nor drill caught it naming ${file}: verify ${describeRun(v)}; drill ${describeRun(d)}`;
    } finally {
      await rm(storage, { recursive: true, force: true });
    }
  }

  test('seeded flips and truncations over every stored file', { timeout: 3_600_000 }, async (t) => {
    const rng = prng(SEED);
    for (const s of stored) {
      for (let i = 0; i < FLIPS_PER_BACKUP; i++) {
        const file = s.files[i % s.files.length]!;
        const original = await readFile(join(backupDir(s.storage, s.id), file));
        const kind: Damage['kind'] = Math.floor(i / s.files.length) % 2 === 0 ? 'flip' : 'truncate';
        // A JSON edit that means the same (whitespace) is not damage: draw again.
        let damage = pickDamage(rng, original.length, kind);
        for (let tries = 0; tries < 20 && sameJson(original, applyDamage(original, damage)); tries++) damage = pickDamage(rng, original.length, kind);
        const name = `${s.label} ${file}: ${describeDamage(damage, original.length)}`;
        await faultSubtest(t, 'corruption', name, () => judgeDamage(s, file, applyDamage(original, damage)));
      }
    }
  });

  // The numbered cases of issue 11, each by name.
  const plain = () => stored[0]!;
  const encrypted = () => stored[1]!;
  async function drillOf(s: Stored, file: string, edit: (b: Buffer) => Buffer): Promise<CliRun> {
    const original = await readFile(join(backupDir(s.storage, s.id), file));
    const storage = await damagedCopy(s, file, edit(original));
    try {
      return await drill(s, storage);
    } finally {
      await rm(storage, { recursive: true, force: true });
    }
  }
  const flipOne = (b: Buffer) => {
    const c = Buffer.from(b);
    c[Math.floor(c.length / 3)] ^= 0x01;
    return c;
  };

  faultTest('corruption', 'why 2: a drill of a backup whose checksums.sha256 is corrupted fails naming it', async () => {
    const run = await drillOf(plain(), 'checksums.sha256', flipOne);
    return catches(run, 'checksums.sha256') ? undefined : `drill ${describeRun(run)}`;
  });
  const namedTest = (name: string, check: () => Promise<string | undefined>, quick = false) => {
    if (!QUICK || quick) faultTest('corruption', name, check);
  };
  namedTest('why 2: a drill of a backup whose roles.sql is truncated fails naming it', async () => {
    const run = await drillOf(plain(), 'roles.sql', (b) => b.subarray(0, Math.floor(b.length / 2)));
    return catches(run, 'roles.sql') ? undefined : `drill ${describeRun(run)}`;
  });
  namedTest('why 2: a manifest.json edited so that it still parses fails verify and the drill blames the manifest', async () => {
    const s = plain();
    const edit = (b: Buffer) => Buffer.from(b.toString('utf8').replace(/"rows": (\d+)/, (_m, n: string) => `"rows": ${Number(n) + 1}`));
    const storage = await damagedCopy(s, 'manifest.json', edit(await readFile(join(backupDir(s.storage, s.id), 'manifest.json'))));
    try {
      const v = await verify(storage);
      const d = await drill(s, storage);
      const problems = [];
      if (!catches(v, 'manifest.json')) problems.push(`verify ${describeRun(v)}`);
      if (!catches(d, 'manifest.json')) problems.push(`drill does not blame manifest.json: ${describeRun(d)}`);
      return problems.join('; ') || undefined;
    } finally {
      await rm(storage, { recursive: true, force: true });
    }
  });
  namedTest("why 2: one flip in an encrypted backup's public manifest.json fails the drill", async () => {
    // A one-byte edit that keeps the JSON valid: a digit of startedAt.
    const run = await drillOf(encrypted(), 'manifest.json', (b) => {
      const text = b.toString('utf8');
      const at = text.indexOf('"startedAt": "') + '"startedAt": "'.length + 18; // the seconds' last digit
      const digit = text[at]!;
      return Buffer.from(text.slice(0, at) + (digit === '9' ? '8' : String(Number(digit) + 1)) + text.slice(at + 1));
    });
    return catches(run, 'manifest.json') ? undefined : `drill ${describeRun(run)}`;
  });
  namedTest(
    'why 3: verify of an encrypted backup works without its key',
    async () => {
      const run = await runCli(['verify', 'latest', '--storage', encrypted().storage]);
      return run.status === 0 ? undefined : `verify ${describeRun(run)}`;
    },
    true,
  );
  namedTest('why 3: verify of an encrypted backup with --decrypt-identity also works', async () => {
    const run = await runCli(['verify', 'latest', '--storage', encrypted().storage, '--decrypt-identity', world.keyFile]);
    return run.status === 0 ? undefined : `verify ${describeRun(run)}`;
  });
  namedTest(
    'why 3: download of an encrypted backup works without its key',
    async () => {
      const into = join(world.work, 'downloaded');
      const run = await runCli(['download', 'latest', into, '--storage', encrypted().storage]);
      const got = await filesUnder(into);
      await rm(into, { recursive: true, force: true });
      return run.status === 0 && got.some((name) => /^database\.dump(\.zst)?\.age$/.test(name))
        ? undefined
        : `download ${describeRun(run)}; files: ${got.join(', ')}`;
    },
    true,
  );
});
