// Lists backups from storage alone (no local state). A backup is complete
// when its manifest.json exists; a complete backup whose manifest does not
// parse or verify, or whose parts are missing or of the wrong size, is damaged.
import { Readable } from 'node:stream';
import { BACKUP_PARTS } from '../constants.js';
import { IntegrityError, StorageError, UsageError, describeError } from '../errors.js';
import { isBackupId, timeOfBackupId } from '../archive/backup-id.js';
import { documentDigest } from '../archive/canonical-json.js';
import { checkIndexDigest, parseManifest, parseManifestOrIndex, SEALED_MANIFEST, type Manifest, type PartInfo, type SealedIndex } from '../archive/manifest.js';
import { makeDecryptor, readPartText } from '../archive/open-part.js';
import { needKeyError } from '../archive/seal.js';
import type { Transform } from 'node:stream';
import type { Storage } from './port.js';
import { readText } from './read.js';

export interface CatalogEntry {
  id: string;
  time: Date;
  complete: boolean;
  /** Sum of the sizes of every stored object of the backup. */
  sizeBytes: number;
  objects: string[];
  /** Size of each stored object, by key (from the listing: no extra request). */
  sizes: Map<string, number>;
}

/** A marker object written by a full read (verify, or a passed drill): `<name>/<id>/verified.json`. */
export const VERIFIED_MARKER = 'verified.json';

export interface VerifiedMarker {
  format: 'backup-drill-verified';
  /** What read the backup in full: `verify`, a passed `drill`, or `prune` (it reads the newest backup it keeps when nothing else has). */
  by: 'verify' | 'drill' | 'prune';
  at: string;
  tool: { name: string; version: string };
  /** Digest of manifest.json as it was read: a marker for another manifest does not count. */
  manifestDigest: string;
}

export async function listBackups(storage: Storage, name: string): Promise<CatalogEntry[]> {
  const byId = new Map<string, CatalogEntry>();
  const prefix = `${name}/`;
  for await (const object of storage.list(prefix)) {
    const rest = object.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash === -1) continue;
    const id = rest.slice(0, slash);
    if (!isBackupId(id)) continue;
    let entry = byId.get(id);
    if (!entry) {
      entry = { id, time: timeOfBackupId(id)!, complete: false, sizeBytes: 0, objects: [], sizes: new Map() };
      byId.set(id, entry);
    }
    entry.sizeBytes += object.size;
    entry.objects.push(object.key);
    entry.sizes.set(object.key, object.size);
    if (rest.slice(slash + 1) === BACKUP_PARTS.manifest) entry.complete = true;
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
}

/** Factory of decrypt streams for encrypted backups (from decrypt-identity / decrypt-passphrase). */
export type Unseal = () => Transform;

/** manifest.json as stored: the manifest, or an encrypted backup's public index. Its own digest is checked. */
export type StoredIndex = { manifest: Manifest } | { index: SealedIndex };

export async function readIndex(storage: Storage, name: string, id: string): Promise<StoredIndex> {
  const key = `${name}/${id}/${BACKUP_PARTS.manifest}`;
  return parseManifestOrIndex(await readText(storage, key, 64 * 1024 * 1024), storage.uriOf(key));
}

/** Every stored object a manifest.json vouches for (for an encrypted backup, the sealed manifest too). */
export function listedParts(stored: StoredIndex): PartInfo[] {
  return 'manifest' in stored ? stored.manifest.parts : stored.index.parts;
}

/** The digest that names this manifest.json (its own recorded one; computed for older formats). */
export function storedDigest(stored: StoredIndex): string {
  const doc = 'manifest' in stored ? stored.manifest : stored.index;
  return doc.digest?.value ?? documentDigest(doc);
}

/** The full manifest; for an encrypted backup, fetched from manifest.json.age (verified), decrypted, and checked against the index. */
export async function readManifest(storage: Storage, name: string, id: string, unseal?: Unseal, known?: StoredIndex): Promise<Manifest> {
  const stored = known ?? (await readIndex(storage, name, id));
  if ('manifest' in stored) return stored.manifest;
  if (!unseal) throw needKeyError(id, stored.index.encryption?.passphrase);
  const part = stored.index.parts.find((p) => p.name === SEALED_MANIFEST);
  if (!part)
    throw new IntegrityError(`Encrypted backup ${id} has no ${SEALED_MANIFEST} in its index ${storage.uriOf(`${name}/${id}/${BACKUP_PARTS.manifest}`)}.`);
  const text = await readPartText(storage, `${name}/${id}`, part, makeDecryptor(id, [part], unseal));
  const manifest = parseManifest(text, storage.uriOf(`${name}/${id}/${SEALED_MANIFEST}`));
  checkIndexDigest(manifest, stored.index, storage.uriOf(`${name}/${id}/${BACKUP_PARTS.manifest}`));
  return manifest;
}

export type BackupState =
  | { state: 'incomplete' }
  | { state: 'damaged'; reason: string }
  | {
      state: 'verified';
      manifestDigest: string;
      /** A verify or a passed drill recorded a full read of this very manifest (verified.json). */
      marker?: VerifiedMarker;
    };

/**
 * "Verified" for retention, from storage alone and without downloading parts:
 * manifest.json parses and matches its own digest, and every part it lists is
 * present at its recorded size. Storage errors propagate (we cannot tell).
 */
