// Runs pg_dump (custom format) in an exported snapshot and exposes its stdout
// as a stream. The dump is never held in memory or staged on disk.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { libpqConnection } from './connect.js';
import { deadlines } from '../util/deadlines.js';
import { TailBuffer, dieWithParent, toolFailed, waitForExit } from '../util/exec.js';

export interface DumpOptions {
  binDir: string;
  databaseUrl: string | undefined;
  snapshotId: string;
  compression: number;
  /** Extra pg_dump arguments (e.g. --exclude-table-data for redaction). */
  extraArgs?: string[];
}

export interface RunningDump {
  stdout: Readable;
  /** Resolves when pg_dump exits 0; rejects with its stderr otherwise. */
  done: Promise<void>;
  kill(): void;
}

export function startDump(options: DumpOptions): RunningDump {
  const conn = libpqConnection(options.databaseUrl);
  // PGCONNECT_TIMEOUT: pg_dump's own deadline to reach the server (input connect-timeout).
  conn.env.PGCONNECT_TIMEOUT ??= String(Math.max(2, Math.ceil(deadlines().connectMs / 1000)));
  const args = ['--format=custom', `--compress=${options.compression}`, `--snapshot=${options.snapshotId}`, '--no-password', ...(options.extraArgs ?? [])];
  if (conn.dbname) args.push(`--dbname=${conn.dbname}`);
  const path = join(options.binDir, 'pg_dump');
  // Dies with us, even when we are killed with SIGKILL: a pg_dump must never outlive its backup.
  const [command, commandArgs] = dieWithParent(...withBigStdoutWrites(path, args));
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...conn.env } });
  const stderr = new TailBuffer();
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  const done = waitForExit(child, path).then((code) => {
    if (code !== 0) throw toolFailed(path, code, stderr.toString());
  });
  done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile
  return { stdout: child.stdout!, done, kill: () => child.kill('SIGTERM') };
}

let stdbufWorks: boolean | undefined;

/**
 * pg_dump writes its archive in 4 KiB write()s; through a pipe that is one
 * wake-up of ours per 4 KiB. Under coreutils' `stdbuf -o 1M` (Linux) it writes
 * 1 MiB at a time: measured 35% less of our CPU and 5-15% less wall time for
 * the dump (BENCHMARKS.md). Where stdbuf is missing or broken, pg_dump runs as is.
 */
export function withBigStdoutWrites(path: string, args: string[]): [string, string[]] {
  stdbufWorks ??= process.platform === 'linux' && spawnSync('stdbuf', ['-o', '1M', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return stdbufWorks ? ['stdbuf', ['-o', '1M', path, ...args]] : [path, args];
}
