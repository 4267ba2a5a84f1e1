// restore-drill: prove that a backup restores. Fetch the latest complete
// backup, verify every part's digest while streaming, restore it into a
// throwaway PostgreSQL of the source's major version, compare every table and
// file with the manifest, run the user's checks, check freshness, report.
// A check that could not run is reported as such, never as a pass.
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';
import { EnvironmentError, StorageError, describeError, isStorageOutage } from '../errors.js';
import { environmentProblem } from '../util/fs-errors.js';
import { parseChecksums } from '../archive/checksums.js';
import { compareFiles, extractFiles } from '../archive/files-verify.js';
import { partByRole, type Manifest } from '../archive/manifest.js';
import { unsealingFor } from '../archive/seal.js';
import { makeDecryptor, openContent, openPart, readPartText, stageContent, verifyPart, type Decryptor } from '../archive/open-part.js';
import { BACKUP_PARTS } from '../constants.js';
import { loadChecksFile, type ChecksFile } from '../checks/checks-file.js';
import { runChecks } from '../checks/run-checks.js';
import { installedOnly, restoreTools } from '../toolchain/index.js';
import { missingExtensions, objectDifferences, rehearsalResult, restoreErrors, tableDifferences } from '../rehearse/differences.js';
import type { RehearsalDifference, RehearsalResult } from '../rehearse/types.js';
import { EphemeralCluster, cleanupStaleClusters } from '../postgres/cluster.js';
import { connect, ident, serverInfo } from '../postgres/connect.js';
import { runPgRestore, runPsqlScript } from '../postgres/restore.js';
import { compareTables } from '../postgres/compare.js';
import { rolesToCreate } from '../postgres/roles.js';
import { objectsVerification } from '../postgres/objects/index.js';
import { writeReports } from '../report/write.js';
import { reportTotals } from '../report/totals.js';
import type { CheckResult, DrillReport, FilesResult, ObjectResult, TableResult } from '../report/types.js';
import { listedParts, resolveBackup, type CatalogEntry, type StoredIndex, type Unseal } from '../storage/catalog.js';
import { guardDrilledBackup, type DrillTrend } from '../history/guard.js';
import { writeAcceptedMarker } from '../history/markers.js';
import { openStorage } from '../storage/registry.js';
import type { Storage } from '../storage/port.js';
import type { Logger } from '../util/logger.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { Progress, phase } from '../util/progress.js';
import { runTempRoot } from '../util/temp-root.js';
import type { ModeDeps } from './backup.js';
import { lockHolder, withSharedLock } from './prune.js';
import { recordMarker, verifyOtherParts } from './verify.js';

export interface CleanupItem {
  kind: 'cluster' | 'dir';
  path: string;
}

export interface DrillDeps extends ModeDeps {
  /** Told about every cluster/dir to remove, so the action's post step can clean up after a crash or cancel. */
  onCleanup?: (item: CleanupItem) => void;
  /** Test seam: runs on the restored copy after pg_restore, before anything is compared. */
  afterRestore?: (url: string) => Promise<void>;
}

export interface DrillResult {
  report: DrillReport;
  jsonPath: string;
  junitPath: string;
  /** Set with keep-database: the restored database, still running. */
  databaseUrl?: string;
}

/** Where the restored database lives for the drill: a throwaway cluster or a fresh database on a given server. */
interface DrillTarget {
  url: string;
  serverVersion: string;
  dispose(): Promise<void>;
  /** Leaves the target running on purpose (keep-database), so later drills do not remove it. */
  keep?(): Promise<void>;
}

