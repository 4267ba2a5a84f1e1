// One psql session that runs a whole restore script inside one transaction
// and stops before COMMIT: the caller commits only when every step (and the
// in-transaction verification) succeeded, and can do one last thing first
// (swap the files in). ON_ERROR_STOP makes psql exit at the first error; a
// psql that exits, or a connection that drops, leaves the transaction
// uncommitted, so the server rolls it back and the target is as it was.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { libpqConnection } from '../postgres/connect.js';
import { TailBuffer, toolFailed, waitForExit } from '../util/exec.js';

export class PsqlExited extends Error {
  constructor(
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`psql exited with code ${code}${stderr ? `: ${stderr.split('\n').slice(-12).join('\n')}` : ''}`);
  }
}

export class PsqlSession {
  private readonly nonce = randomBytes(6).toString('hex');
  private readonly stderrTail = new TailBuffer(64 * 1024);
  private stdoutText = '';
  private exitCode: number | undefined;
  private readonly exited: Promise<number>;
  private readonly waiters: Array<() => void> = [];

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => {
      this.stdoutText = (this.stdoutText + c.toString('utf8')).slice(-8192);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on('data', (c: Buffer) => this.stderrTail.push(c));
    child.stdin!.on('error', () => undefined); // EPIPE when psql stopped at an error: its exit code tells
    this.exited = waitForExit(child, 'psql').then((code) => {
      this.exitCode = code;
      for (const w of this.waiters.splice(0)) w();
      return code;
    });
    this.exited.catch(() => undefined);
  }

  static start(options: { binDir: string; databaseUrl: string | undefined; signal?: AbortSignal }): PsqlSession {
    const conn = libpqConnection(options.databaseUrl);
    const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password', '-o', '/dev/null'];
    if (conn.dbname) args.push('-d', conn.dbname);
    const child = spawn(join(options.binDir, 'psql'), args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...conn.env, PGAPPNAME: 'backup-drill restore' },
      signal: options.signal,
    });
    return new PsqlSession(child);
  }

  get stderr(): string {
    return this.stderrTail.toString();
  }

  private failed(): PsqlExited {
    return new PsqlExited(this.exitCode ?? 1, this.stderr);
  }

  /** Writes script text, respecting back-pressure; rejects once psql has exited. */
  async write(chunk: string | Buffer): Promise<void> {
    if (this.exitCode !== undefined) throw this.failed();
    if (!this.child.stdin!.write(chunk)) {
      await Promise.race([once(this.child.stdin!, 'drain'), this.exited]);
      if (this.exitCode !== undefined) throw this.failed();
    }
  }

  /** Streams a script (e.g. pg_restore's output) into the session without ending it. */
  async pipeFrom(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of source) await this.write(chunk);
  }

  /**
   * Marks the point where everything before has run: resolves with the
   * transaction id once psql got there, rejects when psql stopped before.
   */
  async ready(): Promise<string> {
    await this.write(`SELECT pg_catalog.txid_current()::text AS bd_xid \\gset\n\\echo bd:ready ${this.nonce} :bd_xid\n`);
    const pattern = new RegExp(`bd:ready ${this.nonce} (\\d+)`);
    for (;;) {
      const m = pattern.exec(this.stdoutText);
      if (m) return m[1]!;
      if (this.exitCode !== undefined) throw this.failed();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** COMMIT and wait: resolves only when psql confirmed it and exited 0. */
  async commit(): Promise<void> {
    await this.write(`COMMIT;\n\\echo bd:committed ${this.nonce}\n`);
    this.child.stdin!.end();
    const code = await this.exited;
    if (code !== 0 || !this.stdoutText.includes(`bd:committed ${this.nonce}`)) throw this.failed();
  }

  /** Rolls back (or, when psql does not answer, kills it: the server rolls back either way). */
  async abort(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.stdin!.write('ROLLBACK;\n');
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited.catch(() => undefined);
    clearTimeout(timer);
  }

  /** Kills psql now: the connection closes and the server rolls the transaction back. */
  kill(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }
}

/** A pg_restore that writes the SQL script to stdout (`-f -`). */
export function scriptFrom(options: { binDir: string; file: string; args: string[]; signal?: AbortSignal }): {
  stdout: Readable;
  done: Promise<void>;
  kill(): void;
} {
  const path = join(options.binDir, 'pg_restore');
  const child = spawn(path, ['--no-owner', '--no-acl', '-f', '-', ...options.args, options.file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: options.signal,
  });
  const stderr = new TailBuffer();
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  const done = waitForExit(child, path).then((code) => {
    if (code !== 0) throw toolFailed(path, code, stderr.toString());
  });
  done.catch(() => undefined);
  return { stdout: child.stdout!, done, kill: () => child.kill('SIGKILL') };
}
