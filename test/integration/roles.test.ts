// Roles captured at backup time (no passwords) are created on a fresh target
// by a restore with create-roles, inside the restore's transaction.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, readdir } from 'node:fs/promises';
import { buildConfig } from '../../src/config.js';
import { runBackup } from '../../src/modes/backup.js';
import { runRestore } from '../../src/modes/restore.js';
import { runDrill } from '../../src/modes/drill.js';
import { MemoryLogger } from '../../src/util/logger.js';
import { connect } from '../../src/postgres/connect.js';
import { rolesToCreate } from '../../src/postgres/roles.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster, withClient } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';

describe('roles', () => {
  let source: EphemeralCluster;
  let target: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let storage: string;

  before(async () => {
    [source, target] = await Promise.all([startCluster(), startCluster()]);
    const url = await createSeededDatabase(source, 'app');
    await withClient(source.url(), (c) =>
      c.query(
        `CREATE ROLE app_user LOGIN PASSWORD 'never-captured-pw' CONNECTION LIMIT 7; CREATE ROLE "Read Only"; GRANT "Read Only" TO app_user; CREATE ROLE admin_like SUPERUSER`,
      ),
    );
    work = await tempDir();
    storage = join(work.path, 'backups');
    await runBackup(
      buildConfig((n) => ({ 'database-url': url, storage })[n], {}),
      { logger: new MemoryLogger() },
    );
    const admin = await connect(target.url());
    await admin.query('CREATE DATABASE app');
    await admin.end();
  });
  after(async () => {
    await source?.stop();
    await target?.stop();
    await work?.remove();
  });

  test('the backup holds the role list without passwords', async () => {
    const dir = join(storage, 'default', (await readdir(join(storage, 'default')))[0]!);
    const sql = await readFile(join(dir, 'roles.sql'), 'utf8');
    assert.match(sql, /CREATE ROLE app_user;/);
    assert.ok(!sql.includes('never-captured-pw'));
    assert.ok(!/PASSWORD/i.test(sql.replace(/--.*$/gm, '')));
  });

  test('only safe attributes are kept (no SUPERUSER), names are quoted', () => {
    const { sql, roles } = rolesToCreate(
      `CREATE ROLE "Odd ""Name""";\nALTER ROLE "Odd ""Name""" WITH SUPERUSER INHERIT LOGIN REPLICATION BYPASSRLS CONNECTION LIMIT 3;\nGRANT x TO "Odd ""Name""" GRANTED BY postgres;\n`,
    );
    assert.deepEqual(roles, ['Odd "Name"']);
    assert.ok(sql.includes(`EXECUTE 'CREATE ROLE "Odd ""Name""" WITH INHERIT LOGIN CONNECTION LIMIT 3'`), sql);
    assert.ok(!/SUPERUSER|REPLICATION|BYPASSRLS/.test(sql));
  });

  test('restore with create-roles creates the missing roles and memberships on a fresh server', async () => {
    const r = await runRestore(
      buildConfig((n) => ({ mode: 'restore', storage, 'database-url': target.url('app'), parts: 'database', 'create-roles': 'true' })[n], {}),
      { logger: new MemoryLogger() },
    );
    assert.equal(r.report?.status, 'passed', r.report?.failures.join('\n'));
    await withClient(target.url(), async (c) => {
      const { rows } = await c.query(
        `SELECT rolname, rolcanlogin, rolconnlimit, rolsuper FROM pg_roles WHERE rolname IN ('app_user', 'Read Only', 'admin_like') ORDER BY 1`,
      );
      assert.deepEqual(
        rows.map((x) => [x.rolname, x.rolcanlogin, x.rolconnlimit, x.rolsuper]),
        [
          ['Read Only', false, -1, false],
          ['admin_like', false, -1, false],
          ['app_user', true, 7, false],
        ],
      );
      const { rows: m } = await c.query(`SELECT pg_has_role('app_user', 'Read Only', 'MEMBER') AS member`);
      assert.equal(m[0].member, true);
    });
  });

  test('a drill creates the captured roles in its throwaway server, so policies naming them restore (no false failure)', async () => {
    const admin = await connect(source.url());
    await admin.query('CREATE DATABASE rls');
    await admin.end();
    const url = source.url('rls');
    await withClient(url, (c) =>
      c.query(`CREATE TABLE notes (id int PRIMARY KEY, owner text); INSERT INTO notes VALUES (1, 'a'), (2, 'b');
               ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
               CREATE POLICY own_notes ON notes FOR SELECT TO app_user, "Read Only" USING (owner = current_user);`),
    );
    const rlsStorage = join(work.path, 'rls-backups');
    await runBackup(
      buildConfig((n) => ({ 'database-url': url, storage: rlsStorage })[n], {}),
      { logger: new MemoryLogger() },
    );
    const logger = new MemoryLogger();
    const drill = await runDrill(
      buildConfig((n) => ({ mode: 'restore-drill', storage: rlsStorage, 'report-dir': join(work.path, 'rls-reports') })[n], {}),
      { logger },
    );
    assert.equal(drill.report.status, 'passed', drill.report.failures.join('\n'));
    assert.ok(
      logger.lines.some((l) => /Created the backup's \d+ role\(s\) in the throwaway server/.test(l)),
      logger.lines.join('\n'),
    );
  });
});
