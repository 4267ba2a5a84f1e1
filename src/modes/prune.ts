// prune: apply retention (keep-last/daily/weekly/monthly, as restic's
// `forget --keep-*`) over *verified* backups only. A damaged backup counts
// toward no rule and goes only with --damaged; the newest backup that verifies
// is never deleted, and must have been read in full (this run, a verify, or a
// passed drill) before anything older is deleted. Incomplete backups go after
// a grace period (they may be a run in progress). Readers' shared locks
// (drills, restores) make it skip deleting.
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import { IntegrityError, LockedError, StorageError, UsageError, describeError } from '../errors.js';
import { assessBackup, deleteBackup, listBackups, readIndex, type BackupState, type CatalogEntry } from '../storage/catalog.js';
import { acquireLock, type HeldLock } from '../storage/lock.js';
import type { Storage } from '../storage/port.js';
import { hasRetention, planRetention, validatePolicy, type RetentionDecision } from '../storage/retention.js';
import { openStorage } from '../storage/registry.js';
import type { Logger } from '../util/logger.js';
import { recordMarker, verifyBackup } from './verify.js';
import { isSuspect } from '../history/markers.js';

export interface PruneResult {
  decisions: RetentionDecision[];
  deleted: string[];
  dryRun: boolean;
  /** Complete backups found damaged, with why; they counted toward no keep rule. */
  damaged: Array<{ id: string; reason: string }>;
  /** Set when deleting was skipped (a reader holds a shared lock): why. */
  skipped?: string;
}

export interface PruneOptions {
  logger: Logger;
  dryRun: boolean;
  now?: Date;
  /** The caller's exclusive lock: marked as deleting before anything is deleted. */
  lock?: HeldLock;
  /** Backups this run has read in full (a backup just written counts). */
  readInFull?: string[];
  /** Remove damaged backups too (prune --damaged). */
  pruneDamaged?: boolean;
}

/** Who holds a lock: the GitHub run, or host/pid in a terminal. */
export function lockHolder(config: Pick<Config, 'trigger'>): string {
  return config.trigger.runUrl ?? `${hostname()} pid ${process.pid}`;
}

