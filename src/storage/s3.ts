// S3 adapter: AWS S3 and S3-compatible stores (R2, B2, MinIO, Wasabi, ...).
// `s3://bucket/prefix` maps key K to object `prefix/K`. Credentials come from
// the SDK's default chain (env vars, profiles, web identity); we never read them.
import { createHash, randomBytes } from 'node:crypto';
import { addAbortSignal, pipeline, Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Options } from '../config.js';
import { BackupDrillError, StorageError, UsageError } from '../errors.js';
import { deadlines } from '../util/deadlines.js';
import { formatBytes } from '../util/format.js';
import { redact, safeUrl } from '../util/redact.js';
import type { ObjectInfo, PutOptions, Storage } from './port.js';

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000; // S3's limit per multipart upload
const MIN_PART = 5 * MiB; // S3's minimum for every part but the last
const MAX_OBJECT = 5 * 1024 ** 4; // S3's limit for one object: 5 TiB
const DEFAULT_PART = 64 * MiB; // no size hint: streams up to 625 GiB
const BUFFER_BUDGET = 256 * MiB; // parts in flight; queueSize shrinks as parts grow
const DELETE_BATCH = 1000; // DeleteObjects limit

export interface S3Tuning {
  /** Fixed part size in bytes (at least 5 MiB). Default: chosen per put, see partPlan. */
  partSize?: number;
  /** Parts uploaded in parallel. Default: 4, fewer for parts over 64 MiB. */
  queueSize?: number;
  /** Attempts per request, with the SDK's backoff on throttling, 5xx and network errors. Default 5. */
  maxAttempts?: number;
  /** Tests only. Production leaves this unset so the SDK's default chain supplies credentials. */
  credentials?: S3ClientConfig['credentials'];
}

export interface S3PutOptions extends PutOptions {
  /** Expected size of the stream in bytes (an estimate is fine); parts grow so it fits 10,000 parts. */
  sizeHint?: number;
}

/**
 * Part size and parallelism for one upload. lib-storage holds up to queueSize parts in
 * flight plus the one being filled, so memory is about (queueSize + 1) × partSize:
 * default 5 × 64 MiB = 320 MiB. Parts have a fixed size, so the largest stream is
 * 10,000 × partSize: without a hint 625 GiB; a hint grows parts (with 25% headroom,
 * since hints are estimates) up to what 5 TiB needs (≈656 MiB parts, queue 1, ≈1.3 GiB).
 */
export function partPlan(sizeHint?: number, tuning: Pick<S3Tuning, 'partSize' | 'queueSize'> = {}): { partSize: number; queueSize: number } {
  if (sizeHint !== undefined && sizeHint > MAX_OBJECT) {
    throw new StorageError(`A ${formatBytes(sizeHint)} stream exceeds S3's limit of 5 TiB per object.`, {
      hint: 'Split the backup (e.g. back up database and files separately).',
    });
  }
  const needed = sizeHint ? Math.ceil((sizeHint * 1.25) / MAX_PARTS / MiB) * MiB : 0;
  const partSize = tuning.partSize ?? Math.max(DEFAULT_PART, needed);
  if (partSize < MIN_PART || partSize > 5 * 1024 * MiB) {
    throw new UsageError(`S3 part size must be between 5 MiB and 5 GiB, got ${partSize} bytes.`);
  }
  const queueSize = tuning.queueSize ?? Math.min(4, Math.max(1, Math.floor(BUFFER_BUDGET / partSize)));
  return { partSize, queueSize };
}

export class S3Storage implements Storage {
  readonly location: string;
  private readonly clients: { retrying: S3Client; once: S3Client };
  /**
   * Set once a request failed after every retry because the endpoint did not answer: the run has
   * failed, and its clean-up (partial parts, the lock, the run record) then tries each request once,
   * so a dead endpoint ends the run in bounded time instead of retrying every clean-up step.
   */
  private endpointDown = false;
  private get client(): S3Client {
    return this.endpointDown ? this.clients.once : this.clients.retrying;
  }

  /** `url` is `s3://bucket[/prefix]`. Validates inputs; makes no request. */
  static fromUrl(url: string, options: S3Options, tuning: S3Tuning = {}): S3Storage {
    const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
    if (!match) throw new UsageError(`Input 'storage' is not a valid S3 URL: '${url}'.`, { input: 'storage', hint: 'Use s3://bucket-name/optional/prefix.' });
    const bucket = match[1]!;
    const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
    return new S3Storage(bucket, prefix ? `${prefix}/` : '', options, tuning);
  }

