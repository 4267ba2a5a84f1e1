// Interop with the reference age CLI (filippo.io/age): files we write, it reads, and
// the other way round, for X25519 keys and scrypt passphrases. The CLI reads
// passphrases only from a terminal, so those runs go through `script` (a pty).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { IntegrityError } from '../../src/errors.js';
import {
  createDecryptStream,
  createEncryptStream,
  generateIdentity,
  parseIdentities,
  parseRecipients,
  recipientOf,
  type AgeDecryptOptions,
  type AgeEncryptOptions,
} from '../../src/archive/age/index.js';

const KiB = 1024;
const SIZES = [0, 1, 64 * KiB, 64 * KiB + 1, 3 * 1024 * KiB + 77];

function has(tool: string): boolean {
  return spawnSync(tool, ['--version'], { encoding: 'utf8' }).status === 0;
}
const missing = ['age', 'age-keygen', 'script'].filter((t) => !has(t));
const skip = missing.length ? `not installed: ${missing.join(', ')}` : false;

function runBytes(command: string, args: string[]): Buffer {
  const result = spawnSync(command, args, { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed: ${String(result.stderr)}`);
  return result.stdout;
}
const run = (command: string, args: string[]): string => runBytes(command, args).toString('utf8');

/** Runs an age command on a pseudo-terminal, typing `typed` into it. */
function onTerminal(command: string, typed: string): { status: number | null; output: string } {
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', input: typed, timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('age CLI interop', { skip }, () => {
  let dir = '';
  let keyFile = '';
  let cliIdentities: string[] = [];
  let cliRecipient = '';
  const p = (name: string) => join(dir, name);

  async function encryptFile(input: string, output: string, options: AgeEncryptOptions): Promise<void> {
    await pipeline(createReadStream(input), createEncryptStream(options), createWriteStream(output));
  }
  async function decryptFile(input: string, output: string, options: AgeDecryptOptions): Promise<void> {
    await pipeline(createReadStream(input), createDecryptStream(options), createWriteStream(output));
  }
  function plainFile(size: number): { path: string; data: Buffer } {
    const data = randomBytes(size);
    const path = p(`plain-${size}.bin`);
    writeFileSync(path, data);
    return { path, data };
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'age-interop-'));
    keyFile = p('cli-key.txt');
    run('age-keygen', ['-o', keyFile]);
    cliIdentities = parseIdentities(readFileSync(keyFile, 'utf8'));
    cliRecipient = run('age-keygen', ['-y', keyFile]).trim();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads identity files written by age-keygen and derives the same recipient', () => {
    assert.equal(cliIdentities.length, 1);
    assert.equal(recipientOf(cliIdentities[0]!), cliRecipient);
    assert.deepEqual(parseRecipients(`# from age-keygen -y\n${cliRecipient}\n`), [cliRecipient]);
  });

  it('age-keygen -y agrees with recipientOf for identities we generate', () => {
    const identity = generateIdentity();
    const file = p('ours-key.txt');
    writeFileSync(file, `${identity}\n`);
    assert.equal(run('age-keygen', ['-y', file]).trim(), recipientOf(identity));
  });

  for (const size of SIZES) {
    it(`X25519, ${size} bytes: we encrypt, age -d decrypts`, async () => {
      const { path, data } = plainFile(size);
      await encryptFile(path, p('ours.age'), { recipients: [cliRecipient] });
      // stdout: with -o, age does not create the output file for an empty plaintext
      assert.ok(runBytes('age', ['-d', '-i', keyFile, p('ours.age')]).equals(data));
    });

    it(`X25519, ${size} bytes: age -r encrypts, we decrypt`, async () => {
      const { path, data } = plainFile(size);
      run('age', ['-r', cliRecipient, '-o', p('cli.age'), path]);
      await decryptFile(p('cli.age'), p('ours.out'), { identities: cliIdentities });
      assert.ok(readFileSync(p('ours.out')).equals(data));
    });
  }

  it('several recipients both ways; the CLI decrypts with either identity, so do we', async () => {
    const ours = generateIdentity();
    const oursFile = p('ours-key2.txt');
    writeFileSync(oursFile, `${ours}\n`);
    const { path, data } = plainFile(300 * KiB);
    await encryptFile(path, p('multi-ours.age'), { recipients: [cliRecipient, recipientOf(ours)] });
    for (const key of [keyFile, oursFile]) {
      run('age', ['-d', '-i', key, '-o', p('multi.out'), p('multi-ours.age')]);
      assert.ok(readFileSync(p('multi.out')).equals(data));
    }
    run('age', ['-r', cliRecipient, '-r', recipientOf(ours), '-o', p('multi-cli.age'), path]);
    for (const identities of [cliIdentities, [ours]]) {
      await decryptFile(p('multi-cli.age'), p('multi.out'), { identities });
      assert.ok(readFileSync(p('multi.out')).equals(data));
    }
  });

  it('passphrase: we encrypt, age -d decrypts on a terminal; a wrong passphrase fails there', async () => {
    const { path, data } = plainFile(200 * KiB + 5);
    await encryptFile(path, p('pass-ours.age'), { recipients: [], passphrase: 'tröpfchen horse battery' });
    const ok = onTerminal(`age -d -o '${p('pass.out')}' '${p('pass-ours.age')}'`, 'tröpfchen horse battery\n');
    assert.equal(ok.status, 0, ok.output);
    assert.ok(readFileSync(p('pass.out')).equals(data));
    const bad = onTerminal(`age -d -o '${p('pass-bad.out')}' '${p('pass-ours.age')}'`, 'tropfchen horse battery\n');
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /incorrect passphrase/);
  });

  it('passphrase: age -p encrypts on a terminal, we decrypt; a wrong passphrase fails here', async () => {
    const { path, data } = plainFile(64 * KiB);
    const enc = onTerminal(`age -p -o '${p('pass-cli.age')}' '${path}'`, 'tröpfchen horse battery\ntröpfchen horse battery\n');
    assert.equal(enc.status, 0, enc.output);
    assert.match(readFileSync(p('pass-cli.age'), 'latin1'), /^age-encryption\.org\/v1\n-> scrypt /);
    await decryptFile(p('pass-cli.age'), p('pass-cli.out'), { identities: [], passphrase: 'tröpfchen horse battery' });
    assert.ok(readFileSync(p('pass-cli.out')).equals(data));
    await assert.rejects(
      decryptFile(p('pass-cli.age'), p('pass-cli-bad.out'), { identities: [], passphrase: 'tropfchen horse battery' }),
      (e: unknown) => e instanceof IntegrityError && /wrong passphrase/.test(e.message),
    );
  });

  it('the CLI and we both reject a file of ours cut at a chunk boundary, and one with a flipped byte', async () => {
    const { path } = plainFile(3 * 64 * KiB);
    await encryptFile(path, p('cut.age'), { recipients: [cliRecipient] });
    const whole = readFileSync(p('cut.age'));
    const cut = whole.subarray(0, whole.length - (64 * KiB + 16));
    writeFileSync(p('cut2.age'), cut);
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 1000]! ^= 1;
    writeFileSync(p('flipped.age'), flipped);
    for (const bad of ['cut2.age', 'flipped.age']) {
      const cli = spawnSync('age', ['-d', '-i', keyFile, '-o', p('bad.out'), p(bad)], { encoding: 'utf8' });
      assert.notEqual(cli.status, 0, `age accepted ${bad}`);
      await assert.rejects(decryptFile(p(bad), p('bad.out'), { identities: cliIdentities }), IntegrityError);
    }
  });

  it('reports an armored CLI file clearly', async () => {
    const { path } = plainFile(100);
    run('age', ['-a', '-r', cliRecipient, '-o', p('armored.age'), path]);
    await assert.rejects(decryptFile(p('armored.age'), p('armored.out'), { identities: cliIdentities }), /ASCII-armored/);
  });
});
