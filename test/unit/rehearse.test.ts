// Upgrade rehearsal differences: pg_restore's error output split per object, and the
// documented table of differences that a major change explains.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { missingExtensions, rehearsalResult, restoreErrors } from '../../src/rehearse/differences.js';
import { MAJOR_CHANGES, explain } from '../../src/rehearse/explained.js';
import type { RehearsalResult } from '../../src/rehearse/types.js';
import { renderJUnit } from '../../src/report/junit.js';
import type { DrillReport } from '../../src/report/types.js';

// pg_restore 15 (without --exit-on-error) restoring into PostgreSQL 17, as captured by the majors suite.
const STDERR = `pg_restore: error: could not execute query: ERROR:  extension "adminpack" is not available
DETAIL:  Could not open extension control file "/x/share/postgresql/extension/adminpack.control": No such file or directory.
HINT:  The extension must first be installed on the system where PostgreSQL is running.
Command was: CREATE EXTENSION IF NOT EXISTS adminpack WITH SCHEMA pg_catalog;

pg_restore: error: could not execute query: ERROR:  type "public.ip4r" does not exist
LINE 3:     addr public.ip4r NOT NULL
                 ^
Command was: CREATE TABLE public.hosts (
    id integer NOT NULL,
    addr public.ip4r NOT NULL
);

pg_restore: error: could not execute query: ERROR:  relation "public.hosts" does not exist
Command was: COPY public.hosts (id, addr) FROM stdin;
pg_restore: warning: errors ignored on restore: 3
`;

test('each pg_restore error becomes one difference named by its object, with the statement', () => {
  const d = restoreErrors(STDERR);
  assert.deepEqual(
    d.map((x) => x.object),
    ['extension adminpack', 'table public.hosts', 'table public.hosts'],
  );
  assert.ok(d.every((x) => x.type === 'restore-error'));
  assert.match(d[1]!.message, /type "public.ip4r" does not exist \(CREATE TABLE public.hosts \( id integer NOT NULL, addr public.ip4r NOT NULL \);\)/);
  assert.doesNotMatch(d[1]!.message, /LINE 3/);
});

test('a difference is explained only by a documented change between the two majors', () => {
  const adminpack = { object: 'extension adminpack', type: 'extension-missing' as const, message: 'not available' };
  assert.match(explain(adminpack, 15, 17) ?? '', /PostgreSQL 17 removed the adminpack/);
  assert.equal(explain(adminpack, 17, 18), undefined, 'a source already on 17 has no adminpack to lose');
  assert.equal(explain(adminpack, 14, 16), undefined, 'still there in 16');
  assert.equal(explain({ ...adminpack, object: 'extension ip4r' }, 15, 17), undefined);
  const postfix = {
    object: 'operator public.!',
    type: 'restore-error' as const,
    message: 'ERROR: operator right argument type must be specified DETAIL: Postfix operators are not supported.',
  };
  assert.match(explain(postfix, 13, 14) ?? '', /postfix/);
  assert.ok(
    MAJOR_CHANGES.every((c) => c.explanation.includes(`PostgreSQL ${c.since}`)),
    'every entry names its major',
  );
});

test('the result counts unexplained differences; only explained ones make it "explained", none "passed"', () => {
  const missing = missingExtensions(['adminpack', 'ip4r', 'pgcrypto'], new Set(['pgcrypto', 'plpgsql']));
  assert.deepEqual(
    missing.map((m) => m.object),
    ['extension adminpack', 'extension ip4r'],
  );
  const both = rehearsalResult(17, 15, '17.10', missing, 1);
  assert.equal(both.status, 'differences');
  assert.equal(both.unexplained, 1);
  assert.equal(rehearsalResult(17, 15, '17.10', missing.slice(0, 1), 1).status, 'explained');
  assert.equal(rehearsalResult(17, 15, '17.10', [], 1).status, 'passed');
});

describe('the rehearsal in the JUnit report', () => {
  const base = (rehearsal: RehearsalResult, failures: string[]): DrillReport => ({
    kind: 'restore-drill',
    status: failures.length ? 'failed' : 'passed',
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
    rehearsal,
    totals: { tables: 0, rows: 0, failedTables: 0, failedChecks: 0, notVerified: 0 },
    failures,
    warnings: [],
  });
  const rehearsal = rehearsalResult(17, 15, '17.10', missingExtensions(['adminpack', 'ip4r'], new Set()), 2);

  it('differences are skipped cases while the rehearsal is informational: a passing drill stays green', () => {
    const xml = renderJUnit(base(rehearsal, []));
    assert.match(xml, /<testsuite name="[^"]*rehearsal"[^>]*failures="0"[^>]*skipped="2"/);
    assert.match(xml, /name="extension ip4r \(extension-missing\)"[^]*?<skipped message="not verified: unexplained: not available/);
    assert.match(
      xml,
      /name="extension adminpack \(extension-missing\)"[^]*?<skipped message="not verified: explained by the major change: PostgreSQL 17 removed/,
    );
  });

  it('with rehearse-must-pass the unexplained ones fail', () => {
    const xml = renderJUnit(base(rehearsal, ['upgrade rehearsal on PostgreSQL 17.10: 1 unexplained difference(s)']));
    assert.match(xml, /<testsuite name="[^"]*rehearsal"[^>]*failures="1"[^>]*skipped="1"/);
  });
});
