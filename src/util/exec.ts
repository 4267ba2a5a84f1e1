// Runs external programs with errors that name the tool, its exit code and the
// tail of its stderr (never its environment, which may hold a password).
import { spawn, spawnSync, type SpawnOptions, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { ToolError } from '../errors.js';
import { redact } from './redact.js';

/** Keeps the last `limit` bytes of a stream (stderr), for error messages. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 16384) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  toString(): string {
    return redact(Buffer.concat(this.chunks).toString('utf8').slice(-this.limit)).trim();
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let pdeathsigWorks: boolean | undefined;

/**
 * The command line that makes the kernel SIGKILL the child when this process dies, even by
 * SIGKILL (which no handler sees): util-linux `setpriv --pdeathsig KILL` (prctl PR_SET_PDEATHSIG),
 * which then execs the command in place (same pid, so kill() and exit codes are unchanged).
 * Without it a killed CLI left pg_dump running (4 of 20 kills). Where setpriv is missing, as is.
 */
export function dieWithParent(command: string, args: string[]): [string, string[]] {
  pdeathsigWorks ??=
    process.platform === 'linux' && spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return pdeathsigWorks ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}

/** Runs a command to completion; throws ToolError on a non-zero exit unless allowFailure. */
export async function runTool(path: string, args: string[], options: SpawnOptions & { allowFailure?: boolean; input?: string } = {}): Promise<RunResult> {
  const [command, commandArgs] = dieWithParent(path, args);
  const child = spawn(command, commandArgs, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err = new TailBuffer(64 * 1024);
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.input ?? '');
  const code = await waitForExit(child, path);
  const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: err.toString() };
  if (code !== 0 && !options.allowFailure) throw toolFailed(path, code, result.stderr);
  return result;
}

export function waitForExit(child: ChildProcess, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new ToolError(basename(path), `Cannot run ${path}: ${error.message}.`, {
          hint: error.code === 'ENOENT' ? 'Install it or set postgres-bin-dir.' : undefined,
          cause: error,
        }),
      );
    });
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

export function toolFailed(path: string, code: number | null, stderr: string): ToolError {
  const tool = basename(path);
  // setpriv (dieWithParent) reports a tool it cannot start with exit 127.
  const missing = code === 127 && /failed to execute/.test(stderr);
  return new ToolError(tool, `${tool} exited with code ${code}${stderr ? `: ${stderr.split('\n').slice(-12).join('\n')}` : ''}`, {
    exitCode: code,
    stderr,
    hint: missing ? 'Install it or set postgres-bin-dir.' : undefined,
  });
}
