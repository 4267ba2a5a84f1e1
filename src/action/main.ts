// The action's main step: inputs → Config → mode → outputs and summary.
// The only code (with post.ts) that talks to the Actions runtime.
import * as core from '@actions/core';
import { describeError, BackupDrillError, ExitCode, InterruptedError, TimedOutError } from '../errors.js';
import { runTracked } from '../history/tracker.js';
import { backupOutcome, drillExitCode, drillOutcome, restoreOutcome } from '../history/outcomes.js';
import { runBackup } from '../modes/backup.js';
import { runDrill, type CleanupItem } from '../modes/drill.js';
import { renderPreview, runRestore, type RestorePreview } from '../modes/restore.js';

async function writePreview(preview: RestorePreview): Promise<void> {
  await core.summary.addHeading('Restore preview', 2).addCodeBlock(renderPreview(preview)).write();
}
import { renderMarkdown } from '../report/markdown.js';
import { STATE } from '../constants.js';
import { redact } from '../util/redact.js';
import { actionsLogger } from './core-logger.js';
import { readActionConfig } from './inputs.js';
import type { Config } from '../config.js';
import { writeBackupSummary, writeHistorySummary } from './summary.js';
import { ActionsToolCache } from './tool-cache.js';
import { actionToolchain } from '../toolchain/index.js';

/**
 * The runner cancels a step with SIGINT, then SIGTERM about 7.5 s later, then SIGKILL 2.5 s
 * after that. The first signal aborts the run: pg_dump/pg_restore are stopped, partial parts
 * deleted, multipart uploads aborted and the lock released by the engine's own failure path.
 * Later signals do not cut that short; what SIGKILL interrupts, the post step removes.
 */
