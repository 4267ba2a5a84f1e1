// The result of a drill (and of a restore's verification), as reported in the
// job summary, the JSON report and the JUnit report.
import type { RehearsalResult } from '../rehearse/types.js';

export type { RehearsalResult, RehearsalDifference } from '../rehearse/types.js';

export type Status = 'passed' | 'failed' | 'not-verified' | 'error' | 'skipped';

export interface TableResult {
  schema: string;
  name: string;
  expectedRows: number;
  restoredRows: number | null; // null: table missing after restore
  expectedChecksum: string;
  restoredChecksum: string | null;
  status: Status; // passed | failed | not-verified (a format 1-2 checksum a restore legitimately changes)
  message?: string;
  /** Columns left out of the comparison, each "column: not verifiable: <type> loses precision through pg_dump"; neither pass nor fail. */
  notVerifiable?: string[];
}

export interface FilesResult {
  status: Status; // passed | failed | skipped (backup has no files)
  expectedCount: number;
  restoredCount: number;
  expectedBytes: number;
  restoredBytes: number;
  /** Up to a few dozen problems: missing, unexpected or changed files. */
  problems: string[];
}

export interface CheckResult {
  name: string;
  kind: 'sql' | 'login' | 'freshness' | 'integrity' | 'restore' | 'trend';
  status: Status;
  message: string;
  durationMs: number;
}

/** How an object beyond tables fared: never "passed" for what could not be reproduced or was not compared. */
export type ObjectStatus = 'passed' | 'failed' | 'not-verifiable' | 'not-compared';

/** One compared kind of object (large objects, sequences, a materialized view, a structure kind, …). */
export interface ObjectResult {
  /** large-objects | sequences | extension-config | materialized-view | structure | owners-privileges | not-verifiable */
  kind: string;
  /** What was compared: the structure kind ("indexes"), the view or table (`schema.name`), or the object not verifiable. */
  name: string;
  status: ObjectStatus;
  message: string;
}

export interface DrillReport {
  kind: 'restore-drill' | 'restore';
  status: 'passed' | 'failed';
  /** Trend guard (drills): the backup against the previous good ones. `suspect` with no other failure → exit 11. */
  trend?: { verdict: 'ok' | 'suspect'; accepted: boolean; reasons: string[]; warnings: string[]; deltas: string[]; baseline: string[] };
  backupId: string;
  backupName: string;
  backupUri: string;
  backupTakenAt: string;
  backupAgeSeconds: number;
  sourceServerVersion: string;
  drillServerVersion: string;
  startedAt: string;
  finishedAt: string;
  timings: { downloadSeconds: number; restoreSeconds: number; verifySeconds: number; totalSeconds: number };
  tables: TableResult[];
  /** Tables present after the restore that the manifest does not list. */
  unexpectedTables: string[];
  files: FilesResult;
  checks: CheckResult[];
  /** Large objects, sequences, extension configuration rows, materialized views and structure (format 3 backups). */
  objects?: ObjectResult[];
  /** Upgrade rehearsal (rehearse-major): the same backup restored on another major, its differences. */
  rehearsal?: RehearsalResult;
  totals: { tables: number; rows: number; failedTables: number; failedChecks: number; notVerified: number };
  /** Why the drill failed, in one line each (empty when passed). */
  failures: string[];
  warnings: string[];
}
