export const id = 279;
export const ids = [279];
export const modules = {

/***/ 9279:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S3Storage: () => (/* binding */ S3Storage)
/* harmony export */ });
/* unused harmony exports partPlan, contentMd5ForDeleteObjects, translateS3Error */
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7075);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_stream__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(3711);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(2358);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3916);
/* harmony import */ var _util_deadlines_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(4389);
/* harmony import */ var _util_format_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(2693);
/* harmony import */ var _util_redact_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(767);
// S3 adapter: AWS S3 and S3-compatible stores (R2, B2, MinIO, Wasabi, ...).
// `s3://bucket/prefix` maps key K to object `prefix/K`. Credentials come from
// the SDK's default chain (env vars, profiles, web identity); we never read them.








const MiB = 1024 * 1024;
const MAX_PARTS = 10_000; // S3's limit per multipart upload
const MIN_PART = 5 * MiB; // S3's minimum for every part but the last
const MAX_OBJECT = 5 * 1024 ** 4; // S3's limit for one object: 5 TiB
const DEFAULT_PART = 64 * MiB; // no size hint: streams up to 625 GiB
const BUFFER_BUDGET = 256 * MiB; // parts in flight; queueSize shrinks as parts grow
const DELETE_BATCH = 1000; // DeleteObjects limit
/**
 * Part size and parallelism for one upload. lib-storage holds up to queueSize parts in
 * flight plus the one being filled, so memory is about (queueSize + 1) × partSize:
 * default 5 × 64 MiB = 320 MiB. Parts have a fixed size, so the largest stream is
 * 10,000 × partSize: without a hint 625 GiB; a hint grows parts (with 25% headroom,
 * since hints are estimates) up to what 5 TiB needs (≈656 MiB parts, queue 1, ≈1.3 GiB).
 */
