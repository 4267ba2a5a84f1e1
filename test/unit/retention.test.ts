import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import {
  hasRetention,
  isoWeek,
  planRetention,
  validatePolicy,
  type BackupRef,
  type RetentionDecision,
  type RetentionPolicy,
} from '../../src/storage/retention.js';

/** A backup id as the tool makes them, from an ISO time: 20261124T062000Z-xxxxxx. */
function idOf(iso: string, suffix = 'a1b2c3'): string {
  return `${iso.replace(/[-:]/g, '').replace(/\.\d+/, '')}-${suffix}`;
}

function backup(iso: string, complete = true, suffix?: string): BackupRef {
  return { id: idOf(iso, suffix), time: new Date(iso), complete };
}

function kept(decisions: RetentionDecision[]): string[] {
  return decisions.filter((d) => d.keep).map((d) => d.id);
}

function byId(decisions: RetentionDecision[], id: string): RetentionDecision {
  const found = decisions.find((d) => d.id === id);
  assert.ok(found, `no decision for ${id}`);
  return found;
}

/** One backup a day at 06:20Z from start for n days (oldest first). */
function daily(startIso: string, n: number): BackupRef[] {
  const start = Date.parse(startIso);
  return Array.from({ length: n }, (_, i) => backup(new Date(start + i * 86_400_000).toISOString().replace('.000', '')));
}

const NOW = new Date('2026-11-24T12:00:00Z');

