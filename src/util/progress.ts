// Progress of long operations, as events: a phase starts, runs (bytes, and a
// percentage and ETA when the total is known), ends. The logger decides how
// they look — a live line on a terminal, a plain line every ~10 s in Actions
// logs and pipes, JSON lines for scripts (--progress=json) — so no phase is
// silent for longer than one interval, whatever the output.
import type { Logger } from './logger.js';
import { formatBytes, formatDuration } from './format.js';

export interface ProgressEvent {
  type: 'progress';
  phase: string;
  state: 'start' | 'running' | 'end';
  /** ISO time of the event. */
  at: string;
  elapsedSeconds: number;
  bytes?: number;
  totalBytes?: number;
  percent?: number;
  bytesPerSecond?: number;
  etaSeconds?: number;
  /** What the phase is doing once every byte is read (e.g. pg_restore building indexes). */
  note?: string;
}

/** How often a running phase reports: BACKUP_DRILL_PROGRESS_INTERVAL_MS, or the logger's own rate, or 10 s. */
export function progressIntervalMs(logger: Logger): number {
  const fromEnv = Number(process.env.BACKUP_DRILL_PROGRESS_INTERVAL_MS);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  return logger.progressIntervalMs ?? 10_000;
}

export interface ProgressOptions {
  /** Total bytes expected, when known (a stored part's size, an estimate of a database's size). */
  totalBytes?: number;
  /** False for phases that have no byte count (cluster start, verification, stats). */
  counts?: boolean;
  intervalMs?: number;
  /** Said once every counted byte is in while the phase goes on (the rate and ETA then mean nothing). */
  whenAllRead?: string;
}

export class Progress {
  private bytes = 0;
  private started = Date.now();
  private timer?: NodeJS.Timeout;
  private ended = false;
  private ticks = 0;
  constructor(
    private readonly label: string,
    private readonly logger: Logger,
    private readonly options: ProgressOptions = {},
  ) {}

  start(): this {
    this.started = Date.now();
    this.emit('start');
    this.timer = setInterval(() => this.emit('running'), this.options.intervalMs ?? progressIntervalMs(this.logger));
    this.timer.unref();
    return this;
  }

  add(n: number): void {
    this.bytes += n;
  }

  /** A better estimate of the total, learnt on the way. */
  setTotal(totalBytes: number | undefined): void {
    this.options.totalBytes = totalBytes;
  }

  get total(): number {
    return this.bytes;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.ended) this.emit('end');
    this.ended = true;
  }

  private emit(state: ProgressEvent['state']): void {
    const counts = this.options.counts !== false;
    const event = progressEvent(this.label, state, this.started, counts ? this.bytes : undefined, this.options.totalBytes);
    const total = this.options.totalBytes;
    if (state === 'running' && this.options.whenAllRead && total && this.bytes >= total) {
      event.note = this.options.whenAllRead;
      delete event.bytesPerSecond;
    }
    if (state === 'running') this.ticks++;
    if (this.logger.progress) return this.logger.progress(event);
    // Plain logs: no start line, and no end line for a short phase that has nothing to count.
    if (state === 'start' || (state === 'end' && !counts && this.ticks === 0)) return;
    this.logger.info(describeProgress(event));
  }
}

export function progressEvent(phase: string, state: ProgressEvent['state'], startedMs: number, bytes?: number, totalBytes?: number): ProgressEvent {
  const elapsedSeconds = (Date.now() - startedMs) / 1000;
  const event: ProgressEvent = { type: 'progress', phase, state, at: new Date().toISOString(), elapsedSeconds: round(elapsedSeconds) };
  if (bytes === undefined) return event;
  event.bytes = bytes;
  const rate = bytes / Math.max(elapsedSeconds, 0.001);
  if (elapsedSeconds >= 0.5) event.bytesPerSecond = Math.round(rate);
  if (totalBytes && totalBytes > 0) {
    event.totalBytes = totalBytes;
    // An estimate can be exceeded (compression, growth): never print more than 99% before the end.
    event.percent = state === 'end' ? 100 : Math.min(99, round((bytes / totalBytes) * 100));
    if (state === 'running' && rate > 0 && bytes < totalBytes) event.etaSeconds = Math.round((totalBytes - bytes) / rate);
  }
  return event;
}

/** One human line: `database: 1.2 GiB of 3.0 GiB (40%), 85.0 MiB/s, ETA 22s`. */
export function describeProgress(e: ProgressEvent): string {
  const parts: string[] = [];
  if (e.bytes !== undefined) {
    parts.push(e.totalBytes ? `${formatBytes(e.bytes)} of ~${formatBytes(e.totalBytes)} (${e.percent}%)` : formatBytes(e.bytes));
    if (e.bytesPerSecond) parts.push(`${formatBytes(e.bytesPerSecond)}/s`);
  }
  if (e.note) parts.push(e.note);
  if (e.state === 'end') parts.push(`done in ${formatDuration(e.elapsedSeconds)}`);
  else {
    parts.push(`${formatDuration(e.elapsedSeconds)} so far`);
    if (e.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(e.etaSeconds)}`);
  }
  return `${e.phase}: ${parts.join(', ')}`;
}

/**
 * Runs one phase that has no byte count (starting a server, comparing tables),
 * reporting while it runs so it is never silent for long.
 */
export async function phase<T>(logger: Logger, name: string, fn: () => Promise<T>): Promise<T> {
  const progress = new Progress(name, logger, { counts: false }).start();
  try {
    return await fn();
  } finally {
    progress.stop();
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
