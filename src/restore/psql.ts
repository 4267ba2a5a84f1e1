// One psql session that runs a whole restore script inside one transaction
// and stops before COMMIT: the caller commits only when every step (and the
// in-transaction verification) succeeded, and can do one last thing first
// (swap the files in). ON_ERROR_STOP makes psql exit at the first error; a
// psql that exits, or a connection that drops, leaves the transaction
// uncommitted, so the server rolls it back and the target is as it was.
//
// Only this session's own COMMIT can end the transaction (script-guard.ts
// keeps the script from trying; this is the server-side net behind it):
// - a deferred constraint trigger on a temporary table raises at any COMMIT
//   that did not first set this session's nonce: the transaction aborts;
// - the session's default is read-only, so anything that ran after an
//   escaped ROLLBACK could not write.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { libpqConnection } from '../postgres/connect.js';
import { TailBuffer, toolFailed, waitForExit } from '../util/exec.js';

/** Marks the trap's error, so a refused early COMMIT is reported as such. */
export const EARLY_COMMIT_MARK = 'backup-drill: a statement tried to commit the restore before it was verified';

export class PsqlExited extends Error {
  constructor(
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`psql exited with code ${code}${stderr ? `: ${stderr.split('\n').slice(-12).join('\n')}` : ''}`);
  }
}

/** The transaction that ran the restore is not the one that reached its end: something ended it on the way. */
export class TransactionEscaped extends Error {
  constructor(
    readonly xid: string | undefined,
    readonly now: string,
    readonly stderr: string,
  ) {
    super(`the restore began in transaction ${xid} but reached its end in transaction ${now}`);
  }
}

export class PsqlSession {
  private readonly nonce = randomBytes(6).toString('hex');
  private readonly stderrTail = new TailBuffer(64 * 1024);
  private stdoutText = '';
  private exitCode: number | undefined;
  private readonly exited: Promise<number>;
  private readonly waiters: Array<() => void> = [];

  /** The transaction's id and the server process running it, once begin() returned. */
  xid: string | undefined;
  pid: number | undefined;
  private detachAbort: () => void = () => undefined;

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
    });
    const session = new PsqlSession(child);
    session.stopOnAbort(options.signal);
    return session;
  }

  /**
   * On abort, psql gets SIGINT: it cancels the running statement on the server
   * and exits, so the server rolls back at once (SIGKILL if it lingers).
   */
  private stopOnAbort(signal: AbortSignal | undefined): void {
    if (!signal) return;
    const onAbort = () => {
      if (this.exitCode !== undefined) return;
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.kill(), 5_000);
      this.exited.finally(() => clearTimeout(timer)).catch(() => undefined);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    this.detachAbort = () => signal.removeEventListener('abort', onAbort);
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
   * Opens the transaction (read-write in a read-only session), arms the commit
   * trap, and resolves with the transaction's id and server process once the
   * server has them: from here on, the outcome of a failure can be confirmed.
   */
  async begin(): Promise<{ xid: string; pid: number }> {
    await this.write(`SET default_transaction_read_only = on;
BEGIN READ WRITE;
SELECT pg_catalog.txid_current()::text AS bd_xid, pg_catalog.pg_backend_pid() AS bd_pid \\gset
\\echo bd:begun ${this.nonce} :bd_xid :bd_pid
DO $bd_trap$
BEGIN
  CREATE TEMPORARY TABLE bd_commit_guard (armed boolean) ON COMMIT DROP;
  CREATE FUNCTION pg_temp.bd_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $f$
  BEGIN
    IF pg_catalog.current_setting('backup_drill.commit', true) = '${this.nonce}' THEN RETURN NULL; END IF;
    RAISE EXCEPTION '${EARLY_COMMIT_MARK}; the whole transaction is rolled back';
  END $f$;
  CREATE CONSTRAINT TRIGGER bd_refuse_commit AFTER INSERT ON pg_temp.bd_commit_guard
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE PROCEDURE pg_temp.bd_refuse_commit();
  INSERT INTO pg_temp.bd_commit_guard VALUES (true);
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'backup-drill: could not arm the commit trap (%): the restore relies on the script guard alone', SQLERRM;
END
$bd_trap$;
`);
    const m = await this.waitFor(new RegExp(`bd:begun ${this.nonce} (\\d+) (\\d+)`));
    this.xid = m[1]!;
    this.pid = Number(m[2]);
    return { xid: this.xid, pid: this.pid };
  }

  /**
   * Marks the point where everything before has run: resolves once psql got
   * there, still inside the transaction begin() opened; rejects when psql
   * stopped before, or when something ended that transaction on the way.
   */
  async ready(): Promise<string> {
    await this.write(`SELECT pg_catalog.txid_current()::text AS bd_xid_now \\gset\n\\echo bd:ready ${this.nonce} :bd_xid_now\n`);
    const now = (await this.waitFor(new RegExp(`bd:ready ${this.nonce} (\\d+)`)))[1]!;
    if (now !== this.xid) throw new TransactionEscaped(this.xid, now, this.stderr);
    return now;
  }

  private async waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    for (;;) {
      const m = pattern.exec(this.stdoutText);
      if (m) return m;
      if (this.exitCode !== undefined) throw this.failed();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** COMMIT and wait: resolves only when psql confirmed it and exited 0. */
  async commit(): Promise<void> {
    // Once COMMIT is on its way, an interrupt would only make its outcome uncertain: let it finish.
    this.detachAbort();
    await this.write(`SELECT pg_catalog.set_config('backup_drill.commit', '${this.nonce}', true);\nCOMMIT;\n\\echo bd:committed ${this.nonce}\n`);
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
export function scriptFrom(options: { binDir: string; file: string; args: string[] }): {
  stdout: Readable;
  done: Promise<void>;
  kill(): void;
} {
  const path = join(options.binDir, 'pg_restore');
  // --single-transaction: no BEGIN/COMMIT of its own around large-object data (script-guard.ts strips the outer pair).
  const child = spawn(path, ['--no-owner', '--no-acl', '--single-transaction', '-f', '-', ...options.args, options.file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = new TailBuffer();
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  const done = waitForExit(child, path).then((code) => {
    if (code !== 0) throw toolFailed(path, code, stderr.toString());
  });
  done.catch(() => undefined);
  return { stdout: child.stdout!, done, kill: () => child.kill('SIGKILL') };
}
