// Writes a drill's or restore's report as JSON and JUnit into report-dir
// (default: $RUNNER_TEMP or the OS temp dir, under backup-drill-reports).
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { renderJUnit } from './junit.js';
import { renderJson } from './json.js';
import type { DrillReport } from './types.js';

export async function writeReports(
  config: Pick<Config, 'reportDir'>,
  kind: 'drill' | 'restore',
  backupId: string,
  report: DrillReport,
): Promise<{ jsonPath: string; junitPath: string }> {
  const reportDir = resolve(config.reportDir ?? join(process.env.RUNNER_TEMP ?? tmpdir(), 'backup-drill-reports'));
  await mkdir(reportDir, { recursive: true });
  const jsonPath = join(reportDir, `${kind}-${backupId}.json`);
  const junitPath = join(reportDir, `${kind}-${backupId}.junit.xml`);
  await writeFile(jsonPath, renderJson(report));
  await writeFile(junitPath, renderJUnit(report));
  return { jsonPath, junitPath };
}
