// known_hosts lines: which keys a host may present. The SSH connection
// accepts a host only when its key is listed for it (OpenSSH's
// StrictHostKeyChecking=yes); trust on first use is a separate, explicit choice.
//
// Understood: plain and `[host]:port` patterns, comma lists, `*`/`?` wildcards,
// `!negation`, hashed names (`|1|salt|hash`, as `ssh-keyscan -H` writes them),
// `@revoked`; a line that is only `type base64 [comment]` (a host's .pub file)
// applies to any host. `@cert-authority` lines are refused: certificates are
// not verified here, and silently ignoring the line would hide that.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../errors.js';

export interface KnownKey {
  /** Host patterns; undefined = the line named no host (a bare public key). */
  patterns?: string[];
  type: string;
  blob: Buffer;
  revoked: boolean;
}

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

export function parseKnownHosts(text: string, input = 'ssh-known-hosts'): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]!.startsWith('@')) {
      const marker = fields.shift()!;
      if (marker === '@revoked') revoked = true;
      else
        throw new UsageError(`Input '${input}' line ${index + 1} has the marker '${marker}', which is not supported.`, {
          input,
          hint: "Pin the host's own key (ssh-keyscan -t ed25519 -p PORT HOST prints it), not a certificate authority.",
        });
    }
    let patterns: string[] | undefined;
    if (!KEY_TYPE.test(fields[0] ?? '')) patterns = fields.shift()!.split(',');
    const [type, base64] = fields;
    if (!type || !KEY_TYPE.test(type) || !base64) {
      throw new UsageError(`Input '${input}' line ${index + 1} is not a known_hosts line: '${line.slice(0, 60)}'.`, {
        input,
        hint: "Give lines as 'ssh-keyscan -p PORT HOST' prints them ('[host]:port ssh-ed25519 AAAA…'), or the server's /etc/ssh/ssh_host_ed25519_key.pub.",
      });
    }
    const blob = Buffer.from(base64, 'base64');
    if (blob.length < 4 || blobType(blob) !== type) {
      throw new UsageError(`Input '${input}' line ${index + 1}: the key data does not hold a ${type} key.`, {
        input,
        hint: 'Copy the line again without changes; it may be cut short.',
      });
    }
    keys.push({ patterns, type, blob, revoked });
  }
  return keys;
}

/** The key type written at the start of an SSH public key blob. */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length > 64 || 4 + length > blob.length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** The name known_hosts uses for a host: `host`, or `[host]:port` off port 22. */
export function hostEntryName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split('|');
  if (!salt || !hash) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  const want = Buffer.from(hash, 'base64');
  return want.length === mac.length && timingSafeEqual(want, mac);
}

function patternsMatch(patterns: string[], name: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('|1|')) {
      if (hashedMatch(p, name)) matched = true;
    } else if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The keys listed for host:port (revoked ones included, marked). */
export function keysFor(keys: KnownKey[], host: string, port: number): KnownKey[] {
  const name = hostEntryName(host, port);
  return keys.filter((k) => !k.patterns || patternsMatch(k.patterns, name));
}

/** Host key algorithms to offer, so the server presents a key of a type we can check (OpenSSH does the same). */
export function hostKeyAlgorithms(keys: KnownKey[]): string[] {
  const algorithms: string[] = [];
  for (const k of keys) {
    if (k.revoked) continue;
    const names = k.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [k.type];
    for (const n of names) if (!algorithms.includes(n)) algorithms.push(n);
  }
  return algorithms;
}

export type HostKeyVerdict = { trusted: true } | { trusted: false; reason: 'revoked' | 'mismatch' | 'unknown' };

/** Compares the key a host presented with those pinned for it. */
export function judgeHostKey(pinned: KnownKey[], presented: Buffer): HostKeyVerdict {
  if (pinned.some((k) => k.revoked && k.blob.equals(presented))) return { trusted: false, reason: 'revoked' };
  const live = pinned.filter((k) => !k.revoked);
  if (live.some((k) => k.blob.equals(presented))) return { trusted: true };
  return { trusted: false, reason: live.length ? 'mismatch' : 'unknown' };
}

/** The line to pin a presented key with. */
export function knownHostsLine(host: string, port: number, presented: Buffer): string {
  return `${hostEntryName(host, port)} ${blobType(presented) ?? 'unknown'} ${presented.toString('base64')}`;
}

/** SHA256 fingerprint as OpenSSH prints it (`SHA256:…`, unpadded base64). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
