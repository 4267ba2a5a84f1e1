import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { bcrypt } from 'hash-wasm';
import pg from 'pg';
import type { Check, LoginCheck, SqlCheck } from '../../src/checks/checks-file.js';
import { runChecks, type CheckResult, type QueryClient } from '../../src/checks/run-checks.js';
import { redact } from '../../src/util/redact.js';

// pg.Client must satisfy the runner's client type (compile-time check; no connection is made).
const _pgClientFits: QueryClient = new pg.Client();
void _pgClientFits;

type Reply = { rows: unknown[]; fields?: Array<{ name: string }> } | unknown[] | Error;

/** A client that answers user queries from a table of replies and records every call. */
class FakeClient implements QueryClient {
  calls: Array<{ text: string; params?: unknown[] }> = [];
  constructor(private readonly replies: Record<string, Reply | ((params?: unknown[]) => Reply)>) {}
  async query(text: string, params?: unknown[]) {
    this.calls.push({ text, params });
    if (/^(BEGIN|ROLLBACK|SET LOCAL)/.test(text)) return { rows: [] };
    const entry = this.replies[text];
    if (entry === undefined) throw new Error(`unexpected query: ${text}`);
    const reply = typeof entry === 'function' ? entry(params) : entry;
    if (reply instanceof Error) throw reply;
    return reply as { rows: unknown[] };
  }
  userCalls() {
    return this.calls.filter((c) => !/^(BEGIN|ROLLBACK|SET LOCAL)/.test(c.text));
  }
}

const value = (v: unknown, name = 'count') => ({ rows: [{ [name]: v }], fields: [{ name }] });
const sql = (name: string, text: string, expect: SqlCheck['expect'], params: SqlCheck['params'] = []): SqlCheck => ({
  kind: 'sql',
  name,
  line: 1,
  sql: text,
  params,
  expect,
});
const login = (name: string, identity = 'canary@example.com', passwordEnv = 'CANARY_PASSWORD'): LoginCheck => ({
  kind: 'login',
  name,
  line: 1,
  query: 'select password_hash from users where email = $1',
  identity,
  passwordEnv,
});

async function one(check: Check, reply: Reply, env: Record<string, string | undefined> = {}, options = {}): Promise<CheckResult> {
  const text = check.kind === 'sql' ? check.sql : check.query;
  const [result] = await runChecks([check], new FakeClient({ [text]: reply }), env, options);
  return result!;
}

