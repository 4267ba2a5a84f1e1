// Where does a backup's (and a drill's) peak memory go, and what does a runtime setting change?
// Generates the bench data once, then runs our backup (with --drill, a drill of each backup too)
// once per variant and repeat, interleaved, under bench/measure.ts; prints the process tree's peak
// RSS with what made it up (by process name), node's own peak (VmHWM) and CPU, and the wall time.
// This is how the 8 KiB pool slabs and the too rare minor collections were found (BENCHMARKS.md).
//
//   node --import tsx bench/memory.ts [--db-mb 1000] [--files-mb 500] [--repeats 3] [--drill] [--variant 'NAME:KEY=VALUE;KEY=VALUE']…
//   e.g. --variant 'semi1:NODE_OPTIONS=--max-semi-space-size=1' --variant 'arena2:MALLOC_ARENA_MAX=2'
// The variant "default" (the environment as it is) always runs first.
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDatabase, generateUploads, serverBinDir } from './generate.js';
import { measure, postmastersUnder, prepareCli, type Measurement } from './measure.js';
import { EphemeralCluster, cleanupStaleClusters } from '../src/postgres/cluster.js';

const here = dirname(fileURLToPath(import.meta.url));
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const dbMb = Number(flag('db-mb') ?? 1000);
const filesMb = Number(flag('files-mb') ?? Math.round(dbMb / 2));
const repeats = Number(flag('repeats') ?? 3);
const withDrill = process.argv.includes('--drill');

interface Variant {
  name: string;
  env: Record<string, string>;
}

function parseVariants(): Variant[] {
  const variants: Variant[] = [{ name: 'default', env: {} }];
  process.argv.forEach((arg, i) => {
    if (arg !== '--variant') return;
    const spec = process.argv[i + 1] ?? '';
    const colon = spec.indexOf(':');
    if (colon < 1) throw new Error(`--variant ${JSON.stringify(spec)}: expected NAME:KEY=VALUE[;KEY=VALUE…]`);
    const env: Record<string, string> = {};
    for (const pair of spec.slice(colon + 1).split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error(`--variant ${JSON.stringify(spec)}: ${JSON.stringify(pair)} is not KEY=VALUE`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    variants.push({ name: spec.slice(0, colon), env });
  });
  return variants;
}

const mb = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(0));
function row(kind: string, variant: string, rep: number, m: Measurement): string {
  const parts = Object.entries(m.treePeakByName)
    .sort((a, b) => b[1] - a[1])
    .filter(([, v]) => v >= 1)
    .map(([name, v]) => `${name} ${mb(v)}`)
    .join(', ');
  return `| ${kind} | ${variant} | ${rep} | ${m.wallSeconds.toFixed(1)} | **${mb(m.treePeakRssMb)}** (${parts}) | ${mb(m.treePeakPssMb)} | ${mb(m.nodePeakRssMb)} | ${m.nodeCpuSeconds?.toFixed(1) ?? '–'} |`;
}

async function main(): Promise<void> {
  const variants = parseVariants();
  const work = await mkdtemp(join(tmpdir(), 'bd-bench-mem-'));
  await chmod(work, 0o755);
  const childTmp = join(work, 'tmp');
  await mkdir(childTmp, { mode: 0o755 });
  let cluster: EphemeralCluster | undefined;
  try {
    const bundle = await prepareCli(resolve(here, '..'), join(work, 'cli'), flag('cli'));
    console.log(`CLI: ${bundle.source} (bundle sha256 ${bundle.sha256.slice(0, 16)}…); ${dbMb} MB database + ${filesMb} MB uploads; ${repeats} repeats\n`);
    cluster = await EphemeralCluster.start({ binDir: await serverBinDir(), parentDir: join(work, 'clusters'), tuneForRestore: true });
    const db = await generateDatabase(cluster.url(), { dbMb });
    const uploads = join(work, 'uploads');
    await generateUploads(uploads, { filesMb });
    console.log('| run | variant | repeat | wall s | tree peak RSS MB (at the peak, by process) | tree PSS MB | node peak MB | node CPU s |');
    console.log('|---|---|---|---|---|---|---|---|');
    let seq = 0;
    for (let rep = 1; rep <= repeats; rep++) {
      for (const variant of variants) {
        const env = { ...process.env, TMPDIR: childTmp, ...variant.env };
        const store = join(work, 'store');
        const common = { rep, env, pollNode: true, timeFile: join(work, `time-${seq++}.txt`) };
        const backup = await measure(process.execPath, [bundle.path, 'backup', '--database-url', db.url, '--files-path', uploads, '--storage', store], {
          ...common,
          name: `backup/${variant.name}`,
          servers: async () => postmastersUnder(join(work, 'clusters')),
        });
        console.log(row('backup', variant.name, rep, backup));
        if (withDrill) {
          const drill = await measure(process.execPath, [bundle.path, 'drill', '--storage', store, '--jobs', '2', '--report-dir', join(work, 'reports')], {
            ...common,
            name: `drill/${variant.name}`,
            timeFile: join(work, `time-${seq++}.txt`),
          });
          console.log(row('drill', variant.name, rep, drill));
        }
        await rm(store, { recursive: true, force: true });
      }
    }
  } finally {
    await cluster?.stop();
    await cleanupStaleClusters(undefined, join(childTmp, 'backup-drill-clusters')).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
