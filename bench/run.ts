// Benchmark, first cut: our backup and drill against the bare tools doing the
// same work, on the same generated data, in one run. See BENCHMARKS.md.
//
//   npm run bench -- [--sizes 250,1000] [--files-ratio 0.5] [--repeats 3] [--cli head|<path>] [--no-diagnose] [--echo] [--out DIR]
//   (--cli: which bundle to measure; default the working tree's dist/cli, or HEAD's committed one when missing)
//
// For each size (database MB; uploads = ratio × that):
//   generate → warm the page cache →
//   backup  × repeats: ours (dist CLI) | bare sequential -Z1 | bare parallel -Z1;  once: bare sequential, pg_dump's default gzip-6
//   drill   × repeats: ours (--jobs 2) | bare: initdb + pg_ctl start (default config) + pg_restore -j2 + count(*) per table
//                                      | bare + the files: sha256sum -c of the parts, tar xf + sha256sum -c of every file
//   diagnostics: each piece of our work alone, to show where the time goes.
// Prints a Markdown table and writes bench/out/results.json (and results.md).
import { execFileSync, spawn } from 'node:child_process';
import { Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateDatabase, generateUploads, serverBinDir, TABLE_NAMES, type DatabaseInfo, type UploadsInfo } from './generate.js';
import { loadavg1, measure, prepareCli, type Measurement } from './measure.js';
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
import type { ChecksumMethod, Manifest } from '../src/archive/manifest.js';
import { MemoryLogger } from '../src/util/logger.js';

const MB = 1_000_000;
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

