// The trend guard, as pure logic: a backup against the trailing median of the
// previous good backups of its set. A drop of total rows or stored size past
// max-shrink makes it suspect; growth past max-growth and per-table drops only
// warn (busy tables come and go; trend-ignore leaves them out).
import picomatch from 'picomatch';
import { formatBytes } from '../util/format.js';

export interface TrendSample {
  id: string;
  sizeBytes: number;
  /** Total rows; undefined when not readable (encrypted set without a key). */
  rows?: number;
  /** Rows per `schema.table`. */
  tables?: Record<string, number>;
  /** Codec and level (`zstd:1`, `gzip:6`), when known: stored sizes compare only between backups compressed alike. */
  compression?: string;
}

export interface TrendOptionsPure {
  maxShrink?: number;
  maxGrowth?: number;
  ignore: string[];
}

export interface TrendVerdict {
  verdict: 'ok' | 'suspect';
  /** Why it is suspect. */
  reasons: string[];
  warnings: string[];
  /** Every measured delta, for summaries and messages. */
  deltas: string[];
  /** Ids of the backups the median came from. */
  baseline: string[];
}

/** How many previous good backups make the trailing median. */
export const TREND_WINDOW = 5;
/** A table smaller than this (median rows) is too small for a per-table warning to mean anything. */
const MIN_TABLE_ROWS = 10;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percent(change: number): string {
  return `${change >= 0 ? '+' : '−'}${Math.abs(change * 100).toFixed(1)}%`;
}

/** Rows of the tables not matched by trend-ignore (all rows when there is no per-table list). */
export function countedRows(sample: TrendSample, ignored: (table: string) => boolean): number | undefined {
  if (!sample.tables) return sample.rows;
  return Object.entries(sample.tables).reduce((sum, [table, rows]) => (ignored(table) ? sum : sum + rows), 0);
}

export function ignoreMatcher(patterns: string[]): (table: string) => boolean {
  if (!patterns.length) return () => false;
  const matchers = patterns.map((p) => picomatch(p.includes('.') ? p : `*.${p}`, { dot: true }));
  return (table) => matchers.some((m) => m(table));
}

/** `previous`: newest first, suspect (unaccepted) backups already left out. */
export function assessTrend(current: TrendSample, previous: TrendSample[], options: TrendOptionsPure): TrendVerdict {
  const baseline = previous.slice(0, TREND_WINDOW);
  const result: TrendVerdict = { verdict: 'ok', reasons: [], warnings: [], deltas: [], baseline: baseline.map((b) => b.id) };
  if (!baseline.length) return result;
  const ignored = ignoreMatcher(options.ignore);
  const of = `the median of ${baseline.length} previous backup${baseline.length === 1 ? '' : 's'}`;

  const measure = (what: string, value: number, values: number[], show: (n: number) => string) => {
    const m = median(values);
    if (m <= 0) return;
    const change = (value - m) / m;
    const line = `${what} ${show(value)} vs ${show(m)}, ${of} (${percent(change)})`;
    result.deltas.push(line);
    if (options.maxShrink !== undefined && -change > options.maxShrink) {
      result.verdict = 'suspect';
      result.reasons.push(`${line}: dropped more than max-shrink ${Math.round(options.maxShrink * 100)}%`);
    } else if (options.maxGrowth !== undefined && change > options.maxGrowth) {
      result.warnings.push(`${line}: grew more than max-growth ${Math.round(options.maxGrowth * 100)}%`);
    }
  };

  // A new codec or level changes the stored size by design (0 → 1 is −60%): compare like with like.
  const sameLevel = baseline.filter((b) => b.compression === undefined || current.compression === undefined || b.compression === current.compression);
  if (sameLevel.length) {
    measure(
      'stored size',
      current.sizeBytes,
      sameLevel.map((b) => b.sizeBytes),
      (n) => formatBytes(n),
    );
  } else result.deltas.push(`stored size not compared: the compression changed to ${current.compression}`);
  const rows = countedRows(current, ignored);
  const baseRows = baseline.map((b) => countedRows(b, ignored)).filter((n): n is number => n !== undefined);
  if (rows !== undefined && baseRows.length) measure('rows', rows, baseRows, (n) => String(Math.round(n)));

  if (current.tables && options.maxShrink !== undefined) {
    const names = new Set(baseline.flatMap((b) => Object.keys(b.tables ?? {})));
    for (const table of [...names].sort()) {
      if (ignored(table)) continue;
      const values = baseline.map((b) => b.tables?.[table]).filter((n): n is number => n !== undefined);
      const m = median(values);
      if (m < MIN_TABLE_ROWS) continue;
      const now = current.tables[table];
      if (now === undefined) result.warnings.push(`table ${table} is gone (it had ${Math.round(m)} rows, ${of})`);
      else if ((m - now) / m > options.maxShrink) result.warnings.push(`table ${table}: ${now} rows vs ${Math.round(m)}, ${of} (${percent((now - m) / m)})`);
    }
  }
  return result;
}
