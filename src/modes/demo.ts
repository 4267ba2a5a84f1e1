// demo: the whole product on embedded defaults. Starts a throwaway source
// database with a sample helpdesk (real bcrypt/argon2 password hashes, an
// uploads folder), backs it up to a local folder, then runs a restore drill
// with a checks file (an SQL check and a canary login), and cleans up.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildConfig } from '../config.js';
import { findAllBinDirs } from '../postgres/binaries.js';
import { EphemeralCluster } from '../postgres/cluster.js';
import { connect } from '../postgres/connect.js';
import { sampleUsers, seedSample } from '../postgres/sample.js';
import { ToolError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { runBackup, type BackupResult } from './backup.js';
import { runDrill, type DrillResult } from './drill.js';

export interface DemoOptions {
  /** Where the demo keeps its backups (kept after the demo, so you can look). */
  storage: string;
  logger: Logger;
  signal?: AbortSignal;
}

const CHECKS_YAML = `# Checks the drill runs against the restored database (see docs/CHECKS.md).
checks:
  - name: every ticket has a requester
    sql: select count(*) from tickets where requester_id is null
    expect: { equals: 0 }
  - name: there is an admin
    sql: select count(*) from users where role = $1
    params: [admin]
    expect: { min: 1 }
  - name: canary account can log in (bcrypt)
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: DEMO_CANARY_PASSWORD
  - name: admin can log in (argon2id)
    login:
      query: select password_hash from users where email = $1
      identity: admin@example.com
      password-env: DEMO_ADMIN_PASSWORD
`;

async function makeUploads(root: string): Promise<void> {
  for (let ticket = 1; ticket <= 12; ticket++) {
    const dir = join(root, 'tickets', String(ticket));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `screenshot-${ticket}.png`), randomBytes(20_000 + ticket * 1000));
    await writeFile(join(dir, 'notes.txt'), `Notes for ticket ${ticket}\n`);
  }
  await mkdir(join(root, 'cache', 'thumbnails'), { recursive: true });
  await writeFile(join(root, 'cache', 'thumbnails', 'rebuilt-by-the-app.jpg'), randomBytes(5000));
}

export async function runDemo(options: DemoOptions): Promise<{ backup: BackupResult; drill: DrillResult }> {
  const { logger } = options;
  const servers = (await findAllBinDirs(['initdb', 'pg_ctl', 'postgres'])).sort((a, b) => b.major - a.major);
  const server = servers[0];
  if (!server) {
    throw new ToolError('initdb', 'The demo needs PostgreSQL server binaries (initdb, pg_ctl, postgres) and none were found.', {
      hint: 'Run ./scripts/setup.sh (Debian/Ubuntu: apt-get install -y postgresql), or set PATH to include a PostgreSQL bin folder.',
    });
  }
  const work = await mkdtemp(join(tmpdir(), 'backup-drill-demo-'));
  const passwords = { canary: randomBytes(12).toString('base64url'), admin: randomBytes(12).toString('base64url') };
  process.env.DEMO_CANARY_PASSWORD = passwords.canary;
  process.env.DEMO_ADMIN_PASSWORD = passwords.admin;
  let source: EphemeralCluster | undefined;
  try {
    logger.info(`Starting a throwaway source database (PostgreSQL ${server.version}) with a sample helpdesk…`);
    source = await EphemeralCluster.start({ binDir: server.dir, logger });
    const admin = await connect(source.url());
    await admin.query('CREATE DATABASE helpdesk');
    await admin.end();
    const client = await connect(source.url('helpdesk'));
    try {
      await seedSample(client, { scale: 200, users: await sampleUsers(passwords) });
    } finally {
      await client.end();
    }
    const uploads = join(work, 'uploads');
    await makeUploads(uploads);
    const checks = join(work, 'checks.yml');
    await writeFile(checks, CHECKS_YAML);
    const storage = resolve(options.storage);

    const backupConfig = buildConfig(
      (name) => ({ mode: 'backup', 'database-url': source!.url('helpdesk'), storage, 'files-path': uploads, 'files-exclude': 'cache/**', name: 'demo' })[name],
      {},
    );
    const backup = await logger.group('Backup', () => runBackup(backupConfig, { logger, signal: options.signal }));
    const drillConfig = buildConfig((name) => ({ mode: 'restore-drill', storage, name: 'demo', checks, 'max-age': '1h' })[name], {});
    const drill = await logger.group('Restore drill', () => runDrill(drillConfig, { logger, signal: options.signal }));
    return { backup, drill };
  } finally {
    await source?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
    delete process.env.DEMO_CANARY_PASSWORD;
    delete process.env.DEMO_ADMIN_PASSWORD;
  }
}
