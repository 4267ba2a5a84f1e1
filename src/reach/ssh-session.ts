// One SSH connection to the server (through a bastion when ssh-jump is set),
// opened with ssh2 so nothing depends on the runner's ssh configuration.
// The host key is checked before authentication: an unpinned or different key
// ends the handshake, so neither the login nor any data is sent.
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import ssh2 from 'ssh2';
import { RemoteError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { deadlines } from '../util/deadlines.js';
import { fingerprint, hostEntryName, hostKeyAlgorithms, judgeHostKey, keysFor, knownHostsLine, type KnownKey } from './known-hosts.js';
import { describeEndpoint, type SshEndpoint } from './options.js';

type Client = InstanceType<typeof ssh2.Client>;
type Channel = ssh2.ClientChannel;

export interface ConnectOptions {
  target: SshEndpoint;
  jump?: SshEndpoint;
  privateKey: string;
  knownHosts: KnownKey[];
  acceptNewHostKey: boolean;
  logger: Logger;
}

export interface RemoteCommand {
  stdout: Readable;
  stderr: Readable;
  stdin: Writable;
  /** Resolves with the exit code (null when killed by a signal or the connection dropped). */
  exit: Promise<{ code: number | null; signal?: string }>;
  channel: Channel;
}

/** An open SSH connection; `lost` is set (and 'lost' emitted) when it ends without close(). */
export class SshSession extends EventEmitter {
  lost?: Error;
  private closing = false;
  private constructor(
    readonly endpoint: SshEndpoint,
    private readonly client: Client,
    private readonly bastion: Client | undefined,
  ) {
    super();
    const onGone = (error?: Error) => {
      if (this.closing || this.lost) return;
      this.lost = error ?? new Error('the server closed the connection');
      this.emit('lost', this.lost);
    };
    for (const c of [client, bastion]) {
      if (!c) continue;
      c.on('error', (e: Error) => onGone(e));
      c.on('close', () => onGone());
    }
  }

  static async open(options: ConnectOptions): Promise<SshSession> {
    const bastion = options.jump ? await connectOne(options.jump, options, undefined) : undefined;
    try {
      const sock = bastion ? await forwardVia(bastion, options.jump!, options.target) : undefined;
      const client = await connectOne(options.target, options, sock, options.jump);
      return new SshSession(options.target, client, bastion);
    } catch (error) {
      bastion?.end();
      throw error;
    }
  }

  /** Runs a command on the server (through the user's login shell, as `ssh host cmd` does). */
  exec(command: string): Promise<RemoteCommand> {
    return new Promise((resolve, reject) => {
      if (this.lost) return reject(this.lostError('run a command'));
      this.client.exec(command, (error, channel) => {
        if (error)
          return reject(new RemoteError(`The SSH server ${describeEndpoint(this.endpoint)} refused to run a command: ${error.message}.`, { cause: error }));
        const exit = new Promise<{ code: number | null; signal?: string }>((done) => {
          let result: { code: number | null; signal?: string } = { code: null };
          channel.on('exit', (code: number | null, signal?: string) => (result = { code: typeof code === 'number' ? code : null, signal }));
          channel.on('close', () => done(result));
        });
        resolve({ stdout: channel, stderr: channel.stderr, stdin: channel, exit, channel });
      });
    });
  }

  /** Runs a command to the end; stdout and stderr as text (for small outputs only). */
  async run(command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const cmd = await this.exec(command);
    cmd.stdin.end();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    cmd.stdout.on('data', (b: Buffer) => out.push(b));
    cmd.stderr.on('data', (b: Buffer) => err.push(b));
    const { code } = await cmd.exit;
    if (code === null && this.lost) throw this.lostError('run a command');
    return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  }

  /** A channel to host:port as the server sees it (`ssh -L`). */
  forward(host: string, port: number): Promise<Channel> {
    return new Promise((resolve, reject) => {
      if (this.lost) return reject(this.lostError(`open a tunnel to ${host}:${port}`));
      this.client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
        if (error)
          return reject(
            new RemoteError(`The SSH server ${describeEndpoint(this.endpoint)} could not open a tunnel to ${host}:${port}: ${error.message}.`, {
              hint: `Check that PostgreSQL listens on ${host}:${port} as the server sees it, that sshd allows forwarding (AllowTcpForwarding) and that the key's permitopen option names ${host}:${port}.`,
              cause: error,
            }),
          );
        resolve(channel);
      });
    });
  }

  lostError(doing: string): RemoteError {
    return new RemoteError(`The SSH connection to ${describeEndpoint(this.endpoint)} dropped; could not ${doing} (${this.lost?.message ?? 'closed'}).`, {
      hint: 'Check the network path to the server and its sshd (ClientAliveInterval, MaxSessions), then run again.',
      cause: this.lost,
    });
  }

  close(): void {
    this.closing = true;
    this.client.end();
    this.bastion?.end();
  }
}

