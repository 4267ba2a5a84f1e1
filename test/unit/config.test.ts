import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import { parseArgs } from '../../src/cli/args.js';
import { redact, safeUrl } from '../../src/util/redact.js';
import { parseDuration } from '../../src/util/format.js';
import { newBackupId, timeOfBackupId, isBackupId } from '../../src/archive/backup-id.js';
import { formatChecksums, parseChecksums } from '../../src/archive/checksums.js';

const cfg = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}) => buildConfig((n) => values[n], env);

function rejectsInput(values: Record<string, string>, input: string | undefined, pattern: RegExp) {
  assert.throws(
    () => cfg(values),
    (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.input, input);
      assert.match(e.describe(), pattern);
      return true;
    },
  );
}

test('defaults and env fallbacks', () => {
  const c = cfg({ storage: './b' }, { DATABASE_URL: 'postgres://a:b@h/db' });
  assert.equal(c.mode, 'backup');
  assert.equal(c.name, 'default');
  assert.deepEqual(c.compression, { codec: 'auto' });
  assert.equal(c.databaseUrl, 'postgres://a:b@h/db');
  assert.equal(cfg({}, { BACKUP_DRILL_STORAGE: '/x' }).storage, '/x');
  assert.equal(cfg({ storage: 's3://bkt/p' }, { AWS_REGION: 'eu-west-1' }).s3.region, 'eu-west-1');
  assert.deepEqual(cfg({ storage: 'x', 'files-exclude': 'cache/**\n*.tmp, thumbs/**' }).filesExclude, ['cache/**', '*.tmp', 'thumbs/**']);
  assert.equal(cfg({ storage: 'x', mode: 'drill' }).mode, 'restore-drill');
});

test('bad inputs name the input, the value and the fix', () => {
  rejectsInput({ storage: 'x', mode: 'explode' }, 'mode', /Unknown mode 'explode'.*backup, restore-drill, restore/);
  rejectsInput({}, 'storage', /'storage' is required/);
  rejectsInput({ storage: 'ftp://host/x' }, 'storage', /unsupported scheme 'ftp:\/\/'/);
  rejectsInput({ storage: 's3://' }, 'storage', /not a valid S3 URL/);
  rejectsInput({ storage: 'x', compression: '12' }, 'compression', /got '12'/);
  rejectsInput({ storage: 'x', 'keep-database': 'maybe' }, 'keep-database', /true or false, got 'maybe'/);
  rejectsInput({ storage: 'x', 'max-age': 'tomorrow' }, 'max-age', /26h, 90m, 2d/);
  rejectsInput({ storage: 'x', name: '../etc' }, 'name', /letters, digits/);
  rejectsInput({ storage: 'x', name: 'locks' }, 'name', /lock files/);
  rejectsInput({ storage: 'x', 'database-url': 'mysql://u:p@h/d' }, 'database-url', /postgres:\/\/ URL/);
  rejectsInput({ storage: 'x', 'ignore-schema-mismatch': 'true' }, 'ignore-schema-mismatch', /force/);
  rejectsInput({ storage: 'x', parts: 'database,logs' }, 'parts', /unknown part 'logs'/);
  rejectsInput({ storage: 'x', 'into-schema': 'recovered' }, 'into-schema', /needs 'tables'/);
});

test('a database URL with a password never shows the password in an error', () => {
  try {
    cfg({ storage: 'x', 'database-url': 'mysql://u:SuperSecret99@h/d' });
    assert.fail('should throw');
  } catch (e) {
    assert.ok(!(e as UsageError).describe().includes('SuperSecret99'));
  }
  assert.equal(safeUrl('postgres://u:pw@h:5/db'), 'postgres://u:***@h:5/db');
  assert.equal(redact('failed for postgres://u:pw@h/db and password=abc'), 'failed for postgres://u:***@h/db and password=***');
});

test('CLI flags use the input names; booleans need no value; unknown flags are refused', () => {
  const p = parseArgs(['drill', '--storage', './b', '--keep-database', '--max-age=26h', '--json']);
  assert.equal(p.command, 'drill');
  assert.equal(p.inputs.get('storage'), './b');
  assert.equal(p.inputs.get('keep-database'), 'true');
  assert.equal(p.inputs.get('max-age'), '26h');
  assert.equal(p.json, true);
  assert.throws(() => parseArgs(['backup', '--frobnicate']), /Unknown option '--frobnicate'/);
  assert.throws(() => parseArgs(['backup', '--storage']), /needs a value/);
});

test('the standard parser: short flags, negations, yes/no values, and what it refuses', () => {
  const p = parseArgs(['restore', 'latest', '-y', '-q', '--no-color', '--force=false', '--dry-run=yes', '--', '--odd']);
  assert.deepEqual([p.command, ...p.positionals], ['restore', 'latest', '--odd']);
  assert.equal(p.yes, true);
  assert.equal(p.quiet, true);
  assert.equal(p.noColor, true);
  assert.equal(p.inputs.get('force'), 'false');
  assert.equal(p.inputs.get('dry-run'), 'true');
  assert.equal(parseArgs(['--version']).version, true);
  assert.equal(parseArgs(['-V']).version, true);
  assert.equal(parseArgs(['backup', '-h']).help, true);
  assert.throws(() => parseArgs(['restore', '--force=maybe']), /'--force' is a yes\/no flag; got 'maybe'/);
  assert.throws(() => parseArgs(['backup', '-Z']), /Unknown option '-Z'/);
});

test('durations, backup ids and checksum lines', () => {
  assert.equal(parseDuration('26h'), 93600);
  assert.equal(parseDuration('1d12h'), 129600);
  assert.equal(parseDuration('soon'), undefined);
  const id = newBackupId(new Date('2026-11-24T06:20:00.123Z'));
  assert.ok(isBackupId(id));
  assert.match(id, /^20261124T062000Z-[0-9a-f]{6}$/);
  assert.equal(timeOfBackupId(id)?.toISOString(), '2026-11-24T06:20:00.000Z');
  const entries = [
    { sha256: 'a'.repeat(64), name: 'plain.txt' },
    { sha256: 'b'.repeat(64), name: 'with\\backslash and\nnewline' },
  ];
  const text = formatChecksums(entries);
  assert.ok(text.split('\n')[1]!.startsWith('\\'));
  assert.deepEqual(parseChecksums(text), entries);
});
