// Binaries of any PostgreSQL major from the PostgreSQL apt repository, without root and
// without touching the machine's apt: a private apt state and sources list, `apt-get
// download` of the packages, `dpkg-deb -x` into a tool folder, and an `ldd` check that every
// shared library is found. Nothing is installed system-wide.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, describeError } from '../errors.js';
import { runTool } from '../util/exec.js';
import type { Logger } from '../util/logger.js';
import { PGDG_KEY } from './pgdg-key.js';
import { debianArch, hasAptTools, readOsRelease, type OsRelease } from './platform.js';
import { TOOLS, type AcquiredTools, type ToolKind, type ToolSource } from './types.js';
import { fillToolFolder, missingLibraries } from './tool-folder.js';

export const PGDG_URL = 'https://apt.postgresql.org/pub/repos/apt';
const KEY_PATH = '/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc';

export interface AptSourceOptions {
  /** The sources.list text to use instead of the PostgreSQL apt repository (a mirror, or a local `file:` repository in tests). */
  sourcesList?: string;
  osRelease?: OsRelease;
  /** Debian architecture name; default: this machine's. */
  arch?: string;
  logger?: Logger;
}

/** The packages that carry `kind` of `major`: libpq5 comes along, since newer clients need a libpq at least as new. */
export function aptPackages(major: number, kind: ToolKind): string[] {
  return kind === 'server' ? [`postgresql-${major}`, `postgresql-client-${major}`, 'libpq5'] : [`postgresql-client-${major}`, 'libpq5'];
}

export class AptSource implements ToolSource {
  readonly name = 'apt';
  constructor(private readonly options: AptSourceOptions = {}) {}

  private async release(): Promise<OsRelease | undefined> {
    return this.options.osRelease ?? (await readOsRelease());
  }

  async usable(): Promise<boolean> {
    const release = await this.release();
    return process.platform === 'linux' && (await hasAptTools()) && Boolean(release?.codename || this.options.sourcesList);
  }

  async cacheKeyPrefix(major: number, kind: ToolKind): Promise<string> {
    const r = await this.release();
    return `backup-drill-postgresql-${major}-${kind}-apt-${r?.id ?? 'unknown'}${r?.versionId ?? ''}-${this.options.arch ?? debianArch()}-`;
  }

  private async sourcesList(stateDir: string): Promise<string> {
    if (this.options.sourcesList) return this.options.sourcesList;
    const release = await this.release();
    const key = join(stateDir, 'pgdg.asc');
    await writeFile(key, PGDG_KEY);
    return `deb [signed-by=${key}] ${PGDG_URL} ${release?.codename}-pgdg main\n`;
  }

  /** apt options that keep every file apt reads or writes inside `stateDir`. */
  private static privateOptions(stateDir: string): string[] {
    const o = {
      'Dir::Etc::SourceList': join(stateDir, 'sources.list'),
      'Dir::Etc::SourceParts': join(stateDir, 'sources.list.d'),
      'Dir::Etc::Preferences': join(stateDir, 'preferences'),
      'Dir::Etc::PreferencesParts': join(stateDir, 'preferences.d'),
      'Dir::Etc::TrustedParts': join(stateDir, 'trusted.gpg.d'),
      'Dir::State::Lists': join(stateDir, 'lists'),
      'Dir::State::status': join(stateDir, 'status'),
      'Dir::Cache': join(stateDir, 'cache'),
      'Debug::NoLocking': '1',
      // As root apt downloads as `_apt`, which cannot write into our folders; there is nothing to protect here.
      ...(process.getuid?.() === 0 ? { 'APT::Sandbox::User': 'root' } : {}),
    };
    return Object.entries(o).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
  }

  private async prepareState(stateDir: string): Promise<string[]> {
    for (const d of ['sources.list.d', 'preferences.d', 'trusted.gpg.d', 'lists/partial', 'cache/archives/partial'])
      await mkdir(join(stateDir, d), { recursive: true });
    await writeFile(join(stateDir, 'status'), '');
    await writeFile(join(stateDir, 'sources.list'), await this.sourcesList(stateDir));
    return AptSource.privateOptions(stateDir);
  }

