// The action's main step: inputs → Config → mode → outputs and summary.
// The only code (with post.ts) that talks to the Actions runtime.
import * as core from '@actions/core';
import { describeError, BackupDrillError } from '../errors.js';
import { runBackup } from '../modes/backup.js';
import { redact } from '../util/redact.js';
import { actionsLogger } from './core-logger.js';
import { readActionConfig } from './inputs.js';
import { writeBackupSummary } from './summary.js';

export async function run(): Promise<void> {
  try {
    const config = readActionConfig();
    switch (config.mode) {
      case 'backup': {
        const r = await runBackup(config, { logger: actionsLogger });
        core.setOutput('backup-id', r.id);
        core.setOutput('backup-uri', r.uri);
        core.setOutput('size-bytes', String(r.sizeBytes));
        core.setOutput('duration-seconds', r.durationSeconds.toFixed(1));
        core.setOutput('tables', String(r.manifest.totals.tables));
        core.setOutput('rows', String(r.manifest.totals.rows));
        core.setOutput('files', String(r.manifest.files?.count ?? 0));
        await writeBackupSummary(r);
        break;
      }
      default:
        throw new BackupDrillError('usage', `Mode '${config.mode}' is not available in this version.`, { hint: 'Use mode: backup.' });
    }
  } catch (error) {
    core.setFailed(redact(describeError(error)));
  }
}
