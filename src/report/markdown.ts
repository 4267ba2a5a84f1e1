// GitHub job summary (Markdown) for a DrillReport. Every value that comes from the database or
// the user (table names, messages, check names) goes through `md()`, so a `|` cannot split a
// table cell and a `<` cannot open HTML in the summary.

import { formatDuration } from '../util/format.js';
import {
  checksSummary,
  checksumMatches,
  filesSummary,
  formatAge,
  formatCount,
  isMissing,
  kindLabel,
  orderChecks,
  orderTables,
  printable,
  rowsMatch,
  statusIcon,
  statusWord,
  tableLabel,
  tableNote,
  tablesSummary,
  timingsLine,
  truncateList,
} from './text.js';
import { rehearsalHeadline, rehearsalRows } from './rehearsal.js';
import { objectIcon, objectLabel, objectStatusWord, objectsSummary, orderObjects } from './objects.js';
import type { CheckResult, DrillReport, FilesResult, ObjectResult, TableResult } from './types.js';

/** Up to this many tables go in one plain table; beyond it the passing ones are folded away. */
const COLLAPSE_ABOVE = 50;
/** Row caps keep the summary far below GitHub's 1 MiB limit; the JSON report has every table. */
const MAX_FAILED_ROWS = 200;
const MAX_PASSED_ROWS = 1000;

/** Escapes text for a Markdown table cell or paragraph: HTML, Markdown punctuation and `|`. */
export function md(text: string): string {
  return printable(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]#~|!]/g, (c) => `\\${c}`);
}

function headline(r: DrillReport): string[] {
  const verdict = r.status === 'passed' ? '✅ passed' : '❌ failed';
  const name = r.backupName ? ` (${md(r.backupName)})` : '';
  return [
    `## ${verdict}: ${kindLabel(r).toLowerCase()} of backup ${md(r.backupId)}${name}`,
    '',
    `Backup taken ${md(r.backupTakenAt)}, **${formatAge(r.backupAgeSeconds)} old** · time to restore **${formatDuration(r.timings.totalSeconds)}** · PostgreSQL ${md(r.sourceServerVersion)} → ${md(r.drillServerVersion)}`,
    '',
    `Timings: ${timingsLine(r)}`,
    '',
    `Source: ${md(r.backupUri)}`,
  ];
}

function bulletList(title: string, items: string[], prefix = ''): string[] {
  if (!items.length) return [];
  return ['', `### ${title}`, '', ...truncateList(items.map(md)).map((i) => `- ${prefix}${i}`)];
}

function tableRow(t: TableResult): string {
  const name = `${t.status === 'passed' ? '' : t.status === 'not-verified' ? '⚠ ' : '✗ '}${md(tableLabel(t))}`;
  const restored = isMissing(t) ? '✗ missing' : `${formatCount(t.restoredRows ?? 0)}${rowsMatch(t) ? '' : ' ✗'}`;
  const note = tableNote(t);
  const checksum = `${checksumMatches(t) ? '✓' : t.status === 'not-verified' ? '⚠' : '✗'}${note ? ` ${md(note)}` : ''}`;
  return `| ${name} | ${formatCount(t.expectedRows)} | ${restored} | ${checksum} |`;
}

function tableBlock(tables: TableResult[], max: number, what: string): string[] {
  const rows = tables.slice(0, max).map(tableRow);
  const more = tables.length > max ? ['', `… and ${tables.length - max} more ${what} tables (see the JSON report).`] : [];
  return ['| Table | Expected rows | Restored rows | Checksum |', '|---|---:|---:|---|', ...rows, ...more];
}

/** Failed tables first; with many tables, the passing ones fold into a <details> block. */
function tablesSection(r: DrillReport): string[] {
  const { failed, passed } = orderTables(r.tables);
  const title = tablesSummary(r.tables);
  const out = ['', `### Tables: ${title}`, ''];
  if (!r.tables.length) out.push('No tables were verified.');
  else if (r.tables.length <= COLLAPSE_ABOVE) out.push(...tableBlock([...failed, ...passed], COLLAPSE_ABOVE, ''));
  else {
    if (failed.length) out.push(...tableBlock(failed, MAX_FAILED_ROWS, 'failed'), '');
    if (passed.length) {
      out.push('<details>', `<summary>${passed.length} passing tables</summary>`, '');
      out.push(...tableBlock(passed, MAX_PASSED_ROWS, 'passing'), '', '</details>');
    }
  }
  return out.concat(tableCallouts(r));
}

function tableCallouts(r: DrillReport): string[] {
  const out: string[] = [];
  const missing = r.tables.filter(isMissing).map(tableLabel);
  if (missing.length) out.push('', `**Missing after restore (${missing.length}):** ${truncateList(missing.map(md)).join(', ')}`);
  if (r.unexpectedTables.length) {
    const list = truncateList(r.unexpectedTables.map(md)).join(', ');
    out.push('', `**Unexpected tables, not in the backup's manifest (${r.unexpectedTables.length}):** ${list}`);
  }
  return out;
}

function objectsSection(objects: ObjectResult[] | undefined): string[] {
  if (!objects?.length) return [];
  const rows = orderObjects(objects).map((o) => `| ${md(objectLabel(o))} | ${objectIcon(o.status)} ${objectStatusWord(o.status)} | ${md(o.message)} |`);
  return ['', `### Objects: ${objectsSummary(objects)}`, '', '| Object | Status | Detail |', '|---|---|---|', ...rows];
}

function filesSection(f: FilesResult): string[] {
  const problems = truncateList(f.problems.map(md)).map((p) => `- ${p}`);
  return ['', '### Files', '', `${statusIcon(f.status)} ${filesSummary(f)}`, ...(problems.length ? ['', ...problems] : [])];
}

function checkRow(c: CheckResult): string {
  return `| ${md(c.name)} | ${c.kind} | ${statusIcon(c.status)} ${statusWord(c.status)} | ${md(c.message)} |`;
}

function checksSection(checks: CheckResult[]): string[] {
  if (!checks.length) return ['', '### Checks', '', 'No checks configured.'];
  const head = ['', `### Checks: ${checksSummary(checks)}`, '', '| Check | Kind | Status | Message |', '|---|---|---|---|'];
  return head.concat(orderChecks(checks).map(checkRow));
}

function rehearsalSection(report: DrillReport): string[] {
  const r = report.rehearsal;
  if (!r) return [];
  const head = ['', `### ${md(rehearsalHeadline(r))}`];
  if (!r.differences.length) return head;
  const rows = rehearsalRows(r).map((cells) => `| ${cells.map(md).join(' | ')} |`);
  return [...head, '', '| Object | Type | Difference | Major change |', '|---|---|---|---|', ...rows];
}

export function renderMarkdown(report: DrillReport): string {
  const lines = [
    ...headline(report),
    ...(report.status === 'failed' ? bulletList('Why it failed', report.failures) : []),
    ...tablesSection(report),
    ...objectsSection(report.objects),
    ...rehearsalSection(report),
    ...filesSection(report.files),
    ...checksSection(report.checks),
    ...bulletList('Warnings', report.warnings, '⚠ '),
  ];
  return `${lines.join('\n')}\n`;
}
