// The CLI's commands: each turns parsed args into a Config (through the same
// buildConfig the action uses) and calls the engine.
import { buildConfig, type Config } from '../config.js';
import type { Mode } from '../constants.js';
import { runBackup } from '../modes/backup.js';
import type { Logger } from '../util/logger.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { cliReader, type ParsedArgs } from './args.js';
import type { CommandHelp } from './help.js';

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
  run(ctx: CommandContext): Promise<CommandOutcome>;
}

export function configFor(ctx: CommandContext, mode: Mode, overrides: Record<string, string | undefined> = {}): Config {
  const read = cliReader(ctx.parsed, ctx.env);
  return buildConfig((name) => (name === 'mode' ? mode : (overrides[name] ?? read(name))), ctx.env);
}

const backup: Command = {
  name: 'backup',
  usage: 'backup-drill backup --storage <dir|s3://…> [--database-url <url>] [--files-path <dir>] [options]',
  summary: 'Back up the database (pg_dump in an exported snapshot, with per-table row counts and checksums) and the uploads directory, then apply retention.',
  mode: 'backup',
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const r = await runBackup(config, { logger: ctx.logger, signal: ctx.signal });
    return {
      result: { backupId: r.id, backupUri: r.uri, sizeBytes: r.sizeBytes, durationSeconds: r.durationSeconds, tables: r.manifest.totals.tables, rows: r.manifest.totals.rows, files: r.manifest.files?.count ?? 0 },
      text: [
        `backup-id: ${r.id}`,
        `location:  ${r.uri}`,
        `database:  ${r.manifest.source.database} (PostgreSQL ${r.manifest.source.serverVersion}), ${r.manifest.totals.tables} tables, ${r.manifest.totals.rows} rows`,
        r.manifest.files ? `files:     ${r.manifest.files.count} files, ${formatBytes(r.manifest.files.bytes)}` : 'files:     (none)',
        `stored:    ${formatBytes(r.sizeBytes)} in ${formatDuration(r.durationSeconds)}`,
      ].join('\n'),
    };
  },
};

export const COMMANDS: Command[] = [backup];
