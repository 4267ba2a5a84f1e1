// Reads the user's checks file (docs/CHECKS.md): SQL assertions and login checks that a restore
// drill runs against the restored database. Every problem is reported as `path:line:col: …`, all at
// once, so a user fixes the file in one round instead of one error per CI run.

import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Pair, type YAMLMap } from 'yaml';
import { UsageError } from '../errors.js';

export type ScalarValue = string | number | boolean | null;

/** `equals`/`min`/`max` look at the first column of the first row; `rows` at the row count. */
export type Expectation = { type: 'equals'; value: ScalarValue } | { type: 'range'; min?: number; max?: number } | { type: 'rows'; count: number };

export interface SqlCheck {
  kind: 'sql';
  name: string;
  /** Line of the check in the file, for reports. */
  line: number;
  sql: string;
  params: ScalarValue[];
  expect: Expectation;
}

export interface LoginCheck {
  kind: 'login';
  name: string;
  line: number;
  /** Selects the stored password hash; `identity` is bound as $1. */
  query: string;
  identity: string;
  /** Name of the environment variable that holds the password. */
  passwordEnv: string;
}

export type Check = SqlCheck | LoginCheck;

export interface ChecksFile {
  path: string;
  version: 1;
  checks: Check[];
}

export interface ChecksProblem {
  line: number;
  col: number;
  message: string;
}

/** A checks file that cannot be used; `problems` lets a shell annotate each line. */
export class ChecksFileError extends UsageError {
  readonly path: string;
  readonly problems: ChecksProblem[];
  constructor(path: string, problems: ChecksProblem[]) {
    problems = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
    const lines = problems.map((p) => `${path}:${p.line}:${p.col}: ${p.message}`);
    const message = lines.length === 1 ? `Checks file ${lines[0]}` : `Checks file ${path} has ${lines.length} problems:\n  ${lines.join('\n  ')}`;
    super(message, { input: 'checks', hint: 'See docs/CHECKS.md for the format.' });
    this.path = path;
    this.problems = problems;
  }
}

