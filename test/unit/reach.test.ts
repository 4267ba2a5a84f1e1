// Pure logic of the SSH inputs: known_hosts matching and the ssh-* input rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { hostKeyAlgorithms, judgeHostKey, keysFor, knownHostsLine, parseKnownHosts } from '../../src/reach/known-hosts.js';
import { parseEndpoint, parseReachOptions } from '../../src/reach/options.js';
import { databaseDestination, throughTunnel } from '../../src/reach/index.js';
import { UsageError } from '../../src/errors.js';
import { redact } from '../../src/util/redact.js';

/** A syntactically valid ed25519 public key blob (type string + 32 bytes). */
function ed25519Blob(): Buffer {
  const type = Buffer.from('ssh-ed25519');
  const key = randomBytes(32);
  const out = Buffer.alloc(4 + type.length + 4 + key.length);
  out.writeUInt32BE(type.length, 0);
  type.copy(out, 4);
  out.writeUInt32BE(key.length, 4 + type.length);
  key.copy(out, 8 + type.length);
  return out;
}

const A = ed25519Blob();
const B = ed25519Blob();

test('known_hosts: [host]:port entries match only that port; plain names mean port 22', () => {
  const keys = parseKnownHosts(`[app.example.com]:2222 ssh-ed25519 ${A.toString('base64')}\nbastion.example.com ssh-ed25519 ${B.toString('base64')}`);
  assert.equal(keysFor(keys, 'app.example.com', 2222).length, 1);
  assert.equal(keysFor(keys, 'app.example.com', 22).length, 0);
  assert.equal(keysFor(keys, 'bastion.example.com', 22).length, 1);
  assert.deepEqual(judgeHostKey(keysFor(keys, 'app.example.com', 2222), A), { trusted: true });
  assert.deepEqual(judgeHostKey(keysFor(keys, 'app.example.com', 2222), B), { trusted: false, reason: 'mismatch' });
  assert.deepEqual(judgeHostKey(keysFor(keys, 'other', 22), A), { trusted: false, reason: 'unknown' });
});

test('known_hosts: hashed names (ssh-keyscan -H), wildcards, negation, @revoked', () => {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update('[10.0.0.5]:2200').digest('base64');
  const keys = parseKnownHosts(
    [
      `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${A.toString('base64')}`,
      `*.internal,!db.internal ssh-ed25519 ${B.toString('base64')}`,
      `@revoked * ssh-ed25519 ${B.toString('base64')}`,
    ].join('\n'),
  );
  assert.deepEqual(judgeHostKey(keysFor(keys, '10.0.0.5', 2200), A), { trusted: true });
  assert.equal(keysFor(keys, 'web.internal', 22).filter((k) => !k.revoked).length, 1);
  assert.equal(keysFor(keys, 'db.internal', 22).filter((k) => !k.revoked).length, 0);
  assert.deepEqual(judgeHostKey(keysFor(keys, 'web.internal', 22), B), { trusted: false, reason: 'revoked' });
});

test('known_hosts: a bare public key (the host .pub file) applies to any host; the pin line round-trips', () => {
  const keys = parseKnownHosts(`ssh-ed25519 ${A.toString('base64')} root@app`);
  assert.deepEqual(judgeHostKey(keysFor(keys, 'anything', 22), A), { trusted: true });
  const line = knownHostsLine('10.1.2.3', 2222, A);
  assert.deepEqual(judgeHostKey(keysFor(parseKnownHosts(line), '10.1.2.3', 2222), A), { trusted: true });
  assert.deepEqual(hostKeyAlgorithms(keys), ['ssh-ed25519']);
  assert.deepEqual(
    hostKeyAlgorithms(parseKnownHosts(`h ssh-rsa ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), randomBytes(20)]).toString('base64')}`)),
    ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  );
});

test('known_hosts: garbage, a cut-off key and @cert-authority are refused naming the input', () => {
  for (const bad of ['hello world', `h ssh-ed25519 ${A.toString('base64').slice(0, 6)}`, `@cert-authority * ssh-ed25519 ${A.toString('base64')}`]) {
    assert.throws(
      () => parseKnownHosts(bad),
      (e: unknown) => e instanceof UsageError && e.input === 'ssh-known-hosts',
    );
  }
});

test('ssh endpoints: user@host[:port], IPv6 in brackets; bad ones name the input', () => {
  assert.deepEqual(parseEndpoint('ssh', 'backup@app.example.com'), { user: 'backup', host: 'app.example.com', port: 22 });
  assert.deepEqual(parseEndpoint('ssh', 'backup@[2001:db8::1]:2222'), { user: 'backup', host: '2001:db8::1', port: 2222 });
  for (const bad of ['app.example.com', 'backup@host:99999', 'backup@host:']) {
    assert.throws(
      () => parseEndpoint('ssh-jump', bad),
      (e: unknown) => e instanceof UsageError && e.input === 'ssh-jump',
    );
  }
});

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';

