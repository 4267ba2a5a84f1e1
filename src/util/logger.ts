// A small logger interface so the engine runs the same under Actions and in a terminal.
import { describeProgress, type ProgressEvent } from './progress.js';
import { redact } from './redact.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Groups related lines (a collapsible group in Actions logs). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Renders progress itself (a live line, JSON); without it, Progress writes info lines. */
  progress?(event: ProgressEvent): void;
  /** How often running phases report to this logger (default 10 s). */
  progressIntervalMs?: number;
}

/** How the CLI shows progress: a live line on a terminal, plain lines elsewhere, JSON lines for scripts, or nothing. */
export type ProgressStyle = 'auto' | 'json' | 'lines' | 'none';

export interface ConsoleLoggerOptions {
  verbose?: boolean;
  /** Only warnings and errors. */
  quiet?: boolean;
  progress?: ProgressStyle;
  /** Colours and the live progress line need a terminal; NO_COLOR / --no-color turn colours off. */
  isTTY?: boolean;
  color?: boolean;
}

const CLEAR_LINE = '\r\x1b[K';

export class ConsoleLogger implements Logger {
  private readonly verbose: boolean;
  private readonly quiet: boolean;
  private readonly style: 'live' | 'json' | 'lines' | 'none';
  private readonly color: boolean;
  private liveLine = false;
  readonly progressIntervalMs?: number;

  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
    options: ConsoleLoggerOptions = {},
  ) {
    this.verbose = options.verbose ?? false;
    this.quiet = options.quiet ?? false;
    const tty = options.isTTY ?? false;
    const style = options.progress ?? 'auto';
    this.style = style === 'auto' ? (tty ? 'live' : 'lines') : style;
    this.color = tty && (options.color ?? true);
    // A live line can move every second; logs and JSON get one line per phase every 10 s.
    if (this.style === 'live') this.progressIntervalMs = 1000;
  }

  info(message: string): void {
    if (!this.quiet) this.line(redact(message));
  }
  warn(message: string): void {
    this.line(`${this.paint('33', 'warning:')} ${redact(message)}`);
  }
  error(message: string): void {
    this.line(`${this.paint('31', 'error:')} ${redact(message)}`);
  }
  debug(message: string): void {
    if (this.verbose) this.line(`${this.paint('2', 'debug:')} ${redact(message)}`);
  }

  progress(event: ProgressEvent): void {
    if (this.style === 'none') return;
    if (this.style === 'json') {
      this.stream.write(`${JSON.stringify(event)}\n`);
      return;
    }
    if (this.quiet) return;
    if (this.style === 'live') {
      this.stream.write(`${CLEAR_LINE}${describeProgress(event)}${event.state === 'end' ? '\n' : ''}`);
      this.liveLine = event.state !== 'end';
      return;
    }
    if (event.state === 'running' || (event.state === 'end' && (event.bytes !== undefined || event.elapsedSeconds >= 10))) this.line(describeProgress(event));
  }

  private line(text: string): void {
    // A message clears the live progress line first; the next tick redraws it.
    this.stream.write(`${this.liveLine ? CLEAR_LINE : ''}${text}\n`);
    this.liveLine = false;
  }

  private paint(code: string, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.info(`── ${title}`);
    return fn();
  }
}

/** Collects lines in memory: for tests. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(redact(message));
  }
  warn(message: string): void {
    this.lines.push(`warning: ${redact(message)}`);
  }
  error(message: string): void {
    this.lines.push(`error: ${redact(message)}`);
  }
  debug(): void {}
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push(`── ${title}`);
    return fn();
  }
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  group: (_title, fn) => fn(),
};
