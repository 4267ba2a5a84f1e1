// The action's post step: removes throwaway clusters and temp files recorded
// by the main step, whatever happened there (success, failure, cancel).
import * as core from '@actions/core';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE } from '../constants.js';
import { cleanupStaleClusters, removeClusterAt } from '../postgres/cluster.js';
import { actionsLogger } from './core-logger.js';

export async function runPost(): Promise<void> {
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
