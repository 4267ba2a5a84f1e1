// A lock-file protocol that works on any backend, modelled on restic's locks.
// Backends offer no compare-and-swap (the S3 test server ignores If-None-Match),
// so each run writes its own lock file, waits, lists, and the oldest live lock
// wins. Ordering is by (createdAt, id) read from the files, so every run agrees.
//
// Two kinds: exclusive locks (backup, prune, delete) exclude each other; shared
// locks (a drill or a restore reading a backup) exclude nothing but deletion.
// A run that is about to delete marks its exclusive lock `deletes`, waits the
// settle time and lists again: a live shared lock makes it skip the deletion,
// and a reader meeting an older deleting lock backs off. Either way, no backup
// is deleted under a reader.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockedError, UsageError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { hostname } from 'node:os';
import { processAlive } from '../util/process.js';
import { joinKey, type ObjectInfo, type Storage } from './port.js';

export interface LockInfo {
  id: string;
  operation: string;
  /** host/pid, or the GitHub run URL. */
  holder: string;
  createdAt: string;
  refreshedAt: string;
  /** Host name and pid of the process: a lock of a dead process on this same host is stale at once. */
  host?: string;
  pid?: number;
  /** A reader's lock (drill, restore): blocks deletions only. */
  shared?: boolean;
  /** Set on an exclusive lock once its run starts deleting backups (prune, delete). */
  deletes?: boolean;
}

export interface LockOptions {
  operation: string;
  /** A reader's lock: not refused by other locks except an older one that deletes. */
  shared?: boolean;
  holder: string;
  /** A lock not refreshed for this long belongs to a dead run. Default 30 minutes. */
  staleAfterSeconds?: number;
  /** Default 5 minutes. Must be well under staleAfterSeconds. */
  refreshEverySeconds?: number;
  /** Wait between writing our lock and listing, so concurrent writers see each other. Default 500. */
  settleMs?: number;
  logger: Logger;
  now?: () => Date;
}

export interface HeldLock {
  info: LockInfo;
  /** Stops refreshing and deletes the lock file. Never throws: failures are logged. */
  release(): Promise<void>;
  /**
   * Marks this (exclusive) lock as deleting, waits for concurrent readers to
   * see it, and returns the live shared locks: any of them means "do not delete now".
   */
  startDeleting(): Promise<LockInfo[]>;
}

const DEFAULT_STALE_AFTER_SECONDS = 30 * 60;
const DEFAULT_REFRESH_EVERY_SECONDS = 5 * 60;
const DEFAULT_SETTLE_MS = 500;

export function lockPrefix(name: string): string {
  return `${joinKey('locks', name)}/`;
}

export async function acquireLock(storage: Storage, name: string, options: LockOptions): Promise<HeldLock> {
  const now = options.now ?? (() => new Date());
  const staleAfterMs = (options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS) * 1000;
  const refreshEveryMs = (options.refreshEverySeconds ?? DEFAULT_REFRESH_EVERY_SECONDS) * 1000;
  checkTimings(staleAfterMs, refreshEveryMs);

  const created = now();
  const info: LockInfo = {
    id: newLockId(created),
    operation: options.operation,
    holder: options.holder,
    createdAt: created.toISOString(),
    refreshedAt: created.toISOString(),
    host: hostname(),
    pid: process.pid,
    ...(options.shared ? { shared: true } : {}),
  };
  const key = `${lockPrefix(name)}${info.id}.json`;
  await writeLock(storage, key, info);
  try {
    await sleep(options.settleMs ?? DEFAULT_SETTLE_MS);
    const others = await readOtherLocks(storage, name, key);
    const live = await dropStaleLocks(storage, others, now(), staleAfterMs, options.logger);
    const winner = live.filter((other) => conflicts(info, other.info) && isOlder(other.info, info)).sort((a, b) => (isOlder(a.info, b.info) ? -1 : 1))[0];
    if (winner) throw lockedError(storage, name, winner, staleAfterMs);
  } catch (error) {
    // Whatever went wrong, we do not hold the lock: leave no file that blocks others.
    await storage.delete([key]).catch(() => undefined);
    throw error;
  }
  options.logger.debug(`Acquired ${options.shared ? 'shared ' : ''}lock ${storage.uriOf(key)}.`);
  return holdLock(storage, name, key, info, { ...options, now, refreshEveryMs, staleAfterMs });
}

