import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { renderJson } from '../../src/report/json.js';
import { renderJUnit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import type { CheckResult, DrillReport, TableResult } from '../../src/report/types.js';

// ---- a minimal XML 1.0 well-formedness checker (no xmllint on the build machine) ----

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const LEGAL_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const NAME = '[A-Za-z_][\\w.:-]*';
const START_TAG = new RegExp(`^<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`);
const ATTR = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const END_TAG = new RegExp(`^</(${NAME})\\s*>`);

function decode(text: string): string {
  return text.replace(/&([^;]*);?/g, (whole, ref: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (!whole.endsWith(';')) throw new Error(`bare & in ${JSON.stringify(text)}`);
    if (ref in named) return named[ref]!;
    const m = /^#(?:x([0-9a-fA-F]+)|(\d+))$/.exec(ref);
    if (!m) throw new Error(`unknown entity &${ref};`);
    const char = String.fromCodePoint(m[1] ? parseInt(m[1], 16) : Number(m[2]));
    if (!LEGAL_CHARS.test(char)) throw new Error(`illegal character reference &${ref};`);
    return char;
  });
}

function parseAttrs(source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of source.matchAll(ATTR)) {
    if (m[1]! in out) throw new Error(`duplicate attribute ${m[1]}`);
    out[m[1]!] = decode(m[2] ?? m[3]!);
  }
  return out;
}

/** Throws unless `xml` is one well-formed element (after an optional declaration); returns its tree. */
function parseXml(xml: string): XmlNode {
  if (!LEGAL_CHARS.test(xml)) throw new Error('character not allowed in XML 1.0');
  let rest = xml.replace(/^<\?xml[^?]*\?>/, '');
  const root: XmlNode = { name: '#document', attrs: {}, children: [], text: '' };
  const stack = [root];
  while (rest.length) {
    const top = stack[stack.length - 1]!;
    const lt = rest.indexOf('<');
    const text = lt === -1 ? rest : rest.slice(0, lt);
    if (text.includes(']]>')) throw new Error(']]> in text');
    if (top === root && text.trim()) throw new Error('text outside the root element');
    top.text += decode(text);
    rest = rest.slice(text.length);
    if (!rest) break;
    const end = END_TAG.exec(rest);
    if (end) {
      if (stack.length < 2 || top.name !== end[1]) throw new Error(`unbalanced </${end[1]}>, open: ${top.name}`);
      stack.pop();
      rest = rest.slice(end[0].length);
      continue;
    }
    const start = START_TAG.exec(rest);
    if (!start) throw new Error(`malformed tag at ${JSON.stringify(rest.slice(0, 40))}`);
    if (top === root && root.children.length) throw new Error('more than one root element');
    const node: XmlNode = { name: start[1]!, attrs: parseAttrs(start[2]!), children: [], text: '' };
    top.children.push(node);
    if (!start[3]) stack.push(node);
    rest = rest.slice(start[0].length);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1) throw new Error('no root element');
  return root.children[0]!;
}

function all(node: XmlNode, name: string): XmlNode[] {
  return node.children.flatMap((c) => [...(c.name === name ? [c] : []), ...all(c, name)]);
}

function child(node: XmlNode, name: string): XmlNode | undefined {
  return node.children.find((c) => c.name === name);
}

function suite(doc: XmlNode, group: string): XmlNode {
  const found = all(doc, 'testsuite').find((s) => s.attrs['name']!.endsWith(` ${group}`));
  assert.ok(found, `no ${group} suite`);
  return found;
}

function testcase(doc: XmlNode, name: string): XmlNode {
  const found = all(doc, 'testcase').find((c) => c.attrs['name'] === name);
  assert.ok(found, `no testcase ${name}`);
  return found;
}

