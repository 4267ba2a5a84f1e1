// Runs one mode "never silently": the shells wrap every backup, drill and
// restore in runTracked, which
//   - writes a run record when the run starts and refreshes it while it runs,
//   - sends the dead-man's switch `/start` ping,
//   - enforces the `timeout` (the mode stops its children, deletes partial
//     parts and releases its lock through its own abort path),
//   - completes the record (succeeded / failed / suspect / timed out / interrupted),
//   - removes records past history-keep-months,
//   - sends the success or `/fail` ping and the `notify` messages.
// None of this can fail the run: storage refusing a record (read-only
// credentials), a ping or a message that cannot be sent, each only warns.
import { hostname, userInfo } from 'node:os';
import type { Config } from '../config.js';
import { BackupDrillError, InterruptedError, TimedOutError, describeError, exitCodeOf, type ErrorCategory } from '../errors.js';
import { notifyRun, type RunEvent } from '../notify/index.js';
import { sendPing } from '../notify/ping.js';
import { openStorage } from '../storage/registry.js';
import type { Storage } from '../storage/port.js';
import type { Logger } from '../util/logger.js';
import { redact } from '../util/redact.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import {
  RECORD_REFRESH_EVERY_SECONDS,
  expiredRecordKeys,
  newRecord,
  writeRecord,
  type RunDetails,
  type RunMode,
  type RunRecord,
  type RunStatus,
} from './record.js';
import { recordKeysFor, sealDetails, type RecordKeys } from './seal.js';

/** What a finished mode says about itself (the shells map each mode's result to this). */
export interface RunOutcome {
  status: 'succeeded' | 'failed' | 'suspect';
  headline: string;
  reasons?: string[];
  warnings?: string[];
  deltas?: string[];
  backupId?: string;
  sizeBytes?: number;
  rows?: number;
  timeToRestoreSeconds?: number;
  exitCode?: number;
  suspect?: boolean;
  details?: RunDetails;
}

export interface TrackDeps {
  logger: Logger;
  /** SIGINT/SIGTERM from the shell. */
  signal?: AbortSignal;
  storage?: Storage;
  /** Test seam: seconds between record refreshes. */
  refreshEverySeconds?: number;
}

/** After the timeout aborts the run, how long its own cleanup may take before we stop waiting. */
const TIMEOUT_GRACE_MS = 60_000;

export async function runTracked<T>(
  config: Config,
  deps: TrackDeps,
  run: (signal: AbortSignal) => Promise<T>,
  outcomeOf: (result: T) => RunOutcome,
): Promise<T> {
  const { logger } = deps;
  const mode = config.mode as RunMode;
  const started = new Date();
  const history = await openHistory(config, deps, started);
  await sendPing(config.notify.pingUrl, 'start', `${mode} of '${config.name}' started on ${hostname()}`, logger);

  const timeout = new AbortController();
  const timer = setTimeout(() => {
    logger.error(`Timeout of ${config.timeoutSeconds}s reached: stopping the ${mode}, deleting partial parts and releasing the lock…`);
    timeout.abort(new TimedOutError(config.timeoutSeconds, mode));
  }, config.timeoutSeconds * 1000);
  timer.unref();
  const signal = deps.signal ? AbortSignal.any([deps.signal, timeout.signal]) : timeout.signal;

  let result: T | undefined;
  let outcome: RunOutcome;
  let status: RunStatus;
  let failure: unknown;
  try {
    result = await withGrace(run(signal), timeout.signal);
    // A mode that finished anyway after the deadline (its last step took no signal) still timed out.
    if (timeout.signal.aborted) throw timeout.signal.reason;
    outcome = outcomeOf(result);
    status = outcome.status;
  } catch (error) {
    // An interrupted run keeps the engine's own message when it names the signal: it adds what it confirmed
    // (a restore's rollback, the target unchanged), which the bare "Interrupted by SIGINT" would lose.
    const interruption = (deps.signal?.reason as Error | undefined) ?? new InterruptedError('SIGINT');
    const saysWhy = error instanceof BackupDrillError && error.message.includes(interruption.message.split('.')[0]!);
    failure = timeout.signal.aborted ? timeout.signal.reason : deps.signal?.aborted ? (saysWhy ? error : interruption) : error;
    status = timeout.signal.aborted ? 'timed-out' : deps.signal?.aborted ? 'interrupted' : 'failed';
    outcome = { status: 'failed', headline: redact(describeError(failure)), reasons: [redact(describeError(failure))], exitCode: exitCodeOf(failure) };
  } finally {
    clearTimeout(timer);
  }
  const finished = new Date();
  await history?.finish(status, outcome, failure, finished);
  const ok = status === 'succeeded';
  await sendPing(config.notify.pingUrl, ok ? 'success' : 'fail', `${status}: ${outcome.headline}`, logger);
  await notifyRun(config.notify, eventOf(config, mode, status, outcome, started, finished, history?.location), logger);
  if (failure !== undefined) throw failure;
  return result as T;
}

