// JUnit XML for CI test reporters (GitHub test-reporter actions, GitLab, Jenkins). One suite per
// group (tables, objects, files, checks). A `not-verified` result, and an object "not verifiable"
// or "not compared", is reported as <skipped>, never as a pass, and a failed drill always has at
// least one failing testcase, so CI cannot show green.
// Unexpected tables are a warning in the drill (not a failure), so they are no testcases: they
// and the other warnings go in the first suite's <system-out>.

import type { CheckResult, DrillReport, FilesResult, ObjectResult, Status, TableResult } from './types.js';
import { filesSummary, tableLabel, tableProblem } from './text.js';
import { objectLabel, objectStatusWord } from './objects.js';

interface Outcome {
  status: Status;
  /** One line, for the `message` attribute. */
  message: string;
  /** Optional detail, for the element's text. */
  detail?: string;
}

interface TestCase {
  classname: string;
  name: string;
  seconds: number;
  outcome: Outcome;
}

interface Suite {
  group: string;
  cases: TestCase[];
}

// Characters XML 1.0 forbids even as character references: C0 controls other than tab, LF and
// CR, lone surrogates (a lone one is its own code point under the `u` flag), U+FFFE and U+FFFF.
const ILLEGAL_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;

function legal(text: string): string {
  return text.replace(ILLEGAL_XML, '\uFFFD');
}

