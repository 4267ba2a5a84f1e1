// verify and download: re-read every stored object of a backup and check it
// against manifest.json (and checksums.sha256), optionally keeping a copy.
// Works without a key on encrypted backups (the stored ciphertext has digests
// in the public index); given a key, the sealed content is checked as well.
// Without a key this detects damage, not tampering: whoever can write the
// bucket can rewrite an index and its digests (docs/FORMAT.md, Integrity).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BACKUP_PARTS } from '../constants.js';
import { ExitCode, IntegrityError, StorageError, UsageError, describeError, isStorageOutage } from '../errors.js';
import { parseChecksums } from '../archive/checksums.js';
import type { Manifest, PartInfo } from '../archive/manifest.js';
import { openPart, storedBytes, type Decryptor } from '../archive/open-part.js';
import {
  listBackups,
  listedParts,
  readManifest,
  resolveEntry,
  storedDigest,
  writeVerifiedMarker,
  type StoredIndex,
  type Unseal,
  type VerifiedMarker,
} from '../storage/catalog.js';
import type { Storage } from '../storage/port.js';
import { readText } from '../storage/read.js';
import type { Logger } from '../util/logger.js';
import { Progress } from '../util/progress.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export interface PartCheck {
  name: string;
  ok: boolean;
  message: string;
  /** Not read: the storage failed (unreachable, throttled, timed out). Says nothing about the backup. */
  unreadable?: boolean;
}

/** A failed check from the error that caused it; a storage outage is marked unreadable, not damage. */
function failedCheck(name: string, error: unknown, prefix = ''): PartCheck {
  return { name, ok: false, message: `${prefix}${describeError(error)}`, ...(isStorageOutage(error) ? { unreadable: true } : {}) };
}

/**
 * The exit code of a verification: damage found (7) outranks a storage that could not be read (5),
 * which is "not verified", never "damaged".
 */
export function verdictExitCode(parts: readonly PartCheck[]): number {
  const failed = parts.filter((p) => !p.ok);
  if (failed.length === 0) return ExitCode.ok;
  return failed.every((p) => p.unreadable) ? ExitCode.storage : ExitCode.integrity;
}

export interface VerifyResult {
  id: string;
  /** The full manifest; undefined for an encrypted backup verified without a key. */
  manifest?: Manifest;
  parts: PartCheck[];
  ok: boolean;
  /** Every listed object was read in full (not only its size checked). */
  readInFull: boolean;
  /** For an encrypted backup: whether the sealed content (decryption, sealed manifest) was checked too. */
  sealedChecked: boolean;
}

export interface VerifyOptions {
  logger: Logger;
  /** Keep verified copies of the stored objects in this folder (download). */
  into?: string;
  /** A key: also decrypt encrypted parts and check the sealed manifest. */
  unseal?: Unseal;
  /** Which parts to read in full; the others are only checked for presence and size. Default: all. */
  readData?: (key: string) => boolean;
  /** Record a verified.json marker after a full read that passed (retention trusts it). Default true. */
  recordMarker?: boolean;
}

/** Verifies one backup: every object its manifest.json lists, checksums.sha256, and (with a key) the sealed content. */
export async function verifyBackup(storage: Storage, name: string, wanted: string, options: VerifyOptions): Promise<VerifyResult> {
  const { entry, stored, damagedNewer } = await resolveEntry(storage, name, wanted);
  const result = await verifyResolved(storage, name, entry.id, stored, options);
  // `latest` skips damaged newer backups; the user asked about the newest, so they fail the verify.
  const skipped = damagedNewer.map((d) => ({ name: `backup ${d.id} (newer, skipped)`, ok: false, message: `damaged: ${d.reason}` }));
  return skipped.length ? { ...result, parts: [...skipped, ...result.parts], ok: false } : result;
}