function partPlan(sizeHint, tuning = {}) {
    if (sizeHint !== undefined && sizeHint > MAX_OBJECT) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq(`A ${(0,_util_format_js__WEBPACK_IMPORTED_MODULE_6__/* .formatBytes */ .z3)(sizeHint)} stream exceeds S3's limit of 5 TiB per object.`, {
            hint: 'Split the backup (e.g. back up database and files separately).',
        });
    }
    const needed = sizeHint ? Math.ceil((sizeHint * 1.25) / MAX_PARTS / MiB) * MiB : 0;
    const partSize = tuning.partSize ?? Math.max(DEFAULT_PART, needed);
    if (partSize < MIN_PART || partSize > 5 * 1024 * MiB) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .UsageError */ .eb(`S3 part size must be between 5 MiB and 5 GiB, got ${partSize} bytes.`);
    }
    const queueSize = tuning.queueSize ?? Math.min(4, Math.max(1, Math.floor(BUFFER_BUDGET / partSize)));
    return { partSize, queueSize };
}
class S3Storage {
    bucket;
    prefix;
    options;
    tuning;
    location;
    clients;
    /**
     * Set once a request failed after every retry because the endpoint did not answer: the run has
     * failed, and its clean-up (partial parts, the lock, the run record) then tries each request once,
     * so a dead endpoint ends the run in bounded time instead of retrying every clean-up step.
     */
    endpointDown = false;
    get client() {
        return this.endpointDown ? this.clients.once : this.clients.retrying;
    }
    /** `url` is `s3://bucket[/prefix]`. Validates inputs; makes no request. */
    static fromUrl(url, options, tuning = {}) {
        const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
        if (!match)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .UsageError */ .eb(`Input 'storage' is not a valid S3 URL: '${url}'.`, { input: 'storage', hint: 'Use s3://bucket-name/optional/prefix.' });
        const bucket = match[1];
        const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
        return new S3Storage(bucket, prefix ? `${prefix}/` : '', options, tuning);
    }
    constructor(bucket, 
    /** '' or ending in '/'. */
    prefix, options, tuning = {}) {
        this.bucket = bucket;
        this.prefix = prefix;
        this.options = options;
        this.tuning = tuning;
        if (options.endpoint !== undefined)
            validateEndpoint(options.endpoint, bucket);
        partPlan(undefined, tuning); // rejects a bad part size now rather than at the first put
        this.location = `s3://${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
        const makeClient = (maxAttempts) => {
            const client = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.S3Client({
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
                    connectionTimeout: options.connectTimeoutMs ?? (0,_util_deadlines_js__WEBPACK_IMPORTED_MODULE_4__/* .deadlines */ .QA)().connectMs,
                    socketTimeout: options.idleTimeoutMs ?? (0,_util_deadlines_js__WEBPACK_IMPORTED_MODULE_4__/* .deadlines */ .QA)().idleMs,
                },
                ...(tuning.credentials ? { credentials: tuning.credentials } : {}),
            });
            client.middlewareStack.add(contentMd5ForDeleteObjects, { step: 'build', priority: 'low', name: 'contentMd5ForDeleteObjects' });
            return client;
        };
        this.clients = { retrying: makeClient(tuning.maxAttempts ?? 5), once: makeClient(1) };
    }
    uriOf(key) {
        return `s3://${this.bucket}/${this.prefix}${key}`;
    }
    async put(key, body, options = {}) {
        options.signal?.throwIfAborted();
        const { partSize, queueSize } = partPlan(options.sizeHint, this.tuning);
        const limit = Math.min(partSize * MAX_PARTS, MAX_OBJECT);
        let size = 0;
        let cause; // the first failure: the body's own, or a request's after retries
        let requestFailed = false;
        let abortFailed = false;
        const counter = new node_stream__WEBPACK_IMPORTED_MODULE_1__.Transform({
            transform: (chunk, _encoding, callback) => {
                size += chunk.length;
                if (size > limit)
                    return callback(this.tooLarge(key, partSize, limit));
                options.onProgress?.(chunk.length);
                callback(null, chunk);
            },
        });
        const source = (0,node_stream__WEBPACK_IMPORTED_MODULE_1__.pipeline)(body, counter, (error) => {
            if (error)
                cause ??= error;
        });
        if (options.signal)
            (0,node_stream__WEBPACK_IMPORTED_MODULE_1__.addAbortSignal)(options.signal, source);
        // Upload's client: requests carry the signal, and the first failed request ends the
        // body, so the other parallel part uploads stop instead of streaming on to a doomed end.
        const send = this.client.send.bind(this.client);
        const watched = Object.create(this.client, {
            send: {
                value: (command) => {
                    const isAbort = command instanceof _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.AbortMultipartUploadCommand;
                    return send(command, isAbort ? {} : { abortSignal: options.signal }).catch((error) => {
                        if (isAbort)
                            abortFailed = true;
                        else if (cause === undefined) {
                            cause = error;
                            requestFailed = true;
                            source.destroy(error);
                        }
                        throw error;
                    });
                },
            },
        });
        const upload = new _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_2__/* .Upload */ ._({
            client: watched,
            params: {
                Bucket: this.bucket,
                Key: this.prefix + key,
                Body: source,
                ContentType: 'application/octet-stream',
                StorageClass: this.options.storageClass,
            },
            partSize,
            queueSize,
            leavePartsOnError: false, // abort the multipart upload so no parts are left behind
        });
        try {
            await upload.done();
        }
        catch (error) {
            source.destroy();
            options.signal?.throwIfAborted();
            // The body's own error (e.g. the dump failed) passes through unchanged.
            if (cause !== undefined && !requestFailed)
                throw cause;
            const failure = this.error(cause ?? error, 'put', key);
            if (abortFailed && failure instanceof _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq) {
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq(`${failure.message} Aborting multipart upload ${upload.uploadId} also failed, so its parts may remain.`, {
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
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq(`S3 stored ${stored ? `${stored.size} bytes` : 'nothing'} for ${this.uriOf(key)} (bucket '${this.bucket}', key '${this.prefix + key}') but ${size} bytes were sent; the object was deleted.`, {
                key,
                hint: 'The endpoint altered the upload; check that s3-endpoint is S3-compatible.',
            });
        }
        return { size };
    }
    async get(key, range) {
        try {
            const out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined }));
            return out.Body ?? node_stream__WEBPACK_IMPORTED_MODULE_1__.Readable.from([]);
        }
        catch (error) {
            throw this.error(error, 'get', key);
        }
    }
    async stat(key) {
        try {
            const head = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
            return { key, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
        }
        catch (error) {
            // HEAD has no error body: a missing bucket also reads as 404 (put and list name it).
            if (statusOf(error) === 404)
                return undefined;
            throw this.error(error, 'stat', key);
        }
    }
    async *list(prefix) {
        let token;
        do {
            let page;
            try {
                page = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
            }
            catch (error) {
                throw this.error(error, 'list', prefix);
            }
            for (const object of page.Contents ?? []) {
                const key = (object.Key ?? '').slice(this.prefix.length);
                if (key === '' || key.endsWith('/'))
                    continue; // folder markers made by web consoles
                yield { key, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
    }
    async delete(keys) {
        for (let i = 0; i < keys.length; i += DELETE_BATCH) {
            const batch = keys.slice(i, i + DELETE_BATCH);
            let out;
            try {
                out = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.prefix + k })), Quiet: true } }));
            }
            catch (error) {
                throw this.error(error, 'delete', batch[0]);
            }
            const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
            if (failed.length > 0) {
                const first = failed[0];
                const key = (first.Key ?? '').slice(this.prefix.length);
                const fake = Object.assign(new Error(first.Message ?? 'unknown error'), { Code: first.Code, name: first.Code ?? 'Error' });
                const error = this.error(fake, 'delete', key);
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq(`${failed.length} of ${batch.length} deletes failed; first: ${error.message}`, { key, hint: error.hint });
            }
        }
    }
    async checkWritable() {
        // Exercises the permissions a run needs: s3:PutObject, s3:ListBucket, s3:DeleteObject.
        const probe = `.write-test-${(0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(6).toString('hex')}`;
        try {
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.PutObjectCommand({
                Bucket: this.bucket,
                Key: this.prefix + probe,
                Body: 'backup-drill write test',
                StorageClass: this.options.storageClass,
            }));
        }
        catch (error) {
            throw this.error(error, 'put', probe);
        }
        try {
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }));
        }
        catch (error) {
            await this.delete([probe]).catch(() => undefined);
            throw this.error(error, 'list', '');
        }
        await this.delete([probe]);
    }
    tooLarge(key, partSize, limit) {
        return new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq(`The stream for ${this.uriOf(key)} is larger than ${(0,_util_format_js__WEBPACK_IMPORTED_MODULE_6__/* .formatBytes */ .z3)(limit)}, the most 10,000 parts of ${(0,_util_format_js__WEBPACK_IMPORTED_MODULE_6__/* .formatBytes */ .z3)(partSize)} can hold.`, {
            key,
            hint: 'Pass a size hint (sizeHint) so parts are sized for the data.',
        });
    }
    error(error, op, key) {
        if (UNREACHABLE.has(codeOf(error)))
            this.endpointDown = true;
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
            connectTimeoutMs: this.options.connectTimeoutMs ?? (0,_util_deadlines_js__WEBPACK_IMPORTED_MODULE_4__/* .deadlines */ .QA)().connectMs,
            idleTimeoutMs: this.options.idleTimeoutMs ?? (0,_util_deadlines_js__WEBPACK_IMPORTED_MODULE_4__/* .deadlines */ .QA)().idleMs,
        });
    }
}
function validateEndpoint(endpoint, bucket) {
    let url;
    try {
        url = /^https?:\/\//i.test(endpoint) ? new URL(endpoint) : undefined;
    }
    catch {
        url = undefined;
    }
    if (!url) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .UsageError */ .eb(`Input 's3-endpoint' must be an http:// or https:// URL, got '${(0,_util_redact_js__WEBPACK_IMPORTED_MODULE_5__/* .safeUrl */ .Pl)(endpoint)}'.`, {
            input: 's3-endpoint',
            hint: 'Example: https://<account-id>.r2.cloudflarestorage.com or http://127.0.0.1:9000.',
        });
    }
    if (url.pathname.replace(/\/+$/, '').endsWith(`/${bucket}`)) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .UsageError */ .eb(`Input 's3-endpoint' ends with the bucket name: '${(0,_util_redact_js__WEBPACK_IMPORTED_MODULE_5__/* .safeUrl */ .Pl)(endpoint)}'.`, {
            input: 's3-endpoint',
            hint: `Give the endpoint without '/${bucket}'; the bucket comes from 'storage'.`,
        });
    }
}
let chainRegion;
/** The SDK's region chain (AWS_REGION, profile), else us-east-1, which S3-compatible stores accept too. */
function defaultRegion() {
    chainRegion ??= (async () => {
        const probe = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_7__.S3Client({});
        try {
            return await probe.config.region();
        }
        catch {
            return 'us-east-1';
        }
        finally {
            probe.destroy();
        }
    })();
    return chainRegion;
}
/**
 * Replaces the SDK's CRC32 header on DeleteObjects with Content-MD5: older MinIO, Ceph and
 * other S3-compatible stores require Content-MD5 there (aws-sdk-js-v3 MD5_FALLBACK.md).
 */
