// age X25519 keys: parsing `age1…` recipients and `AGE-SECRET-KEY-1…` identities,
// converting them to node:crypto KeyObjects, and generating new ones.
// Messages about identities never contain the identity text.

import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { UsageError } from '../../errors.js';
import { registerSecret } from '../../util/redact.js';
import { bech32Decode, bech32Encode } from './bech32.js';

const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

export const RECIPIENTS_INPUT = 'encrypt-recipients';
export const IDENTITY_INPUT = 'decrypt-identity';

export interface X25519Recipient {
  /** Canonical `age1…` text. */
  text: string;
  /** 32-byte Montgomery u-coordinate. */
  bytes: Buffer;
  key: KeyObject;
}

export interface X25519Identity {
  key: KeyObject;
  /** The matching public key, 32 bytes. */
  publicBytes: Buffer;
  /** The matching `age1…` recipient (safe to print). */
  recipient: string;
}

export function publicKeyObject(bytes: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, bytes]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

function privateKeyObject(bytes: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, bytes]), format: 'der', type: 'pkcs8' });
}

/** Why `text` is not an X25519 recipient, or the decoded recipient. */
export function decodeRecipient(text: string): X25519Recipient | { error: string } {
  if (/^(ssh-(ed25519|rsa)|ecdsa-)/.test(text)) {
    return { error: 'is an SSH key; only native age X25519 recipients (age1…, from age-keygen) are supported' };
  }
  if (/^AGE-SECRET-KEY-/i.test(text)) return { error: 'looks like a secret key; recipients are public keys (age1…): never put an identity here' };
  if (!/^age1/i.test(text)) return { error: 'does not start with age1 (an age public key, as printed by age-keygen -y)' };
  const decoded = bech32Decode(text);
  if ('error' in decoded) return { error: decoded.error };
  if (decoded.hrp.startsWith('age1')) {
    return { error: 'is a post-quantum, tag or plugin recipient; only native age X25519 recipients (age1…, from age-keygen) are supported' };
  }
  if (decoded.hrp !== RECIPIENT_HRP || decoded.bytes.length !== 32) return { error: 'is not a 32-byte X25519 recipient' };
  const bytes = Buffer.from(decoded.bytes);
  let key: KeyObject;
  try {
    key = publicKeyObject(bytes);
    // OpenSSL refuses a low-order point (all-zero shared secret) here rather than mid-backup.
    diffieHellman({ privateKey: generateKeyPairSync('x25519').privateKey, publicKey: key });
  } catch {
    return { error: 'is not a usable X25519 public key (a low-order point)' };
  }
  return { text: text.toLowerCase(), bytes, key };
}

/** The decoded identity, or a reason that never repeats the secret. */
export function decodeIdentity(text: string): X25519Identity | { error: string } {
  if (/^age1/i.test(text)) {
    return { error: 'is a public key (age1…); decryption needs the secret key (AGE-SECRET-KEY-1…) from the identity file' };
  }
  if (/^AGE-SECRET-KEY-PQ-1/i.test(text)) return { error: 'is a post-quantum identity; only X25519 identities (AGE-SECRET-KEY-1…) are supported' };
  if (/^AGE-PLUGIN-/i.test(text)) return { error: 'is a plugin identity; only X25519 identities (AGE-SECRET-KEY-1…) are supported' };
  if (/^-----BEGIN/.test(text)) return { error: 'is a PEM/SSH private key; only age X25519 identities (AGE-SECRET-KEY-1…) are supported' };
  if (!/^AGE-SECRET-KEY-1/i.test(text)) return { error: 'does not start with AGE-SECRET-KEY-1 (an age identity, as written by age-keygen)' };
  const decoded = bech32Decode(text);
  if ('error' in decoded) return { error: decoded.error };
  if (decoded.hrp !== IDENTITY_HRP || decoded.bytes.length !== 32) return { error: 'is not a 32-byte X25519 identity' };
  const key = privateKeyObject(decoded.bytes);
  const publicBytes = rawPublicKey(createPublicKey(key));
  return { key, publicBytes, recipient: bech32Encode(RECIPIENT_HRP, publicBytes) };
}

