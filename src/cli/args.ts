// argv → { command, inputs, flags }, parsed by node:util's standard parser.
// Long flags use the action's input names (`--database-url`), so a workflow's
// `with:` block and a terminal read alike. The option table is built from
// INPUTS (src/constants.ts) plus the CLI's own flags in CLI_FLAGS.
import { parseArgs as parseArgv, type ParseArgsConfig } from 'node:util';
import { CLI_FLAGS, INPUTS } from '../constants.js';
import { UsageError } from '../errors.js';
import type { ProgressStyle } from '../util/logger.js';

export interface ParsedArgs {
  command?: string;
  positionals: string[];
  inputs: Map<string, string>;
  json: boolean;
  help: boolean;
  yes: boolean;
  verbose: boolean;
  quiet: boolean;
  version: boolean;
  noColor: boolean;
  progress: ProgressStyle;
}

const PROGRESS_STYLES: readonly ProgressStyle[] = ['auto', 'lines', 'json', 'none'];

const BOOLEAN_INPUTS = new Set(INPUTS.filter((i) => i.default === 'false').map((i) => i.name));
const TRUE_WORDS = /^(true|yes|1|on)$/i;
const FALSE_WORDS = /^(false|no|0|off)$/i;

type Options = NonNullable<ParseArgsConfig['options']>;

function optionTable(extraFlags: readonly string[], extraSwitches: readonly string[]): Options {
  const options: Options = {};
  for (const input of INPUTS) options[input.name] = { type: BOOLEAN_INPUTS.has(input.name) ? 'boolean' : 'string' };
  for (const name of extraFlags) options[name] ??= { type: 'string' };
  for (const name of extraSwitches) options[name] ??= { type: 'boolean' };
  for (const flag of CLI_FLAGS) options[flag.name] = { type: flag.value ? 'string' : 'boolean', ...(flag.short ? { short: flag.short } : {}) };
  return options;
}

/**
 * `--force=false` and `--keep-database=yes` were accepted before the standard
 * parser; keep them working by turning them into `--no-force` / `--force`
 * (and reject anything that is not a yes/no word, naming the flag).
 */
function normaliseBooleanValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z0-9-]+)=(.*)$/s.exec(arg);
    if (m && options[m[1]!]?.type === 'boolean') {
      const [, name, value] = m as unknown as [string, string, string];
      if (TRUE_WORDS.test(value)) out.push(`--${name}`);
      else if (FALSE_WORDS.test(value)) out.push(`--no-${name}`);
      else throw new UsageError(`Option '--${name}' is a yes/no flag; got '${value}'.`, { input: name, hint: `Write '--${name}' or '--no-${name}'.` });
      continue;
    }
    out.push(arg);
  }
  return out;
}

function usageErrorFrom(error: unknown): UsageError {
  if (error instanceof UsageError) return error; // ours already (a yes/no flag with another word): keep its hint
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-{1,2}[^ '=]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new UsageError(`Unknown option '${flag}'.`, { hint: "Run 'backup-drill --help' (or '<command> --help') for the options." });
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(message)) {
    return new UsageError(`Option '${flag}' needs a value.`, { input: flag.replace(/^-+/, ''), hint: `Write '${flag} <value>' or '${flag}=<value>'.` });
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return new UsageError(`Option '${flag}' does not take a value.`, {
      input: flag.replace(/^-+/, ''),
      hint: `Write '${flag}' or '--no-${flag.replace(/^-+/, '')}'.`,
    });
  }
  return new UsageError(message);
}

/** extraFlags take a value (`--into <schema>`); extraSwitches do not (`--cleanup`). Both land in `inputs`. */
export function parseArgs(argv: string[], extraFlags: readonly string[] = [], extraSwitches: readonly string[] = []): ParsedArgs {
  const options = optionTable(extraFlags, extraSwitches);
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgv({ args: normaliseBooleanValues(argv, options), options, strict: true, allowPositionals: true, allowNegative: true }));
  } catch (error) {
    throw usageErrorFrom(error);
  }
  const inputs = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || CLI_FLAGS.some((f) => f.name === name)) continue;
    inputs.set(name, String(value));
  }
  const flag = (name: string) => values[name] === true;
  const progress = (values['progress'] as string | undefined) ?? 'auto';
  if (!PROGRESS_STYLES.includes(progress as ProgressStyle)) {
    throw new UsageError(`Option '--progress' takes ${PROGRESS_STYLES.join(', ')}; got '${progress}'.`, { input: 'progress' });
  }
  const [command, ...rest] = positionals;
  return {
    command,
    positionals: rest,
    inputs,
    json: flag('json'),
    help: flag('help'),
    yes: flag('yes'),
    verbose: flag('verbose'),
    quiet: flag('quiet'),
    version: flag('version'),
    noColor: values['color'] === false,
    progress: progress as ProgressStyle,
  };
}

/** Reader for buildConfig: flags first, then BACKUP_DRILL_<NAME> env vars. */
export function cliReader(parsed: ParsedArgs, env: NodeJS.ProcessEnv): (name: string) => string | undefined {
  return (name) => parsed.inputs.get(name) ?? env[`BACKUP_DRILL_${name.toUpperCase().replace(/-/g, '_')}`];
}
