// action.yml, the CLI and the README agree with the INPUTS/OUTPUTS tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { INPUTS, OUTPUTS } from '../../src/constants.js';
import { TOOL_VERSION } from '../../src/version.js';
import { renderActionYml } from '../../scripts/gen-action.js';

test('action.yml is generated from src/constants.ts and up to date', () => {
  assert.equal(readFileSync('action.yml', 'utf8'), renderActionYml(), 'run: node --import tsx scripts/gen-action.ts');
  const yml = parse(readFileSync('action.yml', 'utf8'));
  assert.equal(yml.runs.using, 'node24');
  assert.equal(yml.runs.main, 'dist/action/index.js');
  assert.equal(yml.runs.post, 'dist/post/index.js');
  assert.deepEqual(
    Object.keys(yml.inputs),
    INPUTS.map((i) => i.name),
  );
  assert.deepEqual(Object.keys(yml.outputs), Object.keys(OUTPUTS));
  for (const [name, spec] of Object.entries<{ description: string }>(yml.inputs)) assert.ok(spec.description.length > 10, `${name} described`);
});

test('input names are kebab-case and unique', () => {
  const names = INPUTS.map((i) => i.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
});

test('package.json version matches the tool version', () => {
  assert.equal(JSON.parse(readFileSync('package.json', 'utf8')).version, TOOL_VERSION);
});

test('every input and output is documented in the README', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const i of INPUTS) assert.ok(readme.includes(`\`${i.name}\``), `README documents input ${i.name}`);
  for (const o of Object.keys(OUTPUTS)) assert.ok(readme.includes(`\`${o}\``), `README documents output ${o}`);
});
