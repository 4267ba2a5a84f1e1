// Where a run keeps its throwaway clusters and default reports: $RUNNER_TEMP in
// Actions (per job, emptied by the runner), otherwise a folder of this user's
// own under the OS temp dir. Never one fixed shared /tmp path: on a shared or
// self-hosted machine another user (or an earlier root run) may own it.
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/**
 * The base folder; created (mode 0755: a throwaway server's own user must traverse it) and checked to be ours.
 * `forOtherUser`: files there must be reachable by another user (root runs the throwaway server as
 * `postgres`), which RUNNER_TEMP, made 0700 by some runners, may not be.
 */
export function runTempRoot(env: NodeJS.ProcessEnv = process.env, options: { forOtherUser?: boolean } = {}): string {
  if (env.RUNNER_TEMP && !options.forOtherUser) return env.RUNNER_TEMP;
  const uid = currentUid();
  const root = join(tmpdir(), uid === undefined ? 'backup-drill' : `backup-drill-${uid}`);
  mkdirSync(root, { recursive: true, mode: 0o755 });
  assertOwnedFolder(root, uid);
  return root;
}

/** Refuses a folder that is a symlink, not a folder, or owned by someone else: files put there could be read or replaced. */
export function assertOwnedFolder(path: string, uid = currentUid()): void {
  const stat = lstatSync(path);
  if (!stat.isDirectory() || stat.isSymbolicLink()) {
    throw new UsageError(`The temp folder ${path} is not a plain folder.`, { hint: 'Remove it, or point TMPDIR at a folder of your own.' });
  }
  if (uid !== undefined && stat.uid !== uid) {
    throw new UsageError(`The temp folder ${path} belongs to another user (uid ${stat.uid}, we are ${uid}).`, {
      hint: 'Remove it, or point TMPDIR at a folder of your own.',
    });
  }
}