describe('runChecks: sql assertions', () => {
  it('min / max / range compare the first column of the first row, numerically (pg bigint is a string)', async () => {
    assert.equal((await one(sql('a', 'q', { type: 'range', min: 1 }), value('3'))).status, 'passed');
    const low = await one(sql('a', 'q', { type: 'range', min: 1 }), value('0'));
    assert.equal(low.status, 'failed');
    assert.equal(low.message, 'expected at least 1, got 0');
    assert.equal((await one(sql('a', 'q', { type: 'range', max: 0 }), value(0))).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'range', min: 10, max: 20 }), value('12.50'))).status, 'passed');
    assert.match((await one(sql('a', 'q', { type: 'range', min: 10, max: 20 }), value('25'))).message, /expected between 10 and 20, got 25/);
    assert.equal((await one(sql('a', 'q', { type: 'range', min: 1 }), value(10n))).status, 'passed');
    const text = await one(sql('a', 'q', { type: 'range', min: 1 }), value('many'));
    assert.equal(text.status, 'failed');
    assert.match(text.message, /expected a number at least 1, got "many"/);
  });

  it('equals compares strings, numbers, booleans and NULL', async () => {
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: 42 }), value('42'))).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: 'done' }), value('done'))).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: '42' }), value(42))).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: true }), value(true))).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: false }), value('f'))).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: null }), value(null))).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: 0 }), value(null))).status, 'failed');
    const miss = await one(sql('a', 'q', { type: 'equals', value: 'done' }), value('failed'));
    assert.equal(miss.status, 'failed');
    assert.equal(miss.message, 'expected "done", got "failed"');
  });

  it('rows counts the rows; value expectations fail on an empty result', async () => {
    assert.equal((await one(sql('a', 'q', { type: 'rows', count: 2 }), { rows: [{}, {}] })).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'rows', count: 0 }), { rows: [] })).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'rows', count: 2 }), { rows: [{}] })).message, 'expected 2 rows, got 1');
    const empty = await one(sql('a', 'q', { type: 'range', min: 0 }), { rows: [] });
    assert.equal(empty.status, 'failed');
    assert.match(empty.message, /no rows/);
  });

  it('takes the first column by field order, and refuses an ambiguous first column', async () => {
    const reply = { rows: [{ b: 2, a: 1 }], fields: [{ name: 'a' }, { name: 'b' }] };
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: 1 }), reply)).status, 'passed');
    assert.equal((await one(sql('a', 'q', { type: 'equals', value: 1 }), { rows: [[1, 2]] })).status, 'passed');
    const dup = await one(sql('a', 'q', { type: 'equals', value: 1 }), { rows: [{ a: 2 }], fields: [{ name: 'a' }, { name: 'a' }] });
    assert.equal(dup.status, 'error');
    assert.match(dup.message, /unique alias/);
  });

  it('passes params through and runs each check in a read-only transaction that is rolled back', async () => {
    const client = new FakeClient({ q1: value('1'), q2: value('2') });
    await runChecks(
      [sql('one', 'q1', { type: 'range', min: 1 }, ['admin', 3]), sql('two', 'q2', { type: 'range', min: 1 })],
      client,
      {},
      { statementTimeoutMs: 1500 },
    );
    assert.deepEqual(
      client.calls.map((c) => c.text),
      [
        'BEGIN TRANSACTION READ ONLY',
        'SET LOCAL statement_timeout = 1500',
        'q1',
        'ROLLBACK',
        'BEGIN TRANSACTION READ ONLY',
        'SET LOCAL statement_timeout = 1500',
        'q2',
        'ROLLBACK',
      ],
    );
    assert.deepEqual(client.calls[2]!.params, ['admin', 3]);
    const writable = new FakeClient({ q1: value('1') });
    await runChecks([sql('one', 'q1', { type: 'range', min: 1 })], writable, {}, { readOnly: false });
    assert.deepEqual(
      writable.calls.map((c) => c.text),
      ['BEGIN', 'q1', 'ROLLBACK'],
    );
  });

  it('a query error is status error with the database message, and later checks still run', async () => {
    const dbError = Object.assign(new Error('relation "users" does not exist'), { code: '42P01' });
    const client = new FakeClient({ bad: dbError, good: value('5') });
    const results = await runChecks([sql('bad', 'bad', { type: 'range', min: 1 }), sql('good', 'good', { type: 'range', min: 1 })], client, {});
    assert.equal(results[0]!.status, 'error');
    assert.equal(results[0]!.message, 'relation "users" does not exist (SQLSTATE 42P01)');
    assert.equal(results[1]!.status, 'passed');
    assert.equal(client.calls.filter((c) => c.text === 'ROLLBACK').length, 2);
  });

  it('several statements (pg returns an array of results) are an error', async () => {
    const result = await one(sql('multi', 'select 1; select 2', { type: 'rows', count: 1 }), [{ rows: [{}] }, { rows: [{}] }]);
    assert.equal(result.status, 'error');
    assert.match(result.message, /several statements/);
  });

  it('reports name, kind and a duration for every check', async () => {
    const [r] = await runChecks([sql('named', 'q', { type: 'rows', count: 1 })], new FakeClient({ q: { rows: [{}] } }), {});
    assert.equal(r!.name, 'named');
    assert.equal(r!.kind, 'sql');
    assert.ok(Number.isInteger(r!.durationMs) && r!.durationMs >= 0);
  });
});

