// backup: one consistent, verifiable backup of the database and the uploads.
//
//   export a snapshot ─┬─ pg_dump --snapshot ──► database.dump ─┐
//                      └─ row counts + checksums (same snapshot) │
//   uploads dir ──────── tar + per-file digests ─► files.tar,    ├─► checksums.sha256 ─► manifest.json (last)
//                                                  files.sha256 ─┘
// A backup is complete only once manifest.json exists; on any failure the
// parts written so far are deleted and no manifest is written.
import { Readable } from 'node:stream';
import type { Config } from '../config.js';
import { BACKUP_PARTS } from '../constants.js';
import { UsageError, describeError } from '../errors.js';
import { newBackupId } from '../archive/backup-id.js';
import { formatChecksums } from '../archive/checksums.js';
import { localFilesSource, type FilesSource } from '../archive/files-source.js';
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  SEALED_MANIFEST,
  indexBodyDigest,
  withDigest,
  type FilesSummary,
  type Manifest,
  type PartInfo,
  type ObjectsSummary,
  type SealedIndex,
  type TableStats,
} from '../archive/manifest.js';
import { sealingFor } from '../archive/seal.js';
import { writePart, type PartWriterOptions } from '../archive/part-writer.js';
import { installedOnly, type Toolchain } from '../toolchain/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { captureRoles } from '../postgres/roles.js';
import {
  excludeDataArgs,
  redactedTables,
  refuseSensitiveInClear,
  resolveRedactions,
  startRedactedCopy,
  statsSource,
  userColumns,
} from '../postgres/redaction.js';
import { connect, serverInfo, type Client } from '../postgres/connect.js';
import { startDump } from '../postgres/dump.js';
import { resolveCompression, startZstd } from '../archive/codec.js';
import { migrationHead } from '../postgres/migrations.js';
import { ExportedSnapshot } from '../postgres/snapshot.js';
import { captureObjectsInSnapshot } from '../postgres/objects/index.js';
import { CHECKSUM_SETTINGS, chooseChecksumMethods, collectStats, listTables, pinChecksumSettings, schemaHash, tableKey } from '../postgres/stats.js';
import { openStorage } from '../storage/registry.js';
import type { Storage } from '../storage/port.js';
import { hasRetention, validatePolicy } from '../storage/retention.js';
import { pruneUnlocked, withLock, type PruneResult } from './prune.js';
import type { HeldLock } from '../storage/lock.js';
import type { Logger } from '../util/logger.js';
import { guardBackup } from '../history/guard.js';
import type { TrendVerdict } from '../history/trend.js';
import { Progress, phase } from '../util/progress.js';
import { allSettledOrThrow, mostTellingFailure } from '../util/settle.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export interface BackupResult {
  id: string;
  uri: string;
  manifest: Manifest;
  sizeBytes: number;
  durationSeconds: number;
}

export interface ModeDeps {
  logger: Logger;
  storage?: Storage;
  signal?: AbortSignal;
  /** Test seam: runs once the snapshot is exported and shared, before the dump reads data. */
  afterSnapshot?: () => Promise<void>;
  /** Told the backup's storage prefix before any part is written (the action's post step removes it after a kill). */
  onBackupPrefix?: (prefix: string) => void;
  /** Finds (and in the action, fetches) PostgreSQL binaries of the needed major; default: installed ones only. */
  toolchain?: Toolchain;
}

/** Parallel connections computing table stats while the dump streams. */
const STATS_CONNECTIONS = 2;

export interface BackupOutcome extends BackupResult {
  /** Retention applied after the backup (undefined when no keep-* input is set). */
  pruned?: PruneResult;
  /** The trend guard's verdict against the previous good backups (undefined when it could not run). */
  trend?: TrendVerdict;
}

/**
 * Takes a backup under the backup set's lock, then applies retention. Retention
 * runs only after a successful backup: a failed one never deletes anything.
 */
export async function runBackup(config: Config, deps: ModeDeps): Promise<BackupOutcome> {
  // Over SSH: the same backup, with database-url pointing at a tunnel and the uploads read on the server.
  if (config.ssh) {
    // ssh2 loads only for SSH runs: it is a large part of the bundle's start-up.
    const { withReach } = await import('../reach/index.js');
    return withReach(config, config.ssh, deps.logger, (reached) => backupUnderLock(reached.config, deps, reached.files));
  }
  return backupUnderLock(config, deps, config.filesPath ? localFilesSource(config.filesPath) : undefined);
}

