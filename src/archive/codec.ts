// How the database dump is compressed. zstd on every core (the zstd CLI, fed
// pg_dump's output directly) is the default: on 2 cores it compresses a dump in
// a quarter of the time pg_dump's one-core gzip -Z1 takes, to smaller output
// (BENCHMARKS.md). Node's zlib zstd (Node >= 22.15, one core) stands in without
// the CLI; gzip inside pg_dump is the fallback when neither exists.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { PassThrough, type Duplex, type Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { EnvironmentError, IntegrityError, UsageError } from '../errors.js';
import { TailBuffer, dieWithParent, toolFailed, waitForExit } from '../util/exec.js';
import { ProcessTransform } from '../util/process-transform.js';

/** The `compression` input: `auto`, or a codec and level chosen by the user. */
export type CompressionChoice = { codec: 'auto' } | DumpCompression;

/** What a backup's dump was written with (recorded in the manifest, format 4). */
export type DumpCompression =
  /** The custom-format archive is written uncompressed (-Z0) and the whole stream is zstd-compressed: `database.dump.zst`. */
  | { codec: 'zstd'; level: number }
  /** pg_dump's own gzip inside the custom-format archive (level 0: none); readable by pg_restore as is. */
  | { codec: 'gzip'; level: number };

export const ZSTD_DEFAULT_LEVEL = 1;
const ZSTD_MAX_LEVEL = 19;

/** Parses the `compression` input: auto | zstd[:1-19] | gzip[:0-9] | none | a bare 0-9 (pg_dump's gzip level, as before format 4). */
export function parseCompression(value: string | undefined): CompressionChoice {
  const text = (value ?? '').trim().toLowerCase();
  if (text === '' || text === 'auto') return { codec: 'auto' };
  if (text === 'none') return { codec: 'gzip', level: 0 };
  const match = /^(?:(zstd|gzip)(?::(\d{1,2}))?|(\d))$/.exec(text);
  if (match) {
    if (match[3] !== undefined) return { codec: 'gzip', level: Number(match[3]) };
    const codec = match[1] as 'zstd' | 'gzip';
    const level = match[2] === undefined ? (codec === 'zstd' ? ZSTD_DEFAULT_LEVEL : 1) : Number(match[2]);
    const [min, max] = codec === 'zstd' ? [1, ZSTD_MAX_LEVEL] : [0, 9];
    if (level >= min && level <= max) return { codec, level };
  }
  throw new UsageError(`Input 'compression' must be auto, zstd, zstd:<1-19>, gzip, gzip:<0-9>, none or a bare 0-9, got '${value}'.`, {
    input: 'compression',
    hint: "Use 'auto' (zstd when available, else gzip), 'zstd' or 'zstd:<1-19>', 'gzip' or 'gzip:<0-9>', 'none', or a bare 0-9 (pg_dump's gzip level).",
  });
}

export function describeCompression(c: DumpCompression): string {
  if (c.codec === 'gzip') return c.level === 0 ? 'none' : `gzip ${c.level} (pg_dump -Z${c.level})`;
  return `zstd ${c.level}`;
}

/** What a manifest's `dump` says it was compressed with; before format 4 (no `codec`), the level was pg_dump's gzip. */
export function dumpCompressionOf(dump: { codec?: DumpCompression['codec']; compression: number }): DumpCompression {
  return { codec: dump.codec ?? 'gzip', level: dump.compression };
}

const INSTALL_ZSTD = "Install zstd (Debian/Ubuntu: 'apt-get install zstd'; macOS: 'brew install zstd')";

