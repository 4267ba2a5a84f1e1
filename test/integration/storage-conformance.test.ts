// One storage contract, run against every adapter: memory, local folder, and S3
// (a real S3 HTTP server, s3rver, on 127.0.0.1). Then S3-only behaviour: multipart
// uploads, error messages, and a server that dies mid-upload.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { StorageError } from '../../src/errors.js';
import { LocalStorage } from '../../src/storage/local.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Storage } from '../../src/storage/port.js';
import { openStorage } from '../../src/storage/registry.js';
import { S3Storage } from '../../src/storage/s3.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB; // S3 adapters under test use the smallest part size, so a few MiB is multipart

/** Streams data in chunks, optionally pausing between them and failing after `failAfter` bytes. */
function streamOf(data: Buffer, options: { chunk?: number; failAfter?: number; pause?: boolean } = {}): Readable {
  const chunk = options.chunk ?? 256 * 1024;
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < data.length; offset += chunk) {
        if (options.failAfter !== undefined && offset >= options.failAfter) throw new Error('source failed midway');
        if (options.pause) await new Promise((resolve) => setImmediate(resolve));
        yield data.subarray(offset, offset + chunk);
      }
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function keysOf(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list(prefix)) keys.push(object.key);
  return keys;
}

/** Runs fn over items with at most `limit` in flight. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Subject {
  storage: Storage;
  cleanup(): Promise<void>;
}

function conformance(name: string, open: () => Promise<Subject>): void {
  describe(`storage conformance: ${name}`, () => {
    let subject: Subject;
    let storage: Storage;
    before(async () => {
      subject = await open();
      storage = subject.storage;
    });
    after(() => subject.cleanup());

    it('round-trips a multi-MiB stream byte for byte, reporting progress', async () => {
      const data = randomBytes(6 * MiB + 123);
      let progress = 0;
      const result = await storage.put('round/trip.bin', streamOf(data), { onProgress: (n) => (progress += n) });
      assert.equal(result.size, data.length);
      assert.equal(progress, data.length);
      assert.ok((await readAll(await storage.get('round/trip.bin'))).equals(data));
    });

    it('stores an empty stream as an empty object', async () => {
      assert.equal((await storage.put('empty', streamOf(Buffer.alloc(0)))).size, 0);
      assert.equal((await storage.stat('empty'))?.size, 0);
      assert.equal((await readAll(await storage.get('empty'))).length, 0);
    });

    it('reads byte ranges (end inclusive, or open-ended)', async () => {
      const data = randomBytes(2 * MiB);
      await storage.put('range.bin', streamOf(data));
      assert.ok((await readAll(await storage.get('range.bin', { start: 100, end: 199 }))).equals(data.subarray(100, 200)));
      assert.ok((await readAll(await storage.get('range.bin', { start: MiB }))).equals(data.subarray(MiB)));
    });

    it('stats present and missing objects', async () => {
      await storage.put('stat/present', streamOf(Buffer.from('hello')));
      const info = await storage.stat('stat/present');
      assert.equal(info?.key, 'stat/present');
      assert.equal(info?.size, 5);
      assert.ok(info.modified instanceof Date && !Number.isNaN(info.modified.getTime()));
      assert.equal(await storage.stat('stat/missing'), undefined);
    });

    it('lists only keys under the prefix, in key order, relative to the root', async () => {
      for (const key of ['list/b/1', 'list/a/2', 'list/ab', 'list/a/1', 'listing', 'other/x']) {
        await storage.put(key, streamOf(Buffer.from(key)));
      }
      assert.deepEqual(await keysOf(storage, 'list/a/'), ['list/a/1', 'list/a/2']);
      assert.deepEqual(await keysOf(storage, 'list/a'), ['list/a/1', 'list/a/2', 'list/ab']);
      assert.deepEqual(await keysOf(storage, 'list/'), ['list/a/1', 'list/a/2', 'list/ab', 'list/b/1']);
      assert.deepEqual(await keysOf(storage, 'nothing/'), []);
    });

    it('lists and deletes past 1,000 keys', async () => {
      const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      await inParallel(keys, 32, (key) => storage.put(key, streamOf(Buffer.from(key))));
      assert.deepEqual(await keysOf(storage, 'many/'), keys);
      await storage.delete(keys);
      assert.deepEqual(await keysOf(storage, 'many/'), []);
    });

    it('deletes existing keys and ignores missing ones', async () => {
      await storage.put('del/a', streamOf(Buffer.from('a')));
      await storage.put('del/b', streamOf(Buffer.from('b')));
      await storage.delete(['del/a', 'del/never-existed']);
      assert.deepEqual(await keysOf(storage, 'del/'), ['del/b']);
      await storage.delete([]);
    });

    it('throws StorageError naming the key when getting a missing object', async () => {
      await assert.rejects(storage.get('missing/object'), (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.match(error.message, /missing\/object/);
        return true;
      });
    });

    it('leaves no object when the stream fails midway', async () => {
      const data = randomBytes(12 * MiB); // more than two S3 parts are sent before the failure
      await assert.rejects(storage.put('broken/object', streamOf(data, { failAfter: 11 * MiB })), /source failed midway/);
      assert.equal(await storage.stat('broken/object'), undefined);
      assert.deepEqual(await keysOf(storage, 'broken/'), []);
    });

    it('stops on abort and leaves no object', async () => {
      const controller = new AbortController();
      let seen = 0;
      const put = storage.put('aborted/object', streamOf(randomBytes(16 * MiB), { pause: true }), {
        signal: controller.signal,
        onProgress: (n) => {
          seen += n;
          if (seen >= 7 * MiB) controller.abort();
        },
      });
      await assert.rejects(put, { name: 'AbortError' });
      assert.equal(await storage.stat('aborted/object'), undefined);
      assert.deepEqual(await keysOf(storage, 'aborted/'), []);
    });
  });
}

conformance('memory', async () => ({ storage: new MemoryStorage(), cleanup: async () => {} }));

conformance('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'backup-drill-local-'));
  return { storage: new LocalStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

conformance('s3', async () => {
  const server = await startS3Server();
  // Credentials through the SDK's default chain (env vars), exactly as in production.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
  const storage = S3Storage.fromUrl(`s3://${server.bucket}/conformance/root`, { endpoint: server.endpoint, forcePathStyle: true }, { partSize: PART });
  return {
    storage,
    async cleanup() {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await server.stop();
    },
  };
});

describe('s3 adapter on s3rver', () => {
  let server: S3TestServer;
  const open = (url: string, options: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {}) =>
    S3Storage.fromUrl(
      url,
      { endpoint: options.endpoint ?? server.endpoint, region: options.region, forcePathStyle: true },
      {
        partSize: PART,
        credentials: options.credentials ?? server.credentials,
      },
    );
  before(async () => {
    server = await startS3Server();
  });
  after(() => server.stop());

  it('uploads a stream of several parts byte-exact, as a real multipart upload', async () => {
    const storage = open(`s3://${server.bucket}/multi`);
    const data = randomBytes(17 * MiB + 5);
    assert.equal((await storage.put('big.bin', streamOf(data, { chunk: MiB }))).size, data.length);
    const parts = server.requests.filter((r) => r.startsWith(`PUT /${server.bucket}/multi/big.bin?`) && r.includes('partNumber='));
    assert.equal(parts.length, 4);
    assert.ok((await readAll(await storage.get('big.bin'))).equals(data));
    assert.equal((await storage.stat('big.bin'))?.size, data.length);
  });

  it('aborts the multipart upload when the stream fails', async () => {
    const storage = open(`s3://${server.bucket}/aborting`);
    await assert.rejects(storage.put('x.bin', streamOf(randomBytes(12 * MiB), { failAfter: 11 * MiB })), /source failed midway/);
    // s3rver answers AbortMultipartUpload with MethodNotAllowed, so only the request can be checked.
    assert.ok(server.requests.some((r) => r.startsWith(`DELETE /${server.bucket}/aborting/x.bin?uploadId=`)));
  });

  it('gives location and URIs as s3://bucket/prefix/key', () => {
    const storage = open(`s3://${server.bucket}/a/b/`);
    assert.equal(storage.location, `s3://${server.bucket}/a/b`);
    assert.equal(storage.uriOf('c/d'), `s3://${server.bucket}/a/b/c/d`);
  });

  it('passes checkWritable, and works with R2-style region auto', async () => {
    await open(`s3://${server.bucket}/probe`).checkWritable();
    await open(`s3://${server.bucket}/probe`, { region: 'auto' }).checkWritable();
    assert.deepEqual(await keysOf(open(`s3://${server.bucket}`), 'probe/'), []);
  });

  it('is what the registry opens for s3:// URLs', async () => {
    const storage = await openStorage({ storage: `s3://${server.bucket}/registry`, s3: { endpoint: server.endpoint, forcePathStyle: true } });
    assert.ok(storage instanceof S3Storage);
    assert.equal(storage.location, `s3://${server.bucket}/registry`);
  });

  it('names the bucket and the fix for wrong credentials, a missing bucket, an unreachable endpoint', async () => {
    const cases: [string, S3Storage, RegExp][] = [
      ['wrong credentials', open(`s3://${server.bucket}/x`, { credentials: { accessKeyId: 'WRONG', secretAccessKey: 'nope' } }), /AWS_ACCESS_KEY_ID/],
      ['missing bucket', open('s3://no-such-bucket/x'), /does not exist.*bucket name/],
      ['unreachable endpoint', open(`s3://${server.bucket}/x`, { endpoint: `http://127.0.0.1:${await closedPort()}` }), /s3-endpoint/],
    ];
    for (const [label, storage, hint] of cases) {
      for (const attempt of [() => storage.checkWritable(), () => storage.put('k', streamOf(Buffer.from('data')))]) {
        await assert.rejects(attempt(), (error: unknown) => {
          assert.ok(error instanceof StorageError, label);
          assert.match(error.message, new RegExp(`bucket '${label === 'missing bucket' ? 'no-such-bucket' : server.bucket}'`), label);
          assert.match(error.hint ?? '', hint, label);
          assert.doesNotMatch(error.describe(), /nope/, label);
          return true;
        });
      }
    }
  });

  it('rejects when the server dies mid-upload, and no object appears', async () => {
    const doomed = await startS3Server();
    const storage = open(`s3://${doomed.bucket}/crash`, { endpoint: doomed.endpoint });
    // Kill once two parts have arrived, while more are in flight.
    const watch = setInterval(() => {
      if (doomed.requests.filter((r) => r.includes('partNumber=')).length >= 2) {
        clearInterval(watch);
        void doomed.kill();
      }
    }, 2);
    try {
      await assert.rejects(storage.put('object.bin', streamOf(randomBytes(64 * MiB), { chunk: MiB, pause: true })), (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.match(error.message, /ECONNREFUSED|ECONNRESET|socket hang up/);
        assert.match(error.message, /Aborting multipart upload \S+ also failed/); // the server is gone, so say so
        return true;
      });
    } finally {
      clearInterval(watch);
    }
    await doomed.kill();
    const revived = await startS3Server({ directory: doomed.directory, bucket: doomed.bucket });
    try {
      const after = open(`s3://${revived.bucket}/crash`, { endpoint: revived.endpoint });
      assert.equal(await after.stat('object.bin'), undefined);
      assert.deepEqual(await keysOf(after, ''), []);
    } finally {
      await revived.stop();
    }
  });
});