  constructor(
    readonly bucket: string,
    /** '' or ending in '/'. */
    readonly prefix: string,
    private readonly options: S3Options,
    private readonly tuning: S3Tuning = {},
  ) {
    if (options.endpoint !== undefined) validateEndpoint(options.endpoint, bucket);
    partPlan(undefined, tuning); // rejects a bad part size now rather than at the first put
    this.location = `s3://${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
    const makeClient = (maxAttempts: number): S3Client => {
      const client = new S3Client({
        region: options.region || defaultRegion,
        endpoint: options.endpoint,
        forcePathStyle: options.forcePathStyle,
        followRegionRedirects: true, // AWS: a bucket in another region still works (one extra request)
        // The default flexible checksums make s3rver store aws-chunked framing and are
        // refused by several S3-compatible stores; put verifies the size instead.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts,
        // Deadlines: a connection not open within connect-timeout, or a request with no bytes
        // either way for storage-timeout (an endpoint that takes the upload and never answers),
        // fails that attempt; the SDK retries it (parts are buffers, so every request is replayable).
        requestHandler: {
          connectionTimeout: options.connectTimeoutMs ?? deadlines().connectMs,
          socketTimeout: options.idleTimeoutMs ?? deadlines().idleMs,
        },
        ...(tuning.credentials ? { credentials: tuning.credentials } : {}),
      });
      client.middlewareStack.add(contentMd5ForDeleteObjects, { step: 'build', priority: 'low', name: 'contentMd5ForDeleteObjects' });
      return client;
    };
    this.clients = { retrying: makeClient(tuning.maxAttempts ?? 5), once: makeClient(1) };
  }

  uriOf(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  async put(key: string, body: Readable, options: S3PutOptions = {}): Promise<{ size: number }> {
    options.signal?.throwIfAborted();
    const { partSize, queueSize } = partPlan(options.sizeHint, this.tuning);
    const limit = Math.min(partSize * MAX_PARTS, MAX_OBJECT);
    let size = 0;
    let cause: unknown; // the first failure: the body's own, or a request's after retries
    let requestFailed = false;
    let abortFailed = false;
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        size += chunk.length;
        if (size > limit) return callback(this.tooLarge(key, partSize, limit));
        options.onProgress?.(chunk.length);
        callback(null, chunk);
      },
    });
    const source = pipeline(body, counter, (error) => {
      if (error) cause ??= error;
    });
    if (options.signal) addAbortSignal(options.signal, source);

    // Upload's client: requests carry the signal, and the first failed request ends the
    // body, so the other parallel part uploads stop instead of streaming on to a doomed end.
    const send = this.client.send.bind(this.client) as (command: unknown, options?: { abortSignal?: AbortSignal }) => Promise<unknown>;
    const watched = Object.create(this.client, {
      send: {
        value: (command: unknown) => {
          const isAbort = command instanceof AbortMultipartUploadCommand;
          return send(command, isAbort ? {} : { abortSignal: options.signal }).catch((error: unknown) => {
            if (isAbort) abortFailed = true;
            else if (cause === undefined) {
              cause = error;
              requestFailed = true;
              source.destroy(error as Error);
            }
            throw error;
          });
        },
      },
    }) as S3Client;
    const upload = new Upload({
      client: watched,
      params: {
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: source,
        ContentType: 'application/octet-stream',
        StorageClass: this.options.storageClass as StorageClass | undefined,
      },
      partSize,
      queueSize,
      leavePartsOnError: false, // abort the multipart upload so no parts are left behind
    });
    try {
      await upload.done();
    } catch (error) {
      source.destroy();
      options.signal?.throwIfAborted();
      // The body's own error (e.g. the dump failed) passes through unchanged.
      if (cause !== undefined && !requestFailed) throw cause;
      const failure = this.error(cause ?? error, 'put', key);
      if (abortFailed && failure instanceof StorageError) {
        throw new StorageError(`${failure.message} Aborting multipart upload ${upload.uploadId} also failed, so its parts may remain.`, {
          key,
          hint: `${failure.hint ?? ''} A lifecycle rule with AbortIncompleteMultipartUpload removes such parts.`.trim(),
          cause: failure.cause,
        });
      }
      throw failure;
    }
    const stored = await this.stat(key);
    if (stored?.size !== size) {
      await this.delete([key]).catch(() => undefined);
      throw new StorageError(
        `S3 stored ${stored ? `${stored.size} bytes` : 'nothing'} for ${this.uriOf(key)} (bucket '${this.bucket}', key '${this.prefix + key}') but ${size} bytes were sent; the object was deleted.`,
        {
          key,
          hint: 'The endpoint altered the upload; check that s3-endpoint is S3-compatible.',
        },
      );
    }
    return { size };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined }),
      );
      return (out.Body as Readable | undefined) ?? Readable.from([]);
    } catch (error) {
      throw this.error(error, 'get', key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { key, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
    } catch (error) {
      // HEAD has no error body: a missing bucket also reads as 404 (put and list name it).
      if (statusOf(error) === 404) return undefined;
      throw this.error(error, 'stat', key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      } catch (error) {
        throw this.error(error, 'list', prefix);
      }
      for (const object of page.Contents ?? []) {
        const key = (object.Key ?? '').slice(this.prefix.length);
        if (key === '' || key.endsWith('/')) continue; // folder markers made by web consoles
        yield { key, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let out;
      try {
        out = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.prefix + k })), Quiet: true } }),
        );
      } catch (error) {
        throw this.error(error, 'delete', batch[0]!);
      }
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        const key = (first.Key ?? '').slice(this.prefix.length);
        const fake = Object.assign(new Error(first.Message ?? 'unknown error'), { Code: first.Code, name: first.Code ?? 'Error' });
        const error = this.error(fake, 'delete', key) as StorageError;
        throw new StorageError(`${failed.length} of ${batch.length} deletes failed; first: ${error.message}`, { key, hint: error.hint });
      }
    }
  }

  async checkWritable(): Promise<void> {
    // Exercises the permissions a run needs: s3:PutObject, s3:ListBucket, s3:DeleteObject.
    const probe = `.write-test-${randomBytes(6).toString('hex')}`;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + probe,
          Body: 'backup-drill write test',
          StorageClass: this.options.storageClass as StorageClass | undefined,
        }),
      );
    } catch (error) {
      throw this.error(error, 'put', probe);
    }
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }));
    } catch (error) {
      await this.delete([probe]).catch(() => undefined);
      throw this.error(error, 'list', '');
    }
    await this.delete([probe]);
  }

  private tooLarge(key: string, partSize: number, limit: number): StorageError {
    return new StorageError(
      `The stream for ${this.uriOf(key)} is larger than ${formatBytes(limit)}, the most 10,000 parts of ${formatBytes(partSize)} can hold.`,
      {
        key,
        hint: 'Pass a size hint (sizeHint) so parts are sized for the data.',
      },
    );
  }

  private error(error: unknown, op: S3Operation, key: string): unknown {
    if (UNREACHABLE.has(codeOf(error))) this.endpointDown = true;
    return translateS3Error(error, {
      op,
      bucket: this.bucket,
      key: this.prefix + key,
      relativeKey: key,
      uri: this.uriOf(key),
      endpoint: this.options.endpoint,
      forcePathStyle: this.options.forcePathStyle,
      region: this.options.region,
      storageClass: this.options.storageClass,
      connectTimeoutMs: this.options.connectTimeoutMs ?? deadlines().connectMs,
      idleTimeoutMs: this.options.idleTimeoutMs ?? deadlines().idleMs,
    });
  }
}

function validateEndpoint(endpoint: string, bucket: string): void {
  let url: URL | undefined;
  try {
    url = /^https?:\/\//i.test(endpoint) ? new URL(endpoint) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) {
    throw new UsageError(`Input 's3-endpoint' must be an http:// or https:// URL, got '${safeUrl(endpoint)}'.`, {
      input: 's3-endpoint',
      hint: 'Example: https://<account-id>.r2.cloudflarestorage.com or http://127.0.0.1:9000.',
    });
  }
  if (url.pathname.replace(/\/+$/, '').endsWith(`/${bucket}`)) {
    throw new UsageError(`Input 's3-endpoint' ends with the bucket name: '${safeUrl(endpoint)}'.`, {
      input: 's3-endpoint',
      hint: `Give the endpoint without '/${bucket}'; the bucket comes from 'storage'.`,
    });
  }
}

