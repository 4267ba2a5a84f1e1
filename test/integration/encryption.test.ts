// Encrypted backups end to end: a real source database and uploads, backed up with
// age (recipients inline or from a file, or a passphrase), then drilled into a real
// throwaway cluster. Proves that nothing readable reaches the bucket, that a drill
// needs (and checks) the key, that tampering is caught, and that the standard `age`
// CLI, pg_restore and tar read our parts without us.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { IntegrityError, UsageError } from '../../src/errors.js';
import type { Manifest } from '../../src/archive/manifest.js';
import { createSeededDatabase, serverBinDir, startCluster, TEST_PASSWORDS, withClient } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';

function has(tool: string, args = ['--version']): boolean {
  return spawnSync(tool, args, { encoding: 'utf8' }).status === 0;
}
const missing = ['age', 'age-keygen', 'script', 'sha256sum', 'tar'].filter((t) => !has(t));
const skip = missing.length ? `not installed: ${missing.join(', ')}` : false;

const SOURCE_DB = 'helpdesk_prod';
/** Table names of the sample app (plus the big table added here), as they would appear in a dump. */
const TABLE_NAMES = ['tickets', 'attachments', 'audit_log_2025', 'invoices', 'CustomerNotes', '_prisma_migrations', 'password_hash', 'bulk_blobs'];
/** Known row values of the sample data. */
const ROW_VALUES = ['Ticket 1 — ünïcode ✓', 'canary@example.com', 'Canary Account', '20260301000000_add_billing'];
/** Names of uploaded files. */
const UPLOAD_NAMES = ['screenshot.png', 'report with spaces.pdf'];

const CHECKS = `checks:
  - name: tickets exist
    sql: select count(*) from tickets
    expect: { min: 10 }
  - name: canary login
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: TEST_CANARY_PASSWORD
`;

const PASSPHRASE = 'tröpfchen-horse-battery-staple-42';

function backupConfig(values: Record<string, string>) {
  return buildConfig((name) => ({ mode: 'backup', compression: '0', ...values })[name], {});
}
function drillConfig(values: Record<string, string>) {
  return buildConfig((name) => ({ mode: 'restore-drill', ...values })[name], {});
}

/** Every regular file under `root` (hidden temp files included), relative path → bytes. */
async function storedFiles(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(relative(root, p), await readFile(p));
      else assert.fail(`unexpected non-file ${p} in the storage folder`);
    }
  };
  await walk(root);
  return out;
}

/** Needles (label → bytes) found in any of the files; for reporting which leaked where. */
function findNeedles(files: Map<string, Buffer>, needles: Map<string, Buffer>): string[] {
  const found: string[] = [];
  for (const [label, needle] of needles) {
    for (const [path, bytes] of files) if (bytes.includes(needle)) found.push(`${label} in ${path}`);
  }
  return found;
}

function run(command: string, args: string[], options: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(command, args, { cwd: options.cwd, input: options.input, maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: String(r.stderr), text: `${String(r.stdout)}${String(r.stderr)}` };
}

/** Runs a command on a pseudo-terminal (the age CLI reads passphrases only from one), typing `typed`. */
function onTerminal(command: string, typed: string): { status: number | null; output: string } {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', input: typed, timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['dist/cli/index.js', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const size = (await fh.stat()).size;
    const at = offset < 0 ? size + offset : offset;
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, at);
    buf[0] = buf[0]! ^ 0x01;
    await fh.write(buf, 0, 1, at);
  } finally {
    await fh.close();
  }
}

