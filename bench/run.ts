// Benchmark (issue 16): our backup and drill against the best pipelines a shell
// expert writes with the bare tools, with and without the verification work we
// do, and against what most users run today. One run, same generated data,
// interleaved, medians. See BENCHMARKS.md.
//
//   npm run bench -- [--sizes 256,1024] [--files-ratio 0.5] [--repeats 5] [--cli head|<path>] [--no-diagnose] [--echo] [--out DIR]
//   npm run bench:10g            (--sizes 10240 --repeats 5; checks the free disk first)
//   (--cli: which bundle to measure; default the working tree's dist/cli, or HEAD's committed one when missing)
//
// For each size (database MB; uploads = files-ratio × that):
//   generate → warm the page cache → the stats plan (chooseChecksumMethods on the source, once) →
//   backups × repeats, interleaved, the order rotated each repeat (each run starts after a `sync`):
//     backup/ours              node <cli> backup --database-url … --files-path … --storage … --json (the engine's default compression)
//     backup/bare-best         ( pg_dump -Fc -Z0 | zstd -1 -T<cores> | tee database.dump.zst | sha256sum ) &
//                              ( tar -cf - -C uploads . | tee files.tar | sha256sum ) & wait
//     backup/bare-best+verify  the same, plus the verification work we do: a psql session exports a snapshot and holds it
//                              (coproc), pg_dump --snapshot, two more psql sessions join the snapshot and run the engine's
//                              per-table stats (count + row hash, the methods chooseChecksumMethods picks) on half the
//                              tables each, and find | xargs sha256sum writes a per-file SHA-256 list alongside the tar
//     backup/naive             pg_dump -Fc > db.dump (gzip-6); tar czf files.tgz; sha256sum db.dump files.tgz, in sequence
//                              (only on odd repeats when it takes > 3× ours at repeat 1; only once when > 4×:
//                              far from the 3× target, each of its runs costs minutes at 10 GB)
//   backup diagnostics (each piece alone) → the source cluster and uploads are removed (disk) →
//   drills × repeats, interleaved and rotated, on our newest backup and the last repeat's bare-best+verify output:
//     drill/ours               node <cli> drill --storage … --jobs 2 --report-dir … --json --verbose (must pass)
//     drill/bare               initdb + pg_ctl start (default config) ∥ zstd -d of the dump to a file; pg_restore -j2;
//                              one count(*) per table; stop; rm
//     drill/bare+verify        the same, plus: sha256sum -c of the parts' digests (in the background), tar x + sha256sum -c
//                              of every file (alongside the restore), and the same per-table stats on 2 psql sessions,
//                              compared with the ones taken at backup
//   drill diagnostics.
// CPU of a run = user+sys of its process tree (GNU time) + the PostgreSQL server's (the source cluster during backups,
// the throwaway cluster during drills), read from /proc, because pg_ctl daemonizes the server and GNU time never sees it.
// Memory: our node process's VmHWM, and the peak of the summed RSS of the whole process tree without the server processes.
// Prints Markdown tables and writes bench/out/results.json (and results.md).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { generateDatabase, generateUploads, serverBinDir, type DatabaseInfo, type UploadsInfo } from './generate.js';
import { loadavg1, measure, postmastersUnder, prepareCli, type Measurement, type RunOptions } from './measure.js';
import { EphemeralCluster, cleanupStaleClusters, freePort } from '../src/postgres/cluster.js';
import { findBinDir } from '../src/postgres/binaries.js';
import { connect, serverInfo } from '../src/postgres/connect.js';
import { chooseChecksumMethods, collectStats, listTables, ROW_HASH } from '../src/postgres/stats.js';
import { ExportedSnapshot } from '../src/postgres/snapshot.js';
import { runPgRestore } from '../src/postgres/restore.js';
import { LocalStorage } from '../src/storage/local.js';
import { openPart, storedBytes, verifyPart } from '../src/archive/open-part.js';
import { extractFiles } from '../src/archive/files-verify.js';
import { packFiles } from '../src/archive/files-tar.js';
import { writePart } from '../src/archive/part-writer.js';
import { partByRole, type ChecksumMethod, type Manifest, type PartRole } from '../src/archive/manifest.js';
import { MemoryLogger } from '../src/util/logger.js';

const MB = 1_000_000;
const GB = 1e9;
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

// ── arguments ───────────────────────────────────────────────────────────────
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const SIZES = (flag('sizes') ?? '256,1024')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const FILES_RATIO = Number(flag('files-ratio') ?? 0.5);
const REPEATS = Number(flag('repeats') ?? 5);
const DIAGNOSE = !process.argv.includes('--no-diagnose');
const ECHO = process.argv.includes('--echo');
const JOBS = 2;
const CORES = availableParallelism();
const OUT_DIR = resolve(flag('out') ?? join(here, 'out'));
/** Sizes from here up are the ones the targets apply to ("at each size ≥ 1 GB"). */
const TARGET_MIN_DB_MB = 1000;

const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => abort.abort(new Error(`interrupted by ${sig}`)));
const checkAbort = () => {
  if (abort.signal.aborted) throw abort.signal.reason;
};

const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// ── helpers ─────────────────────────────────────────────────────────────────
function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch (error) {
    return `(${cmd} failed: ${(error as Error).message.split('\n')[0]})`;
  }
}

function postgresIds(): { uid: number; gid: number } {
  return { uid: Number(sh('id', ['-u', 'postgres'])), gid: Number(sh('id', ['-g', 'postgres'])) };
}
const AS_ROOT = process.getuid?.() === 0;
/** Prefix that runs a server binary as the postgres user when we are root. */
const RUN_AS = AS_ROOT ? 'runuser -u postgres -- ' : '';

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))).size;
  }
  return total;
}

