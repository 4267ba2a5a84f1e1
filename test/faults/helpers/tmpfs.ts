// A tiny file system: a tmpfs of a chosen size (needs root and mount rights).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** undefined when tmpfs can be mounted here; otherwise why not. */
export async function tmpfsUnavailable(): Promise<string | undefined> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: mount -t tmpfs needs root';
  const probe = await mkdtemp(join(tmpdir(), 'bd-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs here: ${(error as { stderr?: Buffer }).stderr?.toString().trim() || String(error)}`;
  } finally {
    await rmdir(probe).catch(() => undefined);
  }
}

export async function mountTmpfs(dir: string, bytes: number): Promise<() => void> {
  await mkdir(dir, { recursive: true });
  const kib = Math.max(16, Math.ceil(bytes / 1024));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=1777`, 'tmpfs', dir], { stdio: 'pipe' });
  return () => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      /* already gone */
    }
  };
}

/** Free bytes of the file system holding `dir`. */
export function freeBytes(dir: string): number {
  const out = execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}
