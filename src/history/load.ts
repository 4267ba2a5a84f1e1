// Reads the history of a set: records newest first, sealed details opened when a key fits.
import type { Config } from '../config.js';
import type { Storage } from '../storage/port.js';
import { listRecords } from './record.js';
import { openDetails, readingKeys } from './seal.js';
import { historyRow, type HistoryRow } from './view.js';

export async function loadHistory(storage: Storage, config: Pick<Config, 'name' | 'encryption'>, limit: number, now = new Date()): Promise<HistoryRow[]> {
  const keys = readingKeys(config);
  const rows: HistoryRow[] = [];
  for (const { record } of await listRecords(storage, config.name, limit)) {
    const details = record.sealed && keys ? await openDetails(record.sealed, keys) : undefined;
    rows.push(historyRow(record, now, details));
  }
  return rows;
}