// ── arguments ───────────────────────────────────────────────────────────────
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const SIZES = (flag('sizes') ?? '250,1000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const FILES_RATIO = Number(flag('files-ratio') ?? 0.5);
const REPEATS = Number(flag('repeats') ?? 3);
const DIAGNOSE = !process.argv.includes('--no-diagnose');
const ECHO = process.argv.includes('--echo');
const COMPRESSION = 1; // our default (constants.ts `compression`)
const JOBS = 2;
const OUT_DIR = resolve(flag('out') ?? join(here, 'out'));

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

// ── bare-tool scripts ───────────────────────────────────────────────────────
const MARK = 'mark() { echo "@$1 $(date +%s.%N)"; }';

function bareBackupSequential(out: string, files: string, z: number | undefined): string {
  const zflag = z === undefined ? '' : `-Z${z}`;
  return `set -euo pipefail
${MARK}
mark start
pg_dump -Fc ${zflag} > ${q(`${out}/database.dump`)}
mark dumped
tar cf ${q(`${out}/files.tar`)} -C ${q(files)} .
mark tarred
sha256sum ${q(`${out}/database.dump`)} ${q(`${out}/files.tar`)} > ${q(`${out}/SHA256SUMS`)}
mark hashed
`;
}

function bareBackupParallel(out: string, files: string, z: number): string {
  return `set -euo pipefail
${MARK}
mark start
( pg_dump -Fc -Z${z} > ${q(`${out}/database.dump`)} && sha256sum ${q(`${out}/database.dump`)} > ${q(`${out}/db.sha256`)} && mark db_done ) & db=$!
( tar cf ${q(`${out}/files.tar`)} -C ${q(files)} . && sha256sum ${q(`${out}/files.tar`)} > ${q(`${out}/files.tar.sha256`)} && mark files_done ) & fl=$!
wait $db
wait $fl
mark done
`;
}

function bareDrill(dir: string, port: number, backupDir: string, withFiles: boolean): string {
  const dump = join(backupDir, 'database.dump');
  const counts = TABLE_NAMES.map((t) => `-c ${q(`SELECT count(*) FROM public.${t}`)}`).join(' ');
  const extract = join(dir, 'files');
  return `set -euo pipefail
${MARK}
mark start
${withFiles ? `(cd ${q(backupDir)} && sha256sum -c --quiet checksums.sha256)\nmark verified` : ''}
${RUN_AS}initdb -D ${q(`${dir}/data`)} -U postgres -A trust -E UTF8 --locale=C.UTF-8 > ${q(`${dir}/initdb.log`)}
mark initdb
${RUN_AS}pg_ctl -D ${q(`${dir}/data`)} -l ${q(`${dir}/server.log`)} -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1" -w start > /dev/null
mark started
${withFiles ? `( mkdir -p ${q(extract)} && tar xf ${q(join(backupDir, 'files.tar'))} -C ${q(extract)} && cd ${q(extract)} && sha256sum -c --quiet ${q(join(backupDir, 'files.sha256'))} && mark files_done ) & fl=$!` : ''}
pg_restore --no-owner --no-acl --exit-on-error -j ${JOBS} -h 127.0.0.1 -p ${port} -U postgres -d postgres ${q(dump)}
mark restored
psql -X -h 127.0.0.1 -p ${port} -U postgres -d postgres -Atq -v ON_ERROR_STOP=1 ${counts} > /dev/null
mark counted
${withFiles ? 'wait $fl\nmark files_waited' : ''}
${RUN_AS}pg_ctl -D ${q(`${dir}/data`)} -m immediate -w stop > /dev/null
rm -rf ${q(`${dir}/data`)} ${q(extract)}
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

// ── the run ─────────────────────────────────────────────────────────────────
interface SizeResult {
  dbMbTarget: number;
  filesMbTarget: number;
  database: Omit<DatabaseInfo, 'url'>;
  uploads: Omit<UploadsInfo, 'path'>;
  backupBytes: Record<string, number>;
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
  const startedAt = new Date();
  const uptimeBefore = sh('uptime', []);
  const psBefore = sh('ps', ['-eo', 'pcpu,etime,comm', '--sort=-pcpu', '--no-headers']).split('\n').slice(0, 8).join('\n');
  const loadSamples: Array<{ t: number; load1: number }> = [];
  const sampler = setInterval(() => void loadavg1().then((l) => loadSamples.push({ t: (Date.now() - startedAt.getTime()) / 1000, load1: l })), 5000);
  sampler.unref();

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

  log(`work dir ${work}; CLI: ${bundle.source} (sha256 ${cliSha}…); sizes ${SIZES.join(', ')} MB; repeats ${REPEATS}`);
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

        // Warm the page cache (and set any remaining hint bits) so the first measured run pays nothing extra.
        const warm = performance.now();
        execFileSync('bash', ['-c', `pg_dump -Fc -Z0 > /dev/null && tar cf - -C ${q(uploadsDir)} . | cat > /dev/null`], { env: pgEnv });
        log(`warm-up read in ${((performance.now() - warm) / 1000).toFixed(1)}s`);

        const measurements: Measurement[] = [];
        const backupBytes: Record<string, number> = {};
        const store = join(sizeDir, 'store');
        const record = (m: Measurement, note = '') => {
          measurements.push(m);
          const rss = m.nodePeakRssMb !== undefined ? `, node peak RSS ${m.nodePeakRssMb.toFixed(0)} MB` : '';
          log(
            `  ${m.name.padEnd(24)} #${m.rep}: ${m.wallSeconds.toFixed(2)}s wall, cpu ${(m.cpuUserSeconds + m.cpuSysSeconds).toFixed(1)}s${rss}; load ${m.load1Before.toFixed(1)}→${m.load1After.toFixed(1)}, machine busy ${m.machineBusyPct.toFixed(0)}%${note}`,
          );
        };

        // ── backups ──
        let lastBackupId = '';
        for (let rep = 1; rep <= REPEATS; rep++) {
          checkAbort();
          const ours = await measure(
            process.execPath,
            [cli, 'backup', '--database-url', db.url, '--files-path', uploadsDir, '--storage', store, '--compression', String(COMPRESSION), '--json'],
            {
              name: 'backup/ours',
              rep,
              env: childEnv,
              pollNode: true,
              timeFile: timeFile(),
              signal: abort.signal,
              echo: ECHO,
              stderrPhases: { source: /^Source:/, complete: /^Backup \S+ complete/ },
            },
          );
          const result = JSON.parse(ours.stdout) as { backupId: string; sizeBytes: number; durationSeconds: number };
          lastBackupId = result.backupId;
          ours.engineSeconds = result.durationSeconds;
          ours.stdout = '';
          backupBytes.ours = result.sizeBytes;
          record(ours, `; stored ${(result.sizeBytes / MB).toFixed(0)} MB`);
          // Keep only the newest backup: the drill uses it.
          for (const id of await readdir(join(store, 'default')))
            if (id !== lastBackupId) await rm(join(store, 'default', id), { recursive: true, force: true });

          for (const variant of ['seq', 'par'] as const) {
            checkAbort();
            const out = join(sizeDir, `bare-${variant}`);
            await mkdir(out, { recursive: true });
            try {
              const script = variant === 'seq' ? bareBackupSequential(out, uploadsDir, COMPRESSION) : bareBackupParallel(out, uploadsDir, COMPRESSION);
              const m = await measure('bash', ['-c', script], {
                name: `backup/bare-${variant}-Z${COMPRESSION}`,
                rep,
                env: pgEnv,
                markers: true,
                timeFile: timeFile(),
                signal: abort.signal,
              });
              backupBytes[`bare-Z${COMPRESSION}`] = await dirBytes(out);
              m.stdout = '';
              record(m);
            } finally {
              await rm(out, { recursive: true, force: true });
            }
          }
        }
        {
          checkAbort();
          const out = join(sizeDir, 'bare-z-default');
          await mkdir(out, { recursive: true });
          try {
            const m = await measure('bash', ['-c', bareBackupSequential(out, uploadsDir, undefined)], {
              name: 'backup/bare-seq-Zdefault',
              rep: 1,
              env: pgEnv,
              markers: true,
              timeFile: timeFile(),
              signal: abort.signal,
            });
            backupBytes['bare-Zdefault'] = await dirBytes(out);
            m.stdout = '';
            record(m);
          } finally {
            await rm(out, { recursive: true, force: true });
          }
        }

        // ── drills ──
        const backupDir = join(store, 'default', lastBackupId);
        for (let rep = 1; rep <= REPEATS; rep++) {
          checkAbort();
          const reportDir = join(sizeDir, 'reports');
          const ours = await measure(
            process.execPath,
            [cli, 'drill', '--storage', store, '--jobs', String(JOBS), '--report-dir', reportDir, '--json', '--verbose'],
            {
              name: 'drill/ours',
              rep,
              env: childEnv,
              pollNode: true,
              timeFile: timeFile(),
              signal: abort.signal,
              echo: ECHO,
              stderrPhases: { resolved: /backup resolved after/, started: /target ready after/, reported: /^Drill (passed|failed)/ },
            },
          );
          const report = JSON.parse(ours.stdout) as { status: string; timings: Record<string, number>; totals: { tables: number; rows: number } };
          if (report.status !== 'passed') throw new Error(`our drill did not pass: ${ours.stdout.slice(0, 2000)}`);
          ours.engineTimings = report.timings;
          ours.stdout = '';
          record(
            ours,
            `; engine: verify ${report.timings.downloadSeconds!.toFixed(1)}s, restore ${report.timings.restoreSeconds!.toFixed(1)}s, compare ${report.timings.verifySeconds!.toFixed(1)}s, total ${report.timings.totalSeconds!.toFixed(1)}s`,
          );
          const leftovers = await readdir(join(childTmp, 'backup-drill-clusters')).catch(() => []);
          if (leftovers.length) log(`  warning: our drill left ${leftovers.join(', ')} behind`);

          for (const withFiles of [false, true]) {
            checkAbort();
            const dir = join(sizeDir, `bare-drill-${withFiles ? 'files' : 'db'}`);
            await mkdir(dir, { recursive: true });
            if (AS_ROOT) {
              const { uid, gid } = postgresIds();
              await chown(dir, uid, gid);
            }
            try {
              const m = await measure('bash', ['-c', bareDrill(dir, await freePort(), backupDir, withFiles)], {
                name: withFiles ? 'drill/bare+files' : 'drill/bare',
                rep,
                markers: true,
                timeFile: timeFile(),
                signal: abort.signal,
              });
              m.stdout = '';
              const p = m.phases;
              record(m, `; restore ${(p.restored! - p.started!).toFixed(1)}s, count ${(p.counted! - p.restored!).toFixed(1)}s`);
            } finally {
              await removeBareCluster(dir);
            }
          }
        }

        // ── diagnostics: each piece of our work alone ──
        const diagnostics: Record<string, number | string> = {};
        if (DIAGNOSE) {
          checkAbort();
          log('  diagnostics …');
          // A failed diagnostic is recorded, not fatal: the measurements above are kept.
          await diagnoseBackup(cli, binDir, db.url, pgEnv, uploadsDir, diagnostics, sizeDir).catch(
            (e) => void (diagnostics['backup diagnostics failed'] = String(e)),
          );
          checkAbort();
          await diagnoseDrill(store, lastBackupId, binDir, clustersDir, sizeDir, diagnostics).catch(
            (e) => void (diagnostics['drill diagnostics failed'] = String(e)),
          );
          for (const [k, v] of Object.entries(diagnostics)) log(`    ${k}: ${typeof v === 'number' ? v.toFixed(2) : v}`);
        }

        const { url: _url, ...dbInfo } = db;
        const { path: _path, ...upInfo } = up;
        results.push({ dbMbTarget: dbMb, filesMbTarget: filesMb, database: dbInfo, uploads: upInfo, backupBytes, measurements, diagnostics });
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
    await cleanupStaleClusters(undefined, join(childTmp, 'backup-drill-clusters')).catch(() => undefined);
    await cleanupStaleClusters(undefined, clustersDir).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
  const uptimeAfter = sh('uptime', []);
  log(`after: ${uptimeAfter}`);

  const summary = summarize(results);
  const machine = {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: +(totalmem() / 1e9).toFixed(1),
    freeMemoryGbAtStart: +(freemem() / 1e9).toFixed(1),
    kernel: sh('uname', ['-r']),
    node: process.version,
    postgres: sh(join(binDir, 'postgres'), ['--version']),
    pgDump: sh('pg_dump', ['--version']),
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
  };
  const output = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: { sizes: SIZES, filesRatio: FILES_RATIO, repeats: REPEATS, compression: COMPRESSION, jobs: JOBS },
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