let chainRegion: Promise<string> | undefined;
/** The SDK's region chain (AWS_REGION, profile), else us-east-1, which S3-compatible stores accept too. */
function defaultRegion(): Promise<string> {
  chainRegion ??= (async () => {
    const probe = new S3Client({});
    try {
      return await probe.config.region();
    } catch {
      return 'us-east-1';
    } finally {
      probe.destroy();
    }
  })();
  return chainRegion;
}

type BuildArgs = { input: object; request: unknown };
/**
 * Replaces the SDK's CRC32 header on DeleteObjects with Content-MD5: older MinIO, Ceph and
 * other S3-compatible stores require Content-MD5 there (aws-sdk-js-v3 MD5_FALLBACK.md).
 */
export function contentMd5ForDeleteObjects<T>(next: (args: BuildArgs) => Promise<T>, context: { commandName?: string }) {
  return async (args: BuildArgs): Promise<T> => {
    const request = args.request as { headers?: Record<string, string>; body?: unknown };
    if (context.commandName === 'DeleteObjectsCommand' && request.headers && typeof request.body === 'string') {
      for (const name of Object.keys(request.headers)) {
        if (/^x-amz-(sdk-)?checksum-/i.test(name)) delete request.headers[name];
      }
      request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
    }
    return next(args);
  };
}