describe('runChecks: login checks', async () => {
  const PASSWORD = 'canary-Pa55word-for-tests';
  const hash = await bcrypt({ password: PASSWORD, salt: randomBytes(16), costFactor: 4, outputType: 'encoded' });
  const env = { CANARY_PASSWORD: PASSWORD };
  const row = (h: unknown) => ({ rows: [{ password_hash: h }], fields: [{ name: 'password_hash' }] });

  it('verifies the stored hash and binds the identity as $1', async () => {
    const client = new FakeClient({ [login('x').query]: row(hash) });
    const [r] = await runChecks([login('canary')], client, env);
    assert.equal(r!.status, 'passed');
    assert.equal(r!.kind, 'login');
    assert.equal(r!.message, 'password for "canary@example.com" verified (bcrypt)');
    assert.deepEqual(client.userCalls()[0]!.params, ['canary@example.com']);
  });

  it('a wrong password fails', async () => {
    const r = await one(login('canary'), row(hash), { CANARY_PASSWORD: 'not it' });
    assert.equal(r.status, 'failed');
    assert.match(r.message, /password in CANARY_PASSWORD does not match the stored bcrypt hash/);
  });

  it('an unset or empty env var fails loudly, names the variable, and runs no query', async () => {
    for (const e of [{}, { CANARY_PASSWORD: '' }]) {
      const client = new FakeClient({});
      const [r] = await runChecks([login('canary')], client, e);
      assert.equal(r!.status, 'failed');
      assert.match(r!.message, /environment variable CANARY_PASSWORD is (not set|empty): set it/);
      assert.equal(client.calls.length, 0);
    }
  });

  it('an unknown identity or an ambiguous query fails', async () => {
    const missing = await one(login('canary', 'ghost@example.com'), { rows: [] }, env);
    assert.equal(missing.status, 'failed');
    assert.match(missing.message, /identity "ghost@example.com" not found/);
    const many = await one(login('canary'), { rows: [{ h: hash }, { h: hash }] }, env);
    assert.equal(many.status, 'failed');
    assert.match(many.message, /returned 2 rows/);
  });

  it('an unknown hash format is not-verified with the reason', async () => {
    const r = await one(login('canary'), row('$6$rounds=5000$salt$abc'), env);
    assert.equal(r.status, 'not-verified');
    assert.match(r.message, /cannot verify the stored hash for "canary@example.com": unrecognised .*"\$6\$"/);
  });

  it('a NULL hash fails, unless the backup redacted credentials', async () => {
    const plain = await one(login('canary'), row(null), env);
    assert.equal(plain.status, 'failed');
    assert.match(plain.message, /no password hash \(NULL\)/);
    for (const [stored, options] of [
      [null, { redacted: true }],
      ['redacted', { redacted: true }],
      ['[REDACTED]', { redacted: true }],
      ['', { redactedColumns: [{ schema: 'public', table: 'users', column: 'password_hash' }] }],
      ['xxx-placeholder', { redacted: true, redactionPlaceholders: ['xxx-placeholder'] }],
    ] as const) {
      const r = await one(login('canary'), row(stored), env, options);
      assert.deepEqual([r.status, r.message], ['not-verified', 'not verifiable: redacted'], String(stored));
    }
    // A real hash in a redacted backup is still checked.
    assert.equal((await one(login('canary'), row(hash), env, { redacted: true })).status, 'passed');
    // Without redaction a placeholder is just an unknown format.
    assert.equal((await one(login('canary'), row('redacted'), env)).status, 'not-verified');
  });

  it('reads a hash stored as bytea (Buffer)', async () => {
    assert.equal((await one(login('canary'), row(Buffer.from(hash)), env)).status, 'passed');
  });

  it('never puts the password in a message, even when the database echoes it', async () => {
    const echo = new Error(`invalid input syntax: "${PASSWORD}"`);
    const client = new FakeClient({ [login('x').query]: echo, q: value('1') });
    const results = await runChecks([login('echo'), sql('s', 'q', { type: 'equals', value: PASSWORD })], client, env);
    for (const r of [
      ...results,
      await one(login('a'), row(hash), { CANARY_PASSWORD: 'wrong' }),
      await one(login('b'), row('garbage'), env),
      await one(login('c'), row(hash), env),
    ]) {
      assert.ok(!r.message.includes(PASSWORD), r.message);
    }
    assert.equal(results[0]!.status, 'error');
    // The password is registered as a secret, so later logs are redacted too.
    assert.equal(redact(`x ${PASSWORD} y`), 'x *** y');
  });
});