describe('planRetention', () => {
  it('keep-last only keeps the N newest complete backups', () => {
    const backups = daily('2026-11-15T06:20:00Z', 10);
    const decisions = planRetention(backups, { keepLast: 3 }, { now: NOW });
    assert.deepEqual(kept(decisions), [idOf('2026-11-24T06:20:00Z'), idOf('2026-11-23T06:20:00Z'), idOf('2026-11-22T06:20:00Z')]);
    assert.deepEqual(byId(decisions, idOf('2026-11-24T06:20:00Z')).reasons, ['newest verified', 'last 3']);
    assert.deepEqual(byId(decisions, idOf('2026-11-23T06:20:00Z')).reasons, ['last 3']);
    assert.equal(decisions.filter((d) => !d.keep).length, 7);
    assert.ok(decisions.filter((d) => !d.keep).every((d) => d.reasons.join() === 'matched no keep rule'));
  });

  it('returns one decision per backup, newest first, whatever the input order', () => {
    const backups = daily('2026-11-01T06:20:00Z', 20).reverse();
    backups.push(backups.splice(3, 1)[0]!);
    const decisions = planRetention(backups, { keepLast: 5 }, { now: NOW });
    assert.equal(decisions.length, 20);
    const ids = decisions.map((d) => d.id);
    assert.deepEqual(ids, [...ids].sort().reverse());
  });

  it('keeps only the newest backup of a day for keep-daily', () => {
    const backups = [
      backup('2026-11-22T01:00:00Z', true, '000001'),
      backup('2026-11-22T13:00:00Z', true, '000002'),
      backup('2026-11-22T23:59:59Z', true, '000003'),
      backup('2026-11-23T00:00:00Z', true, '000004'),
      backup('2026-11-23T18:00:00Z', true, '000005'),
      backup('2026-11-24T02:00:00Z', true, '000006'),
      backup('2026-11-24T08:00:00Z', true, '000007'),
    ];
    const decisions = planRetention(backups, { keepDaily: 3 }, { now: NOW });
    assert.deepEqual(kept(decisions), [backups[6]!.id, backups[4]!.id, backups[2]!.id]);
    assert.deepEqual(byId(decisions, backups[6]!.id).reasons, ['newest verified', 'daily 2026-11-24']);
    assert.deepEqual(byId(decisions, backups[4]!.id).reasons, ['daily 2026-11-23']);
    assert.deepEqual(byId(decisions, backups[2]!.id).reasons, ['daily 2026-11-22']);
  });

  it('counts the N most recent days that have backups, not calendar days (restic)', () => {
    // Gaps: nothing on 11-20, 11-21, 11-23.
    const backups = ['2026-11-17', '2026-11-18', '2026-11-19', '2026-11-22', '2026-11-24'].map((d) => backup(`${d}T06:20:00Z`));
    const decisions = planRetention(backups, { keepDaily: 4 }, { now: NOW });
    assert.deepEqual(kept(decisions), [backups[4]!.id, backups[3]!.id, backups[2]!.id, backups[1]!.id]);
  });

  it('buckets days by UTC date, not local time', () => {
    const late = backup('2026-11-23T23:30:00Z', true, '000001');
    const early = backup('2026-11-24T00:30:00Z', true, '000002');
    const decisions = planRetention([late, early], { keepDaily: 2 }, { now: NOW });
    assert.deepEqual(byId(decisions, late.id).reasons, ['daily 2026-11-23']);
    assert.deepEqual(byId(decisions, early.id).reasons, ['newest verified', 'daily 2026-11-24']);
  });

  it('mixes daily, weekly and monthly over months of nightly backups', () => {
    // Nightly from 2026-06-01 to 2026-11-24 (177 days).
    const backups = daily('2026-06-01T06:20:00Z', 177);
    assert.equal(backups.at(-1)!.id, idOf('2026-11-24T06:20:00Z'));
    const decisions = planRetention(backups, { keepDaily: 7, keepWeekly: 4, keepMonthly: 6 }, { now: NOW });

    const days = (ids: string[]) => ids.map((id) => `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}`);
    // Daily: 11-18..11-24. Weekly (ISO weeks end Sunday): 11-24 (W48, shared with daily),
    // 11-22 (W47, shared), 11-15 (W46), 11-08 (W45). Monthly: last day of each month, and 11-24.
    assert.deepEqual(days(kept(decisions)), [
      '2026-11-24',
      '2026-11-23',
      '2026-11-22',
      '2026-11-21',
      '2026-11-20',
      '2026-11-19',
      '2026-11-18',
      '2026-11-15',
      '2026-11-08',
      '2026-10-31',
      '2026-09-30',
      '2026-08-31',
      '2026-07-31',
      '2026-06-30',
    ]);
    assert.deepEqual(byId(decisions, idOf('2026-11-24T06:20:00Z')).reasons, ['newest verified', 'daily 2026-11-24', 'weekly 2026-W48', 'monthly 2026-11']);
    assert.deepEqual(byId(decisions, idOf('2026-11-22T06:20:00Z')).reasons, ['daily 2026-11-22', 'weekly 2026-W47']);
    assert.deepEqual(byId(decisions, idOf('2026-11-08T06:20:00Z')).reasons, ['weekly 2026-W45']);
    assert.deepEqual(byId(decisions, idOf('2026-06-30T06:20:00Z')).reasons, ['monthly 2026-06']);
    assert.equal(byId(decisions, idOf('2026-06-29T06:20:00Z')).keep, false);
    assert.equal(decisions.length, 177);
  });

  it('combines keep-last with bucket rules like restic (each rule counts on its own)', () => {
    // Two backups a day for 10 days.
    const backups = daily('2026-11-15T06:20:00Z', 10).flatMap((b) => [
      b,
      backup(new Date(b.time.getTime() + 12 * 3600_000).toISOString().replace('.000', ''), true, 'ffffff'),
    ]);
    const decisions = planRetention(backups, { keepLast: 2, keepDaily: 3, keepMonthly: 1 }, { now: NOW });
    assert.deepEqual(kept(decisions), [
      idOf('2026-11-24T18:20:00Z', 'ffffff'), // newest, last, daily, monthly
      idOf('2026-11-24T06:20:00Z'), // last 2
      idOf('2026-11-23T18:20:00Z', 'ffffff'), // daily
      idOf('2026-11-22T18:20:00Z', 'ffffff'), // daily
    ]);
    assert.deepEqual(byId(decisions, idOf('2026-11-24T06:20:00Z')).reasons, ['last 2']);
  });

  it("reproduces restic's documented keep-daily 5 / weekly 2 example shape", () => {
    // Irregular backups over five weeks, as in restic's docs: gaps and several per day.
    const backups = [
      '2026-10-20T10:00:00Z',
      '2026-10-26T10:00:00Z',
      '2026-10-27T10:00:00Z',
      '2026-11-02T09:00:00Z',
      '2026-11-02T21:00:00Z',
      '2026-11-05T10:00:00Z',
      '2026-11-09T10:00:00Z',
      '2026-11-10T08:00:00Z',
      '2026-11-10T20:00:00Z',
      '2026-11-11T10:00:00Z',
    ].map((t, i) => backup(t, true, `00000${i}`));
    const decisions = planRetention(backups, { keepDaily: 5, keepWeekly: 2 }, { now: NOW });
    // Daily: 11-11, 11-10 (20:00), 11-09, 11-05, 11-02 (21:00). Weekly: W46 (11-11), W45 (11-05).
    assert.deepEqual(kept(decisions), [backups[9]!.id, backups[8]!.id, backups[6]!.id, backups[5]!.id, backups[4]!.id]);
    assert.deepEqual(byId(decisions, backups[5]!.id).reasons, ['daily 2026-11-05', 'weekly 2026-W45']);
  });

  it('always keeps the newest complete backup, even with newer incomplete ones', () => {
    const backups = [
      backup('2026-11-20T06:20:00Z', true),
      backup('2026-11-21T06:20:00Z', true),
      backup('2026-11-22T06:20:00Z', false), // failed run, old
      backup('2026-11-24T11:00:00Z', false), // in progress
    ];
    const decisions = planRetention(backups, { keepLast: 1 }, { now: NOW });
    assert.deepEqual(kept(decisions), [backups[3]!.id, backups[1]!.id]);
    assert.deepEqual(byId(decisions, backups[1]!.id).reasons, ['newest verified', 'last 1']);
    assert.deepEqual(byId(decisions, backups[2]!.id), { id: backups[2]!.id, keep: false, reasons: ['incomplete, older than grace period'] });
    assert.deepEqual(byId(decisions, backups[3]!.id).reasons, ['incomplete, may be in progress']);
  });

  it('breaks ties between equal times by id, and ignores keep-last 0', () => {
    const backups = [backup('2026-11-24T06:20:00Z', true, '000002'), backup('2026-11-24T06:20:00Z', true, '000001')];
    const decisions = planRetention(backups, { keepWeekly: 1 }, { now: NOW });
    // Same second: the larger id is the newer one.
    assert.deepEqual(kept(decisions), [idOf('2026-11-24T06:20:00Z', '000002')]);

    const old = daily('2025-01-01T00:00:00Z', 40);
    const d2 = planRetention(old, { keepLast: 0, keepDaily: 1 }, { now: NOW });
    assert.deepEqual(kept(d2), [old.at(-1)!.id]);
    assert.deepEqual(byId(d2, old.at(-1)!.id).reasons, ['newest verified', 'daily 2025-02-09']);
  });

  it('never deletes the newest complete backup for any small policy', () => {
    const backups = [...daily('2026-09-01T06:20:00Z', 60), backup('2026-11-24T10:00:00Z', false), backup('2026-10-01T03:00:00Z', false)];
    const newest = idOf('2026-10-30T06:20:00Z');
    const policies: RetentionPolicy[] = [
      { keepLast: 1 },
      { keepDaily: 1 },
      { keepWeekly: 1 },
      { keepMonthly: 1 },
      { keepLast: 0, keepMonthly: 1 },
      { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    ];
    for (const policy of policies) {
      const decisions = planRetention(backups, policy, { now: NOW });
      assert.equal(byId(decisions, newest).keep, true, JSON.stringify(policy));
      assert.equal(byId(decisions, newest).reasons[0], 'newest verified');
      assert.equal(decisions.length, backups.length);
    }
  });

  it('keeps the newest complete backup when every backup is old', () => {
    const backups = [backup('2020-01-01T00:00:00Z'), backup('2020-01-02T00:00:00Z')];
    const decisions = planRetention(backups, { keepLast: 1 }, { now: NOW });
    assert.deepEqual(kept(decisions), [backups[1]!.id]);
  });

  it('handles an empty list and a list with only incomplete backups', () => {
    assert.deepEqual(planRetention([], { keepLast: 3 }, { now: NOW }), []);
    const only = [backup('2026-11-01T00:00:00Z', false)];
    assert.deepEqual(planRetention(only, { keepLast: 3 }, { now: NOW }), [{ id: only[0]!.id, keep: false, reasons: ['incomplete, older than grace period'] }]);
  });

  it('never deletes a backup whose time is unknown', () => {
    const odd: BackupRef = { id: 'not-a-backup-id', time: new Date('garbage'), complete: true };
    const decisions = planRetention([odd, backup('2026-11-24T06:20:00Z')], { keepLast: 1 }, { now: NOW });
    assert.deepEqual(byId(decisions, 'not-a-backup-id'), { id: 'not-a-backup-id', keep: true, reasons: ['time unknown'] });
  });

  it('keeps everything when no retention is set (callers normally skip)', () => {
    const backups = daily('2026-11-01T06:20:00Z', 5);
    const decisions = planRetention(backups, {}, { now: NOW });
    assert.equal(kept(decisions).length, 5);
    assert.deepEqual(decisions[1]!.reasons, ['no retention policy']);
  });

  it('refuses a policy that would keep nothing instead of planning', () => {
    assert.throws(() => planRetention(daily('2026-11-01T06:20:00Z', 5), { keepLast: 0 }, { now: NOW }), UsageError);
  });
});

describe('incomplete backups', () => {
  it('removes them only after the grace period (default 24h)', () => {
    const fresh = backup('2026-11-23T12:30:00Z', false, '000001'); // 23.5h old
    const stale = backup('2026-11-23T11:30:00Z', false, '000002'); // 24.5h old
    const done = backup('2026-11-20T06:20:00Z', true);
    const decisions = planRetention([fresh, stale, done], { keepLast: 1 }, { now: NOW });
    assert.deepEqual(byId(decisions, fresh.id), { id: fresh.id, keep: true, reasons: ['incomplete, may be in progress'] });
    assert.deepEqual(byId(decisions, stale.id), { id: stale.id, keep: false, reasons: ['incomplete, older than grace period'] });
    assert.equal(byId(decisions, done.id).keep, true);
  });

  it('honours a custom grace period', () => {
    const b = backup('2026-11-24T11:00:00Z', false); // 1h old
    assert.equal(planRetention([b], { keepLast: 1 }, { now: NOW, incompleteGraceSeconds: 1800 })[0]!.keep, false);
    assert.equal(planRetention([b], { keepLast: 1 }, { now: NOW, incompleteGraceSeconds: 7200 })[0]!.keep, true);
  });

  it('never counts them for keep-last or buckets', () => {
    const backups = [
      backup('2026-11-22T06:20:00Z', true),
      backup('2026-11-23T06:20:00Z', true),
      backup('2026-11-24T06:20:00Z', false),
      backup('2026-11-24T07:20:00Z', false),
    ];
    const decisions = planRetention(backups, { keepLast: 2, keepDaily: 1 }, { now: NOW });
    assert.deepEqual(byId(decisions, backups[0]!.id).reasons, ['last 2']);
    assert.deepEqual(byId(decisions, backups[1]!.id).reasons, ['newest verified', 'last 2', 'daily 2026-11-23']);
  });

  it('keeps incomplete backups dated in the future', () => {
    const b = backup('2026-11-25T00:00:00Z', false);
    assert.equal(planRetention([b], { keepLast: 1 }, { now: NOW })[0]!.keep, true);
  });
});

describe('isoWeek', () => {
  it('follows ISO 8601 at year boundaries', () => {
    assert.equal(isoWeek(new Date('2026-11-24T06:20:00Z')), '2026-W48');
    assert.equal(isoWeek(new Date('2026-11-22T23:59:59Z')), '2026-W47'); // Sunday ends the week
    assert.equal(isoWeek(new Date('2026-11-23T00:00:00Z')), '2026-W48'); // Monday starts one
    assert.equal(isoWeek(new Date('2021-01-03T12:00:00Z')), '2020-W53');
    assert.equal(isoWeek(new Date('2024-12-30T12:00:00Z')), '2025-W01');
    assert.equal(isoWeek(new Date('2026-01-01T00:00:00Z')), '2026-W01');
    assert.equal(isoWeek(new Date('2027-01-01T00:00:00Z')), '2026-W53');
  });
});

describe('validatePolicy / hasRetention', () => {
  it('treats an all-unset policy as "no retention"', () => {
    assert.equal(hasRetention({}), false);
    assert.doesNotThrow(() => validatePolicy({}));
    assert.equal(hasRetention({ keepMonthly: 0 }), true);
    assert.equal(hasRetention({ keepDaily: 7 }), true);
  });

  it('accepts any policy that keeps something', () => {
    assert.doesNotThrow(() => validatePolicy({ keepLast: 0, keepDaily: 7 }));
    assert.doesNotThrow(() => validatePolicy({ keepMonthly: 1 }));
  });

  it('rejects a policy that would keep nothing, naming the inputs', () => {
    const error = catchError(() => validatePolicy({ keepLast: 0, keepWeekly: 0 }));
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /'keep-last', 'keep-weekly' are all 0/);
    assert.equal(error.input, 'keep-last');
    assert.match(error.describe(), /keep-daily/);
    assert.match(error.describe(), /keep-monthly/);
    assert.throws(() => validatePolicy({ keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 }), UsageError);
  });

  it('rejects negative and fractional counts, naming the input', () => {
    for (const [policy, input] of [
      [{ keepDaily: -1 }, 'keep-daily'],
      [{ keepLast: 1.5 }, 'keep-last'],
      [{ keepWeekly: Number.NaN }, 'keep-weekly'],
      [{ keepMonthly: Infinity }, 'keep-monthly'],
    ] as const) {
      const error = catchError(() => validatePolicy(policy));
      assert.ok(error instanceof UsageError, input);
      assert.equal(error.input, input);
      assert.match(error.message, new RegExp(`'${input}'`));
    }
  });
});

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

