// Benchmark data: a source database of a given size and an uploads folder of
// incompressible files, both generated fast (server-side generate_series +
// pgcrypto for the database; node:crypto random bytes for the files).
//
//   node --import tsx bench/generate.ts [--db-mb 1000] [--files-mb 500] [--hold]
//
// Standalone, it starts a throwaway cluster, generates, prints what it made and
// removes everything (with --hold it keeps the cluster until Ctrl-C and prints
// its URL and the uploads path). bench/run.ts imports generateDatabase and
// generateUploads and runs them against its own cluster.
//
// Tables (shares of the target size, indexes included):
//   accounts    ~6%   text, jsonb settings, unique email index
//   orders      ~18%  numeric, jsonb line items, indexes on account_id and created_at
//   events      ~34%  jsonb payloads (the typical audit/event log), index on (account_id, at)
//   comments    ~20%  prose text from a vocabulary (compresses like real text), index on order_id
//   attachments ~22%  bytea of random bytes (incompressible), 4–32 KiB each, index on order_id
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtemp, chmod } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { findAllBinDirs } from '../src/postgres/binaries.js';
import { EphemeralCluster } from '../src/postgres/cluster.js';

const MB = 1_000_000;
const MiB = 1 << 20;

export interface TableInfo {
  name: string;
  rows: number;
  /** pg_total_relation_size: heap + TOAST + indexes. */
  bytes: number;
}

export interface DatabaseInfo {
  url: string;
  database: string;
  bytes: number;
  tables: TableInfo[];
  seconds: number;
}

export interface UploadsInfo {
  path: string;
  files: number;
  bytes: number;
  seconds: number;
}

/**
 * Bytes each row costs on disk, indexes included, measured on PostgreSQL 15
 * with this generator (heap + TOAST + indexes ÷ rows). Used to turn a target
 * size into row counts; the real size is measured and reported afterwards.
 */
const TABLES: Array<{ name: string; share: number; bytesPerRow: number; create: string; fill: (n: number) => string; indexes: string[] }> = [
  {
    name: 'accounts',
    share: 0.06,
    bytesPerRow: 300,
    create: `CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, plan text NOT NULL,
               created_at timestamptz NOT NULL, settings jsonb NOT NULL)`,
    fill: (n) => `INSERT INTO accounts
      SELECT g, 'user' || g || '.' || substr(md5(g::text), 1, 8) || '@example.com',
             initcap(substr(md5('n' || g), 1, 6)) || ' ' || initcap(substr(md5('s' || g), 1, 9)),
             (ARRAY['free','team','business','enterprise'])[1 + g % 4],
             timestamptz '2020-01-01' + (g % 157680000) * interval '1 second',
             jsonb_build_object('locale', (ARRAY['en','fr','de','ja','pt'])[1 + g % 5], 'tz', 'UTC',
                                'notify', jsonb_build_object('email', g % 2 = 0, 'sms', g % 7 = 0), 'theme', md5('t' || g))
        FROM generate_series(1, ${n}) AS g`,
    indexes: ['CREATE UNIQUE INDEX accounts_email ON accounts (email)'],
  },
  {
    name: 'orders',
    share: 0.18,
    bytesPerRow: 420,
    create: `CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL,
               currency char(3) NOT NULL, created_at timestamptz NOT NULL, lines jsonb NOT NULL)`,
    fill: (n) => `INSERT INTO orders
      SELECT g, 1 + (g::bigint * 7919) % greatest(1, ${Math.max(1, Math.round(n / 8))}),
             (ARRAY['new','paid','shipped','refunded','cancelled'])[1 + g % 5],
             round((random() * 2000)::numeric, 2), (ARRAY['EUR','USD','GBP'])[1 + g % 3],
             timestamptz '2021-01-01' + (g % 126144000) * interval '1 second',
             (SELECT jsonb_agg(jsonb_build_object('sku', 'SKU-' || substr(md5(g::text || i), 1, 10), 'qty', 1 + (g + i) % 5,
                                                  'price', round((random() * 200)::numeric, 2), 'note', substr(md5(i::text || g), 1, 16)))
                FROM generate_series(1, 1 + g % 4) AS i)
        FROM generate_series(1, ${n}) AS g`,
    indexes: ['CREATE INDEX orders_account ON orders (account_id)', 'CREATE INDEX orders_created ON orders (created_at)'],
  },
  {
    name: 'events',
    share: 0.34,
    bytesPerRow: 400,
    create: `CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint NOT NULL, kind text NOT NULL, at timestamptz NOT NULL, payload jsonb NOT NULL)`,
    fill: (n) => `INSERT INTO events
      SELECT g, 1 + (g::bigint * 104729) % 100000, (ARRAY['login','logout','view','update','export','invite','delete'])[1 + g % 7],
             timestamptz '2022-01-01' + (g % 94608000) * interval '1 second',
             jsonb_build_object('ip', ((g * 2654435761) % 4294967296)::bigint, 'ua', 'Mozilla/5.0 (' || md5('ua' || (g % 997)) || ')',
                                'request_id', md5(g::text), 'path', '/app/' || substr(md5('p' || (g % 5000)), 1, 12) || '/' || g % 1000,
                                'took_ms', (random() * 900)::int, 'ok', g % 13 <> 0, 'trace', md5('x' || g) || md5('y' || g))
        FROM generate_series(1, ${n}) AS g`,
    indexes: ['CREATE INDEX events_account_at ON events (account_id, at)'],
  },
  {
    name: 'comments',
    share: 0.2,
    bytesPerRow: 960,
    create: `CREATE TABLE comments (id bigint PRIMARY KEY, order_id bigint NOT NULL, author text NOT NULL, created_at timestamptz NOT NULL, body text NOT NULL)`,
    // Prose from a 48-word vocabulary: compresses roughly like real text (3–4×).
    fill: (n) => `INSERT INTO comments
      SELECT g, 1 + (g::bigint * 31) % greatest(1, ${n}), 'user' || (g % 50000), timestamptz '2022-06-01' + (g % 80000000) * interval '1 second',
             array_to_string(ARRAY(
               SELECT (ARRAY['the','order','arrived','late','and','customer','asked','for','a','refund','please','check','invoice',
                             'shipping','address','was','wrong','we','sent','replacement','today','thanks','support','ticket','closed',
                             'reopened','payment','failed','card','declined','retry','tomorrow','warehouse','stock','missing','item',
                             'box','damaged','photo','attached','tracking','number','carrier','delay','weekend','priority','urgent','ok'])
                      [1 + ((g::bigint * 131 + i * 7919 + (random() * 47)::int) % 48)]
                 FROM generate_series(1, 60 + g % 120) AS i), ' ')
        FROM generate_series(1, ${n}) AS g`,
    indexes: ['CREATE INDEX comments_order ON comments (order_id)'],
  },
  {
    name: 'attachments',
    share: 0.22,
    // 4–32 KiB of random bytes (mean 18 KiB) + TOAST overhead + small columns.
    bytesPerRow: 18 * 1024 + 560,
    create: `CREATE TABLE attachments (id bigint PRIMARY KEY, order_id bigint NOT NULL, filename text NOT NULL, mime text NOT NULL,
               sha256 text NOT NULL, content bytea NOT NULL)`,
    fill: (n) => `INSERT INTO attachments
      SELECT g, 1 + (g::bigint * 17) % greatest(1, ${n * 10}), 'scan-' || g || (ARRAY['.jpg','.png','.pdf'])[1 + g % 3],
             (ARRAY['image/jpeg','image/png','application/pdf'])[1 + g % 3], md5(g::text) || md5('h' || g),
             (SELECT string_agg(gen_random_bytes(1024), ''::bytea) FROM generate_series(1, 4 + g % 29) AS k)
        FROM generate_series(1, ${n}) AS g`,
    indexes: ['CREATE INDEX attachments_order ON attachments (order_id)'],
  },
];

