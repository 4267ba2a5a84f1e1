// Credential redaction: the stored backup holds no trace of the redacted
// values, counts and checksums still verify, drills and restores work, and
// login checks on redacted columns say so instead of failing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { runRestore } from '../../src/modes/restore.js';
import { UsageError } from '../../src/errors.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { connect } from '../../src/postgres/connect.js';
import { suggestRedactions } from '../../src/postgres/redaction.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster, TEST_PASSWORDS, withClient } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';
import { plainDump } from '../helpers/dump.js';

describe('credential redaction', () => {
  let cluster: EphemeralCluster;
  let url: string;
  let work: { path: string; remove(): Promise<void> };
  let storage: string;
  let secrets: string[];
  let backupId: string;

  before(async () => {
    cluster = await startCluster();
    url = await createSeededDatabase(cluster, 'app');
    work = await tempDir();
    storage = join(work.path, 'backups');
    secrets = await withClient(url, async (c) => {
      const { rows } = await c.query<{ v: string }>(`SELECT password_hash AS v FROM users UNION ALL SELECT mfa_secret FROM users WHERE mfa_secret IS NOT NULL`);
      return rows.map((r) => r.v);
    });
    assert.ok(secrets.some((s) => s.startsWith('$2')) && secrets.some((s) => s.startsWith('$argon2id$')));
    const r = await runBackup(
      buildConfig((n) => ({ 'database-url': url, storage, 'redact-columns': 'users.password_hash, public.users.mfa_*' })[n], {}),
      { logger: new MemoryLogger() },
    );
    backupId = r.id;
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  test('no redacted value is stored, in any part, raw or decompressed; the manifest lists the redactions', async () => {
    const dir = join(storage, 'default', backupId);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.redactions.map((r: { table: string; column: string; replacement: string }) => `${r.table}.${r.column}=${r.replacement}`).sort(), [
      'users.mfa_secret=NULL',
      "users.password_hash='redacted'",
    ]);
    const dumpSql = execFileSync('pg_restore', ['-f', '-', plainDump(dir)], { maxBuffer: 1 << 28 }).toString();
    assert.match(dumpSql, /CREATE TABLE public\.users/, 'the table definition is still there');
    for (const name of await readdir(dir)) {
      const bytes = (await readFile(join(dir, name))).toString('latin1');
      for (const s of secrets) assert.ok(!bytes.includes(s), `${name} contains a redacted value`);
    }
    for (const s of secrets) assert.ok(!dumpSql.includes(s), 'the decompressed dump contains a redacted value');
    assert.ok(!/\$2[aby]\$|\$argon2/.test(dumpSql));
  });

  test('the drill passes; a login check on a redacted column is "not verifiable: redacted"', async () => {
    const checks = join(work.path, 'checks.yml');
    await writeFile(
      checks,
      `checks:\n  - name: canary\n    login:\n      query: select password_hash from users where email = $1\n      identity: canary@example.com\n      password-env: RED_CANARY_PASSWORD\n`,
    );
    process.env.RED_CANARY_PASSWORD = TEST_PASSWORDS.canary;
    try {
      const d = await runDrill(
        buildConfig((n) => ({ mode: 'restore-drill', storage, checks, 'report-dir': join(work.path, 'reports') })[n], {}),
        { logger: new MemoryLogger() },
      );
      assert.equal(d.report.status, 'passed', d.report.failures.join('\n'));
      assert.ok(d.report.tables.every((t) => t.status === 'passed'));
      const canary = d.report.checks.find((c) => c.name === 'canary')!;
      assert.equal(canary.status, 'not-verified');
      assert.match(canary.message, /not verifiable: redacted/);
    } finally {
      delete process.env.RED_CANARY_PASSWORD;
    }
  });

  test('a restore brings the tables back with the redacted columns replaced, verified', async () => {
    const admin = await connect(cluster.url());
    await admin.query('CREATE DATABASE restored');
    await admin.end();
    const r = await runRestore(
      buildConfig((n) => ({ mode: 'restore', storage, 'database-url': cluster.url('restored'), parts: 'database' })[n], {}),
      { logger: new MemoryLogger() },
    );
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    await withClient(cluster.url('restored'), async (c) => {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE password_hash = 'redacted')::int AS red, count(mfa_secret)::int AS mfa FROM users`,
      );
      assert.ok(rows[0].n > 0);
      assert.equal(rows[0].red, rows[0].n);
      assert.equal(rows[0].mfa, 0);
      // Constraints and indexes restored normally.
      const { rows: idx } = await c.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'users'`);
      assert.ok(idx[0].n >= 2);
    });
  });

  test('a per-table restore of a redacted table: refused into the live table, copied with into-schema', async () => {
    const restore = (values: Record<string, string>) =>
      runRestore(
        buildConfig((n) => ({ mode: 'restore', storage, 'database-url': url, parts: 'database', ...values })[n], {}),
        { logger: new MemoryLogger() },
      );
    const live = await withClient(
      url,
      async (c) => (await c.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE password_hash LIKE '$%')::int AS hashed FROM users`)).rows[0],
    );
    // Into the live table it would overwrite every real password hash: refused, even with force.
    await assert.rejects(restore({ tables: 'users', force: 'true' }), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /redacted public\.users\.password_hash.*into the live table would replace those values.*into-schema/s);
      return true;
    });
    // As a copy, its rows come from redacted-data.sql (credentials replaced) and are verified by count.
    const r = await restore({ tables: 'users, tickets', 'into-schema': 'recovered' });
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    await withClient(url, async (c) => {
      const copy = (
        await c.query(
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE password_hash = 'redacted')::int AS red, count(mfa_secret)::int AS mfa FROM recovered.users`,
        )
      ).rows[0];
      assert.equal(copy.n, live.n);
      assert.equal(copy.red, copy.n);
      assert.equal(copy.mfa, 0);
      assert.ok((await c.query('SELECT count(*)::int AS n FROM recovered.tickets')).rows[0].n > 0);
      // The live table was not touched.
      assert.deepEqual((await c.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE password_hash LIKE '$%')::int AS hashed FROM users`)).rows[0], live);
      await c.query('DROP SCHEMA recovered CASCADE');
    });
  });

  test('sensitive-columns refuses an unencrypted backup that would store them in clear', async () => {
    await assert.rejects(
      runBackup(
        buildConfig((n) => ({ 'database-url': url, storage: join(work.path, 's'), 'sensitive-columns': 'users.password_hash' })[n], {}),
        { logger: new MemoryLogger() },
      ),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.describe(), /sensitive columns in clear: public\.users\.password_hash.*encrypt-recipients.*redact-columns/s);
        return true;
      },
    );
    const ok = await runBackup(
      buildConfig(
        (n) => ({ 'database-url': url, storage: join(work.path, 's'), 'sensitive-columns': 'users.password_hash', 'redact-columns': 'users.password_hash' })[n],
        {},
      ),
      { logger: new MemoryLogger() },
    );
    assert.ok(ok.id);
  });

  test('a redact pattern that matches nothing is refused', async () => {
    await assert.rejects(
      runBackup(
        buildConfig((n) => ({ 'database-url': url, storage: join(work.path, 'x'), 'redact-columns': 'users.no_such_column' })[n], {}),
        { logger: new MemoryLogger() },
      ),
      /'users\.no_such_column' matches no column/,
    );
  });

  test('inspect-db suggests the credential columns by name and value shape', async () => {
    const found = await withClient(url, (c) => suggestRedactions(c));
    const byColumn = new Map(found.map((f) => [f.column, f.reason]));
    assert.match(byColumn.get('public.users.password_hash') ?? '', /bcrypt|argon2/);
    assert.match(byColumn.get('public.users.mfa_secret') ?? '', /name/);
    assert.ok(!byColumn.has('public.tickets.subject'));
  });
});
