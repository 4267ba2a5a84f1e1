// Pure logic of the S3 adapter: URL and endpoint parsing, part sizing, the
// DeleteObjects Content-MD5 fallback, and error translation. No network.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { StorageError, UsageError } from '../../src/errors.js';
import { contentMd5ForDeleteObjects, partPlan, S3Storage, translateS3Error, type S3ErrorContext } from '../../src/storage/s3.js';
import { registerSecret } from '../../src/util/redact.js';

const MiB = 1024 * 1024;

describe('S3Storage.fromUrl', () => {
  it('maps s3://bucket/prefix to keys under the prefix', () => {
    const storage = S3Storage.fromUrl('s3://my-bucket/backups/prod/', { forcePathStyle: false });
    assert.equal(storage.location, 's3://my-bucket/backups/prod');
    assert.equal(storage.uriOf('db/1.dump'), 's3://my-bucket/backups/prod/db/1.dump');
    assert.equal(storage.prefix, 'backups/prod/');
    const root = S3Storage.fromUrl('s3://my-bucket', { forcePathStyle: false });
    assert.equal(root.location, 's3://my-bucket');
    assert.equal(root.uriOf('k'), 's3://my-bucket/k');
  });

  it('rejects an endpoint without http(s):// naming the s3-endpoint input', () => {
    for (const endpoint of ['minio.local:9000', 's3.example.com', 'ftp://x']) {
      assert.throws(
        () => S3Storage.fromUrl('s3://b-1/x', { endpoint, forcePathStyle: true }),
        (error: unknown) => error instanceof UsageError && error.input === 's3-endpoint' && error.message.includes(endpoint),
      );
    }
    assert.ok(S3Storage.fromUrl('s3://b-1/x', { endpoint: 'https://acct.r2.cloudflarestorage.com', region: 'auto', forcePathStyle: false }));
  });

  it('rejects an endpoint that carries the bucket name (as R2 shows it)', () => {
    assert.throws(
      () => S3Storage.fromUrl('s3://my-bucket', { endpoint: 'https://acct.r2.cloudflarestorage.com/my-bucket', forcePathStyle: false }),
      (error: unknown) => error instanceof UsageError && error.input === 's3-endpoint',
    );
  });
});

describe('partPlan', () => {
  it('defaults to 64 MiB parts, 4 in flight (about 320 MiB of buffers)', () => {
    assert.deepEqual(partPlan(), { partSize: 64 * MiB, queueSize: 4 });
    assert.deepEqual(partPlan(10 * MiB), { partSize: 64 * MiB, queueSize: 4 });
  });

  it('grows parts from a size hint so up to 5 TiB fits 10,000 parts, with fewer in flight', () => {
    const fiveTiB = 5 * 1024 ** 4;
    const plan = partPlan(fiveTiB);
    assert.ok(plan.partSize * 10_000 >= fiveTiB * 1.25);
    assert.equal(plan.partSize % MiB, 0);
    assert.equal(plan.queueSize, 1);
    const big = partPlan(1024 ** 4); // 1 TiB: 128 MiB parts
    assert.ok(big.partSize * 10_000 >= 1024 ** 4);
    assert.ok(big.queueSize * big.partSize <= 256 * MiB);
  });

  it('refuses streams over 5 TiB and part sizes S3 does not allow', () => {
    assert.throws(() => partPlan(6 * 1024 ** 4), StorageError);
    assert.throws(() => partPlan(undefined, { partSize: MiB }), UsageError);
    assert.deepEqual(partPlan(undefined, { partSize: 5 * MiB, queueSize: 2 }), { partSize: 5 * MiB, queueSize: 2 });
  });
});

describe('contentMd5ForDeleteObjects', () => {
  it('replaces the SDK checksum headers on DeleteObjects with Content-MD5', async () => {
    const body = '<Delete><Object><Key>a</Key></Object></Delete>';
    const request = { headers: { 'x-amz-checksum-crc32': 'AAAA', 'x-amz-sdk-checksum-algorithm': 'CRC32', host: 'h' } as Record<string, string>, body };
    await contentMd5ForDeleteObjects(async () => 'sent', { commandName: 'DeleteObjectsCommand' })({ input: {}, request });
    assert.deepEqual(request.headers, { host: 'h', 'content-md5': createHash('md5').update(body).digest('base64') });
  });

  it('leaves other commands alone', async () => {
    const request = { headers: { 'x-amz-checksum-crc32': 'AAAA' } as Record<string, string>, body: 'x' };
    await contentMd5ForDeleteObjects(async () => 'sent', { commandName: 'PutObjectCommand' })({ input: {}, request });
    assert.deepEqual(request.headers, { 'x-amz-checksum-crc32': 'AAAA' });
  });
});

