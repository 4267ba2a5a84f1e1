// npm run test:faults — runs the fault suite (test/faults/*.test.ts) and prints
// tried / caught / missed per class. Fails on any miss or failed test.
//   FAULTS_QUICK=1   a few cases of every class (the CI subset, a few minutes)
//   FAULTS_SEED=N    reproduce the seeded corruption cases
//   npm run test:faults -- test/faults/retention.test.ts   run some files only
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envWith, nodeFor } from '../../scripts/node.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLASSES = ['kill', 'corruption', 'restore-failure', 's3', 'disk-full', 'retention', 'input', 'concurrency'];
const args = process.argv.slice(2);
const files = args.length
  ? args
  : readdirSync(here)
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => join(here, f));
const tally = join(mkdtempSync(join(tmpdir(), 'bd-faults-tally-')), 'tally.jsonl');
const seed = process.env.FAULTS_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
console.log(`fault suite: ${files.length} file(s), FAULTS_SEED=${seed}${process.env.FAULTS_QUICK === '1' ? ', quick subset' : ''}`);
// The CLI needs Node >= 22: run the suite (and the CLI it spawns) as npm test does.
const { node, binDir } = nodeFor();
const result = spawnSync(node, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...envWith(binDir), NODE_OPTIONS: '', FAULTS_TALLY: tally, FAULTS_SEED: seed },
});

const lines = existsSync(tally)
  ? readFileSync(tally, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const rows = CLASSES.map((cls) => {
  const mine = lines.filter((l) => l.cls === cls);
  const count = (o) => mine.filter((l) => l.outcome === o).length;
  return { cls, tried: count('caught') + count('missed'), caught: count('caught'), missed: count('missed'), skipped: count('skipped') };
});
console.log('\nMissed:');
for (const l of lines.filter((x) => x.outcome === 'missed'))
  console.log(
    `  [${l.cls}] ${l.name}\n      ${String(l.detail ?? '')
      .split('\n')[0]
      .slice(0, 400)}`,
  );
for (const l of lines.filter((x) => x.outcome === 'skipped')) console.log(`  skipped [${l.cls}] ${l.name}: ${l.detail}`);
console.log(`\nFault suite (FAULTS_SEED=${seed})`);
console.log(`${'class'.padEnd(16)} ${'tried'.padStart(6)} ${'caught'.padStart(7)} ${'missed'.padStart(7)} ${'skipped'.padStart(8)}`);
for (const r of rows)
  console.log(
    `${r.cls.padEnd(16)} ${String(r.tried).padStart(6)} ${String(r.caught).padStart(7)} ${String(r.missed).padStart(7)} ${String(r.skipped).padStart(8)}`,
  );
const total = rows.reduce((a, r) => ({ tried: a.tried + r.tried, caught: a.caught + r.caught, missed: a.missed + r.missed, skipped: a.skipped + r.skipped }), {
  tried: 0,
  caught: 0,
  missed: 0,
  skipped: 0,
});
console.log(
  `${'total'.padEnd(16)} ${String(total.tried).padStart(6)} ${String(total.caught).padStart(7)} ${String(total.missed).padStart(7)} ${String(total.skipped).padStart(8)}`,
);
process.exit(total.missed > 0 || result.status !== 0 ? 1 : 0);
