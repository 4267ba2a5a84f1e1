import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { argon2d, argon2i, argon2id, bcrypt } from 'hash-wasm';
import { verifyPassword } from '../../src/checks/password-hash.js';

const PASSWORD = 'correct horse battery staple ✓';
const WRONG = 'correct horse battery stable ✓';

/** Correct password passes, a near miss fails, both name the scheme. */
async function assertVerifies(stored: string, password = PASSWORD, scheme?: string) {
  const ok = await verifyPassword(password, stored);
  assert.equal(ok.status, 'passed', `${stored}: ${ok.reason ?? ''}`);
  if (scheme) assert.equal(ok.scheme, scheme);
  const bad = await verifyPassword(`${password}x`, stored);
  assert.equal(bad.status, 'failed', stored);
}

async function assertNotVerified(stored: string, reason: RegExp) {
  const v = await verifyPassword(PASSWORD, stored);
  assert.equal(v.status, 'not-verified', `${stored} → ${v.status}`);
  assert.match(v.reason ?? '', reason);
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
const ab64 = (b: Buffer) => b64(b).replace(/\+/g, '.');

describe('verifyPassword: hashes generated here in each stored format', () => {
  it('bcrypt $2a$, $2b$ and $2y$ (hash-wasm)', async () => {
    const hash = await bcrypt({ password: PASSWORD, salt: randomBytes(16), costFactor: 4, outputType: 'encoded' });
    for (const prefix of ['$2a$', '$2b$', '$2y$']) await assertVerifies(prefix + hash.slice(4), PASSWORD, 'bcrypt');
    assert.equal((await verifyPassword(WRONG, hash)).status, 'failed');
  });

  it('argon2id, argon2i and argon2d PHC strings (hash-wasm)', async () => {
    for (const [fn, name] of [
      [argon2id, 'argon2id'],
      [argon2i, 'argon2i'],
      [argon2d, 'argon2d'],
    ] as const) {
      const phc = await fn({
        password: PASSWORD,
        salt: randomBytes(16),
        iterations: 2,
        parallelism: 1,
        memorySize: 256,
        hashLength: 32,
        outputType: 'encoded',
      });
      assert.match(phc, new RegExp(`^\\$${name}\\$v=19\\$m=256,t=2,p=1\\$`));
      await assertVerifies(phc, PASSWORD, name);
      await assertVerifies(`argon2${phc}`, PASSWORD, `${name} (Django)`);
    }
  });

  it('scrypt as passlib, Werkzeug and Django store it (node:crypto)', async () => {
    const salt = randomBytes(16);
    const passlib = scryptSync(PASSWORD, salt, 32, { N: 2 ** 10, r: 8, p: 1 });
    await assertVerifies(`$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(passlib)}`, PASSWORD, 'scrypt (passlib)');
    const text = 'Ab3dEf6hIj9kLm0n';
    const werkzeug = scryptSync(PASSWORD, text, 64, { N: 2 ** 11, r: 8, p: 1 });
    await assertVerifies(`scrypt:2048:8:1$${text}$${werkzeug.toString('hex')}`, PASSWORD, 'scrypt (Werkzeug)');
    const django = scryptSync(PASSWORD, text, 64, { N: 2 ** 11, r: 8, p: 2 });
    await assertVerifies(`scrypt$2048$${text}$8$2$${django.toString('base64')}`, PASSWORD, 'scrypt (Django)');
  });

  it("scrypt at Werkzeug's default N=32768 needs more than node's 32 MiB default maxmem", async () => {
    const text = 'saltsaltsalt';
    const key = scryptSync(PASSWORD, text, 64, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    await assertVerifies(`scrypt:32768:8:1$${text}$${key.toString('hex')}`);
  });

  it('pbkdf2 as MediaWiki stores it (:pbkdf2:sha512:iterations:length:salt:hash)', async () => {
    const salt = randomBytes(16);
    const dk = pbkdf2Sync(PASSWORD, salt, 1000, 64, 'sha512');
    const stored = `:pbkdf2:sha512:1000:64:${salt.toString('base64')}:${dk.toString('base64')}`;
    await assertVerifies(stored, PASSWORD, 'pbkdf2-sha512 (MediaWiki)');
    assert.equal((await verifyPassword('wrong password', stored)).status, 'failed');
    assert.equal((await verifyPassword(PASSWORD, stored.replace(':64:', ':32:'))).status, 'not-verified');
  });

  it('pbkdf2 as Django, Werkzeug and passlib store it (node:crypto)', async () => {
    const text = 'seasaltseasalt';
    for (const digest of ['sha256', 'sha1'] as const) {
      const dk = pbkdf2Sync(PASSWORD, text, 1000, digest === 'sha256' ? 32 : 20, digest);
      await assertVerifies(`pbkdf2_${digest}$1000$${text}$${dk.toString('base64')}`, PASSWORD, `pbkdf2-${digest} (Django)`);
    }
    for (const [digest, len] of [
      ['sha256', 32],
      ['sha512', 64],
      ['sha1', 20],
    ] as const) {
      const dk = pbkdf2Sync(PASSWORD, text, 1000, len, digest);
      await assertVerifies(`pbkdf2:${digest}:1000$${text}$${dk.toString('hex')}`, PASSWORD, `pbkdf2-${digest} (Werkzeug)`);
    }
    // passlib's adapted base64 uses '.' for '+': try salts until one contains it.
    let salt = randomBytes(16);
    while (!ab64(salt).includes('.')) salt = randomBytes(16);
    const dk = pbkdf2Sync(PASSWORD, salt, 1000, 32, 'sha256');
    await assertVerifies(`$pbkdf2-sha256$1000$${ab64(salt)}$${ab64(dk)}`, PASSWORD, 'pbkdf2-sha256 (passlib)');
    const sha1 = pbkdf2Sync(PASSWORD, salt, 1000, 20, 'sha1');
    await assertVerifies(`$pbkdf2$1000$${ab64(salt)}$${ab64(sha1)}`, PASSWORD, 'pbkdf2-sha1 (passlib)');
  });

  it('ignores the space padding of char(n) columns', async () => {
    const hash = await bcrypt({ password: PASSWORD, salt: randomBytes(16), costFactor: 4, outputType: 'encoded' });
    await assertVerifies(`${hash}          `);
  });
});

describe('verifyPassword: known vectors from other implementations', () => {
  // libxcrypt's crypt(3) (Debian 12, via perl crypt()).
  it('bcrypt from libxcrypt, including $2y$, UTF-8 and the 72-byte limit', async () => {
    await assertVerifies('$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2', 'correct horse');
    await assertVerifies('$2a$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2', 'correct horse');
    await assertVerifies('$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2', 'correct horse');
    await assertVerifies('$2y$04$0123456789abcdefghijkeSfXnfwqUQcojiH1lRcFaNQJz.p3Ovba', 'pässwörd');
    // crypt() hashes only the first 72 bytes: both of these match the same hash.
    const long = '$2b$04$0123456789abcdefghijkeQTbmm.RcNPT0JaHsD9KFomKrKSIRYFm';
    assert.equal((await verifyPassword('x'.repeat(72), long)).status, 'passed');
    assert.equal((await verifyPassword(`${'x'.repeat(72)}tail`, long)).status, 'passed');
    assert.equal((await verifyPassword('x'.repeat(71), long)).status, 'failed');
  });

  it("Django's bcrypt_sha256 (bcrypt of hex SHA-256; made with libxcrypt + hashlib)", async () => {
    assert.equal(createHash('sha256').update('correct horse').digest('hex').length, 64);
    await assertVerifies('bcrypt_sha256$$2b$05$abcdefghijklmnopqrstuuFRrKxBsFtwnfZtmHymgDN/Qb8toxLuK', 'correct horse', 'bcrypt-sha256 (Django)');
    await assertVerifies('bcrypt$$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2', 'correct horse', 'bcrypt (Django)');
  });

  it("argon2 reference vectors (phc-winner-argon2 src/test.c) and Django's", async () => {
    const id = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';
    assert.equal((await verifyPassword('password', id)).status, 'passed');
    const i = '$argon2i$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$sDV8zPvvkfOGCw26RHsjSMvv7K2vmQq/6cxAcmxSEnE';
    assert.equal((await verifyPassword('password', i)).status, 'passed');
    // Django's test suite (16-byte digest).
    await assertVerifies('argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q', 'secret', 'argon2i (Django)');
  });

  it("scrypt vectors from the passlib test suite (incl. the scrypt paper's)", async () => {
    await assertVerifies('$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWI', 'password');
    await assertVerifies('$scrypt$ln=8,r=8,p=1$wlhLyXmP8b53bm1NKYVQqg$mTpvG8lzuuDk+DWz8HZIB6Vum6erDuUm0As5yU+VxWA', 'test');
    await assertVerifies('$scrypt$ln=1,r=4,p=2$yhnD+J+Tci4lZCwFgHCuVQ$fAsEWmxSHuC0cHKMwKVFPzrQukgvK09Sj+NueTSxKds', 'nacl');
  });

  it('scrypt and pbkdf2 from Werkzeug 3.1.8 generate_password_hash', async () => {
    await assertVerifies(
      'scrypt:1024:8:1$9AOq8OQpO0qzjbBv$d4c8663234332030589a0750743a4e51b5e91315bddfcaf1d93bcee81c05304d552afb0d269cf453decb4fee4d683d5a74a1e8ad82c55fca3072ae7e605d4911',
      'pässwörd',
    );
    await assertVerifies('pbkdf2:sha256:1000$mCPq970YDUHc84YK$9276b9965309934bf4fc1067a56452beb70821b2d72274a62548896fbb10a7d9', 'pässwörd');
    await assertVerifies('pbkdf2:sha1:1000$jhdddXSfiGTJnT0J$9a330d4914e661e9ff2789c4799caa742ad44642', 'pässwörd');
  });

  it('pbkdf2 and scrypt vectors from the Django test suite', async () => {
    await assertVerifies('pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=', 'lètmein', 'pbkdf2-sha256 (Django)');
    await assertVerifies('pbkdf2_sha1$390000$seasalt2$aDapRanzW8aHTz97v2TcfHzWD+I=', 'lètmein', 'pbkdf2-sha1 (Django)');
    await assertVerifies(
      'scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==',
      'lètmein',
      'scrypt (Django)',
    );
  });

  it('pbkdf2 vectors from the passlib test suite (ab64 with "." in salt and digest)', async () => {
    await assertVerifies('$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ', 'password');
    await assertVerifies('$pbkdf2$1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI', 'password');
    await assertVerifies(
      '$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww',
      'password',
    );
  });
});

describe('verifyPassword: anything unrecognised is not-verified, never passed', () => {
  it('unknown formats and garbage', async () => {
    await assertNotVerified('', /empty/);
    await assertNotVerified('hunter2', /unrecognised/);
    await assertNotVerified(PASSWORD, /unrecognised/); // a plaintext "hash" equal to the password
    await assertNotVerified('$6$rounds=5000$saltsalt$abcdef', /"\$6\$"/);
    await assertNotVerified('md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3', /unrecognised/);
    await assertNotVerified('$2x$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2', /\$2x\$/);
    await assertNotVerified('$2b$05$tooshort', /malformed/);
  });

  it('malformed or unsupported parameters', async () => {
    await assertNotVerified('$argon2id$v=19$m=wat,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /malformed argon2/);
    await assertNotVerified(
      '$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg',
      /version 16/,
    );
    await assertNotVerified('$scrypt$ln=10,r=8$wvif8/4fg1Cq9V7L2dv73w$bJcLia1lyfQ1X2x0xflehwVXPzWIUQWWdnlGwfVzBeQ', /missing parameter p/);
    await assertNotVerified('scrypt:1000:8:1$salt$' + 'ab'.repeat(64), /power of two/);
    await assertNotVerified('pbkdf2:sha256$salt$' + 'ab'.repeat(32), /iteration count/);
    await assertNotVerified('pbkdf2:md5:1000$salt$' + 'ab'.repeat(16), /digest "md5"/);
    await assertNotVerified('pbkdf2:sha256:1000$salt$abc', /hex/);
    await assertNotVerified('$pbkdf2-sha256$1000$c2FsdA$A', /base64/);
  });

  it('an empty or short stored digest cannot match everything', async () => {
    await assertNotVerified('pbkdf2_sha256$1000$salt$AAAA', /only 3 bytes/);
    await assertNotVerified('$scrypt$ln=4,r=1,p=1$c2FsdA$AAAA', /only 3 bytes/);
    await assertNotVerified('pbkdf2_sha256$1000$salt$', /unrecognised or malformed/);
  });

  it('refuses work factors that would hang the drill, quickly', async () => {
    const started = Date.now();
    await assertNotVerified('$2b$31$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2', /cost 31/);
    await assertNotVerified('$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$' + 'A'.repeat(43), /exceed/);
    await assertNotVerified('$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /1 GiB/);
    await assertNotVerified('pbkdf2_sha256$999999999$salt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=', /iteration count/);
    assert.ok(Date.now() - started < 1000);
  });

  it("Django's unusable password marker fails (no password can log in)", async () => {
    const v = await verifyPassword(PASSWORD, `!${'a1B2'.repeat(10)}`);
    assert.equal(v.status, 'failed');
    assert.match(v.reason ?? '', /unusable/);
  });

  it('reasons never echo the stored hash or the password', async () => {
    const stored = '$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg';
    for (const s of [stored, `${PASSWORD}$`, '$6$rounds=5000$saltsalt$abcdef']) {
      const v = await verifyPassword(PASSWORD, s);
      assert.ok(!(v.reason ?? '').includes('gwQOXSNh'));
      assert.ok(!(v.reason ?? '').includes('saltsalt'));
      assert.ok(!(v.reason ?? '').includes(PASSWORD));
    }
  });
});
