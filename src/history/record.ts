// Run records: one small JSON object per backup, drill or restore, under
// `<name>/runs/<run-id>.json`. Written when the run starts, refreshed while it
// runs (like the lock), completed when it ends. `runs` is not a backup id, so
// the catalog, verify, list and prune never see these objects as backups.
//
// Records are mutable (rewritten by their run), outside the every-object-
// digested rule of backups (docs/FORMAT.md). In an encrypted backup set the
// status, times, sizes and error category stay public; everything else (who
// ran it, the error's message, digests, row counts) is sealed with age.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import type { ErrorCategory } from '../errors.js';
import { joinKey, type Storage } from '../storage/port.js';
import { readText } from '../storage/read.js';
import { processAlive } from '../util/process.js';

export type RunMode = 'backup' | 'restore-drill' | 'restore';
/** `interrupted` is written on SIGINT/SIGTERM, and inferred for a record whose run stopped refreshing it. */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'suspect' | 'timed-out' | 'interrupted';

/** What is sealed in an encrypted set (plain in others). */
export interface RunDetails {
  trigger?: { kind: 'cli' | 'github'; runUrl?: string; actor?: string; event?: string; workflow?: string; host?: string; user?: string };
  errorMessage?: string;
  manifestDigest?: string;
  parts?: Array<{ name: string; bytes: number; sha256: string }>;
  rows?: number;
  tables?: number;
  /** Rows per table (`schema.table`), for the trend guard. */
  tableRows?: Record<string, number>;
  /** The drill's failures and warnings (first few). */
  failures?: string[];
  warnings?: string[];
  /** Deltas against the trailing median, as shown in messages. */
  trend?: { verdict: 'ok' | 'suspect'; reasons: string[]; warnings: string[]; baseline: string[] };
}

export interface RunRecord {
  format: 'backup-drill-run';
  formatVersion: 1;
  id: string;
  name: string;
  mode: RunMode;
  status: RunStatus;
  startedAt: string;
  /** Last refresh while running; a record not refreshed for long belongs to a dead run. */
  refreshedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  /** Host and pid: a running record of a dead process on this host is interrupted at once. */
  host: string;
  pid: number;
  tool: string;
  backupId?: string;
  sizeBytes?: number;
  /** Drills: fetch + restore + verify seconds. */
  timeToRestoreSeconds?: number;
  exitCode?: number;
  error?: { category: ErrorCategory };
  /** The backup was marked suspect by the trend guard (backups), or the drilled one was (drills). */
  suspect?: boolean;
  /** Plain details (unencrypted sets). */
  details?: RunDetails;
  /** Sealed details (encrypted sets): base64 of an age file holding RunDetails as JSON. */
  sealed?: string;
}

export const RUNS_FOLDER = 'runs';
/** A running record not refreshed for this long is shown as interrupted. */
export const RECORD_STALE_AFTER_SECONDS = 5 * 60;
export const RECORD_REFRESH_EVERY_SECONDS = 60;

export function runsPrefix(name: string): string {
  return `${joinKey(name, RUNS_FOLDER)}/`;
}

export function recordKey(name: string, id: string): string {
  return `${runsPrefix(name)}${id}.json`;
}

/** Sorts by start time: `20261202T110630123Z-1a2b3c4d`. */
export function newRunId(started: Date): string {
  return `${started.toISOString().replace(/[-:]/g, '').replace('.', '')}-${randomBytes(4).toString('hex')}`;
}

const RUN_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-[0-9a-f]{8}$/;

export function timeOfRunId(id: string): Date | undefined {
  const m = RUN_ID.exec(id);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
}

export function newRecord(name: string, mode: RunMode, started: Date, tool: string): RunRecord {
  return {
    format: 'backup-drill-run',
    formatVersion: 1,
    id: newRunId(started),
    name,
    mode,
    status: 'running',
    startedAt: started.toISOString(),
    refreshedAt: started.toISOString(),
    host: hostname(),
    pid: process.pid,
    tool,
  };
}

export async function writeRecord(storage: Storage, record: RunRecord): Promise<void> {
  await storage.put(recordKey(record.name, record.id), Readable.from([`${JSON.stringify(record, null, 2)}\n`]));
}

/** A record as stored, or undefined when it is not a run record (unreadable, another format). */
export function parseRecord(text: string): RunRecord | undefined {
  try {
    const data = JSON.parse(text) as Partial<RunRecord>;
    if (data.format !== 'backup-drill-run' || typeof data.id !== 'string' || typeof data.status !== 'string') return undefined;
    return data as RunRecord;
  } catch {
    return undefined;
  }
}

/**
 * What a record says now: a `running` record whose run is gone (its process died on this
 * host, or it has not been refreshed for RECORD_STALE_AFTER_SECONDS) is `interrupted`.
 */
export function effectiveStatus(record: RunRecord, now: Date, staleAfterSeconds = RECORD_STALE_AFTER_SECONDS): RunStatus {
  if (record.status !== 'running') return record.status;
  if (record.host === hostname() && !processAlive(record.pid)) return 'interrupted';
  const refreshed = Date.parse(record.refreshedAt);
  if (Number.isNaN(refreshed) || now.getTime() - refreshed > staleAfterSeconds * 1000) return 'interrupted';
  return 'running';
}

export interface ListedRecord {
  key: string;
  record: RunRecord;
}

/** Run records of a set, newest first; at most `limit` are read (ids sort by start time), 16 at a time. */
export async function listRecords(storage: Storage, name: string, limit = Number.POSITIVE_INFINITY): Promise<ListedRecord[]> {
  const keys: string[] = [];
  for await (const object of storage.list(runsPrefix(name))) if (object.key.endsWith('.json')) keys.push(object.key);
  keys.sort().reverse();
  const wanted = keys.slice(0, Math.min(keys.length, limit));
  const found: Array<ListedRecord | undefined> = new Array(wanted.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < wanted.length; i = next++) {
      try {
        const record = parseRecord(await readText(storage, wanted[i]!, 4 * 1024 * 1024));
        if (record) found[i] = { key: wanted[i]!, record };
      } catch {
        // removed by retention meanwhile, or unreadable: not a record we can show
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, wanted.length) }, worker));
  return found.filter((r): r is ListedRecord => r !== undefined);
}

/** Keys of records started more than `months` months before `now` (record retention). */
export async function expiredRecordKeys(storage: Storage, name: string, months: number, now: Date): Promise<string[]> {
  const cutoff = new Date(now);
  cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
  const expired: string[] = [];
  for await (const object of storage.list(runsPrefix(name))) {
    const id = object.key.slice(runsPrefix(name).length).replace(/\.json$/, '');
    const time = timeOfRunId(id);
    if (time && time < cutoff) expired.push(object.key);
  }
  return expired;
}
