// What a notification says about a run: the same facts for every service,
// rendered by each adapter in the format that service documents.
import type { RunMode, RunStatus } from '../history/record.js';
import { formatBytes, formatDuration } from '../util/format.js';

export interface RunEvent {
  name: string;
  mode: RunMode;
  status: RunStatus;
  /** One line: what happened. */
  headline: string;
  /** Why it failed (error message, failures), secrets redacted. */
  reasons: string[];
  warnings: string[];
  /** Size/rows deltas against the trailing median, e.g. "stored size 10.1 MiB → 5.0 MiB (−50%)". */
  deltas: string[];
  runUrl?: string;
  storage: string;
  backupId?: string;
  sizeBytes?: number;
  rows?: number;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  host: string;
}

const MODE_LABEL: Record<RunMode, string> = { backup: 'Backup', 'restore-drill': 'Restore drill', restore: 'Restore' };
const STATUS_LABEL: Record<RunStatus, string> = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'FAILED',
  suspect: 'SUSPECT',
  'timed-out': 'TIMED OUT',
  interrupted: 'interrupted',
};

export function title(event: RunEvent): string {
  return `${MODE_LABEL[event.mode]} of '${event.name}' ${STATUS_LABEL[event.status]}`;
}

export function isBad(event: RunEvent): boolean {
  return event.status !== 'succeeded';
}

/** Label/value pairs shown by every service (facts, fields). */
export function facts(event: RunEvent): Array<[string, string]> {
  return [
    ['Backup set', `${event.name} (${event.storage})`],
    ...(event.backupId ? [['Backup', event.backupId] as [string, string]] : []),
    ...(event.sizeBytes !== undefined ? [['Stored', formatBytes(event.sizeBytes)] as [string, string]] : []),
    ...(event.rows !== undefined ? [['Rows', String(event.rows)] as [string, string]] : []),
    ['Duration', formatDuration(event.durationSeconds)],
    ['Ran on', event.runUrl ?? event.host],
  ];
}

/** Plain text body (e-mail, ping bodies, fallbacks). */
export function plainText(event: RunEvent): string {
  const lines = [title(event), '', event.headline];
  if (event.reasons.length) lines.push('', 'Why:', ...event.reasons.map((r) => `- ${r}`));
  if (event.deltas.length) lines.push('', 'Against the previous backups:', ...event.deltas.map((d) => `- ${d}`));
  if (event.warnings.length) lines.push('', 'Warnings:', ...event.warnings.map((w) => `- ${w}`));
  lines.push('', ...facts(event).map(([k, v]) => `${k}: ${v}`));
  return lines.join('\n');
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
