// npm run test:torture: runs test/torture/*.test.ts (minutes; root; installs
// Debian packages pinned to the installed server), then prints the totals.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const results = join(tmpdir(), `backup-drill-torture-${process.pid}.jsonl`);
const files = process.argv.slice(2);
const run = spawnSync(process.execPath, ['scripts/test.mjs', ...(files.length ? files : ['test/torture'])], {
  stdio: 'inherit',
  env: { ...process.env, BACKUP_DRILL_TORTURE: '1', BACKUP_DRILL_TORTURE_RESULTS: results },
});

const outcomes = existsSync(results)
  ? readFileSync(results, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(results, { force: true });
const sum = (f) => outcomes.reduce((n, o) => n + f(o), 0);
console.log('\nTorture totals');
for (const o of outcomes) {
  console.log(
    `  ${o.label.padEnd(14)} tables ${String(o.tablesVerified).padStart(4)}/${String(o.tablesInBackup).padStart(4)}  false failures ${String(o.falseFailures.length).padStart(3)}  ` +
      `fidelity differences ${String(o.fidelity.length).padStart(3)}  plain-tool differences ${o.plainExplained.length} explained, ${o.plainUnexplained.length} not`,
  );
}
console.log(
  `  databases tried: ${outcomes.length}; tables backed up: ${sum((o) => o.tablesInBackup)}; tables verified (passed): ${sum((o) => o.tablesVerified)}; false failures: ${sum((o) => o.falseFailures.length)}; ` +
    `atomicity violations: ${sum((o) => o.atomicity.length)}; fidelity differences: ${sum((o) => o.fidelity.length)}`,
);
process.exit(run.status ?? 1);
