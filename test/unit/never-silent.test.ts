// Pure logic of issue 14: the trend guard, retention's "last good before a
// suspect backup", which service a notify URL names, when to notify, pings,
// the new inputs, and charts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildConfig } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import { assessTrend, median, type TrendSample } from '../../src/history/trend.js';
import { planRetention, type BackupRef } from '../../src/storage/retention.js';
import { parseTarget } from '../../src/notify/targets.js';
import { shouldNotify } from '../../src/notify/index.js';
import { pingUrl } from '../../src/notify/ping.js';
import { mermaidCharts, renderHistory, textCharts, lastDrills, type HistoryRow } from '../../src/history/view.js';
import { effectiveStatus, newRecord, timeOfRunId } from '../../src/history/record.js';

const OPTIONS = { maxShrink: 0.2, maxGrowth: 3, ignore: [] as string[] };

function sample(id: string, sizeBytes: number, tables: Record<string, number>): TrendSample {
  return { id, sizeBytes, rows: Object.values(tables).reduce((a, b) => a + b, 0), tables };
}

describe('trend guard', () => {
  it('median of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('a 50% drop of rows and size against the trailing median is suspect; 10% is not', () => {
    const previous = [sample('b3', 1000, { 'public.t': 1000 }), sample('b2', 1100, { 'public.t': 1100 }), sample('b1', 900, { 'public.t': 900 })];
    const shrunk = assessTrend(sample('b4', 500, { 'public.t': 500 }), previous, OPTIONS);
    assert.equal(shrunk.verdict, 'suspect');
    assert.deepEqual(shrunk.baseline, ['b3', 'b2', 'b1']);
    assert.match(shrunk.reasons.join('\n'), /stored size 500 B vs 1000 B, the median of 3 previous backups \(−50\.0%\)/);
    assert.match(shrunk.reasons.join('\n'), /rows 500 vs 1000, the median of 3 previous backups \(−50\.0%\)/);
    assert.equal(assessTrend(sample('b4', 900, { 'public.t': 900 }), previous, OPTIONS).verdict, 'ok');
  });

  it('the first backup has no baseline; max-shrink off never flags', () => {
    assert.deepEqual(assessTrend(sample('b1', 10, { 'public.t': 1 }), [], OPTIONS), { verdict: 'ok', reasons: [], warnings: [], deltas: [], baseline: [] });
    assert.equal(
      assessTrend(sample('b2', 1, { 'public.t': 1 }), [sample('b1', 1000, { 'public.t': 1000 })], { ...OPTIONS, maxShrink: undefined }).verdict,
      'ok',
    );
  });

  it('per-table drops and growth warn without making the backup suspect; trend-ignore leaves busy tables out', () => {
    const previous = [sample('b1', 1000, { 'public.orders': 900, 'public.sessions': 100 })];
    const current = sample('b2', 1000, { 'public.orders': 990, 'public.sessions': 10 });
    const warned = assessTrend(current, previous, OPTIONS);
    assert.equal(warned.verdict, 'ok');
    assert.deepEqual(warned.warnings, ['table public.sessions: 10 rows vs 100, the median of 1 previous backup (−90.0%)']);
    assert.deepEqual(assessTrend(current, previous, { ...OPTIONS, ignore: ['sessions'] }).warnings, []);
    // A busy table that empties itself does not make the total look shrunk once ignored.
    const busy = [sample('b1', 1000, { 'public.orders': 100, 'public.jobs': 900 })];
    const drained = sample('b2', 1000, { 'public.orders': 100, 'public.jobs': 0 });
    assert.equal(assessTrend(drained, busy, OPTIONS).verdict, 'suspect');
    assert.equal(assessTrend(drained, busy, { ...OPTIONS, ignore: ['public.jobs'] }).verdict, 'ok');
    const grown = assessTrend(sample('b2', 5000, { 'public.orders': 900 }), [sample('b1', 1000, { 'public.orders': 900 })], OPTIONS);
    assert.equal(grown.verdict, 'ok');
    assert.match(grown.warnings[0]!, /grew more than max-growth 300%/);
  });

  it('stored sizes compare only between backups of the same compression level', () => {
    const previous = [{ ...sample('b1', 1000, { 'public.t': 100 }), compression: 'gzip:0' }];
    const recompressed = assessTrend({ ...sample('b2', 300, { 'public.t': 100 }), compression: 'zstd:1' }, previous, OPTIONS);
    assert.equal(recompressed.verdict, 'ok');
    assert.match(recompressed.deltas[0]!, /stored size not compared: the compression changed to zstd:1/);
    assert.equal(assessTrend({ ...sample('b2', 300, { 'public.t': 100 }), compression: 'gzip:0' }, previous, OPTIONS).verdict, 'suspect');
  });

  it('an encrypted baseline (sizes only) compares stored size alone', () => {
    const verdict = assessTrend({ id: 'b2', sizeBytes: 100 }, [{ id: 'b1', sizeBytes: 1000 }], OPTIONS);
    assert.equal(verdict.verdict, 'suspect');
    assert.equal(verdict.deltas.length, 1);
  });
});

