// Runs a bundled action entry point the way the GitHub runner does: INPUT_*
// env vars (hyphens kept, action.yml defaults applied), GITHUB_OUTPUT,
// GITHUB_STATE and GITHUB_STEP_SUMMARY files, RUNNER_TEMP.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface RunnerFiles {
  dir: string;
  output: string;
  state: string;
  summary: string;
}

export function runnerFiles(dir: string): RunnerFiles {
  const files = { dir, output: join(dir, 'output'), state: join(dir, 'state'), summary: join(dir, 'summary.md') };
  for (const f of [files.output, files.state, files.summary]) writeFileSync(f, '');
  return files;
}

/** Parses the runner's `name<<delimiter … delimiter` file format. */
export function readCommandFile(path: string): Record<string, string> {
  const text = readFileSync(path, 'utf8');
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^=<]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
      out[m[1]!] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const [k, ...v] = lines[i]!.split('=');
      out[k!] = v.join('=');
    }
  }
  return out;
}

export function actionDefaults(): Record<string, string> {
  const yml = parse(readFileSync('action.yml', 'utf8')) as { inputs: Record<string, { default?: string }> };
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(yml.inputs)) env[`INPUT_${name.toUpperCase()}`] = spec.default ?? '';
  return env;
}

type BundleOptions = { node?: string; state?: Record<string, string>; env?: Record<string, string> };

export function runBundle(
  entry: string,
  inputs: Record<string, string>,
  files: RunnerFiles,
  options: BundleOptions = {},
): { status: number | null; stdout: string; stderr: string } {
  const env = bundleEnv(inputs, files, options);
  const r = spawnSync(options.node ?? process.execPath, [entry], { env, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like runBundle, without blocking this process (needed when a server it talks to runs in this process). */
export async function runBundleAsync(entry: string, inputs: Record<string, string>, files: RunnerFiles, options: BundleOptions = {}) {
  return runAsync(options.node ?? process.execPath, [entry], bundleEnv(inputs, files, options));
}

export function runAsync(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 240_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function bundleEnv(inputs: Record<string, string>, files: RunnerFiles, options: BundleOptions): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...actionDefaults() };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  Object.assign(env, {
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: files.dir,
    GITHUB_REPOSITORY: 'acme/helpdesk',
    GITHUB_RUN_ID: '42',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'schedule',
    GITHUB_WORKFLOW: 'nightly',
    ...options.env,
  });
  // The runner hands saved state to the post step as STATE_<name> env vars.
  for (const [k, v] of Object.entries(options.state ?? {})) env[`STATE_${k}`] = v;
  return env;
}