export function escapeXmlText(text: string): string {
  return legal(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

/** Attribute values also escape quotes, and tab/CR/LF, which parsers would otherwise turn into spaces. */
export function escapeXmlAttr(text: string): string {
  return escapeXmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` ${k}="${escapeXmlAttr(String(v))}"`)
    .join('');
}

function seconds(n: number): string {
  return (Number.isFinite(n) && n > 0 ? n : 0).toFixed(3);
}

function tableCase(t: TableResult): TestCase {
  const detail = [
    `expected rows: ${t.expectedRows}`,
    `restored rows: ${t.restoredRows ?? 'none (table missing after restore)'}`,
    `expected checksum: ${t.expectedChecksum}`,
    `restored checksum: ${t.restoredChecksum ?? 'none'}`,
  ].join('\n');
  return { classname: 'tables', name: tableLabel(t), seconds: 0, outcome: { status: t.status, message: tableProblem(t), detail } };
}

function filesCase(f: FilesResult): TestCase {
  const message = f.status === 'skipped' ? 'no files in this backup' : filesSummary(f);
  return { classname: 'files', name: 'files', seconds: 0, outcome: { status: f.status, message, detail: f.problems.join('\n') || undefined } };
}

/** Not verifiable and not compared are <skipped> with the reason: never a pass, never a failure. */
function objectCase(o: ObjectResult): TestCase {
  const outcome: Outcome =
    o.status === 'passed' || o.status === 'failed'
      ? { status: o.status, message: o.message }
      : { status: 'skipped', message: o.message.includes(objectStatusWord(o.status)) ? o.message : `${objectStatusWord(o.status)}: ${o.message}` };
  return { classname: `objects.${o.kind}`, name: objectLabel(o), seconds: 0, outcome };
}

function checkCase(c: CheckResult): TestCase {
  return { classname: 'checks', name: c.name, seconds: c.durationMs / 1000, outcome: { status: c.status, message: c.message } };
}

function isBad(status: Status): boolean {
  return status === 'failed' || status === 'error';
}

/** A failed drill whose failure no testcase shows (say, the restore itself broke) gets its own case. */
function drillSuite(r: DrillReport, suites: Suite[]): Suite[] {
  const shown = suites.some((s) => s.cases.some((c) => isBad(c.outcome.status)));
  if (r.status !== 'failed' || shown) return [];
  const message = r.failures[0] ?? 'the drill failed';
  const outcome: Outcome = { status: 'failed', message, detail: r.failures.join('\n') || undefined };
  return [{ group: 'drill', cases: [{ classname: 'drill', name: 'drill', seconds: r.timings.totalSeconds, outcome }] }];
}

/**
 * The upgrade rehearsal: one case per difference. It fails only when it failed the drill
 * (rehearse-must-pass); otherwise its differences are skipped cases, so a passing drill stays green.
 */
function rehearsalSuite(r: DrillReport): Suite[] {
  const rehearsal = r.rehearsal;
  if (!rehearsal) return [];
  const classname = `rehearsal.postgresql-${rehearsal.major || 'latest'}`;
  const failing = r.failures.some((f) => f.startsWith('upgrade rehearsal'));
  if (!rehearsal.differences.length) {
    return [
      {
        group: 'rehearsal',
        cases: [
          {
            classname,
            name: 'restores and verifies alike',
            seconds: rehearsal.durationSeconds,
            outcome: { status: 'passed', message: `PostgreSQL ${rehearsal.serverVersion}` },
          },
        ],
      },
    ];
  }
  const cases = rehearsal.differences.map((d): TestCase => ({
    classname,
    name: `${d.object} (${d.type})`,
    seconds: 0,
    outcome: {
      status: d.explainedBy ? 'not-verified' : failing ? 'failed' : 'not-verified',
      message: d.explainedBy ? `explained by the major change: ${d.explainedBy}` : `unexplained: ${d.message}`,
      detail: d.message,
    },
  }));
  return [{ group: 'rehearsal', cases }];
}

function suitesOf(r: DrillReport): Suite[] {
  const suites: Suite[] = [
    { group: 'tables', cases: r.tables.map(tableCase) },
    ...(r.objects?.length ? [{ group: 'objects', cases: r.objects.map(objectCase) }] : []),
    { group: 'files', cases: [filesCase(r.files)] },
    { group: 'checks', cases: r.checks.map(checkCase) },
    ...rehearsalSuite(r),
  ];
  return suites.concat(drillSuite(r, suites));
}

function outcomeXml(o: Outcome): string {
  const body = o.detail ? escapeXmlText(o.detail) : '';
  const element = (tag: string, message: string, type?: string): string => {
    const a = attrs(type ? { message, type } : { message });
    return body ? `\n      <${tag}${a}>${body}</${tag}>\n    ` : `\n      <${tag}${a}/>\n    `;
  };
  switch (o.status) {
    case 'passed':
      return '';
    case 'failed':
      return element('failure', o.message, 'failure');
    case 'error':
      return element('error', o.message, 'error');
    case 'not-verified':
      return element('skipped', `not verified: ${o.message}`);
    case 'skipped':
      return element('skipped', o.message);
  }
}

function caseXml(c: TestCase): string {
  const open = `    <testcase${attrs({ classname: c.classname, name: c.name, time: seconds(c.seconds) })}`;
  const inner = outcomeXml(c.outcome);
  return inner ? `${open}>${inner}</testcase>` : `${open}/>`;
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: number;
}

function count(cases: TestCase[]): Counts {
  const has = (...s: Status[]) => cases.filter((c) => s.includes(c.outcome.status)).length;
  const time = cases.reduce((sum, c) => sum + (Number.isFinite(c.seconds) && c.seconds > 0 ? c.seconds : 0), 0);
  return { tests: cases.length, failures: has('failed'), errors: has('error'), skipped: has('not-verified', 'skipped'), time };
}

function countAttrs(c: Counts): Record<string, string | number> {
  return { tests: c.tests, failures: c.failures, errors: c.errors, skipped: c.skipped, time: seconds(c.time) };
}

function propertiesXml(r: DrillReport): string {
  const props: Array<[string, string | number]> = [
    ['backup.id', r.backupId],
    ['backup.name', r.backupName],
    ['backup.uri', r.backupUri],
    ['backup.takenAt', r.backupTakenAt],
    ['backup.ageSeconds', r.backupAgeSeconds],
    ['postgres.source', r.sourceServerVersion],
    ['postgres.drill', r.drillServerVersion],
    ['drill.status', r.status],
    ['drill.timeToRestoreSeconds', r.timings.totalSeconds],
  ];
  const lines = props.map(([name, value]) => `      <property${attrs({ name, value })}/>`);
  return `    <properties>\n${lines.join('\n')}\n    </properties>`;
}

function warningsXml(r: DrillReport): string[] {
  const lines = r.warnings.map((w) => `warning: ${w}`);
  if (r.unexpectedTables.length) lines.push(`unexpected tables (not in the manifest): ${r.unexpectedTables.join(', ')}`);
  return lines.length ? [`    <system-out>${escapeXmlText(lines.join('\n'))}</system-out>`] : [];
}

/** Only the first suite carries the backup's properties and warnings; repeating them adds noise. */
function suiteXml(r: DrillReport, s: Suite, index: number): string {
  const name = `backup-drill ${r.kind} ${r.backupId} ${s.group}`;
  const open = `  <testsuite${attrs({ name, ...countAttrs(count(s.cases)), timestamp: r.startedAt })}>`;
  const first = index === 0;
  return [open, ...(first ? [propertiesXml(r)] : []), ...s.cases.map(caseXml), ...(first ? warningsXml(r) : []), '  </testsuite>'].join('\n');
}

export function renderJUnit(report: DrillReport): string {
  const suites = suitesOf(report);
  const total = count(suites.flatMap((s) => s.cases));
  const rootAttrs = { name: `backup-drill ${report.kind} ${report.backupId}`, ...countAttrs(total), time: seconds(report.timings.totalSeconds) };
  const body = suites.map((s, i) => suiteXml(report, s, i));
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs(rootAttrs)}>`, ...body, '</testsuites>', ''].join('\n');
}
