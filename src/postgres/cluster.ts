// A throwaway PostgreSQL cluster: initdb + pg_ctl in a temp dir, on 127.0.0.1
// and a free port, as an unprivileged user when we run as root (initdb and
// postgres refuse root). Used by drills and by the tests' source databases.
import { createServer } from 'node:net';
import { chown, mkdir, readFile, readdir, readlink, realpath, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BackupDrillError, ToolError } from '../errors.js';
import { runTool } from '../util/exec.js';
import { processAlive } from '../util/process.js';
import { registerSecret } from '../util/redact.js';
import { runTempRoot } from '../util/temp-root.js';
import type { Logger } from '../util/logger.js';

/** Settings that make a restore fast on a cluster nobody needs after the drill. */
export const THROWAWAY_TUNING: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'minimal',
  max_wal_senders: '0',
  max_wal_size: '4GB',
  checkpoint_timeout: '30min',
  maintenance_work_mem: '512MB',
  work_mem: '64MB',
  autovacuum: 'off', // otherwise it analyzes every table a minute after the restore and skews timings
};

export interface ClusterOptions {
  binDir: string;
  /** Parent folder for the cluster's temp dir. Default: clustersRoot(). */
  parentDir?: string;
  /** A fixed port; default: a free one chosen at random. */
  port?: number;
  tuneForRestore?: boolean;
  logger?: Logger;
}

interface Owner {
  pid: number;
  binDir: string;
  dataDir: string;
  startedAt: string;
}

/** Where throwaway clusters live: $RUNNER_TEMP or this user's own temp folder (see util/temp-root). */
export function clustersRoot(parentDir?: string): string {
  // As root the server runs as another user, who must reach its folder: not under a private RUNNER_TEMP.
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return parentDir ?? join(runTempRoot(process.env, { forOtherUser: asRoot }), 'backup-drill-clusters');
}

/** A kept drill database (keep-database) survives later drills' cleanup for this long, or until `drill --cleanup`. */
export const KEPT_CLUSTER_MAX_AGE_HOURS = 24;
const KEPT_MARKER = 'kept.json';

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

let cachedUser: { uid: number; gid: number } | undefined | null = null;

/** uid/gid to run server binaries as, when we are root (looked up once per process). */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (cachedUser === null) cachedUser = lookUpUnprivilegedUser();
  return cachedUser;
}

function lookUpUnprivilegedUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
      return { uid, gid };
    } catch {
      /* try next */
    }
  }
  throw new BackupDrillError('tool', 'Running as root, and there is no postgres or nobody user to run the throwaway PostgreSQL server as.', {
    hint: 'Create one (useradd --system postgres) or run as a normal user: initdb and postgres refuse to run as root.',
  });
}

export class EphemeralCluster {
  /** The one stop in progress or done: a second caller (a timeout's early stop, then the drill's finally) waits for it. */
  private stopping?: Promise<void>;
  private constructor(
    readonly root: string,
    readonly dataDir: string,
    readonly port: number,
    readonly password: string,
    readonly binDir: string,
    private readonly user: { uid: number; gid: number } | undefined,
    private readonly logger?: Logger,
  ) {}

  readonly superuser = 'postgres';