export type S3Operation = 'put' | 'get' | 'stat' | 'list' | 'delete';

export interface S3ErrorContext {
  op: S3Operation;
  bucket: string;
  /** Full object key (or list prefix) in the bucket. */
  key: string;
  /** Key relative to the storage prefix, for StorageError.key. */
  relativeKey: string;
  uri: string;
  endpoint?: string;
  forcePathStyle: boolean;
  region?: string;
  storageClass?: string;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

const VERB: Record<S3Operation, string> = { put: 'write', get: 'read', stat: 'look up', list: 'list', delete: 'delete' };
const PERMISSION: Record<S3Operation, string> = {
  put: 's3:PutObject',
  get: 's3:GetObject',
  stat: 's3:GetObject',
  list: 's3:ListBucket',
  delete: 's3:DeleteObject',
};
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'TimeoutError', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'InvalidClientTokenId', 'TokenRefreshRequired']);

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** The provider's error code (NoSuchBucket), a network code (ECONNREFUSED) or the error's name. */
function codeOf(error: unknown): string {
  const e = error as { Code?: string; code?: string; name?: string; errors?: { code?: string }[]; cause?: { code?: string } };
  return e?.Code ?? e?.code ?? e?.errors?.[0]?.code ?? e?.cause?.code ?? e?.name ?? 'Error';
}

/**
 * Turns an SDK or network error into a StorageError naming the bucket, the key, the
 * provider's message and the likely fix. Errors that are already ours, and aborts, pass through.
 */