function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `list` rotated left by `n`: each repeat starts with a different variant, so no variant always runs after the same one. */
function rotate<T>(list: readonly T[], n: number): T[] {
  const k = n % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Flushes dirty pages (the previous run's output) so that no run pays for another's writeback. Not measured. */
function settle(): number {
  const t = performance.now();
  execFileSync('sync');
  return (performance.now() - t) / 1000;
}

// ── disk ────────────────────────────────────────────────────────────────────
// What one size needs in TMPDIR at its peak (DB = database MB, F = uploads MB; a
// backup B = 0.5·DB + F: the compressed dump is ≤ 0.5× the database, which holds
// indexes and TOAST overhead, and the uploads are incompressible):
//   backup phase: source data dir 1.3·DB + uploads F + the bare-best+verify output kept for the drills B
//                 + 2·B: our newest backup and the one being written (older ones are removed), or our
//                 newest and the bare/naive output being written (removed after its run) = 1.3·DB + F + 3·B
//   drill phase (the source cluster and uploads are removed first): our backup B + the kept bare output B
//                 + the restored cluster 1.3·DB + the decompressed dump for pg_restore -j (≈ DB) + the
//                 extracted uploads F                                                     = 2.3·DB + F + 2·B
//   need = max of the two + 10% + 1 GB
const DISK_FORMULA =
  'need = max(backup phase 1.3·DB + F + 3·B, drill phase 2.3·DB + F + 2·B) × 1.1 + 1 GB, with B = 0.5·DB + F (a backup); DB = database, F = uploads';
function diskNeedBytes(dbMb: number, filesMb: number): { need: number; backupPhase: number; drillPhase: number } {
  const db = dbMb * MB;
  const f = filesMb * MB;
  const b = 0.5 * db + f;
  const backupPhase = 1.3 * db + f + 3 * b;
  const drillPhase = 2.3 * db + f + 2 * b;
  return { need: Math.max(backupPhase, drillPhase) * 1.1 + GB, backupPhase, drillPhase };
}

// ── the per-table stats the bare+verify variants run ──────────────────────
interface StatsTable {
  name: string;
  method: ChecksumMethod;
  bytes: number;
}

/** The engine's per-table stats query with either row hash (the engine picks one per table, src/postgres/stats.ts). */
function statsQuery(table: string, hash: ChecksumMethod): string {
  const h = ROW_HASH[hash];
  return `SELECT count(*)::text AS rows, coalesce(sum(${h}::numeric), 0)::text AS checksum FROM ONLY public.${table} AS bd_row_`;
}

/** statsQuery as one `table|rows|checksum` line of psql -At output. */
function statsLine(t: StatsTable): string {
  return `SELECT '${t.name}', s.rows, s.checksum FROM (${statsQuery(t.name, t.method)}) AS s`;
}

/** Two sessions' shares of the tables, balanced by size (largest first onto the lighter session). */
function splitTables(tables: StatsTable[]): [StatsTable[], StatsTable[]] {
  const halves: [StatsTable[], StatsTable[]] = [[], []];
  const load = [0, 0];
  for (const t of [...tables].sort((a, b) => b.bytes - a.bytes)) {
    const i = load[0]! <= load[1]! ? 0 : 1;
    halves[i]!.push(t);
    load[i]! += t.bytes;
  }
  return halves;
}

/** psql arguments (-c …) running one session's share of the stats statements. */
function statsArgs(half: StatsTable[]): string {
  return half.map((t) => `-c ${q(statsLine(t))}`).join(' ');
}

// ── bare-tool scripts ───────────────────────────────────────────────────────
const MARK = 'mark() { echo "@$1 $(date +%s.%N)"; }';

/**
 * The best pipeline with the bare tools: dump and files in parallel, each
 * compressed/hashed/written in one pass. With `stats`: the same verification
 * work as ours (snapshot held by a psql coproc, stats in it on 2 sessions, a
 * per-file SHA-256 list). Prints `proof: …` lines.
 */
function bareBestBackup(out: string, uploads: string, stats?: [StatsTable[], StatsTable[]]): string {
  const o = (name: string) => q(join(out, name));
  const snapshotArg = stats ? '--snapshot="$SNAP"' : '';
  return `set -euo pipefail
${MARK}
mark start
${
  stats
    ? `coproc SNAPHOLD { exec psql -X -Atq -v ON_ERROR_STOP=1; }
holder=$SNAPHOLD_PID
echo 'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT pg_export_snapshot();' >&"\${SNAPHOLD[1]}"
IFS= read -r SNAP <&"\${SNAPHOLD[0]}"
mark snapshot
stats() { psql -X -Atq -v ON_ERROR_STOP=1 -c 'BEGIN ISOLATION LEVEL REPEATABLE READ' -c "SET TRANSACTION SNAPSHOT '$SNAP'" "$@" -c 'COMMIT'; }`
    : ''
}
( pg_dump -Fc -Z0 ${snapshotArg} | zstd -1 -T${CORES} -q | tee ${o('database.dump.zst')} | sha256sum > ${o('database.dump.zst.sha256')}; mark db_done ) & db=$!
( tar -cf - -C ${q(uploads)} . | tee ${o('files.tar')} | sha256sum > ${o('files.tar.sha256')}; mark files_done ) & fl=$!
${
  stats
    ? `( cd ${q(uploads)} && find . -type f -print0 | xargs -0 sha256sum > ${o('files.sha256')}; mark list_done ) & ls=$!
( stats ${statsArgs(stats[0])} > ${o('stats-1.txt')}; mark stats1_done ) & s1=$!
( stats ${statsArgs(stats[1])} > ${o('stats-2.txt')}; mark stats2_done ) & s2=$!`
    : ''
}
wait $db
wait $fl
${
  stats
    ? `wait $ls
wait $s1
wait $s2
printf 'COMMIT;\\n\\\\q\\n' >&"\${SNAPHOLD[1]}"
wait $holder
sort ${o('stats-1.txt')} ${o('stats-2.txt')} > ${o('stats.txt')}
rm ${o('stats-1.txt')} ${o('stats-2.txt')}
echo "proof: snapshot $SNAP held by psql pid $holder; $(wc -l < ${o('stats.txt')}) tables hashed in it on 2 sessions; $(wc -l < ${o('files.sha256')}) files in the per-file list"`
    : ''
}
printf '%s  %s\\n%s  %s\\n' "$(cut -c1-64 ${o('database.dump.zst.sha256')})" database.dump.zst "$(cut -c1-64 ${o('files.tar.sha256')})" files.tar > ${o('SHA256SUMS')}
mark done
`;
}

/** What most users run today: pg_dump's defaults (gzip 6), tar czf, sha256sum, one after another. */
function naiveBackup(out: string, uploads: string): string {
  return `set -euo pipefail
${MARK}
mark start
pg_dump -Fc > ${q(join(out, 'db.dump'))}
mark dumped
tar czf ${q(join(out, 'files.tgz'))} -C ${q(uploads)} .
mark tarred
cd ${q(out)} && sha256sum db.dump files.tgz > SHA256SUMS
mark hashed
`;
}

/**
 * A drill with the bare tools on the bare-best(+verify) output in `bare`:
 * a default-config cluster, the dump decompressed to a file meanwhile (pg_restore -j needs one),
 * pg_restore -j2, one count(*) per table. With `stats`: the parts' digests checked, every file
 * extracted and checked alongside the restore, and the per-table stats on 2 sessions compared
 * with the backup's.
 */
function bareDrill(dir: string, port: number, bare: string, tables: StatsTable[], stats?: [StatsTable[], StatsTable[]]): string {
  const extract = join(dir, 'files');
  const dump = join(dir, 'database.dump');
  const conn = `-X -h 127.0.0.1 -p ${port} -U postgres -d postgres -Atq -v ON_ERROR_STOP=1`;
  const counts = tables.map((t) => `-c ${q(`SELECT count(*) FROM ONLY public.${t.name}`)}`).join(' ');
  return `set -euo pipefail
${MARK}
mark start
( zstd -d -q -T0 ${q(join(bare, 'database.dump.zst'))} -o ${q(dump)}; mark decompressed ) & unz=$!
${stats ? `( cd ${q(bare)} && sha256sum -c --quiet SHA256SUMS; mark sums_done ) & sums=$!` : ''}
${RUN_AS}initdb -D ${q(`${dir}/data`)} -U postgres -A trust -E UTF8 --locale=C.UTF-8 > ${q(`${dir}/initdb.log`)}
mark initdb
${RUN_AS}pg_ctl -D ${q(`${dir}/data`)} -l ${q(`${dir}/server.log`)} -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1" -w start > /dev/null
mark started
${
  stats
    ? `( mkdir -p ${q(extract)} && tar xf ${q(join(bare, 'files.tar'))} -C ${q(extract)} && cd ${q(extract)} && sha256sum -c --quiet ${q(join(bare, 'files.sha256'))}; mark files_done ) & fl=$!`
    : ''
}
wait $unz
pg_restore --no-owner --no-acl --exit-on-error -j ${JOBS} -h 127.0.0.1 -p ${port} -U postgres -d postgres ${q(dump)}
mark restored
${
  stats
    ? `( psql ${conn} ${statsArgs(stats[0])} > ${q(`${dir}/stats-1.txt`)} ) & s1=$!
( psql ${conn} ${statsArgs(stats[1])} > ${q(`${dir}/stats-2.txt`)} ) & s2=$!
wait $s1
wait $s2
sort ${q(`${dir}/stats-1.txt`)} ${q(`${dir}/stats-2.txt`)} > ${q(`${dir}/stats.txt`)}
diff -q ${q(join(bare, 'stats.txt'))} ${q(`${dir}/stats.txt`)} > /dev/null
echo "proof: $(wc -l < ${q(`${dir}/stats.txt`)}) tables hashed after the restore on 2 sessions, count + row hash equal the backup's; $(wc -l < ${q(join(bare, 'files.sha256'))}) files checked"`
    : `psql ${conn} ${counts} > /dev/null`
}
mark counted
${stats ? 'wait $fl\nwait $sums\nmark verified' : ''}
${RUN_AS}pg_ctl -D ${q(`${dir}/data`)} -m immediate -w stop > /dev/null
rm -rf ${q(`${dir}/data`)} ${q(extract)} ${q(dump)}
mark stopped
`;
}

/** Stops and removes a bare cluster left by a failed script (no-op when already gone). */
async function removeBareCluster(dir: string): Promise<void> {
  try {
    await stat(join(dir, 'data', 'postmaster.pid'));
    execFileSync('bash', ['-c', `${RUN_AS}pg_ctl -D ${q(`${dir}/data`)} -m immediate -w stop`], { stdio: 'ignore' });
  } catch {
    /* not running */
  }
  await rm(dir, { recursive: true, force: true });
}

/** The `proof: …` lines a bare+verify script printed. */
const proofOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('proof: '))
    .map((l) => l.slice(7))
    .join('; ');

// ── the run ─────────────────────────────────────────────────────────────────
type BackupVariant = 'ours' | 'bare-best+verify' | 'bare-best' | 'naive';
type DrillVariant = 'ours' | 'bare+verify' | 'bare';
const BACKUP_VARIANTS: readonly BackupVariant[] = ['ours', 'bare-best+verify', 'bare-best', 'naive'];
const DRILL_VARIANTS: readonly DrillVariant[] = ['ours', 'bare+verify', 'bare'];

interface SizeResult {
  dbMbTarget: number;
  filesMbTarget: number;
  database: Omit<DatabaseInfo, 'url'>;
  uploads: Omit<UploadsInfo, 'path'>;
  statsPlan: { table: string; method: ChecksumMethod; session: number }[];
  /** What our backup stored: the manifest's dump section and parts (name, role, bytes). */
  ours: { dump: Manifest['dump'] | undefined; parts: { name: string; role: PartRole; bytes: number }[] };
  backupBytes: Record<string, number>;
  naiveOddRepeatsOnly: boolean;
  naiveOnce: boolean;
  measurements: Measurement[];
  diagnostics: Record<string, number | string>;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bd-bench-'));
  await chmod(work, 0o755); // the postgres user must reach the clusters below it
  const childTmp = join(work, 'tmp');
  await mkdir(childTmp, { mode: 0o755 });
  await chmod(childTmp, 0o755);
  const clustersDir = join(work, 'clusters');
  // Where our drill's throwaway cluster lives: clustersRoot() under the TMPDIR we give the CLI (src/util/temp-root.ts).
  const uid = process.getuid?.();
  const ourClusters = join(childTmp, uid === undefined ? 'backup-drill' : `backup-drill-${uid}`, 'backup-drill-clusters');
  const startedAt = new Date();
  const uptimeBefore = sh('uptime', []);
  const psBefore = sh('ps', ['-eo', 'pcpu,etime,comm', '--sort=-pcpu', '--no-headers']).split('\n').slice(0, 8).join('\n');
  const loadSamples: Array<{ t: number; load1: number }> = [];
  const sampler = setInterval(() => void loadavg1().then((l) => loadSamples.push({ t: (Date.now() - startedAt.getTime()) / 1000, load1: l })), 5000);
  sampler.unref();

  // Disk: refuse before generating anything when TMPDIR cannot hold the largest size.
  const largest = Math.max(...SIZES);
  const disk = diskNeedBytes(largest, Math.round(largest * FILES_RATIO));
  const fs = await statfs(work);
  const freeBytes = fs.bavail * fs.bsize;
  const diskLine = `the largest size (${largest} MB + ${Math.round(largest * FILES_RATIO)} MB of uploads) needs ~${(disk.need / GB).toFixed(1)} GB in ${tmpdir()} (backup phase ${(disk.backupPhase / GB).toFixed(1)} GB, drill phase ${(disk.drillPhase / GB).toFixed(1)} GB; ${DISK_FORMULA}); free: ${(freeBytes / GB).toFixed(1)} GB`;
  log(`disk: ${diskLine}`);
  if (freeBytes < disk.need) {
    await rm(work, { recursive: true, force: true });
    log(
      `refusing to start: not enough free disk in ${tmpdir()}: ${(freeBytes / GB).toFixed(1)} GB free, ~${(disk.need / GB).toFixed(1)} GB needed. Free some space or point TMPDIR at a bigger disk.`,
    );
    process.exitCode = 2;
    return;
  }

  // A private copy of the CLI bundle: another session rebuilding dist/ mid-run cannot break us.
  const bundle = await prepareCli(repoRoot, join(work, 'cli'), flag('cli'));
  const cli = bundle.path;
  const cliSha = bundle.sha256.slice(0, 16);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TMPDIR: childTmp, BACKUP_DRILL_DEBUG: '1' };
  for (const k of Object.keys(childEnv)) if (k.startsWith('BACKUP_DRILL_') && k !== 'BACKUP_DRILL_DEBUG') delete childEnv[k];

  const binDir = await serverBinDir();
  const results: SizeResult[] = [];
  let timeSeq = 0;
  const timeFile = () => join(work, `time-${timeSeq++}.txt`);

  log(`work dir ${work}; CLI: ${bundle.source} (bundle sha256 ${cliSha}…); sizes ${SIZES.join(', ')} MB; repeats ${REPEATS}; ${CORES} cores`);
  log(`before: ${uptimeBefore}`);
  try {
    for (const dbMb of SIZES) {
      checkAbort();
      const filesMb = Math.round(dbMb * FILES_RATIO);
      const label = `${dbMb} MB`;
      let source: EphemeralCluster | undefined;
      const sizeDir = join(work, `size-${dbMb}`);
      await mkdir(sizeDir, { recursive: true });
      await chmod(sizeDir, 0o755);
      try {
        log(`── ${label}: generating the database (${dbMb} MB) and uploads (${filesMb} MB)`);
        source = await EphemeralCluster.start({ binDir, parentDir: clustersDir, tuneForRestore: true });
        const db = await generateDatabase(source.url(), { dbMb, log });
        const uploadsDir = join(sizeDir, 'uploads');
        const up = await generateUploads(uploadsDir, { filesMb, seed: dbMb });
        log(
          `database ${(db.bytes / MB).toFixed(0)} MB in ${db.seconds.toFixed(1)}s; uploads ${up.files} files, ${(up.bytes / MB).toFixed(0)} MB in ${up.seconds.toFixed(1)}s`,
        );
        const url = new URL(db.url);
        const pgEnv = {
          ...process.env,
          PGHOST: '127.0.0.1',
          PGPORT: url.port,
          PGUSER: decodeURIComponent(url.username),
          PGPASSWORD: decodeURIComponent(url.password),
          PGDATABASE: db.database,
        };
        const sourcePid = Number((await readFile(join(source.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
        const sourceServer = async () => [sourcePid];

        // Warm the page cache (and set any remaining hint bits) so the first measured run pays nothing extra.
        const warm = performance.now();
        execFileSync('bash', ['-c', `pg_dump -Fc -Z0 > /dev/null && tar cf - -C ${q(uploadsDir)} . | cat > /dev/null`], { env: pgEnv });
        log(`warm-up read in ${((performance.now() - warm) / 1000).toFixed(1)}s`);

        // The stats the bare+verify variants run: the methods the engine picks on this source, computed once.
        const stats = await (async () => {
          const c = await connect(db.url);
          try {
            return await chooseChecksumMethods(c, await listTables(c), (await serverInfo(c)).versionNum);
          } finally {
            await c.end().catch(() => undefined);
          }
        })();
        const statsTables: StatsTable[] = stats.map((t) => {
          if (t.textColumns?.length) log(`  note: ${t.name} has text-hashed columns (${t.textColumns.join(', ')}); statsQuery hashes the whole record`);
          return { name: t.name, method: t.checksumMethod ?? 'text', bytes: db.tables.find((x) => x.name === t.name)?.bytes ?? 0 };
        });
        const halves = splitTables(statsTables);
        log(
          `stats plan: session 1 ${halves[0].map((t) => `${t.name} (${t.method})`).join(', ')}; session 2 ${halves[1].map((t) => `${t.name} (${t.method})`).join(', ')}`,
        );

        const measurements: Measurement[] = [];
        const backupBytes: Record<string, number> = {};
        const store = join(sizeDir, 'store');
        const record = (m: Measurement, note = '') => {
          measurements.push(m);
          const rss = m.nodePeakRssMb !== undefined ? `node ${m.nodePeakRssMb.toFixed(0)} MB, ` : '';
          const cpu = m.cpuUserSeconds + m.cpuSysSeconds;
          const atPeak = Object.entries(m.treePeakByName)
            .filter(([, v]) => v >= 1)
            .sort((a, b) => b[1] - a[1])
            .map(([name, v]) => `${name} ${v.toFixed(0)}`)
            .join(', ');
          log(
            `  ${m.name.padEnd(24)} #${m.rep}: ${m.wallSeconds.toFixed(2)}s wall, cpu ${cpu.toFixed(1)}s + server ${m.serverCpuSeconds.toFixed(1)}s; peak RSS ${rss}tree ${m.treePeakRssMb.toFixed(0)} MB (${atPeak}); load ${m.load1Before.toFixed(1)}→${m.load1After.toFixed(1)}, busy ${m.machineBusyPct.toFixed(0)}%${note}`,
          );
        };
        const run = async (command: string, args: string[], options: Omit<RunOptions, 'timeFile' | 'signal'>) => {
          checkAbort();
          const syncSeconds = settle();
          const m = await measure(command, args, { echo: ECHO, ...options, timeFile: timeFile(), signal: abort.signal });
          m.syncBeforeSeconds = syncSeconds;
          return m;
        };

        // ── backups ──
        let lastBackupId = '';
        let oursManifest: Manifest | undefined;
        let naiveOddOnly = false;
        let naiveOnce = false;
        const bareKept = join(sizeDir, 'bare-kept'); // the last repeat's bare-best+verify output, for the bare drills
        for (let rep = 1; rep <= REPEATS; rep++) {
          for (const variant of rotate(BACKUP_VARIANTS, rep - 1)) {
            if (variant === 'ours') {
              const ours = await run(process.execPath, [cli, 'backup', '--database-url', db.url, '--files-path', uploadsDir, '--storage', store, '--json'], {
                name: 'backup/ours',
                rep,
                env: childEnv,
                pollNode: true,
                servers: sourceServer,
                stderrPhases: { source: /^Source:/, complete: /^Backup \S+ complete/ },
              });
              const result = JSON.parse(ours.stdout) as { backupId: string; sizeBytes: number; durationSeconds: number };
              lastBackupId = result.backupId;
              ours.engineSeconds = result.durationSeconds;
              ours.stdout = '';
              backupBytes.ours = result.sizeBytes;
              oursManifest = JSON.parse(await readFile(join(store, 'default', lastBackupId, 'manifest.json'), 'utf8')) as Manifest;
              const dbPart = partByRole(oursManifest, 'database');
              record(ours, `; stored ${(result.sizeBytes / MB).toFixed(0)} MB (${dbPart?.name} ${((dbPart?.bytes ?? 0) / MB).toFixed(0)} MB)`);
              // Keep only the newest backup: the drill uses it.
              for (const id of await readdir(join(store, 'default')))
                if (id !== lastBackupId) await rm(join(store, 'default', id), { recursive: true, force: true });
            } else if (variant === 'naive') {
              if ((naiveOddOnly && rep % 2 === 0) || (naiveOnce && rep > 1)) continue;
              const out = join(sizeDir, 'naive');
              await mkdir(out, { recursive: true });
              try {
                const m = await run('bash', ['-c', naiveBackup(out, uploadsDir)], {
                  name: 'backup/naive',
                  rep,
                  env: pgEnv,
                  markers: true,
                  servers: sourceServer,
                });
                backupBytes.naive = await dirBytes(out);
                m.stdout = '';
                record(m);
              } finally {
                await rm(out, { recursive: true, force: true });
              }
            } else {
              const verify = variant === 'bare-best+verify';
              const keep = verify && rep === REPEATS;
              const out = keep ? bareKept : join(sizeDir, `out-${variant}`);
              await mkdir(out, { recursive: true });
              try {
                const m = await run('bash', ['-c', bareBestBackup(out, uploadsDir, verify ? halves : undefined)], {
                  name: `backup/${variant}`,
                  rep,
                  env: pgEnv,
                  markers: true,
                  servers: sourceServer,
                });
                backupBytes[variant] = await dirBytes(out);
                m.proof = proofOf(m.stdout);
                m.stdout = '';
                record(m, m.proof ? `; ${m.proof}` : '');
              } finally {
                if (!keep) await rm(out, { recursive: true, force: true });
              }
            }
          }
          if (rep === 1) {
            const at1 = (name: string) => measurements.find((m) => m.name === name && m.rep === 1)?.wallSeconds ?? NaN;
            if (at1('backup/naive') > 4 * at1('backup/ours')) {
              naiveOnce = true;
              log(`  backup/naive took > 4× ours at repeat 1: it does not run again at this size`);
            } else if (at1('backup/naive') > 3 * at1('backup/ours')) {
              naiveOddOnly = true;
              log(`  backup/naive took > 3× ours at repeat 1: it runs on odd repeats only from here`);
            }
          }
        }
        // The bare stats count the same rows as our manifest (a sanity check of the psql pipeline, not measured).
        if (oursManifest) {
          const bareStats = (await readFile(join(bareKept, 'stats.txt'), 'utf8')).trim().split('\n');
          const mismatch = bareStats.filter((line) => {
            const [table, rows] = line.split('|');
            return oursManifest!.tables.find((t) => t.name === table)?.rows !== Number(rows);
          });
          log(
            `  bare-best+verify stats: ${bareStats.length} tables; row counts equal our manifest's: ${mismatch.length ? `NO (${mismatch.join('; ')})` : 'yes'}`,
          );
        }

        const diagnostics: Record<string, number | string> = {};
        if (DIAGNOSE) {
          checkAbort();
          log('  backup diagnostics …');
          // A failed diagnostic is recorded, not fatal: the measurements above are kept.
          await diagnoseBackup(cli, db.url, pgEnv, uploadsDir, halves, diagnostics, sizeDir).catch(
            (e) => void (diagnostics['backup diagnostics failed'] = String(e)),
          );
        }
        // The drills need neither the source nor the uploads: free their disk (the 10 GB run needs it).
        await source.stop();
        source = undefined;
        await rm(uploadsDir, { recursive: true, force: true });

        // ── drills ──
        for (let rep = 1; rep <= REPEATS; rep++) {
          for (const variant of rotate(DRILL_VARIANTS, rep - 1)) {
            if (variant === 'ours') {
              const reportDir = join(sizeDir, 'reports');
              const ours = await run(
                process.execPath,
                [cli, 'drill', '--storage', store, '--jobs', String(JOBS), '--report-dir', reportDir, '--json', '--verbose'],
                {
                  name: 'drill/ours',
                  rep,
                  env: childEnv,
                  pollNode: true,
                  servers: () => postmastersUnder(ourClusters),
                  stderrPhases: { resolved: /backup resolved after/, started: /target ready after/, reported: /^Drill (passed|failed)/ },
                },
              );
              const report = JSON.parse(ours.stdout) as { status: string; timings: Record<string, number>; totals: { tables: number; rows: number } };
              if (report.status !== 'passed') throw new Error(`our drill did not pass: ${ours.stdout.slice(0, 2000)}`);
              ours.engineTimings = report.timings;
              ours.stdout = '';
              const t = report.timings;
              record(
                ours,
                `; engine: verify ${t.downloadSeconds?.toFixed(1)}s, restore ${t.restoreSeconds?.toFixed(1)}s, compare ${t.verifySeconds?.toFixed(1)}s, total ${t.totalSeconds?.toFixed(1)}s`,
              );
              await rm(reportDir, { recursive: true, force: true });
              const leftovers = await readdir(ourClusters).catch(() => []);
              if (leftovers.length) log(`  warning: our drill left ${leftovers.join(', ')} behind`);
            } else {
              const verify = variant === 'bare+verify';
              const dir = join(sizeDir, `drill-${verify ? 'verify' : 'plain'}`);
              await mkdir(dir, { recursive: true });
              if (AS_ROOT) {
                const { uid, gid } = postgresIds();
                await chown(dir, uid, gid);
              }
              try {
                const m = await run('bash', ['-c', bareDrill(dir, await freePort(), bareKept, statsTables, verify ? halves : undefined)], {
                  name: `drill/${variant}`,
                  rep,
                  markers: true,
                  servers: () => postmastersUnder(dir),
                });
                m.proof = proofOf(m.stdout);
                m.stdout = '';
                const p = m.phases;
                record(
                  m,
                  `; restore ${(p.restored! - Math.max(p.started!, p.decompressed!)).toFixed(1)}s, after it ${(p.counted! - p.restored!).toFixed(1)}s${m.proof ? `; ${m.proof}` : ''}`,
                );
              } finally {
                await removeBareCluster(dir);
              }
            }
          }
        }

        if (DIAGNOSE) {
          checkAbort();
          log('  drill diagnostics …');
          await diagnoseDrill(store, lastBackupId, binDir, clustersDir, sizeDir, bareKept, diagnostics).catch(
            (e) => void (diagnostics['drill diagnostics failed'] = String(e)),
          );
          for (const [k, v] of Object.entries(diagnostics)) log(`    ${k}: ${typeof v === 'number' ? v.toFixed(2) : v}`);
        }

        const { url: _url, ...dbInfo } = db;
        const { path: _path, ...upInfo } = up;
        results.push({
          dbMbTarget: dbMb,
          filesMbTarget: filesMb,
          database: dbInfo,
          uploads: upInfo,
          statsPlan: halves.flatMap((h, i) => h.map((t) => ({ table: t.name, method: t.method, session: i + 1 }))),
          ours: { dump: oursManifest?.dump, parts: (oursManifest?.parts ?? []).map((p) => ({ name: p.name, role: p.role, bytes: p.bytes })) },
          backupBytes,
          naiveOddRepeatsOnly: naiveOddOnly,
          naiveOnce,
          measurements,
          diagnostics,
        });
        // Keep what was measured so far, in case a later size fails.
        await mkdir(OUT_DIR, { recursive: true });
        await writeFile(join(OUT_DIR, 'results.partial.json'), JSON.stringify({ startedAt, uptimeBefore, sizes: results }, null, 2) + '\n');
      } finally {
        await source?.stop().catch((e) => log(`could not stop the source cluster: ${e}`));
        await rm(sizeDir, { recursive: true, force: true });
      }
    }
  } finally {
    clearInterval(sampler);
    await cleanupStaleClusters(undefined, ourClusters).catch(() => undefined);
    await cleanupStaleClusters(undefined, clustersDir).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
  const uptimeAfter = sh('uptime', []);
  log(`after: ${uptimeAfter}`);

  const summary = summarize(results);
  const machine = {
    nproc: CORES,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: +(totalmem() / 1e9).toFixed(1),
    freeMemoryGbAtStart: +(freemem() / 1e9).toFixed(1),
    kernel: sh('uname', ['-r']),
    node: process.version,
    postgres: sh(join(binDir, 'postgres'), ['--version']),
    pgDump: sh('pg_dump', ['--version']),
    zstd: `zstd ${sh('zstd', ['-qV'])}`,
    uptimeBefore,
    uptimeAfter,
    loadavgAtEnd: loadavg(),
    load1DuringRun: {
      min: Math.min(...loadSamples.map((s) => s.load1)),
      median: median(loadSamples.map((s) => s.load1)),
      max: Math.max(...loadSamples.map((s) => s.load1)),
      samples: loadSamples.length,
    },
    busiestProcessesAtStart: psBefore,
    disk: diskLine,
  };
  const output = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: { sizes: SIZES, filesRatio: FILES_RATIO, repeats: REPEATS, jobs: JOBS, zstdThreads: CORES },
    cli: { source: bundle.source, sha256prefix: cliSha },
    machine,
    summary,
    sizes: results,
  };
  const markdown = renderMarkdown(output);
  await mkdir(OUT_DIR, { recursive: true });
  await writeFile(join(OUT_DIR, 'results.json'), JSON.stringify(output, null, 2) + '\n');
  await writeFile(join(OUT_DIR, 'results.md'), markdown);
  await rm(join(OUT_DIR, 'results.partial.json'), { force: true });
  process.stdout.write(markdown);
  log(`wrote ${join(OUT_DIR, 'results.json')} and results.md`);
}

// ── diagnostics ─────────────────────────────────────────────────────────────
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await fn();
  return [value, (performance.now() - t) / 1000];
}

/** Runs a bash snippet to completion; seconds. */
function bash(script: string, env?: NodeJS.ProcessEnv): Promise<number> {
  const t = performance.now();
  return new Promise((res, rej) => {
    const c = spawn('bash', ['-c', `set -euo pipefail\n${script}`], { env: env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    c.on('close', (code) => (code === 0 ? res((performance.now() - t) / 1000) : rej(new Error(`bash exit ${code}: ${err}`))));
  });
}

/**
 * Backup pieces, each alone: fixed costs; our stats (engine) and the bare psql stats; pg_dump raw and
 * through zstd; both at once (as both run them); pg_dump | zstd through our part writer; the files side,
 * ours in-process and the bare tar / per-file list.
 */
async function diagnoseBackup(
  cli: string,
  url: string,
  pgEnv: NodeJS.ProcessEnv,
  uploadsDir: string,
  halves: [StatsTable[], StatsTable[]],
  d: Record<string, number | string>,
  sizeDir: string,
): Promise<void> {
  const statsOnce = async () => {
    const snapshot = await ExportedSnapshot.open(url);
    const clients = [await snapshot.join(url), await snapshot.join(url)];
    try {
      const versionNum = (await serverInfo(snapshot.session)).versionNum;
      return await collectStats(clients, await chooseChecksumMethods(snapshot.session, await listTables(snapshot.session), versionNum));
    } finally {
      for (const c of clients) await c.end().catch(() => undefined);
      await snapshot.close();
    }
  };
  const psqlStats = `psql -X -Atq -v ON_ERROR_STOP=1 ${statsArgs(halves[0])} > /dev/null & a=$!\npsql -X -Atq -v ON_ERROR_STOP=1 ${statsArgs(halves[1])} > /dev/null & b=$!\nwait $a\nwait $b`;
  const diagDump = q(join(sizeDir, 'diag.dump.zst'));
  const dumpZstd = `pg_dump -Fc -Z0 | zstd -1 -T${CORES} -q > ${diagDump}`;
  // Fixed costs before any data moves: node loading the CLI bundle, and finding pg_dump (runs `--version` on every candidate).
  d['fixed: CLI start-up (node + bundle, `--help`), s'] = (
    await timed(async () => void execFileSync(process.execPath, [cli, '--help'], { stdio: 'ignore' }))
  )[1];
  d['fixed: findBinDir(pg_dump), s'] = (await timed(() => findBinDir({ tools: ['pg_dump'], wanted: 10, purpose: 'bench' })))[1];
  d['backup: our stats (engine collectStats in an exported snapshot, 2 connections) alone, s'] = (await timed(statsOnce))[1];
  d['backup: bare stats (statsQuery on 2 psql sessions) alone, s'] = await bash(psqlStats, pgEnv);
  d['backup: pg_dump -Fc -Z0 > /dev/null alone, s'] = await bash('pg_dump -Fc -Z0 > /dev/null', pgEnv);
  d[`backup: pg_dump -Fc -Z0 | zstd -1 -T${CORES} to a file alone, s`] = await bash(dumpZstd, pgEnv);
  // Both at once, as both sides run them. pg_dump runs in a child so the event loop serves the stats queries.
  {
    const t = performance.now();
    const [dumpS, statsS] = await Promise.all([bash(dumpZstd, pgEnv), statsOnce().then(() => (performance.now() - t) / 1000)]);
    d['backup: pg_dump | zstd while our stats run, s'] = dumpS;
    d['backup: our stats while pg_dump | zstd runs, s'] = statsS;
  }
  await rm(join(sizeDir, 'diag.dump.zst'), { force: true });

  // pg_dump -Z0 | zstd through the engine's writePart (SHA-256 + local file): what our node process pays per byte of dump.
  {
    const storage = new LocalStorage(join(sizeDir, 'diag-store'));
    let chunks = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const child = spawn('bash', ['-c', `set -o pipefail; pg_dump -Fc -Z0 | zstd -1 -T${CORES} -q`], { env: pgEnv, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<number | null>((res) => child.on('close', res));
    const counted = child.stdout!.pipe(
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          chunks++;
          cb(null, chunk);
        },
      }),
    );
    await writePart({ storage, prefix: 'diag' }, 'database.dump.zst', 'database', counted);
    if ((await exited) !== 0) throw new Error('pg_dump | zstd failed');
    const cpu = process.cpuUsage(cpu0);
    d['backup: pg_dump | zstd → engine part writer: wall s'] = (performance.now() - t0) / 1000;
    d['backup: pg_dump | zstd → engine part writer: node CPU s'] = (cpu.user + cpu.system) / 1e6;
    d['backup: pg_dump | zstd → engine part writer: chunks'] = chunks;
    await rm(join(sizeDir, 'diag-store'), { recursive: true, force: true });
  }

  // Our files pipeline alone (tar + per-file SHA-256 + hashing the tar), into nothing.
  const cpu0 = process.cpuUsage();
  const [, packS] = await timed(async () => {
    const packed = packFiles(uploadsDir, [], new MemoryLogger());
    const hash = createHash('sha256');
    const drainList = (async () => {
      for await (const _ of packed.list) {
        /* discard */
      }
    })();
    for await (const chunk of packed.tar) hash.update(chunk as Buffer);
    await drainList;
    await packed.done;
  });
  const cpu = process.cpuUsage(cpu0);
  d['backup: our files tar + hashes alone (in-process, into nothing), s'] = packS;
  d['backup: our files tar + hashes alone, CPU s'] = (cpu.user + cpu.system) / 1e6;
  d['backup: bare tar -cf - | sha256sum alone, s'] = await bash(`tar -cf - -C ${q(uploadsDir)} . | sha256sum > /dev/null`);
  d['backup: bare find | xargs sha256sum (per-file list) alone, s'] = await bash(
    `cd ${q(uploadsDir)} && find . -type f -print0 | xargs -0 sha256sum > /dev/null`,
  );
}

/**
 * Drill pieces, each alone: the database part's digest; files extract + per-file digests; decompressing
 * the bare dump; a tuned cluster's start; pg_restore -j2 into it; count(*), count + row hash.
 */
async function diagnoseDrill(
  store: string,
  id: string,
  binDir: string,
  clustersDir: string,
  sizeDir: string,
  bareKept: string,
  d: Record<string, number | string>,
): Promise<void> {
  const storage = new LocalStorage(store);
  const prefix = `default/${id}`;
  const manifest = JSON.parse(await readFile(join(store, prefix, 'manifest.json'), 'utf8')) as Manifest;
  const part = (role: PartRole) => {
    const p = partByRole(manifest, role);
    if (!p) throw new Error(`our backup has no ${role} part`);
    return p;
  };
  const dbPart = part('database');
  d[`drill: verify our ${dbPart.name} SHA-256, s`] = (await timed(() => verifyPart(storage, prefix, dbPart)))[1];

  const dest = join(sizeDir, 'diag-files');
  await mkdir(dest, { recursive: true });
  try {
    d['drill: our files extract + per-file SHA-256 (in-process), s'] = (
      await timed(async () => extractFiles(await openPart(storage, prefix, part('files'), storedBytes), dest))
    )[1];
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
  const scratch = join(sizeDir, 'diag-bare.dump');
  d['drill: zstd -d of the bare dump to a file alone, s'] = await bash(`zstd -d -q -T0 ${q(join(bareKept, 'database.dump.zst'))} -o ${q(scratch)}`);
  await rm(scratch, { force: true });

  // pg_restore -j needs a seekable file: a zstd-compressed part is decompressed first (timed on its own).
  let dumpFile = join(store, prefix, dbPart.name);
  if (dbPart.name.endsWith('.zst')) {
    const plain = join(sizeDir, 'diag-ours.dump');
    d['drill: zstd -d of our dump to a file, s'] = await bash(`zstd -d -q -T0 ${q(dumpFile)} -o ${q(plain)}`);
    dumpFile = plain;
  }
  let cluster: EphemeralCluster | undefined;
  try {
    const [started, startSeconds] = await timed(() => EphemeralCluster.start({ binDir, parentDir: clustersDir, tuneForRestore: true }));
    cluster = started;
    d['drill: tuned cluster initdb + start, s'] = startSeconds;
    const target = cluster.url('postgres');
    d['drill: pg_restore -j2 into the tuned cluster, s'] = (await timed(() => runPgRestore({ binDir, databaseUrl: target, file: dumpFile, jobs: JOBS })))[1];
    const clients = [await connect(target), await connect(target)];
    try {
      // The methods the engine picks (the manifest records the same ones).
      const tables = await chooseChecksumMethods(clients[0]!, await listTables(clients[0]!), (await serverInfo(clients[0]!)).versionNum);
      // First pass after the restore, as the drill's compare runs it (this pass also sets hint bits, TOAST included).
      d['drill: count + row hash, 2 connections, first pass after restore, s'] = (await timed(() => collectStats(clients, tables)))[1];
      d['drill: count(*) per table, 1 connection, s'] = (
        await timed(async () => {
          for (const t of tables) await clients[0]!.query(`SELECT count(*) FROM ONLY public.${t.name}`);
        })
      )[1];
      d['drill: count + row hash, 2 connections, second pass, s'] = (await timed(() => collectStats(clients, tables)))[1];
    } finally {
      for (const c of clients) await c.end().catch(() => undefined);
    }
  } finally {
    if (cluster) d['drill: tuned cluster stop + remove, s'] = (await timed(() => cluster!.stop()))[1];
    if (dumpFile !== join(store, prefix, dbPart.name)) await rm(dumpFile, { force: true });
  }
}

// ── summary and report ──────────────────────────────────────────────────────
const TARGETS = { backupVsBareVerify: 1.1, drillVsBareVerify: 1.1, naiveSlower: 3, rssMb: 150, rssGrowth: 1.25 };

interface Ratio {
  /** Median over repeats of the paired ratio (the same repeat's runs). */
  wall: number;
  /** The same for CPU (tree + server). */
  cpu: number;
  pairs: number;
}

function summarize(results: SizeResult[]) {
  const per = results.map((r) => {
    const of = (name: string) => r.measurements.filter((m) => m.name === name);
    const cpuOf = (m: Measurement) => m.cpuUserSeconds + m.cpuSysSeconds + m.serverCpuSeconds;
    const variant = (name: string) => {
      const ms = of(name);
      return {
        runs: ms.length,
        wallSeconds: median(ms.map((m) => m.wallSeconds)),
        wallMin: Math.min(...ms.map((m) => m.wallSeconds)),
        wallMax: Math.max(...ms.map((m) => m.wallSeconds)),
        cpuSeconds: median(ms.map(cpuOf)),
        treeCpuSeconds: median(ms.map((m) => m.cpuUserSeconds + m.cpuSysSeconds)),
        serverCpuSeconds: median(ms.map((m) => m.serverCpuSeconds)),
        treePeakRssMb: Math.max(...ms.map((m) => m.treePeakRssMb)),
        treePeakPssMb: Math.max(...ms.map((m) => m.treePeakPssMb)),
        /** What made up the largest tree peak, by process name (MB). */
        treePeakByName: ms.reduce<Measurement | undefined>((a, m) => (a && a.treePeakRssMb >= m.treePeakRssMb ? a : m), undefined)?.treePeakByName ?? {},
        nodePeakRssMb: Math.max(...ms.map((m) => m.nodePeakRssMb ?? NaN)),
        load1Before: median(ms.map((m) => m.load1Before)),
        busyPct: median(ms.map((m) => m.machineBusyPct)),
      };
    };
    /** a ÷ b, paired by repeat. */
    const ratio = (a: string, b: string): Ratio => {
      const pairs = of(a).flatMap((x) => {
        const y = of(b).find((m) => m.rep === x.rep);
        return y ? [{ wall: x.wallSeconds / y.wallSeconds, cpu: cpuOf(x) / cpuOf(y) }] : [];
      });
      return { wall: median(pairs.map((p) => p.wall)), cpu: median(pairs.map((p) => p.cpu)), pairs: pairs.length };
    };
    const variants = Object.fromEntries([...BACKUP_VARIANTS.map((v) => `backup/${v}`), ...DRILL_VARIANTS.map((v) => `drill/${v}`)].map((n) => [n, variant(n)]));
    return {
      dbMbTarget: r.dbMbTarget,
      dbMb: +(r.database.bytes / MB).toFixed(0),
      filesMb: +(r.uploads.bytes / MB).toFixed(0),
      files: r.uploads.files,
      oursDump: r.ours.dump ? `${r.ours.parts.find((x) => x.role === 'database')?.name ?? '?'}, compression ${JSON.stringify(r.ours.dump.compression)}` : '?',
      naiveOddRepeatsOnly: r.naiveOddRepeatsOnly,
      naiveOnce: r.naiveOnce,
      variants,
      backup: {
        oursVsBareBestVerify: ratio('backup/ours', 'backup/bare-best+verify'),
        oursVsBareBest: ratio('backup/ours', 'backup/bare-best'),
        naiveVsOurs: ratio('backup/naive', 'backup/ours'),
        bytes: r.backupBytes,
      },
      drill: {
        oursVsBareVerify: ratio('drill/ours', 'drill/bare+verify'),
        oursVsBare: ratio('drill/ours', 'drill/bare'),
      },
      rss: {
        backupNodeMb: variants['backup/ours']!.nodePeakRssMb,
        backupTreeMb: variants['backup/ours']!.treePeakRssMb,
        drillNodeMb: variants['drill/ours']!.nodePeakRssMb,
        drillTreeMb: variants['drill/ours']!.treePeakRssMb,
        backupTreePssMb: variants['backup/ours']!.treePeakPssMb,
        drillTreePssMb: variants['drill/ours']!.treePeakPssMb,
      },
      /** The bare+verify scripts' own account of the work they did (last repeat). */
      proofs: Object.fromEntries(['backup/bare-best+verify', 'drill/bare+verify'].map((n) => [n, String(of(n).findLast((m) => m.proof)?.proof ?? '')])),
    };
  });

  // Targets, at each size ≥ 1 GB (smaller sizes are shown, marked as outside the targets).
  const targets: Array<{ size: string; applies: boolean; target: string; value: number; met: boolean | null }> = [];
  for (const p of per) {
    const size = `${p.dbMb} MB`;
    const applies = p.dbMbTarget >= TARGET_MIN_DB_MB;
    const add = (target: string, value: number, ok: (v: number) => boolean) =>
      targets.push({ size, applies, target, value, met: Number.isFinite(value) ? ok(value) : null });
    add(`backup ≤ ${TARGETS.backupVsBareVerify}× bare-best+verify`, p.backup.oursVsBareBestVerify.wall, (v) => v <= TARGETS.backupVsBareVerify);
    add(`drill ≤ ${TARGETS.drillVsBareVerify}× bare+verify`, p.drill.oursVsBareVerify.wall, (v) => v <= TARGETS.drillVsBareVerify);
    add(`backup ≥ ${TARGETS.naiveSlower}× faster than naive (naive ÷ ours)`, p.backup.naiveVsOurs.wall, (v) => v >= TARGETS.naiveSlower);
    add(`peak RSS ≤ ${TARGETS.rssMb} MB (process tree, backup and drill)`, Math.max(p.rss.backupTreeMb, p.rss.drillTreeMb), (v) => v <= TARGETS.rssMb);
    add(`peak RSS ≤ ${TARGETS.rssMb} MB (node process, backup and drill)`, Math.max(p.rss.backupNodeMb, p.rss.drillNodeMb), (v) => v <= TARGETS.rssMb);
  }
  // Flat: the largest size's peak over the smallest's, among sizes ≥ 1 GB when there are two, else among all sizes.
  const big = per.filter((p) => p.dbMbTarget >= TARGET_MIN_DB_MB);
  const span = big.length >= 2 ? big : per;
  if (span.length >= 2) {
    const lo = span[0]!;
    const hi = span[span.length - 1]!;
    const growth = Math.max(hi.rss.backupTreeMb / lo.rss.backupTreeMb, hi.rss.drillTreeMb / lo.rss.drillTreeMb);
    targets.push({
      size: `${lo.dbMb} → ${hi.dbMb} MB`,
      applies: big.length >= 2,
      target: `peak RSS flat (process tree, largest ÷ smallest ≤ ${TARGETS.rssGrowth})`,
      value: growth,
      met: Number.isFinite(growth) ? growth <= TARGETS.rssGrowth : null,
    });
  }
  return { perSize: per, targets };
}

function renderMarkdown(output: {
  machine: Record<string, unknown> & { load1DuringRun: { min: number; median: number; max: number; samples: number } };
  cli: { source: string; sha256prefix: string };
  summary: ReturnType<typeof summarize>;
  sizes: SizeResult[];
  options: { repeats: number };
}): string {
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const x = (r: Ratio) => `${f(r.wall, 2)}× (cpu ${f(r.cpu, 2)}×)`;
  const m = output.machine;
  const load = m.load1DuringRun;
  const lines: string[] = [];
  lines.push(
    `Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memoryGb} GB RAM. **1-minute load during the run: median ${f(load.median, 2)}** (min ${f(load.min, 2)}, max ${f(load.max, 2)}, ${load.samples} samples every 5 s); before: \`${m.uptimeBefore}\`; after: \`${m.uptimeAfter}\`.`,
  );
  lines.push(`CLI: ${output.cli.source} (bundle sha256 ${output.cli.sha256prefix}…: every file of dist/cli). ${m.postgres}; ${m.zstd}.`);
  lines.push('');
  lines.push(
    `Medians of ${output.options.repeats} repeats, interleaved (the order rotated each repeat). Times in seconds. A ratio is the median of the per-repeat ratios; ` +
      "cpu = user+sys of the whole process tree (GNU time) + the PostgreSQL server's (source cluster during backups, throwaway cluster during drills; from /proc, as pg_ctl daemonizes it), on both sides.",
  );
  const odd = output.summary.perSize.filter((p) => p.naiveOddRepeatsOnly).map((p) => `${p.dbMb} MB`);
  if (odd.length) lines.push(`backup/naive took > 3× ours at repeat 1 and ran on odd repeats only at ${odd.join(', ')}.`);
  const once = output.summary.perSize.filter((p) => p.naiveOnce).map((p) => `${p.dbMb} MB`);
  if (once.length) lines.push(`backup/naive took > 4× ours at repeat 1 and ran only then at ${once.join(', ')}: its ratio is that one pair.`);
  lines.push('');
  lines.push('Backup:');
  lines.push('');
  lines.push('| Data (DB + uploads) | ours | bare-best+verify | **ours ÷ b-b+verify** | bare-best | ours ÷ bare-best | naive | naive ÷ ours | our dump |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const p of output.summary.perSize) {
    const v = p.variants;
    lines.push(
      `| ${p.dbMb} MB + ${p.filesMb} MB (${p.files} files) | ${f(v['backup/ours']!.wallSeconds)} | ${f(v['backup/bare-best+verify']!.wallSeconds)} | **${x(p.backup.oursVsBareBestVerify)}** | ${f(v['backup/bare-best']!.wallSeconds)} | ${x(p.backup.oursVsBareBest)} | ${f(v['backup/naive']!.wallSeconds)} | ${x(p.backup.naiveVsOurs)} | ${p.oursDump} |`,
    );
  }
  lines.push('');
  lines.push('Drill:');
  lines.push('');
  lines.push('| Data (DB + uploads) | ours | bare+verify | **ours ÷ bare+verify** | bare | ours ÷ bare |');
  lines.push('|---|---|---|---|---|---|');
  for (const p of output.summary.perSize) {
    const v = p.variants;
    lines.push(
      `| ${p.dbMb} MB + ${p.filesMb} MB | ${f(v['drill/ours']!.wallSeconds)} | ${f(v['drill/bare+verify']!.wallSeconds)} | **${x(p.drill.oursVsBareVerify)}** | ${f(v['drill/bare']!.wallSeconds)} | ${x(p.drill.oursVsBare)} |`,
    );
  }
  lines.push('');
  lines.push(
    "Every variant (peak RSS: summed over the whole process tree without PostgreSQL server processes; PSS: the same with shared pages counted once, sampled every 250 ms; node: our node process's VmHWM):",
  );
  lines.push('');
  lines.push('| Size | Variant | runs | wall median (min–max) | cpu tree + server | peak RSS tree / PSS (node) | load before | busy % |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const p of output.summary.perSize) {
    for (const [name, v] of Object.entries(p.variants)) {
      if (!v.runs) continue;
      lines.push(
        `| ${p.dbMb} MB | ${name} | ${v.runs} | ${f(v.wallSeconds, 2)} (${f(v.wallMin, 2)}–${f(v.wallMax, 2)}) | ${f(v.treeCpuSeconds)} + ${f(v.serverCpuSeconds)} | ${f(v.treePeakRssMb, 0)} / ${f(v.treePeakPssMb, 0)} MB${Number.isFinite(v.nodePeakRssMb) ? ` (${f(v.nodePeakRssMb, 0)} MB)` : ''} | ${f(v.load1Before)} | ${f(v.busyPct, 0)} |`,
      );
    }
  }
  lines.push('');
  for (const p of output.summary.perSize)
    for (const [name, v] of Object.entries(p.variants)) {
      const parts = Object.entries(v.treePeakByName ?? {})
        .filter(([, mb]) => mb >= 1)
        .sort((a, b) => b[1] - a[1]);
      if (v.runs && name.endsWith('/ours') && parts.length)
        lines.push(`- ${p.dbMb} MB, ${name}: the largest tree peak was made of ${parts.map(([n, mb]) => `${n} ${f(mb, 0)}`).join(' + ')} MB`);
    }
  for (const p of output.summary.perSize)
    for (const [name, proof] of Object.entries(p.proofs)) if (proof) lines.push(`- ${p.dbMb} MB, ${name} (last repeat): ${proof}`);
  lines.push('');
  lines.push(`Targets (issue 16), at each size ≥ 1 GB; smaller sizes are shown for information:`);
  lines.push('');
  lines.push('| Size | Target | Value | Met |');
  lines.push('|---|---|---|---|');
  for (const t of output.summary.targets)
    lines.push(
      `| ${t.size} | ${t.target} | ${f(t.value, 2)} | ${!t.applies ? `(${t.met ? 'yes' : 'no'}; < 1 GB)` : t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`,
    );
  lines.push('');
  lines.push(`Disk: ${m.disk as string}.`);
  lines.push('');
  for (const s of output.sizes) {
    if (!Object.keys(s.diagnostics).length) continue;
    lines.push(`Diagnostics at ${(s.database.bytes / MB).toFixed(0)} MB (each piece alone, seconds):`);
    lines.push('');
    for (const [k, v] of Object.entries(s.diagnostics)) lines.push(`- ${k}: ${typeof v === 'number' ? v.toFixed(2) : v}`);
    lines.push('');
  }
  return lines.join('\n') + '\n';
}

main().catch((error) => {
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
