// Run records as people read them: the history table, the last-drill status of
// each backup (for `list`), and the charts (Mermaid xychart-beta for job
// summaries, which GitHub renders, with a table beside it; text bars for a terminal).
import type { RunDetails, RunRecord, RunStatus } from './record.js';
import { effectiveStatus } from './record.js';
import { formatBytes, formatDuration } from '../util/format.js';

export interface HistoryRow {
  id: string;
  mode: RunRecord['mode'];
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  backupId?: string;
  sizeBytes?: number;
  timeToRestoreSeconds?: number;
  suspect?: boolean;
  errorCategory?: string;
  /** Readable details: plain, or unsealed with a key; undefined when sealed and no key fits. */
  details?: RunDetails;
  sealed: boolean;
}

export function historyRow(record: RunRecord, now: Date, details?: RunDetails): HistoryRow {
  return {
    id: record.id,
    mode: record.mode,
    status: effectiveStatus(record, now),
    startedAt: record.startedAt,
    ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
    ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
    ...(record.backupId ? { backupId: record.backupId } : {}),
    ...(record.sizeBytes !== undefined ? { sizeBytes: record.sizeBytes } : {}),
    ...(record.timeToRestoreSeconds !== undefined ? { timeToRestoreSeconds: record.timeToRestoreSeconds } : {}),
    ...(record.suspect ? { suspect: true } : {}),
    ...(record.error ? { errorCategory: record.error.category } : {}),
    ...((details ?? record.details) ? { details: details ?? record.details } : {}),
    sealed: record.sealed !== undefined,
  };
}

function who(d: RunDetails | undefined): string {
  const t = d?.trigger;
  if (!t) return '';
  return t.kind === 'github' ? `${t.actor ?? '?'} (${t.event ?? 'github'})` : `${t.user ?? '?'}@${t.host ?? '?'}`;
}

const STATUS_WORD: Record<RunStatus, string> = {
  running: 'running',
  succeeded: 'ok',
  failed: 'FAILED',
  suspect: 'SUSPECT',
  'timed-out': 'TIMED OUT',
  interrupted: 'INTERRUPTED',
};

export function renderHistory(rows: HistoryRow[]): string {
  if (!rows.length) return 'No run records.';
  const lines = [
    `${'STARTED (UTC)'.padEnd(20)} ${'MODE'.padEnd(13)} ${'STATUS'.padEnd(12)} ${'TOOK'.padStart(8)}  ${'BACKUP'.padEnd(24)} ${'SIZE'.padStart(10)} ${'TTR'.padStart(8)}  WHO / WHY`,
  ];
  for (const r of rows) {
    const why = r.status === 'succeeded' ? who(r.details) : [r.errorCategory, r.details?.errorMessage ?? r.details?.failures?.[0]].filter(Boolean).join(': ');
    lines.push(
      [
        r.startedAt.slice(0, 19).replace('T', ' ').padEnd(20),
        r.mode.padEnd(13),
        `${STATUS_WORD[r.status]}${r.suspect && r.status === 'succeeded' ? ' (suspect)' : ''}`.padEnd(12),
        (r.durationSeconds !== undefined ? formatDuration(r.durationSeconds) : '').padStart(8),
        '',
        (r.backupId ?? '').padEnd(24),
        (r.sizeBytes !== undefined ? formatBytes(r.sizeBytes) : '').padStart(10),
        (r.timeToRestoreSeconds !== undefined ? formatDuration(r.timeToRestoreSeconds) : '').padStart(8),
        '',
        (why || (r.sealed && !r.details ? '(sealed)' : '')).replace(/\s+/g, ' ').slice(0, 160),
      ].join(' '),
    );
  }
  return lines.join('\n');
}

export type DrillStatus = 'passed' | 'failed' | 'suspect' | 'timed out' | 'interrupted' | 'running' | 'never';

/** The last drill of each backup id, from records newest first. */
export function lastDrills(rows: HistoryRow[]): Map<string, DrillStatus> {
  const map = new Map<string, DrillStatus>();
  for (const r of rows) {
    if (r.mode !== 'restore-drill' || !r.backupId || map.has(r.backupId)) continue;
    const word: Record<RunStatus, DrillStatus> = {
      succeeded: 'passed',
      failed: 'failed',
      suspect: 'suspect',
      'timed-out': 'timed out',
      interrupted: 'interrupted',
      running: 'running',
    };
    map.set(r.backupId, word[r.status]);
  }
  return map;
}

