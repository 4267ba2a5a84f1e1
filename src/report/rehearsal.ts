// The upgrade rehearsal's report section, shared by the job summary and the terminal report.
import type { RehearsalResult } from '../rehearse/types.js';

export function rehearsalHeadline(r: RehearsalResult): string {
  const explained = r.differences.length - r.unexplained;
  switch (r.status) {
    case 'passed':
      return `Upgrade rehearsal on PostgreSQL ${r.serverVersion}: restores with no differences`;
    case 'explained':
      return `Upgrade rehearsal on PostgreSQL ${r.serverVersion}: ${explained} difference(s), all explained by the major change`;
    case 'differences':
      return `Upgrade rehearsal on PostgreSQL ${r.serverVersion}: ${r.unexplained} unexplained difference(s)${explained ? `, ${explained} explained` : ''}`;
    default:
      return `Upgrade rehearsal on PostgreSQL ${r.major || 'latest'}: not run`;
  }
}

/** One row per difference: object, type, and the explanation or "unexplained", unexplained ones first. */
export function rehearsalRows(r: RehearsalResult): [string, string, string, string][] {
  return [...r.differences]
    .sort((a, b) => Number(Boolean(a.explainedBy)) - Number(Boolean(b.explainedBy)))
    .map((d) => [d.object, d.type, d.message, d.explainedBy ? `explained: ${d.explainedBy}` : 'unexplained']);
}
