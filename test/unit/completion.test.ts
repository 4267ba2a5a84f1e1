// `backup-drill completion bash|zsh|fish`: generated from COMMANDS + INPUTS + CLI_FLAGS, and
// run in the real shells (bash always; zsh and fish when installed: scripts/setup.sh adds them).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/cli/main.js'; // registers every command, as the CLI does
import { COMMANDS } from '../../src/cli/commands.js';
import { commandHelp } from '../../src/cli/help.js';
import { completionScript, optionsOf } from '../../src/cli/completion.js';
import { UsageError } from '../../src/errors.js';

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

describe('completion scripts', () => {
  let dir: string;
  const file = (shell: string) => join(dir, `completion.${shell}`);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bd-completion-'));
    for (const shell of ['bash', 'zsh', 'fish']) writeFileSync(file(shell), completionScript(shell));
    mkdirSync(join(dir, 'backups-here'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('each command offers exactly the options its --help lists', () => {
    for (const cmd of COMMANDS.filter((c) => c.name !== 'completion')) {
      const fromHelp = [...commandHelp(cmd).matchAll(/^ {2}(?:-\w, )?--(?:\[no-\])?([a-z0-9-]+)/gm)].map((m) => m[1]).sort();
      assert.deepEqual(
        optionsOf(cmd)
          .map((o) => o.name)
          .sort(),
        fromHelp,
        cmd.name,
      );
    }
  });

  test('an unknown shell is a usage error naming the shells', () => {
    assert.throws(
      () => completionScript('tcsh'),
      (e: unknown) => e instanceof UsageError && /bash, zsh, fish; got 'tcsh'/.test(e.message),
    );
  });

  /** COMPREPLY of the bash script for a command line whose last word is being completed. */
  function bashComplete(...words: string[]): string[] {
    const script = `source ${file('bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _backup_drill; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  }

  test('bash: commands, options per command, paths for path options, shells for completion', () => {
    assert.equal(spawnSync('bash', ['-n', file('bash')]).status, 0);
    assert.deepEqual(bashComplete('backup-drill', 'dr'), ['drill']);
    assert.deepEqual(bashComplete('backup-drill', 'comp'), ['completion']);
    assert.deepEqual(bashComplete('backup-drill', 'backup', '--sto'), ['--storage', '--storage-timeout']);
    assert.deepEqual(bashComplete('backup-drill', 'drill', '--che'), ['--checks']);
    assert.deepEqual(bashComplete('backup-drill', 'backup', '--che'), [], 'checks is not a backup option');
    assert.deepEqual(bashComplete('backup-drill', 'backup', '--storage', 'backups-'), ['backups-here']);
    assert.deepEqual(bashComplete('backup-drill', 'backup', '--name', ''), [], 'no guesses for a free value');
    assert.deepEqual(bashComplete('backup-drill', 'completion', ''), ['bash', 'zsh', 'fish']);
    // An option before the command, with its value, does not hide the command.
    assert.deepEqual(bashComplete('backup-drill', '--storage', 'x', 'verify', '--js'), ['--json']);
  });

  test('zsh: the script parses, registers itself, and offers commands and options', { skip: has('zsh') ? false : 'zsh is not installed' }, () => {
    assert.equal(spawnSync('zsh', ['-n', file('zsh')]).status, 0);
    const registered = spawnSync('zsh', ['-fc', `autoload -Uz compinit; compinit -u -D; source ${file('zsh')}; print -r -- "\${_comps[backup-drill]}"`], {
      encoding: 'utf8',
    });
    assert.equal(registered.stdout.trim(), '_backup_drill', registered.stderr);
    // The completion system's helpers stubbed to print what they were given.
    const run = (words: string[]) =>
      spawnSync(
        'zsh',
        [
          '-fc',
          `compdef() { :; }; _describe() { print -rl -- "\${(@P)4}"; }; _arguments() { shift; print -rl -- "$@"; }; _values() { shift; print -rl -- "$@"; }
           source ${file('zsh')}; words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _backup_drill`,
        ],
        { encoding: 'utf8' },
      );
    const top = run(['backup-drill', 'd']);
    assert.equal(top.status, 0, top.stderr);
    assert.ok(
      top.stdout.split('\n').some((l) => l.startsWith('drill:Restore a backup')),
      top.stdout,
    );
    assert.ok(top.stdout.includes('completion:'), top.stdout);
    const opts = run(['backup-drill', 'backup', '--s']).stdout;
    assert.match(opts, /^--storage\[Where backups live\\: .*\]:path:_files$/m);
    assert.match(opts, /^\(-q --quiet\)-q\[Only warnings/m);
    assert.match(opts, /^--no-color\[/m);
    assert.doesNotMatch(opts, /--checks\[/);
    assert.deepEqual(run(['backup-drill', 'completion', '']).stdout.trim().split('\n'), ['bash', 'zsh', 'fish']);
  });

  test('fish: commands, options per command, shells for completion', { skip: has('fish') ? false : 'fish is not installed' }, () => {
    const complete = (line: string) => {
      const r = spawnSync('fish', ['--no-config', '-c', `source ${file('fish')}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8', cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    };
    assert.deepEqual(complete('backup-drill dr'), ['drill']);
    assert.deepEqual(complete('backup-drill backup --sto'), ['--storage', '--storage-timeout']);
    assert.deepEqual(complete('backup-drill backup --che'), []);
    assert.deepEqual(complete('backup-drill completion ').sort(), ['bash', 'fish', 'zsh']);
    assert.ok(complete('backup-drill list -').includes('-q'), 'short flags');
  });
});

describe('command arguments', () => {
  test("every command accepts as many arguments as its usage line shows (download's <dir> was once refused)", () => {
    for (const command of COMMANDS) {
      const beforeOptions = command.usage.split(' --')[0]!;
      const shown = (beforeOptions.match(/<[^>]+>|\[<[^>]+>\]/g) ?? []).length;
      assert.ok((command.maxArguments ?? 1) >= shown, `${command.name}: usage '${command.usage}' shows ${shown}, accepts ${command.maxArguments ?? 1}`);
    }
  });
});
