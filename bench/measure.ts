// Runs one command under GNU time and measures it: wall time, CPU of the
// process tree it waited for, its max RSS, and — for a node child — the node
// process's own peak RSS (VmHWM) and CPU, polled from /proc every 50 ms.
// Also the machine's load: 1-minute load average before/after and the share
// of both cores that was busy (all processes) while the command ran.
import { spawn, execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
export const TIME_BIN = '/usr/bin/time';

export interface Measurement {
  name: string;
  rep: number;
  wallSeconds: number;
  /** user/sys CPU of the command and every child it waited for (not daemonized servers). */
  cpuUserSeconds: number;
  cpuSysSeconds: number;
  /** GNU time's max RSS: the largest of the process and its waited-for children. */
  maxRssMb: number;
  /** For a node child: its own peak RSS (VmHWM) and CPU, polled. */
  nodePeakRssMb?: number;
  nodeCpuSeconds?: number;
  load1Before: number;
  load1After: number;
  /** Busy share of all cores over the run (every process on the machine), 0–100. */
  machineBusyPct: number;
  /** Named moments, seconds after the start (script markers or log lines). */
  phases: Record<string, number>;
  stdout: string;
  exitCode: number;
  [extra: string]: unknown;
}

export async function loadavg1(): Promise<number> {
  return Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]);
}

async function cpuTimes(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3]! + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim() ? text.trim().split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

async function nodeStats(pid: number): Promise<{ hwmKb: number; cpuTicks: number } | undefined> {
  try {
    const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
    const hwm = /VmHWM:\s+(\d+)/.exec(status);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state is field 3, utime 14, stime 15 → indexes 11, 12 here
    return { hwmKb: hwm ? Number(hwm[1]) : 0, cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

export interface RunOptions {
  name: string;
  rep: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Poll the direct child of `time` as a node process. */
  pollNode?: boolean;
  /** Lines on stdout like "@name <epoch seconds>" become phases. */
  markers?: boolean;
  /** stderr lines matching these become phases (name → first match time). */
  stderrPhases?: Record<string, RegExp>;
  timeFile: string;
  signal?: AbortSignal;
  /** Echo the child's stderr with timestamps (for debugging). */
  echo?: boolean;
}

export async function measure(command: string, args: string[], options: RunOptions): Promise<Measurement> {
  if (options.signal?.aborted) throw options.signal.reason;
  const load1Before = await loadavg1();
  const cpu0 = await cpuTimes();
  const startEpoch = Date.now() / 1000;
  const t0 = performance.now();
  const child = spawn(TIME_BIN, ['-f', '%e %U %S %M', '-o', options.timeFile, command, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so an abort reaches the whole tree
  });
  const onAbort = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const phases: Record<string, number> = {};
  let stdout = '';
  let stderrTail = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  let partial = '';
  child.stderr!.on('data', (c: Buffer) => {
    const at = (performance.now() - t0) / 1000;
    const text = partial + c.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      stderrTail = (stderrTail + line + '\n').slice(-8000);
      if (options.echo) process.stderr.write(`    [${at.toFixed(1).padStart(6)}s] ${line}\n`);
      for (const [phase, re] of Object.entries(options.stderrPhases ?? {})) if (phases[phase] === undefined && re.test(line)) phases[phase] = at;
    }
  });

  let nodePid: number | undefined;
  let hwmKb = 0;
  let cpuTicks = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if (options.pollNode) {
        if (nodePid === undefined) nodePid = (await childrenOf(child.pid!))[0];
        if (nodePid !== undefined) {
          const s = await nodeStats(nodePid);
          if (s) {
            hwmKb = Math.max(hwmKb, s.hwmKb);
            cpuTicks = Math.max(cpuTicks, s.cpuTicks);
          }
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const exitCode: number = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const wallSeconds = (performance.now() - t0) / 1000;
  polling = false;
  await poller;
  options.signal?.removeEventListener('abort', onAbort);
  const cpu1 = await cpuTimes();
  const load1After = await loadavg1();

  const timeText = (await readFile(options.timeFile, 'utf8').catch(() => '')).trim().split('\n').pop() ?? '';
  await rm(options.timeFile, { force: true });
  const [, user, sys, maxKb] = timeText.split(' ').map(Number);
  if (options.markers) {
    for (const line of stdout.split('\n')) {
      const m = /^@(\S+) (\d+\.\d+)$/.exec(line.trim());
      if (m) phases[m[1]!] = Number(m[2]) - startEpoch;
    }
  }
  if (exitCode !== 0) {
    const error = new Error(`${options.name} exited ${exitCode}: ${timeText}\n${stderrTail.slice(-3000)}`);
    throw error;
  }
  return {
    name: options.name,
    rep: options.rep,
    wallSeconds,
    cpuUserSeconds: user ?? NaN,
    cpuSysSeconds: sys ?? NaN,
    maxRssMb: (maxKb ?? NaN) / 1024,
    ...(options.pollNode ? { nodePeakRssMb: hwmKb / 1024, nodeCpuSeconds: cpuTicks / CLK_TCK } : {}),
    load1Before,
    load1After,
    machineBusyPct: (100 * (cpu1.busy - cpu0.busy)) / Math.max(1, cpu1.total - cpu0.total),
    phases,
    stdout,
    exitCode,
  };
}

/**
 * A private copy of the CLI bundle to benchmark, so another session rebuilding
 * dist/ mid-run cannot change or break it. choice: 'head' = dist/cli as
 * committed at HEAD (git archive); a path = that bundle's folder or index.js;
 * undefined = the working tree's dist/cli, or HEAD's when it is missing.
 */
export async function prepareCli(repoRoot: string, into: string, choice?: string): Promise<{ path: string; source: string; sha256: string }> {
  const { cp, mkdir, readFile, stat } = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  const { dirname, join, resolve } = await import('node:path');
  const commit = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']).toString().trim();
  const local = join(repoRoot, 'dist', 'cli');
  const hasLocal = await stat(join(local, 'index.js')).then(
    () => true,
    () => false,
  );
  let source: string;
  await mkdir(into, { recursive: true });
  if (choice === 'head' || (choice === undefined && !hasLocal)) {
    execFileSync('bash', ['-c', `git -C '${repoRoot}' archive HEAD dist/cli | tar x -C '${into}' --strip-components=2`]);
    source = `dist/cli as committed at ${commit}`;
  } else {
    const from = choice === undefined ? local : resolve(choice.endsWith('.js') ? dirname(choice) : choice);
    await cp(from, into, { recursive: true });
    const dirty = choice === undefined ? execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'dist/cli']).toString().trim() !== '' : true;
    source = choice === undefined ? `working-tree dist/cli (HEAD ${commit}${dirty ? ', differs from HEAD' : ''})` : from;
  }
  const path = join(into, 'index.js');
  const sha256 = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  return { path, source, sha256 };
}
