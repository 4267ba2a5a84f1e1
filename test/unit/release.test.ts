// The version agrees everywhere a user reads it (package.json, src/version.ts, the CHANGELOG's
// newest release, the README's `@v1` / `npx backup-drill@…` snippets), checked by the same script
// the release workflow runs on a tag (scripts/release-check.mjs) — here as a dry run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOL_VERSION } from '../../src/version.js';

const SCRIPT = join(process.cwd(), 'scripts/release-check.mjs');

function check(root: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('release version checks (scripts/release-check.mjs)', () => {
  const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
  let dir: string;
  /** A copy of the four files in a temp folder, with `edit` applied to one of them. */
  function copy(file?: string, edit?: (text: string) => string): string {
    const root = mkdtempSync(join(dir, 'root-'));
    mkdirSync(join(root, 'src'));
    for (const f of ['package.json', 'src/version.ts', 'CHANGELOG.md', 'README.md']) cpSync(f, join(root, f));
    if (file && edit) writeFileSync(join(root, file), edit(readFileSync(join(root, file), 'utf8')));
    return root;
  }
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bd-release-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('this repository agrees: package.json, src/version.ts, CHANGELOG, README', () => {
    assert.equal(TOOL_VERSION, version);
    const r = check(process.cwd());
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    const major = version.split('.')[0];
    assert.match(readFileSync('README.md', 'utf8'), new RegExp(`backup-drill@v${major}\\b`), 'the README shows the @v<major> snippet');
    assert.match(readFileSync('CHANGELOG.md', 'utf8'), new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
  });

  test('the tag of this version passes, another tag fails', () => {
    assert.equal(check(process.cwd(), '--tag', `v${version}`).status, 0);
    const r = check(process.cwd(), '--tag', 'v9.9.9');
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`The tag is 'v9\\.9\\.9' but package\\.json's version is ${version.replace(/\./g, '\\.')}`));
  });

  test('a src/version.ts that differs fails', () => {
    const r = check(copy('src/version.ts', (t) => t.replace(/TOOL_VERSION = '[^']+'/, "TOOL_VERSION = '0.9.0'")));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /src\/version\.ts has TOOL_VERSION '0\.9\.0'/);
  });

  test('a CHANGELOG whose newest release is another version fails', () => {
    const r = check(copy('CHANGELOG.md', (t) => t.replace('## [Unreleased]', '## [Unreleased]\n\n## [1.1.0] - 2027-01-01\n\n- Something.\n')));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /newest release is 1\.1\.0/);
  });

  test('a CHANGELOG section without a date or link fails', () => {
    const r = check(copy('CHANGELOG.md', (t) => t.replace(/^## \[(\d+\.\d+\.\d+)\] - [\d-]+$/m, '## [$1]').replace(/^\[\d+\.\d+\.\d+\]: .*$/m, '')));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /has no date/);
    assert.match(r.stderr, /has no link line/);
  });

  test('README snippets with another major or version fail', () => {
    const r = check(copy('README.md', (t) => `${t}\n    uses: backup-drill/backup-drill@v7\n\n    npx backup-drill@0.5.0 list\n`));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /uses 'backup-drill\/backup-drill@v7'/);
    assert.match(r.stderr, /'npx backup-drill@0\.5\.0'/);
  });

  test('--notes writes the CHANGELOG section of the version (the release notes)', () => {
    const notes = join(dir, 'notes.md');
    assert.equal(check(process.cwd(), '--notes', notes).status, 0);
    const text = readFileSync(notes, 'utf8');
    assert.match(text, /### Added/);
    assert.doesNotMatch(text, /^## \[/m, 'no heading of this or another section');
    assert.doesNotMatch(text, /^\[Unreleased\]:/m, 'no link lines');
  });
});