describe('encrypted backups (age) end to end', { skip }, () => {
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;
  let checks: string;
  let keyFile: string;
  let identity: string;
  let recipient: string;
  let recipientsFile: string;
  let wrongKeyFile: string;
  let wrongRecipient: string;
  /** Encrypted to the recipient given inline. */
  let inlineStore: string;
  let inlineId: string;
  /** Encrypted to the recipient read from a recipients file. */
  let fileStore: string;
  /** Encrypted with a passphrase. */
  let passStore: string;
  /** The same source, unencrypted: the control that shows the needles are there to be found. */
  let plainStore: string;
  let plainManifest: Manifest;
  /** A 64-byte slice of a random upload: its content, whatever the tar framing. */
  let uploadSlice: Buffer;
  let pgRestore: string;

  const backupDir = (store: string, id: string) => join(store, 'default', id);

  before(async () => {
    work = await tempDir('bd-enc-');
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    uploadSlice = (await readFile(join(uploads, 'tickets/1/screenshot.png'))).subarray(100_000, 100_064);
    checks = join(work.path, 'checks.yml');
    await writeFile(checks, CHECKS);

    keyFile = join(work.path, 'key.txt');
    assert.equal(run('age-keygen', ['-o', keyFile]).status, 0);
    identity = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(await readFile(keyFile, 'utf8'))![0];
    recipient = String(run('age-keygen', ['-y', keyFile]).stdout).trim();
    assert.match(recipient, /^age1[0-9a-z]+$/);
    recipientsFile = join(work.path, 'recipients.txt');
    await writeFile(recipientsFile, `# the backup team's key\n${recipient}\n`);
    wrongKeyFile = join(work.path, 'wrong-key.txt');
    assert.equal(run('age-keygen', ['-o', wrongKeyFile]).status, 0);
    wrongRecipient = String(run('age-keygen', ['-y', wrongKeyFile]).stdout).trim();

    pgRestore = join(await serverBinDir(), 'pg_restore');

    inlineStore = join(work.path, 'inline');
    fileStore = join(work.path, 'from-file');
    passStore = join(work.path, 'passphrase');
    plainStore = join(work.path, 'plain');
    const source = await startCluster();
    try {
      const url = await createSeededDatabase(source, SOURCE_DB);
      // > 1 MiB of table data, so the dump spans many age chunks and batches.
      await withClient(url, (c) =>
        c.query(`CREATE TABLE bulk_blobs (id int PRIMARY KEY, payload text NOT NULL);
                 INSERT INTO bulk_blobs SELECT r, (SELECT string_agg(md5(r::text || g::text), '') FROM generate_series(1, 20000) g) FROM generate_series(1, 4) r`),
      );
      const common = { 'database-url': url, 'files-path': uploads };
      inlineId = (await runBackup(backupConfig({ ...common, storage: inlineStore, 'encrypt-recipients': recipient }), { logger: new MemoryLogger() })).id;
      await runBackup(backupConfig({ ...common, storage: fileStore, 'encrypt-recipients': recipientsFile }), { logger: new MemoryLogger() });
      await runBackup(backupConfig({ ...common, storage: passStore, 'encrypt-passphrase': PASSPHRASE }), { logger: new MemoryLogger() });
      plainManifest = (await runBackup(backupConfig({ ...common, storage: plainStore }), { logger: new MemoryLogger() })).manifest;
    } finally {
      // Drills never need the source.
      await source.stop();
    }
    process.env.TEST_CANARY_PASSWORD = TEST_PASSWORDS.canary;
  });
  after(async () => {
    delete process.env.TEST_CANARY_PASSWORD;
    await work?.remove();
  });

  /** The sealed manifest, decrypted by the age CLI (not by us). */
  function sealedManifest(store: string, id: string): Manifest {
    const r = run('age', ['-d', '-i', keyFile, join(backupDir(store, id), 'manifest.json.age')]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(String(r.stdout)) as Manifest;
  }

  async function assertSealedLayout(store: string, expectRecipients: string[], expectPassphrase: boolean): Promise<string> {
    const files = await storedFiles(store);
    const ids = [...new Set([...files.keys()].map((k) => k.split('/')[1]))];
    assert.equal(ids.length, 1, `one backup in ${store}: ${[...files.keys()].join(', ')}`);
    const id = ids[0]!;
    // Only ciphertext parts, the ciphertext digests, the public index and the sealed manifest.
    assert.deepEqual(
      [...files.keys()].sort(),
      ['checksums.sha256', 'database.dump.age', 'files.sha256.age', 'files.tar.age', 'manifest.json', 'manifest.json.age', 'roles.sql.age'].map(
        (n) => `default/${id}/${n}`,
      ),
    );
    const stanza = expectPassphrase ? '-> scrypt ' : '-> X25519 ';
    for (const [path, bytes] of files) {
      if (!path.endsWith('.age')) continue;
      assert.equal(bytes.subarray(0, 22).toString('latin1'), 'age-encryption.org/v1\n', `${path} is a binary age file`);
      assert.ok(bytes.subarray(22, 22 + stanza.length).toString('latin1') === stanza, `${path} starts with a ${stanza.trim()} stanza`);
    }
    // checksums.sha256 lists the stored ciphertext, and sha256sum agrees with it.
    const dir = backupDir(store, id);
    const listed = files
      .get(`default/${id}/checksums.sha256`)!
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => l.replace(/^[0-9a-f]{64} [ *]/, ''));
    assert.deepEqual(listed.sort(), ['database.dump.age', 'files.sha256.age', 'files.tar.age', 'roles.sql.age']);
    const sum = run('sha256sum', ['-c', 'checksums.sha256'], { cwd: dir });
    assert.equal(sum.status, 0, sum.text);
    assert.equal((sum.text.match(/: OK$/gm) ?? []).length, 4, sum.text);

    // manifest.json is a public index only.
    const indexText = files.get(`default/${id}/manifest.json`)!.toString('utf8');
    const index = JSON.parse(indexText) as Record<string, unknown>;
    assert.equal(index.sealed, true);
    assert.equal(index.id, id);
    assert.deepEqual(index.encryption, { recipients: expectRecipients, passphrase: expectPassphrase });
    const keys = new Set<string>();
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          collect(x);
        }
    };
    collect(index);
    for (const forbidden of [
      'tables',
      'totals',
      'rows',
      'source',
      'database',
      'schemaHash',
      'migration',
      'checksum',
      'files',
      'trigger',
      'redactions',
      'dump',
    ]) {
      assert.ok(!keys.has(forbidden), `public index has no '${forbidden}' key (keys: ${[...keys].join(', ')})`);
    }
    for (const p of index.parts as Array<{ name: string }>) assert.match(p.name, /\.age$|^checksums\.sha256$/);
    // What the sealed manifest holds must not be readable in the index.
    for (const word of [SOURCE_DB, plainManifest.source.schemaHash, '"schemaHash"', '"rows"', ...TABLE_NAMES, 'users', ...ROW_VALUES]) {
      assert.ok(!indexText.includes(word), `public index contains '${word}'`);
    }
    return id;
  }

  function needles(): Map<string, Buffer> {
    const m = new Map<string, Buffer>();
    for (const n of [...TABLE_NAMES, ...ROW_VALUES, ...UPLOAD_NAMES, SOURCE_DB]) m.set(JSON.stringify(n), Buffer.from(n, 'utf8'));
    m.set('schemaHash', Buffer.from(plainManifest.source.schemaHash));
    m.set('upload content', uploadSlice);
    return m;
  }

  test('control: without encryption, every needle the next test looks for is in the bucket', async () => {
    const found = findNeedles(await storedFiles(plainStore), needles());
    for (const label of needles().keys())
      assert.ok(
        found.some((f) => f.startsWith(`${label} in `)),
        `${label} found in the unencrypted backup`,
      );
  });

  test('recipient given inline: the bucket holds only age parts, ciphertext checksums and a public index; no stored byte reveals a table, a row or a file', async () => {
    const id = await assertSealedLayout(inlineStore, [recipient], false);
    assert.equal(id, inlineId);
    assert.deepEqual(findNeedles(await storedFiles(inlineStore), needles()), []);
    // The sealed manifest holds what the index leaves out.
    const m = sealedManifest(inlineStore, id);
    assert.equal(m.source.database, SOURCE_DB);
    assert.equal(m.source.schemaHash, plainManifest.source.schemaHash);
    assert.deepEqual(
      m.tables.map((t) => `${t.schema}.${t.name}:${t.rows}:${t.checksum}`),
      plainManifest.tables.map((t) => `${t.schema}.${t.name}:${t.rows}:${t.checksum}`),
    );
    assert.deepEqual(m.encryption, { recipients: [recipient], passphrase: false });
    assert.ok(m.parts.every((p) => p.name === 'checksums.sha256' || (p.encrypted && p.name.endsWith('.age'))));
  });

  test('recipients from a file: the same sealed layout, and a drill with the identity file passes (tables, files, login)', async () => {
    const id = await assertSealedLayout(fileStore, [recipient], false);
    assert.deepEqual(findNeedles(await storedFiles(fileStore), needles()), []);
    const r = await runDrill(drillConfig({ storage: fileStore, checks, 'decrypt-identity': keyFile, 'report-dir': join(work.path, 'reports') }), {
      logger: new MemoryLogger(),
    });
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.equal(r.report.backupId, id);
    assertDrillProvedEverything(r.report);
  });

  function assertDrillProvedEverything(report: Awaited<ReturnType<typeof runDrill>>['report']): void {
    assert.equal(report.tables.length, plainManifest.tables.length);
    assert.ok(report.tables.length >= 9);
    for (const t of report.tables) {
      assert.equal(t.status, 'passed', `${t.schema}.${t.name}: ${t.message}`);
      assert.equal(t.restoredRows, t.expectedRows);
      assert.equal(t.restoredChecksum, t.expectedChecksum);
    }
    assert.ok(report.tables.some((t) => t.name === 'bulk_blobs' && t.restoredRows === 4));
    assert.equal(report.files.status, 'passed');
    assert.equal(report.files.restoredCount, 6);
    assert.equal(report.files.restoredBytes, plainManifest.files!.bytes);
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    assert.equal(byName.get('pg_restore')?.status, 'passed');
    assert.equal(byName.get('tickets exist')?.status, 'passed');
    assert.equal(byName.get('canary login')?.status, 'passed', byName.get('canary login')?.message);
  }

  test('a drill with the identity given inline passes (tables, files, login)', async () => {
    const r = await runDrill(drillConfig({ storage: inlineStore, checks, 'decrypt-identity': identity, 'report-dir': join(work.path, 'reports') }), {
      logger: new MemoryLogger(),
    });
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assert.equal(r.report.backupId, inlineId);
    assertDrillProvedEverything(r.report);
  });

  test('a drill without a key is refused with a UsageError that says how to give one', async () => {
    await assert.rejects(runDrill(drillConfig({ storage: inlineStore, checks }), { logger: new MemoryLogger() }), (e: unknown) => {
      assert.ok(e instanceof UsageError, `UsageError, got ${String(e)}`);
      assert.equal(e.exitCode, 2);
      assert.match(
        e.describe(),
        new RegExp(`Backup ${inlineId} is encrypted; reading it needs a key\\..*decrypt-identity.*AGE-SECRET-KEY-1.*decrypt-passphrase`, 's'),
      );
      return true;
    });
  });

  test('a drill with the wrong identity fails with an IntegrityError saying the key does not match', async () => {
    await assert.rejects(
      runDrill(drillConfig({ storage: inlineStore, checks, 'decrypt-identity': wrongKeyFile }), { logger: new MemoryLogger() }),
      (e: unknown) => {
        assert.ok(e instanceof IntegrityError, `IntegrityError, got ${String(e)}`);
        assert.equal(e.exitCode, 7);
        const text = e.describe();
        assert.match(text, /None of the 1 identity given can decrypt this age file .*wrong key\?/);
        // Says whose key was given, so the user sees the mismatch; never the secret itself.
        assert.ok(text.includes(wrongRecipient), text);
        assert.ok(!text.includes('AGE-SECRET-KEY-1'), text);
        return true;
      },
    );
    // An identity for a passphrase backup, and a wrong passphrase: each said plainly.
    await assert.rejects(runDrill(drillConfig({ storage: passStore, 'decrypt-identity': identity }), { logger: new MemoryLogger() }), (e: unknown) => {
      assert.ok(e instanceof IntegrityError);
      assert.match(e.describe(), /encrypted with a passphrase, but no passphrase was given/);
      return true;
    });
    await assert.rejects(
      runDrill(drillConfig({ storage: passStore, 'decrypt-passphrase': `${PASSPHRASE}x` }), { logger: new MemoryLogger() }),
      (e: unknown) => {
        assert.ok(e instanceof IntegrityError);
        assert.match(e.describe(), /wrong passphrase/);
        assert.ok(!e.describe().includes(PASSPHRASE), 'the passphrase is not echoed');
        return true;
      },
    );
  });

  async function drillWithFlip(label: string, offset: number) {
    const copy = join(work.path, `flip-${label}`);
    await cp(inlineStore, copy, { recursive: true });
    const dump = join(backupDir(copy, inlineId), 'database.dump.age');
    await flipByte(dump, offset);
    return runDrill(drillConfig({ storage: copy, 'decrypt-identity': identity, 'report-dir': join(work.path, 'reports') }), { logger: new MemoryLogger() });
  }

  test('a flipped byte in the last chunk of database.dump.age fails the drill, naming the part', async () => {
    const r = await drillWithFlip('tail', -100);
    assert.equal(r.report.status, 'failed');
    const text = r.report.failures.join('\n');
    assert.match(text, /restore: .*database\.dump\.age/, text);
    assert.equal(r.report.checks.find((c) => c.name === 'pg_restore')?.status, 'failed');
    // The files parts were untouched and still verify.
    assert.equal(r.report.files.status, 'passed');
  });

  test('a flipped byte early in database.dump.age (first chunks) fails the drill, naming the part', async () => {
    const size = (await readFile(join(backupDir(inlineStore, inlineId), 'database.dump.age'))).length;
    assert.ok(size > 2 * 1024 * 1024, `the dump spans more than one 1 MiB batch of age chunks (${size} bytes)`);
    const r = await drillWithFlip('head', 5000);
    assert.equal(r.report.status, 'failed');
    assert.equal(r.report.checks.find((c) => c.name === 'pg_restore')?.status, 'failed');
    const text = r.report.failures.join('\n');
    assert.match(text, /database\.dump\.age/, `the failure names the part: ${text}`);
  });

  test('passphrase: backup sealed with scrypt, drill with decrypt-passphrase passes', async () => {
    await assertSealedLayout(passStore, [], true);
    assert.deepEqual(findNeedles(await storedFiles(passStore), needles()), []);
    const r = await runDrill(drillConfig({ storage: passStore, checks, 'decrypt-passphrase': PASSPHRASE, 'report-dir': join(work.path, 'reports') }), {
      logger: new MemoryLogger(),
    });
    assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
    assertDrillProvedEverything(r.report);
  });

  test('recipients and a passphrase together are refused with a UsageError, before anything is written', async () => {
    const store = join(work.path, 'both');
    // The source is gone: a refusal that happens first cannot depend on it.
    await assert.rejects(
      runBackup(
        backupConfig({
          'database-url': 'postgres://nobody:x@127.0.0.1:1/none',
          storage: store,
          'files-path': uploads,
          'encrypt-recipients': recipient,
          'encrypt-passphrase': PASSPHRASE,
        }),
        { logger: new MemoryLogger() },
      ),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, `UsageError, got ${String(e)}`);
        assert.match(e.describe(), /recipients or to a passphrase, not both/);
        assert.equal(e.input, 'encrypt-recipients');
        return true;
      },
    );
    const left = await storedFiles(store).catch(() => new Map<string, Buffer>());
    assert.deepEqual([...left.keys()], []);
  });

  test('interop: the age CLI decrypts our parts; pg_restore and tar read the plaintext', async () => {
    const dir = backupDir(inlineStore, inlineId);
    const out = join(work.path, 'interop');
    await mkdir(out, { recursive: true });
    const dec = run('age', ['-d', '-i', keyFile, '-o', join(out, 'database.dump'), join(dir, 'database.dump.age')]);
    assert.equal(dec.status, 0, dec.text);
    const toc = run(pgRestore, ['-l', join(out, 'database.dump')]);
    assert.equal(toc.status, 0, toc.text);
    const list = String(toc.stdout);
    for (const t of ['public tickets', 'public users', 'billing invoices', 'public bulk_blobs', 'public CustomerNotes']) {
      assert.match(list, new RegExp(`TABLE DATA ${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `), `pg_restore -l lists ${t}`);
    }
    assert.match(list, new RegExp(`dbname: ${SOURCE_DB}`));

    const tar = run('sh', ['-c', `age -d -i '${keyFile}' '${join(dir, 'files.tar.age')}' | tar -t`]);
    assert.equal(tar.status, 0, tar.text);
    const names = String(tar.stdout)
      .split('\n')
      .map((l) => l.replace(/\/$/, ''));
    for (const f of [
      'tickets/1/screenshot.png',
      'tickets/1/notes.txt',
      'tickets/2/report with spaces.pdf',
      'cache/thumbs/t1.jpg',
      'empty.txt',
      'latest-notes',
    ]) {
      assert.ok(names.includes(f), `tar -t lists ${f}: ${names.join(', ')}`);
    }
    // The file list decrypts to sha256sum lines that match the uploads.
    const fileList = run('age', ['-d', '-i', keyFile, join(dir, 'files.sha256.age')]);
    assert.equal(fileList.status, 0, fileList.text);
    const { createHash } = await import('node:crypto');
    const want = createHash('sha256')
      .update(await readFile(join(uploads, 'tickets/1/screenshot.png')))
      .digest('hex');
    assert.match(String(fileList.stdout), new RegExp(`^${want} [ *]tickets/1/screenshot\\.png$`, 'm'));
    // The wrong key does not open it in the CLI either.
    const wrong = run('age', ['-d', '-i', wrongKeyFile, join(dir, 'database.dump.age')]);
    assert.notEqual(wrong.status, 0);
  });

  test('interop: a passphrase backup decrypts with age -d on a terminal; pg_restore reads it', async () => {
    const entries = await readdir(join(passStore, 'default'));
    const dir = backupDir(passStore, entries[0]!);
    const out = join(work.path, 'interop-pass');
    await mkdir(out, { recursive: true });
    const ok = onTerminal(`age -d -o '${join(out, 'database.dump')}' '${join(dir, 'database.dump.age')}'`, `${PASSPHRASE}\n`);
    assert.equal(ok.status, 0, ok.output);
    const toc = run(pgRestore, ['-l', join(out, 'database.dump')]);
    assert.equal(toc.status, 0, toc.text);
    assert.match(String(toc.stdout), /TABLE DATA public tickets /);
    const bad = onTerminal(`age -d -o '${join(out, 'bad.dump')}' '${join(dir, 'database.dump.age')}'`, `${PASSPHRASE}x\n`);
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /incorrect passphrase/);
  });

  test('CLI list shows the encrypted backup without a key (ENCRYPTED yes); the unencrypted one says no', () => {
    const r = cli(['list', '--storage', inlineStore]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ENCRYPTED/);
    const line = r.stdout.split('\n').find((l) => l.startsWith(inlineId));
    assert.ok(line, r.stdout);
    assert.match(line, /\byes\s+yes\s+(never|passed|failed)\b/, `COMPLETE yes, ENCRYPTED yes, then LAST DRILL: ${line}`);
    const json = cli(['list', '--storage', inlineStore, '--json']);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(
      (JSON.parse(json.stdout) as Array<Record<string, unknown>>).map((e) => [e.id, e.complete, e.encrypted]),
      [[inlineId, true, true]],
    );
    const plain = cli(['list', '--storage', plainStore]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout.split('\n').find((l) => l.startsWith(plainManifest.id)) ?? '', /\byes\s+no\s+(never|passed|failed)\b/);
  });

  test('CLI inspect without a key exits 2 with the key hint', () => {
    const r = cli(['inspect', 'latest', '--storage', inlineStore]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`Backup ${inlineId} is encrypted; reading it needs a key\\..*--decrypt-identity`));
    assert.ok(!r.stdout.includes('tickets'));
  });

  test('CLI inspect with a key shows the tables', () => {
    for (const key of [keyFile, identity]) {
      const r = cli(['inspect', 'latest', '--storage', inlineStore, '--decrypt-identity', key]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`backup: +${inlineId}`));
      assert.match(r.stdout, /public\.tickets +\d+ rows/);
      assert.match(r.stdout, /public\.bulk_blobs +4 rows/);
      assert.match(r.stdout, new RegExp(`source: +${SOURCE_DB}`));
    }
  });
});