export async function assessBackup(storage: Storage, name: string, entry: CatalogEntry): Promise<BackupState> {
  if (!entry.complete) return { state: 'incomplete' };
  let stored: StoredIndex;
  try {
    stored = await readIndex(storage, name, entry.id);
  } catch (error) {
    if (error instanceof IntegrityError) return { state: 'damaged', reason: describeError(error) };
    throw error;
  }
  for (const part of listedParts(stored)) {
    const key = `${name}/${entry.id}/${part.name}`;
    const size = entry.sizes.get(key);
    if (size === undefined) return { state: 'damaged', reason: `part ${part.name} is missing (${storage.uriOf(key)})` };
    if (size !== part.bytes)
      return { state: 'damaged', reason: `part ${part.name} is ${size} bytes; its manifest records ${part.bytes} (${storage.uriOf(key)})` };
  }
  const manifestDigest = storedDigest(stored);
  const marker = await readVerifiedMarker(storage, name, entry);
  return { state: 'verified', manifestDigest, ...(marker && marker.manifestDigest === manifestDigest ? { marker } : {}) };
}

async function readVerifiedMarker(storage: Storage, name: string, entry: CatalogEntry): Promise<VerifiedMarker | undefined> {
  const key = `${name}/${entry.id}/${VERIFIED_MARKER}`;
  if (!entry.sizes.has(key)) return undefined;
  try {
    const data = JSON.parse(await readText(storage, key, 64 * 1024)) as Partial<VerifiedMarker>;
    return data.format === 'backup-drill-verified' && typeof data.manifestDigest === 'string' ? (data as VerifiedMarker) : undefined;
  } catch {
    return undefined; // an unreadable marker proves nothing; the backup is then read again
  }
}

/** Records that a backup was read in full and matched (by verify or a passed drill). */
export async function writeVerifiedMarker(storage: Storage, name: string, id: string, marker: VerifiedMarker): Promise<void> {
  await storage.put(`${name}/${id}/${VERIFIED_MARKER}`, Readable.from([`${JSON.stringify(marker, null, 2)}\n`]));
}

export interface Resolved {
  entry: CatalogEntry;
  stored: StoredIndex;
  /** Complete backups newer than the one chosen as `latest` whose manifest is damaged, with why. */
  damagedNewer: Array<{ id: string; reason: string }>;
}

/**
 * Resolves `latest` (the newest complete backup whose manifest.json parses and
 * matches its digest) or an id, without decrypting anything. Errors say what is
 * there instead: nothing, only incomplete or damaged backups, or the nearest ids.
 */
export async function resolveEntry(storage: Storage, name: string, wanted: string): Promise<Resolved> {
  const entries = await listBackups(storage, name);
  const where = storage.uriOf(name);
  if (entries.length === 0) {
    throw new StorageError(`No backups found under ${where}.`, {
      hint: "Check 'storage' and 'name' (they must match the backup job's), or run a backup first.",
    });
  }
  if (wanted === 'latest') {
    const damagedNewer: Resolved['damagedNewer'] = [];
    for (const entry of entries) {
      if (!entry.complete) continue;
      try {
        return { entry, stored: await readIndex(storage, name, entry.id), damagedNewer };
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        damagedNewer.push({ id: entry.id, reason: describeError(error) });
      }
    }
    if (damagedNewer.length) {
      throw new IntegrityError(
        `No complete backup under ${where} has a manifest that verifies: ${damagedNewer.map((d) => `${d.id}: ${d.reason}`).join('; ')}`,
        { hint: 'Every complete backup there is damaged; take a new backup and check the storage.' },
      );
    }
    throw new StorageError(
      `Only incomplete backups (no manifest) found under ${where}: ${entries
        .slice(0, 5)
        .map((e) => e.id)
        .join(', ')}.`,
      {
        hint: 'Every backup attempt there failed or is still running; check the backup job logs.',
      },
    );
  }
  const entry = entries.find((e) => e.id === wanted);
  if (!entry) {
    // Nearest in time when the id is well-formed, else the newest ones.
    const target = timeOfBackupId(wanted)?.getTime();
    const nearest = target === undefined ? entries : [...entries].sort((a, b) => Math.abs(a.time.getTime() - target) - Math.abs(b.time.getTime() - target));
    throw new UsageError(`Backup '${wanted}' not found under ${where}.`, {
      input: 'backup-id',
      hint: `${target === undefined ? 'Newest' : 'Nearest'} backups: ${nearest
        .slice(0, 5)
        .map((e) => e.id + (e.complete ? '' : ' (incomplete)'))
        .join(', ')}. Use 'latest' or one of these.`,
    });
  }
  if (!entry.complete) {
    throw new StorageError(`Backup ${wanted} is incomplete (it has no manifest): its run failed or is still going.`, {
      hint: 'Choose another backup, or latest.',
    });
  }
  return { entry, stored: await readIndex(storage, name, entry.id), damagedNewer: [] };
}

/** Resolves a backup (see resolveEntry) and reads its full manifest (decrypting it when sealed). */
export async function resolveBackup(storage: Storage, name: string, wanted: string, unseal?: Unseal): Promise<Resolved & { manifest: Manifest }> {
  const { entry, stored, damagedNewer } = await resolveEntry(storage, name, wanted);
  return { entry, stored, manifest: await readManifest(storage, name, entry.id, unseal, stored), damagedNewer };
}

/**
 * Deletes one backup, manifest first: an interrupted delete leaves an
 * incomplete backup (removed later by retention), never a "complete" one with parts missing.
 */
export async function deleteBackup(storage: Storage, entry: CatalogEntry): Promise<void> {
  const manifests = entry.objects.filter((k) => k.endsWith(`/${BACKUP_PARTS.manifest}`));
  await storage.delete(manifests);
  await storage.delete(entry.objects.filter((k) => !manifests.includes(k)));
}
