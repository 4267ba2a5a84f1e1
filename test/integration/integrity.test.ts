// Integrity end to end (issue 11, items 1, 2, 3 and 7): real backups of a real
// database in a local folder (and one case through s3rver), broken on purpose in
// every way the fault campaign found, then pruned, verified, downloaded and drilled.
// Each numbered case of the issue is a named test.
import { after, before, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { cp, mkdir, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buildConfig } from '../../src/config.js';
import { IntegrityError, LockedError } from '../../src/errors.js';
import { generateIdentity, recipientOf } from '../../src/archive/age/index.js';
import { unsealingFor } from '../../src/archive/seal.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { runPrune } from '../../src/modes/prune.js';
import { verifyAll, verifyBackup } from '../../src/modes/verify.js';
import { listBackups, VERIFIED_MARKER } from '../../src/storage/catalog.js';
import { openStorage } from '../../src/storage/registry.js';
import { MemoryLogger } from '../../src/util/logger.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { createSeededDatabase, startCluster } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const SET = 'default';

function config(values: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  return buildConfig((name) => ({ mode: 'backup', compression: '0', name: SET, ...values })[name], env);
}

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const size = (await fh.stat()).size;
    const at = offset < 0 ? size + offset : Math.min(offset, size - 1);
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, at);
    buf[0] = buf[0]! ^ 0x01;
    await fh.write(buf, 0, 1, at);
  } finally {
    await fh.close();
  }
}

async function ids(storage: string): Promise<string[]> {
  return (await readdir(join(storage, SET))).sort();
}

/** The breakages of item 1, applied to one backup folder. */
const BREAKS: Record<string, (dir: string) => Promise<void>> = {
  'a flipped byte in its dump': (dir) => flipByte(join(dir, 'database.dump'), 5000),
  'a flipped byte in its tar': (dir) => flipByte(join(dir, 'files.tar'), 2000),
  'a truncated part': async (dir) => truncate(join(dir, 'database.dump'), (await stat(join(dir, 'database.dump'))).size - 100),
  'a deleted part': (dir) => rm(join(dir, 'files.tar')),
  'a checksums.sha256 flip': (dir) => flipByte(join(dir, 'checksums.sha256'), 3),
  'manifest.json truncated to invalid JSON': async (dir) => truncate(join(dir, 'manifest.json'), Math.floor((await stat(join(dir, 'manifest.json'))).size / 2)),
};