test('ssh inputs: known hosts required unless trust on first use is explicit; ssh-* without ssh refused; key masked', () => {
  const get = (values: Record<string, string>) => (n: string) => values[n];
  assert.equal(parseReachOptions(get({})), undefined);
  assert.throws(
    () => parseReachOptions(get({ ssh: 'b@h', 'ssh-private-key': KEY })),
    (e: unknown) => e instanceof UsageError && e.input === 'ssh-known-hosts',
  );
  assert.ok(parseReachOptions(get({ ssh: 'b@h', 'ssh-private-key': KEY, 'ssh-accept-new-host-key': 'true' })));
  assert.throws(
    () => parseReachOptions(get({ 'ssh-known-hosts': `h ssh-ed25519 ${A.toString('base64')}` })),
    (e: unknown) => e instanceof UsageError && e.input === 'ssh-known-hosts',
  );
  assert.throws(
    () => parseReachOptions(get({ ssh: 'b@h', 'ssh-known-hosts': `h ssh-ed25519 ${A.toString('base64')}`, 'ssh-private-key': 'ssh-ed25519 AAAA' })),
    (e: unknown) => e instanceof UsageError && e.input === 'ssh-private-key',
  );
  assert.throws(
    () => parseReachOptions(get({ ssh: 'b@h', 'ssh-accept-new-host-key': 'true', 'ssh-private-key': KEY, 'compose-project': 'x' })),
    (e: unknown) => e instanceof UsageError && e.input === 'compose-project',
  );
  assert.throws(
    () => parseReachOptions(get({ ssh: 'b@h', 'ssh-accept-new-host-key': 'true', 'ssh-private-key': KEY, 'ssh-docker-command': 'docker; rm -rf /' })),
    (e: unknown) => e instanceof UsageError && e.input === 'ssh-docker-command',
  );
  assert.doesNotMatch(redact(`oops: ${KEY.split('\n')[1]}`), /b3BlbnNzaC1rZXkt/);
});

test('database-url over SSH: the host as the server sees it, rewritten to the tunnel; sockets and keyword strings refused', () => {
  assert.deepEqual(databaseDestination('postgres://backup:pw@127.0.0.1:5433/app'), { host: '127.0.0.1', port: 5433 });
  assert.deepEqual(databaseDestination('postgres://backup@db/app'), { host: 'db', port: 5432 });
  assert.equal(
    throughTunnel('postgres://backup:p%40ss@127.0.0.1:5432/app?sslmode=disable', 40001),
    'postgres://backup:p%40ss@127.0.0.1:40001/app?sslmode=disable',
  );
  for (const bad of [undefined, 'host=db dbname=app', 'postgres:///app?host=/var/run/postgresql']) {
    assert.throws(
      () => databaseDestination(bad),
      (e: unknown) => e instanceof UsageError && e.input === 'database-url',
    );
  }
});

test('ssh inputs from files: ssh-private-key-file and a known_hosts file path; both key inputs at once is refused', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'bd-reach-'));
  try {
    await writeFile(join(dir, 'key'), KEY);
    await writeFile(join(dir, 'known_hosts'), `# pinned\n[h]:2222 ssh-ed25519 ${A.toString('base64')}\n`);
    const get = (values: Record<string, string>) => (n: string) => values[n];
    const options = parseReachOptions(get({ ssh: 'b@h:2222', 'ssh-private-key-file': join(dir, 'key'), 'ssh-known-hosts': join(dir, 'known_hosts') }))!;
    assert.equal(options.privateKey, KEY);
    assert.deepEqual(judgeHostKey(keysFor(options.knownHosts, 'h', 2222), A), { trusted: true });
    assert.throws(
      () =>
        parseReachOptions(get({ ssh: 'b@h', 'ssh-private-key': KEY, 'ssh-private-key-file': join(dir, 'key'), 'ssh-known-hosts': join(dir, 'known_hosts') })),
      (e: unknown) => e instanceof UsageError && e.input === 'ssh-private-key-file',
    );
    assert.throws(
      () => parseReachOptions(get({ ssh: 'b@h', 'ssh-private-key-file': join(dir, 'missing'), 'ssh-known-hosts': join(dir, 'known_hosts') })),
      (e: unknown) => e instanceof UsageError && e.input === 'ssh-private-key-file' && /missing/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
