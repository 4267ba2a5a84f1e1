// The tool cache port over @actions/cache: acquired PostgreSQL binaries are saved once per
// key (OS release, architecture, major, exact version) and restored in seconds by later runs.
import * as cache from '@actions/cache';
import type { ToolCache } from '../toolchain/index.js';

export class ActionsToolCache implements ToolCache {
  readonly name = 'GitHub Actions';

  async restore(folder: string, key: string, restoreKeys: string[]): Promise<string | undefined> {
    // Off GitHub (act, local-action, a self-hosted runner without the service) there is no cache: fetch instead.
    if (!cache.isFeatureAvailable()) return undefined;
    return cache.restoreCache([folder], key, restoreKeys);
  }

  async save(folder: string, key: string): Promise<boolean> {
    if (!cache.isFeatureAvailable()) return false;
    // saveCache logs its own failures (another job of a matrix saving the same key first is one) and returns -1.
    return (await cache.saveCache([folder], key)) !== -1;
  }
}