async function backupUnderLock(config: Config, deps: ModeDeps, files: FilesSource | undefined): Promise<BackupOutcome> {
  await files?.check();
  if (hasRetention(config.retention)) validatePolicy(config.retention);
  sealingFor(config); // bad recipients or key combinations fail before anything starts
  // Reading the source overlaps the storage check and the lock's settle wait (~0.5 s the start spent idle).
  const source = inspectSource(config, deps);
  source.catch(() => undefined); // awaited under the lock; a refused lock closes its connection below
  let sourceTaken = false;
  try {
    const storage = deps.storage ?? (await openStorage(config));
    await storage.checkWritable();
    return await withLock(storage, config, 'backup', deps.logger, async (lock) => {
      sourceTaken = true;
      return backupAndPrune(config, deps, storage, files, source, lock);
    });
  } finally {
    if (!sourceTaken) await source.then((s) => s.main.end()).catch(() => undefined);
  }
}

async function backupAndPrune(
  config: Config,
  deps: ModeDeps,
  storage: Storage,
  files: FilesSource | undefined,
  source: Promise<SourceInfo>,
  lock: HeldLock,
): Promise<BackupOutcome> {
  const taken = await takeBackup(config, { ...deps, storage }, files, source);
  // Before retention: a suspect backup makes retention keep the last good one.
  const trend = await guardBackup(storage, config, taken, deps.logger);
  const result: BackupOutcome = { ...taken, ...(trend ? { trend } : {}) };
  if (!hasRetention(config.retention)) return result;
  try {
    // The backup just written was hashed as it was stored: it counts as read in full.
    const pruned = await pruneUnlocked(storage, config, { logger: deps.logger, dryRun: false, lock, readInFull: [result.id] });
    return { ...result, pruned };
  } catch (error) {
    // The backup itself is complete and safe; a failed or refused prune is reported, not fatal to it.
    deps.logger.warn(`Retention failed or was refused after a successful backup (nothing more was deleted): ${describeError(error)}`);
    return result;
  }
}

/** The pg_dump major: the server's, or a newer one given as postgres-version (an older pg_dump cannot read the server). */
function dumpMajor(config: Config, serverMajor: number, serverVersion: string): number {
  const asked = config.postgresVersion;
  if (asked === undefined) return serverMajor;
  if (asked < serverMajor) {
    throw new UsageError(`postgres-version ${asked} is older than the source server (PostgreSQL ${serverVersion}): pg_dump cannot dump a newer server.`, {
      input: 'postgres-version',
      hint: `Use 'auto' (the default) or ${serverMajor} or newer.`,
    });
  }
  return asked;
}

/** What the backup learns about its source before it holds the lock. */
interface SourceInfo {
  main: Client;
  server: Awaited<ReturnType<typeof serverInfo>>;
  /** pg_database_size: the progress estimate and the S3 part-size hint. */
  databaseBytes: number;
  pgDump: Awaited<ReturnType<Toolchain['find']>>;
}