export function translateS3Error(error: unknown, ctx: S3ErrorContext): unknown {
  if (error instanceof BackupDrillError || (error as Error)?.name === 'AbortError') return error;
  const code = codeOf(error);
  const status = statusOf(error);
  const raw = error instanceof Error ? error.message : String(error);
  const detail = raw && raw !== 'UnknownError' ? raw : status ? `HTTP ${status}` : 'unknown error';
  const what = ctx.op === 'list' ? `prefix '${ctx.key}'` : `key '${ctx.key}'`;
  const where = ctx.endpoint ? ` at ${safeUrl(ctx.endpoint)}` : '';
  const prefix = ctx.key.slice(0, ctx.key.lastIndexOf('/') + 1);

  if (code === 'NoSuchKey' || (ctx.op === 'get' && status === 404 && code !== 'NoSuchBucket')) {
    return new StorageError(redact(`Object ${ctx.uri} does not exist (bucket '${ctx.bucket}', ${what}).`), {
      key: ctx.relativeKey,
      cause: error,
      missing: true,
    });
  }
  let hint: string | undefined;
  if (code === 'NoSuchBucket') {
    hint = `Bucket '${ctx.bucket}' does not exist${where}: check the bucket name in 'storage'${ctx.endpoint ? " and 's3-endpoint'" : " and 's3-region'"}.`;
  } else if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || status === 301) {
    hint = `Bucket '${ctx.bucket}' is in another region than ${ctx.region ? `'${ctx.region}'` : 'the default'}: set 's3-region' to the bucket's region.`;
  } else if (CREDENTIALS.has(code)) {
    hint =
      code === 'ExpiredToken' || code === 'TokenRefreshRequired'
        ? 'The temporary credentials expired: refresh them (e.g. a longer role session).'
        : `The credentials were rejected: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile or role in use) belong to ${ctx.endpoint ? 'this endpoint' : 'this AWS account'}.`;
  } else if (code === 'CredentialsProviderError') {
    hint =
      'No S3 credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (e.g. from secrets), use an AWS profile, or aws-actions/configure-aws-credentials.';
  } else if (code === 'AccessDenied' || code === 'AllAccessDisabled' || status === 403) {
    hint = `Access denied: grant these credentials ${PERMISSION[ctx.op]} on arn:aws:s3:::${ctx.bucket}${ctx.op === 'list' ? '' : `/${prefix}*`}, and check the bucket policy.`;
    if (ctx.op === 'stat' || ctx.op === 'get') hint += ' Without s3:ListBucket, S3 also reports a missing object as 403.';
    if (code !== 'AccessDenied') hint += ' A 403 with no error code can also mean wrong credentials.';
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const host = (error as { hostname?: string; host?: string }).hostname ?? (error as { host?: string }).host ?? '';
    const virtualHost = host.startsWith(`${ctx.bucket}.`) || (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && raw.includes(`${ctx.bucket}.`));
    if (ctx.endpoint && !ctx.forcePathStyle && virtualHost) {
      hint = `The bucket was addressed as host '${host || `${ctx.bucket}.<endpoint>`}', which this endpoint does not serve: set 's3-force-path-style: true'.`;
    } else {
      hint = ctx.endpoint
        ? `The endpoint${where} cannot be reached: check 's3-endpoint'.`
        : 'The S3 host cannot be resolved: check the network and the bucket name.';
    }
  } else if (code === 'TimeoutError' || /timed out|did not establish a connection/i.test(raw)) {
    const connecting = /establish a connection/i.test(raw);
    const limit = connecting ? ctx.connectTimeoutMs : ctx.idleTimeoutMs;
    hint =
      `The ${ctx.endpoint ? `endpoint${where}` : 'S3 endpoint'} ${connecting ? 'did not accept a connection' : 'stopped answering'} within ` +
      `${limit !== undefined ? `${limit / 1000}s` : 'the deadline'} (${connecting ? 'connect-timeout' : 'storage-timeout'}), even after retries: ` +
      `check that the service is up and reachable${ctx.endpoint ? " and 's3-endpoint'" : ''}, or raise ${connecting ? 'connect-timeout' : 'storage-timeout'} for a slow link.`;
  } else if (UNREACHABLE.has(code)) {
    hint = ctx.endpoint
      ? `The endpoint${where} is unreachable (${code}): check 's3-endpoint' (scheme, host, port) and that the service is up.`
      : `S3 is unreachable (${code}): check the network or proxy, then retry.`;
  } else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    hint = `The TLS certificate of the endpoint${where} is not trusted: add its CA with NODE_EXTRA_CA_CERTS.`;
  } else if (code === 'InvalidStorageClass') {
    hint = `'s3-storage-class' ${ctx.storageClass ? `'${ctx.storageClass}' ` : ''}is not accepted by this provider.`;
  } else if (code === 'InvalidObjectState') {
    hint = 'The object is archived (e.g. Glacier): restore it first, and keep backups in a storage class with instant retrieval.';
  } else if (code === 'RequestTimeTooSkewed') {
    hint = "This machine's clock is off: synchronise it (NTP).";
  } else if (code === 'SlowDown' || (status !== undefined && status >= 500)) {
    hint = `The provider${where} is throttling or failing (HTTP ${status ?? code}) even after retries: try again later, or check 's3-endpoint'.`;
  } else if (code === 'NotImplemented' || code === 'MethodNotAllowed') {
    hint = 'The endpoint does not support this S3 operation.';
  }
  const message = `Cannot ${VERB[ctx.op]} ${ctx.uri} (bucket '${ctx.bucket}', ${what}): ${['Error', 'Unknown'].includes(code) || detail.includes(code) ? '' : `${code}: `}${detail}`;
  return new StorageError(redact(message.endsWith('.') ? message : `${message}.`), { key: ctx.relativeKey, hint: hint && redact(hint), cause: error });
}
