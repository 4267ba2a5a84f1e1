import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChecksFileError, loadChecksFile, parseChecksFile } from '../../src/checks/checks-file.js';
import { UsageError } from '../../src/errors.js';

const FILE = 'ci/checks.yml';

/** Parses text that must fail; returns the thrown error after checking its type. */
function failure(text: string): ChecksFileError {
  try {
    parseChecksFile(text, FILE);
  } catch (error) {
    assert.ok(error instanceof ChecksFileError, String(error));
    assert.ok(error instanceof UsageError);
    assert.equal(error.input, 'checks');
    return error;
  }
  assert.fail('expected the checks file to be rejected');
}

/** The message names the file and the line (path:line:col) and says what is wrong. */
function assertProblem(text: string, line: number, pattern: RegExp) {
  const error = failure(text);
  const hit = error.problems.find((p) => p.line === line && pattern.test(p.message));
  assert.ok(hit, `no problem on line ${line} matching ${pattern}; got:\n${error.message}`);
  assert.ok(error.message.includes(`${FILE}:${line}:${hit.col}: `), error.message);
}

const VALID = `version: 1            # optional
checks:
  - name: at least one admin
    sql: select count(*) from users where role = $1
    params: [admin]
    expect: { min: 1 }
  - name: canary can log in
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: CANARY_PASSWORD
`;

