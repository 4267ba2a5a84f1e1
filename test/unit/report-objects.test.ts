// The objects section of every report: one line per compared kind, problems
// first; "not verifiable" and "not compared" are never shown as passed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderJson } from '../../src/report/json.js';
import { renderJUnit } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderText } from '../../src/report/text.js';
import type { DrillReport, ObjectResult } from '../../src/report/types.js';

const OBJECTS: ObjectResult[] = [
  { kind: 'large-objects', name: 'large objects', status: 'passed', message: '3 large objects, 1500005 bytes, content identical' },
  { kind: 'structure', name: 'indexes', status: 'failed', message: 'index public.items_name_idx differs (4 in the backup, 4 restored)' },
  { kind: 'materialized-view', name: 'public.stale_mv', status: 'not-compared', message: 'refreshed on restore, not compared: not fresh at backup' },
  { kind: 'not-verifiable', name: 'foreign table public.remote|x', status: 'not-verifiable', message: 'not verifiable: its rows live on the foreign server' },
  { kind: 'owners-privileges', name: 'owners and privileges', status: 'not-compared', message: 'not compared: restored without owners and privileges' },
];

function report(objects: ObjectResult[] | undefined): DrillReport {
  return {
    kind: 'restore-drill',
    status: 'failed',
    backupId: '20250101T020000Z-abc123',
    backupName: 'nightly',
    backupUri: 'file:///b',
    backupTakenAt: '2025-01-01T02:00:00Z',
    backupAgeSeconds: 60,
    sourceServerVersion: '15.1',
    drillServerVersion: '15.1',
    startedAt: '2025-01-01T05:12:00Z',
    finishedAt: '2025-01-01T05:16:00Z',
    timings: { downloadSeconds: 1, restoreSeconds: 1, verifySeconds: 1, totalSeconds: 3 },
    tables: [],
    unexpectedTables: [],
    files: { status: 'skipped', expectedCount: 0, restoredCount: 0, expectedBytes: 0, restoredBytes: 0, problems: [] },
    checks: [],
    ...(objects ? { objects } : {}),
    totals: { tables: 0, rows: 0, failedTables: 0, failedChecks: 0, notVerified: 0 },
    failures: ['structure (indexes): index public.items_name_idx differs'],
    warnings: [],
  };
}

describe('objects in the reports', () => {
  it('text: a summary line, then failed, not verifiable, not compared, passed', () => {
    const text = renderText(report(OBJECTS));
    assert.match(text, /Objects: 1 passed, 1 failed, 1 not verifiable, 2 not compared/);
    const section = text.slice(text.indexOf('Objects:'));
    const order = ['structure: indexes', 'foreign table', 'materialized view public.stale_mv', 'owners and privileges', 'large objects'].map((l) =>
      section.indexOf(l),
    );
    assert.ok(
      order.every((i, n) => i > 0 && (n === 0 || i > order[n - 1]!)),
      `order ${order.join(',')} in\n${section}`,
    );
    assert.match(section, /✗ +structure: indexes +failed +index public\.items_name_idx differs/);
    assert.match(section, /– +materialized view public\.stale_mv +not compared +refreshed on restore, not compared/);
  });

  it('markdown: a table with escaped names', () => {
    const md = renderMarkdown(report(OBJECTS));
    assert.match(md, /### Objects: 1 passed, 1 failed, 1 not verifiable, 2 not compared/);
    assert.match(md, /\| foreign table public\.remote\\\|x \| ⚠ not verifiable \| not verifiable: its rows live on the foreign server \|/);
  });

  it('JUnit: failed is a failure; not verifiable and not compared are skipped, never passed', () => {
    const xml = renderJUnit(report(OBJECTS));
    assert.match(xml, /<testsuite name="backup-drill restore-drill 20250101T020000Z-abc123 objects" tests="5" failures="1" errors="0" skipped="3"/);
    assert.match(xml, /<testcase classname="objects.structure" name="structure: indexes"[^>]*>\s*<failure message="index public\.items_name_idx differs/);
    assert.match(
      xml,
      /<testcase classname="objects.materialized-view" name="materialized view public.stale_mv"[^>]*>\s*<skipped message="refreshed on restore, not compared/,
    );
    assert.match(xml, /<skipped message="not compared: restored without owners and privileges"/);
    assert.match(xml, /<testcase classname="objects.large-objects" name="large objects" time="0.000"\/>/);
  });

  it('JSON carries every result; a report without objects (older backups) has no section', () => {
    assert.deepEqual(JSON.parse(renderJson(report(OBJECTS))).objects, JSON.parse(JSON.stringify(OBJECTS)).map(sortKeys));
    assert.doesNotMatch(renderText(report(undefined)), /Objects:/);
    assert.doesNotMatch(renderMarkdown(report(undefined)), /### Objects/);
    assert.doesNotMatch(renderJUnit(report(undefined)), /objects/);
  });
});

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
