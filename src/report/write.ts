// Writes a drill's or restore's report as JSON and JUnit into report-dir
// (default: $RUNNER_TEMP or this user's temp folder, under backup-drill-reports).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { runTempRoot } from '../util/temp-root.js';
import { renderJUnit } from './junit.js';
import { renderJson } from './json.js';
import type { DrillReport } from './types.js';

export async function writeReports(
  config: Pick<Config, 'reportDir'>,
  kind: 'drill' | 'restore',
  backupId: string,
  report: DrillReport,
): Promise<{ jsonPath: string; junitPath: string }> {
  const reportDir = resolve(config.reportDir ?? join(runTempRoot(), 'backup-drill-reports'));
  await mkdir(reportDir, { recursive: true });
  const jsonPath = join(reportDir, `${kind}-${backupId}.json`);
  const junitPath = join(reportDir, `${kind}-${backupId}.junit.xml`);
  await writeFile(jsonPath, renderJson(report));
  await writeFile(junitPath, renderJUnit(report));
  return { jsonPath, junitPath };
}
