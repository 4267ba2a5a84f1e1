export const id = 24;
export const ids = [24];
export const modules = {

/***/ 9024:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  withReach: () => (/* binding */ withReach)
});

// UNUSED EXPORTS: databaseDestination, parseReachOptions, throughTunnel

// EXTERNAL MODULE: ./src/errors.ts
var src_errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./src/util/redact.ts
var redact = __webpack_require__(767);
// EXTERNAL MODULE: ./src/reach/options.ts
var reach_options = __webpack_require__(9789);
// EXTERNAL MODULE: external "node:events"
var external_node_events_ = __webpack_require__(8474);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
// EXTERNAL MODULE: ./node_modules/picomatch/index.js
var picomatch = __webpack_require__(4006);
var picomatch_default = /*#__PURE__*/__webpack_require__.n(picomatch);
// EXTERNAL MODULE: ./node_modules/tar-stream/index.js
var tar_stream = __webpack_require__(6118);
// EXTERNAL MODULE: ./src/archive/files-tar.ts
var files_tar = __webpack_require__(4407);
// EXTERNAL MODULE: ./src/archive/checksums.ts
var checksums = __webpack_require__(2826);
;// CONCATENATED MODULE: ./src/reach/remote-files.ts
// The uploads folder on the server, read over SSH: `tar -c` runs there on an
// exec channel and its stream is repacked here, entry by entry, into the same
// tar + files.sha256 + summary the local packing produces (per-file digests,
// files-exclude, symlinks kept as links, specials skipped). Nothing is staged:
// each file's bytes pass through once, hashed on the way.