async function throwawayTarget(config: Config, manifest: Manifest, deps: DrillDeps, rehearsal?: number): Promise<DrillTarget> {
  const wanted = rehearsal ?? config.postgresVersion ?? manifest.source.major;
  const bins = await (deps.toolchain ?? installedOnly(deps.logger)).find({
    kind: 'server',
    major: wanted,
    allowNewer: rehearsal === undefined, // a newer server restores an older backup; a rehearsal is of exactly its major
    preferDir: rehearsal === undefined ? config.postgresBinDir : undefined,
    purpose:
      rehearsal === undefined
        ? `a throwaway server to restore a PostgreSQL ${manifest.source.serverVersion} backup`
        : `an upgrade rehearsal on PostgreSQL ${rehearsal}`,
  });
  deps.logger.info(`Starting a throwaway PostgreSQL ${bins.version} (${bins.dir})`);
  const cluster = await EphemeralCluster.start({ binDir: bins.dir, tuneForRestore: true, logger: deps.logger }).catch((error: unknown) => {
    // initdb or the server failing here is this machine's problem (disk, memory, permissions), not the backup's.
    throw (
      environmentProblem(error, runTempRoot(), 'start the throwaway PostgreSQL server') ??
      new EnvironmentError(`The drill could not run here: the throwaway PostgreSQL server could not be created: ${describeError(error)}`, {
        path: runTempRoot(),
        hint: 'Check free space and permissions of the temp folder (TMPDIR), or give drill-database-url (e.g. a postgres service container).',
        cause: error,
      })
    );
  });
  deps.onCleanup?.({ kind: 'cluster', path: cluster.root });
  return { url: cluster.url('postgres'), serverVersion: bins.version, dispose: () => cluster.stop(), keep: () => cluster.markKept() };
}

