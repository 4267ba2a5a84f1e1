// Where the torture suite keeps what is slow to make (the regression cluster,
// unpacked Debian packages), and the scripts that make it.
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');

export function cacheDir(): string {
  return process.env.BACKUP_DRILL_TORTURE_CACHE ?? join(homedir(), '.cache', 'backup-drill-torture');
}

/**
 * Why the suite cannot run here, or undefined when it can. It runs only under
 * `npm run test:torture` (it takes minutes and installs Debian packages), as root.
 */
export function skipReason(): string | undefined {
  if (!process.env.BACKUP_DRILL_TORTURE) return 'the torture suite runs with npm run test:torture';
  if (process.getuid?.() !== 0) return 'the torture suite runs as root (apt-get install, the postgres user): sudo npm run test:torture';
  return undefined;
}

/** Runs one of scripts/torture/*.sh and returns the last line it printed (a path). */
export function runScript(name: string): string {
  const out = execFileSync(join(REPO, 'scripts', 'torture', name), {
    env: { ...process.env, BACKUP_DRILL_TORTURE_CACHE: cacheDir() },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = out.toString().trim().split('\n');
  return lines[lines.length - 1]!;
}
