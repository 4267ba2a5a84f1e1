// The action's main step: inputs → Config → mode → outputs and summary.
// The only code (with post.ts) that talks to the Actions runtime.
import * as core from '@actions/core';
import { describeError, BackupDrillError } from '../errors.js';
import { runBackup } from '../modes/backup.js';
import { runDrill, type CleanupItem } from '../modes/drill.js';
import { renderMarkdown } from '../report/markdown.js';
import { STATE } from '../constants.js';
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
      case 'restore-drill': {
        // Recorded as they appear, so the post step can clean up even after a crash or cancel.
        const cleanup: CleanupItem[] = [];
        const r = await runDrill(config, {
          logger: actionsLogger,
          onCleanup: (item) => {
            cleanup.push(item);
            core.saveState(STATE.cleanup, JSON.stringify(cleanup));
          },
        });
        const rep = r.report;
        core.setOutput('status', rep.status);
        core.setOutput('backup-id', rep.backupId);
        core.setOutput('backup-uri', rep.backupUri);
        core.setOutput('backup-age-seconds', String(rep.backupAgeSeconds));
        core.setOutput('time-to-restore-seconds', rep.timings.totalSeconds.toFixed(1));
        core.setOutput('duration-seconds', rep.timings.totalSeconds.toFixed(1));
        core.setOutput('tables', String(rep.totals.tables));
        core.setOutput('rows', String(rep.totals.rows));
        core.setOutput('files', String(rep.files.restoredCount));
        core.setOutput('failed-checks', String(rep.totals.failedChecks + rep.totals.failedTables + (rep.files.status === 'failed' ? 1 : 0)));
        core.setOutput('report-path', r.jsonPath);
        if (r.databaseUrl) {
          core.setSecret(new URL(r.databaseUrl).password);
          core.setOutput('database-url', r.databaseUrl);
        }
        await core.summary.addRaw(renderMarkdown(rep)).write();
        for (const failure of rep.failures) core.error(failure, { title: 'Restore drill' });
        for (const warning of rep.warnings) core.warning(warning, { title: 'Restore drill' });
        if (rep.status !== 'passed') core.setFailed(`Restore drill of ${rep.backupId} failed: ${rep.failures.length} problem(s). See the job summary and ${r.jsonPath}.`);
        break;
      }
      default:
        throw new BackupDrillError('usage', `Mode '${config.mode}' is not available in this version.`, { hint: 'Use mode: backup or restore-drill.' });
    }
  } catch (error) {
    core.setFailed(redact(describeError(error)));
  }
}
