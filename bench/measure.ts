// Runs one command under GNU time and measures it: wall time, CPU of the
// process tree it waited for, its max RSS, and, polled from /proc every 50 ms:
// - the summed RSS of the whole process tree below GNU time (the command and
//   every descendant: node, bash, pg_dump, zstd, tar, psql, …), PostgreSQL
//   server processes (comm "postgres") excluded, and its peak; also its PSS
//   (shared pages counted once) every 250 ms;
// - for a node child: the node process's own peak RSS (VmHWM) and CPU;
// - the CPU of PostgreSQL servers the caller names (postmaster pids): a server
//   started with pg_ctl is daemonized, so GNU time never sees its CPU. Counted:
//   the postmaster's own and reaped children's CPU (utime+stime+cutime+cstime)
//   plus its live children's, as a delta over the run.
// Also the machine's load: 1-minute load average before/after and the share
// of both cores that was busy (all processes) while the command ran.
import { spawn, execFileSync } from 'node:child_process';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** Peak of the summed RSS (VmRSS) of every process below GNU time, PostgreSQL server processes excluded. */
  treePeakRssMb: number;
  /** The same as PSS (shared pages counted once), sampled every 250 ms. */
  treePeakPssMb: number;
  /** What made up the tree's peak: RSS in MB by process name, summed over processes of that name. */
  treePeakByName: Record<string, number>;
  /** CPU (user+sys) of the named PostgreSQL servers over the run; 0 when none was named or seen. */
  serverCpuSeconds: number;
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

/**
 * Summed VmRSS (kB) of every descendant of `root` (not root itself), leaving
 * out PostgreSQL server processes (comm "postgres") and what runs below them;
 * with `pss`, also their summed PSS (shared pages split between the processes
 * that map them: forked pg_restore workers, shared libraries), which costs a
 * page-table walk per process (~1 ms for a 200 MB node).
 */
async function treeMemoryKb(root: number, pss: boolean): Promise<{ rssKb: number; pssKb: number; byName: Record<string, number> }> {
  let rssKb = 0;
  let pssKb = 0;
  const byName: Record<string, number> = {};
  const queue = await childrenOf(root);
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const s = await procStatus(pid);
    if (!s || s.name === 'postgres') continue;
    rssKb += s.rssKb;
    // Node 24 names its main thread, and so the process, "MainThread".
    const name = s.name === 'MainThread' ? 'node' : s.name;
    byName[name] = (byName[name] ?? 0) + s.rssKb;
    if (pss) pssKb += Number(/^Pss:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => ''))?.[1] ?? 0);
    queue.push(...(await childrenOf(pid)));
  }
  return { rssKb, pssKb, byName };
}

/** Name and VmRSS (kB) of a process, from /proc/<pid>/status. */
async function procStatus(pid: number): Promise<{ name: string; rssKb: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return {
      name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '',
      rssKb: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    };
  } catch {
    return undefined;
  }
}

/** utime+stime (and with `reaped`, + cutime+cstime: its waited-for children's) in clock ticks. */
async function cpuTicksOf(pid: number, reaped: boolean): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": fields 14-17 (utime, stime, cutime, cstime) are indexes 11-14 here
    return Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return undefined;
  }
}

/**
 * A PostgreSQL server's CPU so far, in clock ticks: the postmaster's own and
 * its reaped children's, plus its live children's (backends, checkpointer,
 * parallel workers). Undefined when the postmaster is gone.
 */
async function serverTicks(postmaster: number): Promise<number | undefined> {
  const own = await cpuTicksOf(postmaster, true);
  if (own === undefined) return undefined;
  let total = own;
  for (const pid of await childrenOf(postmaster)) total += (await cpuTicksOf(pid, true)) ?? 0;
  return total;
}

/**
 * Postmaster pids of the clusters whose data dir is `<root>/data` or
 * `<root>/<any>/data` (from postmaster.pid; a negative pid there is a
 * single-user postgres of initdb, which initdb waits for: not a server).
 */
export async function postmastersUnder(root: string): Promise<number[]> {
  const candidates = [join(root, 'data', 'postmaster.pid')];
  for (const e of await readdir(root, { withFileTypes: true }).catch(() => []))
    if (e.isDirectory()) candidates.push(join(root, e.name, 'data', 'postmaster.pid'));
  const pids: number[] = [];
  for (const file of candidates) {
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
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
  /** Postmaster pids whose server CPU belongs to this run (polled; servers already running count from the start). */
  servers?: () => Promise<number[]>;
}

export async function measure(command: string, args: string[], options: RunOptions): Promise<Measurement> {
  if (options.signal?.aborted) throw options.signal.reason;
  // Servers already running: their CPU counts from here. Servers that appear later count from zero.
  const serverBase = new Map<number, number>();
  const serverMax = new Map<number, number>();
  for (const pid of (await options.servers?.()) ?? []) {
    const ticks = await serverTicks(pid);
    if (ticks !== undefined) serverBase.set(pid, ticks);
  }
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
  let treePeakKb = 0;
  let treePeakByName: Record<string, number> = {};
  let treePeakPssKb = 0;
  let polls = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const tree = await treeMemoryKb(child.pid!, polls++ % 5 === 0);
      if (tree.rssKb > treePeakKb) {
        treePeakKb = tree.rssKb;
        treePeakByName = tree.byName;
      }
      treePeakPssKb = Math.max(treePeakPssKb, tree.pssKb);
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
      if (options.servers) {
        for (const pid of await options.servers()) {
          const ticks = await serverTicks(pid);
          if (ticks !== undefined) serverMax.set(pid, Math.max(serverMax.get(pid) ?? 0, ticks));
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const exitCode: number = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const wallSeconds = (performance.now() - t0) / 1000;
  polling = false;
  await poller;
  // A server still running (the persistent source cluster) is read once more now that the command is done.
  for (const pid of serverBase.keys()) {
    const ticks = await serverTicks(pid);
    if (ticks !== undefined) serverMax.set(pid, Math.max(serverMax.get(pid) ?? 0, ticks));
  }
  let serverTicksTotal = 0;
  for (const [pid, max] of serverMax) serverTicksTotal += Math.max(0, max - (serverBase.get(pid) ?? 0));
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
    if (options.signal?.aborted) throw options.signal.reason;
    // What the command left running in its group (a script's background jobs after its failure) must not outlive it.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* all gone */
    }
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
    treePeakRssMb: treePeakKb / 1024,
    treePeakPssMb: treePeakPssKb / 1024,
    treePeakByName: Object.fromEntries(Object.entries(treePeakByName).map(([name, kb]) => [name, kb / 1024])),
    serverCpuSeconds: serverTicksTotal / CLK_TCK,
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
  const { cp, mkdir, readFile, readdir, stat } = await import('node:fs/promises');
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
  // Of every file of the bundle, not the entry alone: a change in a chunk leaves index.js as it was.
  const hash = createHash('sha256');
  for (const name of (await readdir(into)).sort()) hash.update(`${name}\0`).update(await readFile(join(into, name)));
  return { path, source, sha256: hash.digest('hex') };
}