describe('retention with a suspect backup', () => {
  const ref = (id: string, iso: string, suspect = false): BackupRef => ({ id, time: new Date(iso), complete: true, ...(suspect ? { suspect } : {}) });

  it('keeps the last good backup from before the first suspect one, whatever keep-last says', () => {
    const backups = [
      ref('good1', '2026-11-01T00:00:00Z'),
      ref('good2', '2026-11-02T00:00:00Z'),
      ref('bad1', '2026-11-03T00:00:00Z', true),
      ref('bad2', '2026-11-04T00:00:00Z', true),
    ];
    const decisions = planRetention(backups, { keepLast: 1 }, { now: new Date('2026-11-05T00:00:00Z') });
    const keep = Object.fromEntries(decisions.map((d) => [d.id, d.keep]));
    assert.deepEqual(keep, { bad2: true, bad1: false, good2: true, good1: false });
    assert.deepEqual(decisions.find((d) => d.id === 'good2')!.reasons, ['last good before suspect bad1']);
  });

  it('without suspect backups the rule adds nothing', () => {
    const decisions = planRetention(
      [ref('a', '2026-11-01T00:00:00Z'), ref('b', '2026-11-02T00:00:00Z')],
      { keepLast: 1 },
      { now: new Date('2026-11-05T00:00:00Z') },
    );
    assert.deepEqual(
      decisions.filter((d) => d.keep).map((d) => d.id),
      ['b'],
    );
  });
});

describe('notify targets', () => {
  it('picks the service by scheme, then by well-known host, else a generic webhook', () => {
    assert.deepEqual(parseTarget('slack://hooks.slack.com/services/T0/B0/X'), {
      kind: 'slack',
      url: 'https://hooks.slack.com/services/T0/B0/X',
      label: 'slack (hooks.slack.com)',
    });
    assert.equal(parseTarget('https://hooks.slack.com/services/T0/B0/X').kind, 'slack');
    assert.equal(parseTarget('https://discord.com/api/webhooks/1/abc').kind, 'discord');
    assert.equal(parseTarget('https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x').kind, 'teams');
    assert.equal(parseTarget('teams+http://127.0.0.1:8080/hook').url, 'http://127.0.0.1:8080/hook');
    assert.equal(parseTarget('smtps://u:p@mail.example.com:465/?to=a@example.com').kind, 'email');
    assert.equal(parseTarget('https://example.com/hook').kind, 'webhook');
  });

  it('labels never carry the secret path or password', () => {
    assert.doesNotMatch(parseTarget('https://hooks.slack.com/services/T0/B0/SECRET').label, /SECRET/);
    assert.doesNotMatch(parseTarget('smtp://u:pw-secret@mail.example.com/?to=a@x').label, /pw-secret/);
  });

  it('notify-on levels', () => {
    const ok = { status: 'succeeded' as const, warnings: [] };
    const warned = { status: 'succeeded' as const, warnings: ['w'] };
    const failed = { status: 'failed' as const, warnings: [] };
    assert.deepEqual(
      (['failure', 'warning', 'always'] as const).map((on) => [shouldNotify(on, ok), shouldNotify(on, warned), shouldNotify(on, failed)]),
      [
        [false, false, true],
        [false, true, true],
        [true, true, true],
      ],
    );
    assert.equal(shouldNotify('failure', { status: 'suspect', warnings: [] }), true);
  });

  it('pings are healthchecks-style: /start, the bare URL, /fail', () => {
    assert.equal(pingUrl('https://hc-ping.com/uuid', 'start'), 'https://hc-ping.com/uuid/start');
    assert.equal(pingUrl('https://hc-ping.com/uuid/', 'success'), 'https://hc-ping.com/uuid/');
    assert.equal(pingUrl('https://hc-ping.com/uuid?rid=1', 'fail'), 'https://hc-ping.com/uuid/fail?rid=1');
  });
});

