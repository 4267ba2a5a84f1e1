// restore: put a backup back into a real target, guarded and all-or-nothing.
//
//   resolve backup ─ read-only look at the target ─ dump TOC ─► PREVIEW (always)
//   guards (non-empty target, schema/migration mismatch, missing extensions,
//   unknown format, files-path) ─ confirmation ─► PLAN
//   download every part into a temp dir, verifying digests (files: into a
//   sibling of files-path, every file checked) ─ nothing written yet
//   dry-run stops here
//   one psql transaction: replace, restore, verify in-transaction ─ swap the
//   files in ─ COMMIT (undo the swap if COMMIT fails)
//   verify table by table (the drill's compareTables) ─ checks ─ report
//
// See docs/RESTORE.md for the guarantees and why it is built this way.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';
import { BACKUP_PARTS } from '../constants.js';
import { BackupDrillError, IntegrityError, UsageError, describeError } from '../errors.js';
import { partByRole, type Manifest, type PartInfo, type TableStats } from '../archive/manifest.js';
import { unsealingFor } from '../archive/seal.js';
import { loadChecksFile, type ChecksFile } from '../checks/checks-file.js';
import { runChecks } from '../checks/run-checks.js';
import { installedOnly, restoreTools, type Toolchain } from '../toolchain/index.js';
import { compareTables } from '../postgres/compare.js';
import { objectsVerification } from '../postgres/objects/index.js';
import { connect } from '../postgres/connect.js';
import { writeReports } from '../report/write.js';
import { reportTotals } from '../report/totals.js';
import type { CheckResult, DrillReport, FilesResult, ObjectResult, TableResult } from '../report/types.js';
import { resolveBackup } from '../storage/catalog.js';
import { withSharedLock } from './prune.js';
import { openStorage } from '../storage/registry.js';
import type { Storage } from '../storage/port.js';
import { formatDuration } from '../util/format.js';
import type { Logger } from '../util/logger.js';
import { Progress } from '../util/progress.js';
import { runTool } from '../util/exec.js';
import { prepareRestore, schemasToReplace, type RestoreKind } from '../restore/database.js';
import { rolesToCreate } from '../postgres/roles.js';
import { localFilesDestination, previousName, verifyFilesOnly, type FilesDestination, type StagedFiles, type Swap } from '../restore/files.js';
import { RestoreRefused, checkFormat, findRefusals } from '../restore/guards.js';
import { buildPlan } from '../restore/plan.js';
import { buildPreview, renderPreview, type RestorePreview } from '../restore/preview.js';
import { checkFreeSpace, stagePart, stagedDumpBytes, type FreeSpace, type SpaceNeed } from '../restore/stage.js';
import { makeDecryptor, openContent, openPart, readPartText, verifyPart } from '../archive/open-part.js';
import { redactedTableKeys, resolveTables, tocSelection } from '../restore/tables.js';
import { connectReadOnly, inspectTarget, type TargetState } from '../restore/target.js';
import { readTocFile, readTocStream, writeTocList, type Toc } from '../restore/toc.js';

export { renderPreview, RestoreRefused, type RestorePreview };

export interface RestoreDeps {
  logger: Logger;
  /** Finds (and in the action, fetches) pg_restore/psql new enough for the backup; default: installed ones only. */
  toolchain?: Toolchain;
  storage?: Storage;
  signal?: AbortSignal;
  /**
   * Asked once, after the preview and before anything is downloaded or written
   * (never in a dry run). The CLI prompts (or answers yes for --yes, no without
   * a TTY); leave undefined to skip (the action: the workflow's environment
   * approval is the confirmation).
   */
  confirm?: (question: string) => Promise<boolean>;
  /** Called with the preview as soon as it is built (it is also logged): for a job summary or --json. */
  onPreview?: (preview: RestorePreview) => void;
  /** Test seam: free bytes on the filesystem holding a directory. */
  freeSpace?: FreeSpace;
  /** Test seam: how long to wait for other sessions' locks on the target (PostgreSQL interval; default 60s). */
  lockTimeout?: string;
}

export interface RestoreResult {
  preview: RestorePreview;
  plan: string[];
  /** The post-restore verification, like a drill's (kind 'restore'). Absent in a dry run. */
  report?: DrillReport;
  dryRun: boolean;
  /** Where the previous files directory was kept (unless discarded). */
  previousFilesPath?: string;
  /** Verification of the files part (also in a dry run). */
  files?: FilesResult;
  reportPath?: string;
  junitPath?: string;
}

