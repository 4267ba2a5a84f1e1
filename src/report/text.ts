// Plain-text rendering of a DrillReport for a terminal, plus the small helpers the Markdown
// renderer shares (kept here rather than in a new module so the report folder stays small).

import { formatBytes, formatDuration } from '../util/format.js';
import { rehearsalHeadline, rehearsalRows } from './rehearsal.js';
import { objectIcon, objectLabel, objectStatusWord, objectsSummary, orderObjects } from './objects.js';
import type { CheckResult, DrillReport, FilesResult, ObjectResult, Status, TableResult } from './types.js';

/** Most table lines printed before "… and N more"; the JSON report has them all. */
const MAX_TABLE_LINES = 40;
/** Longest table name printed; longer ones are cut so the columns stay aligned. */
const MAX_NAME_WIDTH = 48;
export const MAX_LIST_ITEMS = 20;

// C0/C1 controls (ESC could drive the terminal), lone surrogates and non-characters.
// With the `u` flag a lone surrogate is its own code point, so valid pairs never match.
const UNPRINTABLE = /[\u0000-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;

/** One printable line: controls (newlines included) become U+FFFD, so names cannot forge lines. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '\uFFFD');
}

export function tableLabel(t: TableResult): string {
  return `${t.schema}.${t.name}`;
}

export function isMissing(t: TableResult): boolean {
  return t.restoredRows === null;
}

export function rowsMatch(t: TableResult): boolean {
  return t.restoredRows === t.expectedRows;
}

export function checksumMatches(t: TableResult): boolean {
  return t.restoredChecksum !== null && t.restoredChecksum === t.expectedChecksum;
}

/** Why a table failed, in a few words: the report's own message, else derived from the numbers. */
export function tableProblem(t: TableResult): string {
  if (t.message) return t.message;
  if (isMissing(t)) return 'missing after restore';
  const parts: string[] = [];
  if (!rowsMatch(t)) parts.push(`expected ${formatCount(t.expectedRows)} rows, restored ${formatCount(t.restoredRows ?? 0)}`);
  if (!checksumMatches(t)) parts.push('checksum mismatch');
  return parts.join('; ') || t.status;
}

/** "2 failed, 1 not verified" / "all 12 passed" for a tables heading (not verified is neither pass nor fail). */
export function tablesSummary(tables: TableResult[]): string {
  const failed = tables.filter((t) => t.status === 'failed' || t.status === 'error').length;
  const unverified = tables.filter((t) => t.status === 'not-verified').length;
  const parts = [failed ? `${failed} of ${tables.length} failed` : '', unverified ? `${unverified} not verified` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : `all ${tables.length} passed`;
}

/** A table's note: why it did not pass, and the columns that could not be verified. */
export function tableNote(t: TableResult): string {
  return [t.status === 'passed' ? '' : tableProblem(t), ...(t.notVerifiable ?? [])].filter(Boolean).join('; ');
}

/** Failed (or otherwise not passed) tables first, each group in report order. */
export function orderTables(tables: TableResult[]): { failed: TableResult[]; passed: TableResult[] } {
  return { failed: tables.filter((t) => t.status !== 'passed'), passed: tables.filter((t) => t.status === 'passed') };
}

/** 1234567 → "1,234,567" without depending on the runtime's locale data. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const [int, frac] = String(Math.abs(n)).split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${n < 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** A backup's age for people: "45s", "12m", "3h 12m", "2d 4h". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function timingsLine(r: DrillReport): string {
  const t = r.timings;
  const parts: Array<[string, number]> = [
    ['download', t.downloadSeconds],
    ['restore', t.restoreSeconds],
    ['verify', t.verifySeconds],
    ['total', t.totalSeconds],
  ];
  return parts.map(([label, s]) => `${label} ${formatDuration(s)}`).join(' · ');
}

export function kindLabel(r: DrillReport): string {
  return r.kind === 'restore-drill' ? 'Restore drill' : 'Restore';
}

export function statusIcon(status: Status): string {
  switch (status) {
    case 'passed':
      return '✓';
    case 'failed':
    case 'error':
      return '✗';
    case 'not-verified':
      return '⚠';
    case 'skipped':
      return '–';
  }
}

export function statusWord(status: Status): string {
  return status === 'not-verified' ? 'not verified' : status;
}

/** "12 of 12 files, 3.4 MiB of 3.4 MiB restored" (or why there is nothing to compare). */
export function filesSummary(f: FilesResult): string {
  if (f.status === 'skipped') return 'not part of this backup';
  const counts = `${formatCount(f.restoredCount)} of ${formatCount(f.expectedCount)} files`;
  return `${counts}, ${formatBytes(f.restoredBytes)} of ${formatBytes(f.expectedBytes)} restored`;
}

/** "2 failed, 1 not verified" for the checks' heading; "all passed" when nothing else. */
export function checksSummary(checks: CheckResult[]): string {
  const order: Status[] = ['failed', 'error', 'not-verified', 'skipped'];
  const parts = order
    .map((s) => [s, checks.filter((c) => c.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${statusWord(s)}`);
  const passed = checks.filter((c) => c.status === 'passed').length;
  return parts.length ? `${passed} passed, ${parts.join(', ')}` : `all ${passed} passed`;
}

/** Checks that need attention first, keeping report order within each group. */
export function orderChecks(checks: CheckResult[]): CheckResult[] {
  const rank: Record<Status, number> = { failed: 0, error: 0, 'not-verified': 1, skipped: 2, passed: 3 };
  return checks
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank[a.c.status] - rank[b.c.status] || a.i - b.i)
    .map(({ c }) => c);
}

/** The first `max` items, plus a "… and N more" line when some were left off. */
export function truncateList(items: string[], max = MAX_LIST_ITEMS): string[] {
  if (items.length <= max) return items;
  return [...items.slice(0, max), `… and ${items.length - max} more`];
}

// ---- terminal rendering ----

function width(text: string): number {
  return [...text].length;
}

function padEnd(text: string, n: number): string {
  return text + ' '.repeat(Math.max(0, n - width(text)));
}

function padStart(text: string, n: number): string {
  return ' '.repeat(Math.max(0, n - width(text))) + text;
}

function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Rows of cells → lines with each column padded to its widest cell (`right`: numeric columns). */
function alignColumns(rows: string[][], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : right.has(i) ? padStart(cell, widths[i]!) : padEnd(cell, widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function header(r: DrillReport): string[] {
  const verdict = r.status === 'passed' ? '✓ PASSED' : '✗ FAILED';
  const name = r.backupName ? ` (${printable(r.backupName)})` : '';
  return [
    `${verdict}  ${kindLabel(r).toLowerCase()} of backup ${printable(r.backupId)}${name}`,
    `  taken ${printable(r.backupTakenAt)} (${formatAge(r.backupAgeSeconds)} ago) · time to restore ${formatDuration(r.timings.totalSeconds)}`,
    `  timings: ${timingsLine(r)}`,
    `  postgres: ${printable(r.sourceServerVersion)} (source) → ${printable(r.drillServerVersion)} (drill)`,
    `  from: ${printable(r.backupUri)}`,
  ];
}

function bulletSection(title: string, items: string[], bullet: string): string[] {
  if (!items.length) return [];
  return ['', title, ...truncateList(items.map(printable)).map((i) => `  ${bullet} ${i}`)];
}

function tableRow(t: TableResult): string[] {
  const restored = isMissing(t) ? 'missing' : formatCount(t.restoredRows ?? 0);
  const checksum = isMissing(t) ? '–' : checksumMatches(t) ? '✓' : '✗';
  const note = printable(tableNote(t));
  return [`  ${statusIcon(t.status)}`, clip(printable(tableLabel(t)), MAX_NAME_WIDTH), formatCount(t.expectedRows), restored, checksum, note];
}

/** Failed tables first; at most MAX_TABLE_LINES lines, then how many were left off. */
function tableLines(tables: TableResult[]): string[] {
  const { failed, passed } = orderTables(tables);
  const shown = [...failed, ...passed].slice(0, MAX_TABLE_LINES);
  const rows = [['', 'table', 'expected', 'restored', 'checksum', ''], ...shown.map(tableRow)];
  const lines = alignColumns(rows, new Set([2, 3]));
  const hiddenFailed = Math.max(0, failed.length - MAX_TABLE_LINES);
  const hiddenPassed = passed.length - Math.max(0, shown.length - failed.length);
  if (hiddenFailed) lines.push(`  … and ${hiddenFailed} more failed, ${hiddenPassed} passed`);
  else if (hiddenPassed) lines.push(`  … and ${hiddenPassed} more passed`);
  return lines;
}

function tablesSection(r: DrillReport): string[] {
  const rows = formatCount(r.tables.reduce((sum, t) => sum + (t.restoredRows ?? 0), 0));
  const head = `Tables: ${tablesSummary(r.tables)} · ${rows} rows restored`;
  const out = ['', head];
  if (r.tables.length) out.push(...tableLines(r.tables));
  const missing = r.tables.filter(isMissing).map(tableLabel);
  if (missing.length) out.push(`  missing after restore (${missing.length}): ${truncateList(missing.map(printable)).join(', ')}`);
  if (r.unexpectedTables.length) {
    out.push(`  unexpected, not in the manifest (${r.unexpectedTables.length}): ${truncateList(r.unexpectedTables.map(printable)).join(', ')}`);
  }
  return out;
}

function filesSection(f: FilesResult): string[] {
  const out = ['', `Files: ${statusIcon(f.status)} ${filesSummary(f)}`];
  return out.concat(truncateList(f.problems.map(printable)).map((p) => `  - ${p}`));
}

function checksSection(checks: CheckResult[]): string[] {
  if (!checks.length) return ['', 'Checks: none configured'];
  const rows = orderChecks(checks).map((c) => [`  ${statusIcon(c.status)}`, printable(c.name), c.kind, statusWord(c.status), printable(c.message)]);
  return ['', `Checks: ${checksSummary(checks)}`, ...alignColumns(rows)];
}

/** Large objects, sequences, materialized views, structure: one line each, problems first. */
function objectsSection(objects: ObjectResult[] | undefined): string[] {
  if (!objects?.length) return [];
  const rows = orderObjects(objects).map((o) => [`  ${objectIcon(o.status)}`, printable(objectLabel(o)), objectStatusWord(o.status), printable(o.message)]);
  return ['', `Objects: ${objectsSummary(objects)}`, ...alignColumns(rows)];
}

function rehearsalSection(report: DrillReport): string[] {
  const r = report.rehearsal;
  if (!r) return [];
  return ['', rehearsalHeadline(r), ...alignColumns(rehearsalRows(r).map((cells) => ['  ', ...cells.map(printable)]))];
}

export function renderText(report: DrillReport): string {
  const lines = [
    ...header(report),
    ...bulletSection('Failures:', report.failures, '-'),
    ...tablesSection(report),
    ...objectsSection(report.objects),
    ...rehearsalSection(report),
    ...filesSection(report.files),
    ...checksSection(report.checks),
    ...bulletSection('Warnings:', report.warnings, '⚠'),
  ];
  return `${lines.join('\n')}\n`;
}