  url(database = 'postgres'): string {
    return `postgres://${this.superuser}:${this.password}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  static async start(options: ClusterOptions): Promise<EphemeralCluster> {
    const parent = clustersRoot(options.parentDir);
    await mkdir(parent, { recursive: true, mode: 0o755 });
    const root = await mkdtemp(join(parent, 'pg-'));
    const user = unprivilegedUser();
    const dataDir = join(root, 'data');
    const password = randomBytes(18).toString('base64url');
    registerSecret(password);
    const owner: Owner = { pid: process.pid, binDir: options.binDir, dataDir, startedAt: new Date().toISOString() };
    const spawnAs = user ? { uid: user.uid, gid: user.gid } : {};
    const env = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };
    try {
      // Inside the try: a full disk can fail these writes too, and the folder must not outlive that.
      await writeFile(join(root, 'owner.json'), JSON.stringify(owner));
      await writeFile(join(root, 'pwfile'), password, { mode: 0o600 });
      if (user) {
        for (const p of [root, join(root, 'pwfile')]) await chown(p, user.uid, user.gid);
      }
      await runTool(
        join(options.binDir, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '--pwfile', join(root, 'pwfile'), '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
        { ...spawnAs, env, cwd: root },
      );
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      throw error;
    }
    await rm(join(root, 'pwfile'), { force: true });

    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      // TCP on 127.0.0.1 only: every client connects by URL, and a Unix socket under a deep temp folder
      // exceeds the 107-byte socket path limit (the server then refuses to start).
      unix_socket_directories: '',
      max_connections: '50',
      ...(options.tuneForRestore ? THROWAWAY_TUNING : {}),
    };
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      if (options.port !== undefined && (await portInUse(port))) {
        await rm(root, { recursive: true, force: true });
        throw new BackupDrillError('usage', `Port ${port} on 127.0.0.1 is already in use; the throwaway PostgreSQL cannot start there.`, {
          hint: 'Stop what listens there, or leave the port unset so a free one is chosen.',
        });
      }
      const conf = Object.entries({ ...settings, port: String(port) })
        .map(([k, v]) => `${k} = '${v}'`)
        .join('\n');
      await writeFile(join(dataDir, 'postgresql.auto.conf'), `${conf}\n`);
      if (user) await chown(join(dataDir, 'postgresql.auto.conf'), user.uid, user.gid);
      const result = await runTool(join(options.binDir, 'pg_ctl'), ['-D', dataDir, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start'], {
        ...spawnAs,
        env,
        cwd: root,
        allowFailure: true,
      });
      if (result.code === 0) {
        options.logger?.debug(`throwaway PostgreSQL started on 127.0.0.1:${port} (${root})`);
        return new EphemeralCluster(root, dataDir, port, password, options.binDir, user, options.logger);
      }
      const log = await readFile(join(root, 'server.log'), 'utf8').catch(() => '');
      // Another process may have taken the port between our probe and the start: try another.
      if (options.port === undefined && attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
      await rm(root, { recursive: true, force: true });
      throw new ToolError('pg_ctl', `The throwaway PostgreSQL server did not start (pg_ctl exit ${result.code}): ${log.split('\n').slice(-8).join('\n')}`, {
        exitCode: result.code,
      });
    }
  }

  /** Marks the cluster as kept on purpose (keep-database): later drills' stale cleanup leaves it running. */
  async markKept(): Promise<void> {
    await writeFile(join(this.root, KEPT_MARKER), JSON.stringify({ keptAt: new Date().toISOString(), port: this.port }));
  }

  /** Stops the server at once (nothing in it needs to survive) and deletes its files. */
  async stop(): Promise<void> {
    this.stopping ??= stopAndRemove(this.binDir, this.dataDir, this.root, this.user).then(() =>
      this.logger?.debug(`throwaway PostgreSQL on port ${this.port} stopped and removed`),
    );
    await this.stopping;
  }
}

async function stopAndRemove(binDir: string, dataDir: string, root: string, user?: { uid: number; gid: number }): Promise<void> {
  await runTool(join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'], {
    ...(user ?? {}),
    cwd: root,
    allowFailure: true,
  }).catch(() => undefined);
  // A run killed during initdb leaves initdb and its single-user postgres
  // running, which pg_ctl cannot stop and which keep writing into the folder.
  await killProcessesWorkingIn(root);
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/**
 * SIGKILLs every process whose working directory is inside `root` (initdb and
 * pg_ctl run there, postgres in its data dir), so nothing recreates files while
 * the folder is removed. Linux only (/proc); elsewhere it does nothing.
 */
export async function killProcessesWorkingIn(folder: string): Promise<number> {
  let pids: string[];
  let root: string;
  try {
    root = await realpath(folder); // /proc shows resolved paths

    pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid);
  } catch {
    return 0;
  }
  const killed: number[] = [];
  for (const pid of pids) {
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cwd !== root && !cwd.startsWith(`${root}/`)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
      killed.push(Number(pid));
    } catch {
      /* already gone */
    }
  }
  for (let i = 0; i < 50 && killed.some(processAlive); i++) await new Promise((r) => setTimeout(r, 20));
  return killed.length;
}

/** When a kept cluster was kept, or undefined when it was not kept on purpose. */
async function keptAt(root: string): Promise<Date | undefined> {
  const text = await readFile(join(root, KEPT_MARKER), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const at = new Date((JSON.parse(text) as { keptAt?: string }).keptAt ?? 0);
  return Number.isNaN(at.getTime()) ? new Date(0) : at;
}

export interface StaleCleanupOptions {
  /** Also remove clusters kept on purpose (`drill --cleanup`). */
  includeKept?: boolean;
  now?: Date;
}

/**
 * Removes clusters left behind by runs that died (killed mid-drill). Clusters
 * kept on purpose (keep-database) stay until they are older than
 * KEPT_CLUSTER_MAX_AGE_HOURS, or includeKept is set.
 */
export async function cleanupStaleClusters(logger?: Logger, parentDir?: string, options: StaleCleanupOptions = {}): Promise<number> {
  const parent = clustersRoot(parentDir);
  let removed = 0;
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const root = join(parent, entry);
    try {
      const owner = JSON.parse(await readFile(join(root, 'owner.json'), 'utf8')) as Owner;
      if (processAlive(owner.pid)) continue;
      const kept = await keptAt(root);
      const now = options.now ?? new Date();
      if (kept && !options.includeKept && now.getTime() - kept.getTime() < KEPT_CLUSTER_MAX_AGE_HOURS * 3600_000) {
        logger?.debug(`left the kept drill database in ${root} running (kept at ${kept.toISOString()})`);
        continue;
      }
      await stopAndRemove(owner.binDir, owner.dataDir, root, unprivilegedUser());
      if (kept) logger?.info(`Removed a kept drill database (kept at ${kept.toISOString()}, started ${owner.startedAt}).`);
      else logger?.warn(`Removed a throwaway PostgreSQL left behind by an earlier run (pid ${owner.pid}, started ${owner.startedAt}).`);
      removed++;
    } catch (error) {
      // Not ours, half-written, or could not be removed: leave it, and say so.
      logger?.debug(`left ${root} in place: ${(error as Error).message}`);
    }
  }
  return removed;
}

/** Stops a cluster recorded by path (the action's post step uses this). */
export async function removeClusterAt(root: string): Promise<void> {
  const owner = JSON.parse(await readFile(join(root, 'owner.json'), 'utf8')) as Owner;
  await stopAndRemove(owner.binDir, owner.dataDir, root, unprivilegedUser());
}
