// The committed dist/ must be what `npm run build` produces from the sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function files(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, join(prefix, e.name)) : [join(prefix, e.name)]));
}

test('dist/ is up to date with the sources (run npm run build and commit dist/)', { timeout: 300_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'bd-dist-'));
  try {
    execFileSync(process.execPath, ['scripts/build.mjs', join(out, 'dist')], { stdio: 'pipe' });
    const fresh = files(join(out, 'dist')).sort();
    const committed = files('dist').sort();
    assert.deepEqual(committed, fresh, 'same files');
    for (const f of fresh) {
      const same = readFileSync(join(out, 'dist', f)).equals(readFileSync(join('dist', f)));
      assert.ok(same, `dist/${f} is stale: run npm run build and commit dist/`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
