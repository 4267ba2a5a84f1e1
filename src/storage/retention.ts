// GFS retention with restic's `forget --keep-*` semantics, as pure logic: the
// caller lists and assesses backups, calls planRetention, and deletes what it
// says to delete. Only verified backups count toward keep-* rules: a damaged
// one never takes the place of a good one, and is removed only on request.
import { UsageError } from '../errors.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

export interface BackupRef {
  id: string;
  time: Date;
  /** True when manifest.json exists (it is written last). */
  complete: boolean;
  /** Set when the backup is complete but damaged (manifest does not verify, a part missing or of the wrong size): why. */
  damaged?: string;
  /** The trend guard flagged it (suspect.json) and nobody accepted it. */
  suspect?: boolean;
}

export interface RetentionOptions {
  now: Date;
  incompleteGraceSeconds?: number;
  /** Remove damaged backups too (prune --damaged); otherwise they are kept and reported. */
  pruneDamaged?: boolean;
}

export interface RetentionDecision {
  id: string;
  keep: boolean;
  /** Why it is kept, e.g. ['last 3', 'daily 2026-11-23'], or why it is removed. */
  reasons: string[];
}

export const DEFAULT_INCOMPLETE_GRACE_SECONDS = 24 * 3600;

const POLICY_INPUTS: ReadonlyArray<[keyof RetentionPolicy, string]> = [
  ['keepLast', 'keep-last'],
  ['keepDaily', 'keep-daily'],
  ['keepWeekly', 'keep-weekly'],
  ['keepMonthly', 'keep-monthly'],
];

/** True when at least one keep-* input is set (even to 0); false means "do not prune". */
export function hasRetention(policy: RetentionPolicy): boolean {
  return POLICY_INPUTS.some(([field]) => policy[field] !== undefined);
}

/**
 * Rejects policies that cannot be meant: negative or fractional counts, and
 * counts that are all 0 (restic refuses those too, rather than delete everything
 * but the newest). An empty policy is valid: it means no retention.
 */
export function validatePolicy(policy: RetentionPolicy): void {
  for (const [field, input] of POLICY_INPUTS) {
    const value = policy[field];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new UsageError(`Input '${input}' must be a whole number of 0 or more, got '${value}'.`, { input });
    }
  }
  if (!hasRetention(policy)) return;
  if (POLICY_INPUTS.every(([field]) => !policy[field])) {
    const set = POLICY_INPUTS.filter(([field]) => policy[field] !== undefined).map(([, input]) => input);
    throw new UsageError(`Retention inputs ${set.map((i) => `'${i}'`).join(', ')} are all 0: that policy would keep nothing.`, {
      input: set[0],
      hint: "Set at least one of 'keep-last', 'keep-daily', 'keep-weekly' or 'keep-monthly' above 0, or leave them all empty to keep every backup.",
    });
  }
}

export function planRetention(backups: BackupRef[], policy: RetentionPolicy, options: RetentionOptions): RetentionDecision[] {
  validatePolicy(policy);
  const graceMs = (options.incompleteGraceSeconds ?? DEFAULT_INCOMPLETE_GRACE_SECONDS) * 1000;
  const dated = sortNewestFirst(backups.filter((b) => isValidDate(b.time)));
  const verified = dated.filter((b) => b.complete && b.damaged === undefined);
  const verifiedReasons = hasRetention(policy) ? policyReasons(verified, policy) : keepAll(verified);
  // Whatever the policy says, never leave the set without a restorable backup.
  if (verified.length > 0) verifiedReasons.get(verified[0]!.id)!.unshift('newest verified');
  // A suspect backup (a mass delete, ransomware) must not rotate away the last good one before it.
  const lastGood = lastGoodBeforeSuspect(verified);
  if (lastGood) verifiedReasons.get(lastGood.backup.id)!.push(`last good before suspect ${lastGood.suspectId}`);

  const decisions = dated.map((b): RetentionDecision => {
    if (!b.complete) return incompleteDecision(b, options.now, graceMs);
    if (b.damaged !== undefined) return damagedDecision(b.damaged, b.id, options.pruneDamaged ?? false);
    const reasons = verifiedReasons.get(b.id)!;
    return reasons.length > 0 ? { id: b.id, keep: true, reasons } : { id: b.id, keep: false, reasons: ['matched no keep rule'] };
  });
  // A backup whose time we cannot read is never deleted: we cannot tell how old it is.
  const undated = backups.filter((b) => !isValidDate(b.time)).map((b) => ({ id: b.id, keep: true, reasons: ['time unknown'] }));
  return [...decisions, ...undated];
}

