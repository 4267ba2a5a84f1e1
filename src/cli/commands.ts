// The CLI's commands: each turns parsed args into a Config (through the same
// buildConfig the action uses) and calls the engine.
import { buildConfig, type Config } from '../config.js';
import type { Mode } from '../constants.js';
import { runBackup } from '../modes/backup.js';
import { runDemo } from '../modes/demo.js';
import { runDrill } from '../modes/drill.js';
import { runRestore } from '../modes/restore.js';
import { KEPT_CLUSTER_MAX_AGE_HOURS, cleanupStaleClusters } from '../postgres/cluster.js';
import { connect } from '../postgres/connect.js';
import { suggestRedactions } from '../postgres/redaction.js';
import { ExitCode } from '../errors.js';
import { renderText } from '../report/text.js';
import { cliToolchain } from '../toolchain/index.js';
import type { Logger } from '../util/logger.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { cliReader, type ParsedArgs } from './args.js';
import type { CommandHelp } from './help.js';
import { runTracked } from '../history/tracker.js';
import { backupOutcome, drillExitCode, drillOutcome, restoreOutcome } from '../history/outcomes.js';

export interface CommandContext {
  parsed: ParsedArgs;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Resolves true when the user confirmed (or --yes); false without a TTY. */
  confirm(question: string): Promise<boolean>;
  signal: AbortSignal;
}

export interface CommandOutcome {
  /** Machine-readable result for --json. */
  result: unknown;
  /** Human-readable lines for stdout. */
  text: string;
  exitCode?: number;
}

export interface Command extends CommandHelp {
  /** How many plain arguments it takes (a backup id, a shell name); default 1. */
  maxArguments?: number;
  run(ctx: CommandContext): Promise<CommandOutcome>;
}

export function configFor(ctx: CommandContext, mode: Mode, overrides: Record<string, string | undefined> = {}): Config {
  const read = cliReader(ctx.parsed, ctx.env);
  return buildConfig((name) => (name === 'mode' ? mode : (overrides[name] ?? read(name))), ctx.env);
}

const backup: Command = {
  name: 'backup',
  maxArguments: 0,
  usage:
    'backup-drill backup --storage <dir|s3://…> [--database-url <url>] [--files-path <dir>] [--ssh <user@host> --ssh-known-hosts <line> --ssh-private-key-file <key>] [options]',
  summary: 'Back up the database (pg_dump in an exported snapshot, with per-table row counts and checksums) and the uploads directory, then apply retention.',
  mode: 'backup',
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const r = await runTracked(config, ctx, (signal) => runBackup(config, { logger: ctx.logger, signal, toolchain: cliToolchain(ctx.logger) }), backupOutcome);
    return {
      result: {
        backupId: r.id,
        backupUri: r.uri,
        sizeBytes: r.sizeBytes,
        durationSeconds: r.durationSeconds,
        tables: r.manifest.totals.tables,
        rows: r.manifest.totals.rows,
        files: r.manifest.files?.count ?? 0,
        ...(r.trend ? { trend: r.trend } : {}),
      },
      text: [
        `backup-id: ${r.id}`,
        `location:  ${r.uri}`,
        `database:  ${r.manifest.source.database} (PostgreSQL ${r.manifest.source.serverVersion}), ${r.manifest.totals.tables} tables, ${r.manifest.totals.rows} rows`,
        r.manifest.files ? `files:     ${r.manifest.files.count} files, ${formatBytes(r.manifest.files.bytes)}` : 'files:     (none)',
        `stored:    ${formatBytes(r.sizeBytes)} in ${formatDuration(r.durationSeconds)}`,
        ...(r.trend?.deltas.length ? [`trend:     ${r.trend.deltas.join('\n           ')}`] : []),
        ...(r.trend?.verdict === 'suspect' ? [`SUSPECT:   ${r.trend.reasons.join('; ')} (accept with: backup-drill accept ${r.id})`] : []),
      ].join('\n'),
    };
  },
};

const drill: Command = {
  name: 'drill',
  maxArguments: 0,
  usage: 'backup-drill drill --storage <dir|s3://…> [--backup-id <id|latest>] [--checks checks.yml] [--max-age 26h] [options]',
  summary:
    "Restore a backup (default: the newest complete one) into a throwaway PostgreSQL and prove it: every table's rows and checksum, every file, your checks, freshness. Exit code 3 when anything failed.",
  mode: 'restore-drill',
  extraOptions: [
    {
      name: 'cleanup',
      description: `Stop and remove the drill databases kept with --keep-database, then exit (later drills leave kept ones running for ${KEPT_CLUSTER_MAX_AGE_HOURS} h).`,
    },
  ],
  async run(ctx) {
    if (ctx.parsed.inputs.get('cleanup') === 'true') {
      const removed = await cleanupStaleClusters(ctx.logger, undefined, { includeKept: true });
      return { result: { removed }, text: removed ? `Removed ${removed} kept or stale drill database(s).` : 'No kept or stale drill databases here.' };
    }
    const config = configFor(ctx, 'restore-drill');
    const r = await runTracked(config, ctx, (signal) => runDrill(config, { logger: ctx.logger, signal, toolchain: cliToolchain(ctx.logger) }), drillOutcome);
    const text =
      renderText(r.report) + `\nReports: ${r.jsonPath}\n         ${r.junitPath}` + (r.databaseUrl ? `\nRestored database kept running: ${r.databaseUrl}` : '');
    return {
      result: { ...r.report, reportPath: r.jsonPath, junitPath: r.junitPath, databaseUrl: r.databaseUrl },
      text,
      exitCode: drillExitCode(r),
    };
  },
};

