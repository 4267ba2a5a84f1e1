// Test helpers: a real throwaway PostgreSQL server (started by the tests,
// as the postgres user when running as root), seeded with the sample app.
import { findAllBinDirs } from '../../src/postgres/binaries.js';
import { EphemeralCluster } from '../../src/postgres/cluster.js';
import { connect, type Client } from '../../src/postgres/connect.js';
import { sampleUsers, seedSample } from '../../src/postgres/sample.js';

export async function serverBinDir(): Promise<string> {
  const dirs = await findAllBinDirs(['initdb', 'pg_ctl', 'postgres']);
  const best = dirs.sort((a, b) => b.major - a.major)[0];
  if (!best) throw new Error('No PostgreSQL server binaries found: apt-get install -y postgresql');
  return best.dir;
}

export async function startCluster(): Promise<EphemeralCluster> {
  return EphemeralCluster.start({ binDir: await serverBinDir() });
}

export const TEST_PASSWORDS = { canary: 'correct horse battery', admin: 'admin-s3cret-pass' };

/** Creates database `name` in the cluster and seeds the sample app. */
export async function createSeededDatabase(cluster: EphemeralCluster, name = 'app', scale = 20): Promise<string> {
  const admin = await connect(cluster.url());
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = cluster.url(name);
  const client = await connect(url);
  try {
    await seedSample(client, { scale, users: await sampleUsers(TEST_PASSWORDS) });
  } finally {
    await client.end();
  }
  return url;
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
