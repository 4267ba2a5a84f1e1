// --help texts, generated from the INPUTS table so they never drift.
import { INPUTS, type Mode } from '../constants.js';
import { ExitCode } from '../errors.js';

export interface CommandHelp {
  name: string;
  usage: string;
  summary: string;
  mode?: Mode;
  /** Input names the command takes, besides the mode's. */
  inputs?: string[];
  notes?: string;
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

export function commandHelp(cmd: CommandHelp): string {
  const names = new Set<string>(cmd.inputs ?? []);
  if (cmd.mode) for (const i of INPUTS) if (i.name !== 'mode' && (i.modes === 'all' || i.modes.includes(cmd.mode))) names.add(i.name);
  const rows = INPUTS.filter((i) => names.has(i.name)).map((i) => {
    const meta = [i.default !== undefined ? `default: ${i.default}` : '', i.env?.length ? `env: ${i.env.join(', ')}` : ''].filter(Boolean).join('; ');
    return `  --${i.name.padEnd(24)} ${wrap(i.description + (meta ? ` (${meta})` : ''), 27)}`;
  });
  return [
    `Usage: ${cmd.usage}`,
    '',
    wrap(cmd.summary, 0),
    '',
    rows.length ? 'Options:' : '',
    ...rows,
    '  --json                     Print the result as JSON on stdout (logs go to stderr).',
    '  --verbose                  More log lines.',
    '  --help                     This help.',
    cmd.notes ? `\n${cmd.notes}` : '',
    '',
    'Every option can also be set as an environment variable BACKUP_DRILL_<OPTION> (e.g. BACKUP_DRILL_STORAGE).',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

export function mainHelp(commands: CommandHelp[]): string {
  const codes = Object.entries(ExitCode)
    .map(([k, v]) => `  ${String(v).padEnd(3)} ${k}`)
    .join('\n');
  return [
    'backup-drill — PostgreSQL + uploads backups, proven by restore drills.',
    '',
    'Usage: backup-drill <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary.split('. ')[0]}`),
    '',
    "Run 'backup-drill <command> --help' for a command's options.",
    '',
    'Exit codes:',
    codes,
  ].join('\n');
}
