// The SSH inputs (ssh, ssh-private-key[-file], ssh-known-hosts, ssh-accept-new-host-key,
// ssh-jump, docker-service, compose-project, ssh-docker-command) → one validated ReachOptions.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { registerSecret } from '../util/redact.js';
import { parseKnownHosts, type KnownKey } from './known-hosts.js';

export interface SshEndpoint {
  user: string;
  host: string;
  port: number;
}

export interface ReachOptions {
  target: SshEndpoint;
  /** A bastion the connection to target goes through (`ssh -J`). */
  jump?: SshEndpoint;
  privateKey: string;
  knownHosts: KnownKey[];
  acceptNewHostKey: boolean;
  /** Compose service whose container address the database tunnel goes to. */
  dockerService?: string;
  composeProject?: string;
  /** How to run docker on the server: `docker`, or e.g. `sudo -n docker` with a sudoers rule. */
  dockerCommand: string;
  /** Set once the tunnel is open: the database as the server reaches it, for messages (`127.0.0.1:5432 via backup@host`). */
  tunnelledTo?: string;
}

/** `user@host[:port]`, `user@[v6addr]:port`. */
export function parseEndpoint(input: string, value: string): SshEndpoint {
  const m = /^([^@\s]+)@(\[[0-9a-f:.]+\]|[^@\s:[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  const port = m?.[3] ? Number(m[3]) : 22;
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(`Input '${input}' must be user@host or user@host:port, got '${value}'.`, {
      input,
      hint: `Example: ${input}: backup@app.example.com:22 (an IPv6 address in brackets: backup@[2001:db8::1]:22).`,
    });
  }
  return { user: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

export function describeEndpoint(e: SshEndpoint): string {
  return `${e.user}@${e.host.includes(':') ? `[${e.host}]` : e.host}${e.port === 22 ? '' : `:${e.port}`}`;
}

/** Reads the inputs; undefined when `ssh` is not set (and then no other ssh-* input may be). */
export function parseReachOptions(get: (name: string) => string | undefined): ReachOptions | undefined {
  const ssh = get('ssh') || undefined;
  const others = ['ssh-private-key', 'ssh-private-key-file', 'ssh-known-hosts', 'ssh-jump', 'docker-service', 'compose-project'].filter((n) => get(n));
  if (!ssh) {
    if (others.length)
      throw new UsageError(`Input '${others[0]}' needs 'ssh': it only applies when the server is reached over SSH.`, {
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
    throw new UsageError("Input 'ssh-known-hosts' is required with 'ssh': the server's host key must be pinned, or anyone on the path could pose as it.", {
      input: 'ssh-known-hosts',
      hint: `Run 'ssh-keyscan -p ${target.port} ${target.host}' from a machine you trust (or read /etc/ssh/ssh_host_ed25519_key.pub on the server) and store the line as a secret or variable. To see it from here once, set ssh-accept-new-host-key: true (trust on first use).`,
    });
  }
  const dockerService = get('docker-service') || undefined;
  const composeProject = get('compose-project') || undefined;
  if (composeProject && !dockerService) {
    throw new UsageError("Input 'compose-project' needs 'docker-service': it narrows which Compose project's service is meant.", { input: 'compose-project' });
  }
  for (const [input, value] of [
    ['docker-service', dockerService],
    ['compose-project', composeProject],
  ] as const) {
    if (value && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value))
      throw new UsageError(`Input '${input}' must be a Compose name (letters, digits, '.', '_', '-'), got '${value}'.`, { input });
  }
  const dockerCommand = (get('ssh-docker-command') || 'docker').trim();
  if (!/^[A-Za-z0-9_./ -]+$/.test(dockerCommand))
    throw new UsageError(`Input 'ssh-docker-command' may hold only a command and plain words (e.g. 'sudo -n docker'), got '${dockerCommand}'.`, {
      input: 'ssh-docker-command',
    });
  return {
    target,
    jump: jumpValue ? parseEndpoint('ssh-jump', jumpValue) : undefined,
    privateKey: privateKeyInput(get),
    knownHosts: knownHostsText ? parseKnownHosts(knownHostsText) : [],
    acceptNewHostKey,
    dockerService,
    composeProject,
    dockerCommand,
  };
}

function parseBool(value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  throw new UsageError(`Input 'ssh-accept-new-host-key' must be true or false, got '${value}'.`, { input: 'ssh-accept-new-host-key' });
}

/** Lines, or the path of a known_hosts file. */
function knownHostsInput(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (/\s/.test(value.trim()) || !isFile(value.trim())) return value;
  return readFileSync(value.trim(), 'utf8');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function privateKeyInput(get: (name: string) => string | undefined): string {
  const inline = get('ssh-private-key') || undefined;
  const path = get('ssh-private-key-file') || undefined;
  if (inline && path) throw new UsageError("Give 'ssh-private-key' or 'ssh-private-key-file', not both.", { input: 'ssh-private-key-file' });
  let key = inline;
  if (path) {
    try {
      key = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`Input 'ssh-private-key-file': cannot read '${path}' (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, {
        input: 'ssh-private-key-file',
        hint: 'Give the path of an OpenSSH private key file readable by this user, or the key itself in ssh-private-key.',
      });
    }
  }
  if (!key) {
    throw new UsageError("Input 'ssh-private-key' is required with 'ssh'.", {
      input: 'ssh-private-key',
      hint: "Store the private key of the server's backup user as a secret (ssh-keygen -t ed25519 -N '' -f backup_key), or give its path in ssh-private-key-file.",
    });
  }
  // Secrets pasted into a YAML block often lose the final newline or gain indentation.
  key = key.replace(/^\s+|\s+$/g, '') + '\n';
  if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new UsageError(
      `Input '${path ? 'ssh-private-key-file' : 'ssh-private-key'}' does not hold a private key (no '-----BEGIN … PRIVATE KEY-----' line).`,
      {
        input: path ? 'ssh-private-key-file' : 'ssh-private-key',
        hint: 'Give the whole private key file, from the BEGIN line to the END line, not the .pub file.',
      },
    );
  }
  maskKey(key);
  return key;
}

/** Masks the key and each of its lines (a log may print one line of it). */
export function maskKey(key: string): void {
  registerSecret(key.trim());
  for (const line of key.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) registerSecret(line.trim());
}
