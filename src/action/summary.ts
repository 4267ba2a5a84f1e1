// Job summary for a backup (the drill's lives with the report code).
import * as core from '@actions/core';
import type { BackupResult } from '../modes/backup.js';
import { formatBytes, formatDuration } from '../util/format.js';
import type { Config } from '../config.js';
import { describeError } from '../errors.js';
import { loadHistory } from '../history/load.js';
import { mermaidCharts } from '../history/view.js';
import { openStorage } from '../storage/registry.js';

export async function writeBackupSummary(r: BackupResult): Promise<void> {
  const m = r.manifest;
  const parts = m.parts.map((p) => [p.name, formatBytes(p.bytes), `\`${p.sha256.slice(0, 16)}…\``]);
  await core.summary
    .addHeading(`Backup ${r.id}`, 2)
    .addTable([
      [
        { data: 'What', header: true },
        { data: 'Value', header: true },
      ],
      ['Database', `${m.source.database} (PostgreSQL ${m.source.serverVersion})`],
      ['Tables / rows', `${m.totals.tables} / ${m.totals.rows}`],
      ['Files', m.files ? `${m.files.count} files, ${formatBytes(m.files.bytes)}` : 'not backed up'],
      ['Migration head', m.source.migration ? `${m.source.migration.head} (${m.source.migration.ledger})` : 'no known ledger'],
      ['Stored', `${formatBytes(r.sizeBytes)} at ${r.uri}`],
      ['Duration', formatDuration(r.durationSeconds)],
    ])
    .addHeading('Parts', 3)
    .addTable([
      [
        { data: 'Part', header: true },
        { data: 'Size', header: true },
        { data: 'SHA-256', header: true },
      ],
      ...parts,
    ])
    .write();
}

/** The trend deltas and the last ~30 runs as Mermaid charts with a table beside them. Never fails the run. */
export async function writeHistorySummary(config: Config, deltas: string[]): Promise<void> {
  try {
    const rows = await loadHistory(await openStorage(config), config, 30);
    const trend = deltas.length ? ['### Against the previous backups', '', '| Measure |', '|---|', ...deltas.map((d) => `| ${d} |`), ''].join('\n') : '';
    await core.summary.addRaw(`${trend}\n### Last runs of '${config.name}'\n\n${mermaidCharts(rows)}`).write();
  } catch (error) {
    core.warning(`Could not add the run history to the job summary: ${describeError(error)}`);
  }
}