/** Exclusive locks exclude each other; a shared lock is excluded only by a lock that deletes. */
function conflicts(mine: LockInfo, other: LockInfo): boolean {
  if (mine.shared) return !other.shared && Boolean(other.deletes);
  return !other.shared;
}

/** The live shared locks of a backup set, other than `ownKey` (stale ones are removed as usual). */
async function liveSharedLocks(storage: Storage, name: string, ownKey: string, now: Date, staleAfterMs: number, logger: Logger): Promise<LockInfo[]> {
  const live = await dropStaleLocks(storage, await readOtherLocks(storage, name, ownKey), now, staleAfterMs, logger);
  return live.filter((l) => l.info.shared).map((l) => l.info);
}

function checkTimings(staleAfterMs: number, refreshEveryMs: number): void {
  if (!(refreshEveryMs > 0) || !(staleAfterMs > refreshEveryMs)) {
    // Otherwise a live run's lock would look stale to others between refreshes.
    throw new UsageError(`Lock refresh interval (${refreshEveryMs / 1000}s) must be above 0 and below the stale-after time (${staleAfterMs / 1000}s).`);
  }
}

/** Sorts by creation time, then randomly: `20261124T062000123Z-1a2b3c4d`. */
export function newLockId(created: Date): string {
  const stamp = created.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

async function writeLock(storage: Storage, key: string, info: LockInfo): Promise<void> {
  await storage.put(key, Readable.from([Buffer.from(`${JSON.stringify(info, null, 2)}\n`)]));
}

interface FoundLock {
  key: string;
  info: LockInfo;
}

async function readOtherLocks(storage: Storage, name: string, ownKey: string): Promise<FoundLock[]> {
  const found: FoundLock[] = [];
  for await (const object of storage.list(lockPrefix(name))) {
    if (object.key === ownKey || !object.key.endsWith('.json')) continue;
    const info = await readLock(storage, object);
    if (info) found.push({ key: object.key, info });
  }
  return found;
}

/** undefined when the lock vanished between list and get (its run released it). */
async function readLock(storage: Storage, object: ObjectInfo): Promise<LockInfo | undefined> {
  let text: string;
  try {
    text = await readText(storage, object.key);
  } catch (error) {
    if ((await storage.stat(object.key)) === undefined) return undefined;
    throw error;
  }
  return parseLock(text, object);
}

async function readText(storage: Storage, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A lock file we cannot parse still counts as a lock (it may be from a newer
 * version): it is dated by its storage time, so it expires like any other.
 */
function parseLock(text: string, object: ObjectInfo): LockInfo {
  const fallbackTime = object.modified.toISOString();
  const fileId = object.key.slice(object.key.lastIndexOf('/') + 1).replace(/\.json$/, '');
  let raw: Partial<Record<keyof LockInfo, unknown>> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') raw = parsed as typeof raw;
  } catch {
    // keep the fallbacks
  }
  const str = (v: unknown, fallback: string) => (typeof v === 'string' && v.length > 0 ? v : fallback);
  const time = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : fallbackTime);
  return {
    id: str(raw.id, fileId),
    operation: str(raw.operation, 'unknown operation'),
    holder: str(raw.holder, 'an unknown holder (unreadable lock file)'),
    ...(typeof raw.host === 'string' && typeof raw.pid === 'number' ? { host: raw.host, pid: raw.pid } : {}),
    ...(raw.shared === true ? { shared: true } : {}),
    ...(raw.deletes === true ? { deletes: true } : {}),
    createdAt: time(raw.createdAt),
    refreshedAt: time(raw.refreshedAt),
  };
}

