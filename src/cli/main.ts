// The terminal shell: argv/env → command → engine → exit code. Logs go to
// stderr; results to stdout (JSON with --json).
import { createInterface } from 'node:readline/promises';
import { BackupDrillError, UsageError, ExitCode, InterruptedError, describeError, exitCodeOf } from '../errors.js';
import { ConsoleLogger } from '../util/logger.js';
import { redact } from '../util/redact.js';
import { parseArgs } from './args.js';
import { COMMANDS, registerCommands, type Command, type CommandContext, type CommandOutcome } from './commands.js';
import { STORAGE_COMMANDS } from './storage-commands.js';
import { COMPLETION_COMMANDS } from './completion.js';
import { HISTORY_COMMANDS } from './history-commands.js';

registerCommands(STORAGE_COMMANDS);
registerCommands(COMPLETION_COMMANDS);
registerCommands(HISTORY_COMMANDS);
import { commandHelp, mainHelp } from './help.js';
import { KeyNeededError } from '../archive/seal.js';
import { registerSecret } from '../util/redact.js';
import { canPrompt, paint, paintVerdicts, readHidden, useColor } from './terminal.js';

/**
 * Runs the command; when it stops because a passphrase-encrypted backup needs a key and none was
 * given, asks for the passphrase on the terminal (hidden; never in CI or without a TTY) and runs
 * it once more with it. The key is needed before anything is written, so the rerun starts clean.
 */
async function runWithPassphrasePrompt(command: Command, ctx: CommandContext): Promise<CommandOutcome> {
  try {
    return await command.run(ctx);
  } catch (error) {
    const given = ['decrypt-identity', 'decrypt-passphrase', 'decrypt-passphrase-file'].some(
      (name) => ctx.parsed.inputs.has(name) || ctx.env[`BACKUP_DRILL_${name.toUpperCase().replace(/-/g, '_')}`],
    );
    if (!(error instanceof KeyNeededError) || error.passphrase === false || given || !canPrompt(ctx.env)) throw error;
    const passphrase = await readHidden(`Passphrase for backup ${error.backupId} (not shown): `);
    if (!passphrase) throw error;
    registerSecret(passphrase);
    ctx.parsed.inputs.set('decrypt-passphrase', passphrase);
    return command.run(ctx);
  }
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let json = false;
  let colour = useColor(process.stderr, env, argv.includes('--no-color'));
  const controller = new AbortController();
  let first: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = signal;
      process.stderr.write(`\nReceived ${signal}: stopping and cleaning up… (${signal} again to quit at once)\n`);
      controller.abort(new InterruptedError(signal));
      return;
    }
    // The same signal twice (Ctrl-C twice) quits without waiting; the next run removes what is left
    // (a lock of a dead process on this host, stale clusters). A different one (a supervisor's SIGTERM
    // after SIGINT, as the Actions runner sends) must not cut the cleanup short.
    if (signal === first) process.exit(ExitCode.interrupted);
    process.stderr.write(`Received ${signal}: still cleaning up.\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const parsed = parseArgs(argv, ['into', 'older-than', 'read-data-subset', 'limit'], ['cleanup', 'all', 'damaged', 'chart']);
    json = parsed.json;
    if (parsed.version || parsed.command === 'version') {
      const { TOOL_VERSION } = await import('../version.js');
      process.stdout.write(`${TOOL_VERSION}\n`);
      return ExitCode.ok;
    }
    if (!parsed.command || parsed.command === 'help') {
      const topic = parsed.command === 'help' ? parsed.positionals[0] : undefined;
      const cmd = COMMANDS.find((c) => c.name === topic);
      process.stdout.write((cmd ? commandHelp(cmd) : mainHelp(COMMANDS)) + '\n');
      return parsed.command || parsed.help ? ExitCode.ok : ExitCode.usage;
    }
    const command = COMMANDS.find((c) => c.name === parsed.command);
    if (!command) {
      throw new BackupDrillError('usage', `Unknown command '${parsed.command}'.`, { hint: `Commands: ${COMMANDS.map((c) => c.name).join(', ')}.` });
    }
    const extra = parsed.positionals.slice(command.maxArguments ?? 1);
    if (extra.length && !parsed.help) {
      throw new UsageError(`'${command.name}' does not take the argument '${extra[0]}'.`, {
        hint: "Options are written '--name value'; yes/no options take no value ('--keep-database', '--no-keep-database').",
      });
    }
    if (parsed.help) {
      process.stdout.write(commandHelp(command) + '\n');
      return ExitCode.ok;
    }
    colour = useColor(process.stderr, env, parsed.noColor);
    const logger = new ConsoleLogger(process.stderr, {
      verbose: parsed.verbose,
      quiet: parsed.quiet,
      progress: parsed.progress,
      isTTY: process.stderr.isTTY === true,
      color: colour,
    });
    const ctx: CommandContext = {
      parsed,
      env,
      logger,
      signal: controller.signal,
      async confirm(question) {
        if (parsed.yes) return true;
        if (!process.stdin.isTTY) return false;
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          const answer = await rl.question(`${question} [y/N] `);
          return /^y(es)?$/i.test(answer.trim());
        } finally {
          rl.close();
        }
      },
    };
    const outcome = await runWithPassphrasePrompt(command, ctx);
    process.stdout.write(
      json ? JSON.stringify(outcome.result, null, 2) + '\n' : paintVerdicts(outcome.text, useColor(process.stdout, env, parsed.noColor)) + '\n',
    );
    return outcome.exitCode ?? ExitCode.ok;
  } catch (thrown) {
    // Whatever the engine threw while stopping (an AbortError, a killed pg_dump), the cause is the signal,
    // unless the engine's own message already says so and adds what it confirmed (a restore's rollback).
    const interruption = controller.signal.aborted ? (controller.signal.reason as Error) : undefined;
    const error = interruption && !(thrown instanceof BackupDrillError && thrown.message.includes(interruption.message.split('.')[0]!)) ? interruption : thrown;
    const message = redact(describeError(error));
    if (json)
      process.stdout.write(JSON.stringify({ error: { category: error instanceof BackupDrillError ? error.category : 'failure', message } }, null, 2) + '\n');
    process.stderr.write(`${paint('error:', 'red', colour)} ${message}\n`);
    if (!(error instanceof BackupDrillError) && error instanceof Error && env.BACKUP_DRILL_DEBUG) process.stderr.write(`${error.stack}\n`);
    return interruption ? ExitCode.interrupted : exitCodeOf(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
