// Class 7, bad inputs: every row is a flag or env value a user could get wrong.
// Each must end with a message that names the input, says what to do, shows no
// stack trace, and exits with the documented code (2 for usage). Issue 11, why 6
// ("inputs silently misread") and why 4 (`--storage /proc/x` spins forever).
import { after, before, describe } from 'node:test';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, hasStackTrace, runCli } from './helpers/cli.js';
import { startWorld, takeBackup, type World } from './helpers/fixture.js';
import { faultTest, QUICK } from './helpers/tally.js';

interface BadInput {
  /** Issue 11's number when the row reproduces one of its numbered cases. */
  why?: number;
  what: string;
  args: (c: Ctx) => string[];
  env?: (c: Ctx) => Record<string, string>;
  /** Documented exit codes that are acceptable. */
  exit: number[];
  /** What the message must contain (names the input / the value). */
  names: RegExp;
  /** Extra assertion on the output; returns a problem or undefined. */
  extra?: (out: string) => string | undefined;
  quick?: boolean;
  /** After the run: a problem with the world (e.g. a folder it should not have written). */
  afterwards?: (c: Ctx) => Promise<string | undefined>;
}

interface Ctx {
  world: World;
  storage: string;
  db: string;
  uploads: string;
  cwd: string;
  badYaml: string;
}

const SAYS_WHAT_TO_DO =
  /\b(use|set|give|check|create|pass|add|remove|choose|point|run|must|should|example|e\.g\.|write|install|expected|try|fix|leave|wait|delete|needs?|allowed|supported|list|print|provide)\b/i;

const backup = (c: Ctx, ...more: string[]) => ['backup', '--storage', c.storage, '--database-url', c.db, ...more];
const drill = (c: Ctx, ...more: string[]) => ['drill', '--storage', c.storage, ...more];

const noLocalFolderNamed = (name: string) => async (c: Ctx) => {
  const entries = await readdir(c.cwd);
  return entries.some((e) => e.startsWith(name))
    ? `a local folder '${entries.find((e) => e.startsWith(name))}' was written in the working directory`
    : undefined;
};