export const TABLE_NAMES = TABLES.map((t) => t.name);

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'bench-generate' });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/**
 * Creates database `database` in the cluster (admin URL) and fills it to about
 * `dbMb` MB (pg_database_size). Two connections load tables in parallel.
 */
export async function generateDatabase(adminUrl: string, options: { dbMb: number; database?: string; log?: (line: string) => void }): Promise<DatabaseInfo> {
  const t0 = performance.now();
  const database = options.database ?? 'bench';
  const log = options.log ?? (() => undefined);
  const admin = await client(adminUrl);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  const url = u.toString();

  // An empty database is ~7.5 MB of catalogs; aim the tables at the rest.
  const budget = Math.max(1, options.dbMb - 8) * MB;
  const plan = TABLES.map((t) => ({ ...t, rows: Math.max(10, Math.round((budget * t.share) / t.bytesPerRow)) }));

  const setup = await client(url);
  await setup.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
  await setup.end();

  // Biggest first, spread over two connections: both cores stay busy.
  const queue = [...plan].sort((a, b) => b.rows * b.bytesPerRow - a.rows * a.bytesPerRow);
  await Promise.all(
    [0, 1].map(async () => {
      const c = await client(url);
      try {
        await c.query("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'");
        for (let t = queue.shift(); t; t = queue.shift()) {
          const s = performance.now();
          // Created and filled in one transaction: with wal_level=minimal nothing is WAL-logged.
          await c.query('BEGIN');
          await c.query(t.create);
          await c.query(t.fill(t.rows));
          for (const index of t.indexes) await c.query(index);
          await c.query('COMMIT');
          log(`  ${t.name}: ${t.rows} rows in ${((performance.now() - s) / 1000).toFixed(1)}s`);
        }
      } finally {
        await c.end();
      }
    }),
  );

  const c = await client(url);
  try {
    await c.query('DROP EXTENSION pgcrypto'); // the data stays; the restore needs no extension
    // Freeze and analyze now, so no later scan (pg_dump, stats) pays for hint bits or autovacuum.
    const s = performance.now();
    await c.query('VACUUM (FREEZE, ANALYZE)');
    await c.query('CHECKPOINT');
    log(`  vacuum freeze analyze + checkpoint in ${((performance.now() - s) / 1000).toFixed(1)}s`);
    const { rows } = await c.query<{ name: string; rows: string; bytes: string }>(
      `SELECT c.relname AS name, c.reltuples::bigint::text AS rows, pg_total_relation_size(c.oid)::text AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
    );
    const size = await c.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n');
    return {
      url,
      database,
      bytes: Number(size.rows[0]!.n),
      tables: rows.map((r) => ({ name: r.name, rows: Number(r.rows), bytes: Number(r.bytes) })),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await c.end();
  }
}

/** Deterministic-enough PRNG for file sizes and names (contents come from randomBytes). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Writes about `filesMb` MB of incompressible files of mixed sizes under `dir`:
 * ~85% of files 8–128 KiB, ~13% 256 KiB–4 MiB, ~2% 8–32 MiB, in year/month folders.
 */
export async function generateUploads(dir: string, options: { filesMb: number; seed?: number }): Promise<UploadsInfo> {
  const t0 = performance.now();
  const rand = lcg(options.seed ?? 42);
  const target = options.filesMb * MB;
  const exts = ['.jpg', '.png', '.pdf', '.webp', '.zip'];
  let bytes = 0;
  let files = 0;
  await mkdir(dir, { recursive: true });
  while (bytes < target) {
    const r = rand();
    let size = r < 0.85 ? 8 * 1024 + rand() * 120 * 1024 : r < 0.98 ? 256 * 1024 + rand() * (4 * MiB - 256 * 1024) : 8 * MiB + rand() * 24 * MiB;
    size = Math.min(Math.round(size), Math.max(1, target - bytes));
    const sub = join(dir, String(2019 + (files % 6)), String(1 + (files % 12)).padStart(2, '0'));
    await mkdir(sub, { recursive: true });
    const handle = await open(join(sub, `${files.toString(36)}-${Math.floor(rand() * 1e9).toString(36)}${exts[files % exts.length]}`), 'w');
    try {
      for (let left = size; left > 0;) {
        const n = Math.min(left, 4 * MiB);
        await handle.write(randomBytes(n));
        left -= n;
      }
    } finally {
      await handle.close();
    }
    bytes += size;
    files++;
  }
  return { path: dir, files, bytes, seconds: (performance.now() - t0) / 1000 };
}

/** Newest installed server binaries (initdb, pg_ctl, postgres). */
export async function serverBinDir(): Promise<string> {
  const dirs = await findAllBinDirs(['initdb', 'pg_ctl', 'postgres']);
  const best = dirs.sort((a, b) => b.major - a.major)[0];
  if (!best) throw new Error('No PostgreSQL server binaries found: apt-get install -y postgresql');
  return best.dir;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : argv[i + 1];
}

async function main(argv: string[]): Promise<void> {
  const dbMb = Number(flag(argv, 'db-mb') ?? 1000);
  const filesMb = Number(flag(argv, 'files-mb') ?? 500);
  const hold = argv.includes('--hold');
  // Ctrl-C must reach `finally` (a cluster left running outlives us): note it and stop at the next step.
  let interrupted = false;
  let wake = () => undefined as void;
  const onSignal = () => {
    interrupted = true;
    wake();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const work = await mkdtemp(join(tmpdir(), 'bd-bench-gen-'));
  await chmod(work, 0o755); // the postgres user must reach the cluster below it
  let cluster: EphemeralCluster | undefined;
  try {
    cluster = await EphemeralCluster.start({ binDir: await serverBinDir(), parentDir: join(work, 'clusters'), tuneForRestore: true });
    console.log(`generating ${dbMb} MB database …`);
    const db = await generateDatabase(cluster.url(), { dbMb, log: (l) => console.log(l) });
    console.log(`database ${db.database}: ${(db.bytes / MB).toFixed(0)} MB in ${db.seconds.toFixed(1)}s`);
    for (const t of db.tables) console.log(`  ${t.name.padEnd(12)} ${String(t.rows).padStart(10)} rows ${(t.bytes / MB).toFixed(1).padStart(8)} MB`);
    if (interrupted) return;
    console.log(`generating ${filesMb} MB of uploads …`);
    const up = await generateUploads(join(work, 'uploads'), { filesMb });
    console.log(`uploads: ${up.files} files, ${(up.bytes / MB).toFixed(0)} MB in ${up.seconds.toFixed(1)}s (${up.path})`);
    if (hold && !interrupted) {
      console.log(`database URL: ${db.url}\nholding; Ctrl-C removes everything`);
      // A signal listener alone does not keep node's event loop alive: without this timer the
      // process would exit here, skip `finally` and leave the cluster running.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => (wake = resolve));
      clearInterval(keepAlive);
    }
  } finally {
    await cluster?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