/** The run's own promise, but after a timeout we wait only TIMEOUT_GRACE_MS for its cleanup. */
async function withGrace<T>(work: Promise<T>, timedOut: AbortSignal): Promise<T> {
  let graceTimer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timedOut.addEventListener(
      'abort',
      () => {
        graceTimer = setTimeout(() => reject(timedOut.reason as Error), TIMEOUT_GRACE_MS);
        graceTimer.unref();
      },
      { once: true },
    );
  });
  try {
    return await Promise.race([work, gaveUp]);
  } finally {
    clearTimeout(graceTimer);
  }
}

function triggerDetails(config: Config): RunDetails['trigger'] {
  if (config.trigger.kind === 'github') {
    const { runUrl, actor, event, workflow } = config.trigger;
    return { kind: 'github', runUrl, actor, event, workflow };
  }
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = undefined;
  }
  return { kind: 'cli', host: hostname(), user };
}

interface OpenHistory {
  location: string;
  finish(status: RunStatus, outcome: RunOutcome, failure: unknown, finished: Date): Promise<void>;
}

/** Writes the start record and keeps it fresh; undefined when records cannot be kept (warned). */
async function openHistory(config: Config, deps: TrackDeps, started: Date): Promise<OpenHistory | undefined> {
  const { logger } = deps;
  let storage: Storage;
  let keys: RecordKeys | undefined;
  try {
    storage = deps.storage ?? (await openStorage(config));
    keys = recordKeysFor(config);
    // A drill or restore must not create the set's folder (a typo in storage or name would then
    // read as "no backups" instead of naming the missing folder): records only where backups are.
    if (config.mode !== 'backup' && !(await hasObjects(storage, `${config.name}/`))) return undefined;
  } catch (error) {
    logger.debug(`No run record: ${describeError(error)}`);
    return undefined; // the run itself reports the problem
  }
  const record = newRecord(config.name, config.mode as RunMode, started, `${TOOL_NAME} ${TOOL_VERSION}`);
  const base: RunDetails = { trigger: triggerDetails(config) };
  const sealedBase = keys ? await sealDetails(base, keys).catch(() => undefined) : undefined;
  const startRecord: RunRecord = keys ? { ...record, ...(sealedBase ? { sealed: sealedBase } : {}) } : { ...record, details: base };
  try {
    await writeRecord(storage, startRecord);
  } catch (error) {
    logger.warn(
      `Could not write the run record to ${storage.uriOf(`${config.name}/runs/`)} (read-only storage credentials?): ${redact(describeError(error))}. ` +
        'The run goes on; it will be missing from backup-drill history.',
    );
    return undefined;
  }

  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let refreshTimer: NodeJS.Timeout | undefined;
  const refreshMs = (deps.refreshEverySeconds ?? RECORD_REFRESH_EVERY_SECONDS) * 1000;
  const schedule = (): void => {
    if (stopped) return;
    refreshTimer = setTimeout(() => {
      startRecord.refreshedAt = new Date().toISOString();
      inFlight = writeRecord(storage, startRecord)
        .catch((error: unknown) => logger.warn(`Could not refresh the run record: ${redact(describeError(error))}`))
        .finally(schedule);
    }, refreshMs);
    refreshTimer.unref();
  };
  schedule();

  return {
    location: storage.location,
    async finish(status, outcome, failure, finished) {
      stopped = true;
      clearTimeout(refreshTimer);
      await inFlight;
      const details: RunDetails = {
        ...base,
        ...outcome.details,
        ...(failure !== undefined ? { errorMessage: redact(describeError(failure)) } : {}),
        ...(outcome.reasons?.length && failure === undefined ? { failures: outcome.reasons.slice(0, 20) } : {}),
        ...(outcome.warnings?.length ? { warnings: outcome.warnings.slice(0, 20) } : {}),
      };
      const category: ErrorCategory | undefined =
        failure instanceof BackupDrillError ? failure.category : failure !== undefined ? 'failure' : status === 'suspect' ? 'suspect' : undefined;
      const done: RunRecord = {
        ...record,
        status,
        refreshedAt: finished.toISOString(),
        finishedAt: finished.toISOString(),
        durationSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
        exitCode: outcome.exitCode ?? (failure !== undefined ? exitCodeOf(failure) : 0),
        ...(outcome.backupId ? { backupId: outcome.backupId } : {}),
        ...(outcome.sizeBytes !== undefined ? { sizeBytes: outcome.sizeBytes } : {}),
        ...(outcome.timeToRestoreSeconds !== undefined ? { timeToRestoreSeconds: outcome.timeToRestoreSeconds } : {}),
        ...(outcome.suspect ? { suspect: true } : {}),
        ...(category ? { error: { category } } : {}),
      };
      if (keys) {
        const sealed = await sealDetails(JSON.parse(redact(JSON.stringify(details))) as RunDetails, keys).catch(() => undefined);
        if (sealed) done.sealed = sealed;
      } else done.details = JSON.parse(redact(JSON.stringify(details))) as RunDetails;
      try {
        await writeRecord(storage, done);
      } catch (error) {
        logger.warn(`Could not complete the run record: ${redact(describeError(error))}. backup-drill history will show this run as interrupted.`);
        return;
      }
      try {
        const expired = await expiredRecordKeys(storage, config.name, config.historyKeepMonths, finished);
        if (expired.length) {
          await storage.delete(expired);
          logger.info(`Removed ${expired.length} run record(s) older than ${config.historyKeepMonths} month(s).`);
        }
      } catch (error) {
        logger.warn(`Could not remove old run records: ${redact(describeError(error))}`);
      }
    },
  };
}

async function hasObjects(storage: Storage, prefix: string): Promise<boolean> {
  for await (const _ of storage.list(prefix)) return true;
  return false;
}

function eventOf(config: Config, mode: RunMode, status: RunStatus, outcome: RunOutcome, started: Date, finished: Date, location: string | undefined): RunEvent {
  return {
    name: config.name,
    mode,
    status,
    headline: outcome.headline,
    reasons: outcome.reasons ?? [],
    warnings: outcome.warnings ?? [],
    deltas: outcome.deltas ?? [],
    ...(config.trigger.runUrl ? { runUrl: config.trigger.runUrl } : {}),
    storage: location ?? redact(config.storage),
    ...(outcome.backupId ? { backupId: outcome.backupId } : {}),
    ...(outcome.sizeBytes !== undefined ? { sizeBytes: outcome.sizeBytes } : {}),
    ...(outcome.rows !== undefined ? { rows: outcome.rows } : {}),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    host: hostname(),
  };
}
