// Parallel work fails with many errors at once when one cause breaks several streams (a full
// disk breaks the tar, its writer and the list): report the one that explains it.
import { setTimeout as sleep } from 'node:timers/promises';
import { BackupDrillError } from '../errors.js';

function isTelling(error: unknown): boolean {
  return error instanceof BackupDrillError && error.category !== 'failure';
}

/** The most telling failure: the first typed error (it names the path or endpoint and the fix), else the first. */
export function mostTellingFailure(results: readonly PromiseSettledResult<unknown>[]): unknown {
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
  return rejected.find(isTelling) ?? rejected[0];
}

/**
 * Like Promise.all, but when the first failure is a raw one, waits a moment (some work never
 * settles once its consumer is gone) for a typed failure of the same cause, and throws that.
 */
export async function allSettledOrThrow<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }, graceMs = 1000): Promise<T> {
  const failures: unknown[] = [];
  const watched = (promises as readonly Promise<unknown>[]).map((p) =>
    p.catch((error: unknown) => {
      failures.push(error);
      throw error;
    }),
  );
  try {
    return (await Promise.all(watched)) as unknown as T;
  } catch (first) {
    const deadline = Date.now() + graceMs;
    while (!failures.some(isTelling) && Date.now() < deadline) await sleep(20);
    throw failures.find(isTelling) ?? first;
  }
}
