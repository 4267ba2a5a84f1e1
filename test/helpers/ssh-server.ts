// Test helper: "a server on the internet" built from real parts.
//
//   test process (root namespace) ──veth──► network namespace
//                                           ├─ sshd (Debian's openssh-server) on <ns-address>:2222, run as an unprivileged user
//                                           └─ PostgreSQL on the namespace's own 127.0.0.1:5432, no Unix socket
//
// The database is reachable only from inside the namespace, i.e. only through
// the SSH server, as on a VPS whose PostgreSQL listens on localhost.
// Needs root (ip netns, runuser); `sshAvailable()` says whether this machine can.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverBinDir } from './postgres.js';

export const SSH_USER = 'bdssh';
/** The address a stand-in `docker inspect` reports for the database container; PostgreSQL listens there too. */
export const CONTAINER_ADDRESS = '172.28.0.5';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why this machine cannot run the SSH suite, or undefined when it can. */
export function sshUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, runuser)';
  if (!existsSync('/usr/sbin/sshd')) return 'openssh-server is not installed (scripts/setup.sh installs it)';
  try {
    const probe = `bdprobe${process.pid}`;
    sh('ip', ['netns', 'add', probe]);
    sh('ip', ['netns', 'del', probe]);
  } catch (error) {
    return `ip netns add failed: ${(error as Error).message}`;
  }
  return undefined;
}

function ensureUser(name: string): { uid: number; gid: number } {
  try {
    sh('id', ['-u', name]);
  } catch {
    sh('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', name]);
  }
  return { uid: Number(sh('id', ['-u', name]).trim()), gid: Number(sh('id', ['-g', name]).trim()) };
}

async function keygen(path: string, comment: string): Promise<{ privateKey: string; publicKey: string }> {
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return { privateKey: await readFile(path, 'utf8'), publicKey: (await readFile(`${path}.pub`, 'utf8')).trim() };
}

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, log: () => Promise<string>, ms = 15000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start: ${(await log()).slice(-2000)}`);
}

export interface SshdOptions {
  /** Port to listen on (default 2222). */
  port?: number;
  /** Reuse this client key pair instead of making one (e.g. the same key for a bastion and the server behind it). */
  clientKey?: { privateKey: string; publicKey: string };
  /** Extra lines for sshd_config. */
  config?: string[];
  /** The authorized_keys line options (e.g. `restrict,port-forwarding,permitopen="127.0.0.1:5432"`). */
  keyOptions?: string;
}

/** One sshd inside a namespace. */
export class Sshd {
  private constructor(
    readonly dir: string,
    readonly address: string,
    readonly port: number,
    readonly hostPublicKey: string,
    readonly clientKey: { privateKey: string; publicKey: string },
    private readonly process: ChildProcess,
  ) {}

  static async start(ns: string, address: string, dir: string, user: { uid: number; gid: number }, options: SshdOptions = {}): Promise<Sshd> {
    await mkdir(dir, { recursive: true });
    const host = await keygen(join(dir, 'host_ed25519'), 'host');
    const client = options.clientKey ?? (await keygen(join(dir, 'client_ed25519'), 'client'));
    const port = options.port ?? 2222;
    const authorized = `${options.keyOptions ? `${options.keyOptions} ` : ''}${client.publicKey}\n`;
    await writeFile(join(dir, 'authorized_keys'), authorized);
    await writeFile(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        `ListenAddress ${address}`,
        `HostKey ${join(dir, 'host_ed25519')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowTcpForwarding yes',
        'LogLevel VERBOSE',
        ...(options.config ?? []),
        '',
      ].join('\n'),
    );
    for (const f of ['host_ed25519', 'host_ed25519.pub', 'authorized_keys', 'sshd_config']) await chown(join(dir, f), user.uid, user.gid);
    await chown(dir, user.uid, user.gid);
    await chmod(join(dir, 'host_ed25519'), 0o600);
    const log = join(dir, 'sshd.log');
    const child = spawn('ip', ['netns', 'exec', ns, 'runuser', '-u', SSH_USER, '--', '/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const chunks: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      chunks.push(s);
      writeFile(log, chunks.join('')).catch(() => undefined);
    });
    const sshd = new Sshd(dir, address, port, host.publicKey, client, child);
    await waitFor(
      'sshd',
      () => chunks.join('').includes('Server listening'),
      async () => chunks.join(''),
    );
    return sshd;
  }

  get log(): string {
    return existsSync(join(this.dir, 'sshd.log')) ? execFileSync('cat', [join(this.dir, 'sshd.log')], { encoding: 'utf8' }) : '';
  }

  /** `user@address:port` for the ssh input. */
  get target(): string {
    return `${SSH_USER}@${this.address}:${this.port}`;
  }

  /** The known_hosts line that pins this server's host key. */
  get knownHostsLine(): string {
    const [type, key] = this.hostPublicKey.split(/\s+/);
    return `[${this.address}]:${this.port} ${type} ${key}`;
  }

  /** Kills every per-connection sshd process (monitor and session child): every open SSH connection drops at once. */
  dropConnections(): number {
    const listener = Number(execFileSync('cat', [join(this.dir, 'sshd.pid')], { encoding: 'utf8' }).trim());
    const descendants = (pid: number): number[] => {
      let out: string;
      try {
        out = sh('ps', ['-o', 'pid=', '--ppid', String(pid)]);
      } catch {
        return [];
      }
      return out
        .split(/\s+/)
        .filter(Boolean)
        .map(Number)
        .flatMap((child) => [...descendants(child), child]);
    };
    const pids = descendants(listener);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone with its parent */
      }
    }
    return pids.length;
  }

  async stop(): Promise<void> {
    const pidFile = join(this.dir, 'sshd.pid');
    if (existsSync(pidFile)) {
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    this.process.kill('SIGTERM');
  }
}

