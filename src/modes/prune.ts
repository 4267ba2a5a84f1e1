// prune: apply retention (keep-last/daily/weekly/monthly, as restic's
// `forget --keep-*`). Never deletes the newest complete backup; removes
// incomplete backups only after a grace period (they may be a run in progress).
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import { deleteBackup, listBackups } from '../storage/catalog.js';
import { acquireLock, type HeldLock } from '../storage/lock.js';
import type { Storage } from '../storage/port.js';
import { hasRetention, planRetention, validatePolicy, type RetentionDecision } from '../storage/retention.js';
import { openStorage } from '../storage/registry.js';
import type { Logger } from '../util/logger.js';

export interface PruneResult {
  decisions: RetentionDecision[];
  deleted: string[];
  dryRun: boolean;
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
  fn: () => Promise<T>,
): Promise<T> {
  const lock: HeldLock = await acquireLock(storage, config.name, { operation, holder: lockHolder(config), logger });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Applies retention; the caller holds the lock. */
export async function pruneUnlocked(
  storage: Storage,
  config: Pick<Config, 'name' | 'retention'>,
  options: { logger: Logger; dryRun: boolean; now?: Date },
): Promise<PruneResult> {
  const { logger } = options;
  validatePolicy(config.retention);
  const entries = await listBackups(storage, config.name);
  const decisions = planRetention(
    entries.map((e) => ({ id: e.id, time: e.time, complete: e.complete })),
    config.retention,
    { now: options.now ?? new Date() },
  );
  const deleted: string[] = [];
  for (const d of decisions) {
    const verb = d.keep ? 'keep  ' : options.dryRun ? 'would remove' : 'remove';
    logger.info(`${verb} ${d.id}  (${d.reasons.join(', ')})`);
    if (d.keep || options.dryRun) continue;
    await deleteBackup(
      storage,
      entries.find((e) => e.id === d.id)!,
    );
    deleted.push(d.id);
  }
  logger.info(
    `Retention: ${decisions.filter((d) => d.keep).length} kept, ${options.dryRun ? `${decisions.filter((d) => !d.keep).length} would be removed (dry run)` : `${deleted.length} removed`}.`,
  );
  return { decisions, deleted, dryRun: options.dryRun };
}

export async function runPrune(config: Config, deps: { logger: Logger; storage?: Storage; dryRun?: boolean }): Promise<PruneResult> {
  const storage = deps.storage ?? (await openStorage(config));
  const dryRun = deps.dryRun ?? config.dryRun;
  if (!hasRetention(config.retention)) {
    const { UsageError } = await import('../errors.js');
    throw new UsageError('prune needs a retention policy: set at least one of keep-last, keep-daily, keep-weekly, keep-monthly.', { input: 'keep-last' });
  }
  if (dryRun) return pruneUnlocked(storage, config, { logger: deps.logger, dryRun });
  return withLock(storage, config, 'prune', deps.logger, () => pruneUnlocked(storage, config, { logger: deps.logger, dryRun }));
}
