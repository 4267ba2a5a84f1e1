// "Secrets (passphrases, identities, URLs with passwords) are masked in the action and
// never written to logs, reports, manifests or error messages."
//
// Runs the committed bundles as users run them — the action as the GitHub runner runs it
// (backup, restore-drill, and failing runs), the CLI with --json — with secrets that each
// carry a random token, then greps everything those runs wrote: stdout/stderr,
// GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY, every report file, every stored
// object (and the plaintext of every sealed one). The only place a secret may appear is
// an `::add-mask::` line of the action's stdout: that is how the runner is told to mask it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createDecryptStream } from '../../src/archive/age/index.js';
import { createSeededDatabase, startCluster, TEST_PASSWORDS, withClient } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { readCommandFile, runBundle, runnerFiles } from '../helpers/action-runner.js';

interface Secret {
  label: string;
  value: string;
  /** Forms the secret could leak in: as is, percent-encoded (inside a URL), a distinctive fragment. */
  forms: string[];
}

function secret(label: string, value: string, fragment?: string): Secret {
  const forms = new Set([value, encodeURIComponent(value), value.toLowerCase()]);
  if (fragment) forms.add(fragment);
  return { label, value, forms: [...forms] };
}

interface Artifact {
  where: string;
  bytes: Buffer;
}

/** The action's stdout as scanned: `::add-mask::` lines are the one place a secret belongs. */
function withoutMaskCommands(stdout: string): string {
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

/** Every (secret, artifact) pair where some form of the secret occurs. */
function findLeaks(artifacts: Artifact[], secrets: Secret[]): string[] {
  const leaks: string[] = [];
  for (const a of artifacts) {
    for (const s of secrets) {
      const form = s.forms.find((f) => a.bytes.includes(Buffer.from(f, 'utf8')));
      if (form !== undefined) {
        const at = a.bytes.indexOf(Buffer.from(form, 'utf8'));
        const context = a.bytes.subarray(Math.max(0, at - 80), at + form.length + 40).toString('utf8');
        leaks.push(`${s.label} in ${a.where}: …${context}…`);
      }
    }
  }
  return leaks;
}

const text = (where: string, s: string): Artifact => ({ where, bytes: Buffer.from(s, 'utf8') });

async function filesUnder(root: string, label: string): Promise<Artifact[]> {
  const out: Artifact[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push({ where: `${label}/${relative(root, p)}`, bytes: await readFile(p) });
    }
  };
  await walk(root);
  return out;
}

/** The plaintext of every sealed object (parts and the sealed manifest), decrypted with the key. */
async function unsealed(stored: Artifact[], root: string, label: string, key: { identities: string[]; passphrase?: string }): Promise<Artifact[]> {
  const out: Artifact[] = [];
  for (const a of stored) {
    if (!a.where.endsWith('.age')) continue;
    const chunks: Buffer[] = [];
    await pipeline(createReadStream(join(root, a.where.slice(label.length + 1))), createDecryptStream(key), async function* (source) {
      for await (const c of source) chunks.push(c as Buffer);
    });
    out.push({ where: `${a.where} (decrypted)`, bytes: Buffer.concat(chunks) });
  }
  return out;
}

const CLI_ENV_BASE = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' };

