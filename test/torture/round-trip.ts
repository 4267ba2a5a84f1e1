// One database through the product, and through the plain tools for reference:
//
//   source ─ backup ─ drill (throwaway cluster) ─ restore into an empty database  → "engine"
//   source ─ pg_dump -Fc | pg_restore --no-owner --no-acl into an empty database  → "plain"
//
// The source is never changed, so every drill or restore failure is a false
// failure. Fidelity: the engine's restored database must fingerprint exactly like
// the plain round trip's; the plain round trip's own differences from the source
// must each be explained by a known, listed reason.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { runRestore } from '../../src/modes/restore.js';
import { describeError } from '../../src/errors.js';
import { MemoryLogger } from '../../src/util/logger.js';
import type { DrillReport } from '../../src/report/types.js';
import { withClient } from '../helpers/postgres.js';
import { compareFingerprints, explain, fingerprint, type Difference, type KnownDifference } from './fingerprint.js';

export interface Database {
  /** Label for the report, e.g. "regression" or "zabbix". */
  label: string;
  /** URL of a database in a cluster where the suite may create databases. */
  url(database?: string): string;
  database: string;
  binDir: string;
}

export interface TortureOutcome {
  label: string;
  /** Tables the backup's manifest lists. */
  tablesInBackup: number;
  /** Tables a drill verified and passed (the better of the two drills). */
  tablesVerified: number;
  /** Every table the first drill's report names (schema.name), whatever its status. */
  drillTables: string[];
  /** The first drill's JSON report (in the work folder), for checks on what it names. */
  drillReportPath?: string;
  /** Every failure the drill or the restore reported on unchanged data: each is false. */
  falseFailures: string[];
  /** Warnings and "not verified" items the drill reported (not failures). */
  notVerified: string[];
  /** A failed restore that changed its target anyway (it must leave it exactly as before). */
  atomicity: string[];
  restoreSucceeded: boolean;
  /** Engine restore vs plain round trip: each one is a fidelity gap of the product. */
  fidelity: Difference[];
  /** Source vs plain round trip, explained by a listed reason. */
  plainExplained: { difference: Difference; reason: string }[];
  /** Source vs plain round trip without a listed reason (to investigate, then list). */
  plainUnexplained: Difference[];
  /** pg_restore's own errors in the plain round trip. */
  plainErrors: string[];
  checks: { name: string; status: string; message: string }[];
}

export interface TortureOptions {
  work: string;
  checksFile?: string;
  knownPlainDifferences: KnownDifference[];
  log?: (line: string) => void;
}

export async function tortureDatabase(db: Database, options: TortureOptions): Promise<TortureOutcome> {
  const log = options.log ?? ((line: string) => console.log(`[torture ${db.label}] ${line}`));
  const storage = join(options.work, `${db.label}-backups`);
  const reports = join(options.work, `${db.label}-reports`);
  await mkdir(reports, { recursive: true });
  const falseFailures: string[] = [];
  const notVerified: string[] = [];
  const checks: TortureOutcome['checks'] = [];
  const sourceUrl = db.url(db.database);

  log('backup');
  const backup = await runBackup(configOf({ 'database-url': sourceUrl, storage }), { logger: new MemoryLogger() });
  const tablesInBackup = backup.manifest.tables.length;

  // Two drills: into a throwaway cluster (the default), and into the source's own
  // server (drill-database-url, as with a service container), where the cluster's
  // roles exist: it sees past role-related failures of the first.
  let tablesVerified = 0;
  let drillTables: string[] = [];
  let drillReportPath: string | undefined;
  for (const [stage, extra] of [
    ['drill', {}],
    ['drill (same server)', { 'drill-database-url': db.url('postgres') }],
  ] as const) {
    log(stage);
    try {
      const drill = await runDrill(
        configOf({ mode: 'restore-drill', storage, 'report-dir': join(reports, stage.replace(/\W+/g, '-')), checks: options.checksFile, ...extra }),
        { logger: new MemoryLogger() },
      );
      if (stage === 'drill') {
        drillTables = drill.report.tables.map((t) => `${t.schema}.${t.name}`);
        drillReportPath = drill.jsonPath;
      }
      tablesVerified = Math.max(tablesVerified, drill.report.tables.filter((t) => t.status === 'passed').length);
      collect(stage, drill.report, falseFailures, notVerified, stage === 'drill' ? checks : []);
    } catch (error) {
      falseFailures.push(`${stage}: threw ${describeError(error)}`);
    }
  }

  const engineDb = `${db.database}_engine`;
  const plainDb = `${db.database}_plain`;
  await withClient(db.url('postgres'), async (c) => {
    for (const name of [engineDb, plainDb]) {
      await c.query(`DROP DATABASE IF EXISTS "${name}"`);
      await c.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
    }
  });

  log('restore into an empty database');
  const emptyTarget = await fingerprint(db.url(engineDb), db.binDir);
  let restoreSucceeded = false;
  try {
    const restore = await runRestore(
      configOf({ mode: 'restore', storage, 'database-url': db.url(engineDb), 'report-dir': join(reports, 'restore'), checks: options.checksFile }),
      { logger: new MemoryLogger() },
    );
    if (restore.report) collect('restore', restore.report, falseFailures, notVerified, []);
    restoreSucceeded = restore.report?.status === 'passed';
  } catch (error) {
    falseFailures.push(`restore: threw ${describeError(error)}`);
  }

  log('plain pg_dump | pg_restore round trip');
  const plainErrors = await plainRoundTrip(db.binDir, sourceUrl, db.url(plainDb));

  log('fingerprints');
  const [source, engine, plain] = [
    await fingerprint(sourceUrl, db.binDir),
    await fingerprint(db.url(engineDb), db.binDir),
    await fingerprint(db.url(plainDb), db.binDir),
  ];
  const atomicity: string[] = [];
  const changedTarget = compareFingerprints(emptyTarget, engine);
  if (!restoreSucceeded && changedTarget.length) {
    atomicity.push(
      `the restore failed, yet its target changed in ${changedTarget.length} objects (e.g. ${changedTarget
        .slice(0, 3)
        .map((d) => `${d.kind} ${d.object}`)
        .join(', ')})`,
    );
  }
  // A rolled-back restore leaves nothing to compare; a restore that changed its target anyway is compared.
  const fidelity = restoreSucceeded || changedTarget.length ? compareFingerprints(plain, engine) : [];
  const { explained, unexplained } = explain(compareFingerprints(source, plain), options.knownPlainDifferences);
  const outcome: TortureOutcome = {
    label: db.label,
    tablesInBackup,
    tablesVerified,
    drillTables,
    drillReportPath,
    falseFailures,
    notVerified,
    atomicity,
    restoreSucceeded,
    fidelity,
    plainExplained: explained,
    plainUnexplained: unexplained,
    plainErrors,
    checks,
  };
  await writeFile(join(options.work, `${db.label}-outcome.json`), JSON.stringify(outcome, null, 2));
  await recordOutcome(outcome);
  return outcome;
}