function contentMd5ForDeleteObjects(next, context) {
    return async (args) => {
        const request = args.request;
        if (context.commandName === 'DeleteObjectsCommand' && request.headers && typeof request.body === 'string') {
            for (const name of Object.keys(request.headers)) {
                if (/^x-amz-(sdk-)?checksum-/i.test(name))
                    delete request.headers[name];
            }
            request.headers['content-md5'] = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)('md5').update(request.body).digest('base64');
        }
        return next(args);
    };
}
const VERB = { put: 'write', get: 'read', stat: 'look up', list: 'list', delete: 'delete' };
const PERMISSION = {
    put: 's3:PutObject',
    get: 's3:GetObject',
    stat: 's3:GetObject',
    list: 's3:ListBucket',
    delete: 's3:DeleteObject',
};
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'TimeoutError', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'InvalidClientTokenId', 'TokenRefreshRequired']);
function statusOf(error) {
    return error?.$metadata?.httpStatusCode;
}
/** The provider's error code (NoSuchBucket), a network code (ECONNREFUSED) or the error's name. */
function codeOf(error) {
    const e = error;
    return e?.Code ?? e?.code ?? e?.errors?.[0]?.code ?? e?.cause?.code ?? e?.name ?? 'Error';
}
/**
 * Turns an SDK or network error into a StorageError naming the bucket, the key, the
 * provider's message and the likely fix. Errors that are already ours, and aborts, pass through.
 */
