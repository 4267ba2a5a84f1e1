// The CLI in and out of a terminal: passphrase files (--encrypt-passphrase-file /
// --decrypt-passphrase-file), the hidden passphrase prompt (only on a TTY, never in CI), and
// colours (only on a TTY, never with NO_COLOR or --no-color). A real terminal comes from
// util-linux `script`, which runs the CLI on a pseudo-terminal; the built dist/cli is run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';

const CLI = resolve('dist/cli/index.js');
const PASSPHRASE = 'terminal test pass ✓ phrase';
const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TMPDIR: process.env.TMPDIR ?? '/tmp', TERM: 'xterm' };
const hasScript = spawnSync('script', ['--version']).status === 0;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...BASE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI on a pseudo-terminal; when the output shows `waitFor`, types `typed` and Enter.
 * Resolves with everything the terminal showed (stdout and stderr together, as on a screen).
 */
function onTerminal(
  args: string[],
  env: Record<string, string>,
  answer?: { waitFor: string; typed: string },
): Promise<{ status: number | null; screen: string }> {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...BASE_ENV, SHELL: '/bin/sh', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      screen += chunk;
      if (answer && !answered && screen.includes(answer.waitFor)) {
        answered = true;
        child.stdin.write(`${answer.typed}\r`);
      }
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolvePromise({ status, screen });
    });
  });
}

describe('the CLI in and out of a terminal', () => {
  let cluster: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let storage: string;
  let passFile: string;

  before(async () => {
    work = await tempDir('bd-terminal-');
    cluster = await startCluster();
    const url = await createSeededDatabase(cluster, 'helpdesk', 2);
    storage = join(work.path, 'backups');
    passFile = join(work.path, 'passphrase.txt');
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 }); // as `echo` or an editor leaves it
    const r = cli(['backup', '--database-url', url, '--storage', storage, '--encrypt-passphrase-file', passFile, '--json']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  describe('passphrase files', () => {
    test('a file with one trailing newline opens the backup taken with the same file', () => {
      const r = cli(['inspect', 'latest', '--storage', storage, '--decrypt-passphrase-file', passFile]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /encryption: age \(passphrase\)/);
      assert.doesNotMatch(r.stdout + r.stderr, /terminal test pass/);
    });

    test('only one newline is dropped: the same words without it open it, with two newlines they do not', () => {
      const bare = join(work.path, 'bare.txt');
      writeFileSync(bare, PASSPHRASE);
      assert.equal(cli(['inspect', 'latest', '--storage', storage, '--decrypt-passphrase-file', bare]).status, 0);
      const twice = join(work.path, 'twice.txt');
      writeFileSync(twice, `${PASSPHRASE}\n\n`);
      const r = cli(['inspect', 'latest', '--storage', storage, '--decrypt-passphrase-file', twice]);
      assert.notEqual(r.status, 0, r.stdout);
    });

    test('the environment variable works like the flag', () => {
      const r = cli(['inspect', 'latest', '--storage', storage], { BACKUP_DRILL_DECRYPT_PASSPHRASE_FILE: passFile });
      assert.equal(r.status, 0, r.stderr);
    });

    test('a missing file is a usage error naming the input and the path', () => {
      const missing = join(work.path, 'no-such-passphrase.txt');
      const r = cli(['inspect', 'latest', '--storage', storage, '--decrypt-passphrase-file', missing]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^error: Input 'decrypt-passphrase-file': cannot read the passphrase file '${missing}' \\(no such file\\)\\.`));
      assert.equal(r.stderr.trim().split('\n').length, 1, 'printed once');
    });

    test('an empty file, or a file and a passphrase at once, are refused', () => {
      const empty = join(work.path, 'empty.txt');
      writeFileSync(empty, '\n');
      const r = cli(['inspect', 'latest', '--storage', storage, '--decrypt-passphrase-file', empty]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /passphrase file '.*empty\.txt' is empty/);
      const both = cli(['inspect', 'latest', '--storage', storage, '--decrypt-passphrase-file', passFile, '--decrypt-passphrase', 'x']);
      assert.equal(both.status, 2);
      assert.match(both.stderr, /Give 'decrypt-passphrase' or 'decrypt-passphrase-file', not both/);
    });
  });

  describe('the passphrase prompt', () => {
    test('without a terminal there is no prompt: the key error, exit 2, at once', () => {
      const r = cli(['inspect', 'latest', '--storage', storage]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /is encrypted; reading it needs a key/);
      assert.doesNotMatch(r.stderr, /Passphrase for backup/);
    });

    test(
      'on a terminal it asks, does not show what is typed, and opens the backup',
      { skip: hasScript ? false : 'script (util-linux) is not installed' },
      async () => {
        const r = await onTerminal(['inspect', 'latest', '--storage', storage], {}, { waitFor: 'Passphrase for backup', typed: PASSPHRASE });
        assert.equal(r.status, 0, r.screen);
        assert.match(r.screen, /Passphrase for backup \S+ \(not shown\): /);
        assert.match(r.screen, /encryption: age \(passphrase\)/);
        assert.doesNotMatch(r.screen, /terminal test pass/, 'the passphrase is not echoed');
      },
    );

    test('a wrong passphrase at the prompt fails like a wrong flag', { skip: hasScript ? false : 'script is not installed' }, async () => {
      const r = await onTerminal(['inspect', 'latest', '--storage', storage], {}, { waitFor: 'Passphrase for backup', typed: 'not it' });
      assert.notEqual(r.status, 0, r.screen);
      assert.doesNotMatch(r.screen, /encryption: age/);
    });

    test('in CI (CI=true) there is no prompt even on a terminal', { skip: hasScript ? false : 'script is not installed' }, async () => {
      const r = await onTerminal(['inspect', 'latest', '--storage', storage], { CI: 'true' });
      assert.equal(r.status, 2, r.screen);
      assert.doesNotMatch(r.screen, /Passphrase for backup/);
      assert.match(r.screen, /needs a key/);
    });
  });

  describe('colours', () => {
    const failing = () => ['inspect', '20990101T000000Z-abcdef', '--storage', storage];
    const RED = '\u001b[31merror:\u001b[0m';

    test('on a terminal the error label is red', { skip: hasScript ? false : 'script is not installed' }, async () => {
      const r = await onTerminal(failing(), {});
      assert.notEqual(r.status, 0);
      assert.ok(r.screen.includes(RED), JSON.stringify(r.screen));
    });

    test('never with NO_COLOR or --no-color, even on a terminal', { skip: hasScript ? false : 'script is not installed' }, async () => {
      for (const [label, args, env] of [
        ['NO_COLOR', failing(), { NO_COLOR: '1' }],
        ['--no-color', [...failing(), '--no-color'], {}],
      ] as const) {
        const r = await onTerminal([...args], { ...env });
        assert.notEqual(r.status, 0);
        assert.match(r.screen, /error: /, label);
        assert.doesNotMatch(r.screen, /\u001b\[/, `${label}: no escape sequences`);
      }
    });

    test('never when the output is not a terminal', () => {
      const r = cli(failing());
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /^error: /);
      assert.doesNotMatch(r.stderr + r.stdout, /\u001b\[/);
    });
  });
});
