// Writes action.yml from the INPUTS/OUTPUTS tables in src/constants.ts.
// `node --import tsx scripts/gen-action.ts` rewrites it; the contract test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { INPUTS, OUTPUTS } from '../src/constants.js';

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function renderActionYml(): string {
  const lines = [
    '# Generated from src/constants.ts by scripts/gen-action.ts — edit there.',
    'name: backup-drill',
    'description: Back up PostgreSQL + an uploads directory, and prove the backups restore with scheduled restore drills.',
    'author: backup-drill',
    'branding:',
    '  icon: shield',
    '  color: green',
    'inputs:',
  ];
  for (const input of INPUTS) {
    const modes = input.modes === 'all' ? 'all modes' : input.modes.join(', ');
    lines.push(`  ${input.name}:`);
    lines.push(`    description: ${quote(`${input.description} [${modes}]`)}`);
    lines.push('    required: false');
    if (input.default !== undefined) lines.push(`    default: ${quote(input.default)}`);
  }
  lines.push('outputs:');
  for (const [name, description] of Object.entries(OUTPUTS)) {
    lines.push(`  ${name}:`);
    lines.push(`    description: ${quote(description)}`);
  }
  lines.push('runs:', "  using: 'node24'", "  main: 'dist/action/index.js'", "  post: 'dist/post/index.js'", "  post-if: 'always()'", '');
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync('action.yml', renderActionYml());