function countsOf(node: XmlNode): Record<string, number> {
  const { tests, failures, errors, skipped } = node.attrs;
  return { tests: Number(tests), failures: Number(failures), errors: Number(errors), skipped: Number(skipped) };
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
// A real parser, when the machine has one: xmllint, else Python's expat. Documents go in one
// run separated by NUL (which the renderer never emits), as Python is slow to start.
const PARSE_ALL = 'import sys, xml.dom.minidom as m\nfor d in sys.stdin.buffer.read().split(b"\\0"): m.parseString(d)';
const realParser: string[] | undefined = has('xmllint') ? ['xmllint'] : has('python3') ? ['python3', '-c', PARSE_ALL] : undefined;

function parseWithRealParser(docs: string[]): void {
  const [cmd, ...args] = realParser!;
  const runs = cmd === 'xmllint' ? docs.map((d) => ({ args: ['--noout', '-'], input: d })) : [{ args, input: docs.join('\0') }];
  for (const run of runs) {
    const r = spawnSync(cmd!, run.args, { input: run.input, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
}

// ---- fixtures ----

function table(name: string, overrides: Partial<TableResult> = {}): TableResult {
  return { schema: 'public', name, expectedRows: 10, restoredRows: 10, expectedChecksum: 'aaaa', restoredChecksum: 'aaaa', status: 'passed', ...overrides };
}

function check(name: string, overrides: Partial<CheckResult> = {}): CheckResult {
  return { name, kind: 'sql', status: 'passed', message: 'ok', durationMs: 12, ...overrides };
}

function passedReport(overrides: Partial<DrillReport> = {}): DrillReport {
  return {
    kind: 'restore-drill',
    status: 'passed',
    backupId: '20250101T020000Z-abc123',
    backupName: 'nightly',
    backupUri: 's3://bucket/backups/20250101T020000Z-abc123',
    backupTakenAt: '2025-01-01T02:00:00Z',
    backupAgeSeconds: 3 * 3600 + 12 * 60,
    sourceServerVersion: '16.2',
    drillServerVersion: '16.4',
    startedAt: '2025-01-01T05:12:00Z',
    finishedAt: '2025-01-01T05:16:00Z',
    timings: { downloadSeconds: 12.5, restoreSeconds: 190, verifySeconds: 20, totalSeconds: 222.5 },
    tables: [table('users'), table('posts', { expectedRows: 1234567, restoredRows: 1234567 })],
    unexpectedTables: [],
    files: { status: 'passed', expectedCount: 3, restoredCount: 3, expectedBytes: 4096, restoredBytes: 4096, problems: [] },
    checks: [check('users exist'), check('admin can log in', { kind: 'login' })],
    totals: { tables: 2, rows: 1234577, failedTables: 0, failedChecks: 0, notVerified: 0 },
    failures: [],
    warnings: [],
    ...overrides,
  };
}

const problems = Array.from({ length: 25 }, (_, i) => `changed: uploads/file-${i}.png`);

function failedReport(): DrillReport {
  return passedReport({
    status: 'failed',
    tables: [
      table('ok'),
      table('users', { restoredChecksum: 'bbbb', status: 'failed', message: 'same row count, different content checksum' }),
      table('events', { restoredRows: 9, restoredChecksum: 'cccc', status: 'failed' }),
      table('orders', { restoredRows: null, restoredChecksum: null, status: 'failed' }),
    ],
    unexpectedTables: ['public.tmp_import'],
    files: { status: 'failed', expectedCount: 30, restoredCount: 25, expectedBytes: 10240, restoredBytes: 9000, problems },
    checks: [
      check('users exist'),
      check('admin can log in', { kind: 'login', status: 'failed', message: 'password does not match' }),
      check('bcrypt user', { kind: 'login', status: 'not-verified', message: 'unsupported hash scheme' }),
      check('broken query', { status: 'error', message: 'relation "nope" does not exist' }),
      check('optional', { status: 'skipped', message: 'disabled' }),
    ],
    totals: { tables: 4, rows: 29, failedTables: 3, failedChecks: 2, notVerified: 1 },
    failures: ['public.users: checksum mismatch', 'public.orders: missing after restore', 'check "admin can log in" failed'],
    warnings: ['backup is older than 26h', 'table public.tmp_import exists after the restore but is not in the manifest'],
  });
}

const NASTY_SCHEMA = 'we<ird';
const NASTY_TABLE = 'a&b"c|d\u0001e';
const NASTY_CHECK = `<script>&"'| \u001b[31mred\nnext`;

function nastyReport(): DrillReport {
  return passedReport({
    status: 'failed',
    tables: [table(NASTY_TABLE, { schema: NASTY_SCHEMA, restoredChecksum: 'x<y', status: 'failed', message: 'bad & <worse>' })],
    checks: [check(NASTY_CHECK, { status: 'failed', message: 'a|b <b>bold</b> ]]> \u0000 end' })],
    failures: ['table "we<ird".a|b failed'],
  });
}

function manyTables(count: number, failed: number): DrillReport {
  const tables = Array.from({ length: count }, (_, i) =>
    table(`t${String(i).padStart(3, '0')}`, i % Math.ceil(count / failed) === 1 && failed ? { restoredRows: 9, status: 'failed' } : {}),
  );
  return passedReport({ status: failed ? 'failed' : 'passed', tables });
}

// ---- tests ----

describe('XML checker (so the JUnit assertions mean something)', () => {
  it('accepts well-formed XML and rejects broken XML', () => {
    assert.equal(parseXml('<?xml version="1.0"?><a x="1 &amp; 2"><b/>t&#10;</a>').attrs['x'], '1 & 2');
    for (const bad of [
      '<a><b></a></b>',
      '<a>',
      '<a x="1"></a><b/>',
      '<a>&nope;</a>',
      '<a>& b</a>',
      '<a x="<"/>',
      '<a>\u0001</a>',
      '<a x="1" x="2"/>',
      '<a>&#1;</a>',
    ]) {
      assert.throws(() => parseXml(bad), Error, bad);
    }
  });
});

describe('renderJUnit', () => {
  it('renders a passed drill as all-passing testcases with correct counts', () => {
    const doc = parseXml(renderJUnit(passedReport()));
    assert.equal(doc.name, 'testsuites');
    assert.deepEqual(countsOf(doc), { tests: 5, failures: 0, errors: 0, skipped: 0 });
    assert.equal(all(doc, 'testsuite').length, 3);
    assert.equal(suite(doc, 'tables').attrs['name'], 'backup-drill restore-drill 20250101T020000Z-abc123 tables');
    assert.equal(testcase(doc, 'public.users').attrs['classname'], 'tables');
    assert.equal(testcase(doc, 'admin can log in').attrs['time'], '0.012');
    assert.equal(all(doc, 'failure').length + all(doc, 'error').length + all(doc, 'skipped').length, 0);
  });

  it('counts failures, errors and skips per suite and overall', () => {
    const doc = parseXml(renderJUnit(failedReport()));
    assert.deepEqual(countsOf(doc), { tests: 10, failures: 5, errors: 1, skipped: 2 });
    assert.deepEqual(countsOf(suite(doc, 'tables')), { tests: 4, failures: 3, errors: 0, skipped: 0 });
    assert.deepEqual(countsOf(suite(doc, 'files')), { tests: 1, failures: 1, errors: 0, skipped: 0 });
    assert.deepEqual(countsOf(suite(doc, 'checks')), { tests: 5, failures: 1, errors: 1, skipped: 2 });
    assert.equal(suite(doc, 'checks').attrs['time'], '0.060');
    for (const s of all(doc, 'testsuite')) {
      const cases = all(s, 'testcase');
      assert.equal(Number(s.attrs['tests']), cases.length);
      assert.equal(Number(s.attrs['failures']), cases.filter((c) => child(c, 'failure')).length);
      assert.equal(Number(s.attrs['errors']), cases.filter((c) => child(c, 'error')).length);
      assert.equal(Number(s.attrs['skipped']), cases.filter((c) => child(c, 'skipped')).length);
    }
  });

  it('puts expected vs restored rows and checksums in table failures', () => {
    const doc = parseXml(renderJUnit(failedReport()));
    const users = child(testcase(doc, 'public.users'), 'failure')!;
    assert.equal(users.attrs['message'], 'same row count, different content checksum');
    assert.match(users.text, /expected checksum: aaaa\nrestored checksum: bbbb/);
    const orders = child(testcase(doc, 'public.orders'), 'failure')!;
    assert.match(orders.attrs['message']!, /missing after restore/);
    assert.match(orders.text, /restored rows: none/);
    const events = child(testcase(doc, 'public.events'), 'failure')!;
    assert.equal(events.attrs['message'], 'expected 10 rows, restored 9; checksum mismatch');
    assert.match(events.text, /expected rows: 10\nrestored rows: 9\n/);
    assert.equal(child(testcase(doc, 'files'), 'failure')!.text.split('\n').length, 25);
  });

  it('keeps unexpected tables and warnings out of the counts, in <system-out>', () => {
    const doc = parseXml(renderJUnit(passedReport({ unexpectedTables: ['public.tmp_<x>'], warnings: ['slow & old'] })));
    assert.deepEqual(countsOf(doc), { tests: 5, failures: 0, errors: 0, skipped: 0 });
    assert.equal(all(doc, 'testcase').filter((c) => c.attrs['name']!.includes('tmp_')).length, 0);
    const out = child(suite(doc, 'tables'), 'system-out')!;
    assert.equal(out.text, 'warning: slow & old\nunexpected tables (not in the manifest): public.tmp_<x>');
    assert.equal(all(doc, 'system-out').length, 1);
  });

  it('reports not-verified as <skipped>, never as a pass', () => {
    const doc = parseXml(renderJUnit(failedReport()));
    const nv = testcase(doc, 'bcrypt user');
    assert.equal(nv.children.length, 1);
    assert.equal(child(nv, 'skipped')!.attrs['message'], 'not verified: unsupported hash scheme');
    assert.equal(child(testcase(doc, 'broken query'), 'error')!.attrs['message'], 'relation "nope" does not exist');
    assert.ok(child(testcase(doc, 'admin can log in'), 'failure'));
  });

  it('escapes markup and replaces characters XML 1.0 forbids', () => {
    const xml = renderJUnit(nastyReport());
    const doc = parseXml(xml);
    assert.doesNotMatch(xml, /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    assert.ok(testcase(doc, `${NASTY_SCHEMA}.a&b"c|d\uFFFDe`));
    const c = testcase(doc, `<script>&"'| \uFFFD[31mred\nnext`);
    assert.equal(child(c, 'failure')!.attrs['message'], 'a|b <b>bold</b> ]]> \uFFFD end');
    assert.match(child(testcase(doc, `${NASTY_SCHEMA}.a&b"c|d\uFFFDe`), 'failure')!.text, /restored checksum: x<y/);
  });

  it('fails a failed drill even when no table, file or check failed', () => {
    const report = passedReport({
      status: 'failed',
      tables: [],
      checks: [],
      files: { status: 'skipped', expectedCount: 0, restoredCount: 0, expectedBytes: 0, restoredBytes: 0, problems: [] },
      failures: ['pg_restore exited with code 1'],
    });
    const doc = parseXml(renderJUnit(report));
    assert.deepEqual(countsOf(doc), { tests: 2, failures: 1, errors: 0, skipped: 1 });
    assert.equal(child(testcase(doc, 'drill'), 'failure')!.attrs['message'], 'pg_restore exited with code 1');
    assert.equal(child(testcase(doc, 'files'), 'skipped')!.attrs['message'], 'no files in this backup');
  });

  it('is accepted by a real XML parser', { skip: realParser ? false : 'neither xmllint nor python3 installed' }, () => {
    parseWithRealParser([passedReport(), failedReport(), nastyReport(), manyTables(500, 3)].map(renderJUnit));
  });
});

describe('renderJson', () => {
  it('adds reportVersion first and keeps every field', () => {
    const report = failedReport();
    const json = renderJson(report);
    assert.ok(json.startsWith('{\n  "reportVersion": 1,\n'));
    assert.ok(json.endsWith('}\n'));
    assert.deepEqual(JSON.parse(json), { reportVersion: 1, ...report });
  });

  it('is byte-identical whatever order the report was built in', () => {
    const report = failedReport();
    const reversed = Object.fromEntries(Object.entries(report).reverse()) as unknown as DrillReport;
    reversed.timings = { totalSeconds: 222.5, verifySeconds: 20, restoreSeconds: 190, downloadSeconds: 12.5 };
    assert.equal(renderJson(reversed), renderJson(report));
  });
});

/** Splits a Markdown table row on the `|` that are not escaped. */
function cells(row: string): string[] {
  return row
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());
}

describe('renderMarkdown', () => {
  it('summarises a passed drill', () => {
    const md = renderMarkdown(passedReport());
    assert.match(md, /^## ✅ passed: restore drill of backup 20250101T020000Z-abc123 \(nightly\)/);
    assert.match(md, /\*\*3h 12m old\*\* · time to restore \*\*3m43s\*\*/);
    assert.match(md, /Timings: download 12\.5s · restore 3m10s · verify 20\.0s · total 3m43s/);
    assert.match(md, /\| Table \| Expected rows \| Restored rows \| Checksum \|/);
    assert.match(md, /\| public\.posts \| 1,234,567 \| 1,234,567 \| ✓ \|/);
    assert.match(md, /✓ 3 of 3 files, 4\.0 KiB of 4\.0 KiB restored/);
    assert.doesNotMatch(md, /Why it failed|<details>/);
  });

  it('puts failures first and calls out every kind of problem', () => {
    const md = renderMarkdown(failedReport());
    assert.match(md, /^## ❌ failed/);
    const why = md.indexOf('### Why it failed');
    assert.ok(why > 0 && why < md.indexOf('### Tables: 3 of 4 failed'));
    assert.ok(md.indexOf('public.users') < md.indexOf('public.ok'), 'failed tables come first');
    assert.match(md, /\| ✗ public.orders \| 10 \| ✗ missing \| ✗ missing after restore \|/);
    assert.match(md, /\| ✗ public.events \| 10 \| 9 ✗ \| ✗ expected 10 rows, restored 9; checksum mismatch \|/);
    assert.match(md, /\| ✗ public.users \| 10 \| 10 \| ✗ same row count, different content checksum \|/);
    assert.match(md, /\*\*Missing after restore \(1\):\*\* public.orders/);
    assert.match(md, /\*\*Unexpected tables, not in the backup's manifest \(1\):\*\* public.tmp\\_import/);
    assert.match(md, /✗ 25 of 30 files/);
    assert.match(md, /- … and 5 more\n/);
    assert.equal(md.match(/changed: uploads/g)!.length, 20);
    assert.match(md, /### Checks: 1 passed, 1 failed, 1 error, 1 not verified, 1 skipped/);
    assert.match(md, /\| admin can log in \| login \| ✗ failed \| password does not match \|/);
    assert.match(md, /\| bcrypt user \| login \| ⚠ not verified \| unsupported hash scheme \|/);
    assert.match(md, /\| broken query \| sql \| ✗ error \|/);
    assert.match(md, /\| optional \| sql \| – skipped \| disabled \|/);
    assert.match(md, /### Warnings\n\n- ⚠ backup is older than 26h/);
  });

  it('escapes |, HTML and control characters in names and messages', () => {
    const md = renderMarkdown(nastyReport());
    assert.doesNotMatch(md, /<script>|<b>|[\u0000-\u001F](?<!\n)/);
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    const tableRow = rows.find((r) => r.includes('we&lt;ird'))!;
    assert.equal(cells(tableRow).length, 4, tableRow);
    assert.equal(cells(tableRow)[0], '✗ we&lt;ird.a&amp;b"c\\|d\uFFFDe');
    const checkRow = rows.find((r) => r.includes('script'))!;
    assert.equal(cells(checkRow).length, 4, checkRow);
  });

  it('keeps 500 tables readable: failed ones open, passing ones folded', () => {
    const md = renderMarkdown(manyTables(500, 3));
    assert.match(md, /### Tables: 3 of 500 failed/);
    const details = md.indexOf('<details>');
    assert.ok(details > 0);
    assert.match(md, /<summary>497 passing tables<\/summary>/);
    const failedRows = md
      .slice(0, details)
      .split('\n')
      .filter((l) => l.startsWith('| ✗'));
    assert.equal(failedRows.length, 3);
    assert.equal(
      md
        .slice(details)
        .split('\n')
        .filter((l) => l.startsWith('| public.')).length,
      497,
    );
    assert.doesNotMatch(renderMarkdown(manyTables(50, 0)), /<details>/);
  });
});

describe('renderText', () => {
  it('summarises a passed drill', () => {
    const text = renderText(passedReport());
    assert.match(text, /^✓ PASSED  restore drill of backup 20250101T020000Z-abc123 \(nightly\)\n/);
    assert.match(text, /taken 2025-01-01T02:00:00Z \(3h 12m ago\) · time to restore 3m43s/);
    assert.match(text, /Tables: all 2 passed · 1,234,577 rows restored/);
    assert.match(text, /Checks: all 2 passed/);
    assert.doesNotMatch(text, /\|/);
  });

  it('lists failures, failed tables first, aligned', () => {
    const text = renderText(failedReport());
    assert.match(text, /^✗ FAILED/);
    assert.match(text, /\nFailures:\n  - public.users: checksum mismatch\n/);
    const lines = text.split('\n');
    const tableLines = lines.filter((l) => /^ {2}[✓✗] +public\./.test(l));
    assert.deepEqual(
      tableLines.map((l) => l.split(/\s+/)[2]),
      ['public.users', 'public.events', 'public.orders', 'public.ok'],
    );
    const checksumColumn = lines.find((l) => l.includes('expected  restored'))!.indexOf('checksum');
    assert.deepEqual(
      tableLines.map((l) => [...l][checksumColumn]),
      ['✗', '✗', '–', '✓'],
      'columns aligned',
    );
    assert.match(text, /missing after restore \(1\): public.orders/);
    assert.match(text, /unexpected, not in the manifest \(1\): public.tmp_import/);
    assert.match(text, /  - … and 5 more\n/);
    assert.match(text, /⚠\s+bcrypt user\s+login\s+not verified\s+unsupported hash scheme/);
    assert.ok(text.indexOf('admin can log in') < text.indexOf('users exist'), 'failed checks first');
    assert.match(text, /Warnings:\n  ⚠ backup is older than 26h/);
  });

  it('shows at most 40 table lines, failed first', () => {
    const text = renderText(manyTables(500, 3));
    const tableLines = text.split('\n').filter((l) => /^ {2}[✓✗] +public\./.test(l));
    assert.equal(tableLines.length, 40);
    assert.ok(tableLines.slice(0, 3).every((l) => l.startsWith('  ✗')));
    assert.match(text, /\n  … and 460 more passed\n/);
  });

  it('keeps control characters out of the terminal', () => {
    const text = renderText(nastyReport());
    assert.doesNotMatch(text, /[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/);
    assert.match(text, /<script>&"'\| \uFFFD\[31mred\uFFFDnext/);
  });
});

describe('tables not verified', () => {
  const report = passedReport({
    tables: [
      table('child', {
        status: 'not-verified',
        restoredChecksum: 'bbbb',
        message: 'not verifiable (format 2 checksum): an inheritance child, whose columns a restore may reorder; the row count matches',
      }),
      table('readings', { notVerifiable: ['v: not verifiable: public.unit loses precision through pg_dump'] }),
      table('users'),
    ],
  });
  it('are neither passed nor failed, and say why', () => {
    const text = renderText(report);
    assert.match(text, /Tables: 1 not verified/);
    assert.doesNotMatch(text, /failed/);
    assert.match(text, /⚠\s+public\.child.*not verifiable \(format 2 checksum\)/);
    assert.match(text, /public\.readings.*v: not verifiable: public\.unit loses precision through pg_dump/);
    const md = renderMarkdown(report);
    assert.match(md, /### Tables: 1 not verified/);
    assert.match(md, /\| ⚠ public\.child \|.*not verifiable \(format 2 checksum\)/);
    assert.match(md, /public\.unit loses precision through pg\\_dump/);
  });
});
