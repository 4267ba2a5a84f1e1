// Turns the encryption inputs into age encrypt/decrypt stream factories.
// Recipients and identities may be given inline or as paths to files.
import { readFileSync, existsSync } from 'node:fs';
import type { Transform } from 'node:stream';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { registerSecret } from '../util/redact.js';
import { createDecryptStream, createEncryptStream, parseIdentities, parseRecipients } from './age/index.js';

export interface Sealing {
  recipients: string[];
  passphrase: boolean;
  seal: () => Transform;
}

/** Inline value or a file's contents: entries that are paths of existing files are read. */
function inlineOrFiles(values: string[], input: string): string {
  return values
    .map((v) => {
      if (/^(age1|AGE-SECRET-KEY-1)/i.test(v)) return v;
      if (existsSync(v)) {
        try {
          return readFileSync(v, 'utf8');
        } catch (error) {
          throw new UsageError(`Input '${input}' names the file '${v}', which cannot be read: ${(error as Error).message}.`, { input });
        }
      }
      return v;
    })
    .join('\n');
}

export function sealingFor(config: Pick<Config, 'encryption'>): Sealing | undefined {
  const { recipients: raw, passphrase } = config.encryption;
  if (raw.length === 0 && !passphrase) return undefined;
  const recipients = raw.length ? parseRecipients(inlineOrFiles(raw, 'encrypt-recipients')) : [];
  if (passphrase) registerSecret(passphrase);
  const options = { recipients, passphrase };
  createEncryptStream(options).destroy(); // validates the combination now, before any work starts
  return { recipients, passphrase: Boolean(passphrase), seal: () => createEncryptStream(options) };
}

/** Decrypt-stream factory, or undefined when no key was given. */
export function unsealingFor(config: Pick<Config, 'encryption'>): (() => Transform) | undefined {
  const { identity, decryptPassphrase } = config.encryption;
  if (!identity && !decryptPassphrase) return undefined;
  if (identity) registerSecret(identity);
  const identities = identity ? parseIdentities(inlineOrFiles([identity], 'decrypt-identity')) : [];
  for (const id of identities) registerSecret(id);
  if (decryptPassphrase) registerSecret(decryptPassphrase);
  return () => createDecryptStream({ identities, passphrase: decryptPassphrase });
}

/** A backup is encrypted and no key was given; `passphrase` says whether a passphrase opens it (when known). */
export class KeyNeededError extends UsageError {
  constructor(
    readonly backupId: string,
    readonly passphrase?: boolean,
  ) {
    super(`Backup ${backupId} is encrypted; reading it needs a key.`, {
      input: 'decrypt-identity',
      hint: 'Give decrypt-identity (an AGE-SECRET-KEY-1… secret or a key file) or decrypt-passphrase; --decrypt-identity / --decrypt-passphrase / --decrypt-passphrase-file in a terminal.',
    });
  }
}

export function needKeyError(id: string, passphrase?: boolean): KeyNeededError {
  return new KeyNeededError(id, passphrase);
}
