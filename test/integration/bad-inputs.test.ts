// Issue 11: inputs are never silently reinterpreted. Each row runs the real CLI as a
// subprocess (TypeScript through tsx) with one bad input and asserts the documented exit
// code, that the message names the input and the value, says what to do, and shows no
// stack trace. None of these needs a database or a network: they fail before either.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';

const REPO = process.cwd();
const STACK_TRACE = /\n\s+at .+[:(].*\d+:\d+\)?/;
/** Words a message uses to say what to do. */
const WHAT_TO_DO =
  /\b(use|give|check|write|leave|set|install|keep|point|close|remove|free|fix|add|run|take|list|example|must be|only makes sense|needs|commands:)\b/i;

interface Row {
  /** What the row is about (the test name). */
  label: string;
  args: string[];
  code: number;
  /** The message names the input (and usually the value). */
  names: RegExp[];
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/index.ts'), ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const WORK = mkdtempSync(join(tmpdir(), 'bd-bad-inputs-'));
const p = (name: string) => join(WORK, name);
const st = p('store');
const b = (...args: string[]) => ['backup', '--storage', st, ...args];
const d = (...args: string[]) => ['drill', '--storage', st, ...args];
const r = (...args: string[]) => ['restore', 'latest', '--storage', st, ...args];
const rows: Row[] = [
  { label: 'storage missing', args: ['backup'], code: 2, names: [/'storage' is required/] },
  { label: 'storage s3:/bucket/x', args: ['backup', '--storage', 's3:/bucket/x'], code: 2, names: [/'storage'/, /s3:\/bucket\/x/, /s3:\/\/bucket\/x/] },
  { label: 'storage s3:bucket/x', args: ['backup', '--storage', 's3:bucket/x'], code: 2, names: [/'storage'/, /s3:bucket\/x/] },
  { label: 'storage S3://', args: ['backup', '--storage', 'S3://'], code: 2, names: [/'storage'/, /'S3:\/\/'/] },
  { label: 'storage s3://', args: ['backup', '--storage', 's3://'], code: 2, names: [/'storage'/, /'s3:\/\/'/] },
  { label: 'storage gs://', args: ['backup', '--storage', 'gs://b/x'], code: 2, names: [/'storage'/, /'gs:\/\/'/] },
  { label: 'storage ftp://', args: ['backup', '--storage', 'ftp://host/x'], code: 2, names: [/'storage'/, /'ftp:\/\/'/] },
  { label: 'storage https://', args: ['backup', '--storage', 'https://example.com/b'], code: 2, names: [/'storage'/, /'https:\/\/'/] },
  { label: 'storage bucket with capitals', args: ['backup', '--storage', 's3://My_Bucket/x'], code: 2, names: [/'storage'/, /My_Bucket/] },
  { label: 'storage bucket too short', args: ['backup', '--storage', 's3://ab/x'], code: 2, names: [/'storage'/, /s3:\/\/ab\/x/] },
  { label: 'storage file URL with a host', args: ['backup', '--storage', 'file://host/x'], code: 2, names: [/'storage'/, /file:\/\/host\/x/, /three slashes/] },
  { label: 'storage name:with-colon', args: ['backup', '--storage', 'backups:2024'], code: 2, names: [/'storage'/, /backups:2024/, /\.\/backups:2024/] },
  { label: 'storage on two lines', args: ['backup', '--storage', 'a\nb'], code: 2, names: [/'storage'/, /one line/] },
  { label: 'storage in /proc', args: ['backup', '--storage', '/proc/x'], code: 2, names: [/'storage'/, /\/proc\/x/, /proc file system/] },
  { label: 'storage in /sys', args: ['backup', '--storage', '/sys/x'], code: 2, names: [/'storage'/, /\/sys\/x/, /sysfs/] },
  { label: 'storage below a file', args: ['backup', '--storage', join(p('a-file'), 'x')], code: 5, names: [/a-file\/x/, /ENOTDIR/] },
  { label: 'list of a missing folder', args: ['list', '--storage', '/nonexistent'], code: 2, names: [/'storage'/, /\/nonexistent, which does not exist/] },
  { label: 'drill of a missing folder', args: ['drill', '--storage', p('missing')], code: 2, names: [/'storage'/, /missing, which does not exist/] },
  { label: 'name with a slash', args: b('--name', '../etc'), code: 2, names: [/'name'/, /'\.\.\/etc'/] },
  { label: 'name locks', args: b('--name', 'locks'), code: 2, names: [/'name'/, /'locks'/] },
  { label: 'name with a space', args: b('--name', 'a b'), code: 2, names: [/'name'/, /'a b'/] },
  { label: 'compression 12', args: b('--compression', '12'), code: 2, names: [/'compression'/, /'12'/] },
  { label: 'compression -1', args: b('--compression=-1'), code: 2, names: [/'compression'/, /'-1'/] },
  { label: 'compression fast', args: b('--compression', 'fast'), code: 2, names: [/'compression'/, /'fast'/] },
  { label: 'keep-last x', args: b('--keep-last', 'x'), code: 2, names: [/'keep-last'/, /'x'/] },
  { label: 'keep-daily -3', args: b('--keep-daily=-3'), code: 2, names: [/'keep-daily'/, /'-3'/] },
  { label: 'keep-weekly 1.5', args: b('--keep-weekly', '1.5'), code: 2, names: [/'keep-weekly'/, /'1\.5'/] },
  { label: 'jobs 0', args: d('--jobs', '0'), code: 2, names: [/'jobs'/, /'0'/] },
  { label: 'jobs 100', args: d('--jobs', '100'), code: 2, names: [/'jobs'/, /'100'/] },
  { label: 'max-age tomorrow', args: d('--max-age', 'tomorrow'), code: 2, names: [/'max-age'/, /'tomorrow'/] },
  { label: 'postgres-version latest', args: d('--postgres-version', 'latest'), code: 2, names: [/'postgres-version'/, /'latest'/] },
  { label: 'keep-database maybe', args: d('--keep-database=maybe'), code: 2, names: [/'--keep-database'/, /'maybe'/] },
  { label: 'keep-database maybe (a value after a yes/no flag)', args: d('--keep-database', 'maybe'), code: 2, names: [/'maybe'/, /--no-keep-database/] },
  { label: 'database-url mysql', args: b('--database-url', 'mysql://u:pw1@h/d'), code: 2, names: [/'database-url'/, /mysql:\/\/u:\*\*\*@h\/d/] },
  {
    label: 'database-url invalid host: shown with only the password masked',
    args: b('--database-url', 'postgres://app:hunter2pw@db host:5432/app'),
    code: 2,
    names: [/'database-url'/, /postgres:\/\/app:\*\*\*@db host:5432\/app/],
  },
  {
    label: 'database-url port out of range',
    args: b('--database-url', 'postgres://app:hunter2pw@db:99999/app'),
    code: 2,
    names: [/'database-url'/, /postgres:\/\/app:\*\*\*@db:99999\/app/, /1–65535/],
  },
  { label: 'database-url a bare word', args: b('--database-url', 'localhost'), code: 2, names: [/'database-url'/, /'localhost'/] },
  { label: 'drill-database-url mysql', args: d('--drill-database-url', 'mysql://x'), code: 2, names: [/'drill-database-url'/, /mysql:\/\/x/] },
  {
    label: 'postgres-bin-dir missing',
    args: b('--postgres-bin-dir', '/nonexistent'),
    code: 2,
    names: [/'postgres-bin-dir'/, /'\/nonexistent'/, /does not exist/],
  },
  { label: 'postgres-bin-dir without tools', args: b('--postgres-bin-dir', p('empty-bin')), code: 2, names: [/'postgres-bin-dir'/, /empty-bin/, /holds none/] },
  { label: 'postgres-bin-dir a file', args: b('--postgres-bin-dir', p('a-file')), code: 2, names: [/'postgres-bin-dir'/, /a-file/, /is a file/] },
  { label: 'files-exclude [', args: b('--files-path', p('uploads'), '--files-exclude', '['), code: 2, names: [/'files-exclude'/, /'\['/] },
  { label: 'files-exclude {a', args: b('--files-path', p('uploads'), '--files-exclude', '{a'), code: 2, names: [/'files-exclude'/, /'\{a'/] },
  { label: 'files-exclude absolute', args: b('--files-path', p('uploads'), '--files-exclude', '/etc/*'), code: 2, names: [/'files-exclude'/, /'\/etc\/\*'/] },
  { label: 'files-exclude with ..', args: b('--files-path', p('uploads'), '--files-exclude', '../x/*'), code: 2, names: [/'files-exclude'/, /'\.\.\/x\/\*'/] },
  {
    label: 'storage inside files-path',
    args: ['backup', '--storage', join(p('uploads'), 'backups'), '--files-path', p('uploads')],
    code: 2,
    names: [/'storage'/, /inside 'files-path'/],
  },
  {
    label: 'storage equal to files-path',
    args: ['backup', '--storage', p('uploads'), '--files-path', p('uploads')],
    code: 2,
    names: [/'storage'/, /inside 'files-path'/],
  },
  { label: 'files-path missing', args: b('--files-path', p('no-uploads')), code: 2, names: [/'files-path'/, /no-uploads/, /does not exist/] },
  { label: 'files-path a file', args: b('--files-path', p('a-file')), code: 2, names: [/'files-path'/, /a-file/] },
  {
    label: 'encrypt-recipients file missing',
    args: b('--encrypt-recipients', '/nonexistent/recipients.txt'),
    code: 2,
    names: [/'encrypt-recipients'/, /recipients\.txt/, /does not exist/],
  },
  { label: 'encrypt-recipients a folder', args: b('--encrypt-recipients', p('uploads')), code: 2, names: [/'encrypt-recipients'/, /uploads/, /not a file/] },
  { label: 'encrypt-recipients malformed key', args: b('--encrypt-recipients', 'age1notakey'), code: 2, names: [/encrypt-recipients/, /age1notakey/] },
  {
    label: 'decrypt-identity file missing',
    args: d('--decrypt-identity', './no-such-key.txt'),
    code: 2,
    names: [/'decrypt-identity'/, /no-such-key\.txt/, /does not exist/],
  },
  { label: 'decrypt-identity with ~', args: d('--decrypt-identity', '~/key.txt'), code: 2, names: [/'decrypt-identity'/, /~\/key\.txt/, /not expanded/] },
  { label: 's3-endpoint ftp', args: ['backup', '--storage', 's3://bucket/x', '--s3-endpoint', 'ftp://x'], code: 2, names: [/'s3-endpoint'/, /ftp:\/\/x/] },
  {
    label: 's3-endpoint ending with the bucket',
    args: ['backup', '--storage', 's3://bucket/x', '--s3-endpoint', 'http://127.0.0.1:9/bucket'],
    code: 2,
    names: [/'s3-endpoint'/, /ends with the bucket name/],
  },
  { label: 's3-force-path-style maybe', args: b('--s3-force-path-style=maybe'), code: 2, names: [/'--s3-force-path-style'/, /'maybe'/] },
  { label: 'connect-timeout soon', args: b('--connect-timeout', 'soon'), code: 2, names: [/'connect-timeout'/, /'soon'/] },
  { label: 'storage-timeout 0', args: b('--storage-timeout', '0'), code: 2, names: [/'storage-timeout'/, /'0'/] },
  { label: 'storage-timeout 2d', args: b('--storage-timeout', '2d'), code: 2, names: [/'storage-timeout'/, /'2d'/] },
  { label: 'ignore-schema-mismatch without force', args: r('--ignore-schema-mismatch'), code: 2, names: [/'ignore-schema-mismatch'/, /force/] },
  { label: 'parts logs', args: r('--parts', 'database,logs'), code: 2, names: [/'parts'/, /'logs'/] },
  { label: 'into-schema without tables', args: r('--into-schema', 'recovered'), code: 2, names: [/'into-schema'/, /'tables'/] },
  { label: 'checks file missing', args: d('--checks', '/nonexistent/checks.yml'), code: 2, names: [/checks/, /\/nonexistent\/checks\.yml/, /does not exist/] },
  { label: 'unknown command', args: ['backpu'], code: 2, names: [/Unknown command 'backpu'/] },
  { label: 'unknown option', args: b('--storag', 'x'), code: 2, names: [/Unknown option '--storag'/] },
];

describe('bad inputs: exit code, the input named, what to do, no stack trace', () => {
  const results = new Map<string, Promise<{ status: number | null; stdout: string; stderr: string }>>();

  before(async () => {
    await mkdir(p('uploads'), { recursive: true });
    await mkdir(p('empty-bin'), { recursive: true });
    await writeFile(p('a-file'), 'x');
    // All rows start at once, a few at a time: each is a fresh node process.
    const env = { ...process.env, NODE_OPTIONS: '', BACKUP_DRILL_DEBUG: '', BACKUP_DRILL_STORAGE: '', DATABASE_URL: '' };
    let next = 0;
    const slots: Array<() => void> = [];
    let running = 0;
    const acquire = () => (running < 4 ? (running++, Promise.resolve()) : new Promise<void>((resolve) => slots.push(resolve)));
    const release = () => (slots.length ? slots.shift()!() : running--);
    for (const row of rows) {
      next++;
      results.set(
        row.label,
        acquire().then(() => runCli(row.args, env).finally(release)),
      );
    }
    assert.equal(next, rows.length);
  });
  after(async () => {
    await Promise.allSettled(results.values());
    await rm(WORK, { recursive: true, force: true });
  });

  test('at least 50 bad inputs are covered', () => {
    assert.ok(rows.length >= 50, `${rows.length} rows`);
    assert.equal(new Set(rows.map((r) => r.label)).size, rows.length, 'labels are unique');
  });

  const documented = new Set<number>(Object.values(ExitCode));
  for (const row of rows) {
    test(row.label, async () => {
      const r = await results.get(row.label)!;
      const out = `exit ${r.status}\n${r.stderr}`;
      assert.equal(r.status, row.code, out);
      assert.ok(documented.has(r.status ?? -1), `documented exit code: ${out}`);
      for (const p of row.names) assert.match(r.stderr, p, out);
      assert.match(r.stderr, WHAT_TO_DO, `says what to do: ${out}`);
      assert.match(r.stderr, /^error: /m, out);
      assert.doesNotMatch(r.stderr, STACK_TRACE, out);
      assert.doesNotMatch(r.stderr, /hunter2pw|pw1@/, `no password: ${out}`);
    });
  }
});
