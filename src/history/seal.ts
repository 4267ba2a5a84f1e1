// Sealing a run record's details in an encrypted backup set, with the keys the
// run has: a backup seals to its encrypt-recipients (or passphrase), a drill or
// restore to the public key of its decrypt-identity (or its passphrase). So
// whoever can read the backups can read the records; the storage alone cannot.
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { Config } from '../config.js';
import { createDecryptStream, createEncryptStream, parseIdentities, parseRecipients, recipientOf } from '../archive/age/index.js';
import { readFileSync, existsSync } from 'node:fs';
import type { RunDetails } from './record.js';

export interface RecordKeys {
  recipients: string[];
  passphrase?: string;
}

function inlineOrFile(value: string): string {
  if (/^(age1|AGE-SECRET-KEY-1)/i.test(value.trim())) return value;
  return existsSync(value) ? readFileSync(value, 'utf8') : value;
}

/** The keys to seal records with, or undefined for an unencrypted set. */
export function recordKeysFor(config: Pick<Config, 'mode' | 'encryption'>): RecordKeys | undefined {
  const e = config.encryption;
  if (config.mode === 'backup') {
    if (!e.recipients.length && !e.passphrase) return undefined;
    const recipients = e.recipients.length ? parseRecipients(e.recipients.map(inlineOrFile).join('\n')) : [];
    // age allows a passphrase alone; with recipients too the backup itself is refused earlier.
    return e.passphrase ? { recipients: [], passphrase: e.passphrase } : { recipients };
  }
  if (!e.identity && !e.decryptPassphrase) return undefined;
  if (e.decryptPassphrase) return { recipients: [], passphrase: e.decryptPassphrase };
  return { recipients: parseIdentities(inlineOrFile(e.identity!)).map(recipientOf) };
}

export async function sealDetails(details: RunDetails, keys: RecordKeys): Promise<string> {
  const sealed = Readable.from([Buffer.from(JSON.stringify(details))]).pipe(createEncryptStream(keys));
  return (await buffer(sealed)).toString('base64');
}

/** Opens sealed details; undefined when the key does not fit (another set's key, or none). */
export async function openDetails(sealed: string, keys: { identities: string[]; passphrase?: string }): Promise<RunDetails | undefined> {
  try {
    const plain = await buffer(Readable.from([Buffer.from(sealed, 'base64')]).pipe(createDecryptStream(keys)));
    return JSON.parse(plain.toString('utf8')) as RunDetails;
  } catch {
    return undefined;
  }
}

/** Identities/passphrase for reading sealed records (history with a key). */
export function readingKeys(config: Pick<Config, 'encryption'>): { identities: string[]; passphrase?: string } | undefined {
  const e = config.encryption;
  if (!e.identity && !e.decryptPassphrase) return undefined;
  return { identities: e.identity ? parseIdentities(inlineOrFile(e.identity)) : [], passphrase: e.decryptPassphrase };
}
