import type { CheckResult, DrillReport, TableResult } from './types.js';

/** The totals line of a drill or restore report. */
export function reportTotals(tables: TableResult[], checks: CheckResult[]): DrillReport['totals'] {
  return {
    tables: tables.length,
    rows: tables.reduce((s, t) => s + (t.restoredRows ?? 0), 0),
    failedTables: tables.filter((t) => t.status === 'failed' || t.status === 'error').length,
    failedChecks: checks.filter((c) => c.status === 'failed' || c.status === 'error').length,
    notVerified: checks.filter((c) => c.status === 'not-verified').length + tables.filter((t) => t.status === 'not-verified').length,
  };
}
