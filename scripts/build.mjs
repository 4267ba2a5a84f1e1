// Bundles the three entry points with ncc into dist/ (committed: GitHub runs
// dist/action/index.js directly). `node scripts/build.mjs <outDir>` builds
// elsewhere (the stale-dist test compares a fresh build with dist/).
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
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
  dropNativeAddons(dir);
  defineDirname(dir);
  const file = join(dir, 'index.js');
  let code = readFileSync(file, 'utf8');
  if (name === 'cli' && !code.startsWith('#!')) code = `#!/usr/bin/env node\n${code}`;
  writeFileSync(file, code);
  if (name === 'cli') chmodSync(file, 0o755);
}

/**
 * ssh2 loads its optional native addons (sshcrypto.node, cpu-features) inside try/catch and falls
 * back to node:crypto; pagent.exe is its Windows Pageant helper, unused here. ncc copies whatever `npm install` happened to compile: drop them, so dist/
 * is the same on every machine and holds no binary built for one Node ABI and CPU.
 */
function dropNativeAddons(root) {
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        if (readdirSync(path).length === 0) rmdirSync(path);
      } else if (entry.name.endsWith('.node') || entry.name === 'pagent.exe') {
        rmSync(path);
      }
    }
  };
  walk(root);
}

/**
 * The bundles are ES modules, where `__dirname` does not exist; ssh2's poly1305 loader (emscripten,
 * its wasm inlined) reads it at load time and would crash every run. Define it in chunks that use it.
 */
function defineDirname(dir) {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.js')) continue;
    const file = join(dir, name);
    const code = readFileSync(file, 'utf8');
    if (!/\b__dirname\b/.test(code) || /\b(var|let|const)\s+__dirname\b/.test(code)) continue;
    writeFileSync(file, `const __dirname = new URL('.', import.meta.url).pathname; // ESM: ssh2's poly1305 loader reads it\n${code}`);
  }
}
