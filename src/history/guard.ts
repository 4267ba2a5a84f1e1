// Where the trend guard meets the modes. A backup compares itself with the
// previous good backups (public data only when the set is encrypted: stored
// size; rows and tables are sealed) and, when suspect, leaves suspect.json in
// its folder and warns. A drill (which has the key) compares rows per table too,
// and fails with the suspect outcome unless the shrink was accepted.
import type { Config } from '../config.js';
import { describeError } from '../errors.js';
import type { Manifest } from '../archive/manifest.js';
import { listBackups, type CatalogEntry, type Unseal } from '../storage/catalog.js';
import type { Storage } from '../storage/port.js';
import type { Logger } from '../util/logger.js';
import { previousSamples, sampleOfManifest } from './baseline.js';
import { isAccepted, readSuspectReasons, writeSuspectMarker, SUSPECT_MARKER } from './markers.js';
import { assessTrend, type TrendVerdict } from './trend.js';

export async function guardBackup(
  storage: Storage,
  config: Pick<Config, 'name' | 'trend' | 'encryption'>,
  taken: { id: string; manifest: Manifest; sizeBytes: number },
  logger: Logger,
): Promise<TrendVerdict | undefined> {
  try {
    const entries = await listBackups(storage, config.name);
    const previous = await previousSamples(storage, config.name, entries, taken.id);
    const encrypted = Boolean(config.encryption.recipients.length || config.encryption.passphrase);
    // Encrypted: the previous backups' rows are sealed, so only stored sizes compare (public data).
    const current = encrypted ? { id: taken.id, sizeBytes: taken.sizeBytes } : sampleOfManifest(taken.manifest, taken.sizeBytes);
    const trend = assessTrend(current, previous, config.trend);
    for (const delta of trend.deltas) logger.info(`Trend: ${delta}`);
    for (const warning of trend.warnings) logger.warn(`Trend: ${warning}`);
    if (trend.verdict === 'suspect') {
      logger.warn(
        `Backup ${taken.id} is SUSPECT: ${trend.reasons.join('; ')}. It is left out of later baselines and retention keeps the last good backup before it; ` +
          `if the drop was deliberate, run 'backup-drill accept ${taken.id}' (or a drill with accept-shrink).`,
      );
      await writeSuspectMarker(storage, config.name, taken.id, 'backup', trend.reasons).catch((error: unknown) =>
        logger.warn(`Could not write ${SUSPECT_MARKER} for ${taken.id} (read-only storage credentials?): ${describeError(error)}`),
      );
    }
    return trend;
  } catch (error) {
    logger.warn(`The trend guard could not run: ${describeError(error)}`);
    return undefined;
  }
}

export interface DrillTrend extends TrendVerdict {
  /** The backup was accepted (marker) or the drill accepts it (accept-shrink). */
  accepted: boolean;
}

/** The drilled backup against the good backups before it, with rows per table (the drill has the key). */
export async function guardDrilledBackup(
  storage: Storage,
  config: Pick<Config, 'name' | 'trend'>,
  entry: CatalogEntry,
  manifest: Manifest,
  sizeBytes: number,
  unseal: Unseal | undefined,
): Promise<DrillTrend> {
  const entries = await listBackups(storage, config.name);
  const previous = await previousSamples(storage, config.name, entries, entry.id, unseal);
  const trend = assessTrend(sampleOfManifest(manifest, sizeBytes), previous, config.trend);
  const current = entries.find((e) => e.id === entry.id) ?? entry;
  if (current.sizes.has(`${config.name}/${entry.id}/${SUSPECT_MARKER}`) && trend.verdict === 'ok') {
    // Marked at backup time (on public data): that stands until accepted.
    trend.verdict = 'suspect';
    trend.reasons.push(...(await readSuspectReasons(storage, config.name, entry.id)).map((r) => `at backup time: ${r}`));
  }
  return { ...trend, accepted: isAccepted(current, config.name) || config.trend.acceptShrink };
}