const demo: Command = {
  name: 'demo',
  maxArguments: 0,
  usage: 'backup-drill demo [--storage ./backup-drill-demo]',
  summary:
    'Run the whole thing on embedded defaults: a throwaway PostgreSQL with a sample helpdesk and uploads, a backup to a local folder, and a restore drill with checks. Needs only PostgreSQL server binaries on this machine.',
  inputs: ['storage'],
  async run(ctx) {
    const storage = ctx.parsed.inputs.get('storage') ?? 'backup-drill-demo';
    const { backup: b, drill: d } = await runDemo({ storage, logger: ctx.logger, signal: ctx.signal });
    const text = [`Backup ${b.id} stored at ${b.uri}`, '', renderText(d.report), '', `Reports: ${d.jsonPath}`, `         ${d.junitPath}`].join('\n');
    return {
      result: { backup: { id: b.id, uri: b.uri }, drill: d.report },
      text,
      exitCode: d.report.status === 'passed' ? ExitCode.ok : ExitCode.checksFailed,
    };
  },
};

const restore: Command = {
  name: 'restore',
  usage:
    'backup-drill restore <id|latest> --storage <dir|s3://…> --database-url <target> [--files-path <dir>] [--ssh <user@host> …] [--dry-run] [--force] [--yes] [options]',
  summary:
    'Restore a backup into a database (and uploads into files-path): preview first, every part verified before anything is written, refuses a non-empty target without --force, one transaction (a failure leaves the target as it was), then verified table by table.',
  mode: 'restore',
  async run(ctx) {
    const id = ctx.parsed.positionals[0];
    const config = configFor(ctx, 'restore', id ? { 'backup-id': id } : {});
    const r = await runTracked(
      config,
      ctx,
      (signal) => runRestore(config, { logger: ctx.logger, signal, toolchain: cliToolchain(ctx.logger), confirm: (q) => ctx.confirm(q) }),
      restoreOutcome,
    );
    const lines = [...(r.dryRun ? ['Dry run: nothing was written. Plan:', ...r.plan.map((p) => `  ${p}`)] : [])];
    if (r.report) lines.push(renderText(r.report));
    if (r.previousFilesPath) lines.push(`Previous files kept at ${r.previousFilesPath}`);
    if (r.reportPath) lines.push(`Reports: ${r.reportPath}${r.junitPath ? `\n         ${r.junitPath}` : ''}`);
    const failed = r.report?.status === 'failed';
    const refusals = r.dryRun ? (r.preview.refusals ?? []) : [];
    if (refusals.length) lines.push(`A real run would be refused: ${refusals.join('; ')}`);
    return {
      result: { preview: r.preview, plan: r.plan, dryRun: r.dryRun, report: r.report, previousFilesPath: r.previousFilesPath, reportPath: r.reportPath },
      text: lines.join('\n'),
      exitCode: failed ? ExitCode.checksFailed : refusals.length ? ExitCode.usage : ExitCode.ok,
    };
  },
};

const inspectDb: Command = {
  name: 'inspect-db',
  maxArguments: 0,
  usage: 'backup-drill inspect-db --database-url <url> [--json]',
  summary:
    'List likely credential columns (password hashes, MFA secrets, tokens) by name and by the shape of their values, with a redact-columns line to copy. Reads a sample of values; writes nothing.',
  inputs: ['database-url'],
  async run(ctx) {
    const config = configFor(ctx, 'backup', { storage: ctx.parsed.inputs.get('storage') ?? '.' });
    const client = await connect(config.databaseUrl);
    try {
      const found = await suggestRedactions(client);
      const text = found.length
        ? [
            ...found.map((f) => `  ${f.column.padEnd(48)} ${f.reason}`),
            '',
            `redact-columns: ${found.map((f) => f.column).join(', ')}`,
            '',
            'Redact them in unencrypted backups, or encrypt (encrypt-recipients) and keep them.',
          ].join('\n')
        : 'No likely credential columns found.';
      return { result: found, text };
    } finally {
      await client.end();
    }
  },
};

export const COMMANDS: Command[] = [backup, drill, restore, demo, inspectDb];

/** Registers more commands (kept in their own files) without an import cycle. */
export function registerCommands(more: Command[]): void {
  for (const c of more) if (!COMMANDS.some((x) => x.name === c.name)) COMMANDS.push(c);
}