let zstdCli: boolean | undefined;
/** Whether the `zstd` command runs here (probed once). */
export function hasZstdCli(): boolean {
  zstdCli ??= spawnSync('zstd', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return zstdCli;
}

/** Whether this Node has zstd in zlib (22.15+ and 23.8+). */
export function hasNodeZstd(): boolean {
  return typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';
}

/** Resolves `auto`; refuses an explicit zstd that nothing here can write. */
export function resolveCompression(choice: CompressionChoice): { compression: DumpCompression; note?: string } {
  const zstdHere = hasZstdCli() || hasNodeZstd();
  if (choice.codec === 'auto') {
    if (zstdHere) return { compression: { codec: 'zstd', level: ZSTD_DEFAULT_LEVEL } };
    return {
      compression: { codec: 'gzip', level: 1 },
      note: `compression auto: no zstd here (no zstd command, and Node ${process.version} has no zlib zstd): using pg_dump's gzip -Z1, slower. Install zstd for faster backups.`,
    };
  }
  if (choice.codec === 'zstd' && !zstdHere) {
    throw new EnvironmentError(`compression ${choice.codec}:${choice.level} needs the zstd command or Node 22.15 or newer; this machine has neither.`, {
      hint: `${INSTALL_ZSTD}, or set compression to 'auto' or 'gzip'.`,
    });
  }
  return { compression: choice };
}

export interface RunningCompressor {
  stdout: Readable;
  /** Resolves when the compressor has written everything; rejects when it failed. */
  done: Promise<void>;
  /** Bytes read from the dump so far (for progress). */
  readBytes(): Promise<number>;
  /** Once done: every byte read, when known (the CLI's summary line; zlib counts them here). */
  totalRead(): number | undefined;
  kill(): void;
}

/**
 * Compresses a child's stdout with zstd. The CLI reads the pipe itself, so the
 * uncompressed dump never passes through this process; its progress is read
 * from /proc. Without the CLI, Node's zlib compresses it here.
 */
export function startZstd(input: Readable, level: number): RunningCompressor {
  if (hasZstdCli()) return startZstdCli(input, level);
  let read = 0;
  input.on('data', (c: Buffer) => (read += c.length));
  const compressor = (zlib as unknown as { createZstdCompress(o: object): Transform }).createZstdCompress({
    params: { [(zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel!]: level },
  });
  const out = new PassThrough();
  const done = new Promise<void>((resolve, reject) => {
    out.once('end', resolve);
    out.once('error', reject);
  });
  done.catch(() => undefined);
  input.once('error', (e) => out.destroy(e));
  compressor.once('error', (e) => out.destroy(e));
  input.pipe(compressor).pipe(out);
  return { stdout: out, done, readBytes: async () => read, totalRead: () => read, kill: () => input.destroy() };
}

function startZstdCli(input: Readable, level: number): RunningCompressor {
  // -vv --no-progress: no progress bar, one summary line at the end with the exact byte counts.
  const args = ['-vv', '--no-progress', '-c', `-${level}`, `-T${availableParallelism()}`];
  const [command, commandArgs] = dieWithParent('zstd', args);
  // The dump's pipe is handed to zstd as its stdin: no copy through this process.
  const child: ChildProcess = spawn(command, commandArgs, { stdio: [input, 'pipe', 'pipe'] });
  // zstd holds its own copy of the pipe; ours must close, or pg_dump's 'close' (all its pipes shut) never comes.
  input.destroy();
  const stderr = new TailBuffer();
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  const done = waitForExit(child, 'zstd').then((code) => {
    if (code !== 0) throw toolFailed('zstd', code, stderr.toString());
  });
  done.catch(() => undefined);
  // zstd's `zstd` process execs in place of setpriv, so its pid reads its own I/O.
  const readBytes = async () => {
    try {
      const io = await readFile(`/proc/${child.pid}/io`, 'utf8');
      return Number(/^rchar:\s*(\d+)/m.exec(io)?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  const totalRead = () => {
    const summary = /\(\s*(\d+) B =>\s*\d+ B/.exec(stderr.toString());
    return summary ? Number(summary[1]) : undefined;
  };
  return { stdout: child.stdout!, done, readBytes, totalRead, kill: () => child.kill('SIGTERM') };
}

/**
 * The transform that turns a stored part's (decrypted) bytes back into what was
 * compressed, for parts marked `compression: 'zstd'`; undefined for the rest.
 * The zstd CLI runs beside us (3× faster than zlib here); Node's zlib without it.
 */
export function decompressorFor(part: { name: string; compression?: string }): Duplex | undefined {
  if (part.compression === undefined) return undefined;
  if (part.compression !== 'zstd') {
    throw new IntegrityError(`Part ${part.name} is compressed with ${JSON.stringify(part.compression)}, which this version cannot read.`, {
      hint: 'Use the backup-drill version that wrote it, or a newer one.',
    });
  }
  if (hasZstdCli()) return new ProcessTransform('zstd', ['-d', '-q', '-c'], (code, stderr) => new Error(`zstd -d exited with code ${code}: ${stderr.trim()}`));
  if (hasNodeZstd()) return (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress();
  throw new EnvironmentError(`Part ${part.name} is zstd-compressed, and this machine has no zstd command and Node ${process.version} has no zlib zstd.`, {
    hint: `${INSTALL_ZSTD} or use Node 22.15 or newer.`,
  });
}

/**
 * `zstd -d` from `input` into `file`. When zstd fails, the rest of the input is still read: a digest
 * mismatch found at its end (the real cause) is thrown instead of the decompression error.
 */
export async function unzstdToFile(input: Readable, file: string, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const [command, commandArgs] = dieWithParent('zstd', ['-d', '-q', '-f', '-o', file]);
  const child = spawn(command, commandArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr = new TailBuffer();
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  child.stdin!.on('error', () => undefined); // EPIPE when zstd stops: its exit code says why
  const stop = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', stop, { once: true });
  let inputError: unknown;
  const inputDone = new Promise<void>((resolve) => {
    input.once('error', (error) => {
      inputError = error;
      child.kill('SIGKILL');
      resolve();
    });
    input.once('end', () => resolve());
  });
  input.pipe(child.stdin!);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0 && !inputError && !signal?.aborted) {
      input.unpipe(child.stdin!);
      input.resume(); // on to the digest check
      await inputDone;
    }
    if (inputError) throw inputError;
    signal?.throwIfAborted();
    if (code !== 0) throw new Error(`zstd -d exited with code ${code}: ${stderr.toString()}`);
    await inputDone;
    if (inputError) throw inputError;
  } finally {
    signal?.removeEventListener('abort', stop);
    input.destroy();
  }
}