describe('inputs', () => {
  const config = (values: Record<string, string>) => buildConfig((name) => ({ storage: './b', ...values })[name], {});

  it('defaults: timeout 5h30m, notify-on failure, max-shrink 20%, max-growth 300%, history 12 months', () => {
    const c = config({});
    assert.equal(c.timeoutSeconds, 5.5 * 3600);
    assert.deepEqual(c.notify, { targets: [], on: 'failure' });
    assert.deepEqual(c.trend, { maxShrink: 0.2, maxGrowth: 3, ignore: [], acceptShrink: false });
    assert.equal(c.historyKeepMonths, 12);
  });

  it('parses and refuses values naming the input', () => {
    assert.equal(config({ timeout: '45m' }).timeoutSeconds, 2700);
    assert.equal(config({ 'max-shrink': 'off' }).trend.maxShrink, undefined);
    assert.equal(config({ 'max-shrink': '35%' }).trend.maxShrink, 0.35);
    for (const [input, value] of [
      ['timeout', 'soon'],
      ['notify-on', 'sometimes'],
      ['max-shrink', 'lots'],
      ['notify', 'ftp://example.com/x'],
      ['ping-url', 'hc-ping.com/uuid'],
    ] as const) {
      assert.throws(
        () => config({ [input]: value }),
        (e: unknown) => e instanceof UsageError && e.input === input,
        `${input}: ${value}`,
      );
    }
  });

  it('notify URLs are secrets: an invalid one is named by scheme only', () => {
    assert.throws(
      () => config({ notify: 'https://ok.example.com/a\nftp://user:hunter2@x/y' }),
      (e: Error) => !e.message.includes('hunter2') && /scheme 'ftp:'/.test(e.message),
    );
  });
});

describe('records and views', () => {
  it('run ids carry their start time to the millisecond', () => {
    const started = new Date('2026-12-02T11:06:30.123Z');
    const record = newRecord('app', 'backup', started, 'backup-drill test');
    assert.equal(timeOfRunId(record.id)?.toISOString(), started.toISOString());
    assert.equal(effectiveStatus(record, started), 'running'); // this very process
    assert.equal(effectiveStatus({ ...record, status: 'failed' }, started), 'failed');
  });

  const row = (mode: HistoryRow['mode'], startedAt: string, extra: Partial<HistoryRow>): HistoryRow => ({
    id: startedAt,
    mode,
    status: 'succeeded',
    startedAt,
    sealed: false,
    ...extra,
  });
  const rows: HistoryRow[] = [
    row('restore-drill', '2026-11-03T06:00:00Z', { backupId: 'b2', timeToRestoreSeconds: 40, status: 'failed' }),
    row('backup', '2026-11-03T02:00:00Z', { backupId: 'b2', sizeBytes: 2 * 2 ** 20, details: { rows: 200 } }),
    row('restore-drill', '2026-11-02T06:00:00Z', { backupId: 'b1', timeToRestoreSeconds: 30 }),
    row('backup', '2026-11-02T02:00:00Z', { backupId: 'b1', sizeBytes: 2 ** 20, details: { rows: 100 } }),
    row('backup', '2026-11-01T02:00:00Z', { status: 'failed' }),
  ];

  it('the last drill of each backup', () => {
    assert.deepEqual(
      [...lastDrills(rows)],
      [
        ['b2', 'failed'],
        ['b1', 'passed'],
      ],
    );
  });

  it('Mermaid xychart-beta charts for the job summary, with the table beside them; text bars for the terminal', () => {
    const md = mermaidCharts(rows);
    assert.equal((md.match(/```mermaid\nxychart-beta/g) ?? []).length, 2); // size and rows have two points each; time to restore one (no chart)
    assert.match(md, /title "Stored size \(MiB\)"/);
    assert.match(md, /line \[1, 2\]/);
    assert.match(md, /\| 2026-11-01 02:00 \| backup \| FAILED \|/);
    const text = textCharts(rows);
    assert.match(text, /Stored size \(backups\)\n {2}11-02 B {2}█{20} +1\.0 MiB\n {2}11-03 B {2}█{40} 2\.0 MiB/);
    assert.match(text, /Time to restore \(drills\)/);
  });

  it('the history table names who ran a good run and why a failed one failed; sealed details say so', () => {
    const table = renderHistory([
      { ...rows[4]!, errorCategory: 'database', details: { errorMessage: 'Could not connect to 127.0.0.1:5432' } },
      { ...rows[3]!, details: { rows: 100, trigger: { kind: 'github', actor: 'octocat', event: 'schedule' } } },
      { ...rows[2]!, sealed: true, details: undefined },
    ]).split('\n');
    assert.match(table[0]!, /^STARTED \(UTC\) +MODE +STATUS/);
    assert.match(table[1]!, /^2026-11-01 02:00:00 +backup +FAILED .*database: Could not connect to 127\.0\.0\.1:5432$/);
    assert.match(table[2]!, /backup +ok .* b1 +1\.0 MiB .*octocat \(schedule\)$/);
    assert.match(table[3]!, /restore-drill .*30\.0s +\(sealed\)$/);
  });
});