function configOf(inputs: Record<string, string | undefined>) {
  return buildConfig((name) => inputs[name], {});
}

function collect(stage: string, report: DrillReport, failures: string[], notVerified: string[], checks: TortureOutcome['checks']): void {
  for (const t of report.tables) {
    if (t.status === 'failed')
      failures.push(
        `${stage}: table ${t.schema}.${t.name}: ${t.message ?? `rows ${t.expectedRows}→${t.restoredRows}, checksum ${t.expectedChecksum}→${t.restoredChecksum}`}`,
      );
  }
  const tableLines = new Set(report.tables.filter((t) => t.status === 'failed').map((t) => `${t.schema}.${t.name}`));
  for (const f of report.failures) {
    // Table failures are listed above with their detail; keep the rest (parts, checks, restore errors).
    if (![...tableLines].some((name) => f.includes(name))) failures.push(`${stage}: ${f}`);
  }
  for (const c of report.checks) {
    checks.push({ name: c.name, status: c.status, message: c.message });
    if (c.status !== 'passed' && c.status !== 'failed' && c.status !== 'error') notVerified.push(`${stage}: check ${c.name}: ${c.status}: ${c.message}`);
  }
  for (const w of report.warnings) notVerified.push(`${stage}: ${w}`);
}

/** pg_dump -Fc | pg_restore --no-owner --no-acl; returns pg_restore's error lines (it goes on after errors). */
async function plainRoundTrip(binDir: string, sourceUrl: string, targetUrl: string): Promise<string[]> {
  const dump = spawn(join(binDir, 'pg_dump'), ['-Fc', '--dbname', sourceUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
  const restore = spawn(join(binDir, 'pg_restore'), ['--no-owner', '--no-acl', '--dbname', targetUrl], { stdio: ['pipe', 'ignore', 'pipe'] });
  dump.stdout.pipe(restore.stdin);
  let stderr = '';
  dump.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  restore.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = (p: ReturnType<typeof spawn>) => new Promise<number>((resolve) => p.once('close', (code) => resolve(code ?? 1)));
  const [dumpCode] = await Promise.all([exit(dump), exit(restore)]);
  if (dumpCode !== 0) throw new Error(`pg_dump of the source failed (exit ${dumpCode}): ${stderr.slice(-2000)}`);
  return stderr.split('\n').filter((l) => /error/i.test(l) && !/errors ignored on restore/.test(l));
}

/** Appends the outcome to the run's results file, for the totals printed at the end. */
async function recordOutcome(outcome: TortureOutcome): Promise<void> {
  const file = process.env.BACKUP_DRILL_TORTURE_RESULTS;
  if (!file) return;
  const { appendFile } = await import('node:fs/promises');
  await appendFile(file, `${JSON.stringify(outcome)}\n`);
}

/** One paragraph per outcome, for the test log and FINDINGS.md. */
export function describeOutcome(o: TortureOutcome): string {
  const lines = [
    `${o.label}: ${o.tablesInBackup} tables backed up, ${o.tablesVerified} verified and passed, ${o.falseFailures.length} false failures, ${o.atomicity.length} atomicity violations, ` +
      `restore ${o.restoreSucceeded ? 'succeeded' : 'failed'}, ${o.fidelity.length} fidelity differences, ` +
      `${o.plainExplained.length} plain-tool differences (explained), ${o.plainUnexplained.length} unexplained`,
    ...o.falseFailures.map((f) => `  false failure: ${f}`),
    ...o.atomicity.map((a) => `  ATOMICITY: ${a}`),
    ...o.fidelity.map((d) => `  fidelity: ${d.kind} ${d.object}: ${d.detail}`),
    ...o.plainUnexplained.map((d) => `  plain (unexplained): ${d.kind} ${d.object}: ${d.detail}`),
    ...o.plainErrors.map((e) => `  plain pg_restore: ${e}`),
    ...o.notVerified.map((n) => `  note: ${n}`),
  ];
  return lines.join('\n');
}
