// A child process as a stream stage (e.g. `zstd -d`): bytes written go to its
// stdin, its stdout is read out. The stream ends only after the child exited 0,
// so a failing or killed child is an error, never a short read; destroying the
// stream kills the child.
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import { TailBuffer, dieWithParent } from './exec.js';

export class ProcessTransform extends Duplex {
  private readonly child: ChildProcess;
  private readonly stderr = new TailBuffer();
  private stdoutEnded = false;
  private exitCode: number | null | undefined;

  constructor(
    command: string,
    args: string[],
    private readonly failure: (code: number | null, stderr: string) => Error,
  ) {
    super();
    const [cmd, cmdArgs] = dieWithParent(command, args);
    this.child = spawn(cmd, cmdArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (c: Buffer) => this.stderr.push(c));
    this.child.stdin!.on('error', () => undefined); // EPIPE: the exit code tells what happened
    this.child.stdout!.on('data', (c: Buffer) => {
      if (!this.push(c)) this.child.stdout!.pause();
    });
    this.child.stdout!.once('end', () => {
      this.stdoutEnded = true;
      this.maybeEnd();
    });
    this.child.once('error', (error) => this.destroy(error));
    // 'exit', not 'close': after a failure our end of its stdin may stay open, and 'close' waits for it.
    this.child.once('exit', (code) => {
      this.exitCode = code;
      if (code !== 0) this.destroy(this.failure(code, this.stderr.toString()));
      else this.maybeEnd();
    });
  }

  private maybeEnd(): void {
    if (this.stdoutEnded && this.exitCode === 0) this.push(null);
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin!.write(chunk)) callback();
    else this.child.stdin!.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin!.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
    callback(error);
  }
}
