// Where does our node process spend its CPU? Generates the bench data, runs
// the dist CLI's backup and drill under `node --cpu-prof`, and prints the
// functions with the most self time (and idle/GC/program shares).
//
//   node --import tsx bench/profile.ts [--db-mb 1000] [--files-mb 500] [--top 20] [--cli head|<path>]
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDatabase, generateUploads, serverBinDir } from './generate.js';
import { prepareCli } from './measure.js';
import { EphemeralCluster, cleanupStaleClusters } from '../src/postgres/cluster.js';

const here = dirname(fileURLToPath(import.meta.url));
const flag = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : process.argv[i + 1]!;
};
const dbMb = Number(flag('db-mb', '1000'));
const filesMb = Number(flag('files-mb', String(Math.round(dbMb / 2))));
const top = Number(flag('top', '20'));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const frameName = (n: ProfileNode) => {
  const url = n.callFrame.url ? basename(n.callFrame.url) : '';
  return `${n.callFrame.functionName || '(anonymous)'}${url ? ` ${url}:${n.callFrame.lineNumber + 1}` : ''}`;
};

// Printed only after everything is cleaned up: a closed stdout (| head) must not skip `finally`.
const out: string[] = [];
const print = (line: string) => out.push(line);

async function summarize(file: string, label: string): Promise<void> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const perSampleMs = wallMs / Math.max(1, profile.samples.length);
  const byFn = new Map<string, number>();
  const parentOf = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  // For each function: its callers up to 4 frames, by hits (which code path pays for it).
  const paths = new Map<string, Map<string, number>>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    const key = frameName(n);
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
    total += hits;
    const chain: string[] = [];
    for (let p = parentOf.get(n.id); p && chain.length < 4; p = parentOf.get(p.id)) chain.push(frameName(p));
    const m = paths.get(key) ?? new Map<string, number>();
    m.set(chain.join(' ← '), (m.get(chain.join(' ← ')) ?? 0) + hits);
    paths.set(key, m);
  }
  const idle = byFn.get('(idle)') ?? 0;
  print(`\n## ${label}: ${(wallMs / 1000).toFixed(1)} s profiled, main thread busy ${(((total - idle) * perSampleMs) / 1000).toFixed(1)} s`);
  print('| self ms | share of busy | function |\n|---:|---:|---|');
  const rows = [...byFn.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, hits] of rows) print(`| ${(hits * perSampleMs).toFixed(0)} | ${((100 * hits) / Math.max(1, total - idle)).toFixed(1)}% | \`${k}\` |`);
  print('\nCallers of the top 5 (4 frames up, by share of that function):');
  for (const [k, hits] of rows.slice(0, 5)) {
    const callers = [...(paths.get(k) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    for (const [chain, h] of callers) print(`- \`${k}\` ${((100 * h) / hits).toFixed(0)}%: ← ${chain || '(root)'}`);
  }
}

async function main(): Promise<void> {
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (interrupted = true));
  const work = await mkdtemp(join(tmpdir(), 'bd-bench-prof-'));
  await chmod(work, 0o755);
  const childTmp = join(work, 'tmp');
  await mkdir(childTmp, { mode: 0o755 });
  await chmod(childTmp, 0o755);
  let cluster: EphemeralCluster | undefined;
  try {
    const bundle = await prepareCli(resolve(here, '..'), join(work, 'cli'), process.argv.includes('--cli') ? flag('cli', '') : undefined);
    const cli = bundle.path;
    print(`CLI: ${bundle.source} (sha256 ${bundle.sha256.slice(0, 16)}…)`);
    cluster = await EphemeralCluster.start({ binDir: await serverBinDir(), parentDir: join(work, 'clusters'), tuneForRestore: true });
    const db = await generateDatabase(cluster.url(), { dbMb });
    const uploads = join(work, 'uploads');
    await generateUploads(uploads, { filesMb });
    execFileSync('bash', ['-c', `tar cf - -C '${uploads}' . | cat > /dev/null`]);
    const env = { ...process.env, TMPDIR: childTmp };
    const store = join(work, 'store');
    for (const [label, args] of [
      ['backup', ['backup', '--database-url', db.url, '--files-path', uploads, '--storage', store]],
      ['drill', ['drill', '--storage', store, '--jobs', '2', '--report-dir', join(work, 'reports')]],
    ] as const) {
      if (interrupted) throw new Error('interrupted');
      const dir = join(work, `prof-${label}`);
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`${label} exited ${r.status}: ${r.stderr.toString().slice(-2000)}`);
      const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'))!;
      await summarize(join(dir, file), `${label} (${dbMb} MB database, ${filesMb} MB uploads)`);
    }
  } finally {
    await cluster?.stop();
    await cleanupStaleClusters(undefined, join(childTmp, 'backup-drill-clusters')).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => process.stdout.write(out.join('\n') + '\n'));
