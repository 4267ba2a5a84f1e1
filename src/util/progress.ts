// Periodic "bytes and rate" lines for long transfers. Plain text, no control
// characters, so it reads well in Actions logs and in piped output.
import type { Logger } from './logger.js';
import { formatBytes } from './format.js';

export class Progress {
  private bytes = 0;
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly label: string,
    private readonly logger: Logger,
    private readonly intervalMs = 5000,
  ) {}
  start(): this {
    this.timer = setInterval(() => this.report(), this.intervalMs);
    this.timer.unref();
    return this;
  }
  add(n: number): void {
    this.bytes += n;
  }
  get total(): number {
    return this.bytes;
  }
  private report(): void {
    const seconds = (Date.now() - this.started) / 1000;
    this.logger.info(`${this.label}: ${formatBytes(this.bytes)} in ${seconds.toFixed(0)}s (${formatBytes(this.bytes / Math.max(seconds, 0.001))}/s)`);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