  /** Reads the repository's index (a private `apt-get update`, a few seconds) for the version it serves now. */
  async currentVersion(major: number, kind: ToolKind): Promise<string | undefined> {
    const stateDir = await mkdtemp(join(tmpdir(), 'backup-drill-apt-'));
    try {
      const apt = await this.prepareState(stateDir);
      await this.apt('apt-get', [...apt, '-q', 'update'], stateDir, 'read the PostgreSQL apt repository');
      return (await this.candidate(apt, aptPackages(major, kind)[0]!, major, stateDir)).version;
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  }

  async acquire(major: number, kind: ToolKind, folder: string): Promise<AcquiredTools> {
    const stateDir = `${folder}.apt-state`;
    const debs = join(stateDir, 'debs');
    return fillToolFolder(folder, stateDir, async () => {
      const apt = await this.prepareState(stateDir);
      await mkdir(debs, { recursive: true });
      await this.apt('apt-get', [...apt, '-q', 'update'], stateDir, 'read the PostgreSQL apt repository');
      const packages = aptPackages(major, kind);
      const versions = new Map<string, { version: string; depends: string }>();
      for (const p of packages) versions.set(p, await this.candidate(apt, p, major, stateDir));
      const pinned = packages.map((p) => `${p}=${versions.get(p)!.version}`);
      await this.apt('apt-get', [...apt, '-q', 'download', ...pinned], debs, `download ${pinned.join(' ')}`);
      // Shared libraries the packages depend on that this machine lacks (e.g. another libicu or libllvm on a newer release).
      const missing = await notInstalledLibraries([...versions.values()].map((v) => v.depends).join(', '));
      if (missing.length) {
        this.options.logger?.info(`Also fetching libraries this machine lacks: ${missing.join(', ')}`);
        // From the machine's own apt sources (read-only use of its lists); the PostgreSQL repository does not carry them.
        await this.apt('apt-get', ['-q', 'download', ...missing], debs, `download ${missing.join(' ')}`).catch((error: unknown) =>
          this.options.logger?.warn(`Could not fetch ${missing.join(', ')}: ${describeError(error)}`),
        );
      }
      for (const deb of (await readdir(debs)).filter((f) => f.endsWith('.deb'))) await runTool('dpkg-deb', ['-x', join(debs, deb), folder]);
      const tools: AcquiredTools = {
        binDir: join(folder, 'usr', 'lib', 'postgresql', String(major), 'bin'),
        libDir: await libDirOf(folder),
        major,
        version: versions.get(packages[0]!)!.version,
        kind,
        source: 'apt',
      };
      await this.checkLibraries(tools, missing);
      return tools;
    });
  }

  private async checkLibraries(tools: AcquiredTools, fetched: string[]): Promise<void> {
    const names = tools.kind === 'server' ? [...TOOLS.server, ...TOOLS.client] : TOOLS.client;
    const missing = await missingLibraries(tools, names);
    if (!missing.length) return;
    throw new EnvironmentError(
      `PostgreSQL ${tools.major} binaries from apt were fetched, but these shared libraries are missing on this machine: ${missing.join(', ')}.`,
      {
        path: tools.binDir,
        hint: `Install the packages that provide them (apt-get install ${fetched.length ? fetched.join(' ') : '…'}), or install postgresql-${tools.kind === 'server' ? '' : 'client-'}${tools.major} from the PostgreSQL apt repository.`,
      },
    );
  }

  private async candidate(apt: string[], pkg: string, major: number, cwd: string): Promise<{ version: string; depends: string }> {
    const { stdout } = await this.apt('apt-cache', [...apt, 'show', '--no-all-versions', pkg], cwd, `look up ${pkg}`, true);
    const version = /^Version: (.+)$/m.exec(stdout)?.[1]?.trim();
    if (!version) {
      const release = await this.release();
      throw new EnvironmentError(`The PostgreSQL apt repository has no ${pkg} for ${release?.id ?? 'this'} ${release?.codename ?? ''} (${debianArch()}).`, {
        hint: `Check that PostgreSQL ${major} is published for this release at ${PGDG_URL}, or install the binaries yourself and point 'postgres-bin-dir' at them.`,
      });
    }
    return { version, depends: /^Depends: (.+)$/m.exec(stdout)?.[1] ?? '' };
  }

  private async apt(tool: string, args: string[], cwd: string, what: string, allowEmpty = false): Promise<{ stdout: string }> {
    const result = await runTool(tool, args, { cwd, env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' }, allowFailure: true });
    if (result.code === 0 || (allowEmpty && /No packages found|Unable to locate/i.test(result.stderr))) return result;
    throw new EnvironmentError(`Could not ${what}: ${tool} exited ${result.code}: ${result.stderr.split('\n').slice(-4).join(' ')}`, {
      hint: `The runner needs HTTPS access to ${PGDG_URL}. Otherwise install the binaries in an earlier step and point 'postgres-bin-dir' at them.`,
    });
  }

  async installCommands(major: number, kind: ToolKind): Promise<string[]> {
    const release = await this.release();
    const pkg = kind === 'server' ? `postgresql-${major}` : `postgresql-client-${major}`;
    return [
      'sudo install -d /usr/share/postgresql-common/pgdg',
      `sudo curl --fail -o ${KEY_PATH} https://www.postgresql.org/media/keys/ACCC4CF8.asc`,
      `echo "deb [signed-by=${KEY_PATH}] ${PGDG_URL} ${release?.codename || '$(lsb_release -cs)'}-pgdg main" | sudo tee /etc/apt/sources.list.d/pgdg.list`,
      'sudo apt-get update',
      `sudo apt-get install -y ${pkg}`,
    ];
  }
}

/** The folder holding the extracted libpq (usr/lib/<triplet>), if any. */
async function libDirOf(root: string): Promise<string | undefined> {
  const base = join(root, 'usr', 'lib');
  for (const entry of await readdir(base).catch(() => [] as string[])) {
    const files = await readdir(join(base, entry)).catch(() => [] as string[]);
    if (files.some((f) => f.startsWith('libpq.so'))) return join(base, entry);
  }
  return undefined;
}

/** Library packages named in a Depends field that dpkg does not show as installed (first of each `a | b` choice). */
export async function notInstalledLibraries(depends: string): Promise<string[]> {
  const names = new Set<string>();
  for (const group of depends.split(',')) {
    const choices = group.split('|').map((c) => c.trim().split(/[\s(:]/)[0]!);
    if (!choices[0]?.startsWith('lib') || choices[0] === 'libpq5') continue;
    let installed = false;
    for (const c of choices) {
      const r = await runTool('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', c], { allowFailure: true }).catch(() => undefined);
      if (r?.code === 0 && r.stdout.startsWith('ii')) installed = true;
    }
    if (!installed) names.add(choices[0]);
  }
  return [...names];
}