/** A namespace with sshd and PostgreSQL in it. */
export class IsolatedServer {
  private static started = 0;
  readonly sshds: Sshd[] = [];
  private constructor(
    readonly root: string,
    readonly ns: string,
    readonly hostAddress: string,
    readonly nsAddress: string,
    readonly pgPassword: string,
    readonly sshUser: { uid: number; gid: number },
    private readonly pgData: string,
    private readonly pgBin: string,
  ) {}

  static async start(options: SshdOptions = {}): Promise<IsolatedServer> {
    const root = await mkdtemp(join(tmpdir(), 'bd-ssh-'));
    await chmod(root, 0o755);
    // Unique per server in this process (a namespace's veth pair goes away asynchronously after ip netns del).
    const serial = ++IsolatedServer.started;
    const tag = `${process.pid % 100000}${serial}`;
    const ns = `bdssh${tag}`;
    const net = `10.${200 + (process.pid % 50)}.${(Math.floor(process.pid / 50) * 7 + serial) % 250}`;
    const hostAddress = `${net}.1`;
    const nsAddress = `${net}.2`;
    sh('ip', ['netns', 'add', ns]);
    try {
      sh('ip', ['link', 'add', `bdh${tag}`, 'type', 'veth', 'peer', 'name', `bdn${tag}`]);
      sh('ip', ['link', 'set', `bdn${tag}`, 'netns', ns]);
      sh('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', `bdh${tag}`]);
      sh('ip', ['link', 'set', `bdh${tag}`, 'up']);
      sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', `bdn${tag}`]);
      sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', `bdn${tag}`, 'up']);
      sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      // A "container" address inside the server (as a Compose network gives one), for docker-service tests.
      sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${CONTAINER_ADDRESS}/32`, 'dev', 'lo']);
    } catch (error) {
      sh('ip', ['netns', 'del', ns]);
      throw error;
    }
    const sshUser = ensureUser(SSH_USER);
    const pgUser = { uid: Number(sh('id', ['-u', 'postgres']).trim()), gid: Number(sh('id', ['-g', 'postgres']).trim()) };
    const pgBin = await serverBinDir();
    const pgData = join(root, 'pgdata');
    const pgPassword = randomBytes(12).toString('hex');
    await writeFile(join(root, 'pwfile'), pgPassword);
    await chown(join(root, 'pwfile'), pgUser.uid, pgUser.gid);
    const server = new IsolatedServer(root, ns, hostAddress, nsAddress, pgPassword, sshUser, pgData, pgBin);
    try {
      await mkdir(pgData, { mode: 0o700 });
      await chown(pgData, pgUser.uid, pgUser.gid);
      sh('runuser', [
        '-u',
        'postgres',
        '--',
        join(pgBin, 'initdb'),
        '-D',
        pgData,
        '-U',
        'postgres',
        '--pwfile',
        join(root, 'pwfile'),
        '-A',
        'scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
        '--no-sync',
      ]);
      // The namespace's own loopback only, and no Unix socket: nothing outside the namespace can connect.
      await writeFile(
        join(pgData, 'postgresql.auto.conf'),
        `listen_addresses = '127.0.0.1,${CONTAINER_ADDRESS}'\nport = 5432\nunix_socket_directories = ''\nfsync = off\nmax_connections = 40\n`,
      );
      await writeFile(join(pgData, 'pg_hba.conf'), `host all all ${CONTAINER_ADDRESS}/32 scram-sha-256\n`, { flag: 'a' });
      spawn('ip', ['netns', 'exec', ns, 'runuser', '-u', 'postgres', '--', join(pgBin, 'postgres'), '-D', pgData], {
        stdio: 'ignore',
        detached: true,
      }).unref();
      await waitFor(
        'PostgreSQL in the namespace',
        () => {
          try {
            sh('ip', ['netns', 'exec', ns, join(pgBin, 'pg_isready'), '-q', '-h', '127.0.0.1', '-p', '5432']);
            return true;
          } catch {
            return false;
          }
        },
        async () => '',
      );
      server.sshds.push(await Sshd.start(ns, nsAddress, join(root, 'sshd'), sshUser, options));
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Another sshd in the same namespace (a bastion, or one with a restricted key). */
  async addSshd(name: string, options: SshdOptions & { address?: string }): Promise<Sshd> {
    const sshd = await Sshd.start(this.ns, options.address ?? this.nsAddress, join(this.root, name), this.sshUser, options);
    this.sshds.push(sshd);
    return sshd;
  }

  /** An executable script on the server (for forced commands and stand-ins), readable by the SSH user. */
  async serverScript(name: string, body: string): Promise<string> {
    const dir = join(this.root, 'bin');
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}`, { mode: 0o755 });
    return path;
  }

  get sshd(): Sshd {
    return this.sshds[0]!;
  }

  /** The database URL as the server sees it. */
  dbUrl(database = 'postgres', user = 'postgres', password = this.pgPassword): string {
    return `postgres://${user}:${password}@127.0.0.1:5432/${database}`;
  }

  /** psql inside the namespace, as the server's admin would run it. */
  psql(sql: string, database = 'postgres'): string {
    return execFileSync(
      'ip',
      [
        'netns',
        'exec',
        this.ns,
        join(this.pgBin, 'psql'),
        '-X',
        '-q',
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        '127.0.0.1',
        '-U',
        'postgres',
        '-d',
        database,
        '-c',
        sql,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, PGPASSWORD: this.pgPassword },
      },
    );
  }

  /** A folder on "the server" owned by the SSH user. */
  async serverDir(name: string): Promise<string> {
    const path = join(this.root, 'srv', name);
    await mkdir(path, { recursive: true });
    await chown(join(this.root, 'srv'), this.sshUser.uid, this.sshUser.gid);
    await chown(path, this.sshUser.uid, this.sshUser.gid);
    return path;
  }

  /** Gives a tree to the SSH user (the app's files belong to it on the server). */
  chownTree(path: string): void {
    sh('chown', ['-R', `${this.sshUser.uid}:${this.sshUser.gid}`, path]);
  }

  async stop(): Promise<void> {
    for (const s of this.sshds) await s.stop().catch(() => undefined);
    const pidFile = join(this.pgData, 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
      try {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown: nothing here needs to survive
      } catch {
        /* gone */
      }
      for (let i = 0; i < 50 && existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    }
    try {
      sh('ip', ['netns', 'del', this.ns]);
    } catch {
      /* already gone */
    }
    await rm(this.root, { recursive: true, force: true });
  }
}