async function dropStaleLocks(storage: Storage, locks: FoundLock[], now: Date, staleAfterMs: number, logger: Logger): Promise<FoundLock[]> {
  const live: FoundLock[] = [];
  for (const lock of locks) {
    const deadHere = lock.info.host === hostname() && lock.info.pid !== undefined && !processAlive(lock.info.pid);
    if (deadHere) {
      logger.warn(
        `Removing lock ${storage.uriOf(lock.key)} held by ${lock.info.holder} (${lock.info.operation}): its process ${lock.info.pid} on this host is gone.`,
      );
      await storage.delete([lock.key]);
      continue;
    }
    if (now.getTime() - Date.parse(lock.info.refreshedAt) <= staleAfterMs) {
      live.push(lock);
      continue;
    }
    logger.warn(
      `Removing stale lock ${storage.uriOf(lock.key)} held by ${lock.info.holder} (${lock.info.operation}) since ${lock.info.createdAt}: ` +
        `not refreshed since ${lock.info.refreshedAt}, more than ${formatMinutes(staleAfterMs)} ago, so that run is presumed dead.`,
    );
    await storage.delete([lock.key]);
  }
  return live;
}

/** The total order every run agrees on: earlier createdAt wins, then the smaller id. */
function isOlder(a: LockInfo, b: LockInfo): boolean {
  const diff = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  return diff < 0 || (diff === 0 && a.id < b.id);
}

function lockedError(storage: Storage, name: string, other: FoundLock, staleAfterMs: number): LockedError {
  const expires = new Date(Date.parse(other.info.refreshedAt) + staleAfterMs).toISOString();
  const doing = `${other.info.operation}${other.info.deletes ? ', deleting backups' : ''}`;
  return new LockedError(`Backup set '${name}' is locked by ${other.info.holder} (${doing}) since ${other.info.createdAt}.`, {
    hint:
      `Wait for that run to finish and retry. If you are sure it is dead, delete the lock file ${storage.uriOf(other.key)}; ` +
      `otherwise it expires ${formatMinutes(staleAfterMs)} after its last refresh (at ${expires} unless refreshed).`,
  });
}

function formatMinutes(ms: number): string {
  const minutes = ms / 60_000;
  return minutes >= 1 ? `${Number(minutes.toFixed(1))} minutes` : `${Number((ms / 1000).toFixed(1))} seconds`;
}

/** Keeps our lock fresh until release. Refresh failures are warnings: the backup itself goes on. */
function holdLock(
  storage: Storage,
  name: string,
  key: string,
  info: LockInfo,
  options: { logger: Logger; now: () => Date; refreshEveryMs: number; staleAfterMs: number; settleMs?: number },
): HeldLock {
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const refresh = async (): Promise<void> => {
    if (released) return;
    // Someone removed our lock (they judged it stale): writing it back would hide that.
    if ((await storage.stat(key)) === undefined) {
      options.logger.warn(
        `Lock ${storage.uriOf(key)} was removed by someone else; another run may now be working on this backup set. No longer refreshing it.`,
      );
      released = true;
      return;
    }
    if (released) return;
    info.refreshedAt = options.now().toISOString();
    await writeLock(storage, key, info);
  };
  const schedule = (): void => {
    if (released) return;
    // A timeout chain rather than setInterval: refreshes never overlap.
    timer = setTimeout(() => {
      inFlight = refresh()
        .catch((error: unknown) => {
          options.logger.warn(`Could not refresh lock ${storage.uriOf(key)}: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(schedule);
    }, options.refreshEveryMs);
    // Never keep the process alive just to refresh a lock.
    timer.unref();
  };
  schedule();

  return {
    info,
    async startDeleting() {
      if (!info.deletes) {
        info.deletes = true;
        await inFlight;
        await writeLock(storage, key, info);
        await sleep(options.settleMs ?? DEFAULT_SETTLE_MS);
      }
      return liveSharedLocks(storage, name, key, options.now(), options.staleAfterMs, options.logger);
    },
    async release() {
      if (released && timer === undefined) return;
      released = true;
      clearTimeout(timer);
      timer = undefined;
      // A refresh already writing must finish first, or it would re-create the file after our delete.
      await inFlight;
      try {
        await storage.delete([key]);
        options.logger.debug(`Released lock ${storage.uriOf(key)}.`);
      } catch (error) {
        options.logger.warn(
          `Could not remove lock ${storage.uriOf(key)}: ${error instanceof Error ? error.message : String(error)}. ` +
            'Delete it by hand, or other runs wait until it goes stale.',
        );
      }
    },
  };
}