async function verifyResolved(storage: Storage, name: string, id: string, stored: StoredIndex, options: VerifyOptions): Promise<VerifyResult> {
  const prefix = `${name}/${id}`;
  const sealed = 'index' in stored;
  if (options.into) await mkdir(options.into, { recursive: true });
  const checks: PartCheck[] = [
    { name: BACKUP_PARTS.manifest, ok: true, message: `parses; its own digest (sha256-jcs ${storedDigest(stored).slice(0, 16)}…) matches` },
  ];
  const unseal = sealed ? options.unseal : undefined;
  const decrypt: Decryptor = (part) => (part.encrypted && unseal ? unseal() : undefined);
  let readInFull = true;
  for (const part of listedParts(stored)) {
    if (options.readData && !options.readData(`${prefix}/${part.name}`)) {
      readInFull = false;
      checks.push(await checkPresence(storage, prefix, part));
      continue;
    }
    checks.push(await checkPart(storage, prefix, part, options.into ? storedBytes : decrypt, options));
    if (options.into && unseal && part.encrypted && checks.at(-1)!.ok) checks.push(await checkDecrypts(join(options.into, part.name), part, unseal));
  }
  checks.push(...(await checkChecksumsFile(storage, prefix, listedParts(stored), checks)));
  let manifest: Manifest | undefined = 'manifest' in stored ? stored.manifest : undefined;
  if (sealed && unseal) {
    try {
      manifest = await readManifest(storage, name, id, unseal, stored);
      checks.push({ name: 'sealed manifest', ok: true, message: 'decrypts, matches its own digest and records this index' });
    } catch (error) {
      checks.push(failedCheck('sealed manifest', error));
    }
  }
  if (options.into) await writeFile(join(options.into, BACKUP_PARTS.manifest), await readText(storage, `${prefix}/${BACKUP_PARTS.manifest}`, 64 * 1024 * 1024));
  const ok = checks.every((c) => c.ok);
  if (ok && readInFull && (options.recordMarker ?? true)) await recordMarker(storage, name, id, stored, 'verify', options.logger);
  return { id, manifest, parts: checks, ok, readInFull, sealedChecked: sealed && Boolean(unseal) };
}

/** Reads a part through its digest check (and its decryption, when a key was given); with `into`, keeps a verified copy. */
async function checkPart(storage: Storage, prefix: string, part: PartInfo, decrypt: Decryptor, options: VerifyOptions): Promise<PartCheck> {
  const progress = new Progress(part.name, options.logger).start();
  try {
    const stream = await openPart(storage, prefix, part, decrypt, (n) => progress.add(n));
    if (options.into) {
      const temp = join(options.into, `.${part.name}.partial`);
      try {
        await pipeline(stream, createWriteStream(temp));
        await rename(temp, join(options.into, part.name));
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    } else {
      await pipeline(stream, discard());
    }
    const decrypted = part.encrypted && decrypt !== storedBytes && options.unseal ? '; decrypts' : '';
    return { name: part.name, ok: true, message: `${part.bytes} bytes, sha256 ${part.sha256.slice(0, 16)}… OK${decrypted}` };
  } catch (error) {
    return failedCheck(part.name, error);
  } finally {
    progress.stop();
  }
}

/** For a downloaded encrypted part: decrypting the local copy proves the sealed content is whole. */
async function checkDecrypts(path: string, part: PartInfo, unseal: Unseal): Promise<PartCheck> {
  try {
    await pipeline(createReadStream(path), unseal(), discard());
    return { name: `${part.name} (sealed content)`, ok: true, message: 'decrypts' };
  } catch (error) {
    return { name: `${part.name} (sealed content)`, ok: false, message: `does not decrypt: ${describeError(error)}` };
  }
}

/** The cheap check for parts not read this time: present, at the recorded size. */
async function checkPresence(storage: Storage, prefix: string, part: PartInfo): Promise<PartCheck> {
  const key = `${prefix}/${part.name}`;
  const info = await storage.stat(key);
  if (!info) return { name: part.name, ok: false, message: `missing: ${storage.uriOf(key)} does not exist` };
  if (info.size !== part.bytes) return { name: part.name, ok: false, message: `${info.size} bytes, its manifest records ${part.bytes}` };
  return { name: part.name, ok: true, message: `present at its recorded size (${part.bytes} bytes; not read this time)` };
}

/** checksums.sha256 is what `sha256sum -c` trusts: it must list exactly the parts the manifest lists, with the same digests. */
async function checkChecksumsFile(storage: Storage, prefix: string, parts: PartInfo[], checks: PartCheck[]): Promise<PartCheck[]> {
  const sums = parts.find((p) => p.role === 'checksums');
  if (!sums || sums.encrypted || !checks.find((c) => c.name === sums.name)?.ok) return [];
  let listed;
  try {
    listed = parseChecksums(await readText(storage, `${prefix}/${sums.name}`));
  } catch (error) {
    return [failedCheck(sums.name, error, 'unreadable: ')];
  }
  const out: PartCheck[] = [];
  for (const line of listed) {
    const p = parts.find((m) => m.name === line.name);
    if (!p || p.sha256 !== line.sha256) out.push({ name: `${sums.name}: ${line.name}`, ok: false, message: `${sums.name} disagrees with the manifest` });
  }
  for (const p of parts) {
    if (p.role === 'checksums' || p.role === 'manifest') continue;
    if (!listed.some((l) => l.name === p.name)) out.push({ name: `${sums.name}: ${p.name}`, ok: false, message: `${sums.name} does not list ${p.name}` });
  }
  return out;
}

/** Roles a drill reads anyway while restoring (their digests are checked there). */
const READ_BY_DRILL: ReadonlySet<string> = new Set(['database', 'files', 'file-list', 'redacted-data', 'manifest']);

/**
 * For a drill: reads every other part (checksums.sha256, roles.sql) through its
 * digest check and decryption, and checks checksums.sha256 against the
 * manifest. Never rejects: returns failures, each naming the object.
 */
export async function verifyOtherParts(storage: Storage, prefix: string, manifest: Manifest, decrypt: Decryptor): Promise<string[]> {
  const checks: PartCheck[] = [];
  for (const part of manifest.parts) {
    if (READ_BY_DRILL.has(part.role)) continue;
    try {
      await pipeline(await openPart(storage, prefix, part, decrypt), discard());
      checks.push({ name: part.name, ok: true, message: 'OK' });
    } catch (error) {
      if (isStorageOutage(error)) throw error; // the storage failed, not the backup: the drill says "could not verify" (exit 5)
      checks.push(failedCheck(part.name, error));
    }
  }
  try {
    checks.push(...(await checkChecksumsFile(storage, prefix, manifest.parts, checks)));
  } catch (error) {
    checks.push(failedCheck(BACKUP_PARTS.checksums, error));
  }
  // checksums.sha256 is read inside checkChecksumsFile, which reports an outage as an unreadable check.
  const unread = checks.find((c) => c.unreadable);
  if (unread) throw new StorageError(`Could not read ${unread.name}: ${unread.message}`);
  return checks.filter((c) => !c.ok).map((c) => `part ${c.name}: ${c.message}`);
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, callback) => callback() });
}

