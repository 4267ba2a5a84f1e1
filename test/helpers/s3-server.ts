// A real S3 HTTP server (s3rver) on 127.0.0.1, a free port and a temp folder,
// for tests of the S3 adapter. s3rver accepts any secret (it does not check
// SigV4 signatures) but rejects unknown access key ids.
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
const require = createRequire(import.meta.url);
// s3rver is CommonJS without type definitions.
const S3rver = require('s3rver') as S3rverClass;

// s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3
// no longer offers (every second page fails with InternalError). Triple DES with the
// key repeated three times is the same cipher, so map 'des' onto it for s3rver.
type CipherFactory = (algorithm: string, key: Buffer, iv: Buffer | null, ...rest: unknown[]) => unknown;
const nodeCrypto = require('node:crypto') as Record<'createCipheriv' | 'createDecipheriv', CipherFactory>;
for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
  const original = nodeCrypto[name];
  nodeCrypto[name] = (algorithm, key, iv, ...rest) =>
    algorithm === 'des' ? original('des-ede3-cbc', Buffer.concat([key, key, key]), iv, ...rest) : original(algorithm, key, iv, ...rest);
}

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  region: string;
  /** s3rver's built-in account. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Where s3rver keeps buckets and objects (one folder per bucket). */
  directory: string;
  /** Every request received, e.g. `PUT /bucket/key?partNumber=2&uploadId=...`. */
  requests: string[];
  /** Drops every open connection and stops listening, like a crashed server. Keeps the folder. */
  kill(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

export async function startS3Server(options: { directory?: string; bucket?: string } = {}): Promise<S3TestServer> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'backup-drill-s3rver-')));
  const bucket = options.bucket ?? 'backup-drill-test';
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const requests: string[] = [];
  server.httpServer?.on('request', (req: { method?: string; url?: string }) => requests.push(`${req.method} ${req.url}`));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const closed = server.close();
      server.httpServer?.closeAllConnections();
      await closed;
    })());
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    requests,
    kill: close,
    async stop() {
      await close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
