// The previous good backups of a set, as trend samples: stored size from the
// public manifest.json (index), rows per table from the full manifest when it
// can be read (unencrypted, or a drill with the key). Suspect backups that
// nobody accepted are left out, and so are damaged ones.
import { IntegrityError } from '../errors.js';
import { readIndex, readManifest, listedParts, type CatalogEntry, type Unseal } from '../storage/catalog.js';
import type { Manifest } from '../archive/manifest.js';
import type { Storage } from '../storage/port.js';
import { isSuspect } from './markers.js';
import { TREND_WINDOW, type TrendSample } from './trend.js';
import { dumpCompressionOf, type DumpCompression } from '../archive/codec.js';

/** `zstd:1`, `gzip:6`: stored sizes compare only between backups with the same key. */
const compressionKey = (c: DumpCompression) => `${c.codec}:${c.level}`;

export function sampleOfManifest(manifest: Manifest, sizeBytes: number): TrendSample {
  return {
    id: manifest.id,
    sizeBytes,
    rows: manifest.totals.rows,
    tables: Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.name}`, t.rows])),
    compression: compressionKey(dumpCompressionOf(manifest.dump)),
  };
}

/** Up to TREND_WINDOW samples older than `beforeId`, newest first. */
export async function previousSamples(storage: Storage, name: string, entries: CatalogEntry[], beforeId: string, unseal?: Unseal): Promise<TrendSample[]> {
  const samples: TrendSample[] = [];
  for (const entry of entries) {
    if (samples.length >= TREND_WINDOW) break;
    if (!entry.complete || entry.id >= beforeId || isSuspect(entry, name)) continue;
    try {
      const stored = await readIndex(storage, name, entry.id);
      const sizeBytes = listedParts(stored).reduce((sum, p) => sum + p.bytes, 0);
      if ('manifest' in stored) samples.push(sampleOfManifest(stored.manifest, sizeBytes));
      else if (unseal) samples.push(sampleOfManifest(await readManifest(storage, name, entry.id, unseal, stored), sizeBytes));
      else samples.push({ id: entry.id, sizeBytes });
    } catch (error) {
      if (error instanceof IntegrityError) continue; // damaged: no baseline
      throw error;
    }
  }
  return samples;
}