function handleCancellation(controller: AbortController): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      core.warning(`Received ${signal} while cleaning up; the post step removes whatever is left.`);
      return;
    }
    core.warning(`Received ${signal}: stopping, deleting partial parts and releasing the lock…`);
    controller.abort(new InterruptedError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export async function run(): Promise<void> {
  const controller = new AbortController();
  const signal = controller.signal;
  const stopHandling = handleCancellation(controller);
  core.saveState(STATE.pid, String(process.pid));
  let tracked: Config | undefined;
  // Missing PostgreSQL binaries of the needed major are fetched (apt, npm) and cached by the action.
  const toolchain = actionToolchain(actionsLogger, new ActionsToolCache());
  try {
    const config = readActionConfig();
    tracked = config.mode === 'backup' || config.mode === 'restore-drill' ? config : undefined;
    switch (config.mode) {
      case 'backup': {
        const r = await runTracked(
          config,
          { logger: actionsLogger, signal },
          (tracked) =>
            runBackup(config, { logger: actionsLogger, signal: tracked, toolchain, onBackupPrefix: (prefix) => core.saveState(STATE.backupPrefix, prefix) }),
          backupOutcome,
        );
        core.setOutput('backup-id', r.id);
        core.setOutput('backup-uri', r.uri);
        core.setOutput('size-bytes', String(r.sizeBytes));
        core.setOutput('duration-seconds', r.durationSeconds.toFixed(1));
        core.setOutput('tables', String(r.manifest.totals.tables));
        core.setOutput('rows', String(r.manifest.totals.rows));
        core.setOutput('files', String(r.manifest.files?.count ?? 0));
        await writeBackupSummary(r);
        await writeHistorySummary(config, r.trend?.deltas ?? []);
        if (r.trend?.verdict === 'suspect') core.warning(`Backup ${r.id} is suspect: ${r.trend.reasons.join('; ')}`, { title: 'Trend guard' });
        break;
      }
      case 'restore-drill': {
        // Recorded as they appear, so the post step can clean up even after a crash or cancel.
        const cleanup: CleanupItem[] = [];
        const r = await runTracked(
          config,
          { logger: actionsLogger, signal },
          (tracked) =>
            runDrill(config, {
              logger: actionsLogger,
              signal: tracked,
              toolchain,
              onCleanup: (item) => {
                cleanup.push(item);
                core.saveState(STATE.cleanup, JSON.stringify(cleanup));
              },
            }),
          drillOutcome,
        );
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
        if (rep.rehearsal) {
          core.setOutput('rehearsal-status', rep.rehearsal.status);
          core.setOutput('rehearsal-differences', String(rep.rehearsal.unexplained));
        }
        if (r.databaseUrl) {
          core.setSecret(new URL(r.databaseUrl).password);
          core.setOutput('database-url', r.databaseUrl);
        }
        await core.summary.addRaw(renderMarkdown(rep)).write();
        await writeHistorySummary(config, rep.trend?.deltas ?? []);
        for (const failure of rep.failures) core.error(failure, { title: 'Restore drill' });
        for (const warning of rep.warnings) core.warning(warning, { title: 'Restore drill' });
        if (drillExitCode(r) === ExitCode.suspect) {
          core.setFailed(
            `Backup ${rep.backupId} is suspect (trend guard): ${rep.trend?.reasons.join('; ')}. Accept it with 'backup-drill accept ${rep.backupId}' or accept-shrink if the drop was deliberate.`,
          );
          process.exitCode = ExitCode.suspect;
        } else if (rep.status !== 'passed')
          core.setFailed(`Restore drill of ${rep.backupId} failed: ${rep.failures.length} problem(s). See the job summary and ${r.jsonPath}.`);
        break;
      }
      case 'restore': {
        // No prompt here: the calling workflow's environment approval and confirm input are the confirmation.
        let preview: RestorePreview | undefined;
        try {
          const r = await runTracked(
            config,
            { logger: actionsLogger, signal },
            (tracked) => runRestore(config, { logger: actionsLogger, signal: tracked, toolchain, onPreview: (p) => (preview = p) }),
            restoreOutcome,
          );
          await writePreview(preview ?? r.preview);
          core.setOutput('backup-id', r.preview.backup.id);
          core.setOutput('status', r.dryRun ? 'dry-run' : (r.report?.status ?? 'passed'));
          if (r.report) {
            core.setOutput('tables', String(r.report.totals.tables));
            core.setOutput('rows', String(r.report.totals.rows));
            core.setOutput('files', String(r.report.files.restoredCount));
            core.setOutput('failed-checks', String(r.report.totals.failedChecks + r.report.totals.failedTables));
            await core.summary.addRaw(renderMarkdown(r.report)).write();
          } else {
            await core.summary.addHeading('Plan (dry run: nothing written)', 3).addList(r.plan).write();
          }
          if (r.reportPath) core.setOutput('report-path', r.reportPath);
          const refusals = r.dryRun ? (r.preview.refusals ?? []) : [];
          if (refusals.length) core.setFailed(`Dry run: a real restore would be refused: ${refusals.join('; ')}`);
          if (r.report?.status === 'failed') {
            for (const failure of r.report.failures) core.error(failure, { title: 'Restore verification' });
            core.setFailed(`Restore of ${r.preview.backup.id} was committed but its verification failed: ${r.report.failures.length} problem(s).`);
          }
        } catch (error) {
          // A refused or failed restore still shows what it would have done.
          if (preview) await writePreview(preview).catch(() => undefined);
          throw error;
        }
        break;
      }
      default:
        throw new BackupDrillError('usage', `Mode '${config.mode}' is not available.`, { hint: 'Use mode: backup, restore-drill or restore.' });
    }
  } catch (error) {
    if (signal.aborted) {
      // Whatever the engine threw while stopping, the cause is the cancel.
      core.setFailed(redact(describeError(signal.reason)));
      process.exitCode = ExitCode.interrupted;
    } else {
      core.setFailed(redact(describeError(error)));
      if (error instanceof TimedOutError) process.exitCode = ExitCode.timedOut;
      // A failed backup or drill shows the history too: is this the first failure or the fifth?
      if (tracked) await writeHistorySummary(tracked, []);
    }
  } finally {
    // Set even when the run failed: which binaries it had is part of the diagnosis.
    if (toolchain.used.length) core.setOutput('postgres-binaries', toolchain.used.join(', '));
    stopHandling();
  }
}
