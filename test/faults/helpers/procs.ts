// Watches the process tree under a pid (via /proc), so a killed run's
// children (pg_dump, pg_restore, initdb, psql, postgres) can be found afterwards.
import { readdirSync, readFileSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** Start time in clock ticks: tells a pid from a later process that reuses it. */
  start: string;
  cmdline: string;
}

export function processTable(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      out.push({ pid: Number(name), ppid: Number(fields[1]), comm, start: fields[19]!, cmdline });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export function descendants(root: number, table = processTable()): Proc[] {
  const found: Proc[] = [];
  const parents = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of table) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

export function stillAlive(p: Proc): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === p.start && fields[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls the tree under `root` every few ms and remembers every descendant ever seen. */
export class TreeWatcher {
  readonly seen = new Map<string, Proc>();
  private timer: NodeJS.Timeout;
  constructor(
    readonly root: number,
    everyMs = 25,
  ) {
    this.timer = setInterval(() => this.poll(), everyMs);
    this.poll();
  }
  poll(): Proc[] {
    const now = descendants(this.root);
    for (const p of now) this.seen.set(`${p.pid}:${p.start}`, p);
    return now;
  }
  /** Is a process with this command name running under root right now? */
  running(comm: string): boolean {
    return this.poll().some((p) => p.comm === comm);
  }
  stop(): void {
    clearInterval(this.timer);
  }
  survivors(): Proc[] {
    return [...this.seen.values()].filter(stillAlive);
  }
}

/** postgres servers whose data directory is under `dir` (a throwaway cluster's root). */
export function postgresUnder(dir: string): Proc[] {
  return processTable().filter((p) => p.comm === 'postgres' && p.cmdline.includes(dir));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return false;
}
