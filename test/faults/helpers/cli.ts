// Runs the CLI of this branch as a user runs it: a subprocess (`node --import tsx
// src/cli/index.ts`), with a clean environment and a hard timeout. A run that
// outlives its timeout is killed and reported as timed out (a hang is a miss).
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI_ENTRY = join(REPO, 'src/cli/index.ts');
/** tsx by URL, so the CLI also starts from another working directory. */
const TSX = import.meta.resolve('tsx');

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  cwd?: string;
}

/** Only what the CLI needs: no DATABASE_URL, AWS_* or BACKUP_DRILL_* from the caller's shell. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', NODE_OPTIONS: '', NO_COLOR: '1' };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function spawnCli(args: string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, CLI_ENTRY, ...args], {
    cwd: options.cwd ?? REPO,
    env: cliEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a spawned child's output; kills it (SIGKILL) after timeoutMs. */
export function collect(child: ChildProcess, timeoutMs: number): Promise<CliRun> {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return collect(spawnCli(args, options), options.timeoutMs ?? 180_000);
}

/** A Node/V8 stack frame line, e.g. `    at foo (/x/y.ts:1:2)` or `    at node:internal/...`. */
const STACK_LINE = /^\s+at\s+(?:.+\(.+:\d+:\d+\)|.+:\d+:\d+|node:)/m;

export function hasStackTrace(run: Pick<CliRun, 'stdout' | 'stderr'>): boolean {
  return STACK_LINE.test(run.stderr) || STACK_LINE.test(run.stdout);
}

/** The last lines of a run, for a miss's description. */
export function tail(run: CliRun, lines = 6): string {
  const out = `${run.stderr}\n${run.stdout}`.trim().split('\n');
  return out.slice(-lines).join(' | ').slice(0, 900);
}

export function describeRun(run: CliRun): string {
  return `exit ${run.status ?? run.signal}${run.timedOut ? ' (TIMED OUT, killed)' : ''} after ${(run.ms / 1000).toFixed(1)}s: ${tail(run)}`;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, checksFailed: 3, database: 4, storage: 5, tool: 6, integrity: 7, locked: 8, environment: 9 } as const;