const SKIPPED_FILES: FilesResult = { status: 'skipped', expectedCount: 0, restoredCount: 0, expectedBytes: 0, restoredBytes: 0, problems: [] };

function confirmQuestion(
  id: string,
  mode: RestorePreview['restore']['mode'],
  preview: RestorePreview,
  selected: TableStats[],
  intoSchema: string | undefined,
): string {
  const t = preview.target;
  const files = preview.filesTarget ? ` and its files into ${preview.filesTarget.path}` : '';
  if (!t) return `Restore the files of backup ${id} into ${preview.filesTarget?.path}?`;
  const names = selected.map((s) => `${s.schema}.${s.name}`).join(', ');
  switch (mode) {
    case 'tables':
      return `Restore tables ${names} of backup ${id} into database ${t.database} on host ${t.host}, replacing their rows${files}?`;
    case 'into-schema':
      return `Restore copies of tables ${names} of backup ${id} into schema ${intoSchema} of database ${t.database} on host ${t.host}${files}?`;
    default:
      return `Restore backup ${id} into database ${t.database} on host ${t.host}${files}?`;
  }
}

/** A restore holds a shared lock, so no prune deletes the backup while it is read. */
export async function runRestore(config: Config, deps: RestoreDeps): Promise<RestoreResult> {
  // Over SSH: the same restore, with database-url pointing at a tunnel to the database as the server sees it.
  if (config.ssh) {
    const { withReach } = await import('../reach/index.js'); // ssh2 loads only for SSH runs
    return withReach(config, config.ssh, deps.logger, (reached) => restoreUnderLock(reached.config, deps, reached.filesTarget), {
      database: config.parts.database,
      verb: 'restore',
    });
  }
  return restoreUnderLock(config, deps, config.filesPath ? localFilesDestination(config.filesPath) : undefined);
}

async function restoreUnderLock(config: Config, deps: RestoreDeps, destination: FilesDestination | undefined): Promise<RestoreResult> {
  const storage = deps.storage ?? (await openStorage(config));
  return withSharedLock(storage, config, 'restore', deps.logger, () => restoreBackup(config, { ...deps, storage }, destination));
}

