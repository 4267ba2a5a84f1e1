// A small logger interface so the engine runs the same under Actions and in a terminal.
import { redact } from './redact.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Groups related lines (a collapsible group in Actions logs). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

export class ConsoleLogger implements Logger {
  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
    private readonly verbose = false,
    private readonly quiet = false,
    /** ANSI colours for the warning/error labels (the CLI decides: a TTY, no NO_COLOR / --no-color). */
    private readonly colour = false,
  ) {}
  info(message: string): void {
    if (!this.quiet) this.stream.write(`${redact(message)}\n`);
  }
  warn(message: string): void {
    this.stream.write(`${this.label('warning:', 33)} ${redact(message)}\n`);
  }
  error(message: string): void {
    this.stream.write(`${this.label('error:', 31)} ${redact(message)}\n`);
  }
  private label(text: string, ansi: number): string {
    return this.colour ? `\u001b[${ansi}m${text}\u001b[0m` : text;
  }
  debug(message: string): void {
    if (this.verbose) this.stream.write(`debug: ${redact(message)}\n`);
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