async function serverTarget(url: string, id: string, deps: DrillDeps): Promise<DrillTarget> {
  const admin = await connect(url, { inputName: 'drill-database-url' });
  // A random suffix: two drills of the same backup on one server (parallel jobs) must not collide.
  const database = `bd_drill_${id.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
  try {
    const info = await serverInfo(admin);
    await admin.query(`CREATE DATABASE ${ident(database)}`);
    deps.logger.info(`Restoring into a fresh database ${database} on the given server (PostgreSQL ${info.version})`);
    const u = new URL(url);
    u.pathname = `/${database}`;
    return {
      url: u.toString(),
      serverVersion: info.version,
      dispose: async () => {
        const c = await connect(url, { inputName: 'drill-database-url' });
        try {
          if (info.versionNum >= 130000) {
            await c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
          } else {
            // Before PostgreSQL 13 there is no WITH (FORCE): end the sessions (keep-database users) first.
            await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
            await c.query(`DROP DATABASE IF EXISTS ${ident(database)}`);
          }
        } finally {
          await c.end();
        }
      },
    };
  } finally {
    await admin.end();
  }
}

/**
 * Creates the roles captured at backup time (roles.sql, safe attributes only, no passwords) in a
 * throwaway server, so that objects naming them (row-level security policies, `GRANT … TO`) restore
 * as they would on the real server. A missing or unreadable roles part only warns: the part
 * check reports damage, and what then fails to restore fails by name.
 */
async function createCapturedRoles(storage: Storage, prefix: string, manifest: Manifest, url: string, decrypt: Decryptor, logger: Logger): Promise<void> {
  const part = partByRole(manifest, 'roles');
  if (!part) return;
  let roles: { sql: string; roles: string[] };
  try {
    roles = rolesToCreate(await readPartText(storage, prefix, part, decrypt));
  } catch (error) {
    logger.warn(`The backup's roles could not be read, so none were created in the throwaway server: ${describeError(error)}`);
    return;
  }
  if (!roles.roles.length) return;
  const client = await connect(url);
  try {
    await client.query(roles.sql);
    logger.info(`Created the backup's ${roles.roles.length} role(s) in the throwaway server (no passwords).`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Where pg_restore reads the dump: a seekable file (parallel jobs) or, without one, a stream. */
interface DumpSource {
  file?: string;
  /** For a file read in place: the digest check running beside pg_restore. */
  verifying?: Promise<void>;
  /** Bytes of an uncompressed (decrypted) copy staged in the drill's temp folder. */
  stagedBytes?: number;
  fetchSeconds: number;
}

interface DumpFetch {
  source: Promise<DumpSource>;
  progress: Progress;
  /** Stops a staging download (the drill failed before it needed the dump). */
  stop(): void;
}

/**
 * Starts getting the dump ready for pg_restore; the drill starts it before its throwaway server,
 * so the download overlaps the server's start. pg_restore --jobs needs a seekable file: a local,
 * clear, uncompressed dump is read in place; any other (S3, encrypted, zstd) is staged decompressed
 * in the temp folder when jobs > 1 (or for redaction's sections), and streamed with one job otherwise.
 */
function fetchDump(storage: Storage, prefix: string, manifest: Manifest, config: Config, logger: Logger, decrypt: Decryptor, workDir: string): DumpFetch {
  const dump = partByRole(manifest, 'database')!;
  const redacted = partByRole(manifest, 'redacted-data');
  const progress = new Progress('database', logger, {
    totalBytes: dump.bytes,
    whenAllRead: 'all read; pg_restore is building indexes and constraints',
  }).start();
  const stopping = new AbortController();
  const t0 = performance.now();
  const fetchSeconds = () => (performance.now() - t0) / 1000;
  const source = (async (): Promise<DumpSource> => {
    const inPlace = !dump.encrypted && !dump.compression ? storage.localPath?.(`${prefix}/${dump.name}`) : undefined;
    if (inPlace) {
      // A throwaway target may see unverified bytes; a mismatch still fails the drill (manual restores verify first).
      const verifying = verifyPart(storage, prefix, dump, (n) => progress.add(n));
      verifying.catch(() => undefined);
      return { file: inPlace, verifying, fetchSeconds: 0 };
    }
    if (config.jobs <= 1 && !redacted) return { fetchSeconds: 0 };
    const file = join(workDir, BACKUP_PARTS.database);
    await stageContent(storage, prefix, dump, decrypt, file, (n) => progress.add(n), stopping.signal);
    return { file, stagedBytes: (await stat(file)).size, fetchSeconds: fetchSeconds() };
  })();
  source.catch(() => undefined); // awaited by the restore; a drill that fails before it stops it
  return { source, progress, stop: () => stopping.abort(new Error('the drill stopped before the restore')) };
}

async function restoreDatabase(
  storage: Storage,
  prefix: string,
  manifest: Manifest,
  targetUrl: string,
  config: Config,
  deps: DrillDeps,
  decrypt: Decryptor,
  workDir: string,
  signal?: AbortSignal,
  keepGoing = false,
  fetched: DumpFetch = fetchDump(storage, prefix, manifest, config, deps.logger, decrypt, workDir),
): Promise<{ downloadSeconds: number; restoreSeconds: number; stderr: string; stagedBytes?: number }> {
  const { logger } = deps;
  const dump = partByRole(manifest, 'database')!;
  const redacted = partByRole(manifest, 'redacted-data');
  const { progress } = fetched;
  try {
    const tools = await restoreTools(manifest, config.postgresBinDir, deps.toolchain ?? installedOnly(logger));
    const source = await fetched.source;
    const t1 = performance.now();
    const local = source.file;
    const errors: string[] = [];
    const restore = async (options: Omit<Parameters<typeof runPgRestore>[0], 'keepGoing' | 'signal'>) => {
      errors.push((await runPgRestore({ ...options, keepGoing, signal })).stderr);
    };
    try {
      if (local && redacted) {
        await restore({
          binDir: tools.dir,
          databaseUrl: targetUrl,
          file: local,
          jobs: config.jobs,
          extraArgs: ['--section=pre-data', '--section=data'],
        });
        await runPsqlScript({ binDir: tools.dir, databaseUrl: targetUrl, input: await openPart(storage, prefix, redacted, decrypt) });
        await restore({ binDir: tools.dir, databaseUrl: targetUrl, file: local, jobs: config.jobs, extraArgs: ['--section=post-data'] });
      } else if (local) {
        await restore({ binDir: tools.dir, databaseUrl: targetUrl, file: local, jobs: config.jobs });
      } else {
        // One job: stream into pg_restore while verifying; a mismatch fails the restore at the end of the stream.
        await restore({
          binDir: tools.dir,
          databaseUrl: targetUrl,
          input: await openContent(storage, prefix, dump, decrypt, (n) => progress.add(n)),
        });
      }
    } catch (error) {
      // A corrupted dump usually breaks pg_restore first: report the digest mismatch, the real cause, when there is one.
      if (source.verifying) await source.verifying;
      throw error;
    }
    await source.verifying;
    return {
      downloadSeconds: source.fetchSeconds,
      restoreSeconds: (performance.now() - t1) / 1000,
      stderr: errors.join('\n'),
      ...(source.stagedBytes !== undefined ? { stagedBytes: source.stagedBytes } : {}),
    };
  } finally {
    progress.stop();
  }
}

function rehearsalLine(r: RehearsalResult): string {
  if (r.status === 'not-run') return `upgrade rehearsal on PostgreSQL ${r.major || 'latest'} did not run: ${r.differences[0]?.message ?? ''}`;
  const explained = r.differences.length - r.unexplained;
  if (r.status === 'passed') return `upgrade rehearsal: the backup restores on PostgreSQL ${r.serverVersion} with no differences`;
  return `upgrade rehearsal on PostgreSQL ${r.serverVersion}: ${r.unexplained} unexplained difference(s)${explained ? `, ${explained} explained by the major change` : ''}: ${r.differences
    .filter((d) => !d.explainedBy)
    .slice(0, 3)
    .map((d) => `${d.object}: ${d.message.length > 160 ? `${d.message.slice(0, 159)}…` : d.message}`)
    .join('; ')}`;
}

async function verifyFiles(storage: Storage, prefix: string, manifest: Manifest, workDir: string, decrypt: Decryptor): Promise<FilesResult> {
  const tar = partByRole(manifest, 'files');
  const listPart = partByRole(manifest, 'file-list');
  if (!manifest.files || !tar || !listPart) {
    return { status: 'skipped', expectedCount: 0, restoredCount: 0, expectedBytes: 0, restoredBytes: 0, problems: [] };
  }
  // The list is small next to the files; read it whole (verified).
  const list = parseChecksums(await readPartText(storage, prefix, listPart, decrypt));
  const dest = join(workDir, 'files');
  await mkdir(dest, { recursive: true });
  const { files, problems } = await extractFiles(await openPart(storage, prefix, tar, decrypt), dest);
  return compareFiles(files, list, manifest.files, problems);
}

function freshnessCheck(config: Config, newestFinishedAt: Date, now: Date): CheckResult | undefined {
  if (config.maxAgeSeconds === undefined) return undefined;
  const age = (now.getTime() - newestFinishedAt.getTime()) / 1000;
  const ok = age <= config.maxAgeSeconds;
  return {
    name: 'freshness',
    kind: 'freshness',
    status: ok ? 'passed' : 'failed',
    message: `newest complete backup is ${formatDuration(age)} old (max-age ${formatDuration(config.maxAgeSeconds)})${ok ? '' : ': backups have stopped or are failing'}`,
    durationMs: 0,
  };
}

/** The trend guard's check for the drilled backup: failed (suspect) unless accepted. Never fails the drill by itself erroring. */
async function drillTrend(
  storage: Storage,
  config: Config,
  entry: CatalogEntry,
  manifest: Manifest,
  stored: StoredIndex,
  unseal: Unseal | undefined,
  logger: Logger,
): Promise<{ trend: NonNullable<DrillReport['trend']>; check: CheckResult; failure?: string } | undefined> {
  if (config.trend.maxShrink === undefined && config.trend.maxGrowth === undefined) return undefined;
  let trend: DrillTrend;
  try {
    const sizeBytes = listedParts(stored).reduce((sum, p) => sum + p.bytes, 0);
    trend = await guardDrilledBackup(storage, config, entry, manifest, sizeBytes, unseal);
  } catch (error) {
    logger.warn(`The trend guard could not run: ${describeError(error)}`);
    return undefined;
  }
  for (const delta of trend.deltas) logger.info(`Trend: ${delta}`);
  const suspect = trend.verdict === 'suspect';
  const message = suspect
    ? `${trend.accepted ? 'accepted shrink: ' : 'SUSPECT: '}${trend.reasons.join('; ')}`
    : trend.baseline.length
      ? trend.deltas.join('; ')
      : 'no previous good backup to compare with';
  const check: CheckResult = { name: 'trend', kind: 'trend', status: suspect && !trend.accepted ? 'failed' : 'passed', message, durationMs: 0 };
  const failure =
    suspect && !trend.accepted
      ? `trend: backup ${entry.id} is suspect: ${trend.reasons.join('; ')}. If the drop was deliberate, run 'backup-drill accept ${entry.id}' or drill with accept-shrink.`
      : undefined;
  return { trend, check, ...(failure ? { failure } : {}) };
}

/** A drill that failed only on the trend guard is its own outcome (exit 11), not "drill failed". */
export function isSuspectOnly(report: DrillReport): boolean {
  return report.status === 'failed' && report.failures.length > 0 && report.failures.every((f) => f.startsWith('trend: '));
}

/** The rehearsal's major: the one asked for, or for `latest` the newest whose server binaries can be had. */
async function rehearsalMajor(config: Config, deps: DrillDeps): Promise<number | undefined> {
  if (typeof config.rehearseMajor === 'number') return config.rehearseMajor;
  const chain = deps.toolchain ?? installedOnly(deps.logger);
  for (const major of await chain.serverMajors()) {
    const found = await chain.find({ kind: 'server', major, allowNewer: false, purpose: 'an upgrade rehearsal' }).catch(() => undefined);
    if (found) return major;
  }
  return undefined;
}

/**
 * Upgrade rehearsal: the same backup restored a second time, into a throwaway server of the
 * rehearsed major, with pg_restore going on past errors so that every one is listed; then the
 * same table and object comparisons as the drill. Every difference is reported; the documented
 * table in src/rehearse/explained.ts says which ones the major change explains.
 */
async function rehearseUpgrade(
  config: Config,
  deps: DrillDeps,
  backup: { storage: Storage; prefix: string; manifest: Manifest; decrypt: Decryptor },
): Promise<RehearsalResult> {
  const { manifest, storage, prefix, decrypt } = backup;
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const notRun = (major: number, message: string): RehearsalResult => ({
    ...rehearsalResult(major, manifest.source.major, 'n/a', [{ object: `PostgreSQL ${major || 'latest'}`, type: 'not-run', message }], seconds()),
    status: 'not-run',
  });
  const major = await rehearsalMajor(config, deps);
  if (major === undefined) return notRun(0, 'no PostgreSQL server binaries could be found or fetched for `latest`');
  let target: DrillTarget;
  try {
    target = await throwawayTarget(config, manifest, deps, major);
  } catch (error) {
    return notRun(major, describeError(error));
  }
  const workDir = await mkdtemp(join(runTempRoot(), 'rehearse-'));
  deps.onCleanup?.({ kind: 'dir', path: workDir });
  try {
    deps.logger.info(
      `Upgrade rehearsal: restoring backup ${manifest.id} (PostgreSQL ${manifest.source.serverVersion}) into PostgreSQL ${target.serverVersion}`,
    );
    await createCapturedRoles(storage, prefix, manifest, target.url, decrypt, deps.logger);
    const found: RehearsalDifference[] = [];
    const client = await connect(target.url);
    try {
      const available = new Set((await client.query<{ name: string }>('SELECT name FROM pg_available_extensions')).rows.map((r) => r.name));
      found.push(
        ...missingExtensions(
          Object.keys(manifest.objects?.extensionVersions ?? {}).filter((e) => e !== 'plpgsql'),
          available,
        ),
      );
    } finally {
      await client.end().catch(() => undefined);
    }
    try {
      const { stderr } = await restoreDatabase(storage, prefix, manifest, target.url, config, deps, decrypt, workDir, deps.signal, true);
      found.push(...restoreErrors(stderr));
    } catch (error) {
      found.push({ object: 'database', type: 'restore-error', message: describeError(error) });
      return rehearsalResult(major, manifest.source.major, target.serverVersion, found, seconds());
    }
    const { tables } = await compareTables(target.url, manifest, config.jobs);
    found.push(...tableDifferences(tables));
    const verified = await objectsVerification(target.url, manifest, { refreshMaterializedViews: true });
    found.push(...objectDifferences(verified.results));
    return rehearsalResult(major, manifest.source.major, target.serverVersion, found, seconds());
  } finally {
    await target.dispose().catch((e) => deps.logger.warn(`Could not remove the rehearsal server: ${describeError(e)}`));
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** A drill holds a shared lock, so no prune deletes the backup it reads. */
export async function runDrill(config: Config, deps: DrillDeps): Promise<DrillResult> {
  // The inputs first: a bad checks file is named before any storage is touched.
  const checksFile: ChecksFile | undefined = config.checksPath ? await loadChecksFile(resolve(config.checksPath)) : undefined;
  const storage = deps.storage ?? (await openStorage(config));
  return withSharedLock(storage, config, 'restore-drill', deps.logger, () => drillBackup(config, { ...deps, storage }, checksFile));
}

async function drillBackup(config: Config, deps: DrillDeps, checksFile: ChecksFile | undefined): Promise<DrillResult> {
  const { logger } = deps;
  const startedAt = new Date();
  const t0 = performance.now();
  await cleanupStaleClusters(logger).catch(() => undefined);
  const storage = deps.storage ?? (await openStorage(config));
  const unseal = unsealingFor(config);
  const { entry, manifest, stored, damagedNewer } = await resolveBackup(storage, config.name, config.backupId, unseal);
  const prefix = `${config.name}/${entry.id}`;
  const decrypt = makeDecryptor(entry.id, manifest.parts, unseal);
  logger.info(`Drilling backup ${entry.id} (${storage.uriOf(prefix)}), taken ${manifest.finishedAt}`);

  const checks: CheckResult[] = [];
  const failures: string[] = [];
  const warnings: string[] = [];
  // A damaged newer backup is a failure to report, even when an older one restores.
  for (const d of damagedNewer) failures.push(`backup ${d.id} is damaged (drilled ${entry.id}, the newest that verifies): ${d.reason}`);
  // Every object not read by the restore below (checksums.sha256, roles.sql) is checked too, naming the object.
  const otherParts = verifyOtherParts(storage, prefix, manifest, decrypt);
  otherParts.catch(() => undefined); // awaited below; a storage outage rejects it before then
  // Freshness is about the newest complete backup, whichever one is drilled.
  const newest = config.backupId === 'latest' ? manifest : (await resolveBackup(storage, config.name, 'latest', unseal)).manifest; // the newest whose manifest verifies
  const fresh = freshnessCheck(config, new Date(newest.finishedAt), startedAt);
  if (fresh) checks.push(fresh);
  const trend = await drillTrend(storage, config, entry, manifest, stored, unseal, logger);
  if (trend) {
    checks.push(trend.check);
    if (trend.failure) failures.push(trend.failure);
    warnings.push(...trend.trend.warnings.map((w) => `trend: ${w}`));
  }

  const workDir = await mkdtemp(join(runTempRoot(), 'work-')).catch((error: unknown) => {
    throw environmentProblem(error, runTempRoot(), "create the drill's temp folder") ?? error;
  });
  deps.onCleanup?.({ kind: 'dir', path: workDir });
  let target: DrillTarget | undefined;
  let keep = false;
  const timings = { downloadSeconds: 0, restoreSeconds: 0, verifySeconds: 0, totalSeconds: 0 };
  let tables: TableResult[] = [];
  let unexpectedTables: string[] = [];
  let objects: ObjectResult[] | undefined;
  let files: FilesResult;
  // The dump's download (and decompression) runs while the throwaway server starts.
  const dumpFetch = fetchDump(storage, prefix, manifest, config, logger, decrypt, workDir);
  try {
    logger.debug(`drill: backup resolved after ${((performance.now() - t0) / 1000).toFixed(2)}s`);
    target = await phase(logger, 'cluster start', () =>
      config.drillDatabaseUrl ? serverTarget(config.drillDatabaseUrl, entry.id, deps) : throwawayTarget(config, manifest, deps),
    );
    logger.debug(`drill: target ready after ${((performance.now() - t0) / 1000).toFixed(2)}s`);
    // On a timeout or a signal, remove the drill database at once: a comparison or a check running in it
    // (which takes no signal) then fails fast instead of running on.
    const stopTarget = () => void target?.dispose().catch(() => undefined);
    if (deps.signal?.aborted) stopTarget();
    deps.signal?.addEventListener('abort', stopTarget, { once: true });
    // Policies, grants' roles and ownerless objects name the app's roles: a throwaway server has none of them.
    if (!config.drillDatabaseUrl) await createCapturedRoles(storage, prefix, manifest, target.url, decrypt, logger);
    let environment: EnvironmentError | undefined; // the first "could not run here" problem: it outranks any failure it caused
    let outage: StorageError | undefined; // the storage could not be read: nothing is known about the backup (exit 5)
    const filesWork = verifyFiles(storage, prefix, manifest, workDir, decrypt).catch((error): FilesResult => {
      environment ??= environmentProblem(error, workDir, 'unpack the files for the drill');
      if (isStorageOutage(error)) outage ??= error;
      failures.push(`files: ${describeError(error)}`);
      return {
        status: 'failed',
        expectedCount: manifest.files?.count ?? 0,
        restoredCount: 0,
        expectedBytes: manifest.files?.bytes ?? 0,
        restoredBytes: 0,
        problems: [describeError(error)],
      };
    });
    let restored = false;
    try {
      const t = await restoreDatabase(storage, prefix, manifest, target.url, config, deps, decrypt, workDir, deps.signal, false, dumpFetch);
      timings.downloadSeconds = t.downloadSeconds;
      timings.restoreSeconds = t.restoreSeconds;
      restored = true;
      // Said in the report: a parallel restore needs a seekable, uncompressed copy of the dump on the temp disk.
      const staged =
        t.stagedBytes !== undefined
          ? ` with ${config.jobs} jobs from an uncompressed copy of the dump staged in the temp folder (${formatBytes(t.stagedBytes)}, removed after the drill)`
          : '';
      checks.push({
        name: 'pg_restore',
        kind: 'restore',
        status: 'passed',
        message: `restored in ${formatDuration(t.restoreSeconds)}${staged}`,
        durationMs: Math.round(t.restoreSeconds * 1000),
      });
    } catch (error) {
      environment ??= environmentProblem(error, workDir, 'restore the backup for the drill');
      if (isStorageOutage(error)) outage ??= error;
      if (environment || outage) {
        await filesWork;
        throw environment ?? outage;
      }
      failures.push(`restore: ${describeError(error)}`);
      checks.push({ name: 'pg_restore', kind: 'restore', status: 'failed', message: describeError(error), durationMs: 0 });
    }
    const tv = performance.now();
    if (restored) {
      const targetUrl = target.url;
      await deps.afterRestore?.(targetUrl);
      ({ tables, unexpected: unexpectedTables } = await phase(logger, 'compare', () => compareTables(targetUrl, manifest, config.jobs)));
      for (const t of tables) {
        // Not verified (a format 1-2 checksum a restore legitimately changes, or a lossy column) is neither pass nor fail.
        if (t.status === 'not-verified') warnings.push(`table ${t.schema}.${t.name}: ${t.message}`);
        else if (t.status !== 'passed') failures.push(`table ${t.schema}.${t.name}: ${t.message}`);
        for (const note of t.notVerifiable ?? []) warnings.push(`table ${t.schema}.${t.name}, column ${note}`);
      }
      const verified = await phase(logger, 'objects', () => objectsVerification(targetUrl, manifest, { refreshMaterializedViews: true }));
      objects = verified.results;
      failures.push(...verified.failures);
      for (const u of unexpectedTables) warnings.push(`table ${u} exists after the restore but is not in the manifest`);
      if (checksFile) {
        const client = await connect(target.url);
        try {
          const results = await runChecks(checksFile.checks, client, process.env, {
            redactedColumns: manifest.redactions,
            redactionPlaceholders: [...new Set(manifest.redactions.map((r) => r.replacement.replace(/^'(.*)'.*$/, '$1')))],
          });
          for (const r of results) {
            checks.push(r);
            if (r.status === 'failed' || r.status === 'error') failures.push(`check '${r.name}': ${r.message}`);
          }
        } finally {
          await client.end().catch(() => undefined);
        }
      }
    } else if (checksFile) {
      for (const c of checksFile.checks)
        checks.push({ name: c.name, kind: c.kind, status: 'not-verified', message: 'not run: the restore failed', durationMs: 0 });
    }
    files = await filesWork;
    failures.push(...(await otherParts));
    // Stopped (timeout, signal): what failed after that is the stop's doing, not the backup's.
    if (deps.signal?.aborted) throw deps.signal.reason;
    if (environment ?? outage) throw environment ?? outage;
    if (files.status === 'failed' && !failures.some((f) => f.startsWith('files:'))) failures.push(`files: ${files.problems.slice(0, 3).join('; ')}`);
    timings.verifySeconds = (performance.now() - tv) / 1000;
    if (fresh?.status === 'failed') failures.unshift(`freshness: ${fresh.message}`);
    keep = config.keepDatabase && restored;
  } catch (error) {
    failures.push(describeError(error));
    throw error;
  } finally {
    dumpFetch.stop();
    await dumpFetch.source.catch(() => undefined);
    dumpFetch.progress.stop();
    if (target && keep) await target.keep?.().catch((e) => logger.warn(`Could not mark the kept drill database: ${describeError(e)}`));
    if (target && !keep) await target.dispose().catch((e) => logger.warn(`Could not remove the drill database: ${describeError(e)}`));
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
  timings.totalSeconds = (performance.now() - t0) / 1000;
  // The rehearsal runs after the drill's own server is gone (one throwaway server at a time).
  let rehearsal: RehearsalResult | undefined;
  if (config.rehearseMajor !== undefined) {
    rehearsal = await phase(logger, 'upgrade rehearsal', () => rehearseUpgrade(config, deps, { storage, prefix, manifest, decrypt }));
    const line = rehearsalLine(rehearsal);
    logger.info(line);
    // Only rehearse-must-pass makes a difference the major change does not explain a failure.
    if (rehearsal.status === 'differences' || rehearsal.status === 'not-run') (config.rehearseMustPass ? failures : warnings).push(line);
  }

  const finishedAt = new Date();
  const report: DrillReport = {
    kind: 'restore-drill',
    status: failures.length ? 'failed' : 'passed',
    backupId: entry.id,
    backupName: config.name,
    backupUri: storage.uriOf(prefix),
    backupTakenAt: manifest.finishedAt,
    backupAgeSeconds: Math.round((startedAt.getTime() - new Date(manifest.finishedAt).getTime()) / 1000),
    sourceServerVersion: manifest.source.serverVersion,
    drillServerVersion: target?.serverVersion ?? 'n/a',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    timings,
    tables,
    unexpectedTables,
    files,
    checks,
    ...(objects ? { objects } : {}),
    ...(rehearsal ? { rehearsal } : {}),
    totals: reportTotals(tables, checks),
    failures,
    warnings,
    ...(trend ? { trend: trend.trend } : {}),
  };
  const { jsonPath, junitPath } = await writeReports(config, 'drill', entry.id, report);
  if (report.status === 'passed') await recordMarker(storage, config.name, entry.id, stored, 'drill', logger);
  // A drill that passes with accept-shrink records the acceptance: the shrink was deliberate.
  if (report.status === 'passed' && trend?.trend.verdict === 'suspect' && config.trend.acceptShrink) {
    await writeAcceptedMarker(storage, config.name, entry.id, 'drill', lockHolder(config))
      .then(() => logger.info(`Recorded the acceptance of backup ${entry.id}'s shrink (accept-shrink).`))
      .catch((error: unknown) => logger.warn(`Could not record the acceptance of ${entry.id}: ${describeError(error)}`));
  }
  logger.info(
    `Drill ${report.status}: ${report.totals.tables} tables, ${report.totals.rows} rows; time to restore ${formatDuration(timings.totalSeconds)}. Reports: ${jsonPath}, ${junitPath}`,
  );
  return { report, jsonPath, junitPath, databaseUrl: keep ? target?.url : undefined };
}