/** Splits a key list: newlines or commas, `#` comments, blank entries ignored. */
function entries(text: string, commas: boolean): { value: string; line: number }[] {
  const out: { value: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const hash = rawLine.indexOf('#');
    const line = hash >= 0 ? rawLine.slice(0, hash) : rawLine;
    for (const part of commas ? line.split(',') : [line]) {
      const value = part.trim();
      if (value) out.push({ value, line: index + 1 });
    }
  });
  return out;
}

/** A recipient value for a message; a pasted secret key is registered and never shown. */
function shown(value: string): string {
  if (/^AGE-SECRET-KEY-/i.test(value.trim())) {
    registerSecret(value);
    registerSecret(value.trim());
    return `(${value.length} characters, not shown)`;
  }
  return `"${value.length > 120 ? `${value.slice(0, 117)}...` : value}"`;
}

export function parseRecipients(text: string): string[] {
  const out: string[] = [];
  for (const { value, line } of entries(text, true)) {
    const decoded = decodeRecipient(value);
    if ('error' in decoded) {
      throw new UsageError(`Recipient ${shown(value)} (line ${line} of ${RECIPIENTS_INPUT}) ${decoded.error}.`, {
        input: RECIPIENTS_INPUT,
        hint: 'List age public keys (age1…), one per line or comma separated; `age-keygen -y key.txt` prints the one for an identity file.',
      });
    }
    if (!out.includes(decoded.text)) out.push(decoded.text);
  }
  if (out.length === 0) {
    throw new UsageError(`${RECIPIENTS_INPUT} contains no recipients (only blank lines or # comments).`, {
      input: RECIPIENTS_INPUT,
      hint: 'Add at least one age public key (age1…), or leave the input unset.',
    });
  }
  return out;
}

export function parseIdentities(text: string): string[] {
  const list = entries(text, false);
  for (const { value } of list) registerSecret(value);
  const out: string[] = [];
  for (const { value, line } of list) {
    const decoded = decodeIdentity(value);
    if ('error' in decoded) {
      throw new UsageError(`Line ${line} of ${IDENTITY_INPUT} (${value.length} characters, not shown) ${decoded.error}.`, {
        input: IDENTITY_INPUT,
        hint: 'Provide the contents of an age identity file: AGE-SECRET-KEY-1… lines; # comments and blank lines are ignored.',
      });
    }
    const canonical = value.toUpperCase();
    registerSecret(canonical);
    if (!out.includes(canonical)) out.push(canonical);
  }
  if (out.length === 0) {
    throw new UsageError(`${IDENTITY_INPUT} contains no identities (only blank lines or # comments).`, {
      input: IDENTITY_INPUT,
      hint: 'Provide the contents of an age identity file (AGE-SECRET-KEY-1… lines), as written by age-keygen.',
    });
  }
  return out;
}

/** Decodes an identity or throws a UsageError naming the input, never the secret. */
export function requireIdentity(identity: string): X25519Identity {
  registerSecret(identity);
  const decoded = decodeIdentity(identity.trim());
  if ('error' in decoded) {
    throw new UsageError(`The ${IDENTITY_INPUT} value (${identity.length} characters, not shown) ${decoded.error}.`, {
      input: IDENTITY_INPUT,
    });
  }
  return decoded;
}

export function requireRecipient(recipient: string): X25519Recipient {
  const decoded = decodeRecipient(recipient.trim());
  if ('error' in decoded) {
    throw new UsageError(`Recipient ${shown(recipient)} ${decoded.error}.`, { input: RECIPIENTS_INPUT });
  }
  return decoded;
}

export function recipientOf(identity: string): string {
  return requireIdentity(identity).recipient;
}

export function generateIdentity(): string {
  const { privateKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const identity = bech32Encode(IDENTITY_HRP, der.subarray(der.length - 32), true);
  registerSecret(identity);
  return identity;
}