/** Writes verified.json for a backup read in full; a failure (read-only credentials) only warns. */
export async function recordMarker(storage: Storage, name: string, id: string, stored: StoredIndex, by: VerifiedMarker['by'], logger: Logger): Promise<void> {
  const marker: VerifiedMarker = {
    format: 'backup-drill-verified',
    by,
    at: new Date().toISOString(),
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    manifestDigest: storedDigest(stored),
  };
  try {
    await writeVerifiedMarker(storage, name, id, marker);
  } catch (error) {
    logger.warn(`Could not record that backup ${id} verified (read-only storage credentials?): ${describeError(error)}. Retention will read it again.`);
  }
}

/** Parses `--read-data-subset`: `N%` (0 < N ≤ 100). */
export function parseSubset(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  const percent = m ? Number(m[1]) : NaN;
  if (!(percent > 0 && percent <= 100)) {
    throw new UsageError(`Option '--read-data-subset' must be a percentage above 0 and at most 100, like '10%'; got '${value}'.`, {
      input: 'read-data-subset',
    });
  }
  return percent;
}

/**
 * Chooses about `percent` of the stored objects to read in full, by a hash of
 * the seed and the key: the same seed picks the same objects, and another seed
 * (each run draws one) picks others, so repeated runs cover the whole set.
 */
export function subsetSelector(percent: number, seed: string): (key: string) => boolean {
  return (key) => createHash('sha256').update(`${seed}\n${key}`).digest().readUInt32BE(0) / 2 ** 32 < percent / 100;
}

export interface VerifyAllResult {
  results: VerifyResult[];
  /** Complete backups that could not be verified at all (e.g. a manifest that does not verify), with why. */
  failed: Array<{ id: string; message: string }>;
  ok: boolean;
}

/** verify --all: every complete backup of the set (restic's `check --read-data`). */
export async function verifyAll(storage: Storage, name: string, options: VerifyOptions): Promise<VerifyAllResult> {
  const results: VerifyResult[] = [];
  const failed: VerifyAllResult['failed'] = [];
  for (const entry of (await listBackups(storage, name)).filter((e) => e.complete)) {
    try {
      results.push(await verifyBackup(storage, name, entry.id, options));
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      failed.push({ id: entry.id, message: describeError(error) });
    }
  }
  return { results, failed, ok: failed.length === 0 && results.every((r) => r.ok) };
}

export function assertVerified(result: VerifyResult): void {
  const bad = result.parts.filter((p) => !p.ok);
  if (bad.length) throw new IntegrityError(`Backup ${result.id} failed verification: ${bad.map((p) => `${p.name}: ${p.message}`).join('; ')}`);
}
