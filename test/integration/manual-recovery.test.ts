// docs/RECOVERY.md promises a recovery with standard tools only. This makes a real backup
// (runBackup → a local folder) of a real database, then runs the doc's command blocks marked
// `<!-- recovery-test -->`, exactly as written, in bash: only the three example paths of
// step 2 are replaced by this test's folders, and libpq's PG* variables point at the test
// server (the doc tells the reader to set them). Then it checks the result independently:
// every table's rows equal the source's, every upload is back, byte for byte.
//
// Both an unencrypted backup and an encrypted one (after the documented age -d step) run here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, readlinkSync, lstatSync, writeFileSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { MemoryLogger } from '../../src/util/logger.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { listTables } from '../../src/postgres/stats.js';
import { qualified } from '../../src/postgres/connect.js';
import { createSeededDatabase, serverBinDir, startCluster, withClient } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';

const DOC = 'docs/RECOVERY.md';
/** The example values of step 2 and what the test puts instead. */
const PLACEHOLDERS = { backup: '/srv/recovery/20261124T031700Z-a1b2c3', uploads: '/srv/recovery/uploads', target: 'app_restored' };

/** The `sh` blocks right after a `<!-- recovery-test -->` line, in order. */
function recoveryBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^<!-- recovery-test -->[ \t]*\n```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const rel = relative(root, p);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out.set(rel, `link:${readlinkSync(p)}`);
      else if (e.isFile()) out.set(rel, readFileSync(p).toString('base64'));
    }
  };
  walk(root);
  return out;
}

describe('docs/RECOVERY.md: recovery with sha256sum, tar, pg_restore and psql only', () => {
  let cluster: EphemeralCluster;
  let source: string;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;
  let backupDir: string;
  let restoredUploads: string;
  let binDir: string;

  /** Runs the doc's blocks (or some of them) in one bash, with the placeholders replaced. */
  function runDoc(blocks: string[], backup = backupDir, uploadsDir = restoredUploads, target = PLACEHOLDERS.target) {
    const script = blocks
      .join('\n')
      .replaceAll(PLACEHOLDERS.backup, backup)
      .replaceAll(PLACEHOLDERS.uploads, uploadsDir)
      .replaceAll(`TARGET=${PLACEHOLDERS.target}`, `TARGET=${target}`);
    const url = new URL(cluster.url());
    return spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: work.path,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        // The reader's machine: PostgreSQL client tools of the dump's major first on PATH.
        PATH: `${binDir}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME ?? '/root',
        LANG: 'C.UTF-8',
        PGHOST: url.hostname,
        PGPORT: url.port,
        PGUSER: decodeURIComponent(url.username),
        PGPASSWORD: decodeURIComponent(url.password),
      },
    });
  }

  before(async () => {
    cluster = await startCluster();
    source = await createSeededDatabase(cluster, 'app');
    binDir = await serverBinDir();
    work = await tempDir('bd-recovery-');
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    const storage = join(work.path, 'backups');
    const config = buildConfig((name) => ({ 'database-url': source, storage, 'files-path': uploads })[name], {});
    const result = await runBackup(config, { logger: new MemoryLogger() });
    backupDir = join(storage, 'default', result.id);
    restoredUploads = join(work.path, 'restored-uploads');
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('the doc has the tested blocks and the placeholders the test replaces', () => {
    const doc = readFileSync(DOC, 'utf8');
    const blocks = recoveryBlocks(doc);
    assert.equal(blocks.length, 5, 'variables, checksums, pg_restore, table check, uploads');
    assert.ok(
      blocks[0]!.includes(PLACEHOLDERS.backup) && blocks[0]!.includes(PLACEHOLDERS.uploads) && blocks[0]!.includes(`TARGET=${PLACEHOLDERS.target}`),
      'step 2 names the placeholders',
    );
    for (const tool of ['sha256sum -c', 'zstd -d', 'pg_restore', 'psql', 'tar -x'])
      assert.ok(
        blocks.some((b) => b.includes(tool)),
        `a tested block uses ${tool}`,
      );
    assert.match(doc, /age -d -i key\.txt -o database\.dump\.zst database\.dump\.zst\.age/, 'the decryption command is documented');
  });

  test('the documented commands restore the database and the uploads', async () => {
    const r = runDoc(recoveryBlocks(readFileSync(DOC, 'utf8')));
    const output = r.stdout + r.stderr;
    assert.equal(r.status, 0, output);
    // sha256sum -c accepted every part.
    for (const part of ['database.dump.zst', 'files.tar', 'files.sha256'])
      assert.match(r.stdout, new RegExp(`^${part.replaceAll('.', '\\.')}: OK$`, 'm'), output);
    // The psql check printed one "ok" line per table and nothing else.
    const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as { tables: Array<{ schema: string; name: string; rows: number }> };
    for (const t of manifest.tables)
      assert.match(
        r.stdout,
        new RegExp(`${t.schema}\\.${t.name}\\s*\\|\\s*${t.rows}\\s*\\|\\s*${t.rows}\\s*\\|\\s*ok`),
        `${t.schema}.${t.name} checked\n${r.stdout}`,
      );
    assert.doesNotMatch(r.stdout, /MISSING|DIFFERS/);
    assert.match(r.stdout, /^all files OK$/m);

    // Independently of the doc's own check: every table has the source's rows.
    const restoredUrl = cluster.url(PLACEHOLDERS.target);
    await withClient(source, async (src) => {
      await withClient(restoredUrl, async (dst) => {
        const tables = await listTables(src);
        assert.equal(tables.length, manifest.tables.length);
        assert.ok(tables.length >= 8);
        for (const t of tables) {
          const sql = `SELECT count(*)::int AS n FROM ONLY ${qualified(t.schema, t.name)}`;
          const [a, b] = [(await src.query(sql)).rows[0].n, (await dst.query(sql)).rows[0].n];
          assert.equal(b, a, `${t.schema}.${t.name}`);
        }
        assert.ok((await dst.query('SELECT count(*)::int AS n FROM users')).rows[0].n > 0, 'users restored');
      });
    });
    // Every upload is back (the symlink as a link), byte for byte.
    assert.deepEqual(tree(restoredUploads), tree(uploads));
    assert.ok(lstatSync(join(restoredUploads, 'latest-notes')).isSymbolicLink());
  });

  test('the documented checks catch damage: a flipped byte, a changed table', async () => {
    const blocks = recoveryBlocks(readFileSync(DOC, 'utf8'));
    // A copy of the backup with one byte of the dump flipped: step 3 must fail.
    const damaged = join(work.path, 'damaged');
    cpSync(backupDir, damaged, { recursive: true });
    const fd = openSync(join(damaged, 'database.dump.zst'), 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 1000);
    writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, 1000);
    closeSync(fd);
    const verify = runDoc([blocks[0]!, blocks[1]!], damaged);
    assert.notEqual(verify.status, 0);
    assert.match(verify.stdout, /^database\.dump\.zst: FAILED$/m, verify.stdout + verify.stderr);

    // A restored row that no longer matches (same row count, other content): step 6 must fail and name the table.
    await withClient(cluster.url(PLACEHOLDERS.target), (c) =>
      c.query(`UPDATE tickets SET subject = subject || ' (edited)' WHERE id = (SELECT min(id) FROM tickets)`),
    );
    const check = runDoc([blocks[0]!, blocks[3]!]);
    assert.notEqual(check.status, 0);
    assert.match(check.stdout, /public\.tickets\s*\|.*\|\s*DIFFERS/, check.stdout + check.stderr);
    assert.match(check.stderr, /some tables are missing or differ from the manifest/);

    // A file changed after extraction: step 7's sha256sum -c must fail and name it.
    writeFileSync(join(restoredUploads, 'tickets/1/notes.txt'), 'changed\n');
    // Step 7 without its mkdir/tar lines (they would extract a fresh copy over the change).
    const verifyLines = blocks[4]!.split('\n').filter((line) => /^(cd|sha256sum) /.test(line));
    assert.equal(verifyLines.length, 2, blocks[4]);
    const files = runDoc([blocks[0]!, verifyLines.join('\n')]);
    assert.notEqual(files.status, 0);
    assert.match(files.stdout + files.stderr, /tickets\/1\/notes\.txt: FAILED/);
  });

  test('encrypted backup: the documented age -d step, then the same steps', async () => {
    const keyFile = join(work.path, 'key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    const storage = join(work.path, 'encrypted-backups');
    const config = buildConfig((name) => ({ 'database-url': source, storage, 'files-path': uploads, 'encrypt-recipients': recipient })[name], {});
    const result = await runBackup(config, { logger: new MemoryLogger() });
    const dir = join(storage, 'default', result.id);
    const doc = readFileSync(DOC, 'utf8');
    const blocks = recoveryBlocks(doc);
    // Step 4 as documented ("every part at once"), with the reader's key file.
    const decrypt = doc.split('\n').find((line) => line.startsWith('for f in *.age; do age -d -i key.txt'))!;
    assert.ok(decrypt, 'the doc has the decrypt-everything loop');
    const encUploads = join(work.path, 'restored-encrypted-uploads');
    const r = runDoc([blocks[0]!, blocks[1]!, decrypt.replace('key.txt', keyFile), ...blocks.slice(2)], dir, encUploads, 'app_restored_encrypted');
    const output = r.stdout + r.stderr;
    assert.equal(r.status, 0, output);
    assert.match(r.stdout, /^database\.dump\.zst\.age: OK$/m, output);
    assert.doesNotMatch(r.stdout, /MISSING|DIFFERS/);
    assert.match(r.stdout, /^all files OK$/m);
    await withClient(cluster.url('app_restored_encrypted'), async (dst) => {
      assert.ok((await dst.query('SELECT count(*)::int AS n FROM tickets')).rows[0].n > 0, 'tickets restored');
    });
    assert.deepEqual(tree(encUploads), tree(uploads));
  });
});
