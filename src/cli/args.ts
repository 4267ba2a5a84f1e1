// argv → { command, inputs, flags }. Long flags use the action's input names
// (`--database-url`), so a workflow's `with:` block and a terminal read alike.
import { INPUTS } from '../constants.js';
import { UsageError } from '../errors.js';

export interface ParsedArgs {
  command?: string;
  positionals: string[];
  inputs: Map<string, string>;
  json: boolean;
  help: boolean;
  yes: boolean;
  verbose: boolean;
}

const BOOLEAN_INPUTS = new Set(INPUTS.filter((i) => i.default === 'false').map((i) => i.name));
const INPUT_NAMES = new Set(INPUTS.map((i) => i.name));
const CLI_FLAGS = new Set(['json', 'help', 'yes', 'verbose']);

export function parseArgs(argv: string[], extraFlags: readonly string[] = []): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], inputs: new Map(), json: false, help: false, yes: false, verbose: false };
  const extra = new Set(extraFlags);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      parsed.help = true;
      continue;
    }
    if (arg === '-y') {
      parsed.yes = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (parsed.command === undefined) parsed.command = arg;
      else parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (CLI_FLAGS.has(name)) {
      (parsed as unknown as Record<string, boolean>)[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    if (!INPUT_NAMES.has(name) && !extra.has(name)) {
      throw new UsageError(`Unknown option '--${name}'.`, { hint: "Run 'backup-drill --help' (or '<command> --help') for the options." });
    }
    if (inline !== undefined) {
      parsed.inputs.set(name, inline);
    } else if (BOOLEAN_INPUTS.has(name) && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--') || !/^(true|false|yes|no|1|0|on|off)$/i.test(argv[i + 1]!))) {
      parsed.inputs.set(name, 'true');
    } else {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`Option '--${name}' needs a value.`, { input: name });
      parsed.inputs.set(name, value);
    }
  }
  return parsed;
}

/** Reader for buildConfig: flags first, then BACKUP_DRILL_<NAME> env vars. */
export function cliReader(parsed: ParsedArgs, env: NodeJS.ProcessEnv): (name: string) => string | undefined {
  return (name) => parsed.inputs.get(name) ?? env[`BACKUP_DRILL_${name.toUpperCase().replace(/-/g, '_')}`];
}
