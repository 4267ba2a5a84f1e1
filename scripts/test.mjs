// Runs the test suite with Node's test runner (TypeScript through tsx), under Node ≥ 22:
// this machine's Node when it is new enough, else Node 24 installed from the npm registry
// (scripts/node.mjs). Child processes (`node`, `npm run demo`) get the same Node first in PATH.
// Usage: npm test [-- <files or globs>]           e.g. npm test -- test/unit
//        node scripts/test.mjs --node=22 <files>  under Node 22 (npm run test:node22)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { envWith, nodeFor, takeNodeOption } from './node.mjs';

// The adversarial suites and the multi-major matrix have their own scripts (npm run test:torture, test:faults, test:majors).
const OWN_SUITES = new Set([join('test', 'torture'), join('test', 'faults'), join('test', 'majors')]);

function collect(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((e) => {
    const p = join(path, e.name);
    if (e.isDirectory()) return OWN_SUITES.has(p) ? [] : collect(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const { major, rest: args } = takeNodeOption(process.argv.slice(2));
const roots = args.length ? args : ['test'];
const files = roots.flatMap(collect).sort();
const { node, binDir, version } = nodeFor(major);
process.stderr.write(`test: Node.js ${version} (${node})\n`);
const result = spawnSync(node, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...envWith(binDir), NODE_OPTIONS: '' },
});
process.exit(result.status ?? 1);
