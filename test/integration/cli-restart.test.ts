// The CLI's start-up restart (src/util/memory.ts): a command that streams data replaces its
// process by the same command with 1 MiB semi-spaces set at start (V8 applies them only in part
// when set later). A probe preloaded through NODE_OPTIONS logs every start of the built dist/cli:
// its PID and its Node flags.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/fs.js';

const CLI = resolve('dist/cli/index.js');
const canRestart = typeof (process as { execve?: unknown }).execve === 'function';

describe('the CLI restarts a streaming command with small semi-spaces', { skip: canRestart ? false : 'this Node has no process.execve' }, () => {
  async function run(args: string[], nodeOptions = '') {
    const work = await tempDir('bd-restart-');
    const probe = join(work.path, 'probe.cjs');
    const log = join(work.path, 'starts.log');
    writeFileSync(probe, `require('fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify([process.pid, process.execArgv]) + '\\n');\n`);
    const storage = join(work.path, 'no-backups-here');
    const r = spawnSync(process.execPath, [CLI, ...args, '--storage', storage], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        TMPDIR: process.env.TMPDIR ?? '/tmp',
        NODE_OPTIONS: `--require ${probe} ${nodeOptions}`.trim(),
      },
    });
    const starts = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as [number, string[]]);
    await work.remove();
    return { ...r, starts };
  }

  test('a drill starts twice in the same process, the second time with the flag, and behaves as without it', async () => {
    const r = await run(['drill']);
    assert.equal(r.starts.length, 2, JSON.stringify(r.starts));
    assert.equal(r.starts[0]![0], r.starts[1]![0], 'same PID: the process was replaced, not forked');
    assert.deepEqual(r.starts[0]![1], []);
    assert.deepEqual(r.starts[1]![1], ['--max-semi-space-size=1']);
    const flagSetByUser = await run(['drill'], '--max-semi-space-size=1'); // no restart
    assert.equal(flagSetByUser.starts.length, 1);
    assert.equal(r.status, flagSetByUser.status);
    assert.equal(r.stdout, flagSetByUser.stdout);
    assert.equal(r.stderr.replace(/bd-restart-\w+/g, ''), flagSetByUser.stderr.replace(/bd-restart-\w+/g, ''));
    assert.match(r.stderr, /^error: Input 'storage' points at .*, which does not exist/);
    assert.doesNotMatch(r.stderr, /ExperimentalWarning|execve/);
  });

  test('a command that reads a manifest or two does not restart', async () => {
    const r = await run(['list']);
    assert.equal(r.starts.length, 1, JSON.stringify(r.starts));
  });

  test('a semi-space size the user chose is kept: no restart', async () => {
    const r = await run(['drill'], '--max-semi-space-size=4');
    assert.equal(r.starts.length, 1, JSON.stringify(r.starts));
  });
});