function runCli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['dist/cli/index.js', ...args], { encoding: 'utf8', timeout: 240_000, env: { ...CLI_ENV_BASE, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const hex = (n: number) => randomBytes(n).toString('hex');

describe('secrets never reach logs, reports, manifests, outputs or storage', () => {
  // Each secret carries a random token, so even a partial or re-encoded leak is found.
  const dbToken = hex(8);
  const DB_PASSWORD = `Db.${dbToken}/p@ss:wörd`;
  const wrongDbToken = hex(8);
  const WRONG_DB_PASSWORD = `Wrong.${wrongDbToken}/pw`;
  const passToken = hex(8);
  const PASSPHRASE = `correct ${passToken} staple ✓`;
  const wrongPassToken = hex(8);
  const WRONG_PASSPHRASE = `wrong ${wrongPassToken} staple`;
  const wrongCanaryToken = hex(8);
  const WRONG_ADMIN_PASSWORD = `not-the-admin-${wrongCanaryToken}`;

  let cluster: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;
  let sourceUrl: string;
  let wrongUrl: string;
  let serverUrl: string;
  let identity: string;
  let recipient: string;
  let wrongIdentity: string;
  let secrets: Secret[];
  const artifacts: Artifact[] = [];
  /** The action's unfiltered stdout of every run: the add-mask lines must be there. */
  const actionStdout: string[] = [];

  function agePair(): { identity: string; recipient: string } {
    const file = join(work.path, `key-${hex(4)}.txt`);
    assert.equal(spawnSync('age-keygen', ['-o', file]).status, 0, 'age-keygen');
    const id = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(readFileSync(file, 'utf8'))![0];
    const rec = spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' }).stdout.trim();
    return { identity: id, recipient: rec };
  }

  before(async () => {
    work = await tempDir('bd-secrets-');
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    cluster = await startCluster();
    await createSeededDatabase(cluster, 'helpdesk');
    // A login role with a password that needs percent-encoding in a URL, as real ones do.
    await withClient(cluster.url(), (c) => c.query(`CREATE ROLE backup_runner LOGIN SUPERUSER PASSWORD '${DB_PASSWORD}'`));
    const url = (password: string, db: string) => `postgres://backup_runner:${encodeURIComponent(password)}@127.0.0.1:${new URL(cluster.url()).port}/${db}`;
    sourceUrl = url(DB_PASSWORD, 'helpdesk');
    wrongUrl = url(WRONG_DB_PASSWORD, 'helpdesk');
    serverUrl = url(DB_PASSWORD, 'postgres');
    ({ identity, recipient } = agePair());
    wrongIdentity = agePair().identity;
    secrets = [
      secret('database password', DB_PASSWORD, dbToken),
      secret('wrong database password', WRONG_DB_PASSWORD, wrongDbToken),
      secret('encryption passphrase', PASSPHRASE, passToken),
      secret('wrong passphrase', WRONG_PASSPHRASE, wrongPassToken),
      secret('age identity', identity, identity.slice(20, 50)),
      secret('wrong age identity', wrongIdentity, wrongIdentity.slice(20, 50)),
      secret('canary password', TEST_PASSWORDS.canary),
      secret('wrong admin password', WRONG_ADMIN_PASSWORD, wrongCanaryToken),
    ];
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('the scanner finds a secret in a leaky string, in any form, and ignores only add-mask lines', () => {
    const s = [
      secret('database password', DB_PASSWORD, dbToken),
      secret('age identity', 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ', 'QQQQQQQQQQQQQQQQ'),
    ];
    assert.equal(findLeaks([text('log', `connecting to ${sourceUrl}`)], s).length, 1, 'URL-encoded password');
    assert.equal(findLeaks([text('log', `password=${DB_PASSWORD} host=x`)], s).length, 1, 'raw password');
    assert.equal(findLeaks([text('log', `pass …${dbToken}…`)], s).length, 1, 'fragment');
    assert.equal(findLeaks([text('log', 'key age-secret-key-1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq')], s).length, 1, 'lower-cased identity');
    assert.equal(
      findLeaks([{ where: 'blob', bytes: Buffer.concat([randomBytes(100), Buffer.from(DB_PASSWORD), randomBytes(100)]) }], s).length,
      1,
      'inside binary data',
    );
    assert.equal(findLeaks([text('log', 'connecting to postgres://backup_runner:***@127.0.0.1/helpdesk')], s).length, 0, 'redacted');
    const stdout = `::add-mask::${DB_PASSWORD}\nBackup started\n::error::login failed for ${DB_PASSWORD}\n`;
    assert.deepEqual(
      findLeaks([text('stdout', withoutMaskCommands(stdout))], s).map((l) => l.split(':')[0]),
      ['database password in stdout'],
    );
    assert.equal(findLeaks([text('stdout', withoutMaskCommands(`::add-mask::${DB_PASSWORD}\nok\n`))], s).length, 0);
  });

  function collectAction(label: string, r: { stdout: string; stderr: string }) {
    actionStdout.push(r.stdout);
    artifacts.push(text(`${label} stdout`, withoutMaskCommands(r.stdout)), text(`${label} stderr`, r.stderr));
  }

  async function runnerDir(name: string) {
    const dir = join(work.path, 'runner', name);
    await mkdir(dir, { recursive: true });
    return runnerFiles(dir);
  }

  test('action: encrypted backup with a passphrase and a database URL with a password', async () => {
    const files = await runnerDir('backup');
    const r = runBundle(
      'dist/action/index.js',
      { mode: 'backup', 'database-url': sourceUrl, storage: join(work.path, 'action-store'), 'files-path': uploads, 'encrypt-passphrase': PASSPHRASE },
      files,
    );
    collectAction('action backup', r);
    assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-3000));
    assert.match(readCommandFile(files.output)['backup-id'] ?? '', /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    // The runner is told to mask the password (as decoded from the URL) and the passphrase.
    assert.ok(r.stdout.split('\n').includes(`::add-mask::${DB_PASSWORD}`), 'database password masked');
    assert.ok(r.stdout.split('\n').includes(`::add-mask::${PASSPHRASE}`), 'passphrase masked');
  });

  test('action: restore drill with decrypt-passphrase, a drill server URL with a password, and a canary login from an env var', async () => {
    const checks = join(work.path, 'checks.yml');
    await writeFile(
      checks,
      `checks:\n  - name: canary login\n    login:\n      query: select password_hash from users where email = $1\n      identity: canary@example.com\n      password-env: CANARY_PASSWORD\n`,
    );
    const files = await runnerDir('drill');
    const r = runBundle(
      'dist/action/index.js',
      { mode: 'restore-drill', storage: join(work.path, 'action-store'), 'decrypt-passphrase': PASSPHRASE, 'drill-database-url': serverUrl, checks },
      files,
      { env: { CANARY_PASSWORD: TEST_PASSWORDS.canary } },
    );
    collectAction('action drill', r);
    assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-3000));
    const out = readCommandFile(files.output);
    assert.equal(out.status, 'passed');
    assert.equal(out['failed-checks'], '0');
    // The reports went under RUNNER_TEMP (collected with the runner files below).
    assert.ok(out['report-path']?.startsWith(files.dir), out['report-path']);
    const report = JSON.parse(await readFile(out['report-path']!, 'utf8')) as { checks: Array<{ name: string; status: string }> };
    assert.equal(report.checks.find((c) => c.name === 'canary login')?.status, 'passed');
    assert.ok(r.stdout.split('\n').includes(`::add-mask::${PASSPHRASE}`), 'passphrase masked');
    assert.ok(r.stdout.split('\n').includes(`::add-mask::${DB_PASSWORD}`), 'drill server password masked');
    // The drill's database on the given server was dropped afterwards.
    const left = await withClient(serverUrl, async (c) => (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'bd\\_drill\\_%'`)).rows);
    assert.deepEqual(left, []);
  });

  test('action: a backup with a wrong database password fails, saying so without the password', async () => {
    const files = await runnerDir('backup-fail');
    const r = runBundle(
      'dist/action/index.js',
      { mode: 'backup', 'database-url': wrongUrl, storage: join(work.path, 'action-store-fail'), 'encrypt-passphrase': PASSPHRASE },
      files,
    );
    collectAction('action failed backup', r);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /::error::.*rejected the login/);
    assert.ok(r.stdout.split('\n').includes(`::add-mask::${WRONG_DB_PASSWORD}`), 'the wrong password is masked too');
  });

  test('action: a drill with a wrong passphrase fails, saying so without either passphrase', async () => {
    const files = await runnerDir('drill-fail');
    const r = runBundle(
      'dist/action/index.js',
      { mode: 'restore-drill', storage: join(work.path, 'action-store'), 'decrypt-passphrase': WRONG_PASSPHRASE },
      files,
    );
    collectAction('action failed drill', r);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /::error::.*wrong passphrase/);
  });

  test('CLI --json: backup to a recipient with a database URL with a password', () => {
    const r = runCli([
      'backup',
      '--json',
      '--storage',
      join(work.path, 'cli-store'),
      '--database-url',
      sourceUrl,
      '--files-path',
      uploads,
      '--encrypt-recipients',
      recipient,
    ]);
    artifacts.push(text('cli backup stdout', r.stdout), text('cli backup stderr', r.stderr));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match((JSON.parse(r.stdout) as { backupId: string }).backupId, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  });

  test('CLI --json: drill with the identity inline; a login check with a wrong password fails without echoing it', async () => {
    const checks = join(work.path, 'cli-checks.yml');
    await writeFile(
      checks,
      `checks:
  - name: canary login
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: CANARY_PASSWORD
  - name: admin login
    login:
      query: select password_hash from users where email = $1
      identity: admin@example.com
      password-env: ADMIN_PASSWORD
`,
    );
    const reportDir = join(work.path, 'cli-reports');
    const r = runCli(
      ['drill', '--json', '--storage', join(work.path, 'cli-store'), '--decrypt-identity', identity, '--checks', checks, '--report-dir', reportDir],
      {
        CANARY_PASSWORD: TEST_PASSWORDS.canary,
        ADMIN_PASSWORD: WRONG_ADMIN_PASSWORD,
      },
    );
    artifacts.push(text('cli drill stdout', r.stdout), text('cli drill stderr', r.stderr));
    assert.equal(r.status, 3, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      status: string;
      tables: Array<{ status: string }>;
      checks: Array<{ name: string; status: string; message: string }>;
    };
    assert.equal(report.status, 'failed');
    assert.ok(report.tables.length >= 8 && report.tables.every((t) => t.status === 'passed'), 'the identity opened every part');
    assert.equal(report.checks.find((c) => c.name === 'canary login')?.status, 'passed');
    const admin = report.checks.find((c) => c.name === 'admin login')!;
    assert.equal(admin.status, 'failed');
    assert.match(admin.message, /does not match/);
    assert.equal((await readdir(reportDir)).filter((f) => /^drill-.*\.(json|junit\.xml)$/.test(f)).length, 2);
  });

  test('CLI --json: failures (wrong identity, wrong database password) say so without the secret', () => {
    const drill = runCli([
      'drill',
      '--json',
      '--storage',
      join(work.path, 'cli-store'),
      '--decrypt-identity',
      wrongIdentity,
      '--report-dir',
      join(work.path, 'cli-reports'),
    ]);
    artifacts.push(text('cli failed drill stdout', drill.stdout), text('cli failed drill stderr', drill.stderr));
    assert.equal(drill.status, 7, drill.stdout + drill.stderr);
    assert.match((JSON.parse(drill.stdout) as { error: { message: string } }).error.message, /wrong key/);
    const backup = runCli(['backup', '--json', '--storage', join(work.path, 'cli-store-fail'), '--database-url', wrongUrl]);
    artifacts.push(text('cli failed backup stdout', backup.stdout), text('cli failed backup stderr', backup.stderr));
    assert.equal(backup.status, 4, backup.stdout + backup.stderr);
    assert.match((JSON.parse(backup.stdout) as { error: { message: string } }).error.message, /rejected the login/);
  });

  test('no secret in any output, summary, state, report, stored object or sealed manifest', async () => {
    const runner = await filesUnder(join(work.path, 'runner'), 'runner');
    const reports = await filesUnder(join(work.path, 'cli-reports'), 'cli-reports');
    const actionStore = await filesUnder(join(work.path, 'action-store'), 'action-store');
    const cliStore = await filesUnder(join(work.path, 'cli-store'), 'cli-store');
    const failedStores = [
      ...(await filesUnder(join(work.path, 'action-store-fail'), 'action-store-fail')),
      ...(await filesUnder(join(work.path, 'cli-store-fail'), 'cli-store-fail')),
    ];
    const plain = [
      ...(await unsealed(actionStore, join(work.path, 'action-store'), 'action-store', { identities: [], passphrase: PASSPHRASE })),
      ...(await unsealed(cliStore, join(work.path, 'cli-store'), 'cli-store', { identities: [identity] })),
    ];
    const all = [...artifacts, ...runner, ...reports, ...actionStore, ...cliStore, ...failedStores, ...plain];

    // The scan covers what the runs really wrote, not an empty set.
    const names = all.map((a) => a.where);
    for (const step of ['backup', 'drill', 'backup-fail', 'drill-fail']) {
      for (const f of ['output', 'state', 'summary.md']) assert.ok(names.includes(`runner/${step}/${f}`), `runner/${step}/${f} collected`);
    }
    assert.ok(
      runner.some((a) => /^runner\/drill\/backup-drill-reports\/drill-.*\.json$/.test(a.where)),
      'action drill JSON report',
    );
    assert.ok(
      runner.some((a) => /^runner\/drill\/backup-drill-reports\/drill-.*\.junit\.xml$/.test(a.where)),
      'action drill JUnit report',
    );
    assert.ok(reports.filter((a) => /\.(json|junit\.xml)$/.test(a.where)).length >= 2, 'CLI reports');
    for (const store of [actionStore, cliStore]) {
      for (const part of ['manifest.json', 'manifest.json.age', 'database.dump.zst.age', 'files.tar.age', 'checksums.sha256']) {
        assert.ok(
          store.some((a) => a.where.endsWith(`/${part}`)),
          `${part} collected`,
        );
      }
    }
    assert.ok(
      plain.some((a) => a.where.endsWith('manifest.json.age (decrypted)') && a.bytes.includes(Buffer.from('"tables"'))),
      'sealed manifests decrypted',
    );
    assert.ok(all.find((a) => a.where === 'runner/drill/summary.md')!.bytes.length > 0, 'drill summary written');
    // And the scanner does see the secrets where they legitimately are: the add-mask lines.
    assert.ok(findLeaks([text('unfiltered action stdout', actionStdout.join('\n'))], secrets).some((l) => l.startsWith('database password')));

    assert.deepEqual(findLeaks(all, secrets), []);
  });
});
