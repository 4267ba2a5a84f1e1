// What a run killed mid-way leaves behind, and how a later step removes it: the
// action's post step (after the runner's SIGINT → SIGTERM → SIGKILL) releases the
// lock the main step still held and deletes its backup's partial parts.
import { rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BACKUP_PARTS } from '../constants.js';
import { describeError } from '../errors.js';
import { lockPrefix } from '../storage/lock.js';
import type { Storage } from '../storage/port.js';
import type { Logger } from '../util/logger.js';

async function readJson(storage: Storage, key: string): Promise<Record<string, unknown> | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.get(key)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Deletes the locks of backup set `name` written by process `pid` on this host. Returns their keys. */
export async function releaseLocksOf(storage: Storage, name: string, pid: number, logger: Logger): Promise<string[]> {
  const mine: string[] = [];
  for await (const object of storage.list(lockPrefix(name))) {
    if (!object.key.endsWith('.json')) continue;
    const info = await readJson(storage, object.key);
    if (info?.pid === pid && info.host === hostname()) mine.push(object.key);
  }
  if (mine.length) {
    await storage.delete(mine);
    for (const key of mine) logger.info(`Released lock ${storage.uriOf(key)} left by the interrupted run.`);
  }
  return mine;
}

/** Deletes the objects of a backup that never got its manifest (a run stopped mid-way). */
export async function removeIncompleteBackup(storage: Storage, prefix: string, logger: Logger): Promise<number> {
  // A local folder also holds hidden temp files of writes in flight, which list() does not show.
  const folder = storage.localPath?.(prefix);
  if (folder) {
    const complete = await stat(join(folder, BACKUP_PARTS.manifest)).then(
      () => true,
      () => false,
    );
    const exists = await stat(folder).then(
      () => true,
      () => false,
    );
    if (complete || !exists) return 0;
    await rm(folder, { recursive: true, force: true });
    logger.info(`Removed the partial backup ${storage.uriOf(prefix)} of the interrupted run.`);
    return 1;
  }
  const keys: string[] = [];
  for await (const object of storage.list(`${prefix}/`)) keys.push(object.key);
  if (keys.length === 0 || keys.includes(`${prefix}/${BACKUP_PARTS.manifest}`)) return 0;
  try {
    await storage.delete(keys);
    logger.info(`Removed ${keys.length} partial object(s) of the interrupted backup ${storage.uriOf(prefix)}.`);
  } catch (error) {
    logger.warn(`Could not remove the partial backup ${storage.uriOf(prefix)}: ${describeError(error)}`);
  }
  return keys.length;
}