describe('damaged backups (issue 11, item 1)', () => {
  const times = ['2026-11-22T06:20:00Z', '2026-11-23T06:20:00Z', '2026-11-24T06:20:00Z'];
  /** Three nightly backups; the newest `broken` of them damaged. */
  function withNewestDamaged(broken: number): BackupRef[] {
    return times.map((t, i) => ({ ...backup(t), ...(i >= times.length - broken ? { damaged: `part database.dump is missing (${i})` } : {}) }));
  }

  for (const policy of [{ keepLast: 1 }, { keepDaily: 1 }, { keepWeekly: 1 }] satisfies RetentionPolicy[]) {
    it(`a damaged newest backup does not take the good one's place under ${JSON.stringify(policy)}`, () => {
      const backups = withNewestDamaged(1);
      const decisions = planRetention(backups, policy, { now: NOW });
      assert.ok(byId(decisions, backups[1]!.id).keep, 'the newest good backup is kept');
      assert.equal(byId(decisions, backups[1]!.id).reasons[0], 'newest verified');
      const damaged = byId(decisions, backups[2]!.id);
      assert.ok(damaged.keep, 'a damaged backup is kept until removed on purpose');
      assert.match(damaged.reasons.join(), /damaged, counts toward no keep rule.*database\.dump is missing/);
      assert.equal(byId(decisions, backups[0]!.id).keep, false);
    });
  }

  it('with the two newest damaged, keep-last 2 keeps the only good one', () => {
    const backups = withNewestDamaged(2);
    const decisions = planRetention(backups, { keepLast: 2 }, { now: NOW });
    assert.deepEqual(byId(decisions, backups[0]!.id).reasons, ['newest verified', 'last 2']);
    assert.ok(decisions.every((d) => d.keep));
  });

  it('removes damaged backups only when asked (prune --damaged)', () => {
    const backups = withNewestDamaged(2);
    const decisions = planRetention(backups, { keepLast: 1 }, { now: NOW, pruneDamaged: true });
    assert.deepEqual(kept(decisions), [backups[0]!.id]);
    assert.match(byId(decisions, backups[2]!.id).reasons.join(), /^damaged \(prune --damaged\)/);
  });

  it('keeps every damaged backup when none verifies', () => {
    const backups = withNewestDamaged(3);
    const decisions = planRetention(backups, { keepLast: 1 }, { now: NOW });
    assert.equal(kept(decisions).length, 3);
  });
});
