// Trend markers in a backup's folder, next to verified.json: `suspect.json`
// (the trend guard flagged it) and `accepted.json` (an operator or a drill with
// accept-shrink said the drop was deliberate). Like run records they are
// mutable objects outside the every-object-digested rule (docs/FORMAT.md).
import { Readable } from 'node:stream';
import type { CatalogEntry } from '../storage/catalog.js';
import type { Storage } from '../storage/port.js';
import { readText } from '../storage/read.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

export const SUSPECT_MARKER = 'suspect.json';
export const ACCEPTED_MARKER = 'accepted.json';

export interface SuspectMarker {
  format: 'backup-drill-suspect';
  at: string;
  by: 'backup' | 'drill';
  reasons: string[];
  tool: string;
}

export interface AcceptedMarker {
  format: 'backup-drill-accepted';
  at: string;
  by: 'accept' | 'drill';
  /** Who accepted: the GitHub run or host/user. */
  holder: string;
  tool: string;
}

/** Suspect and not accepted: left out of the trend baseline, and retention keeps the last good backup before it. */
export function isSuspect(entry: CatalogEntry, name: string): boolean {
  return entry.sizes.has(`${name}/${entry.id}/${SUSPECT_MARKER}`) && !isAccepted(entry, name);
}

export function isAccepted(entry: CatalogEntry, name: string): boolean {
  return entry.sizes.has(`${name}/${entry.id}/${ACCEPTED_MARKER}`);
}

async function put(storage: Storage, key: string, value: unknown): Promise<void> {
  await storage.put(key, Readable.from([`${JSON.stringify(value, null, 2)}\n`]));
}

export async function writeSuspectMarker(storage: Storage, name: string, id: string, by: SuspectMarker['by'], reasons: string[]): Promise<void> {
  const marker: SuspectMarker = { format: 'backup-drill-suspect', at: new Date().toISOString(), by, reasons, tool: `${TOOL_NAME} ${TOOL_VERSION}` };
  await put(storage, `${name}/${id}/${SUSPECT_MARKER}`, marker);
}

export async function writeAcceptedMarker(storage: Storage, name: string, id: string, by: AcceptedMarker['by'], holder: string): Promise<void> {
  const marker: AcceptedMarker = { format: 'backup-drill-accepted', at: new Date().toISOString(), by, holder, tool: `${TOOL_NAME} ${TOOL_VERSION}` };
  await put(storage, `${name}/${id}/${ACCEPTED_MARKER}`, marker);
}

export async function readSuspectReasons(storage: Storage, name: string, id: string): Promise<string[]> {
  try {
    const data = JSON.parse(await readText(storage, `${name}/${id}/${SUSPECT_MARKER}`, 1024 * 1024)) as Partial<SuspectMarker>;
    return Array.isArray(data.reasons) ? data.reasons.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return ['marked suspect (its marker could not be read)'];
  }
}
