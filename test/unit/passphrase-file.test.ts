// encrypt-passphrase-file / decrypt-passphrase-file: read in src/config.ts, one trailing newline
// dropped, the value registered as a secret (redacted from every message).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import { redact } from '../../src/util/redact.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bd-passfile-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (values: Record<string, string>) => buildConfig((n) => values[n], {});
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('a passphrase file gives the passphrase, without one trailing newline (LF or CRLF)', () => {
  const backup = cfg({ mode: 'backup', storage: dir, 'encrypt-passphrase-file': file('a', 'secret words here\n') });
  assert.equal(backup.encryption.passphrase, 'secret words here');
  const drill = cfg({ mode: 'restore-drill', storage: dir, 'decrypt-passphrase-file': file('b', '  spaced out  \r\n') });
  assert.equal(drill.encryption.decryptPassphrase, '  spaced out  ', 'inner and surrounding spaces are part of it');
  assert.equal(cfg({ mode: 'restore', storage: dir, 'decrypt-passphrase-file': file('c', 'two\n\n') }).encryption.decryptPassphrase, 'two\n');
  assert.equal(redact('it was secret words here'), 'it was ***', 'registered as a secret');
});

test('a missing or empty file, or both forms at once, are usage errors naming the input', () => {
  const missing = join(dir, 'missing.txt');
  assert.throws(
    () => cfg({ mode: 'backup', storage: dir, 'encrypt-passphrase-file': missing }),
    (e: unknown) => e instanceof UsageError && e.input === 'encrypt-passphrase-file' && e.message.includes(`'${missing}' (no such file)`),
  );
  assert.throws(
    () => cfg({ mode: 'restore', storage: dir, 'decrypt-passphrase-file': file('empty', '\n') }),
    (e: unknown) => e instanceof UsageError && e.input === 'decrypt-passphrase-file' && /is empty/.test(e.message),
  );
  assert.throws(
    () => cfg({ mode: 'restore', storage: dir, 'decrypt-passphrase': 'x', 'decrypt-passphrase-file': file('d', 'y') }),
    (e: unknown) => e instanceof UsageError && /not both/.test(e.message),
  );
});
