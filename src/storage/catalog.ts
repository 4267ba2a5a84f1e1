// Lists backups from storage alone (no local state). A backup is complete
// when its manifest.json exists and parses; anything else is incomplete.
import { BACKUP_PARTS } from '../constants.js';
import { StorageError, UsageError } from '../errors.js';
import { isBackupId, timeOfBackupId } from '../archive/backup-id.js';
import { parseManifest, parseManifestOrIndex, SEALED_MANIFEST, type Manifest, type SealedIndex } from '../archive/manifest.js';
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
      entry = { id, time: timeOfBackupId(id)!, complete: false, sizeBytes: 0, objects: [] };
      byId.set(id, entry);
    }
    entry.sizeBytes += object.size;
    entry.objects.push(object.key);
    if (rest.slice(slash + 1) === BACKUP_PARTS.manifest) entry.complete = true;
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
}

/** Factory of decrypt streams for encrypted backups (from decrypt-identity / decrypt-passphrase). */
export type Unseal = () => Transform;

/** manifest.json as stored: the manifest, or an encrypted backup's public index. */
export async function readIndex(storage: Storage, name: string, id: string): Promise<{ manifest: Manifest } | { index: SealedIndex }> {
  const key = `${name}/${id}/${BACKUP_PARTS.manifest}`;
  return parseManifestOrIndex(await readText(storage, key, 64 * 1024 * 1024), storage.uriOf(key));
}

/** The full manifest; for an encrypted backup, fetched from manifest.json.age (verified) and decrypted. */
export async function readManifest(storage: Storage, name: string, id: string, unseal?: Unseal): Promise<Manifest> {
  const stored = await readIndex(storage, name, id);
  if ('manifest' in stored) return stored.manifest;
  if (!unseal) throw needKeyError(id, stored.index.encryption?.passphrase);
  const part = stored.index.parts.find((p) => p.name === SEALED_MANIFEST);
  if (!part) throw new StorageError(`Encrypted backup ${id} has no ${SEALED_MANIFEST} in its index.`);
  const text = await readPartText(storage, `${name}/${id}`, part, makeDecryptor(id, [part], unseal));
  return parseManifest(text, storage.uriOf(`${name}/${id}/${SEALED_MANIFEST}`));
}

/**
 * Resolves `latest` (newest complete backup whose manifest parses) or an id.
 * Errors say what is there instead: nothing, only incomplete backups, or the nearest ids.
 */
export async function resolveBackup(storage: Storage, name: string, wanted: string, unseal?: Unseal): Promise<{ entry: CatalogEntry; manifest: Manifest }> {
  const entries = await listBackups(storage, name);
  const where = storage.uriOf(name);
  if (entries.length === 0) {
    throw new StorageError(`No backups found under ${where}.`, {
      hint: "Check 'storage' and 'name' (they must match the backup job's), or run a backup first.",
    });
  }
  if (wanted === 'latest') {
    for (const entry of entries) {
      if (!entry.complete) continue;
      return { entry, manifest: await readManifest(storage, name, entry.id, unseal) };
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
  return { entry, manifest: await readManifest(storage, name, entry.id, unseal) };
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