/** Backup pieces: table stats alone; pg_dump alone; both at once (as the engine runs them); the files tar + hashing alone. */
async function diagnoseBackup(
  cli: string,
  binDir: string,
  url: string,
  pgEnv: NodeJS.ProcessEnv,
  uploadsDir: string,
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
  const dumpOnce = () =>
    timed(
      () =>
        new Promise<void>((res, rej) => {
          try {
            execFileSync('bash', ['-c', `pg_dump -Fc -Z${COMPRESSION} > ${q(join(sizeDir, 'diag.dump'))}`], { env: pgEnv, stdio: 'ignore' });
            res();
          } catch (e) {
            rej(e);
          }
        }),
    );
  // Fixed costs before any data moves: node loading the CLI bundle, and finding pg_dump (runs `--version` on every candidate).
  d['fixed: CLI start-up (node + bundle, `--help`), s'] = (
    await timed(async () => void execFileSync(process.execPath, [cli, '--help'], { stdio: 'ignore' }))
  )[1];
  d['fixed: findBinDir(pg_dump), s'] = (await timed(() => findBinDir({ tools: ['pg_dump'], wanted: 10, purpose: 'bench' })))[1];
  d['backup: stats (count + row hash, 2 connections) alone, s'] = (await timed(statsOnce))[1];
  {
    const clients = [await connect(url), await connect(url)];
    try {
      const [sums, seconds] = await timed(() => statsVariant(clients, 'record'));
      d['backup: stats with hash_record_extended (no text form), 2 connections, alone, s'] = seconds;
      sourceRecordChecksums = sums;
    } finally {
      for (const c of clients) await c.end().catch(() => undefined);
    }
  }
  d['backup: pg_dump -Z1 to a file alone, s'] = (await dumpOnce())[1];
  // Both at once, as the engine runs them. pg_dump runs in a child so the event loop serves the stats queries.
  const t = performance.now();
  const dumpDone = new Promise<number>((res, rej) => {
    const c = spawn('bash', ['-c', `pg_dump -Fc -Z${COMPRESSION} > ${q(join(sizeDir, 'diag.dump'))}`], { env: pgEnv, stdio: 'ignore' });
    c.on('close', (code) => (code === 0 ? res((performance.now() - t) / 1000) : rej(new Error(`pg_dump exit ${code}`))));
  });
  const statsDone = statsOnce().then(() => (performance.now() - t) / 1000);
  const [dumpS, statsS] = await Promise.all([dumpDone, statsDone]);
  d['backup: pg_dump -Z1 while stats run, s'] = dumpS;
  d['backup: stats while pg_dump runs, s'] = statsS;
  await rm(join(sizeDir, 'diag.dump'), { force: true });

  // pg_dump writes its stdout in 4 KiB pieces, so our part writer handles ~7 KB chunks. The same
  // dump through the engine's writePart (SHA-256 + local file), as is and with pg_dump's stdout buffer at 1 MiB.
  const storage = new LocalStorage(join(sizeDir, 'diag-store'));
  for (const [label, cmd, pre] of [
    ['as is', join(binDir, 'pg_dump'), []],
    ['stdbuf -o 1M', 'stdbuf', ['-o', '1M', join(binDir, 'pg_dump')]],
  ] as const) {
    let chunks = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const child = spawn(cmd, [...pre, '--format=custom', `--compress=${COMPRESSION}`], { env: pgEnv, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<number | null>((res) => child.on('close', res));
    const counted = child.stdout!.pipe(
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          chunks++;
          cb(null, chunk);
        },
      }),
    );
    await writePart({ storage, prefix: 'diag' }, label === 'as is' ? 'dump-a' : 'dump-b', 'database', counted);
    if ((await exited) !== 0) throw new Error(`${cmd} failed`);
    const cpu = process.cpuUsage(cpu0);
    d[`backup: pg_dump → engine part writer (${label}): wall s`] = (performance.now() - t0) / 1000;
    d[`backup: pg_dump → engine part writer (${label}): node CPU s`] = (cpu.user + cpu.system) / 1e6;
    d[`backup: pg_dump → engine part writer (${label}): chunks`] = chunks;
  }
  await rm(join(sizeDir, 'diag-store'), { recursive: true, force: true });

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
  d['backup: our files tar + hashes alone (in-process), s'] = packS;
  d['backup: our files tar + hashes alone, CPU s'] = (cpu.user + cpu.system) / 1e6;
}