describe('translateS3Error', () => {
  const ctx = (extra: Partial<S3ErrorContext> = {}): S3ErrorContext => ({
    op: 'put',
    bucket: 'acme-backups',
    key: 'prod/db/1.dump',
    relativeKey: 'db/1.dump',
    uri: 's3://acme-backups/prod/db/1.dump',
    forcePathStyle: false,
    ...extra,
  });
  const s3Error = (name: string, message: string, status: number) =>
    Object.assign(new Error(message), { name, Code: name, $metadata: { httpStatusCode: status } });
  const translate = (error: unknown, extra?: Partial<S3ErrorContext>): StorageError => {
    const out = translateS3Error(error, ctx(extra));
    assert.ok(out instanceof StorageError);
    return out;
  };

  it('names bucket, key and provider message, with a fix for a missing bucket', () => {
    const error = translate(s3Error('NoSuchBucket', 'The specified bucket does not exist', 404));
    assert.match(error.message, /acme-backups/);
    assert.match(error.message, /prod\/db\/1\.dump/);
    assert.match(error.message, /The specified bucket does not exist/);
    assert.match(error.hint!, /bucket name.*s3-region/);
    assert.equal(error.key, 'db/1.dump');
  });

  it('names the permission an AccessDenied lacks, per operation', () => {
    const denied = s3Error('AccessDenied', 'Access Denied', 403);
    assert.match(translate(denied, { op: 'put' }).hint!, /s3:PutObject on arn:aws:s3:::acme-backups\/prod\/db\/\*/);
    assert.match(translate(denied, { op: 'get' }).hint!, /s3:GetObject.*s3:ListBucket/);
    assert.match(translate(denied, { op: 'list', key: 'prod/' }).hint!, /s3:ListBucket on arn:aws:s3:::acme-backups,/);
    assert.match(translate(denied, { op: 'delete' }).hint!, /s3:DeleteObject/);
  });

  it('points at the region for redirects, and at credentials for rejected keys', () => {
    assert.match(
      translate(s3Error('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.', 301)).hint!,
      /s3-region/,
    );
    assert.match(translate(s3Error('Unknown', 'UnknownError', 301), { op: 'stat' }).hint!, /s3-region/);
    for (const code of ['InvalidAccessKeyId', 'SignatureDoesNotMatch']) {
      assert.match(translate(s3Error(code, 'rejected', 403)).hint!, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    }
  });

  it('suggests path-style when a virtual-host name does not resolve on a custom endpoint', () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND acme-backups.minio.local'), { code: 'ENOTFOUND', hostname: 'acme-backups.minio.local' });
    assert.match(translate(notFound, { endpoint: 'http://minio.local:9000' }).hint!, /s3-force-path-style: true/);
    assert.doesNotMatch(translate(notFound, { endpoint: 'http://minio.local:9000', forcePathStyle: true }).hint!, /path-style/);
  });

  it('says the endpoint is unreachable for refused or unresolvable hosts', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    assert.match(translate(refused, { endpoint: 'http://127.0.0.1:9' }).hint!, /unreachable.*s3-endpoint/);
    const unresolved = Object.assign(new Error('getaddrinfo ENOTFOUND minio.local'), { code: 'ENOTFOUND', hostname: 'minio.local' });
    assert.match(translate(unresolved, { endpoint: 'http://minio.local:9000', forcePathStyle: true }).hint!, /s3-endpoint/);
  });

  it('reports a missing object plainly', () => {
    const error = translate(s3Error('NoSuchKey', 'The specified key does not exist.', 404), { op: 'get' });
    assert.equal(error.message, "Object s3://acme-backups/prod/db/1.dump does not exist (bucket 'acme-backups', key 'prod/db/1.dump').");
  });

  it('keeps registered secrets out of messages, and passes our errors and aborts through', () => {
    registerSecret('wJalrXUtnFEMI-K7MDENG-bPxRfiCY');
    const leaky = s3Error('SignatureDoesNotMatch', 'secret was wJalrXUtnFEMI-K7MDENG-bPxRfiCY', 403);
    assert.doesNotMatch(translate(leaky).message, /wJalrXUtnFEMI/);
    const ours = new StorageError('already translated');
    assert.equal(translateS3Error(ours, ctx()), ours);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    assert.equal(translateS3Error(abort, ctx()), abort);
  });
});