const ROWS: BadInput[] = [
  // storage
  {
    why: 6,
    what: '--storage s3:/bucket/x (one slash)',
    args: (c) => ['backup', '--storage', 's3:/bucket/x', '--database-url', c.db],
    exit: [2],
    names: /storage/,
    quick: true,
    afterwards: noLocalFolderNamed('s3:'),
  },
  {
    why: 6,
    what: '--storage s3:bucket/x (no slashes)',
    args: (c) => ['backup', '--storage', 's3:bucket/x', '--database-url', c.db],
    exit: [2],
    names: /storage/,
    afterwards: noLocalFolderNamed('s3:'),
  },
  {
    what: '--storage gs://bucket/x (unknown scheme)',
    args: (c) => ['backup', '--storage', 'gs://bucket/x', '--database-url', c.db],
    exit: [2],
    names: /storage/,
  },
  { what: '--storage ftp://host/x', args: () => ['list', '--storage', 'ftp://host/x'], exit: [2], names: /storage/ },
  { what: '--storage s3:// (no bucket)', args: (c) => ['backup', '--storage', 's3://', '--database-url', c.db], exit: [2], names: /storage/ },
  { what: '--storage s3://Bad_Bucket!/x', args: (c) => ['backup', '--storage', 's3://Bad_Bucket!/x', '--database-url', c.db], exit: [2], names: /storage/ },
  { what: '--storage "" (empty)', args: (c) => ['backup', '--storage', '', '--database-url', c.db], exit: [2], names: /storage/ },
  {
    why: 4,
    what: '--storage /proc/x (special file system)',
    args: (c) => ['backup', '--storage', '/proc/bd-faults-x', '--database-url', c.db],
    exit: [2, 5],
    names: /\/proc\/bd-faults-x/,
    quick: true,
  },
  {
    what: '--storage below a regular file',
    args: (c) => ['backup', '--storage', '/etc/hostname/backups', '--database-url', c.db],
    exit: [2, 5],
    names: /\/etc\/hostname/,
  },
  {
    why: 6,
    what: 'storage inside files-path',
    args: (c) => backup(c, '--files-path', c.uploads).map((a) => (a === c.storage ? join(c.uploads, 'backups-inside') : a)),
    exit: [2],
    names: /files-path|storage/,
    quick: true,
  },
  {
    why: 6,
    what: 'list --storage /nonexistent',
    args: () => ['list', '--storage', '/nonexistent-bd-faults'],
    exit: [2],
    names: /\/nonexistent-bd-faults/,
    extra: (out) => (/not exist|missing|no such|not found/i.test(out) ? undefined : 'does not say the folder is missing'),
    quick: true,
  },
  {
    what: 'verify latest --storage /nonexistent',
    args: () => ['verify', 'latest', '--storage', '/nonexistent-bd-faults'],
    exit: [2],
    names: /\/nonexistent-bd-faults/,
  },
  {
    what: 'BACKUP_DRILL_STORAGE=s3:bucket/x (env)',
    args: (c) => ['backup', '--database-url', c.db],
    env: () => ({ BACKUP_DRILL_STORAGE: 's3:bucket/x' }),
    exit: [2],
    names: /storage|BACKUP_DRILL_STORAGE/,
    afterwards: noLocalFolderNamed('s3:'),
  },
  { what: '--name ../escape', args: (c) => backup(c, '--name', '../escape'), exit: [2], names: /name/ },
  { what: '--name a/b', args: (c) => backup(c, '--name', 'a/b'), exit: [2], names: /name/ },
  { what: '--name locks', args: (c) => backup(c, '--name', 'locks'), exit: [2], names: /name/ },
  {
    what: '--s3-endpoint "not a url"',
    args: (c) => ['backup', '--storage', 's3://bucket/x', '--s3-endpoint', 'not a url', '--database-url', c.db],
    exit: [2],
    names: /s3-endpoint/,
  },
  {
    what: '--s3-force-path-style=maybe',
    args: () => ['list', '--storage', 's3://bucket/x', '--s3-force-path-style=maybe'],
    exit: [2],
    names: /s3-force-path-style/,
  },
  // binaries, files
  {
    why: 6,
    what: '--postgres-bin-dir /nonexistent',
    args: (c) => backup(c, '--postgres-bin-dir', '/nonexistent-bd-bin'),
    exit: [2],
    names: /postgres-bin-dir|\/nonexistent-bd-bin/,
    quick: true,
  },
  { what: '--postgres-bin-dir /etc (no pg_dump there)', args: (c) => backup(c, '--postgres-bin-dir', '/etc'), exit: [2, 6], names: /postgres-bin-dir|\/etc/ },
  {
    why: 6,
    what: "--files-exclude '['",
    args: (c) => backup(c, '--files-path', c.uploads, '--files-exclude', '['),
    exit: [2],
    names: /files-exclude/,
    quick: true,
  },
  {
    why: 6,
    what: '--files-exclude with an absolute pattern',
    args: (c) => backup(c, '--files-path', c.uploads, '--files-exclude', `${c.uploads}/cache/**`),
    exit: [2],
    names: /files-exclude/,
  },
  { what: '--files-path /nonexistent', args: (c) => backup(c, '--files-path', '/nonexistent-bd-files'), exit: [2], names: /files-path/ },
  { what: '--files-path a regular file', args: (c) => backup(c, '--files-path', '/etc/hostname'), exit: [2], names: /files-path/ },
  // numbers
  { what: '--compression 10', args: (c) => backup(c, '--compression', '10'), exit: [2], names: /compression/, quick: true },
  { what: '--compression -1', args: (c) => backup(c, '--compression=-1'), exit: [2], names: /compression/ },
  { what: '--compression abc', args: (c) => backup(c, '--compression', 'abc'), exit: [2], names: /compression/ },
  { what: '--compression 1.5', args: (c) => backup(c, '--compression', '1.5'), exit: [2], names: /compression/ },
  // `zstd` is a valid codec since format 4 (issue 16); an out-of-range zstd level is still refused.
  { what: '--compression zstd:20', args: (c) => backup(c, '--compression', 'zstd:20'), exit: [2], names: /compression/ },
  { what: 'BACKUP_DRILL_COMPRESSION=11 (env)', args: (c) => backup(c), env: () => ({ BACKUP_DRILL_COMPRESSION: '11' }), exit: [2], names: /compression/ },
  { what: '--keep-last -1', args: (c) => backup(c, '--keep-last=-1'), exit: [2], names: /keep-last/, quick: true },
  { what: '--keep-last 1e99 (huge)', args: (c) => backup(c, '--keep-last', '1e99'), exit: [2], names: /keep-last/ },
  {
    what: '--keep-last 99999999999999999999 (huge)',
    args: (c) => ['prune', '--storage', c.storage, '--keep-last', '99999999999999999999'],
    exit: [2],
    names: /keep-last/,
  },
  { what: '--keep-daily abc', args: (c) => ['prune', '--storage', c.storage, '--keep-daily', 'abc'], exit: [2], names: /keep-daily/ },
  { what: '--keep-weekly 1.5', args: (c) => ['prune', '--storage', c.storage, '--keep-weekly', '1.5'], exit: [2], names: /keep-weekly/ },
  { what: '--keep-monthly -3', args: (c) => ['prune', '--storage', c.storage, '--keep-monthly=-3'], exit: [2], names: /keep-monthly/ },
  { what: '--keep-last 0 (keeps nothing)', args: (c) => ['prune', '--storage', c.storage, '--keep-last', '0'], exit: [2], names: /keep-last/ },
  { what: 'prune without a policy', args: (c) => ['prune', '--storage', c.storage], exit: [2], names: /keep-/ },
  { what: '--jobs 0 (drill)', args: (c) => drill(c, '--jobs', '0'), exit: [2], names: /jobs/ },
  { what: '--jobs -2 (restore)', args: (c) => ['restore', 'latest', '--storage', c.storage, '--database-url', c.db, '--jobs=-2'], exit: [2], names: /jobs/ },
  { what: '--max-age soon', args: (c) => drill(c, '--max-age', 'soon'), exit: [2], names: /max-age/, quick: true },
  { what: '--max-age -1h', args: (c) => drill(c, '--max-age=-1h'), exit: [2], names: /max-age/ },
  { what: '--max-age 26x', args: (c) => drill(c, '--max-age', '26x'), exit: [2], names: /max-age/ },
  { what: '--postgres-version abc', args: (c) => drill(c, '--postgres-version', 'abc'), exit: [2], names: /postgres-version/ },
  // No binaries of that major here: "could not run here" (environment, exit 9) since issue 11's exit-code table.
  { what: '--postgres-version 99', args: (c) => drill(c, '--postgres-version', '99'), exit: [2, 9], names: /postgres-version|99/ },
  // database urls
  {
    why: 6,
    what: '--database-url with a bad port (only the password masked)',
    args: (c) => backup(c).map((a) => (a === c.db ? 'postgres://app:pw-s3cret-x@127.0.0.1:notaport/app' : a)),
    exit: [2],
    names: /database-url/,
    quick: true,
    extra: (out) =>
      out.includes('pw-s3cret-x')
        ? 'the password is shown'
        : /127\.0\.0\.1/.test(out) && /notaport/.test(out)
          ? undefined
          : 'the URL is masked whole: host and port are not shown',
  },
  { what: '--database-url "not a url"', args: (c) => backup(c).map((a) => (a === c.db ? 'not a url' : a)), exit: [2], names: /database-url/ },
  { what: '--database-url mysql://u@h/db', args: (c) => backup(c).map((a) => (a === c.db ? 'mysql://u@h/db' : a)), exit: [2], names: /database-url/ },
  {
    what: 'DATABASE_URL=garbage (env)',
    args: (c) => ['backup', '--storage', c.storage],
    env: () => ({ DATABASE_URL: 'garbage' }),
    exit: [2],
    names: /database-url|DATABASE_URL/,
  },
  {
    what: '--database-url to a closed port',
    args: (c) => backup(c).map((a) => (a === c.db ? 'postgres://app@127.0.0.1:1/app' : a)),
    exit: [4],
    names: /127\.0\.0\.1:1|database/,
  },
  { what: '--drill-database-url nonsense', args: (c) => drill(c, '--drill-database-url', 'nonsense'), exit: [2], names: /drill-database-url/ },
  // keys
  {
    why: 6,
    what: '--encrypt-recipients pointing at a missing file',
    args: (c) => backup(c, '--encrypt-recipients', '/nonexistent-bd/recipients.txt'),
    exit: [2],
    names: /encrypt-recipients/,
    quick: true,
    extra: (out) => (/not exist|missing|no such|not found/i.test(out) ? undefined : 'reported as a malformed key, not as a missing file'),
  },
  { what: '--encrypt-recipients age1notakey', args: (c) => backup(c, '--encrypt-recipients', 'age1notakey'), exit: [2], names: /encrypt-recipients/ },
  {
    why: 6,
    what: '--decrypt-identity pointing at a missing file',
    args: (c) => drill(c, '--decrypt-identity', '/nonexistent-bd/key.txt'),
    exit: [2],
    names: /decrypt-identity/,
    extra: (out) => (/not exist|missing|no such|not found/i.test(out) ? undefined : 'reported as a malformed key, not as a missing file'),
  },
  { what: '--decrypt-identity AGE-SECRET-KEY-1BAD', args: (c) => drill(c, '--decrypt-identity', 'AGE-SECRET-KEY-1BAD'), exit: [2], names: /decrypt-identity/ },
  // columns, checks, ids, parts
  { what: '--redact-columns nosuchtable.col', args: (c) => backup(c, '--redact-columns', 'nosuchtable.col'), exit: [2], names: /redact-columns/ },
  { what: '--redact-columns "users."', args: (c) => backup(c, '--redact-columns', 'users.'), exit: [2], names: /redact-columns/ },
  {
    what: '--sensitive-columns in clear',
    args: (c) => backup(c, '--sensitive-columns', 'users.password_hash'),
    exit: [2],
    names: /sensitive-columns|password_hash/,
  },
  { what: '--checks /nonexistent.yml', args: (c) => drill(c, '--checks', '/nonexistent-bd-checks.yml'), exit: [2], names: /checks/ },
  { what: '--checks a malformed YAML file', args: (c) => drill(c, '--checks', c.badYaml), exit: [2], names: /checks|bad\.yml/ },
  { what: 'drill --backup-id nonsense', args: (c) => drill(c, '--backup-id', 'nonsense'), exit: [2], names: /nonsense/ },
  {
    what: 'restore --parts everything',
    args: (c) => ['restore', 'latest', '--storage', c.storage, '--database-url', c.db, '--parts', 'everything'],
    exit: [2],
    names: /parts/,
  },
  {
    what: 'restore --into-schema without --tables',
    args: (c) => ['restore', 'latest', '--storage', c.storage, '--database-url', c.db, '--into-schema', 'copy'],
    exit: [2],
    names: /into-schema|tables/,
  },
  { what: 'verify without an id', args: (c) => ['verify', '--storage', c.storage], exit: [2], names: /backup-id|latest/ },
  { what: 'download without a folder', args: (c) => ['download', 'latest', '--storage', c.storage], exit: [2], names: /download|folder|dir/ },
  { what: 'unknown flag --frobnicate', args: (c) => backup(c, '--frobnicate'), exit: [2], names: /frobnicate/ },
  { what: 'unknown command backpu', args: () => ['backpu'], exit: [2], names: /backpu/ },
  { what: '--force=maybe', args: (c) => ['restore', 'latest', '--storage', c.storage, '--database-url', c.db, '--force=maybe'], exit: [2], names: /force/ },
];

