// The two native age recipient stanzas: X25519 and scrypt (passphrase). Each wraps
// the 16-byte file key with ChaCha20-Poly1305 under a zero nonce.
//
//   -> X25519 <ephemeral share>    key = HKDF-SHA256(ikm = shared secret,
//                                        salt = share || recipient, "age-encryption.org/v1/X25519")
//   -> scrypt <salt> <log2 N>      key = scrypt(passphrase, "age-encryption.org/v1/scrypt" || salt, N, r=8, p=1)

import { createCipheriv, createDecipheriv, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { IntegrityError } from '../../errors.js';
import { b64, unb64, type Stanza } from './header.js';
import { publicKeyObject, rawPublicKey, type X25519Identity, type X25519Recipient } from './keys.js';

const X25519_LABEL = 'age-encryption.org/v1/X25519';
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
const ZERO_NONCE = Buffer.alloc(12);
export const FILE_KEY_BYTES = 16;
/** The work factor the age CLI uses when encrypting (2^18 iterations, ~256 MiB). */
export const SCRYPT_WORK_FACTOR = 18;
/** The highest work factor the age CLI accepts when decrypting. */
export const MAX_SCRYPT_WORK_FACTOR = 22;

function seal(key: Uint8Array, fileKey: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}

/** The file key, or null when the body does not authenticate under `key`. */
function open(key: Uint8Array, body: Buffer): Buffer | null {
  if (body.length !== FILE_KEY_BYTES + 16) return null;
  const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  decipher.setAuthTag(body.subarray(FILE_KEY_BYTES));
  const plain = decipher.update(body.subarray(0, FILE_KEY_BYTES));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return plain;
}

function x25519WrapKey(shared: Buffer, share: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([share, recipient]), X25519_LABEL, 32));
}

export function wrapX25519(fileKey: Uint8Array, recipient: X25519Recipient): Stanza {
  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.key });
  return { args: ['X25519', b64(share)], body: seal(x25519WrapKey(shared, share, recipient.bytes), fileKey) };
}

function malformed(kind: string, detail: string): IntegrityError {
  return new IntegrityError(`The age header has a malformed ${kind} stanza: ${detail}.`, {
    hint: 'The header was altered or damaged, or written by a broken age implementation.',
  });
}

/** Tries every identity on every X25519 stanza; null when none matches. */
export function unwrapX25519(stanzas: Stanza[], identities: X25519Identity[]): Buffer | null {
  for (const stanza of stanzas) {
    if (stanza.args[0] !== 'X25519') continue;
    if (stanza.args.length !== 2) throw malformed('X25519', `it has ${stanza.args.length - 1} arguments instead of 1`);
    const share = unb64(stanza.args[1]!);
    if (!share || share.length !== 32) throw malformed('X25519', 'the ephemeral share is not 32 bytes of base64');
    if (stanza.body.length !== FILE_KEY_BYTES + 16) throw malformed('X25519', `the body is ${stanza.body.length} bytes instead of 32`);
    let peer;
    try {
      peer = publicKeyObject(share);
    } catch {
      throw malformed('X25519', 'the ephemeral share is not an X25519 point');
    }
    for (const identity of identities) {
      let shared: Buffer;
      try {
        shared = diffieHellman({ privateKey: identity.key, publicKey: peer });
      } catch {
        // OpenSSL refuses low-order points (all-zero shared secret), as age does.
        throw malformed('X25519', 'the ephemeral share is a low-order point');
      }
      const fileKey = open(x25519WrapKey(shared, share, identity.publicBytes), stanza.body);
      if (fileKey) return fileKey;
    }
  }
  return null;
}

function scryptKey(passphrase: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(passphrase, 'utf8'),
      Buffer.concat([Buffer.from(SCRYPT_LABEL, 'latin1'), salt]),
      32,
      { N, r: 8, p: 1, maxmem: 128 * 8 * N + 16 * 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

export async function wrapScrypt(fileKey: Uint8Array, passphrase: string, logN = SCRYPT_WORK_FACTOR): Promise<Stanza> {
  const salt = randomBytes(16);
  const key = await scryptKey(passphrase, salt, logN);
  return { args: ['scrypt', b64(salt), String(logN)], body: seal(key, fileKey) };
}

/** The file key, or null when the passphrase is wrong. Throws on a malformed stanza. */
export async function unwrapScrypt(stanza: Stanza, passphrase: string): Promise<Buffer | null> {
  if (stanza.args.length !== 3) throw malformed('scrypt', `it has ${stanza.args.length - 1} arguments instead of 2`);
  const salt = unb64(stanza.args[1]!);
  if (!salt || salt.length !== 16) throw malformed('scrypt', 'the salt is not 16 bytes of base64');
  if (!/^[1-9][0-9]?$/.test(stanza.args[2]!)) throw malformed('scrypt', 'the work factor is not a decimal number');
  const logN = Number(stanza.args[2]);
  if (logN > MAX_SCRYPT_WORK_FACTOR) {
    throw new IntegrityError(`The file's scrypt work factor is 2^${logN}; at most 2^${MAX_SCRYPT_WORK_FACTOR} is accepted (as the age CLI does).`, {
      hint: 'A file from age or this tool uses 2^18. A huge work factor is a denial-of-service attempt or damage.',
    });
  }
  if (stanza.body.length !== FILE_KEY_BYTES + 16) throw malformed('scrypt', `the body is ${stanza.body.length} bytes instead of 32`);
  return open(await scryptKey(passphrase, salt, logN), stanza.body);
}
