// The age v1 header (https://age-encryption.org/v1): its text format and its MAC.
//
//   age-encryption.org/v1
//   -> X25519 <base64 share>
//   <base64 body, 64 columns a line, last line shorter (maybe empty)>
//   --- <base64 HMAC-SHA256 over everything up to and including "---">
//
// Parsing is strict, like the reference implementation: canonical unpadded
// base64, LF line endings, printable ASCII only.

import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { IntegrityError } from '../../errors.js';

export const VERSION_LINE = 'age-encryption.org/v1';
const FOOTER = '---';
const COLUMNS = 64;
/** A header longer than this is refused (about 8,000 X25519 recipients). */
export const MAX_HEADER_BYTES = 1024 * 1024;

export interface Stanza {
  args: string[];
  body: Buffer;
}

export interface ParsedHeader {
  stanzas: Stanza[];
  mac: Buffer;
  /** The bytes the MAC covers: the header up to and including "---". */
  macInput: Buffer;
  /** Length of the header, including the MAC line's newline. */
  length: number;
}

/** Base64 without padding, as age writes it. */
export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** Decodes canonical unpadded base64; null for anything else. */
export function unb64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  return b64(bytes) === text ? bytes : null;
}

function headerMacKey(fileKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
}

function computeMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  return createHmac('sha256', headerMacKey(fileKey)).update(macInput).digest();
}

export function encodeHeader(stanzas: Stanza[], fileKey: Uint8Array): Buffer {
  const lines = [VERSION_LINE];
  for (const stanza of stanzas) {
    lines.push(`-> ${stanza.args.join(' ')}`);
    const body = b64(stanza.body);
    for (let i = 0; i <= body.length; i += COLUMNS) lines.push(body.slice(i, i + COLUMNS));
    // A body whose text fills whole lines gets the required empty final line from `<=` above.
  }
  const macInput = Buffer.from(`${lines.join('\n')}\n${FOOTER}`, 'latin1');
  return Buffer.concat([macInput, Buffer.from(` ${b64(computeMac(fileKey, macInput))}\n`, 'latin1')]);
}

export function macMatches(header: ParsedHeader, fileKey: Uint8Array): boolean {
  return timingSafeEqual(computeMac(fileKey, header.macInput), header.mac);
}

/** Progress of findHeaderEnd over a growing buffer. */
export interface HeaderScan {
  lineStart: number; // start of the first line not yet complete
  scanned: number; // bytes already searched for a newline
}

/**
 * Where the header ends in `bytes` (the index after the MAC line's newline), or -1
 * if it has not ended yet. Pass the same `scan` again as `bytes` grows: each byte
 * is searched once, whatever the write sizes.
 */
export function findHeaderEnd(bytes: Buffer, scan: HeaderScan = { lineStart: 0, scanned: 0 }): number {
  for (;;) {
    const newline = bytes.indexOf(0x0a, Math.max(scan.lineStart, scan.scanned));
    if (newline < 0) {
      scan.scanned = bytes.length;
      return -1;
    }
    // The MAC line is the first line after the version line to start with "---":
    // stanza bodies are base64 and argument lines start with "->".
    const start = scan.lineStart;
    const footer = start > 0 && bytes[start] === 0x2d && bytes[start + 1] === 0x2d && bytes[start + 2] === 0x2d;
    scan.lineStart = scan.scanned = newline + 1;
    if (footer) return newline + 1;
  }
}

function invalid(detail: string): IntegrityError {
  return new IntegrityError(`The age header is invalid: ${detail}.`, {
    hint: 'The file is not an age file, or its header was altered or damaged.',
  });
}

/** Parses a complete header (as delimited by findHeaderEnd). */
export function parseHeader(bytes: Buffer): ParsedHeader {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if ((c < 0x20 || c > 0x7e) && c !== 0x0a) throw invalid(`byte ${i} is not printable ASCII`);
  }
  const lines = bytes.toString('latin1').split('\n');
  if (lines.pop() !== '') throw invalid('it does not end with a newline');
  if (lines[0] !== VERSION_LINE) throw invalid(`the first line is not "${VERSION_LINE}"`);
  const stanzas: Stanza[] = [];
  let i = 1;
  while (i < lines.length && lines[i]!.startsWith('-> ')) {
    const lineNo = i + 1;
    const args = lines[i]!.slice(3).split(' ');
    if (args.some((a) => a.length === 0)) throw invalid(`line ${lineNo} has an empty stanza argument`);
    i++;
    const body: Buffer[] = [];
    for (;;) {
      const line = lines[i];
      if (line === undefined || line.startsWith('---')) throw invalid(`the stanza on line ${lineNo} has an unterminated body`);
      const part = line.length <= COLUMNS ? unb64(line) : null;
      if (!part) throw invalid(`line ${i + 1} is not a canonical base64 stanza body line of at most ${COLUMNS} columns`);
      body.push(part);
      i++;
      if (line.length < COLUMNS) break;
    }
    stanzas.push({ args, body: Buffer.concat(body) });
  }
  if (stanzas.length === 0) throw invalid('it has no recipient stanzas');
  const footer = lines[i];
  if (footer === undefined || i !== lines.length - 1 || !footer.startsWith(`${FOOTER} `)) {
    throw invalid(`line ${i + 1} is neither a stanza ("-> …") nor the MAC line ("--- …")`);
  }
  const mac = unb64(footer.slice(FOOTER.length + 1));
  if (!mac || mac.length !== 32) throw invalid('the MAC line does not hold a 32-byte base64 MAC');
  const macInputLength = bytes.length - (footer.length - FOOTER.length) - 1;
  return { stanzas, mac, macInput: bytes.subarray(0, macInputLength), length: bytes.length };
}
