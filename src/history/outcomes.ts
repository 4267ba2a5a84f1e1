// Each mode's result as a RunOutcome (record, pings, messages), and its exit
// code: one place, used by both shells.
import { ExitCode } from '../errors.js';
import type { BackupOutcome } from '../modes/backup.js';
import { isSuspectOnly, type DrillResult } from '../modes/drill.js';
import type { RestoreResult } from '../modes/restore.js';
import { formatBytes, formatDuration } from '../util/format.js';
import type { RunOutcome } from './tracker.js';

export function backupOutcome(r: BackupOutcome): RunOutcome {
  const m = r.manifest;
  const suspect = r.trend?.verdict === 'suspect';
  const warnings = [...(r.trend?.warnings ?? []), ...m.warnings];
  return {
    status: suspect ? 'suspect' : 'succeeded',
    headline: `Backup ${r.id}: ${m.totals.tables} tables, ${m.totals.rows} rows${m.files ? `, ${m.files.count} files` : ''}; stored ${formatBytes(r.sizeBytes)} in ${formatDuration(r.durationSeconds)}.`,
    reasons: suspect ? r.trend!.reasons : [],
    warnings,
    deltas: r.trend?.deltas ?? [],
    backupId: r.id,
    sizeBytes: r.sizeBytes,
    rows: m.totals.rows,
    exitCode: ExitCode.ok,
    ...(suspect ? { suspect: true } : {}),
    details: {
      parts: m.parts.map((p) => ({ name: p.name, bytes: p.bytes, sha256: p.sha256 })),
      rows: m.totals.rows,
      tables: m.totals.tables,
      tableRows: Object.fromEntries(m.tables.map((t) => [`${t.schema}.${t.name}`, t.rows])),
      ...(r.trend ? { trend: { verdict: r.trend.verdict, reasons: r.trend.reasons, warnings: r.trend.warnings, baseline: r.trend.baseline } } : {}),
    },
  };
}

export function drillExitCode(r: Pick<DrillResult, 'report'>): number {
  if (r.report.status === 'passed') return ExitCode.ok;
  return isSuspectOnly(r.report) ? ExitCode.suspect : ExitCode.checksFailed;
}

export function drillOutcome(r: DrillResult): RunOutcome {
  const rep = r.report;
  const exitCode = drillExitCode(r);
  const suspect = exitCode === ExitCode.suspect;
  return {
    status: rep.status === 'passed' ? 'succeeded' : suspect ? 'suspect' : 'failed',
    headline: `Drill of ${rep.backupId} ${rep.status}: ${rep.totals.tables} tables, ${rep.totals.rows} rows; time to restore ${formatDuration(rep.timings.totalSeconds)}.`,
    reasons: rep.failures,
    warnings: rep.warnings,
    deltas: rep.trend?.deltas ?? [],
    backupId: rep.backupId,
    rows: rep.totals.rows,
    timeToRestoreSeconds: Math.round(rep.timings.totalSeconds * 10) / 10,
    exitCode,
    ...(rep.trend?.verdict === 'suspect' ? { suspect: true } : {}),
    details: { rows: rep.totals.rows, tables: rep.totals.tables, failures: rep.failures.slice(0, 20) },
  };
}

export function restoreOutcome(r: RestoreResult): RunOutcome {
  const failed = r.report?.status === 'failed';
  const refusals = r.dryRun ? (r.preview.refusals ?? []) : [];
  return {
    status: failed || refusals.length ? 'failed' : 'succeeded',
    headline: r.dryRun
      ? `Restore dry run of ${r.preview.backup.id}${refusals.length ? `: a real run would be refused` : ''}.`
      : `Restore of ${r.preview.backup.id} ${failed ? 'committed but its verification failed' : 'done'}.`,
    reasons: [...(r.report?.failures ?? []), ...refusals],
    warnings: r.report?.warnings ?? [],
    backupId: r.preview.backup.id,
    ...(r.report ? { rows: r.report.totals.rows } : {}),
    exitCode: failed ? ExitCode.checksFailed : refusals.length ? ExitCode.usage : ExitCode.ok,
  };
}
