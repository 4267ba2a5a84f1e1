// Job summary for a backup (the drill's lives with the report code).
import * as core from '@actions/core';
import type { BackupResult } from '../modes/backup.js';
import { formatBytes, formatDuration } from '../util/format.js';

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