/** Quotes a word for the remote POSIX shell. */
function shellQuote(value) {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}
/** The exact commands sent for the uploads (a forced-command dispatcher on the server matches these; see docs/SSH.md). */
const REMOTE_COMMANDS = {
    isDirectory: (path) => `test -d ${shellQuote(path)}`,
    /** GNU tar: --hard-dereference stores hard-linked files as files (the local packing reads each name too). */
    pack: (path) => `tar -c -f - --hard-dereference -C ${shellQuote(path)} .`,
    size: (path) => `du -s -k ${shellQuote(path)}`,
};
function remoteFilesSource(session, path) {
    const where = `${path} on ${(0,reach_options/* describeEndpoint */.N2)(session.endpoint)}`;
    return {
        description: where,
        async check() {
            if (!path.startsWith('/')) {
                throw new src_errors/* UsageError */.eb(`Input 'files-path' must be an absolute path on the server when 'ssh' is set, got '${path}'.`, {
                    input: 'files-path',
                    hint: 'Give the uploads folder as the server sees it, e.g. /srv/app/uploads.',
                });
            }
            const r = await session.run(REMOTE_COMMANDS.isDirectory(path));
            if (r.code !== 0) {
                throw new src_errors/* UsageError */.eb(`Input 'files-path' points at ${where}, which is not a folder there (or not visible to the SSH user).`, {
                    input: 'files-path',
                    hint: `Check the path on the server (ls -ld ${shellQuote(path)}) and that the SSH user may enter it, or leave files-path empty to back up the database only.`,
                });
            }
        },
        async estimateBytes() {
            // Best effort: a restricted key may not allow du; the estimate only sizes storage parts.
            const r = await session.run(REMOTE_COMMANDS.size(path)).catch(() => undefined);
            const kib = r?.code === 0 ? Number(/^(\d+)/.exec(r.stdout)?.[1]) : NaN;
            return Number.isFinite(kib) ? kib * 1024 : 0;
        },
        pack: (exclude, logger, onBytes) => packRemote(session, path, where, exclude, logger, onBytes),
    };
}
function packRemote(session, path, where, exclude, logger, onBytes) {
    const pack = tar_stream.pack();
    const tar = external_node_stream_.Readable.from(pack, { objectMode: false });
    const list = new external_node_stream_.PassThrough();
    const isExcluded = exclude.length ? picomatch_default()(exclude, { dot: true }) : () => false;
    const summary = { count: 0, bytes: 0, directories: 0, symlinks: 0, skipped: [], exclude };
    const excludedDirs = [];
    const addEntry = (header) => new Promise((resolve, reject) => pack.entry(header, (e) => (e ? reject(e) : resolve())));
    const copyFile = async (header, name, stream) => {
        const size = header.size ?? 0;
        const fileHeader = { name, size, mode: header.mode, mtime: header.mtime, uid: header.uid, gid: header.gid };
        const sha256 = await (0,files_tar/* packFile */.qt)(pack, fileHeader, stream, onBytes);
        summary.count++;
        summary.bytes += size;
        if (!list.write((0,checksums/* formatChecksumLine */.$m)({ sha256, name })))
            await (0,external_node_events_.once)(list, 'drain');
    };
    const done = (async () => {
        const command = await session.exec(REMOTE_COMMANDS.pack(path));
        command.stdin.end();
        const stderr = [];
        command.stderr.setEncoding('utf8').on('data', (s) => stderr.push(s));
        try {
            const extract = tar_stream.extract();
            command.stdout.on('error', (e) => extract.destroy(e));
            command.stdout.pipe(extract);
            for await (const entryStream of extract) {
                const header = entryStream.header;
                const name = header.name.replace(/^\.\/?/, '').replace(/\/+$/, '');
                if (!name || excludedDirs.some((d) => name.startsWith(`${d}/`)) || isExcluded(name)) {
                    if (name && header.type === 'directory')
                        excludedDirs.push(name);
                    entryStream.resume();
                    continue;
                }
                if (header.type === 'file' || header.type === 'contiguous-file') {
                    await copyFile(header, name, entryStream);
                    continue;
                }
                entryStream.resume();
                if (header.type === 'directory') {
                    await addEntry({ name, type: 'directory', mode: header.mode, mtime: header.mtime, uid: header.uid, gid: header.gid });
                    summary.directories++;
                }
                else if (header.type === 'symlink') {
                    await addEntry({ name, type: 'symlink', linkname: header.linkname ?? '', mode: 0o777, mtime: header.mtime, uid: header.uid, gid: header.gid });
                    summary.symlinks++;
                }
                else {
                    logger.warn(`files: ${name} is a socket, FIFO or device (${header.type}); not backed up.`);
                    summary.skipped.push(name);
                }
            }
            const { code, signal } = await command.exit;
            const errors = stderr.join('');
            if (code === 0 || (code === 1 && !/Cannot (open|read|stat)/.test(errors))) {
                // GNU tar exits 1 when a file changed while it was read: the copy is kept, as the local packing does.
                if (code === 1)
                    logger.warn(`files: tar on the server reported changes while reading: ${errors.trim().slice(0, 500)}`);
                pack.finalize();
                list.end();
                return summary;
            }
            if (code === null && session.lost)
                throw session.lostError(`finish reading ${where}`);
            throw tarFailure(errors, where, code, signal);
        }
        catch (error) {
            command.channel.close();
            const failure = session.lost && !(error instanceof src_errors/* UsageError */.eb) ? session.lostError(`finish reading ${where}`) : error;
            pack.destroy(failure);
            list.destroy(failure);
            throw failure;
        }
    })();
    done.catch(() => undefined);
    return { tar, list, done };
}
function tarFailure(errors, where, code, signal) {
    const unreadable = [...errors.matchAll(/^tar: \.?\/?(.*?): Cannot (?:open|read|stat|savedir): Permission denied$/gm)].map((m) => m[1] || '.');
    if (unreadable.length) {
        return new src_errors/* RemoteError */.Hi(`${unreadable.length} file(s) in ${where} cannot be read by the SSH user: ${unreadable.slice(0, 10).join(', ')}${unreadable.length > 10 ? ', …' : ''}. Nothing was stored.`, {
            hint: 'Give the backup user read access (e.g. a group the app writes with, or setfacl -R -m u:backup:rX), or exclude those paths with files-exclude.',
        });
    }
    if (/command not found|not found/i.test(errors) && /tar/.test(errors)) {
        return new src_errors/* RemoteError */.Hi(`tar is not installed on the server (${where}).`, { hint: 'Install GNU tar on the server (apt-get install tar).' });
    }
    return new src_errors/* RemoteError */.Hi(`Reading ${where} with tar failed (exit ${code ?? signal ?? 'unknown'}): ${errors.trim().slice(0, 500) || 'no message'}.`, {
        hint: 'Check that the SSH user may read the folder, and the server-side tar (GNU tar is expected).',
    });
}

;// CONCATENATED MODULE: ./src/reach/docker.ts
// docker-service: the database runs in a Compose service whose port is not
// published. Its container address is read on the server (`docker ps` + `docker
// inspect`, the commands an operator would type) and the tunnel goes there.



