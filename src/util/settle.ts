// Parallel work fails with many errors at once when one cause breaks several streams (a full
// disk breaks the tar, its writer and the list): report the one that explains it.
import { BackupDrillError } from '../errors.js';

/** The most telling failure: the first typed error (it names the path or endpoint and the fix), else the first. */
export function mostTellingFailure(results: readonly PromiseSettledResult<unknown>[]): unknown {
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
  return rejected.find((e) => e instanceof BackupDrillError && e.category !== 'failure') ?? rejected[0];
}

/** Like Promise.all, but waits for every promise and rejects with the most telling failure. */
export async function allSettledOrThrow<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  if (results.some((r) => r.status === 'rejected')) throw mostTellingFailure(results);
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