function translateS3Error(error, ctx) {
    if (error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .BackupDrillError */ .G$ || error?.name === 'AbortError')
        return error;
    const code = codeOf(error);
    const status = statusOf(error);
    const raw = error instanceof Error ? error.message : String(error);
    const detail = raw && raw !== 'UnknownError' ? raw : status ? `HTTP ${status}` : 'unknown error';
    const what = ctx.op === 'list' ? `prefix '${ctx.key}'` : `key '${ctx.key}'`;
    const where = ctx.endpoint ? ` at ${(0,_util_redact_js__WEBPACK_IMPORTED_MODULE_5__/* .safeUrl */ .Pl)(ctx.endpoint)}` : '';
    const prefix = ctx.key.slice(0, ctx.key.lastIndexOf('/') + 1);
    if (code === 'NoSuchKey' || (ctx.op === 'get' && status === 404 && code !== 'NoSuchBucket')) {
        return new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq((0,_util_redact_js__WEBPACK_IMPORTED_MODULE_5__/* .redact */ .E$)(`Object ${ctx.uri} does not exist (bucket '${ctx.bucket}', ${what}).`), {
            key: ctx.relativeKey,
            cause: error,
            missing: true,
        });
    }
    let hint;
    if (code === 'NoSuchBucket') {
        hint = `Bucket '${ctx.bucket}' does not exist${where}: check the bucket name in 'storage'${ctx.endpoint ? " and 's3-endpoint'" : " and 's3-region'"}.`;
    }
    else if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException' || status === 301) {
        hint = `Bucket '${ctx.bucket}' is in another region than ${ctx.region ? `'${ctx.region}'` : 'the default'}: set 's3-region' to the bucket's region.`;
    }
    else if (CREDENTIALS.has(code)) {
        hint =
            code === 'ExpiredToken' || code === 'TokenRefreshRequired'
                ? 'The temporary credentials expired: refresh them (e.g. a longer role session).'
                : `The credentials were rejected: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile or role in use) belong to ${ctx.endpoint ? 'this endpoint' : 'this AWS account'}.`;
    }
    else if (code === 'CredentialsProviderError') {
        hint =
            'No S3 credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (e.g. from secrets), use an AWS profile, or aws-actions/configure-aws-credentials.';
    }
    else if (code === 'AccessDenied' || code === 'AllAccessDisabled' || status === 403) {
        hint = `Access denied: grant these credentials ${PERMISSION[ctx.op]} on arn:aws:s3:::${ctx.bucket}${ctx.op === 'list' ? '' : `/${prefix}*`}, and check the bucket policy.`;
        if (ctx.op === 'stat' || ctx.op === 'get')
            hint += ' Without s3:ListBucket, S3 also reports a missing object as 403.';
        if (code !== 'AccessDenied')
            hint += ' A 403 with no error code can also mean wrong credentials.';
    }
    else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        const host = error.hostname ?? error.host ?? '';
        const virtualHost = host.startsWith(`${ctx.bucket}.`) || (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && raw.includes(`${ctx.bucket}.`));
        if (ctx.endpoint && !ctx.forcePathStyle && virtualHost) {
            hint = `The bucket was addressed as host '${host || `${ctx.bucket}.<endpoint>`}', which this endpoint does not serve: set 's3-force-path-style: true'.`;
        }
        else {
            hint = ctx.endpoint
                ? `The endpoint${where} cannot be reached: check 's3-endpoint'.`
                : 'The S3 host cannot be resolved: check the network and the bucket name.';
        }
    }
    else if (code === 'TimeoutError' || /timed out|did not establish a connection/i.test(raw)) {
        const connecting = /establish a connection/i.test(raw);
        const limit = connecting ? ctx.connectTimeoutMs : ctx.idleTimeoutMs;
        hint =
            `The ${ctx.endpoint ? `endpoint${where}` : 'S3 endpoint'} ${connecting ? 'did not accept a connection' : 'stopped answering'} within ` +
                `${limit !== undefined ? `${limit / 1000}s` : 'the deadline'} (${connecting ? 'connect-timeout' : 'storage-timeout'}), even after retries: ` +
                `check that the service is up and reachable${ctx.endpoint ? " and 's3-endpoint'" : ''}, or raise ${connecting ? 'connect-timeout' : 'storage-timeout'} for a slow link.`;
    }
    else if (UNREACHABLE.has(code)) {
        hint = ctx.endpoint
            ? `The endpoint${where} is unreachable (${code}): check 's3-endpoint' (scheme, host, port) and that the service is up.`
            : `S3 is unreachable (${code}): check the network or proxy, then retry.`;
    }
    else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
        hint = `The TLS certificate of the endpoint${where} is not trusted: add its CA with NODE_EXTRA_CA_CERTS.`;
    }
    else if (code === 'InvalidStorageClass') {
        hint = `'s3-storage-class' ${ctx.storageClass ? `'${ctx.storageClass}' ` : ''}is not accepted by this provider.`;
    }
    else if (code === 'InvalidObjectState') {
        hint = 'The object is archived (e.g. Glacier): restore it first, and keep backups in a storage class with instant retrieval.';
    }
    else if (code === 'RequestTimeTooSkewed') {
        hint = "This machine's clock is off: synchronise it (NTP).";
    }
    else if (code === 'SlowDown' || (status !== undefined && status >= 500)) {
        hint = `The provider${where} is throttling or failing (HTTP ${status ?? code}) even after retries: try again later, or check 's3-endpoint'.`;
    }
    else if (code === 'NotImplemented' || code === 'MethodNotAllowed') {
        hint = 'The endpoint does not support this S3 operation.';
    }
    const message = `Cannot ${VERB[ctx.op]} ${ctx.uri} (bucket '${ctx.bucket}', ${what}): ${['Error', 'Unknown'].includes(code) || detail.includes(code) ? '' : `${code}: `}${detail}`;
    return new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .StorageError */ .aq((0,_util_redact_js__WEBPACK_IMPORTED_MODULE_5__/* .redact */ .E$)(message.endsWith('.') ? message : `${message}.`), { key: ctx.relativeKey, hint: hint && (0,_util_redact_js__WEBPACK_IMPORTED_MODULE_5__/* .redact */ .E$)(hint), cause: error });
}


/***/ })

};
