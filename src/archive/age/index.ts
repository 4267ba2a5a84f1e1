// Streaming age (https://age-encryption.org/v1) encryption and decryption, compatible
// with the age CLI: X25519 recipients/identities and scrypt passphrases.
//
// Everything uses node:crypto: X25519, HKDF, HMAC and scrypt for the header, and
// OpenSSL's ChaCha20-Poly1305 for the payload (>10x the pure-JS age-encryption
// library). That library is not used at run time: its Encrypter never reveals the
// file key (needed to stream the payload ourselves), a passphrase cannot be combined
// with a key-capturing custom recipient, and its key helpers are async. It remains a
// second, independent implementation the unit tests check against.

import { randomBytes } from 'node:crypto';
import type { Transform } from 'node:stream';
import { IntegrityError, UsageError } from '../../errors.js';
import { registerSecret } from '../../util/redact.js';
import { encodeHeader, type ParsedHeader } from './header.js';
import { IDENTITY_INPUT, RECIPIENTS_INPUT, requireIdentity, requireRecipient } from './keys.js';
import { FILE_KEY_BYTES, unwrapScrypt, unwrapX25519, wrapScrypt, wrapX25519 } from './stanzas.js';
import { AgeDecryptStream, AgeEncryptStream } from './stream.js';

export { generateIdentity, parseIdentities, parseRecipients, recipientOf } from './keys.js';

export interface AgeEncryptOptions {
  /** age1… X25519 recipients (see parseRecipients). */
  recipients: string[];
  /** Encrypt with a passphrase (scrypt) instead; age allows no recipients next to it. */
  passphrase?: string;
}

export interface AgeDecryptOptions {
  /** AGE-SECRET-KEY-1… identities (see parseIdentities). */
  identities: string[];
  /** For passphrase-encrypted files. */
  passphrase?: string;
}

/** Plaintext in → age file out. Validates the options now; the header is built when data or the end arrives. */
export function createEncryptStream(options: AgeEncryptOptions): Transform {
  const { recipients, passphrase } = options;
  if (passphrase !== undefined) registerSecret(passphrase);
  if (passphrase !== undefined && recipients.length > 0) {
    throw new UsageError('An age file can be encrypted to recipients or to a passphrase, not both.', {
      input: RECIPIENTS_INPUT,
      hint: 'The age format requires a passphrase (scrypt) stanza to be the only one in the file. Set either encrypt-recipients or the passphrase.',
    });
  }
  if (passphrase === '') {
    throw new UsageError('The encryption passphrase is empty.', { hint: 'Use a long random passphrase, or age recipients instead.' });
  }
  if (passphrase === undefined && recipients.length === 0) {
    throw new UsageError('Encryption needs at least one age recipient (age1…) or a passphrase.', { input: RECIPIENTS_INPUT });
  }
  const keys = recipients.map(requireRecipient);
  return new AgeEncryptStream(async () => {
    const fileKey = randomBytes(FILE_KEY_BYTES);
    const stanzas = passphrase !== undefined ? [await wrapScrypt(fileKey, passphrase)] : keys.map((key) => wrapX25519(fileKey, key));
    return { header: encodeHeader(stanzas, fileKey), fileKey };
  });
}

/** age file in → plaintext out. Every decryption failure is an IntegrityError. */
export function createDecryptStream(options: AgeDecryptOptions): Transform {
  const { identities, passphrase } = options;
  if (passphrase !== undefined) registerSecret(passphrase);
  if (identities.length === 0 && !passphrase) {
    throw new UsageError('Decryption needs an age identity (AGE-SECRET-KEY-1…) or a passphrase.', { input: IDENTITY_INPUT });
  }
  const keys = identities.map(requireIdentity);
  return new AgeDecryptStream(async (header: ParsedHeader) => {
    const scrypt = header.stanzas.find((s) => s.args[0] === 'scrypt');
    if (scrypt) {
      if (header.stanzas.length !== 1) {
        throw new IntegrityError('The age header has a passphrase (scrypt) stanza next to other stanzas, which age forbids.', {
          hint: 'The header was altered or written by a non-conforming tool.',
        });
      }
      if (!passphrase) {
        throw new IntegrityError('The age file is encrypted with a passphrase, but no passphrase was given.', {
          hint: 'Provide the passphrase the backup was encrypted with.',
        });
      }
      const fileKey = await unwrapScrypt(scrypt, passphrase);
      if (!fileKey) {
        throw new IntegrityError('The passphrase does not decrypt this age file (wrong passphrase).', {
          hint: 'Use the passphrase the backup was encrypted with.',
        });
      }
      return fileKey;
    }
    const fileKey = unwrapX25519(header.stanzas, keys);
    if (fileKey) return fileKey;
    const x25519 = header.stanzas.filter((s) => s.args[0] === 'X25519').length;
    const ours = keys.map((k) => k.recipient).join(', ');
    throw new IntegrityError(
      keys.length === 0
        ? `The age file is encrypted to ${x25519} X25519 recipient(s), but only a passphrase was given.`
        : `None of the ${keys.length} identit${keys.length === 1 ? 'y' : 'ies'} given can decrypt this age file (it has ${x25519} X25519 recipient stanza(s)); wrong key?`,
      {
        hint:
          keys.length === 0
            ? `Provide the age identity (AGE-SECRET-KEY-1…) in ${IDENTITY_INPUT}.`
            : `The identities given belong to ${ours}; the file was encrypted to other recipients. Use the identity file that matches the encrypt-recipients of the backup.`,
      },
    );
  });
}