/** The engine's per-table stats query with either row hash (the engine picks one per table, src/postgres/stats.ts). */
function statsQuery(table: string, hash: ChecksumMethod): string {
  const h = ROW_HASH[hash];
  return `SELECT count(*)::text AS rows, coalesce(sum(${h}::numeric), 0)::text AS checksum FROM ONLY public.${table} AS bd_row_`;
}

/** Runs statsQuery over every bench table, spread over the clients. */
async function statsVariant(clients: Awaited<ReturnType<typeof connect>>[], hash: ChecksumMethod): Promise<Record<string, string>> {
  const queue = [...TABLE_NAMES];
  const result: Record<string, string> = {};
  await Promise.all(
    clients.map(async (c) => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const { rows } = await c.query<{ rows: string; checksum: string }>(statsQuery(t, hash));
        result[t] = `${rows[0]!.rows}:${rows[0]!.checksum}`;
      }
    }),
  );
  return result;
}

/** hash_record_extended checksums of the source, to compare with the restored copy's. */
let sourceRecordChecksums: Record<string, string> | undefined;

/** Drill pieces: dump digest check, tuned cluster start, pg_restore -j2 into it, count(*), count + row hash, files extract + hash. */
async function diagnoseDrill(
  store: string,
  id: string,
  binDir: string,
  clustersDir: string,
  sizeDir: string,
  d: Record<string, number | string>,
): Promise<void> {
  const storage = new LocalStorage(store);
  const prefix = `default/${id}`;
  const manifest = JSON.parse(await readFile(join(store, prefix, 'manifest.json'), 'utf8')) as Manifest;
  const part = (name: string) => manifest.parts.find((p) => p.name === name)!;
  d['drill: verify database.dump SHA-256, s'] = (await timed(() => verifyPart(storage, prefix, part('database.dump'))))[1];

  const dest = join(sizeDir, 'diag-files');
  await mkdir(dest, { recursive: true });
  try {
    d['drill: files extract + per-file SHA-256 (in-process), s'] = (
      await timed(async () => extractFiles(await openPart(storage, prefix, part('files.tar'), storedBytes), dest))
    )[1];
  } finally {
    await rm(dest, { recursive: true, force: true });
  }

  let cluster: EphemeralCluster | undefined;
  try {
    const [started, startSeconds] = await timed(() => EphemeralCluster.start({ binDir, parentDir: clustersDir, tuneForRestore: true }));
    cluster = started;
    d['drill: tuned cluster initdb + start, s'] = startSeconds;
    const target = cluster.url('postgres');
    d['drill: pg_restore -j2 into the tuned cluster, s'] = (
      await timed(() => runPgRestore({ binDir, databaseUrl: target, file: join(store, prefix, 'database.dump'), jobs: JOBS }))
    )[1];
    const clients = [await connect(target), await connect(target)];
    try {
      // The methods the engine picks (the manifest records the same ones).
      const tables = await chooseChecksumMethods(clients[0]!, await listTables(clients[0]!), (await serverInfo(clients[0]!)).versionNum);
      // First pass after the restore, as the drill's compare runs it (this pass also sets hint bits, TOAST included).
      d['drill: count + row hash, 2 connections, first pass after restore, s'] = (await timed(() => collectStats(clients, tables)))[1];
      d['drill: count(*) per table, 1 connection, s'] = (
        await timed(async () => {
          for (const t of TABLE_NAMES) await clients[0]!.query(`SELECT count(*) FROM public.${t}`);
        })
      )[1];
      d['drill: count + row hash, 2 connections, second pass, s'] = (await timed(() => collectStats(clients, tables)))[1];
      d['drill: count + row hash, 1 connection, second pass, s'] = (await timed(() => collectStats([clients[0]!], tables)))[1];
      for (const t of TABLE_NAMES) d[`drill: count + text row hash of ${t} alone, s`] = (await timed(() => clients[0]!.query(statsQuery(t, 'text'))))[1];
      const [sums, seconds] = await timed(() => statsVariant(clients, 'record'));
      d['drill: count + hash_record_extended (no text form), 2 connections, s'] = seconds;
      if (sourceRecordChecksums) {
        const same = TABLE_NAMES.every((t) => sums[t] === sourceRecordChecksums![t]);
        d["drill: hash_record_extended checksums of every table equal the source's"] = same
          ? 'yes'
          : `NO: ${JSON.stringify({ source: sourceRecordChecksums, restored: sums })}`;
      }
    } finally {
      for (const c of clients) await c.end().catch(() => undefined);
    }
    // Where pg_restore's time goes: the same dump restored section by section into a second database.
    const admin = await connect(target);
    await admin.query('CREATE DATABASE split');
    await admin.end();
    const split = cluster.url('split');
    const file = join(store, prefix, 'database.dump');
    d['drill: pg_restore --section=pre-data, s'] = (
      await timed(() => runPgRestore({ binDir, databaseUrl: split, file, extraArgs: ['--section=pre-data'] }))
    )[1];
    d['drill: pg_restore --section=data -j2, s'] = (
      await timed(() => runPgRestore({ binDir, databaseUrl: split, file, jobs: JOBS, extraArgs: ['--section=data'] }))
    )[1];
    d['drill: pg_restore --section=post-data -j2 (indexes, constraints), s'] = (
      await timed(() => runPgRestore({ binDir, databaseUrl: split, file, jobs: JOBS, extraArgs: ['--section=post-data'] }))
    )[1];
  } finally {
    if (cluster) d['drill: tuned cluster stop + remove, s'] = (await timed(() => cluster!.stop()))[1];
  }
}