describe('integrity (issue 11)', () => {
  let cluster: EphemeralCluster;
  let url: string;
  let work: { path: string; remove(): Promise<void> };
  let uploads: string;
  /** Three good plain backups, and one encrypted backup, taken once and copied per test. */
  let plainTemplate: string;
  let sealedTemplate: string;
  let identity: string;
  let copies = 0;

  async function copyOf(template: string): Promise<{ dir: string; ids: string[] }> {
    const dir = join(work.path, `storage-${copies++}`);
    await cp(template, dir, { recursive: true });
    return { dir, ids: await ids(dir) };
  }

  before(async () => {
    cluster = await startCluster();
    url = await createSeededDatabase(cluster, 'app', 2);
    work = await tempDir('bd-integrity-');
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    plainTemplate = join(work.path, 'plain');
    for (let i = 0; i < 3; i++) {
      await runBackup(config({ storage: plainTemplate, 'database-url': url, 'files-path': uploads }), { logger: new MemoryLogger() });
    }
    identity = generateIdentity();
    sealedTemplate = join(work.path, 'sealed');
    await runBackup(config({ storage: sealedTemplate, 'database-url': url, 'files-path': uploads, 'encrypt-recipients': recipientOf(identity) }), {
      logger: new MemoryLogger(),
    });
  });
  after(async () => {
    await cluster?.stop();
    await work?.remove();
  });

  describe('item 1: retention never deletes the only backups that verify', () => {
    for (const [breakage, breakIt] of Object.entries(BREAKS)) {
      for (const policy of ['keep-last', 'keep-daily', 'keep-weekly']) {
        test(`newest broken by ${breakage}: prune --${policy} 1 keeps the good one`, async () => {
          const {
            dir,
            ids: [oldest, good, broken],
          } = await copyOf(plainTemplate);
          await breakIt(join(dir, SET, broken!));
          const logger = new MemoryLogger();
          const r = await runPrune(config({ storage: dir, [policy]: '1' }), { logger });
          assert.deepEqual(r.deleted, [oldest], 'only the older good backup goes');
          assert.deepEqual(await ids(dir), [good, broken], 'the good one stays, and the damaged one is not deleted without --damaged');
          assert.deepEqual(
            r.damaged.map((d) => d.id),
            [broken],
          );
          assert.ok(r.decisions.find((d) => d.id === good)!.reasons.includes('newest verified'));
          assert.ok(
            logger.lines.some((l) => l.includes(`Backup ${broken} is damaged`)),
            logger.lines.join('\n'),
          );
          // The good one still verifies in full after the prune.
          assert.ok((await verifyBackup(await openStorage(config({ storage: dir })), SET, good!, { logger: new MemoryLogger() })).ok);
        });
      }
    }

    test('two newest broken: prune --keep-last 2 keeps the only good one', async () => {
      const {
        dir,
        ids: [good, broken1, broken2],
      } = await copyOf(plainTemplate);
      await BREAKS['a flipped byte in its dump']!(join(dir, SET, broken1!));
      await BREAKS['a truncated part']!(join(dir, SET, broken2!));
      const r = await runPrune(config({ storage: dir, 'keep-last': '2' }), { logger: new MemoryLogger() });
      assert.deepEqual(r.deleted, []);
      assert.deepEqual(await ids(dir), [good, broken1, broken2]);
      assert.deepEqual(r.damaged.map((d) => d.id).sort(), [broken1, broken2]);
      assert.match(r.damaged.find((d) => d.id === broken2)!.reason, /database\.dump is \d+ bytes; its manifest records \d+/);
    });

    test('damaged backups go only with prune --damaged; no verifying backup refuses the prune', async () => {
      const {
        dir,
        ids: [a, b, c],
      } = await copyOf(plainTemplate);
      for (const id of [a, b, c]) await BREAKS['a deleted part']!(join(dir, SET, id!));
      await assert.rejects(
        runPrune(config({ storage: dir, 'keep-last': '1' }), { logger: new MemoryLogger() }),
        (e: unknown) => e instanceof IntegrityError && /Prune refused: no backup of set 'default' verifies/.test(e.message),
      );
      assert.deepEqual(await ids(dir), [a, b, c]);

      const fresh = await copyOf(plainTemplate);
      await BREAKS['a checksums.sha256 flip']!(join(fresh.dir, SET, fresh.ids[2]!));
      const r = await runPrune(config({ storage: fresh.dir }), { logger: new MemoryLogger(), pruneDamaged: true });
      assert.deepEqual(r.deleted, [fresh.ids[2]]);
    });

    test('through S3 (s3rver): a damaged newest backup does not cost the good one', async () => {
      let s3: S3TestServer | undefined;
      try {
        s3 = await startS3Server();
        const env = {
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
          AWS_REGION: s3.region,
        };
        Object.assign(process.env, env); // the S3 adapter reads the standard AWS chain
        const s3Config = config({ storage: `s3://${s3.bucket}/integrity`, 's3-endpoint': s3.endpoint, 's3-force-path-style': 'true', 'keep-last': '1' }, env);
        const storage = await openStorage(s3Config);
        const {
          dir,
          ids: [oldest, good, broken],
        } = await copyOf(plainTemplate);
        await BREAKS['a flipped byte in its dump']!(join(dir, SET, broken!));
        for (const id of [oldest, good, broken]) {
          for (const file of await readdir(join(dir, SET, id!))) {
            await storage.put(`${SET}/${id}/${file}`, Readable.from([await readFile(join(dir, SET, id!, file))]));
          }
        }
        const r = await runPrune(s3Config, { logger: new MemoryLogger(), storage });
        assert.deepEqual(r.deleted, [oldest]);
        assert.deepEqual(
          (await listBackups(storage, SET)).map((e) => e.id),
          [broken, good],
        );
        assert.match(r.damaged[0]!.reason, /database\.dump.*does not match its manifest/);
      } finally {
        for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) delete process.env[k];
        await s3?.stop();
      }
    });
  });

  describe('item 2: every stored file is verified', () => {
    test('drill fails on a corrupted checksums.sha256, naming the object', async () => {
      const { dir, ids: all } = await copyOf(plainTemplate);
      await flipByte(join(dir, SET, all[2]!, 'checksums.sha256'), 10);
      const r = await runDrill(
        buildConfig((n) => ({ mode: 'restore-drill', storage: dir, 'report-dir': join(dir, 'reports') })[n], {}),
        { logger: new MemoryLogger() },
      );
      assert.equal(r.report.status, 'failed');
      assert.ok(
        r.report.failures.some((f) => /checksums\.sha256/.test(f)),
        r.report.failures.join('\n'),
      );
    });

    test('drill fails on a truncated roles.sql, naming the object', async () => {
      const { dir, ids: all } = await copyOf(plainTemplate);
      const roles = join(dir, SET, all[2]!, 'roles.sql');
      await truncate(roles, (await stat(roles)).size - 10);
      const r = await runDrill(
        buildConfig((n) => ({ mode: 'restore-drill', storage: dir, 'report-dir': join(dir, 'reports') })[n], {}),
        { logger: new MemoryLogger() },
      );
      assert.equal(r.report.status, 'failed');
      assert.ok(
        r.report.failures.some((f) => /part roles\.sql: .*roles\.sql.*does not match its manifest/.test(f)),
        r.report.failures.join('\n'),
      );
      assert.ok(!(await readdir(join(dir, SET, all[2]!))).includes(VERIFIED_MARKER), 'a failed drill records nothing');
    });

    test('a parseable edit of manifest.json fails verify, and the edited backup is never latest', async () => {
      const { dir, ids: all } = await copyOf(plainTemplate);
      const path = join(dir, SET, all[2]!, 'manifest.json');
      const manifest = JSON.parse(await readFile(path, 'utf8')) as { tables: Array<{ rows: number }> };
      manifest.tables[0]!.rows += 1;
      await writeFile(path, JSON.stringify(manifest, null, 2));
      const storage = await openStorage(config({ storage: dir }));
      await assert.rejects(
        verifyBackup(storage, SET, all[2]!, { logger: new MemoryLogger() }),
        (e: unknown) => e instanceof IntegrityError && e.message.includes(`${all[2]}/manifest.json does not match its own digest`),
      );
      const latest = await verifyBackup(storage, SET, 'latest', { logger: new MemoryLogger() });
      assert.equal(latest.id, all[1], 'latest is the newest backup whose manifest verifies');
      assert.equal(latest.ok, false, 'verify latest still fails: the newest backup is damaged');
      assert.match(latest.parts[0]!.name, new RegExp(`backup ${all[2]} \\(newer, skipped\\)`));
      const everything = await verifyAll(storage, SET, { logger: new MemoryLogger() });
      assert.equal(everything.ok, false);
      assert.deepEqual(
        everything.failed.map((f) => f.id),
        [all[2]],
      );
      assert.equal(everything.results.length, 2);
    });

    test("a flipped byte in an encrypted backup's public manifest.json fails the drill", async () => {
      const size = (await stat(join(sealedTemplate, SET, (await ids(sealedTemplate))[0]!, 'manifest.json'))).size;
      for (const offset of [40, Math.floor(size / 3), Math.floor(size / 2), size - 80]) {
        const {
          dir,
          ids: [id],
        } = await copyOf(sealedTemplate);
        await flipByte(join(dir, SET, id!, 'manifest.json'), offset);
        await assert.rejects(
          runDrill(
            buildConfig((n) => ({ mode: 'restore-drill', storage: dir, 'decrypt-identity': identity, 'report-dir': join(dir, 'r') })[n], {}),
            {
              logger: new MemoryLogger(),
            },
          ),
          (e: unknown) => e instanceof IntegrityError && e.message.includes('manifest.json'),
          `flip at ${offset}`,
        );
      }
    });
  });

  describe('item 3: verify and download of encrypted backups', () => {
    test('verify and download without a key pass on a good encrypted backup and fail on a flipped byte', async () => {
      const {
        dir,
        ids: [id],
      } = await copyOf(sealedTemplate);
      const storage = await openStorage(config({ storage: dir }));
      const good = await verifyBackup(storage, SET, id!, { logger: new MemoryLogger() });
      assert.ok(good.ok, JSON.stringify(good.parts));
      assert.equal(good.manifest, undefined);
      assert.equal(good.sealedChecked, false);
      const into = join(dir, 'download');
      const downloaded = await verifyBackup(storage, SET, id!, { logger: new MemoryLogger(), into });
      assert.ok(downloaded.ok);
      assert.ok((await readdir(into)).includes('database.dump.age'));

      const withKey = await verifyBackup(storage, SET, id!, {
        logger: new MemoryLogger(),
        unseal: unsealingFor(config({ storage: dir, 'decrypt-identity': identity })),
      });
      assert.ok(withKey.ok, JSON.stringify(withKey.parts));
      assert.equal(withKey.sealedChecked, true);
      assert.ok(withKey.manifest?.tables.length);

      await flipByte(join(dir, SET, id!, 'database.dump.age'), 3000);
      const bad = await verifyBackup(storage, SET, id!, { logger: new MemoryLogger() });
      assert.equal(bad.ok, false);
      assert.match(bad.parts.find((p) => !p.ok)!.message, /database\.dump\.age.*does not match its manifest/);
      const into2 = join(dir, 'download2');
      const badDownload = await verifyBackup(storage, SET, id!, { logger: new MemoryLogger(), into: into2 });
      assert.equal(badDownload.ok, false);
      assert.ok(!(await readdir(into2)).includes('database.dump.age'), 'a part that fails verification is not kept');
    });

    test('--read-data-subset reads only some objects in full and still checks the others are present at their size', async () => {
      const { dir, ids: all } = await copyOf(plainTemplate);
      const storage = await openStorage(config({ storage: dir }));
      const none = await verifyAll(storage, SET, { logger: new MemoryLogger(), readData: () => false });
      assert.ok(none.ok);
      assert.ok(none.results.every((r) => !r.readInFull));
      await truncate(join(dir, SET, all[0]!, 'files.tar'), 10);
      const after = await verifyAll(storage, SET, { logger: new MemoryLogger(), readData: () => false });
      assert.equal(after.ok, false);
      assert.match(after.results.find((r) => r.id === all[0])!.parts.find((p) => !p.ok)!.message, /10 bytes, its manifest records/);
    });
  });

  describe('the CLI (dist)', () => {
    function cli(args: string[]) {
      const r = spawnSync(process.execPath, ['dist/cli/index.js', ...args], { encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH ?? '' } });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    }

    test('verify without a key on an encrypted backup exits 0 and says it detects damage, not tampering; verify --all exits 7 naming the damaged backup', async () => {
      const sealed = await copyOf(sealedTemplate);
      const ok = cli(['verify', 'latest', '--storage', sealed.dir]);
      assert.equal(ok.status, 0, ok.out);
      assert.match(ok.out, /detects damage, not tampering/);
      const withKey = cli(['verify', 'latest', '--storage', sealed.dir, '--decrypt-identity', identity]);
      assert.equal(withKey.status, 0, withKey.out);
      assert.match(withKey.out, /sealed manifest: decrypts/);

      const plain = await copyOf(plainTemplate);
      await BREAKS['a flipped byte in its tar']!(join(plain.dir, SET, plain.ids[1]!));
      const all = cli(['verify', '--all', '--storage', plain.dir]);
      assert.equal(all.status, 7, all.out);
      assert.match(all.out, new RegExp(`Backup ${plain.ids[1]}: VERIFICATION FAILED`));
      assert.match(all.out, /files\.tar.*does not match its manifest/);
      const subset = cli(['verify', '--all', '--storage', plain.dir, '--read-data-subset', '1%']);
      assert.match(subset.out, /about 1% of the objects \(seed [0-9a-f]{8}\)/);
      assert.equal(cli(['verify', '--all', '--storage', plain.dir, '--read-data-subset', '150%']).status, 2);
    });

    test('prune alone exits 7 when no backup verifies, and deletes nothing', async () => {
      const { dir, ids: all } = await copyOf(plainTemplate);
      for (const id of all) await BREAKS['manifest.json truncated to invalid JSON']!(join(dir, SET, id));
      const r = cli(['prune', '--storage', dir, '--keep-last', '1']);
      assert.equal(r.status, 7, r.out);
      assert.match(r.out, /Prune refused/);
      assert.deepEqual(await ids(dir), all);
    });

    test('list marks a damaged backup DAMAGED with why, never complete (text and --json)', async () => {
      const { dir, ids: all } = await copyOf(plainTemplate);
      await BREAKS['a truncated part']!(join(dir, SET, all[2]!));
      const r = cli(['list', '--storage', dir]);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out.split('\n').find((l) => l.startsWith(all[2]!)) ?? '', /\sDAMAGED\s/);
      assert.match(r.out.split('\n').find((l) => l.startsWith(all[1]!)) ?? '', /\syes\s+no\s*$/);
      assert.match(r.out, new RegExp(`${all[2]}: .*database\\.dump`));
      const json = JSON.parse(cli(['list', '--storage', dir, '--json']).out) as Array<{ id: string; complete: boolean; state: string }>;
      assert.deepEqual(
        json.map((e) => [e.id, e.complete, e.state]),
        [
          [all[2], false, 'damaged'],
          [all[1], true, 'complete'],
          [all[0], true, 'complete'],
        ],
      );
    });
  });

  describe('item 7: concurrency', () => {
    test('prune during a drill does not delete the drilled backup', async () => {
      const {
        dir,
        ids: [drilled, , newest],
      } = await copyOf(plainTemplate);
      let prune: Promise<Awaited<ReturnType<typeof runPrune>>> | undefined;
      const drill = await runDrill(
        buildConfig((n) => ({ mode: 'restore-drill', storage: dir, 'backup-id': drilled, 'report-dir': join(dir, 'reports') })[n], {}),
        {
          logger: new MemoryLogger(),
          // The drill holds its shared lock once its throwaway server starts: prune now.
          onCleanup: (item) => {
            if (item.kind === 'cluster') prune ??= runPrune(config({ storage: dir, 'keep-last': '1' }), { logger: new MemoryLogger() });
          },
          // Hold the drill (and its lock) until that prune has finished: a fast drill must not end first.
          afterRestore: async () => {
            await prune;
          },
        },
      );
      assert.ok(prune, 'the prune ran during the drill');
      const pruned = await prune;
      assert.equal(drill.report.status, 'passed', drill.report.failures.join('\n'));
      assert.deepEqual(pruned.deleted, []);
      assert.match(pruned.skipped ?? '', /restore-drill/);
      assert.ok((await ids(dir)).includes(drilled!));
      assert.ok((await readdir(join(dir, SET, drilled!))).includes(VERIFIED_MARKER), 'a passed drill records its full read');
      // Once the drill is over, the same prune deletes what the policy says.
      const later = await runPrune(config({ storage: dir, 'keep-last': '1' }), { logger: new MemoryLogger() });
      assert.deepEqual(await ids(dir), [newest]);
      assert.equal(later.deleted.length, 2);
    });

    test('a drill meeting a prune that is deleting backs off, naming it', async () => {
      const { dir } = await copyOf(plainTemplate);
      const storage = await openStorage(config({ storage: dir }));
      const { acquireLock } = await import('../../src/storage/lock.js');
      const lock = await acquireLock(storage, SET, { operation: 'prune', holder: 'other-host pid 1', logger: new MemoryLogger(), settleMs: 10 });
      await lock.startDeleting();
      try {
        await assert.rejects(
          runDrill(
            buildConfig((n) => ({ mode: 'restore-drill', storage: dir, 'report-dir': join(dir, 'r') })[n], {}),
            { logger: new MemoryLogger() },
          ),
          (e: unknown) => e instanceof LockedError && /prune, deleting backups/.test(e.message),
        );
      } finally {
        await lock.release();
      }
    });

    test('read-only credentials: a drill warns and goes on without its shared lock', async () => {
      const { dir } = await copyOf(plainTemplate);
      const storage = await openStorage(config({ storage: dir }));
      const readOnly = Object.assign(Object.create(storage) as typeof storage, {
        put: () => Promise.reject(new Error('AccessDenied: read-only credentials')),
      });
      const logger = new MemoryLogger();
      const r = await runDrill(
        buildConfig((n) => ({ mode: 'restore-drill', storage: dir, 'report-dir': join(dir, 'r') })[n], {}),
        {
          logger,
          storage: readOnly,
        },
      );
      assert.equal(r.report.status, 'passed', r.report.failures.join('\n'));
      assert.ok(
        logger.lines.some((l) => /Could not write a shared lock.*AccessDenied/.test(l)),
        logger.lines.join('\n'),
      );
      assert.ok(logger.lines.some((l) => /Could not record that backup .* verified/.test(l)));
    });
  });
});