describe('parseChecksFile: valid files', () => {
  it('reads the documented example', () => {
    assert.deepEqual(parseChecksFile(VALID, FILE), {
      path: FILE,
      version: 1,
      checks: [
        {
          kind: 'sql',
          name: 'at least one admin',
          line: 3,
          sql: 'select count(*) from users where role = $1',
          params: ['admin'],
          expect: { type: 'range', min: 1, max: undefined },
        },
        {
          kind: 'login',
          name: 'canary can log in',
          line: 7,
          query: 'select password_hash from users where email = $1',
          identity: 'canary@example.com',
          passwordEnv: 'CANARY_PASSWORD',
        },
      ],
    });
  });

  it('reads every expectation shape, block SQL, params of each type and aliases', () => {
    const file = parseChecksFile(
      `checks:
  - name: eq string
    sql: select status from jobs limit 1
    expect: { equals: done }
  - name: eq number
    sql: select count(*) from t
    expect: { equals: 42 }
  - name: eq bool
    sql: select true
    expect: { equals: false }
  - name: eq null
    sql: select null
    expect: { equals: null }
  - name: range
    sql: |
      select count(*)
      from orders
      where created_at > $1 and paid = $2 and note is not distinct from $3
    params: [2024-01-01, true, null]
    expect: { min: 1, max: 1000000 }
  - name: at most
    sql: select count(*) from errors
    expect: { max: 0 }
  - name: rows
    sql: select * from plans
    expect: &three { rows: 3 }
  - name: rows again
    sql: select * from plans2
    expect: *three
  - name: 2024
    login: { query: select h from u where id = $1, identity: 7, password-env: _PW2 }
`,
      FILE,
    );
    const expects = file.checks.map((c) => (c.kind === 'sql' ? c.expect : undefined));
    assert.deepEqual(expects, [
      { type: 'equals', value: 'done' },
      { type: 'equals', value: 42 },
      { type: 'equals', value: false },
      { type: 'equals', value: null },
      { type: 'range', min: 1, max: 1000000 },
      { type: 'range', min: undefined, max: 0 },
      { type: 'rows', count: 3 },
      { type: 'rows', count: 3 },
      undefined,
    ]);
    const range = file.checks[4]!;
    assert.ok(range.kind === 'sql');
    assert.equal(range.sql, 'select count(*)\nfrom orders\nwhere created_at > $1 and paid = $2 and note is not distinct from $3\n');
    assert.deepEqual(range.params, ['2024-01-01', true, null]);
    assert.deepEqual(file.checks[8], { kind: 'login', name: '2024', line: 30, query: 'select h from u where id = $1', identity: '7', passwordEnv: '_PW2' });
  });

  it('loadChecksFile reads a file, and names a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'checks-'));
    try {
      await writeFile(join(dir, 'checks.yml'), VALID);
      assert.equal((await loadChecksFile(join(dir, 'checks.yml'))).checks.length, 2);
      await assert.rejects(loadChecksFile(join(dir, 'nope.yml')), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.input, 'checks');
        assert.match(error.message, /nope\.yml does not exist/);
        return true;
      });
      await assert.rejects(loadChecksFile(join(dir, 'bad.yml')), UsageError);
      await writeFile(join(dir, 'bad.yml'), 'checks:\n  - name: x\n    sqll: 1\n');
      await assert.rejects(loadChecksFile(join(dir, 'bad.yml')), (error: unknown) => {
        assert.ok(error instanceof ChecksFileError);
        assert.match(error.message, /bad\.yml:3:5: .*unknown key "sqll"/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseChecksFile: errors carry the file path and line number', () => {
  it('YAML syntax errors', () => {
    // yaml reports an unclosed [ where it notices: the next line.
    assertProblem('checks:\n  - name: a\n    sql: [select 1\n    expect: { rows: 1 }\n', 4, /end with a \]/);
    assertProblem('checks:\n  - name: a\n\tsql: select 1\n', 3, /[Tt]ab/);
    assertProblem('checks:\n  - name: a\n    name: b\n    sql: select 1\n', 3, /unique/);
    assertProblem('checks:\n  - name: a\n---\nchecks: []\n', 3, /single YAML document/);
  });

  it('unknown keys at every level', () => {
    assertProblem('checks:\n  - name: a\n    sql: select 1\n    expect: { rows: 1 }\nchekcs: []\n', 5, /top level: unknown key "chekcs"/);
    assertProblem(
      'checks:\n  - name: a\n    sql: select 1\n    expect: { rows: 1 }\n    timeout: 5\n',
      5,
      /unknown key "timeout" \(allowed: name, sql, params, expect, login\)/,
    );
    assertProblem(
      'checks:\n  - name: a\n    login:\n      query: q\n      identity: i\n      password-env: P\n      password: hunter2\n',
      7,
      /login: unknown key "password"/,
    );
    assertProblem('checks:\n  - name: a\n    sql: select 1\n    expect:\n      least: 1\n', 5, /expect: unknown key "least"/);
  });

  it('a check with neither or both of sql and login', () => {
    assertProblem('checks:\n  - name: a\n    expect: { rows: 1 }\n', 2, /needs either sql: .* or login:/);
    assertProblem(
      'checks:\n  - name: a\n    sql: select 1\n    expect: { rows: 1 }\n    login: { query: q, identity: i, password-env: P }\n',
      5,
      /both sql: and login:/,
    );
  });

  it('missing, empty and duplicate names', () => {
    assertProblem('checks:\n  - sql: select 1\n    expect: { rows: 1 }\n', 2, /check #1: missing name:/);
    assertProblem('checks:\n  - name: ""\n    sql: select 1\n    expect: { rows: 1 }\n', 2, /name must be a non-empty/);
    const dup =
      'checks:\n  - name: same\n    sql: select 1\n    expect: { rows: 1 }\n  - name: other\n    sql: select 1\n    expect: { rows: 1 }\n  - name: same\n    sql: select 2\n    expect: { rows: 1 }\n';
    assertProblem(dup, 8, /"same": duplicate name \(first used on line 2\)/);
  });

  it('wrong expect shapes', () => {
    const check = (expect: string) => `checks:\n  - name: a\n    sql: select 1\n    expect: ${expect}\n`;
    assertProblem(check('1'), 4, /expect must be one of/);
    assertProblem(check('{}'), 4, /expect must be one of/);
    assertProblem(check('{ equals: 1, rows: 1 }'), 4, /expect must be one of/);
    assertProblem(check('{ rows: 1, min: 1 }'), 4, /expect must be one of/);
    assertProblem(check('{ rows: -1 }'), 4, /rows must be a whole number/);
    assertProblem(check('{ rows: 1.5 }'), 4, /rows must be a whole number/);
    assertProblem(check('{ min: "1" }'), 4, /min must be a number/);
    assertProblem(check('{ min: 5, max: 1 }'), 4, /min \(5\) is greater than expect.max \(1\)/);
    assertProblem(check('{ equals: [1, 2] }'), 4, /equals must be a plain value/);
    assertProblem('checks:\n  - name: a\n    sql: select 1\n', 2, /missing expect:/);
    assertProblem('checks:\n  - name: a\n    sql: select 1\n    params: admin\n    expect: { rows: 1 }\n', 4, /params must be a list/);
    assertProblem('checks:\n  - name: a\n    sql: select 1\n    params: [{ a: 1 }]\n    expect: { rows: 1 }\n', 4, /each param must be a plain value/);
  });

  it('login checks: required keys, sql-only keys, and a password pasted into password-env is not echoed', () => {
    assertProblem('checks:\n  - name: a\n    login:\n      query: q\n      password-env: P\n', 4, /login is missing identity:/);
    assertProblem('checks:\n  - name: a\n    login: { query: q, identity: i, password-env: P }\n    expect: { rows: 1 }\n', 4, /expect is only for sql checks/);
    assertProblem('checks:\n  - name: a\n    login: select 1\n', 3, /login must be a map/);
    const error = failure('checks:\n  - name: a\n    login: { query: q, identity: i, password-env: "s3cr3t pa55!" }\n');
    assert.match(error.message, /:3:\d+: .*password-env must be the NAME of an environment variable/);
    assert.ok(!error.message.includes('s3cr3t'));
  });

  it('empty files, wrong top-level shapes and versions', () => {
    assertProblem('', 1, /the file is empty/);
    assertProblem('# nothing yet\n', 1, /the file is empty/);
    assertProblem('- name: a\n', 1, /top level must be a map/);
    assertProblem('version: 1\n', 1, /missing `checks:` list/);
    assertProblem('version: 1\nchecks: []\n', 2, /checks is empty/);
    assertProblem('checks:\n  name: a\n', 2, /checks must be a list/);
    assertProblem('version: 2\nchecks:\n  - name: a\n    sql: select 1\n    expect: { rows: 1 }\n', 1, /version must be 1/);
    assertProblem('checks:\n  - just a string\n', 2, /check #1: must be a map/);
  });

  it('reports every problem at once, sorted by line', () => {
    const error = failure('checks:\n  - name: a\n    sql: select 1\n    expect: { rows: x }\n  - name: b\n    sqll: select 1\nextra: 1\n');
    assert.deepEqual(
      error.problems.map((p) => p.line),
      [4, 5, 6, 7],
    );
    assert.match(error.message, /^Checks file ci\/checks\.yml has 4 problems:\n {2}ci\/checks\.yml:4:/);
    assert.match(error.describe(), /See docs\/CHECKS\.md/);
  });
});