// ── summary and report ──────────────────────────────────────────────────────
const TARGETS = { backupRatio: 1.15, drillRatio: 1.0, rssMb: 200, rssGrowth: 1.25 };

function summarize(results: SizeResult[]) {
  const per = results.map((r) => {
    const wall = (name: string) => median(r.measurements.filter((m) => m.name === name).map((m) => m.wallSeconds));
    const rss = (name: string) => Math.max(...r.measurements.filter((m) => m.name === name).map((m) => m.nodePeakRssMb ?? NaN));
    const ours = wall('backup/ours');
    const drill = wall('drill/ours');
    return {
      dbMb: +(r.database.bytes / MB).toFixed(0),
      filesMb: +(r.uploads.bytes / MB).toFixed(0),
      files: r.uploads.files,
      backup: {
        oursSeconds: ours,
        bareSeqZ1Seconds: wall(`backup/bare-seq-Z${COMPRESSION}`),
        bareParZ1Seconds: wall(`backup/bare-par-Z${COMPRESSION}`),
        bareSeqZdefaultSeconds: wall('backup/bare-seq-Zdefault'),
        ratioVsSeqZ1: ours / wall(`backup/bare-seq-Z${COMPRESSION}`),
        ratioVsParZ1: ours / wall(`backup/bare-par-Z${COMPRESSION}`),
        ratioVsSeqZdefault: ours / wall('backup/bare-seq-Zdefault'),
        peakRssMb: rss('backup/ours'),
        bytes: r.backupBytes,
      },
      drill: {
        oursSeconds: drill,
        bareSeconds: wall('drill/bare'),
        barePlusFilesSeconds: wall('drill/bare+files'),
        ratioVsBare: drill / wall('drill/bare'),
        ratioVsBarePlusFiles: drill / wall('drill/bare+files'),
        peakRssMb: rss('drill/ours'),
      },
    };
  });
  const largest = per[per.length - 1];
  const smallest = per[0];
  const maxRss = Math.max(...per.flatMap((p) => [p.backup.peakRssMb, p.drill.peakRssMb]));
  const growth =
    largest && smallest && per.length > 1
      ? Math.max(largest.backup.peakRssMb / smallest.backup.peakRssMb, largest.drill.peakRssMb / smallest.drill.peakRssMb)
      : NaN;
  return {
    perSize: per,
    targets: {
      backup: {
        target: `≤ ${TARGETS.backupRatio}× bare (sequential, same compression), at the largest size`,
        value: largest?.backup.ratioVsSeqZ1,
        met: (largest?.backup.ratioVsSeqZ1 ?? Infinity) <= TARGETS.backupRatio,
      },
      drill: {
        target: `≤ ${TARGETS.drillRatio}× bare (initdb + start + pg_restore -j2 + count(*)), at the largest size`,
        value: largest?.drill.ratioVsBare,
        met: (largest?.drill.ratioVsBare ?? Infinity) <= TARGETS.drillRatio,
      },
      rss: { target: `peak RSS < ${TARGETS.rssMb} MB`, value: maxRss, met: maxRss < TARGETS.rssMb },
      rssFlat: {
        target: `peak RSS at the largest size ≤ ${TARGETS.rssGrowth}× the smallest`,
        value: growth,
        met: Number.isFinite(growth) ? growth <= TARGETS.rssGrowth : null,
      },
    },
  };
}