const DOCKER_COMMANDS = {
    list: (t) => `${t.command} ps --no-trunc --quiet --filter ${shellQuote(`label=com.docker.compose.service=${t.service}`)}` +
        (t.project ? ` --filter ${shellQuote(`label=com.docker.compose.project=${t.project}`)}` : ''),
    inspect: (t, id) => `${t.command} inspect ${shellQuote(id)}`,
};
/** The container's address on its Compose network, as the server reaches it. */
async function resolveServiceAddress(session, target, logger) {
    const server = (0,reach_options/* describeEndpoint */.N2)(session.endpoint);
    const what = `Compose service '${target.service}'${target.project ? ` of project '${target.project}'` : ''}`;
    const listed = await session.run(DOCKER_COMMANDS.list(target));
    if (listed.code !== 0)
        throw dockerFailure(listed.stderr, listed.code, server, target);
    const ids = listed.stdout.split(/\s+/).filter(Boolean);
    if (ids.length === 0) {
        throw new src_errors/* RemoteError */.Hi(`No running container of ${what} on ${server}.`, {
            hint: `Start it (docker compose up -d ${target.service}) or check the names: docker compose ps on the server lists services; set compose-project when several projects run there.`,
        });
    }
    const inspected = await session.run(DOCKER_COMMANDS.inspect(target, ids[0]));
    if (inspected.code !== 0)
        throw dockerFailure(inspected.stderr, inspected.code, server, target);
    let container;
    try {
        container = JSON.parse(inspected.stdout)[0];
    }
    catch {
        throw new src_errors/* RemoteError */.Hi(`'docker inspect' on ${server} printed something that is not JSON: ${inspected.stdout.slice(0, 200)}.`, {
            hint: "Check ssh-docker-command: it must run the docker CLI (e.g. 'docker' or 'sudo -n docker').",
        });
    }
    const projects = new Set(ids.length > 1 ? [container?.Config?.Labels?.['com.docker.compose.project']].filter((p) => Boolean(p)) : []);
    if (ids.length > 1 && !target.project) {
        logger.warn(`${ids.length} containers run ${what} on ${server}; using ${container?.Name ?? ids[0]}${projects.size ? ` (project ${[...projects][0]})` : ''}. Set compose-project to choose.`);
    }
    if (!container?.State?.Running) {
        throw new src_errors/* RemoteError */.Hi(`The container of ${what} on ${server} is not running (${container?.State?.Status ?? 'unknown state'}).`, {
            hint: `Start it: docker compose up -d ${target.service}.`,
        });
    }
    const networks = Object.entries(container.NetworkSettings?.Networks ?? {}).filter(([, n]) => n.IPAddress);
    // The project's own network first (Compose names it <project>_default), then any other.
    const project = container.Config?.Labels?.['com.docker.compose.project'];
    networks.sort(([a], [b]) => Number(b.startsWith(`${project}_`)) - Number(a.startsWith(`${project}_`)) || a.localeCompare(b));
    const address = networks[0]?.[1].IPAddress || container.NetworkSettings?.IPAddress;
    if (!address) {
        throw new src_errors/* RemoteError */.Hi(`The container of ${what} on ${server} has no IP address (network mode host or none?).`, {
            hint: 'With network_mode: host, leave docker-service empty and name 127.0.0.1 in database-url.',
        });
    }
    logger.info(`Compose service ${target.service}: container ${container.Name?.replace(/^\//, '') ?? ids[0].slice(0, 12)} at ${address} on ${server}`);
    return address;
}
function dockerFailure(stderr, code, server, target) {
    const text = stderr.trim().slice(0, 400);
    if (/permission denied.*docker/i.test(text) || /docker\.sock/i.test(text)) {
        return new src_errors/* RemoteError */.Hi(`The SSH user on ${server} may not use Docker: ${text}`, {
            hint: "Docker access is root-equivalent. Either allow exactly 'docker ps'/'docker inspect' with a sudoers rule and set ssh-docker-command: sudo -n docker, or give the database container a fixed address in compose.yaml and leave docker-service empty (docs/SSH.md).",
        });
    }
    if (/sudo:.*(password is required|not allowed|may not run)/i.test(text)) {
        return new src_errors/* RemoteError */.Hi(`sudo on ${server} refused to run docker for the SSH user: ${text}`, {
            hint: 'Add the sudoers rule from docs/SSH.md (NOPASSWD, exactly the docker ps/inspect commands).',
        });
    }
    if (code === 127 || /not found/i.test(text)) {
        return new src_errors/* RemoteError */.Hi(`'${target.command}' was not found on ${server}: ${text}`, {
            hint: 'Install the Docker CLI there, or set ssh-docker-command to its path.',
        });
    }
    return new src_errors/* RemoteError */.Hi(`'${target.command}' failed on ${server} (exit ${code ?? 'unknown'}): ${text || 'no message'}`, {
        hint: 'Run the same docker ps / docker inspect on the server as the SSH user to see why.',
    });
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/archive/files-verify.ts
var files_verify = __webpack_require__(9683);
;// CONCATENATED MODULE: ./src/reach/remote-restore.ts
// Restoring the uploads into a folder on the server over SSH, with the local
// restore's guarantees: the backup's tar streams into `tar -x` in a sibling
// folder of files-path (never staged whole on the runner) while every file is
// hashed here and compared with files.sha256; only a fully verified folder is
// swapped in, by two renames, and only after the database COMMIT
// (FilesDestination.swapAfterCommit). The previous folder is kept unless discarded.








/** The exact commands a restore sends (docs/SSH.md lists them for a restore key's dispatcher). */
const RESTORE_COMMANDS = {
    inspect: (path, parent) => `stat -c '%n|%F|%a|%u|%g|%d' -- ${shellQuote(path)} ${shellQuote(parent)}; id -u; test -w ${shellQuote(parent)} && echo writable`,
    extract: (parent, stage) => `mkdir -p -- ${shellQuote(parent)} && mkdir -m 700 -- ${shellQuote(stage)} && tar -x -p -f - -C ${shellQuote(stage)}`,
    chmod: (mode, stage) => `chmod ${mode.toString(8)} -- ${shellQuote(stage)}`,
    swap: (live, previous, stage) => previous
        ? `mv -T -- ${shellQuote(live)} ${shellQuote(previous)} && { mv -T -- ${shellQuote(stage)} ${shellQuote(live)} || { mv -T -- ${shellQuote(previous)} ${shellQuote(live)}; exit 3; }; }`
        : `mv -T -- ${shellQuote(stage)} ${shellQuote(live)}`,
    remove: (path) => `rm -rf -- ${shellQuote(path)}`,
};
class RemoteFilesTarget {
    session;
    path;
    logger;
    local = false;
    swapAfterCommit = true;
    where;
    remoteUid;
    constructor(session, path, logger) {
        this.session = session;
        this.path = path;
        this.logger = logger;
        this.where = `on ${(0,reach_options/* describeEndpoint */.N2)(session.endpoint)}`;
    }
    async inspect() {
        if (!this.path.startsWith('/')) {
            throw new src_errors/* UsageError */.eb(`Input 'files-path' must be an absolute path on the server when 'ssh' is set, got '${this.path}'.`, {
                input: 'files-path',
                hint: 'Give the uploads folder as the server sees it, e.g. /srv/app/uploads.',
            });
        }
        const full = external_node_path_.posix.normalize(this.path).replace(/\/+$/, '') || '/';
        const parent = external_node_path_.posix.dirname(full);
        const r = await this.session.run(RESTORE_COMMANDS.inspect(full, parent));
        const lines = r.stdout.split('\n').filter(Boolean);
        const stats = new Map(lines
            .filter((l) => l.includes('|'))
            .map((l) => {
            const [name, type, mode, uid, gid, dev] = l.split('|');
            return [name, { type: type, mode: parseInt(mode, 8), uid: Number(uid), gid: Number(gid), dev: dev }];
        }));
        this.remoteUid = Number(lines.find((l) => /^\d+$/.test(l)));
        const target = { path: full, parent, exists: false, existingAncestor: parent, server: (0,reach_options/* describeEndpoint */.N2)(this.session.endpoint) };
        const problems = [];
        const live = stats.get(full);
        const up = stats.get(parent);
        if (!up)
            problems.push(`Cannot restore files into ${full} ${this.where}: its parent folder ${parent} does not exist there.`);
        else if (!lines.includes('writable'))
            problems.push(`Cannot restore files into ${full} ${this.where}: ${parent} is not writable by the SSH user.`);
        if (live) {
            target.exists = true;
            if (live.type !== 'directory') {
                problems.push(`files-path ${full} ${this.where} exists but is not a directory (${live.type}).`);
            }
            else {
                Object.assign(target, { mode: live.mode, uid: live.uid, gid: live.gid });
                if (up && up.dev !== live.dev)
                    problems.push(`files-path ${full} ${this.where} is a mount point; the restore swaps the folder by renaming it. Restore into a folder inside it.`);
            }
        }
        return { target, problems };
    }
    async stage(target, backupId, tar, listText, summary) {
        const dir = external_node_path_.posix.join(target.parent, `.${(0,external_node_path_.basename)(target.path)}.restore-${backupId}-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`);
        const command = await this.session.exec(RESTORE_COMMANDS.extract(target.parent, dir));
        const stderr = [];
        command.stderr.setEncoding('utf8').on('data', (s) => stderr.push(s));
        command.stdout.resume(); // the channel closes only once its output side is read to the end
        const toServer = new external_node_stream_.PassThrough();
        const toHash = new external_node_stream_.PassThrough();
        tar.on('error', (e) => {
            toServer.destroy(e);
            toHash.destroy(e);
        });
        tar.pipe(toServer);
        tar.pipe(toHash);
        toServer.on('error', () => command.channel.close());
        toServer.pipe(command.stdin);
        try {
            const [hashed, exit] = await Promise.all([(0,files_verify/* extractFiles */.l)(toHash, undefined), command.exit]);
            if (exit.code !== 0) {
                if (this.session.lost)
                    throw this.session.lostError(`finish writing the files into ${dir}`);
                throw new src_errors/* RemoteError */.Hi(`Writing the files into ${dir} ${this.where} failed (tar exit ${exit.code ?? exit.signal}): ${stderr.join('').trim().slice(0, 500)}.`, {
                    hint: `Nothing was changed in ${target.path}. Check free space and permissions in ${target.parent} on the server.`,
                });
            }
            const result = (0,files_verify/* compareFiles */.h)(hashed.files, (0,checksums/* parseChecksums */.yk)(listText), summary, hashed.problems);
            if (result.status !== 'passed') {
                throw new src_errors/* IntegrityError */.cs(`The restored files do not match the backup's file list: ${result.problems.slice(0, 5).join('; ')}.`, {
                    hint: `Nothing was changed in ${target.path}. The backup's files part is damaged: use another backup.`,
                });
            }
            await this.must(RESTORE_COMMANDS.chmod(target.mode ?? 0o755, dir), `set the mode of ${dir}`);
            if (this.remoteUid !== 0)
                this.logger.info(`files: modes restored; owners not (the SSH user is not root), so the restored files belong to the SSH user ${(0,reach_options/* describeEndpoint */.N2)(this.session.endpoint).split('@')[0]}.`);
            return { dir, result };
        }
        catch (error) {
            command.channel.close();
            await this.session.run(RESTORE_COMMANDS.remove(dir)).catch(() => undefined);
            throw error;
        }
    }
    async swap(target, staged, previousPath) {
        const previous = target.exists ? previousPath : undefined;
        const r = await this.session.run(RESTORE_COMMANDS.swap(target.path, previous, staged.dir));
        if (r.code !== 0) {
            throw new src_errors/* RemoteError */.Hi(`Cannot swap the restored files into ${target.path} ${this.where}: ${r.stderr.trim() || `exit ${r.code}`}.`, {
                hint: r.code === 3 ? 'The previous folder was put back.' : `Check that ${target.parent} is writable on the server.`,
            });
        }
        return {
            previous,
            undo: async () => {
                await this.must(`mv -T -- ${shellQuote(target.path)} ${shellQuote(staged.dir)}${previous ? ` && mv -T -- ${shellQuote(previous)} ${shellQuote(target.path)}` : ''}`, 'undo the swap');
            },
            discardPrevious: async () => {
                if (previous)
                    await this.must(RESTORE_COMMANDS.remove(previous), `remove ${previous}`);
            },
        };
    }
    async removeStaged(staged) {
        await this.must(RESTORE_COMMANDS.remove(staged.dir), `remove ${staged.dir}`);
    }
    async must(command, doing) {
        const r = await this.session.run(command);
        if (r.code !== 0)
            throw new src_errors/* RemoteError */.Hi(`Could not ${doing} ${this.where}: ${r.stderr.trim() || `exit ${r.code}`}.`);
    }
}

// EXTERNAL MODULE: ./node_modules/ssh2/lib/index.js
var lib = __webpack_require__(5472);
var lib_default = /*#__PURE__*/__webpack_require__.n(lib);
// EXTERNAL MODULE: ./src/util/deadlines.ts
var deadlines = __webpack_require__(4389);
// EXTERNAL MODULE: ./src/reach/known-hosts.ts
var known_hosts = __webpack_require__(9718);
;// CONCATENATED MODULE: ./src/reach/ssh-session.ts
// One SSH connection to the server (through a bastion when ssh-jump is set),
// opened with ssh2 so nothing depends on the runner's ssh configuration.
// The host key is checked before authentication: an unpinned or different key
// ends the handshake, so neither the login nor any data is sent.






/** An open SSH connection; `lost` is set (and 'lost' emitted) when it ends without close(). */
class SshSession extends external_node_events_.EventEmitter {
    endpoint;
    client;
    bastion;
    lost;
    closing = false;
    constructor(endpoint, client, bastion) {
        super();
        this.endpoint = endpoint;
        this.client = client;
        this.bastion = bastion;
        const onGone = (error) => {
            if (this.closing || this.lost)
                return;
            this.lost = error ?? new Error('the server closed the connection');
            this.emit('lost', this.lost);
        };
        for (const c of [client, bastion]) {
            if (!c)
                continue;
            c.on('error', (e) => onGone(e));
            c.on('close', () => onGone());
        }
    }
    static async open(options) {
        const bastion = options.jump ? await connectOne(options.jump, options, undefined) : undefined;
        try {
            const sock = bastion ? await forwardVia(bastion, options.jump, options.target) : undefined;
            const client = await connectOne(options.target, options, sock, options.jump);
            return new SshSession(options.target, client, bastion);
        }
        catch (error) {
            bastion?.end();
            throw error;
        }
    }
    /** Runs a command on the server (through the user's login shell, as `ssh host cmd` does). */
    exec(command) {
        return new Promise((resolve, reject) => {
            if (this.lost)
                return reject(this.lostError('run a command'));
            this.client.exec(command, (error, channel) => {
                if (error)
                    return reject(new src_errors/* RemoteError */.Hi(`The SSH server ${(0,reach_options/* describeEndpoint */.N2)(this.endpoint)} refused to run a command: ${error.message}.`, { cause: error }));
                const exit = new Promise((done) => {
                    let result = { code: null };
                    channel.on('exit', (code, signal) => (result = { code: typeof code === 'number' ? code : null, signal }));
                    channel.on('close', () => done(result));
                });
                resolve({ stdout: channel, stderr: channel.stderr, stdin: channel, exit, channel });
            });
        });
    }
    /** Runs a command to the end; stdout and stderr as text (for small outputs only). */
    async run(command) {
        const cmd = await this.exec(command);
        cmd.stdin.end();
        const out = [];
        const err = [];
        cmd.stdout.on('data', (b) => out.push(b));
        cmd.stderr.on('data', (b) => err.push(b));
        const { code } = await cmd.exit;
        if (code === null && this.lost)
            throw this.lostError('run a command');
        return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
    }
    /** A channel to host:port as the server sees it (`ssh -L`). */
    forward(host, port) {
        return new Promise((resolve, reject) => {
            if (this.lost)
                return reject(this.lostError(`open a tunnel to ${host}:${port}`));
            this.client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
                if (error)
                    return reject(new src_errors/* RemoteError */.Hi(`The SSH server ${(0,reach_options/* describeEndpoint */.N2)(this.endpoint)} could not open a tunnel to ${host}:${port}: ${error.message}.`, {
                        hint: `Check that PostgreSQL listens on ${host}:${port} as the server sees it, that sshd allows forwarding (AllowTcpForwarding) and that the key's permitopen option names ${host}:${port}.`,
                        cause: error,
                    }));
                resolve(channel);
            });
        });
    }
    lostError(doing) {
        return new src_errors/* RemoteError */.Hi(`The SSH connection to ${(0,reach_options/* describeEndpoint */.N2)(this.endpoint)} dropped; could not ${doing} (${this.lost?.message ?? 'closed'}).`, {
            hint: 'Check the network path to the server and its sshd (ClientAliveInterval, MaxSessions), then run again.',
            cause: this.lost,
        });
    }
    close() {
        this.closing = true;
        this.client.end();
        this.bastion?.end();
    }
}
function forwardVia(bastion, jump, to) {
    return new Promise((resolve, reject) => bastion.forwardOut('127.0.0.1', 0, to.host, to.port, (error, channel) => error
        ? reject(new src_errors/* RemoteError */.Hi(`The bastion ${(0,reach_options/* describeEndpoint */.N2)(jump)} could not reach ${to.host}:${to.port}: ${error.message}.`, {
            hint: "Check the host and port in 'ssh' as the bastion sees them, and that the bastion allows forwarding.",
            cause: error,
        }))
        : resolve(channel)));
}
function connectOne(endpoint, options, sock, via) {
    const pinned = (0,known_hosts/* keysFor */.qm)(options.knownHosts, endpoint.host, endpoint.port);
    const name = (0,reach_options/* describeEndpoint */.N2)(endpoint);
    const through = via ? ` through ${(0,reach_options/* describeEndpoint */.N2)(via)}` : '';
    let refusal;
    const client = new (lib_default()).Client();
    return new Promise((resolve, reject) => {
        let settled = false;
        const fail = (error) => {
            if (settled)
                return;
            settled = true;
            client.end();
            reject(refusal ?? translate(error, name, through, endpoint));
        };
        client.once('ready', () => {
            settled = true;
            resolve(client);
        });
        client.on('error', fail);
        client.once('close', () => fail(new Error('the server closed the connection before the login finished')));
        const algorithms = (0,known_hosts/* hostKeyAlgorithms */.Qb)(pinned);
        try {
            client.connect({
                host: endpoint.host,
                port: endpoint.port,
                username: endpoint.user,
                privateKey: options.privateKey,
                sock,
                readyTimeout: (0,deadlines/* deadlines */.QA)().connectMs,
                keepaliveInterval: 15_000,
                keepaliveCountMax: 4,
                ...(algorithms.length ? { algorithms: { serverHostKey: algorithms } } : {}),
                hostVerifier: (key) => {
                    const verdict = (0,known_hosts/* judgeHostKey */.Tx)(pinned, key);
                    if (verdict.trusted)
                        return true;
                    if (verdict.reason === 'unknown' && options.acceptNewHostKey) {
                        options.logger.warn(`ssh-accept-new-host-key: trusting ${name}'s host key ${(0,known_hosts/* fingerprint */.Rj)(key)} on first use. Pin it by setting ssh-known-hosts to:\n  ${(0,known_hosts/* knownHostsLine */.TZ)(endpoint.host, endpoint.port, key)}`);
                        return true;
                    }
                    refusal = hostKeyRefusal(verdict.reason, endpoint, key, options.acceptNewHostKey);
                    return false;
                },
            });
        }
        catch (error) {
            // ssh2 throws synchronously for a key it cannot parse (or one that needs a passphrase).
            refusal = new src_errors/* RemoteError */.Hi(`The private key in ssh-private-key cannot be used: ${error.message}.`, {
                hint: "Give an unencrypted OpenSSH private key (ssh-keygen -t ed25519 -N ''); keys with a passphrase are not supported.",
                cause: error,
            });
            fail(error);
        }
    });
}
function hostKeyRefusal(reason, endpoint, key, acceptNew) {
    const name = (0,reach_options/* describeEndpoint */.N2)(endpoint);
    const entry = (0,known_hosts/* hostEntryName */.G5)(endpoint.host, endpoint.port);
    const presented = `${(0,known_hosts/* fingerprint */.Rj)(key)} (${(0,known_hosts/* knownHostsLine */.TZ)(endpoint.host, endpoint.port, key).split(' ')[1]})`;
    if (reason === 'mismatch' || reason === 'revoked') {
        return new src_errors/* RemoteError */.Hi(`The SSH server ${name} presented host key ${presented}, which is ${reason === 'revoked' ? 'marked @revoked' : 'not the one pinned'} in ssh-known-hosts. Nothing was sent: the connection stopped before logging in.`, {
            hint: `Someone may be intercepting the connection, or the server's host key changed (reinstall). Check the key on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before replacing the '${entry}' line${acceptNew ? '; ssh-accept-new-host-key never overrides a pinned key' : ''}.`,
        });
    }
    return new src_errors/* RemoteError */.Hi(`ssh-known-hosts has no key for ${entry}; the SSH server ${name} presented ${presented}. Nothing was sent: the connection stopped before logging in.`, {
        hint: `Add the server's line (ssh-keyscan -p ${endpoint.port} ${endpoint.host}, checked against ssh-keygen -lf on the server) to ssh-known-hosts, or set ssh-accept-new-host-key: true once to print it.`,
    });
}
function translate(error, name, through, endpoint) {
    const message = error.message ?? String(error);
    if (error.level === 'client-authentication' || /authentication methods failed/i.test(message)) {
        return new src_errors/* RemoteError */.Hi(`The SSH server ${name}${through} refused the login with the given key (${message}).`, {
            hint: `Add the key's public half to ~${endpoint.user}/.ssh/authorized_keys on the server (ssh-keygen -y -f KEY prints it), and check the user name in 'ssh'.`,
            cause: error,
        });
    }
    if (error.level === 'client-timeout' || /timed out/i.test(message)) {
        return new src_errors/* RemoteError */.Hi(`Timed out connecting to the SSH server ${name}${through} after ${(0,deadlines/* deadlines */.QA)().connectMs / 1000}s (connect-timeout).`, {
            hint: 'Check the host and port in ssh, and that a firewall lets this runner reach it.',
            cause: error,
        });
    }
    if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET'].includes(error.code ?? '')) {
        return new src_errors/* RemoteError */.Hi(`Cannot reach the SSH server ${name}${through}: ${message}.`, {
            hint: 'Check the host and port in ssh, that sshd is running there, and that a firewall lets this runner reach it.',
            cause: error,
        });
    }
    return new src_errors/* RemoteError */.Hi(`The SSH connection to ${name}${through} failed: ${message}.`, {
        hint: 'Check the host, port and key in the ssh-* inputs.',
        cause: error,
    });
}

// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
;// CONCATENATED MODULE: ./src/reach/tunnel.ts
// Local port forwarding (`ssh -L`): a listener on 127.0.0.1 of this machine whose
// every connection becomes an SSH channel to host:port as the server sees it, so
// pg, pg_dump, psql and pg_restore reach a database that is not exposed.

async function openTunnel(session, host, port, logger) {
    const sockets = new Set();
    const server = (0,external_node_net_.createServer)((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
        socket.pause();
        session.forward(host, port).then((channel) => {
            channel.on('error', () => socket.destroy());
            // A channel that ends takes its socket down, and the other way round: the client sees the drop.
            channel.on('close', () => socket.destroy());
            socket.on('close', () => channel.close());
            socket.pipe(channel).pipe(socket);
            socket.resume();
        }, (error) => {
            logger.debug(`tunnel: ${error.message}`);
            socket.destroy();
        });
    });
    // A lost SSH connection takes every tunnelled socket down at once, so no client waits on a dead link.
    session.on('lost', () => {
        for (const s of sockets)
            s.destroy();
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const localPort = typeof address === 'object' && address ? address.port : 0;
    return {
        port: localPort,
        close: () => new Promise((resolve) => {
            for (const s of sockets)
                s.destroy();
            server.close(() => resolve());
        }),
    };
}

;// CONCATENATED MODULE: ./src/reach/index.ts









/** Where the database is, as the server sees it: host and port of database-url. */
function databaseDestination(url) {
    if (!url || !/^postgres(ql)?:\/\//i.test(url)) {
        throw new src_errors/* UsageError */.eb("With 'ssh', 'database-url' must be a postgres:// URL naming the database as the server sees it.", {
            input: 'database-url',
            hint: 'Example: postgres://backup:secret@127.0.0.1:5432/app (127.0.0.1 is the server itself; with docker-service the host part is replaced by the container address).',
        });
    }
    const u = new URL(url);
    const host = decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '');
    if (!host || host.startsWith('/')) {
        throw new src_errors/* UsageError */.eb("With 'ssh', 'database-url' must name a TCP host (e.g. 127.0.0.1), not a Unix socket.", {
            input: 'database-url',
            hint: "Use postgres://user@127.0.0.1:5432/db and make PostgreSQL listen on 127.0.0.1 (listen_addresses = 'localhost').",
        });
    }
    return { host, port: u.port ? Number(u.port) : 5432 };
}
/** The same URL with host and port replaced by the tunnel's local end. */
function throughTunnel(url, localPort) {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(localPort);
    return u.toString();
}
/**
 * Runs `work` with the server reached over SSH. When the connection drops while
 * `work` runs, its failure is reported as the drop (the mode has already removed
 * what it wrote, as for any failure).
 */
async function withReach(config, options, logger, work, what = { database: true, verb: 'backup' }) {
    const destination = what.database ? databaseDestination(config.databaseUrl) : undefined;
    const server = (0,reach_options/* describeEndpoint */.N2)(options.target);
    logger.info(`Connecting to ${server}${options.jump ? ` through ${(0,reach_options/* describeEndpoint */.N2)(options.jump)}` : ''} over SSH…`);
    const session = await SshSession.open({ ...options, logger });
    session.on('lost', (error) => logger.error(`The SSH connection to ${server} dropped: ${error.message}. Stopping.`));
    let tunnel;
    try {
        let reachedConfig = config;
        let description = server;
        if (destination) {
            const host = options.dockerService
                ? await resolveServiceAddress(session, { service: options.dockerService, project: options.composeProject, command: options.dockerCommand }, logger)
                : destination.host;
            tunnel = await openTunnel(session, host, destination.port, logger);
            description = `${host}:${destination.port} via ${server}`;
            reachedConfig = { ...config, databaseUrl: throughTunnel(config.databaseUrl, tunnel.port), ssh: { ...options, tunnelledTo: description } };
            logger.info(`Database ${(0,redact/* safeUrl */.Pl)(config.databaseUrl)} reached through an SSH tunnel: 127.0.0.1:${tunnel.port} → ${description}`);
        }
        const reached = {
            config: reachedConfig,
            session,
            description,
            ...(config.filesPath
                ? { files: remoteFilesSource(session, config.filesPath), filesTarget: new RemoteFilesTarget(session, config.filesPath, logger) }
                : {}),
        };
        try {
            return await work(reached);
        }
        catch (error) {
            // Errors that already speak of the SSH side (a refused command, files not swapped in) keep their own words.
            if (!session.lost || (error instanceof src_errors/* BackupDrillError */.G$ && error.category === 'remote'))
                throw error;
            throw new src_errors/* RemoteError */.Hi(`The SSH connection to ${server} dropped during the ${what.verb} (${session.lost.message}): ${(0,src_errors/* describeError */.Uc)(error)}`, {
                hint: what.verb === 'backup'
                    ? 'Nothing complete was stored (the partial parts were removed). Check the network path and sshd on the server, then run again.'
                    : "The COMMIT and the files swap come last: unless the log says 'Committed', the database is as it was and the live files folder unchanged (a staging folder beside it is named above if it could not be removed). Check the network path and sshd on the server, then run again.",
                cause: error,
            });
        }
    }
    finally {
        await tunnel?.close().catch(() => undefined);
        session.close();
    }
}


/***/ })

};