const TOP_KEYS = ['version', 'checks'];
const CHECK_KEYS = ['name', 'sql', 'params', 'expect', 'login'];
const LOGIN_KEYS = ['query', 'identity', 'password-env'];
const EXPECT_KEYS = ['equals', 'min', 'max', 'rows'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function loadChecksFile(path: string): Promise<ChecksFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? (error as Error).message})`;
    throw new UsageError(`Checks file ${path} ${what}.`, {
      input: 'checks',
      hint: 'Set `checks` to the path of a YAML file in the repository (see docs/CHECKS.md).',
      cause: error,
    });
  }
  return parseChecksFile(text, path);
}

/** Parses and validates; throws ChecksFileError listing every problem with its line. */
export function parseChecksFile(text: string, path: string): ChecksFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const r = new Reader(doc, lc);
  if (doc.errors.length) {
    // The tree after a syntax error is unreliable: report the syntax errors alone.
    for (const e of doc.errors) {
      r.problemAt(e.pos[0], e.code === 'MULTIPLE_DOCS' ? 'the file must hold a single YAML document (found another `---`)' : e.message);
    }
    throw new ChecksFileError(path, r.problems);
  }
  const checks = r.readRoot();
  if (r.problems.length) throw new ChecksFileError(path, r.problems);
  return { path, version: 1, checks };
}

type Node = unknown;

class Reader {
  readonly problems: ChecksProblem[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  problemAt(offset: number, message: string): void {
    const { line, col } = this.lc.linePos(offset);
    this.problems.push({ line: Math.max(line, 1), col, message });
  }

  problem(node: Node, message: string, fallback = 0): void {
    this.problemAt(this.offset(node) ?? fallback, message);
  }

  offset(node: Node): number | undefined {
    return (node as { range?: [number, number, number] } | null)?.range?.[0];
  }

  line(node: Node): number {
    return Math.max(this.lc.linePos(this.offset(node) ?? 0).line, 1);
  }

  /** Follows `*alias` references so anchors work like plain values. */
  deref(node: Node): Node {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /** Map entries keyed by string, reporting unknown keys at the key's line. */
  entries(map: YAMLMap, allowed: string[], where: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const pair of map.items as Pair[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined || !allowed.includes(key)) {
        this.problem(pair.key, `${where}: unknown key ${JSON.stringify(key ?? '(complex key)')} (allowed: ${allowed.join(', ')})`, this.offset(map));
        continue;
      }
      out.set(key, pair);
    }
    return out;
  }

  value(pair: Pair): Node {
    return this.deref(pair.value);
  }

  /** The value node, or the key when the value is empty (so the line points somewhere useful). */
  at(pair: Pair): Node {
    return pair.value ?? pair.key;
  }

  text(pair: Pair, where: string, key: string, { numbers = false } = {}): string | undefined {
    const node = this.value(pair);
    const v = isScalar(node) ? node.value : undefined;
    if ((typeof v === 'string' && v.trim() !== '') || (numbers && typeof v === 'number')) return String(v);
    this.problem(this.at(pair), `${where}: ${key} must be a non-empty ${numbers ? 'string or number' : 'string'}`);
    return undefined;
  }

  readRoot(): Check[] {
    const root = this.deref(this.doc.contents);
    if (root === null || root === undefined || (isScalar(root) && root.value === null)) {
      this.problemAt(0, 'the file is empty; expected a map with a `checks:` list');
      return [];
    }
    if (!isMap(root)) {
      this.problem(root, 'the top level must be a map with a `checks:` list');
      return [];
    }
    const top = this.entries(root, TOP_KEYS, 'top level');
    const version = top.get('version');
    if (version) {
      const v = this.value(version);
      if (!isScalar(v) || v.value !== 1) this.problem(this.at(version), 'version must be 1 (the only format so far)');
    }
    const list = top.get('checks');
    if (!list) {
      this.problem(root, 'missing `checks:` list');
      return [];
    }
    const seq = this.value(list);
    if (!isSeq(seq) || seq.items.length === 0) {
      this.problem(this.at(list), isSeq(seq) ? 'checks is empty; add at least one check' : 'checks must be a list (each item starts with `- name:`)');
      return [];
    }
    const checks: Check[] = [];
    seq.items.forEach((item, index) => {
      const check = this.readCheck(this.deref(item), index, this.offset(seq) ?? 0);
      if (check) checks.push(check);
    });
    return checks;
  }

  /** Name → line of its first use; names key results and reports, so they must be unique. */
  private readonly names = new Map<string, number>();

  readCheck(node: Node, index: number, fallback: number): Check | undefined {
    if (!isMap(node)) {
      this.problem(node, `check #${index + 1}: must be a map with name: and sql: or login:`, fallback);
      return undefined;
    }
    const line = this.line(node);
    const keys = this.entries(node, CHECK_KEYS, `check #${index + 1}`);
    const namePair = keys.get('name');
    const name = namePair ? this.text(namePair, `check #${index + 1}`, 'name', { numbers: true }) : undefined;
    if (!namePair) this.problem(node, `check #${index + 1}: missing name:`);
    if (name !== undefined) {
      const first = this.names.get(name);
      if (first !== undefined)
        this.problem(namePair!.value, `check ${JSON.stringify(name)}: duplicate name (first used on line ${first}); names must be unique`);
      else this.names.set(name, line);
    }
    const where = name === undefined ? `check #${index + 1}` : `check ${JSON.stringify(name)}`;
    const sql = keys.get('sql');
    const login = keys.get('login');
    if (!sql && !login) {
      this.problem(node, `${where}: needs either sql: (an assertion) or login: (a login check)`);
      return undefined;
    }
    if (sql && login) {
      this.problem(login.key, `${where}: has both sql: and login:; split it into two checks`);
      return undefined;
    }
    if (login) {
      for (const k of ['params', 'expect']) {
        const p = keys.get(k);
        if (p) this.problem(p.key, `${where}: ${k} is only for sql checks; a login check takes login: { query, identity, password-env }`);
      }
      const parsed = this.readLogin(login, where);
      return parsed && name !== undefined ? { kind: 'login', name, line, ...parsed } : undefined;
    }
    const text = this.text(sql!, where, 'sql');
    const params = this.readParams(keys.get('params'), where);
    const expectPair = keys.get('expect');
    if (!expectPair) this.problem(node, `${where}: missing expect: (one of equals, min, max, rows), e.g. expect: { min: 1 }`);
    const expect = expectPair ? this.readExpect(expectPair, where) : undefined;
    if (name === undefined || text === undefined || !params || !expect) return undefined;
    return { kind: 'sql', name, line, sql: text, params, expect };
  }

  readParams(pair: Pair | undefined, where: string): ScalarValue[] | undefined {
    if (!pair) return [];
    const seq = this.value(pair);
    if (!isSeq(seq)) {
      this.problem(this.at(pair), `${where}: params must be a list, e.g. params: [admin]`);
      return undefined;
    }
    const out: ScalarValue[] = [];
    for (const item of seq.items) {
      const v = this.deref(item);
      if (!isScalar(v) || !isScalarValue(v.value)) {
        this.problem(item, `${where}: each param must be a plain value (string, number, boolean or null)`);
        return undefined;
      }
      out.push(v.value);
    }
    return out;
  }

  readExpect(pair: Pair, where: string): Expectation | undefined {
    const map = this.value(pair);
    const shape = 'one of { equals: <value> }, { rows: <n> }, { min: <n> }, { max: <n> } or { min: <n>, max: <n> }';
    if (!isMap(map)) {
      this.problem(this.at(pair), `${where}: expect must be ${shape}`);
      return undefined;
    }
    const keys = this.entries(map, EXPECT_KEYS, `${where}: expect`);
    const given = [...keys.keys()];
    const numbers: Record<string, number> = {};
    let bad = false;
    for (const [key, p] of keys) {
      if (key === 'equals') continue;
      const v = this.value(p);
      const n = isScalar(v) ? v.value : undefined;
      const ok = typeof n === 'number' && Number.isFinite(n) && (key !== 'rows' || (Number.isInteger(n) && n >= 0));
      if (!ok) {
        this.problem(this.at(p), `${where}: expect.${key} must be ${key === 'rows' ? 'a whole number ≥ 0' : 'a number'}`);
        bad = true;
      } else numbers[key] = n;
    }
    const alone = given.includes('equals') || given.includes('rows');
    if (given.length === 0 || (alone && given.length > 1)) {
      this.problem(map, `${where}: expect must be ${shape}`);
      return undefined;
    }
    if (bad) return undefined;
    if (given[0] === 'equals') {
      const v = this.value(keys.get('equals')!);
      if (!isScalar(v) || !isScalarValue(v.value)) {
        this.problem(this.at(keys.get('equals')!), `${where}: expect.equals must be a plain value (string, number, boolean or null)`);
        return undefined;
      }
      return { type: 'equals', value: v.value };
    }
    if (given[0] === 'rows') return { type: 'rows', count: numbers.rows! };
    if (numbers.min !== undefined && numbers.max !== undefined && numbers.min > numbers.max) {
      this.problem(map, `${where}: expect.min (${numbers.min}) is greater than expect.max (${numbers.max})`);
      return undefined;
    }
    return { type: 'range', min: numbers.min, max: numbers.max };
  }

  readLogin(pair: Pair, where: string): Pick<LoginCheck, 'query' | 'identity' | 'passwordEnv'> | undefined {
    const map = this.value(pair);
    if (!isMap(map)) {
      this.problem(this.at(pair), `${where}: login must be a map with query:, identity: and password-env:`);
      return undefined;
    }
    const keys = this.entries(map, LOGIN_KEYS, `${where}: login`);
    const missing = LOGIN_KEYS.filter((k) => !keys.has(k));
    if (missing.length) this.problem(map, `${where}: login is missing ${missing.map((k) => `${k}:`).join(', ')}`);
    const query = keys.has('query') ? this.text(keys.get('query')!, where, 'login.query') : undefined;
    const identity = keys.has('identity') ? this.text(keys.get('identity')!, where, 'login.identity', { numbers: true }) : undefined;
    const envPair = keys.get('password-env');
    let passwordEnv = envPair ? this.text(envPair, where, 'login.password-env') : undefined;
    if (envPair && passwordEnv !== undefined && !ENV_NAME.test(passwordEnv)) {
      // A value that is not a variable name may be the password itself pasted into the file: do not echo it.
      this.problem(this.at(envPair), `${where}: login.password-env must be the NAME of an environment variable (letters, digits, _), not the password`);
      passwordEnv = undefined;
    }
    if (query === undefined || identity === undefined || passwordEnv === undefined) return undefined;
    return { query, identity, passwordEnv };
  }
}

function isScalarValue(v: unknown): v is ScalarValue {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}
