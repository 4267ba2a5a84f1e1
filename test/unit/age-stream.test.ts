import assert from 'node:assert/strict';
import { createCipheriv, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { Decrypter, Encrypter } from 'age-encryption';
import { IntegrityError, UsageError } from '../../src/errors.js';
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
import { bech32Encode } from '../../src/archive/age/bech32.js';
import { encodeHeader, findHeaderEnd } from '../../src/archive/age/header.js';
import { requireRecipient } from '../../src/archive/age/keys.js';
import { wrapX25519 } from '../../src/archive/age/stanzas.js';
import { redact } from '../../src/util/redact.js';

const KiB = 1024;
const CHUNK = 64 * KiB;
const ENC_CHUNK = CHUNK + 16;

const identity = generateIdentity();
const recipient = recipientOf(identity);
const otherIdentity = generateIdentity();

/** Splits `data` into writes of `size` bytes (or of random sizes when size is 0). */
function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length;) {
    const n = size || 1 + Math.floor(Math.random() * 200 * KiB);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

async function run(transform: Transform, input: Buffer, writeSize = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from(pieces(input, writeSize)),
    transform,
    new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(chunks);
}

const encrypt = (data: Buffer, options: AgeEncryptOptions = { recipients: [recipient] }, writeSize = 0) => run(createEncryptStream(options), data, writeSize);
const decrypt = (file: Buffer, options: AgeDecryptOptions = { identities: [identity] }, writeSize = 0) => run(createDecryptStream(options), file, writeSize);

/** Decrypts, expecting failure; returns the error and the plaintext that was emitted before it. */
async function decryptFailure(file: Buffer, options: AgeDecryptOptions = { identities: [identity] }): Promise<{ error: IntegrityError; emitted: Buffer }> {
  const chunks: Buffer[] = [];
  try {
    await pipeline(
      Readable.from(pieces(file, 64 * KiB)),
      createDecryptStream(options),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
    );
  } catch (error) {
    assert.ok(error instanceof IntegrityError, `expected IntegrityError, got ${String(error)}`);
    return { error, emitted: Buffer.concat(chunks) };
  }
  assert.fail('decryption unexpectedly succeeded');
}

function headerLength(file: Buffer): number {
  const end = findHeaderEnd(file);
  assert.ok(end > 0);
  return end;
}

function expectedPayloadLength(plain: number): number {
  const chunks = plain === 0 ? 1 : Math.ceil(plain / CHUNK);
  return 16 + plain + 16 * chunks;
}

/** An age file built by hand from the spec (for layouts our encoder never writes). */
function handBuilt(chunks: { data: Buffer; last: boolean }[]): Buffer {
  const fileKey = randomBytes(16);
  const header = encodeHeader([wrapX25519(fileKey, requireRecipient(recipient))], fileKey);
  const nonce = randomBytes(16);
  const key = createSecretKey(Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32)));
  const parts = [header, nonce];
  chunks.forEach(({ data, last }, counter) => {
    const chunkNonce = Buffer.alloc(12);
    chunkNonce.writeUIntBE(counter, 5, 6);
    chunkNonce[11] = last ? 1 : 0;
    const cipher = createCipheriv('chacha20-poly1305', key, chunkNonce, { authTagLength: 16 });
    parts.push(cipher.update(data), cipher.final(), cipher.getAuthTag());
  });
  return Buffer.concat(parts);
}

