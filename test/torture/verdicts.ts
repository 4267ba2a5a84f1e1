// The verdicts every torture database must reach, shared by the regression, extension and app suites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TortureOutcome } from './round-trip.js';

/** `outcome` is read when the tests run (it is set by the suite's before hook). */
export function verdictTests(outcome: () => TortureOutcome, falseFailuresTitle = 'zero false failures'): void {
  test(falseFailuresTitle, () => {
    assert.deepEqual(outcome().falseFailures, []);
  });
  test('a failed restore leaves its target exactly as before', () => {
    assert.deepEqual(outcome().atomicity, []);
  });
  test('the restore is as faithful as pg_dump | pg_restore', () => {
    assert.deepEqual(
      outcome().fidelity.map((d) => `${d.kind} ${d.object}: ${d.detail}`),
      [],
    );
  });
  test('every difference of the plain round trip is listed with its reason', () => {
    assert.deepEqual(
      outcome().plainUnexplained.map((d) => `${d.kind} ${d.object}: ${d.detail}`),
      [],
    );
  });
}