function forwardVia(bastion: Client, jump: SshEndpoint, to: SshEndpoint): Promise<Channel> {
  return new Promise((resolve, reject) =>
    bastion.forwardOut('127.0.0.1', 0, to.host, to.port, (error, channel) =>
      error
        ? reject(
            new RemoteError(`The bastion ${describeEndpoint(jump)} could not reach ${to.host}:${to.port}: ${error.message}.`, {
              hint: "Check the host and port in 'ssh' as the bastion sees them, and that the bastion allows forwarding.",
              cause: error,
            }),
          )
        : resolve(channel),
    ),
  );
}

function connectOne(endpoint: SshEndpoint, options: ConnectOptions, sock: Channel | undefined, via?: SshEndpoint): Promise<Client> {
  const pinned = keysFor(options.knownHosts, endpoint.host, endpoint.port);
  const name = describeEndpoint(endpoint);
  const through = via ? ` through ${describeEndpoint(via)}` : '';
  let refusal: RemoteError | undefined;
  const client = new ssh2.Client();
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
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
    const algorithms = hostKeyAlgorithms(pinned);
    try {
      client.connect({
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        privateKey: options.privateKey,
        sock,
        readyTimeout: deadlines().connectMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        ...(algorithms.length ? { algorithms: { serverHostKey: algorithms as ssh2.ServerHostKeyAlgorithm[] } } : {}),
        hostVerifier: (key: Buffer) => {
          const verdict = judgeHostKey(pinned, key);
          if (verdict.trusted) return true;
          if (verdict.reason === 'unknown' && options.acceptNewHostKey) {
            options.logger.warn(
              `ssh-accept-new-host-key: trusting ${name}'s host key ${fingerprint(key)} on first use. Pin it by setting ssh-known-hosts to:\n  ${knownHostsLine(endpoint.host, endpoint.port, key)}`,
            );
            return true;
          }
          refusal = hostKeyRefusal(verdict.reason, endpoint, key, options.acceptNewHostKey);
          return false;
        },
      });
    } catch (error) {
      // ssh2 throws synchronously for a key it cannot parse (or one that needs a passphrase).
      refusal = new RemoteError(`The private key in ssh-private-key cannot be used: ${(error as Error).message}.`, {
        hint: "Give an unencrypted OpenSSH private key (ssh-keygen -t ed25519 -N ''); keys with a passphrase are not supported.",
        cause: error,
      });
      fail(error as Error);
    }
  });
}

function hostKeyRefusal(reason: 'revoked' | 'mismatch' | 'unknown', endpoint: SshEndpoint, key: Buffer, acceptNew: boolean): RemoteError {
  const name = describeEndpoint(endpoint);
  const entry = hostEntryName(endpoint.host, endpoint.port);
  const presented = `${fingerprint(key)} (${knownHostsLine(endpoint.host, endpoint.port, key).split(' ')[1]})`;
  if (reason === 'mismatch' || reason === 'revoked') {
    return new RemoteError(
      `The SSH server ${name} presented host key ${presented}, which is ${reason === 'revoked' ? 'marked @revoked' : 'not the one pinned'} in ssh-known-hosts. Nothing was sent: the connection stopped before logging in.`,
      {
        hint: `Someone may be intercepting the connection, or the server's host key changed (reinstall). Check the key on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before replacing the '${entry}' line${acceptNew ? '; ssh-accept-new-host-key never overrides a pinned key' : ''}.`,
      },
    );
  }
  return new RemoteError(
    `ssh-known-hosts has no key for ${entry}; the SSH server ${name} presented ${presented}. Nothing was sent: the connection stopped before logging in.`,
    {
      hint: `Add the server's line (ssh-keyscan -p ${endpoint.port} ${endpoint.host}, checked against ssh-keygen -lf on the server) to ssh-known-hosts, or set ssh-accept-new-host-key: true once to print it.`,
    },
  );
}

function translate(error: Error & { level?: string; code?: string }, name: string, through: string, endpoint: SshEndpoint): RemoteError {
  const message = error.message ?? String(error);
  if (error.level === 'client-authentication' || /authentication methods failed/i.test(message)) {
    return new RemoteError(`The SSH server ${name}${through} refused the login with the given key (${message}).`, {
      hint: `Add the key's public half to ~${endpoint.user}/.ssh/authorized_keys on the server (ssh-keygen -y -f KEY prints it), and check the user name in 'ssh'.`,
      cause: error,
    });
  }
  if (error.level === 'client-timeout' || /timed out/i.test(message)) {
    return new RemoteError(`Timed out connecting to the SSH server ${name}${through} after ${deadlines().connectMs / 1000}s (connect-timeout).`, {
      hint: 'Check the host and port in ssh, and that a firewall lets this runner reach it.',
      cause: error,
    });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET'].includes(error.code ?? '')) {
    return new RemoteError(`Cannot reach the SSH server ${name}${through}: ${message}.`, {
      hint: 'Check the host and port in ssh, that sshd is running there, and that a firewall lets this runner reach it.',
      cause: error,
    });
  }
  return new RemoteError(`The SSH connection to ${name}${through} failed: ${message}.`, {
    hint: 'Check the host, port and key in the ssh-* inputs.',
    cause: error,
  });
}