/** The newest non-suspect backup older than the oldest unaccepted suspect one (`verified` is newest first). */
function lastGoodBeforeSuspect(verified: BackupRef[]): { backup: BackupRef; suspectId: string } | undefined {
  const firstSuspect = verified.findLastIndex((b) => b.suspect);
  if (firstSuspect === -1) return undefined;
  const good = verified.slice(firstSuspect + 1).find((b) => !b.suspect);
  return good ? { backup: good, suspectId: verified[firstSuspect]!.id } : undefined;
}

function isValidDate(d: Date): boolean {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

/** Newest first; ties broken by id, which sorts chronologically. */
function sortNewestFirst(backups: BackupRef[]): BackupRef[] {
  return [...backups].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function keepAll(verified: BackupRef[]): Map<string, string[]> {
  return new Map(verified.map((b) => [b.id, ['no retention policy']]));
}

interface BucketRule {
  label: string;
  count: number;
  bucketOf: (time: Date) => string;
}

/**
 * restic's algorithm: walk newest to oldest; each rule keeps a backup when its
 * bucket differs from the previous kept one, until it has kept `count`. So the
 * newest backup of each of the N most recent buckets *that have backups* is kept.
 */
function policyReasons(verified: BackupRef[], policy: RetentionPolicy): Map<string, string[]> {
  const rules: BucketRule[] = [
    { label: 'daily', count: policy.keepDaily ?? 0, bucketOf: utcDay },
    { label: 'weekly', count: policy.keepWeekly ?? 0, bucketOf: isoWeek },
    { label: 'monthly', count: policy.keepMonthly ?? 0, bucketOf: utcMonth },
  ];
  const lastBucket = new Map<string, string>();
  const reasons = new Map<string, string[]>();
  verified.forEach((backup, index) => {
    const why: string[] = [];
    if (index < (policy.keepLast ?? 0)) why.push(`last ${policy.keepLast}`);
    for (const rule of rules) {
      const bucket = rule.bucketOf(backup.time);
      if (rule.count > 0 && lastBucket.get(rule.label) !== bucket) {
        why.push(`${rule.label} ${bucket}`);
        lastBucket.set(rule.label, bucket);
        rule.count--;
      }
    }
    reasons.set(backup.id, why);
  });
  return reasons;
}

/** A damaged backup never counts toward a keep rule; it goes only when asked (prune --damaged, delete). */
function damagedDecision(why: string, id: string, remove: boolean): RetentionDecision {
  return remove
    ? { id, keep: false, reasons: [`damaged (prune --damaged): ${why}`] }
    : { id, keep: true, reasons: [`damaged, counts toward no keep rule (remove with prune --damaged or delete): ${why}`] };
}

/** A backup without a manifest may be a run still uploading: only old ones are removed. */
function incompleteDecision(backup: BackupRef, now: Date, graceMs: number): RetentionDecision {
  const ageMs = now.getTime() - backup.time.getTime();
  return ageMs > graceMs
    ? { id: backup.id, keep: false, reasons: ['incomplete, older than grace period'] }
    : { id: backup.id, keep: true, reasons: ['incomplete, may be in progress'] };
}

export function utcDay(time: Date): string {
  return time.toISOString().slice(0, 10);
}

export function utcMonth(time: Date): string {
  return time.toISOString().slice(0, 7);
}

/** ISO 8601 week, e.g. '2026-W48': weeks start Monday, and belong to the year of their Thursday. */
export function isoWeek(time: Date): string {
  const thursday = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const weekday = thursday.getUTCDay() || 7;
  thursday.setUTCDate(thursday.getUTCDate() + 4 - weekday);
  const year = thursday.getUTCFullYear();
  const week = Math.ceil(((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