/** Connects, reads the server and finds a pg_dump for it: read-only, so it may run while the lock settles. */
async function inspectSource(config: Config, deps: ModeDeps): Promise<SourceInfo> {
  const main = await connect(config.databaseUrl);
  try {
    const server = await serverInfo(main);
    const databaseBytes = Number((await main.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n')).rows[0]!.n);
    const pgDump = await (deps.toolchain ?? installedOnly(deps.logger)).find({
      kind: 'client',
      tools: ['pg_dump'],
      major: dumpMajor(config, server.major, server.version),
      allowNewer: true, // pg_dump reads every older server
      preferDir: config.postgresBinDir,
      purpose: `a PostgreSQL ${server.version} server`,
    });
    return { main, server, databaseBytes, pgDump };
  } catch (error) {
    await main.end().catch(() => undefined);
    throw error;
  }
}

/** How long a failed backup waits for its other part writers to stop before it removes their objects. */
const PART_STOP_GRACE_MS = 10_000;

async function takeBackup(
  config: Config,
  deps: ModeDeps & { storage: Storage },
  filesSource: FilesSource | undefined,
  source: Promise<SourceInfo>,
): Promise<BackupResult> {
  const { logger, storage } = deps;
  const started = new Date();
  const sealing = sealingFor(config);
  // Encrypted parts carry the .age suffix, so `age -d` users know what they hold.
  const partName = (name: string) => (sealing ? `${name}.age` : name);

  const { compression, note } = resolveCompression(config.compression);
  if (note) logger.warn(note);
  const id = newBackupId(started);
  const prefix = `${config.name}/${id}`;
  deps.onBackupPrefix?.(prefix);
  logger.info(`Backup ${id} → ${storage.uriOf(prefix)}`);

  const { main, server, databaseBytes, pgDump } = await source;
  let snapshot: ExportedSnapshot | undefined;
  const statsClients: Client[] = [];
  const partsWritten: string[] = [];
  // A failed part must stop the others: a writer still waiting on its input would leave its
  // temporary object behind after the clean-up below.
  const stopParts = new AbortController();
  const partsSignal = deps.signal ? AbortSignal.any([deps.signal, stopParts.signal]) : stopParts.signal;
  const inflight: Promise<unknown>[] = [];
  const writeTracked: typeof writePart = (...args) => {
    const written = writePart(...args);
    inflight.push(written.catch(() => undefined));
    return written;
  };
  try {
    logger.info(`Source: ${server.database}, PostgreSQL ${server.version}; using pg_dump ${pgDump.version} from ${pgDump.dir}`);

    snapshot = await ExportedSnapshot.open(config.databaseUrl);
    for (let i = 0; i < STATS_CONNECTIONS; i++) statsClients.push(await snapshot.join(config.databaseUrl));
    const [listed, hash, migration] = [await listTables(snapshot.session), await schemaHash(snapshot.session), await migrationHead(snapshot.session)];
    // Type names in redaction casts come out qualified (search_path ''), as the stats sessions that use them need.
    await pinChecksumSettings(snapshot.session, CHECKSUM_SETTINGS);
    const columns = config.redactColumns.length || config.sensitiveColumns.length ? await userColumns(snapshot.session) : [];
    const redactions = resolveRedactions(columns, config.redactColumns);
    const redacted = redactedTables(columns, redactions);
    // Cheap binary row hashes where they survive a restore; redacted tables are hashed in their redacted (text) form.
    const tables = await chooseChecksumMethods(
      snapshot.session,
      listed,
      server.versionNum,
      new Set(redacted.map((r) => tableKey({ schema: r.schema, name: r.table }))),
    );
    if (redactions.length) logger.info(`Redacting ${redactions.map((r) => `${r.schema}.${r.table}.${r.column}`).join(', ')}`);
    refuseSensitiveInClear(columns, config.sensitiveColumns, redactions, Boolean(sealing));
    if (migration) logger.info(`Migration head: ${migration.head} (${migration.ledger}, ${migration.table})`);
    await deps.afterSnapshot?.();

    // Size hint for S3 part sizing; computed before the parallel work starts, because no
    // await may come between creating those promises and awaiting them (unhandled rejections).
    const treeBytes = filesSource ? await filesSource.estimateBytes() : 0;
    const writer: PartWriterOptions = { storage, prefix, signal: partsSignal, seal: sealing?.seal };
    if (sealing) logger.info(`Encrypting every part with age for ${[...sealing.recipients, ...(sealing.passphrase ? ['a passphrase'] : [])].join(', ')}`);
    // pg_database_size includes indexes that pg_dump does not write: an upper estimate, shown as "of ~".
    const dumpProgress = new Progress('database', logger, { totalBytes: databaseBytes }).start();
    const dump = startDump({
      binDir: pgDump.dir,
      databaseUrl: config.databaseUrl,
      snapshotId: snapshot.id,
      compression: compression.codec === 'gzip' ? compression.level : 0,
      extraArgs: excludeDataArgs(redacted),
    });
    // zstd reads pg_dump's pipe itself; its progress is the dump bytes it has read, so the total stays comparable.
    const zstd = compression.codec === 'zstd' ? startZstd(dump.stdout, compression.level) : undefined;
    const stopStreams = () => {
      dump.kill();
      zstd?.kill();
    };
    const databasePart = (async (): Promise<PartInfo> => {
      let counted = 0;
      const poll = zstd
        ? setInterval(() => {
            void zstd.readBytes().then((n) => {
              if (n > counted) dumpProgress.add(n - counted);
              counted = Math.max(counted, n);
            });
          }, 500)
        : undefined;
      try {
        const name = partName(zstd ? `${BACKUP_PARTS.database}.zst` : BACKUP_PARTS.database);
        partsWritten.push(name);
        // Hint for S3 part sizing: a dump is rarely larger than the database; ×2 leaves room for decompressed TOAST data.
        const part = await writeTracked(
          writer,
          name,
          'database',
          zstd ? zstd.stdout : dump.stdout,
          zstd ? undefined : (n) => dumpProgress.add(n),
          databaseBytes * 2 + (64 << 20),
        );
        // A pg_dump (or zstd) that failed after writing some bytes must not count.
        await dump.done;
        await zstd?.done;
        if (zstd) {
          part.compression = 'zstd';
          const read = zstd.totalRead();
          if (read !== undefined) {
            part.contentBytes = read;
            if (read > counted) dumpProgress.add(read - counted);
            counted = read;
          }
        }
        return part;
      } catch (error) {
        stopStreams();
        throw error;
      } finally {
        clearInterval(poll);
        dumpProgress.stop();
      }
    })();

    // On SIGINT/SIGTERM stop the database work at once (a stats query may wait on a table lock for long):
    // the failure path then deletes the parts and the lock is released within the runner's window.
    const objectsSessions: Client[] = [];
    const stopDatabaseWork = () => {
      stopStreams();
      for (const c of [...statsClients, ...objectsSessions]) c.end().catch(() => undefined);
    };
    deps.signal?.addEventListener('abort', stopDatabaseWork, { once: true });
    const statsWork = phase(logger, 'stats', () =>
      collectStats(statsClients, tables, (t) => statsSource(t, redacted), { settings: CHECKSUM_SETTINGS, plan: true }),
    );
    // Large objects, sequences, materialized views, structure: in the same snapshot, on a session of their own.
    const snapshotNow = snapshot;
    const joinForObjects = async () => {
      const session = await snapshotNow.join(config.databaseUrl);
      objectsSessions.push(session);
      if (deps.signal?.aborted) stopDatabaseWork();
      return session;
    };
    const objectsWork = phase(logger, 'objects', () => captureObjectsInSnapshot(joinForObjects, server.versionNum));
    let redactedWork: Promise<PartInfo> | undefined;
    if (redacted.length) {
      const copy = startRedactedCopy({ binDir: pgDump.dir, databaseUrl: config.databaseUrl, snapshotId: snapshot.id, tables: redacted });
      partsWritten.push(partName(BACKUP_PARTS.redactedData));
      redactedWork = writeTracked(writer, partName(BACKUP_PARTS.redactedData), 'redacted-data', copy.stdout).then(async (part) => {
        await copy.done;
        return part;
      });
    }

    let filesWork: Promise<{ summary: FilesSummary; parts: PartInfo[] }> | undefined;
    if (filesSource) {
      const filesProgress = new Progress('files', logger, { totalBytes: treeBytes }).start();
      const packed = filesSource.pack(config.filesExclude, logger, (n) => filesProgress.add(n));
      partsWritten.push(partName(BACKUP_PARTS.files), partName(BACKUP_PARTS.fileList));
      filesWork = allSettledOrThrow<[PartInfo, PartInfo, FilesSummary]>([
        writeTracked(writer, partName(BACKUP_PARTS.files), 'files', packed.tar, undefined, treeBytes * 1.5 + (64 << 20)),
        writeTracked(writer, partName(BACKUP_PARTS.fileList), 'file-list', packed.list),
        packed.done,
      ])
        .then(([tarPart, listPart, summary]) => ({ summary, parts: [tarPart, listPart] }))
        .finally(() => filesProgress.stop());
    }

    // Roles (for a restore onto a fresh server), without passwords; a source that does not permit it only warns.
    const roleWarnings: string[] = [];
    const rolesWork = captureRoles(pgDump.dir, config.databaseUrl).then(async (r) => {
      if (!r.sql) {
        roleWarnings.push(`roles not captured (pg_dumpall --roles-only: ${r.problem})`);
        return undefined;
      }
      partsWritten.push(partName(BACKUP_PARTS.roles));
      return writeTracked(writer, partName(BACKUP_PARTS.roles), 'roles', Readable.from([r.sql]));
    });
    const settled = await Promise.allSettled([
      databasePart,
      statsWork,
      filesWork ?? Promise.resolve(undefined),
      redactedWork ?? Promise.resolve(undefined),
      rolesWork,
      objectsWork,
    ]);
    if (settled.some((s) => s.status === 'rejected')) throw mostTellingFailure(settled);
    const dbPart = (settled[0] as PromiseFulfilledResult<PartInfo>).value;
    const stats = (settled[1] as PromiseFulfilledResult<TableStats[]>).value;
    const files = (settled[2] as PromiseFulfilledResult<{ summary: FilesSummary; parts: PartInfo[] } | undefined>).value;

    await snapshot.close();
    snapshot = undefined;

    const redactedPart = (settled[3] as PromiseFulfilledResult<PartInfo | undefined>).value;
    const rolesPart = (settled[4] as PromiseFulfilledResult<PartInfo | undefined>).value;
    const objects = (settled[5] as PromiseFulfilledResult<ObjectsSummary>).value;
    const parts = [dbPart, ...(redactedPart ? [redactedPart] : []), ...(rolesPart ? [rolesPart] : []), ...(files?.parts ?? [])];
    partsWritten.push(BACKUP_PARTS.checksums);
    // checksums.sha256 stays readable: it lists digests of the stored (encrypted) bytes only.
    const checksums = await writeTracked(
      { ...writer, seal: undefined },
      BACKUP_PARTS.checksums,
      'checksums',
      Readable.from([formatChecksums(parts.map((p) => ({ sha256: p.sha256, name: p.name })))]),
    );
    parts.push(checksums);

    const finished = new Date();
    const manifest: Manifest = {
      format: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      id,
      name: config.name,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      trigger: config.trigger,
      source: {
        database: server.database,
        serverVersion: server.version,
        serverVersionNum: server.versionNum,
        major: server.major,
        encoding: server.encoding,
        schemaHash: hash,
        migration,
      },
      dump: {
        tool: 'pg_dump',
        toolVersion: pgDump.version,
        format: 'custom',
        compression: compression.level,
        codec: compression.codec,
        snapshotConsistent: true,
      },
      tables: stats,
      objects,
      checksumSettings: { ...CHECKSUM_SETTINGS },
      totals: { tables: stats.length, rows: stats.reduce((sum, t) => sum + t.rows, 0) },
      files: files?.summary ?? null,
      parts,
      encryption: sealing ? { recipients: sealing.recipients, passphrase: sealing.passphrase } : null,
      redactions,
      warnings: [...(files?.summary.skipped.length ? [`${files.summary.skipped.length} special file(s) not backed up`] : []), ...roleWarnings],
    };
    // The manifest is the completion marker: written last, and only when everything above succeeded.
    // It carries the digest of its own canonical form (RFC 8785), so any later edit or damage shows.
    // Encrypted: the full manifest is sealed; manifest.json is a public index (id, times, sizes) with a
    // digest of its own, and the sealed manifest records the index's digest (see docs/FORMAT.md).
    let stored: string;
    if (sealing) {
      const index: SealedIndex = {
        format: FORMAT_NAME,
        formatVersion: FORMAT_VERSION,
        sealed: true,
        tool: manifest.tool,
        id,
        name: config.name,
        startedAt: manifest.startedAt,
        finishedAt: manifest.finishedAt,
        encryption: manifest.encryption!,
        parts: [...parts],
      };
      manifest.indexDigest = { algorithm: 'sha256-jcs', value: indexBodyDigest(index) };
      partsWritten.push(SEALED_MANIFEST);
      const sealedPart = await writeTracked(writer, SEALED_MANIFEST, 'manifest', Readable.from([JSON.stringify(withDigest(manifest), null, 2) + '\n']));
      stored = JSON.stringify(withDigest({ ...index, parts: [...parts, sealedPart] }), null, 2) + '\n';
    } else {
      stored = JSON.stringify(withDigest(manifest), null, 2) + '\n';
    }
    partsWritten.push(BACKUP_PARTS.manifest);
    await storage.put(`${prefix}/${BACKUP_PARTS.manifest}`, Readable.from([stored]));

    const sizeBytes = parts.reduce((sum, p) => sum + p.bytes, 0);
    const durationSeconds = (finished.getTime() - started.getTime()) / 1000;
    logger.info(
      `Backup ${id} complete: ${manifest.totals.tables} tables, ${manifest.totals.rows} rows` +
        (files ? `, ${files.summary.count} files (${formatBytes(files.summary.bytes)})` : '') +
        `; stored ${formatBytes(sizeBytes)} in ${formatDuration(durationSeconds)}.`,
    );
    return { id, uri: storage.uriOf(prefix), manifest, sizeBytes, durationSeconds };
  } catch (error) {
    logger.error(`Backup ${id} failed: ${describeError(deps.signal?.aborted ? deps.signal.reason : error)}`);
    stopParts.abort(error);
    await Promise.race([Promise.allSettled(inflight), sleep(PART_STOP_GRACE_MS, undefined, { ref: false })]);
    // Remove what was written so an incomplete backup never lingers; it has no manifest either way.
    await storage
      .delete(partsWritten.map((name) => `${prefix}/${name}`))
      .catch((e) => logger.warn(`Could not remove the partial backup ${prefix}: ${describeError(e)}`));
    throw error;
  } finally {
    await snapshot?.close();
    for (const c of statsClients) await c.end().catch(() => undefined);
    await main.end().catch(() => undefined);
  }
}