describe('class 7: bad inputs', () => {
  const ctx = {} as Ctx;
  before(async () => {
    const world = await startWorld({ scale: 5 });
    ctx.world = world;
    ctx.storage = join(world.work, 'storage');
    ctx.db = world.sourceUrl;
    ctx.uploads = world.uploads;
    ctx.cwd = join(world.work, 'cwd');
    await mkdir(ctx.cwd);
    ctx.badYaml = join(world.work, 'bad.yml');
    await writeFile(ctx.badYaml, 'checks:\n  - sql: [unclosed\n   name: x: y: z\n');
    await takeBackup(world, ctx.storage);
  });
  after(() => ctx.world?.stop());

  for (const row of ROWS.filter((r) => !QUICK || r.quick)) {
    const name = `${row.why ? `why ${row.why}: ` : ''}${row.what}`;
    faultTest('input', name, async () => {
      const run = await runCli(row.args(ctx), { env: row.env?.(ctx), timeoutMs: 60_000, cwd: ctx.cwd });
      const out = `${run.stderr}\n${run.stdout}`;
      const problems: string[] = [];
      if (run.timedOut) problems.push('hung (killed after 60 s)');
      else if (!row.exit.includes(run.status ?? -1)) problems.push(`exit ${run.status}, documented: ${row.exit.join(' or ')}`);
      if (hasStackTrace(run)) problems.push('stack trace in the output');
      if (!row.names.test(out)) problems.push(`message does not name the input (${row.names})`);
      if (run.status !== 0 && !SAYS_WHAT_TO_DO.test(run.stderr)) problems.push('message does not say what to do');
      const extra = row.extra?.(out);
      if (extra) problems.push(extra);
      const after = await row.afterwards?.(ctx);
      if (after) problems.push(after);
      return problems.length ? `${problems.join('; ')} — ${describeRun(run)}` : undefined;
    });
  }
});