async function restoreBackup(config: Config, deps: RestoreDeps, destination: FilesDestination | undefined): Promise<RestoreResult> {
  const { logger } = deps;
  const startedAt = new Date();
  const t0 = performance.now();
  const restoreDb = config.parts.database;
  const restoreFiles = config.parts.files && Boolean(config.filesPath);
  if (!restoreDb && !restoreFiles) {
    throw new UsageError("Nothing to restore: 'parts' is files, but 'files-path' is empty.", {
      input: 'files-path',
      hint: 'Give the uploads directory to restore into.',
    });
  }
  const mode: RestorePreview['restore']['mode'] = !restoreDb ? 'none' : config.tables.length ? (config.intoSchema ? 'into-schema' : 'tables') : 'full';
  // A bad checks file fails now, not after the restore.
  const checksFile = config.checksPath ? await loadChecksFile(resolve(config.checksPath)) : undefined;

  const storage = deps.storage ?? (await openStorage(config));
  const unseal = unsealingFor(config); // undefined without a key; a malformed key is refused here
  const { entry, manifest, damagedNewer } = await resolveBackup(storage, config.name, config.backupId, unseal);
  for (const d of damagedNewer) logger.warn(`Skipping backup ${d.id}, newer but damaged: ${d.reason}`);
  const prefix = `${config.name}/${entry.id}`;
  checkFormat(manifest);
  const dumpPart = restoreDb ? partByRole(manifest, 'database') : undefined;
  if (restoreDb && !dumpPart) throw new IntegrityError(`Backup ${entry.id}'s manifest lists no ${BACKUP_PARTS.database}.`, { hint: 'Use another backup.' });
  const tarPart = restoreFiles ? partByRole(manifest, 'files') : undefined;
  const listPart = restoreFiles ? partByRole(manifest, 'file-list') : undefined;
  const sumsPart = partByRole(manifest, 'checksums');
  const needed = [dumpPart, manifest.files ? tarPart : undefined, manifest.files ? listPart : undefined].filter((p): p is PartInfo => p !== undefined);
  const decrypt = makeDecryptor(manifest.id, needed, unseal);

  const tools = restoreDb ? await restoreTools(manifest, config.postgresBinDir, deps.toolchain ?? installedOnly(logger), config.postgresVersion) : undefined;

  // ── Preview: read-only, nothing downloaded beyond the dump's table of contents.
  let target: TargetState | undefined;
  if (restoreDb) {
    const client = await connectReadOnly(config.databaseUrl);
    try {
      target = await inspectTarget(client, config.databaseUrl);
      // Through an SSH tunnel the URL says 127.0.0.1:<local port>; the preview and the question name the real place.
      if (config.ssh?.tunnelledTo) target.host = config.ssh.tunnelledTo;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  let toc: Toc | undefined;
  let tocError: unknown;
  if (tools && dumpPart) {
    try {
      toc = await readTocStream(tools.dir, await openContent(storage, prefix, dumpPart, decrypt));
    } catch (error) {
      tocError = error;
    }
  }
  const { selected, problems: tableProblems } =
    mode === 'tables' || mode === 'into-schema' ? resolveTables(config.tables, manifest) : { selected: [] as TableStats[], problems: [] as string[] };
  const filesInfo = restoreFiles && destination ? await destination.inspect() : undefined;
  const replacedSchemas = toc && mode === 'full' ? schemasToReplace(toc, manifest).drop : [];
  const extensions = toc && target ? { used: toc.extensions, missing: toc.extensions.filter((e) => !target!.availableExtensions.includes(e)) } : null;
  const preview = buildPreview({
    manifest,
    entry,
    uri: storage.uriOf(prefix),
    now: startedAt,
    restore: {
      database: restoreDb,
      files: restoreFiles,
      mode,
      tables: selected.map((t) => `${t.schema}.${t.name}`),
      ...(mode === 'into-schema' ? { intoSchema: config.intoSchema } : {}),
    },
    target,
    files: filesInfo?.target,
    extensions,
    ...(mode === 'full' && toc ? { replacedSchemas } : {}),
  });
  preview.refusals = findRefusals({
    config,
    manifest,
    mode,
    target,
    selected,
    tableProblems,
    missingExtensions: mode === 'full' ? (extensions?.missing ?? []) : [],
    filesProblems: filesInfo?.problems ?? [],
    restoreFiles,
  });
  if (tocError) preview.warnings.push(`Could not read the dump's table of contents: ${describeError(tocError)}`);
  logger.info(renderPreview(preview));
  deps.onPreview?.(preview);
  if (tocError) throw tocError; // e.g. a wrong decryption key: refused before any download or write

  const work = await mkdtemp(join(tmpdir(), 'backup-drill-restore-'));
  const previousPath = filesInfo?.target.exists ? previousName(filesInfo.target, entry.id) : undefined;
  const plan = buildPlan({
    manifest,
    preview,
    parts: [...needed, ...(sumsPart ? [sumsPart] : [])],
    stagingDir: work,
    replacedSchemas,
    selected,
    intoSchema: config.intoSchema,
    filesPath: filesInfo?.target.path,
    previousFilesPath: previousPath,
    discardPrevious: config.discardPreviousFiles,
    checksPath: config.checksPath,
    dryRun: config.dryRun,
  });
  let staged: StagedFiles | undefined;
  try {
    if (!config.dryRun && preview.refusals.length) throw new RestoreRefused(preview.refusals, preview, plan);
    logger.info(`Plan:\n${plan.map((s, i) => `  ${i + 1}. ${s}`).join('\n')}`);
    if (!config.dryRun && deps.confirm) {
      const question = confirmQuestion(entry.id, mode, preview, selected, config.intoSchema);
      if (!(await deps.confirm(question))) {
        throw new RestoreRefused([`Not confirmed ("${question}"). Answer yes, or pass --yes where there is no terminal to ask.`], preview, plan);
      }
    }
    deps.signal?.throwIfAborted();

    // ── Verify before touching anything: every needed part, fetched and checked.
    const needs: SpaceNeed[] = [];
    if (dumpPart) needs.push({ dir: work, bytes: stagedDumpBytes(dumpPart), what: 'the database dump', hint: 'Point TMPDIR at a folder on a bigger disk.' });
    if (filesInfo && manifest.files && !config.dryRun && destination?.local) {
      const f = manifest.files;
      needs.push({
        dir: filesInfo.target.existingAncestor,
        bytes: f.bytes + (f.count + f.directories) * 4096,
        what: 'the restored files',
        hint: `The files are restored next to ${filesInfo.target.path} before the swap (the previous copy is kept): free space there.`,
      });
    }
    await checkFreeSpace(needs, deps.freeSpace);
    logger.info(`Downloading and verifying ${needed.map((p) => p.name).join(', ')}…`);
    const tDownload = performance.now();
    const progress = new Progress('download', logger, { totalBytes: [dumpPart, tarPart].reduce((n, p) => n + (p?.bytes ?? 0), 0) }).start();
    let dumpFile: string | undefined;
    let redactedFile: string | undefined;
    const redactedPart = dumpPart ? partByRole(manifest, 'redacted-data') : undefined;
    let files: FilesResult = SKIPPED_FILES;
    try {
      const jobs: Array<Promise<unknown>> = [];
      if (dumpPart) jobs.push(stagePart(storage, prefix, dumpPart, decrypt, work, (n) => progress.add(n), deps.signal).then((f) => (dumpFile = f)));
      if (redactedPart) jobs.push(stagePart(storage, prefix, redactedPart, decrypt, work, (n) => progress.add(n), deps.signal).then((f) => (redactedFile = f)));
      if (filesInfo && manifest.files && tarPart && listPart) {
        const summary = manifest.files;
        jobs.push(
          (async () => {
            const list = await readPartText(storage, prefix, listPart, decrypt);
            const tar = await openPart(storage, prefix, tarPart, decrypt, (n) => progress.add(n));
            if (config.dryRun) {
              files = await verifyFilesOnly(tar, list, summary);
              if (files.status !== 'passed')
                throw new IntegrityError(`The backup's files do not match its file list: ${files.problems.slice(0, 5).join('; ')}.`, {
                  hint: 'Use another backup.',
                });
            } else {
              staged = await destination!.stage(filesInfo.target, entry.id, tar, list, summary);
              files = staged.result;
            }
          })(),
        );
      } else if (filesInfo && manifest.files) {
        throw new IntegrityError(`Backup ${entry.id}'s manifest lists files but not both ${BACKUP_PARTS.files} and ${BACKUP_PARTS.fileList}.`, {
          hint: 'Use another backup.',
        });
      }
      if (sumsPart) jobs.push(verifyPart(storage, prefix, sumsPart));
      const settled = await Promise.allSettled(jobs);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      progress.stop();
    }
    const downloadSeconds = (performance.now() - tDownload) / 1000;
    logger.info(`Every part verified in ${formatDuration(downloadSeconds)}.`);

    // The verified copy is what runs: re-read its TOC and re-check what depends on it.
    let listFile: string | undefined;
    if (tools && dumpFile) {
      toc = await readTocFile(tools.dir, dumpFile);
      const missing = mode === 'full' && target ? toc.extensions.filter((e) => !target!.availableExtensions.includes(e)) : [];
      if (missing.length && !config.dryRun)
        throw new RestoreRefused([`The backup uses extension(s) the target server does not have: ${missing.join(', ')}.`], preview, plan);
      if (mode === 'tables' || mode === 'into-schema') {
        const selection = tocSelection(toc, selected, mode === 'into-schema', redactedTableKeys(manifest));
        if (selection.missing.length)
          throw new IntegrityError(`The dump holds no data entry for ${selection.missing.join(', ')}, which the manifest lists.`, {
            hint: 'Use another backup.',
          });
        listFile = await writeTocList(work, 'tables.list', selection.entries);
      }
    }

    if (config.dryRun) {
      // Read the whole dump through pg_restore (without a database): every data block decompresses.
      if (tools && dumpFile) await runTool(join(tools.dir, 'pg_restore'), ['-f', '/dev/null', dumpFile]);
      logger.info(
        `Dry run: every part verified${preview.refusals.length ? `; a real run would be refused: ${preview.refusals.join(' ')}` : ''}. Nothing was written.`,
      );
      return { preview, plan, dryRun: true, files };
    }

    // ── Write: one transaction; the files swap just before its COMMIT.
    const tRestore = performance.now();
    let swap: Swap | undefined;
    const swapFiles = async (): Promise<void> => {
      if (!staged || !filesInfo) return;
      swap = await destination!.swap(filesInfo.target, staged, previousPath ?? previousName(filesInfo.target, entry.id));
      staged = undefined;
    };
    const targetName = target ? `database '${target.database}' on ${target.host}` : 'the target';
    if (tools && dumpFile) {
      const what: RestoreKind =
        mode === 'full'
          ? { kind: 'full', toc: toc! }
          : mode === 'tables'
            ? { kind: 'tables', tables: selected, listFile: listFile! }
            : { kind: 'into-schema', tables: selected, listFile: listFile!, intoSchema: config.intoSchema!, replaceCopies: config.force };
      logger.info(`Restoring into ${targetName} in one transaction…`);
      let rolesSql: string | undefined;
      const rolesPart = config.createRoles ? partByRole(manifest, 'roles') : undefined;
      if (config.createRoles && !rolesPart)
        logger.warn('create-roles: this backup has no captured roles (the source did not permit pg_dumpall --roles-only); none are created.');
      if (rolesPart) {
        const roles = rolesToCreate(await readPartText(storage, prefix, rolesPart, decrypt));
        rolesSql = roles.sql;
        logger.info(`create-roles: creating those of ${roles.roles.join(', ') || '(none)'} that the target lacks (no passwords: set them after the restore).`);
      }
      const prepared = await prepareRestore({
        binDir: tools.dir,
        databaseUrl: config.databaseUrl,
        dumpFile,
        redactedFile,
        rolesSql,
        manifest,
        what,
        targetName,
        logger,
        signal: deps.signal,
        lockTimeout: deps.lockTimeout,
      });
      try {
        deps.signal?.throwIfAborted();
        if (!destination?.swapAfterCommit) await swapFiles();
      } catch (error) {
        throw await prepared.abandon(error);
      }
      try {
        await prepared.commit();
      } catch (error) {
        const undo: Swap | undefined = swap;
        if (undo) await undo.undo().catch((e) => logger.error(`Could not put the previous files back: ${describeError(e)}`));
        throw error;
      }
      logger.info(`Committed: ${targetName} now holds backup ${entry.id}${mode === 'full' ? '' : ` (${selected.length} table(s))`}.`);
      if (destination?.swapAfterCommit && staged) {
        const waiting = (staged as StagedFiles).dir;
        try {
          await swapFiles();
        } catch (error) {
          // The database is final; the files are whole and verified beside the live folder: keep them, say exactly that.
          staged = undefined;
          throw new FilesNotSwapped(error, { database: targetName, staged: waiting, live: filesInfo!.target.path, backupId: entry.id });
        }
      }
    } else {
      await swapFiles();
    }
    let previousFilesPath: string | undefined = (swap as Swap | undefined)?.previous;
    if (swap && config.discardPreviousFiles) {
      await (swap as Swap).discardPrevious();
      previousFilesPath = undefined;
    }
    if (filesInfo && manifest.files)
      logger.info(`Files restored into ${filesInfo.target.path}${previousFilesPath ? `; the previous directory is kept as ${previousFilesPath}` : ''}.`);
    const restoreSeconds = (performance.now() - tRestore) / 1000;

    // ── After restoring: the drill's table-by-table verification, reported the same way.
    const tVerify = performance.now();
    const report = await verifyAndReport({
      config,
      deps,
      target,
      manifest,
      entryId: entry.id,
      uri: storage.uriOf(prefix),
      mode,
      selected,
      files,
      checksFile,
      startedAt,
    });
    report.timings = { downloadSeconds, restoreSeconds, verifySeconds: (performance.now() - tVerify) / 1000, totalSeconds: (performance.now() - t0) / 1000 };
    const { jsonPath: reportPath, junitPath } = await writeReports(config, 'restore', entry.id, report);
    logger.info(
      `Restore ${report.status}: ${report.totals.tables} table(s), ${report.totals.rows} rows verified; ${formatDuration(report.timings.totalSeconds)}. Report: ${reportPath}`,
    );
    return { preview, plan, report, dryRun: false, files, reportPath, junitPath, ...(previousFilesPath ? { previousFilesPath } : {}) };
  } finally {
    if (staged) {
      const left = staged as StagedFiles;
      await destination
        ?.removeStaged(left)
        .catch((e) => logger.warn(`The staged files at ${left.dir} could not be removed (${describeError(e)}); delete that folder.`));
    }
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The database restore committed, but the staged files could not be swapped in (e.g. the SSH link dropped). */
class FilesNotSwapped extends BackupDrillError {
  constructor(cause: unknown, at: { database: string; staged: string; live: string; backupId: string }) {
    super(
      cause instanceof BackupDrillError ? cause.category : 'failure',
      `${at.database} now holds backup ${at.backupId} (committed), but its files were not swapped in: ${describeError(cause)} ` +
        `The verified files wait at ${at.staged}; ${at.live} is unchanged.`,
      {
        hint: `On the server, finish by hand: mv ${at.live} ${at.live}.before-${at.backupId} && mv ${at.staged} ${at.live} (or delete ${at.staged} to keep the current files).`,
        cause,
      },
    );
  }
}

async function verifyAndReport(input: {
  config: Config;
  deps: RestoreDeps;
  target?: TargetState;
  manifest: Manifest;
  entryId: string;
  uri: string;
  mode: RestorePreview['restore']['mode'];
  selected: TableStats[];
  files: FilesResult;
  checksFile?: ChecksFile;
  startedAt: Date;
}): Promise<DrillReport> {
  const { config, manifest, mode } = input;
  const failures: string[] = [];
  const warnings: string[] = [];
  const checks: CheckResult[] = [];
  let tables: TableResult[] = [];
  let unexpectedTables: string[] = [];
  let objects: ObjectResult[] | undefined;
  if (mode !== 'none') {
    const expected =
      mode === 'full'
        ? manifest.tables
        : mode === 'tables'
          ? input.selected
          : input.selected.map(({ partitionOf: _, ...t }) => ({ ...t, schema: config.intoSchema! }));
    // An empty database-url means the libpq PG* variables; connect() takes undefined for that.
    const compared = await compareTables(
      config.databaseUrl as string,
      { tables: expected, formatVersion: manifest.formatVersion, checksumSettings: manifest.checksumSettings },
      config.jobs,
    );
    tables = compared.tables;
    if (mode === 'full') {
      unexpectedTables = compared.unexpected;
      for (const u of unexpectedTables)
        warnings.push(`table ${u} exists after the restore but is not in the backup (its schema is not one the backup restores)`);
      // A live target: materialized views are not refreshed again, only their state is checked.
      const verified = await objectsVerification(config.databaseUrl, manifest, { refreshMaterializedViews: false });
      objects = verified.results;
      failures.push(...verified.failures);
    }
    for (const t of tables) {
      if (t.status === 'not-verified') warnings.push(`table ${t.schema}.${t.name}: ${t.message}`);
      else if (t.status !== 'passed') failures.push(`table ${t.schema}.${t.name}: ${t.message}`);
      for (const note of t.notVerifiable ?? []) warnings.push(`table ${t.schema}.${t.name}, column ${note}`);
    }
    checks.push({ name: 'restore', kind: 'restore', status: 'passed', message: 'restored and verified in one transaction, then committed', durationMs: 0 });
    if (input.checksFile) {
      const client = await connect(config.databaseUrl);
      try {
        for (const r of await runChecks(input.checksFile.checks, client, process.env, { redactedColumns: manifest.redactions })) {
          checks.push(r);
          if (r.status === 'failed' || r.status === 'error') failures.push(`check '${r.name}': ${r.message}`);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  } else if (input.checksFile) {
    warnings.push('checks not run: only files were restored');
  }
  if (input.files.status === 'failed') failures.push(`files: ${input.files.problems.slice(0, 3).join('; ')}`);
  return {
    kind: 'restore',
    status: failures.length ? 'failed' : 'passed',
    backupId: input.entryId,
    backupName: config.name,
    backupUri: input.uri,
    backupTakenAt: manifest.finishedAt,
    backupAgeSeconds: Math.round((input.startedAt.getTime() - new Date(manifest.finishedAt).getTime()) / 1000),
    sourceServerVersion: manifest.source.serverVersion,
    drillServerVersion: input.target?.serverVersion ?? 'n/a',
    startedAt: input.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    timings: { downloadSeconds: 0, restoreSeconds: 0, verifySeconds: 0, totalSeconds: 0 },
    tables,
    unexpectedTables,
    files: input.files,
    checks,
    ...(objects ? { objects } : {}),
    totals: reportTotals(tables, checks),
    failures,
    warnings,
  };
}