describe('age streams: round trips', () => {
  const sizes = [0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 16 * CHUNK, 16 * CHUNK + 1, 17 * CHUNK + 5, 5 * 1024 * KiB + 123];
  for (const size of sizes) {
    it(`round-trips ${size} bytes with the payload layout of the spec`, async () => {
      const plain = randomBytes(size);
      const file = await encrypt(plain);
      assert.equal(file.length - headerLength(file), expectedPayloadLength(size));
      assert.ok(file.subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n')));
      assert.ok((await decrypt(file)).equals(plain));
    });
  }

  it('gives the same result whatever the write sizes (1 byte, odd sizes, random)', async () => {
    const plain = randomBytes(2 * CHUNK + 17);
    for (const writeSize of [1, 7, 4099, CHUNK + 3, 0]) {
      const file = await encrypt(plain, { recipients: [recipient] }, writeSize);
      for (const readSize of [13, ENC_CHUNK, 0]) {
        assert.ok((await decrypt(file, { identities: [identity] }, readSize)).equals(plain), `write ${writeSize} read ${readSize}`);
      }
    }
    const small = randomBytes(3000);
    assert.ok((await decrypt(await encrypt(small), { identities: [identity] }, 1)).equals(small), 'header and payload read 1 byte at a time');
  });

  it('encrypts to several recipients; each identity decrypts, any order', async () => {
    const plain = randomBytes(70 * KiB);
    const file = await encrypt(plain, { recipients: [recipientOf(otherIdentity), recipient] });
    assert.ok((await decrypt(file, { identities: [identity] })).equals(plain));
    assert.ok((await decrypt(file, { identities: [otherIdentity] })).equals(plain));
    assert.ok((await decrypt(file, { identities: [generateIdentity(), otherIdentity] })).equals(plain));
  });

  it('uses a fresh file key and nonce for every file', async () => {
    const plain = Buffer.from('same plaintext');
    const [a, b] = [await encrypt(plain), await encrypt(plain)];
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a.subarray(headerLength(a)), b.subarray(headerLength(b)));
  });

  it('round-trips with a passphrase (scrypt stanza, work factor 2^18 like the age CLI)', async () => {
    const plain = randomBytes(CHUNK + 9);
    const file = await encrypt(plain, { recipients: [], passphrase: 'correct horse battery staple' });
    assert.match(file.toString('latin1', 0, headerLength(file)), /^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} 18\n[A-Za-z0-9+/]{43}\n--- /);
    assert.ok((await decrypt(file, { identities: [], passphrase: 'correct horse battery staple' })).equals(plain));
    // identities given as well are simply not needed
    assert.ok((await decrypt(file, { identities: [identity], passphrase: 'correct horse battery staple' })).equals(plain));
  });

  it('decrypts a hand-built file with a full-sized last chunk (spec layout, independent of our encoder)', async () => {
    const a = randomBytes(CHUNK);
    const b = randomBytes(CHUNK);
    const file = handBuilt([
      { data: a, last: false },
      { data: b, last: true },
    ]);
    assert.ok((await decrypt(file)).equals(Buffer.concat([a, b])));
  });
});

describe('age streams: interop with the age-encryption library', () => {
  it('the library decrypts our X25519 and passphrase files', async () => {
    const plain = randomBytes(200 * KiB + 3);
    const lib = new Decrypter();
    lib.addIdentity(identity);
    assert.ok(Buffer.from(await lib.decrypt(await encrypt(plain))).equals(plain));
    const libPass = new Decrypter();
    libPass.addPassphrase('pass phrase');
    assert.ok(Buffer.from(await libPass.decrypt(await encrypt(plain, { recipients: [], passphrase: 'pass phrase' }))).equals(plain));
    assert.ok(Buffer.from(await lib.decrypt(await encrypt(Buffer.alloc(0)))).length === 0);
  });

  it("we decrypt the library's X25519 and passphrase files", async () => {
    for (const size of [0, CHUNK, 200 * KiB + 3]) {
      const plain = randomBytes(size);
      const lib = new Encrypter();
      lib.addRecipient(recipient);
      assert.ok((await decrypt(Buffer.from(await lib.encrypt(plain)))).equals(plain), `size ${size}`);
    }
    const plain = randomBytes(1000);
    const libPass = new Encrypter();
    libPass.setPassphrase('pass phrase');
    libPass.setScryptWorkFactor(12);
    assert.ok((await decrypt(Buffer.from(await libPass.encrypt(plain)), { identities: [], passphrase: 'pass phrase' })).equals(plain));
  });
});

