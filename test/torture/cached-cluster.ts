// Starts a throwaway copy of a cached, stopped cluster (the regression database
// takes minutes to build; a copy starts in seconds and the cache stays clean).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/postgres/cluster.js';
import { runTool } from '../../src/util/exec.js';

export interface CopiedCluster {
  readonly binDir: string;
  readonly port: number;
  url(database?: string): string;
  /** psql as the postgres user over the socket (for setup statements). */
  psql(database: string, sql: string): Promise<string>;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

export async function startCopy(cachedDataDir: string, binDir: string): Promise<CopiedCluster> {
  const root = await mkdtemp(join(tmpdir(), 'backup-drill-torture-'));
  await chmod(root, 0o755);
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  await cp(cachedDataDir, dataDir, { recursive: true, preserveTimestamps: true });
  await mkdir(socketDir);
  const user = postgresUser();
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, root]);
  const port = await freePort();
  await appendFile(join(dataDir, 'postgresql.auto.conf'), `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${socketDir}'\n`);
  const env = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };
  await runTool(join(binDir, 'pg_ctl'), ['-D', dataDir, '-l', join(root, 'server.log'), '-w', '-t', '120', 'start'], { ...user, env, cwd: root });
  const psql = async (database: string, sql: string) =>
    (
      await runTool(join(binDir, 'psql'), ['-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], {
        ...user,
        env,
        cwd: root,
      })
    ).stdout;
  const password = randomBytes(12).toString('hex');
  await psql('postgres', `ALTER ROLE postgres PASSWORD '${password}'`);
  return {
    binDir,
    port,
    url: (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    psql,
    async stop() {
      await runTool(join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], { ...user, cwd: root, allowFailure: true });
      await rm(root, { recursive: true, force: true });
    },
  };
}