interface Series {
  labels: string[];
  size: Array<number | undefined>;
  rows: Array<number | undefined>;
  ttr: Array<number | undefined>;
}

/** Oldest → newest, the last `max` completed backups and drills. */
function series(rows: HistoryRow[], max: number): Series {
  const picked = rows
    .filter((r) => (r.mode === 'backup' || r.mode === 'restore-drill') && (r.status === 'succeeded' || r.status === 'suspect') && r.backupId)
    .slice(0, max)
    .reverse();
  return {
    labels: picked.map((r) => `${r.startedAt.slice(5, 10)} ${r.mode === 'backup' ? 'B' : 'D'}`),
    size: picked.map((r) => (r.mode === 'backup' ? r.sizeBytes : undefined)),
    rows: picked.map((r) => (r.mode === 'backup' ? r.details?.rows : undefined)),
    ttr: picked.map((r) => (r.mode === 'restore-drill' ? r.timeToRestoreSeconds : undefined)),
  };
}

function scaleBytes(values: number[]): { unit: string; factor: number } {
  const max = Math.max(0, ...values);
  const units: Array<[string, number]> = [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ];
  for (const [unit, factor] of units) if (max >= factor) return { unit, factor };
  return { unit: 'B', factor: 1 };
}

function mermaidLine(title: string, axis: string, points: Array<[string, number]>): string[] {
  if (points.length < 2) return [];
  const max = Math.max(...points.map(([, v]) => v));
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${title}"`,
    `  x-axis [${points.map(([l]) => `"${l}"`).join(', ')}]`,
    `  y-axis "${axis}" 0 --> ${Math.ceil(max * 1.1) || 1}`,
    `  line [${points.map(([, v]) => Number(v.toFixed(2))).join(', ')}]`,
    '```',
    '',
  ];
}

function points(labels: string[], values: Array<number | undefined>, factor = 1): Array<[string, number]> {
  return labels.flatMap((l, i) => (values[i] === undefined ? [] : [[l, values[i]! / factor] as [string, number]]));
}

/** Job-summary Markdown: a chart per measure (when it has two points or more) and the table beside them. */
export function mermaidCharts(rows: HistoryRow[], max = 30): string {
  const s = series(rows, max);
  const bytes = scaleBytes(s.size.filter((v): v is number => v !== undefined));
  const out = [
    ...mermaidLine(`Stored size (${bytes.unit})`, bytes.unit, points(s.labels, s.size, bytes.factor)),
    ...mermaidLine('Rows', 'rows', points(s.labels, s.rows)),
    ...mermaidLine('Time to restore (s)', 'seconds', points(s.labels, s.ttr)),
  ];
  const table = [
    '| Run | Mode | Status | Backup | Stored | Rows | Time to restore |',
    '|---|---|---|---|---|---|---|',
    ...rows
      .slice(0, max)
      .map(
        (r) =>
          `| ${r.startedAt.slice(0, 16).replace('T', ' ')} | ${r.mode} | ${STATUS_WORD[r.status]}${r.suspect && r.status === 'succeeded' ? ' (suspect)' : ''} | ${r.backupId ?? ''} | ${r.sizeBytes !== undefined ? formatBytes(r.sizeBytes) : ''} | ${r.details?.rows ?? ''} | ${r.timeToRestoreSeconds !== undefined ? formatDuration(r.timeToRestoreSeconds) : ''} |`,
      ),
  ];
  return [...out, ...table, ''].join('\n');
}

function bars(title: string, pts: Array<[string, number]>, show: (n: number) => string, width = 40): string[] {
  if (!pts.length) return [];
  const max = Math.max(...pts.map(([, v]) => v)) || 1;
  return [
    title,
    ...pts.map(([label, v]) => `  ${label.padEnd(8)} ${'█'.repeat(Math.max(v > 0 ? 1 : 0, Math.round((v / max) * width))).padEnd(width)} ${show(v)}`),
    '',
  ];
}

/** `history --chart`: the same measures as horizontal bars. */
export function textCharts(rows: HistoryRow[], max = 30): string {
  const s = series(rows, max);
  const out = [
    ...bars('Stored size (backups)', points(s.labels, s.size), formatBytes),
    ...bars('Rows (backups)', points(s.labels, s.rows), (n) => String(n)),
    ...bars('Time to restore (drills)', points(s.labels, s.ttr), formatDuration),
  ];
  return out.length ? out.join('\n') : 'Nothing to chart yet: no completed backups or drills in the history.';
}