function renderMarkdown(output: {
  machine: Record<string, unknown>;
  summary: ReturnType<typeof summarize>;
  sizes: SizeResult[];
  options: Record<string, unknown>;
}): string {
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const lines: string[] = [];
  lines.push(
    `Machine: ${output.machine.nproc} CPUs (${output.machine.cpu}), ${output.machine.memoryGb} GB RAM; load before: \`${output.machine.uptimeBefore}\`; after: \`${output.machine.uptimeAfter}\`.`,
  );
  lines.push('');
  lines.push(`Median of ${output.options.repeats} runs (bare -Z default: 1 run). Times in seconds; ratio = ours ÷ bare.`);
  lines.push('');
  lines.push(
    '| Data (DB + uploads) | Backup: ours | bare seq -Z1 | ratio | bare par -Z1 | ratio | bare seq -Z6 (default) | ratio | Drill: ours | bare | ratio | bare + files | ratio | Peak RSS backup / drill |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const p of output.summary.perSize) {
    const b = p.backup;
    const d = p.drill;
    lines.push(
      `| ${p.dbMb} MB + ${p.filesMb} MB (${p.files} files) | ${f(b.oursSeconds)} | ${f(b.bareSeqZ1Seconds)} | **${f(b.ratioVsSeqZ1, 2)}×** | ${f(b.bareParZ1Seconds)} | ${f(b.ratioVsParZ1, 2)}× | ${f(b.bareSeqZdefaultSeconds)} | ${f(b.ratioVsSeqZdefault, 2)}× | ${f(d.oursSeconds)} | ${f(d.bareSeconds)} | **${f(d.ratioVsBare, 2)}×** | ${f(d.barePlusFilesSeconds)} | ${f(d.ratioVsBarePlusFiles, 2)}× | ${f(b.peakRssMb, 0)} / ${f(d.peakRssMb, 0)} MB |`,
    );
  }
  lines.push('');
  lines.push('| Target | Value | Met |');
  lines.push('|---|---|---|');
  for (const t of Object.values(output.summary.targets))
    lines.push(`| ${t.target} | ${f(t.value as number, 2)} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
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
