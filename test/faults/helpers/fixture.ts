// The world a fault case runs in: a real PostgreSQL with the sample app, an
// uploads folder, age keys, and backups taken by the CLI under test.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VERIFIED_MARKER } from '../../../src/storage/catalog.js';
import type { EphemeralCluster } from '../../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster, withClient } from '../../helpers/postgres.js';
import { makeUploads, tempDir } from '../../helpers/fs.js';
import { describeRun, runCli } from './cli.js';

export interface World {
  cluster: EphemeralCluster;
  sourceUrl: string;
  uploads: string;
  work: string;
  keyFile: string;
  recipient: string;
  stop(): Promise<void>;
}

export interface WorldOptions {
  /** Sample app scale (rows ≈ scale × 30). */
  scale?: number;
  /** Extra incompressible bytes in the uploads, to make the files part take time. */
  extraUploadBytes?: number;
  /** Extra rows of incompressible data in the database, to make dump and restore take time. */
  bulkRows?: number;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const dir = await tempDir('bd-faults-');
  // Throwaway servers run as the postgres user: it must reach temp dirs made below this one.
  await chmod(dir.path, 0o755);
  const cluster = await startCluster();
  const sourceUrl = await createSeededDatabase(cluster, 'app', options.scale ?? 20);
  if (options.bulkRows) {
    await withClient(sourceUrl, async (c) => {
      await c.query('CREATE TABLE public.bulk (id bigserial PRIMARY KEY, payload bytea NOT NULL, note text)');
      await c.query(
        `INSERT INTO public.bulk (payload, note) SELECT decode(md5(g::text) || md5((g*7)::text) || md5((g*13)::text), 'hex'), 'row ' || g FROM generate_series(1, $1) g`,
        [options.bulkRows],
      );
      await c.query('CREATE INDEX bulk_note ON public.bulk (note)');
    });
  }
  const uploads = join(dir.path, 'uploads');
  await mkdir(uploads);
  await makeUploads(uploads);
  if (options.extraUploadBytes) await writeFile(join(uploads, 'big.bin'), randomBytes(options.extraUploadBytes));
  const keyFile = join(dir.path, 'age-key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
  return {
    cluster,
    sourceUrl,
    uploads,
    work: dir.path,
    keyFile,
    recipient,
    async stop() {
      await cluster.stop().catch(() => undefined);
      await dir.remove();
    },
  };
}

/** Backs up the world's database and uploads into `storage`; returns the new backup's id. */
export async function takeBackup(world: World, storage: string, extra: string[] = []): Promise<string> {
  const run = await runCli(['backup', '--storage', storage, '--database-url', world.sourceUrl, '--files-path', world.uploads, '--json', ...extra]);
  if (run.status !== 0) throw new Error(`fixture backup failed: ${describeRun(run)}`);
  return (JSON.parse(run.stdout) as { backupId: string }).backupId;
}

export function backupDir(storage: string, id: string, name = 'default'): string {
  return join(storage, name, id);
}

export async function listIds(storage: string, name = 'default'): Promise<string[]> {
  return (await readdir(join(storage, name)).catch(() => [] as string[])).filter((d) => /^\d{8}T\d{6}Z-/.test(d)).sort();
}

/** Files (relative paths) under a folder, recursively. */
/**
 * The backup's own objects: the verification marker is a mutable object outside the digested set
 * (issue 11's Decisions), written by a verify or a passed drill, so it is not a part that can be lost.
 */
export async function storedParts(backupFolder: string): Promise<string[]> {
  return (await filesUnder(backupFolder)).filter((f) => f !== VERIFIED_MARKER);
}

export async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(dir, e.name), r);
      else out.push(r);
    }
  };
  await walk(root, '');
  return out.sort();
}

/** Copies a whole storage folder (backups are small here). */
export async function copyStorage(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await cp(from, to, { recursive: true });
}

export async function sizeOfTree(root: string): Promise<number> {
  let total = 0;
  for (const f of await filesUnder(root)) total += (await stat(join(root, f))).size;
  return total;
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}
