// Finds PostgreSQL client/server binaries of a wanted major version. The most
// common silent failure in peer tools is a pg_dump older than the server.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { access, readdir, realpath, constants as fsConstants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { EnvironmentError } from '../errors.js';

const run = promisify(execFile);

export interface BinDir {
  dir: string;
  major: number;
  version: string;
}

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function candidateDirs(preferDir?: string, searchDirs?: string[]): Promise<string[]> {
  const dirs: string[] = [];
  if (preferDir) dirs.push(preferDir);
  if (searchDirs) return [...dirs, ...searchDirs];
  for (const base of ['/usr/lib/postgresql', '/usr/pgsql', '/opt/homebrew/opt']) {
    try {
      const entries = await readdir(base);
      for (const e of entries.sort((a, b) => Number(b) - Number(a))) dirs.push(join(base, e, 'bin'));
    } catch {
      /* not there */
    }
  }
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d) dirs.push(d);
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    dirs.push(stdout.trim());
  } catch {
    /* no pg_config */
  }
  return [...new Set(dirs)];
}

async function versionOf(tool: string): Promise<{ major: number; version: string } | undefined> {
  try {
    const { stdout } = await run(tool, ['--version'], { timeout: 10000 });
    const match = /(\d+)(?:\.(\d+))?/.exec(stdout.replace(/^[^)]*\)/, ''));
    if (!match) return undefined;
    const major = Number(match[1]);
    return { major: major >= 10 ? major : Number(`${match[1]}.${match[2]}`), version: match[0] };
  } catch {
    return undefined;
  }
}

// Probing runs `--version` in every candidate folder: remember the answers for this process.
const probed = new Map<string, Promise<BinDir[]>>();

/** Every directory holding all `tools`, with the version of the first tool. */
export function findAllBinDirs(tools: string[], preferDir?: string, searchDirs?: string[]): Promise<BinDir[]> {
  const key = JSON.stringify([tools, preferDir, searchDirs, process.env.PATH]);
  let found = probed.get(key);
  if (!found) {
    found = probeBinDirs(tools, preferDir, searchDirs);
    probed.set(key, found);
    found.catch(() => probed.delete(key));
  }
  return found.then((dirs) => dirs.map((d) => ({ ...d })));
}

async function probeBinDirs(tools: string[], preferDir?: string, searchDirs?: string[]): Promise<BinDir[]> {
  const dirs = await candidateDirs(preferDir, searchDirs);
  // Every candidate at once (each `--version` of the Debian wrapper takes ~0.1 s), and each real file once.
  const probes = await Promise.all(
    dirs.map(async (dir) => {
      for (const tool of tools) if (!(await isExecutable(join(dir, tool)))) return undefined;
      const real = await realpath(join(dir, tools[0]!)).catch(() => join(dir, tools[0]!));
      return { dir, real };
    }),
  );
  const versions = new Map<string, Promise<{ major: number; version: string } | undefined>>();
  // Run by the candidate's own name: Debian's pg_wrapper picks the program from it.
  for (const p of probes) if (p && !versions.has(p.real)) versions.set(p.real, versionOf(join(p.dir, tools[0]!)));
  const found: BinDir[] = [];
  const seen = new Set<string>();
  for (const p of probes) {
    if (!p) continue;
    const v = await versions.get(p.real)!;
    if (!v) continue;
    const key = `${v.version}:${tools.join(',')}`;
    if (seen.has(key) && p.dir !== preferDir) continue;
    seen.add(key);
    found.push({ dir: p.dir, ...v });
  }
  return found;
}

/**
 * The best directory for a server of major `wanted`: the same major if there
 * is one, else the nearest newer one. The preferred dir wins when it qualifies.
 */
export async function findBinDir(options: {
  tools: string[];
  wanted: number;
  preferDir?: string;
  purpose: string;
  exact?: boolean;
  /** Replaces the default search (PATH, pg_config, /usr/lib/postgresql/*): for tests. */
  searchDirs?: string[];
}): Promise<BinDir> {
  const all = await findAllBinDirs(options.tools, options.preferDir, options.searchDirs);
  const ok = all.filter((b) => (options.exact ? b.major === options.wanted : b.major >= options.wanted));
  const preferred = ok.find((b) => b.dir === options.preferDir);
  const best = preferred ?? ok.sort((a, b) => a.major - b.major)[0];
  if (best) return best;
  const seen = all.length ? all.map((b) => `${b.major} (${b.dir})`).join(', ') : 'none';
  // Missing binaries are this machine's problem (exit 9), not the backup's.
  throw new EnvironmentError(
    `No ${options.tools.join('/')} of PostgreSQL ${options.wanted}${options.exact ? '' : ' or newer'} found for ${options.purpose}; found: ${seen}.`,
    {
      hint:
        `Install the PostgreSQL ${options.wanted} client tools (Debian/Ubuntu: add the PostgreSQL apt repository, then 'apt-get install postgresql-client-${options.wanted}'` +
        `${options.tools.includes('initdb') ? ` or 'postgresql-${options.wanted}'` : ''}; macOS: 'brew install postgresql@${options.wanted}'), ` +
        `or point 'postgres-bin-dir' at a folder that has them.`,
    },
  );
}
