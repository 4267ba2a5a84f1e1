// Deadlines for every network operation, set once from the inputs `connect-timeout`
// and `storage-timeout` (config.ts) and read by the S3 client and the PostgreSQL
// connections. A module setting rather than a parameter: connections are opened
// in many places, and the values are the same for the whole run.

export interface Deadlines {
  /** Opening a TCP/TLS connection (S3, PostgreSQL). */
  connectMs: number;
  /** One storage request with no progress (no bytes either way) for this long fails. */
  idleMs: number;
}

export const DEFAULT_DEADLINES: Readonly<Deadlines> = { connectMs: 30_000, idleMs: 120_000 };

let current: Deadlines = { ...DEFAULT_DEADLINES };

export function setDeadlines(next: Partial<Deadlines>): void {
  current = { ...current, ...next };
}

export function deadlines(): Readonly<Deadlines> {
  return current;
}