describe('age streams: failures', () => {
  const plain = randomBytes(3 * CHUNK + 100); // chunks 0,1,2 full; chunk 3 (final) 100 bytes
  let filePromise: Promise<Buffer> | undefined;
  const file = () => (filePromise ??= encrypt(plain));

  it("rejects a wrong identity, naming the identity's public key but not the secret", async () => {
    const { error, emitted } = await decryptFailure(await file(), { identities: [otherIdentity] });
    assert.match(error.message, /None of the 1 identity given can decrypt this age file/);
    assert.ok(error.hint?.includes(recipientOf(otherIdentity)));
    assert.ok(!error.describe().includes(otherIdentity));
    assert.equal(emitted.length, 0);
  });

  it('rejects a wrong passphrase, and a passphrase file without a passphrase', async () => {
    const pfile = await encrypt(Buffer.from('secret'), { recipients: [], passphrase: 'right one' });
    assert.match((await decryptFailure(pfile, { identities: [], passphrase: 'wrong one' })).error.message, /wrong passphrase/);
    assert.match((await decryptFailure(pfile, { identities: [identity] })).error.message, /encrypted with a passphrase, but no passphrase/);
    assert.match((await decryptFailure(await file(), { identities: [], passphrase: 'x' })).error.message, /only a passphrase was given/);
  });

  it('rejects an altered payload byte in any chunk and emits no unverified plaintext', async () => {
    const f = await file();
    const start = headerLength(f) + 16;
    for (const [chunk, offset] of [
      [0, 5],
      [1, ENC_CHUNK - 1],
      [2, 100],
      [3, 3],
    ] as const) {
      const bad = Buffer.from(f);
      bad[start + chunk * ENC_CHUNK + offset]! ^= 0x01;
      const { error, emitted } = await decryptFailure(bad);
      assert.match(error.message, new RegExp(`does not authenticate at chunk ${chunk} `));
      assert.ok(emitted.length <= chunk * CHUNK, `emitted ${emitted.length} bytes before chunk ${chunk}`);
      assert.ok(plain.subarray(0, emitted.length).equals(emitted));
    }
  });

  it('emits nothing past the last verified chunk of a long file (batches are pushed after all tags verify)', async () => {
    const big = randomBytes(40 * CHUNK);
    const f = await encrypt(big);
    f[headerLength(f) + 16 + 35 * ENC_CHUNK + 7]! ^= 0x80;
    const { error, emitted } = await decryptFailure(f);
    assert.match(error.message, /chunk 35 /);
    assert.ok(emitted.length <= 35 * CHUNK && emitted.length % CHUNK === 0);
    assert.ok(big.subarray(0, emitted.length).equals(emitted));
  });

  it('rejects altered headers: MAC, added stanza, stanza body, version line', async () => {
    const f = await file();
    const h = headerLength(f);
    const text = f.toString('latin1', 0, h);
    const withHeader = (t: string) => Buffer.concat([Buffer.from(t, 'latin1'), f.subarray(h)]);

    const macChanged = text.replace(/--- (.)/, (_m, c: string) => `--- ${c === 'A' ? 'B' : 'A'}`);
    assert.match((await decryptFailure(withHeader(macChanged))).error.message, /MAC does not verify/);

    const extra = text.replace('\n---', '\n-> grease x\nAAAA\n---');
    assert.match((await decryptFailure(withHeader(extra))).error.message, /MAC does not verify/);

    const bodyChanged = text.replace(/\n([A-Za-z0-9+/]{43})\n---/, (_m, body: string) => `\n${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}\n---`);
    assert.match((await decryptFailure(withHeader(bodyChanged))).error.message, /None of the 1 identity/);

    assert.match((await decryptFailure(withHeader(text.replace('v1', 'v2')))).error.message, /not an age file/);
    assert.match((await decryptFailure(withHeader(text.replace('\n-> X25519', '\r\n-> X25519')))).error.message, /header is invalid|not an age file/);
    assert.match((await decryptFailure(withHeader(text.replace(/\n([A-Za-z0-9+/]{43})\n/, '\n$1=\n')))).error.message, /header is invalid/);
  });

  it('rejects truncation: inside the header, before the nonce, at a chunk boundary, inside a chunk', async () => {
    const f = await file();
    const h = headerLength(f);
    const cases: [number, RegExp][] = [
      [10, /ends inside its header/],
      [h - 1, /ends inside its header/],
      [h, /ends right after its header/],
      [h + 8, /ends right after its header/],
      [h + 16, /ends after the payload nonce, before any chunk/],
      [h + 16 + ENC_CHUNK, /truncated: it ends after chunk 0 .* without the final chunk/],
      [h + 16 + 3 * ENC_CHUNK, /truncated: it ends after chunk 2 .* without the final chunk/],
      [h + 16 + 2 * ENC_CHUNK + 5, /its last chunk is 5 bytes|truncated/],
      [h + 16 + 2 * ENC_CHUNK + 1000, /does not authenticate at chunk 2 /],
      [f.length - 1, /does not authenticate at chunk 3 /],
    ];
    for (const [length, pattern] of cases) {
      const { error, emitted } = await decryptFailure(f.subarray(0, length));
      assert.match(error.message, pattern, `truncated to ${length}`);
      assert.ok(plain.subarray(0, emitted.length).equals(emitted));
      assert.ok(emitted.length < plain.length);
    }
  });

  it('rejects a file whose last full chunk is not flagged final (truncated at 64 KiB multiple)', async () => {
    const data = randomBytes(CHUNK);
    const { error } = await decryptFailure(handBuilt([{ data, last: false }]));
    assert.match(error.message, /truncated: it ends after chunk 0/);
  });

  it('rejects trailing data after a full-sized final chunk and after a short one', async () => {
    const full = await encrypt(randomBytes(2 * CHUNK));
    for (const extra of [Buffer.from([0]), randomBytes(ENC_CHUNK), await encrypt(Buffer.from('second file'))]) {
      assert.match((await decryptFailure(Buffer.concat([full, extra]))).error.message, /data after its final chunk/);
    }
    const short = await file();
    assert.match((await decryptFailure(Buffer.concat([short, Buffer.from('x')]))).error.message, /trailing data/);
  });

  it('rejects an empty final chunk after data, which the spec forbids', async () => {
    const { error } = await decryptFailure(
      handBuilt([
        { data: randomBytes(CHUNK), last: false },
        { data: Buffer.alloc(0), last: true },
      ]),
    );
    assert.match(error.message, /empty final chunk/);
  });

  it('rejects inputs that are not binary age files', async () => {
    assert.match((await decryptFailure(Buffer.alloc(0))).error.message, /input is empty/);
    assert.match((await decryptFailure(Buffer.from('PGDMP\x01\x0e\x00'))).error.message, /not an age file/);
    assert.match((await decryptFailure(Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n'))).error.message, /ASCII-armored/);
    assert.match(
      (await decryptFailure(Buffer.concat([Buffer.from('age-encryption.org/v1\n'), Buffer.alloc(2 * 1024 * KiB, 0x41)]))).error.message,
      /longer than/,
    );
  });
});

describe('age keys and options', () => {
  it('parses recipients: lines, commas, comments, duplicates', () => {
    const other = recipientOf(otherIdentity);
    const text = `# backups\n${recipient}  # ops laptop\n\n ${other.toUpperCase()} , ${recipient}\n`;
    assert.deepEqual(parseRecipients(text), [recipient, other]);
  });

  it('names a bad recipient, but never echoes a secret key pasted as one', () => {
    assert.throws(
      () => parseRecipients(`${recipient}\nage1notakey`),
      (e: unknown) => e instanceof UsageError && e.input === 'encrypt-recipients' && e.message.includes('"age1notakey"') && e.message.includes('line 2'),
    );
    // Change the last character (a random key may already end in 'x').
    assert.throws(() => parseRecipients(`${recipient.slice(0, -1)}${recipient.endsWith('x') ? 'y' : 'x'}`), /bad checksum/);
    assert.throws(() => parseRecipients('ssh-ed25519 AAAAC3Nza'), /SSH key/);
    assert.throws(() => parseRecipients('age1pq1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'), /post-quantum|checksum/);
    assert.throws(() => parseRecipients('# nothing\n'), /no recipients/);
    assert.throws(() => parseRecipients(bech32Encode('age', new Uint8Array(32))), /low-order point/);
    assert.throws(
      () => parseRecipients(identity),
      (e: unknown) => e instanceof UsageError && /secret key/.test(e.message) && !e.describe().includes(identity),
    );
  });

  it('parses identity files and never echoes a secret in a message', () => {
    const file = `# created: 2026-01-01\n# public key: ${recipient}\n${identity}\n\n${otherIdentity.toLowerCase()}\n`;
    assert.deepEqual(parseIdentities(file), [identity, otherIdentity]);
    assert.equal(redact(`key ${identity}`), 'key ***');
    const broken = identity.slice(0, -2) + (identity.endsWith('QQ') ? 'PP' : 'QQ');
    assert.throws(
      () => parseIdentities(`${identity}\n${broken}`),
      (e: unknown) =>
        e instanceof UsageError &&
        e.input === 'decrypt-identity' &&
        /Line 2/.test(e.message) &&
        !e.describe().includes(broken) &&
        !e.describe().includes(identity),
    );
    assert.throws(() => parseIdentities(recipient), /is a public key/);
    assert.throws(() => parseIdentities('\n# only comments\n'), /no identities/);
  });

  it('derives the recipient of an identity and generates fresh identities', () => {
    assert.match(identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    assert.match(recipient, /^age1[0-9a-z]{58}$/);
    assert.equal(recipientOf(identity.toLowerCase()), recipient);
    assert.notEqual(generateIdentity(), identity);
    assert.throws(
      () => recipientOf('AGE-SECRET-KEY-1XYZ'),
      (e: unknown) => e instanceof UsageError && e.input === 'decrypt-identity',
    );
  });

  it('refuses recipients together with a passphrase, and no key at all, with UsageErrors', () => {
    assert.throws(
      () => createEncryptStream({ recipients: [recipient], passphrase: 'pw' }),
      (e: unknown) => e instanceof UsageError && /recipients or to a passphrase, not both/.test(e.message) && /only one/.test(e.hint ?? ''),
    );
    assert.throws(() => createEncryptStream({ recipients: [] }), UsageError);
    assert.throws(() => createEncryptStream({ recipients: [], passphrase: '' }), UsageError);
    assert.throws(() => createEncryptStream({ recipients: ['age1bad'] }), UsageError);
    assert.throws(() => createDecryptStream({ identities: [] }), UsageError);
    assert.throws(() => createDecryptStream({ identities: ['nope'] }), UsageError);
  });

  it('registers passphrases as secrets', () => {
    createEncryptStream({ recipients: [], passphrase: 'hunter2-unique-passphrase' });
    assert.equal(redact('pw hunter2-unique-passphrase'), 'pw ***');
  });
});
