// --help texts, generated from the INPUTS table so they never drift.
import { CLI_FLAGS, INPUTS, type Mode } from '../constants.js';
import { EXIT_CODE_MEANINGS, ExitCode } from '../errors.js';

export interface CommandHelp {
  name: string;
  usage: string;
  summary: string;
  mode?: Mode;
  /** Input names the command takes, besides the mode's. */
  inputs?: string[];
  notes?: string;
  /** Options of this command alone (not action inputs), e.g. `drill --cleanup`. */
  extraOptions?: Array<{ name: string; description: string; value?: string }>;
}

function wrap(text: string, indent: number, width = 100): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + w.length + 1 > width - indent) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\n' + ' '.repeat(indent));
}

const OPTION_COLUMN = 28;

/** One aligned help line: the flag padded to a fixed column, the text wrapped under it. */
function optionRow(flag: string, text: string): string {
  const head = `  ${flag}`;
  const pad = head.length < OPTION_COLUMN ? head.padEnd(OPTION_COLUMN) : `${head}\n${' '.repeat(OPTION_COLUMN)}`;
  return `${pad}${wrap(text, OPTION_COLUMN)}`;
}

export function commandHelp(cmd: CommandHelp): string {
  const names = new Set<string>(cmd.inputs ?? []);
  if (cmd.mode) for (const i of INPUTS) if (i.name !== 'mode' && (i.modes === 'all' || i.modes.includes(cmd.mode))) names.add(i.name);
  const rows = INPUTS.filter((i) => names.has(i.name)).map((i) => {
    const meta = [i.default !== undefined ? `default: ${i.default}` : '', i.env?.length ? `env: ${i.env.join(', ')}` : ''].filter(Boolean).join('; ');
    return optionRow(`--${i.name}`, i.description + (meta ? ` (${meta})` : ''));
  });
  const flagRows = CLI_FLAGS.map((f) =>
    optionRow(`${f.short ? `-${f.short}, ` : ''}--${f.name === 'color' ? '[no-]color' : f.name}${f.value ? ` <${f.value}>` : ''}`, f.description),
  );
  return [
    `Usage: ${cmd.usage}`,
    '',
    wrap(cmd.summary, 0),
    '',
    rows.length ? 'Options:' : '',
    ...rows,
    ...(cmd.extraOptions ?? []).map((o) => optionRow(`--${o.name}${o.value ? ` <${o.value}>` : ''}`, o.description)),
    ...flagRows,
    cmd.notes ? `\n${cmd.notes}` : '',
    '',
    'Every option can also be set as an environment variable BACKUP_DRILL_<OPTION> (e.g. BACKUP_DRILL_STORAGE).',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

export function mainHelp(commands: CommandHelp[]): string {
  const codes = (Object.entries(ExitCode) as Array<[keyof typeof ExitCode, number]>)
    .map(([k, v]) => `  ${String(v).padEnd(4)} ${wrap(EXIT_CODE_MEANINGS[k], 7)}`)
    .join('\n');
  return [
    'backup-drill — PostgreSQL + uploads backups, proven by restore drills.',
    '',
    'Usage: backup-drill <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary.split('. ')[0]}`),
    '',
    "Run 'backup-drill <command> --help' for a command's options.",
    '',
    'Exit codes:',
    codes,
  ].join('\n');
}
