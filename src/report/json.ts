// The machine-readable report. Keys are sorted (with `reportVersion` first) so that two runs
// over the same data give byte-identical files, whatever order the report was built in.

import type { DrillReport } from './types.js';

/** Bump when a field is removed or changes meaning; adding fields keeps the version. */
export const REPORT_VERSION = 1;

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

export function renderJson(report: DrillReport): string {
  const body = sortKeys(report) as Record<string, unknown>;
  delete body['reportVersion'];
  return `${JSON.stringify({ reportVersion: REPORT_VERSION, ...body }, null, 2)}\n`;
}
