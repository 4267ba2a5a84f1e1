// Bundles the three entry points with ncc into dist/ (committed: GitHub runs
// dist/action/index.js directly). `node scripts/build.mjs <outDir>` builds
// elsewhere (the stale-dist test compares a fresh build with dist/).
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? 'dist';
const entries = { action: 'src/action/index.ts', post: 'src/post/index.ts', cli: 'src/cli/index.ts' };
const ncc = join('node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');

rmSync(out, { recursive: true, force: true });
for (const [name, entry] of Object.entries(entries)) {
  const dir = join(out, name);
  execFileSync(process.execPath, [ncc, 'build', entry, '-o', dir, '--no-source-map-register', '--license', 'licenses.txt', '-q', '--target', 'es2022'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const file = join(dir, 'index.js');
  let code = readFileSync(file, 'utf8');
  if (name === 'cli' && !code.startsWith('#!')) code = `#!/usr/bin/env node\n${code}`;
  writeFileSync(file, code);
  if (name === 'cli') chmodSync(file, 0o755);
}
