// Differences that a change of PostgreSQL major explains, documented one by one. A rehearsal
// difference is "explained by the major change" only when an entry here matches it; everything
// else is reported as unexplained (and fails the drill with rehearse-must-pass). Each entry
// cites the release notes of the major that made the change.
import type { RehearsalDifference } from './types.js';

export interface MajorChange {
  /** The first major with the change: it applies when the source is older and the rehearsal target is this or newer. */
  since: number;
  /** Which differences it covers: the difference type and patterns on its object and message. */
  type: RehearsalDifference['type'];
  object?: RegExp;
  message?: RegExp;
  /** What changed, for the report. */
  explanation: string;
}

export const MAJOR_CHANGES: readonly MajorChange[] = [
  {
    since: 14,
    type: 'restore-error',
    message: /postfix operators are not supported/i,
    explanation:
      'PostgreSQL 14 removed postfix (right-unary) operators (release notes 14, E.x "Remove support for postfix operators"): drop or rewrite them before upgrading.',
  },
  {
    since: 14,
    type: 'restore-error',
    message: /function array_(append|prepend|cat)\(any(array|element), any(array|element)\) does not exist|function array_position\(anyarray, anyelement/i,
    explanation:
      'PostgreSQL 14 changed array_append, array_prepend, array_cat, array_position and array_remove to anycompatible arguments: user-defined aggregates or operators over them must be recreated with the new signatures.',
  },
  {
    since: 15,
    type: 'object',
    object: /^owners-privileges|schema public/i,
    message: /public/i,
    explanation:
      'PostgreSQL 15 made the public schema owned by pg_database_owner and revoked CREATE on it from PUBLIC: the public schema’s owner and privileges differ unless set explicitly.',
  },
  {
    since: 16,
    type: 'restore-error',
    message: /vacuum_defer_cleanup_age|promote_trigger_file/i,
    explanation: 'PostgreSQL 16 removed the vacuum_defer_cleanup_age and promote_trigger_file settings: remove them from ALTER … SET and configuration.',
  },
  {
    since: 17,
    type: 'extension-missing',
    object: /^extension (adminpack|old_snapshot)$/,
    explanation: 'PostgreSQL 17 removed the adminpack and old_snapshot extensions (release notes 17): drop them before upgrading.',
  },
  {
    since: 17,
    type: 'restore-error',
    object: /^extension (adminpack|old_snapshot)$/,
    explanation: 'PostgreSQL 17 removed the adminpack and old_snapshot extensions (release notes 17): drop them before upgrading.',
  },
  {
    since: 17,
    type: 'restore-error',
    message: /old_snapshot_threshold/i,
    explanation: 'PostgreSQL 17 removed the old_snapshot_threshold setting.',
  },
  {
    since: 17,
    type: 'restore-error',
    message: /db_user_namespace/i,
    explanation: 'PostgreSQL 17 removed the db_user_namespace setting.',
  },
];

/** The documented change that explains `d` for a rehearsal from `sourceMajor` to `targetMajor`, if any. */
export function explain(d: RehearsalDifference, sourceMajor: number, targetMajor: number): string | undefined {
  for (const c of MAJOR_CHANGES) {
    if (!(sourceMajor < c.since && targetMajor >= c.since)) continue;
    if (c.type !== d.type) continue;
    if (c.object && !c.object.test(d.object)) continue;
    if (c.message && !c.message.test(d.message)) continue;
    return c.explanation;
  }
  return undefined;
}