export async function withLock<T>(
  storage: Storage,
  config: Pick<Config, 'name' | 'trigger'>,
  operation: string,
  logger: Logger,
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const lock: HeldLock = await acquireLock(storage, config.name, { operation, holder: lockHolder(config), logger });
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/**
 * A reader's shared lock (drill, restore): prune does not delete while it is
 * held. Read-only storage credentials cannot write one: then warn and go on.
 */
export async function withSharedLock<T>(
  storage: Storage,
  config: Pick<Config, 'name' | 'trigger'>,
  operation: string,
  logger: Logger,
  fn: () => Promise<T>,
): Promise<T> {
  let lock: HeldLock | undefined;
  // Read first: writing the lock would create a storage folder that does not exist (a typo in 'storage'),
  // and the reader would then say "no backups" instead of naming the missing folder.
  for await (const _ of storage.list(`${config.name}/`)) break;
  try {
    lock = await acquireLock(storage, config.name, { operation, holder: lockHolder(config), logger, shared: true });
  } catch (error) {
    if (error instanceof LockedError) throw error;
    logger.warn(
      `Could not write a shared lock for this ${operation} (read-only storage credentials?): ${describeError(error)}. ` +
        'Going on without it: a prune running meanwhile could delete the backup being read.',
    );
  }
  try {
    return await fn();
  } finally {
    await lock?.release();
  }
}

/** Applies retention; the caller holds the lock. */
export async function pruneUnlocked(storage: Storage, config: Pick<Config, 'name' | 'retention'>, options: PruneOptions): Promise<PruneResult> {
  const { logger } = options;
  validatePolicy(config.retention);
  const entries = await listBackups(storage, config.name);
  const states = new Map<string, BackupState>();
  for (const entry of entries) states.set(entry.id, await assessBackup(storage, config.name, entry));
  await ensureNewestReadInFull(storage, config.name, entries, states, options);

  const damaged = entries.flatMap((e) => {
    const s = states.get(e.id)!;
    return s.state === 'damaged' ? [{ id: e.id, reason: s.reason }] : [];
  });
  for (const d of damaged) logger.warn(`Backup ${d.id} is damaged and counts toward no keep rule: ${d.reason}`);
  if (damaged.length > 0 && !entries.some((e) => states.get(e.id)!.state === 'verified')) {
    throw new IntegrityError(
      `Prune refused: no backup of set '${config.name}' verifies, so nothing was deleted. Damaged: ${damaged.map((d) => d.id).join(', ')}.`,
      {
        hint: 'Take a new backup now and check the storage. Remove damaged backups with prune --damaged or delete once a good one exists.',
      },
    );
  }

  const decisions = planRetention(
    entries.map((e) => {
      const s = states.get(e.id)!;
      return {
        id: e.id,
        time: e.time,
        complete: e.complete,
        ...(s.state === 'damaged' ? { damaged: s.reason } : {}),
        ...(isSuspect(e, config.name) ? { suspect: true } : {}),
      };
    }),
    config.retention,
    { now: options.now ?? new Date(), pruneDamaged: options.pruneDamaged },
  );
  const doomed = decisions.filter((d) => !d.keep);
  let skipped: string | undefined;
  if (doomed.length && !options.dryRun && options.lock) {
    const readers = await options.lock.startDeleting();
    if (readers.length) {
      skipped = `a ${readers.map((r) => `${r.operation} by ${r.holder} (since ${r.createdAt})`).join(', ')} is reading this backup set`;
      logger.warn(`Retention skipped: ${skipped}. Nothing was deleted; the next prune will catch up.`);
    }
  }
  const deleted: string[] = [];
  for (const d of decisions) {
    const remove = !d.keep && !skipped;
    const verb = d.keep ? 'keep  ' : options.dryRun ? 'would remove' : skipped ? 'would remove (skipped)' : 'remove';
    logger.info(`${verb} ${d.id}  (${d.reasons.join(', ')})`);
    if (!remove || options.dryRun) continue;
    await deleteBackup(
      storage,
      entries.find((e) => e.id === d.id)!,
    );
    deleted.push(d.id);
  }
  const removedText = options.dryRun ? `${doomed.length} would be removed (dry run)` : skipped ? `0 removed (skipped)` : `${deleted.length} removed`;
  logger.info(`Retention: ${decisions.filter((d) => d.keep).length} kept, ${removedText}${damaged.length ? `, ${damaged.length} damaged` : ''}.`);
  return { decisions, deleted, dryRun: options.dryRun, damaged, ...(skipped ? { skipped } : {}) };
}

/**
 * The newest backup kept must be known good in full, not only by its sizes:
 * read by this run, or recorded as verified (verify, drill). When it is not,
 * read it now (stored bytes against their digests, no key needed); a backup
 * that fails is damaged, and the next one behind it is tried.
 */
async function ensureNewestReadInFull(
  storage: Storage,
  name: string,
  entries: CatalogEntry[],
  states: Map<string, BackupState>,
  options: PruneOptions,
): Promise<void> {
  for (const entry of entries) {
    const state = states.get(entry.id)!;
    if (state.state !== 'verified') continue;
    if (state.marker || options.readInFull?.includes(entry.id)) return;
    options.logger.info(`Reading backup ${entry.id} in full: it is the newest that verifies, and no verify or drill has recorded reading it.`);
    const result = await verifyBackup(storage, name, entry.id, { logger: options.logger, recordMarker: false });
    if (result.ok) {
      if (!options.dryRun) await recordMarker(storage, name, entry.id, await readIndex(storage, name, entry.id), 'prune', options.logger);
      return;
    }
    const bad = result.parts.filter((p) => !p.ok);
    const reason = bad.map((p) => `${p.name}: ${p.message}`).join('; ');
    // A storage that could not be read says nothing about the backup: stop, rather than judge it damaged.
    if (bad.every((p) => p.unreadable))
      throw new StorageError(`Prune stopped: backup ${entry.id} could not be read in full, so nothing was deleted: ${reason}`, {
        hint: 'Check the storage (endpoint, credentials, throttling) and run prune again.',
      });
    states.set(entry.id, { state: 'damaged', reason });
  }
}

export async function runPrune(config: Config, deps: { logger: Logger; storage?: Storage; dryRun?: boolean; pruneDamaged?: boolean }): Promise<PruneResult> {
  const storage = deps.storage ?? (await openStorage(config));
  const dryRun = deps.dryRun ?? config.dryRun;
  if (!hasRetention(config.retention) && !deps.pruneDamaged) {
    throw new UsageError('prune needs a retention policy: set at least one of keep-last, keep-daily, keep-weekly, keep-monthly (or --damaged).', {
      input: 'keep-last',
    });
  }
  const options = { logger: deps.logger, dryRun, pruneDamaged: deps.pruneDamaged };
  if (dryRun) return pruneUnlocked(storage, config, options);
  return withLock(storage, config, 'prune', deps.logger, (lock) => pruneUnlocked(storage, config, { ...options, lock }));
}
