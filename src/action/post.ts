// The action's post step: removes throwaway clusters and temp files recorded
// by the main step, whatever happened there (success, failure, cancel).
import * as core from '@actions/core';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE } from '../constants.js';
import { describeError } from '../errors.js';
import { releaseLocksOf, removeIncompleteBackup } from '../modes/leftovers.js';
import { cleanupStaleClusters, removeClusterAt } from '../postgres/cluster.js';
import { openStorage } from '../storage/registry.js';
import { actionsLogger } from './core-logger.js';
import { readActionConfig } from './inputs.js';

/** A main step killed mid-run (cancel, timeout) may leave its lock and partial parts: remove them. */
async function releaseLeftovers(): Promise<void> {
  const pid = Number(core.getState(STATE.pid));
  if (!pid) return;
  const prefix = core.getState(STATE.backupPrefix);
  let config;
  try {
    config = readActionConfig();
  } catch {
    return; // bad inputs: the main step failed before it could lock anything
  }
  try {
    const storage = await openStorage(config);
    if (prefix) await removeIncompleteBackup(storage, prefix, actionsLogger);
    await releaseLocksOf(storage, config.name, pid, actionsLogger);
  } catch (error) {
    core.warning(`Could not check for a lock or partial backup left by the main step: ${describeError(error)}`);
  }
}

export async function runPost(): Promise<void> {
  await releaseLeftovers();
  const recorded = core.getState(STATE.cleanup);
  const paths: Array<{ kind: 'cluster' | 'dir'; path: string }> = recorded ? JSON.parse(recorded) : [];
  for (const item of paths) {
    try {
      const exists = await access(item.path).then(
        () => true,
        () => false,
      );
      if (!exists) continue; // the main step already removed it
      const hasOwner = await access(join(item.path, 'owner.json')).then(
        () => true,
        () => false,
      );
      if (item.kind === 'cluster' && hasOwner) await removeClusterAt(item.path);
      await rm(item.path, { recursive: true, force: true });
      core.info(`Cleaned up ${item.path}`);
    } catch (error) {
      // A failed cleanup must not fail the job: warn and go on.
      core.warning(`Could not clean up ${item.path}: ${(error as Error).message}`);
    }
  }
  await cleanupStaleClusters(actionsLogger).catch(() => undefined);
}
