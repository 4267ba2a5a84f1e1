// The upgrade rehearsal's report section.

export interface RehearsalDifference {
  /** What differs: `table public.users`, `extension adminpack`, `structure indexes`, `database`. */
  object: string;
  type: 'restore-error' | 'extension-missing' | 'table' | 'object' | 'not-run';
  message: string;
  /** Set when a documented major change (src/rehearse/explained.ts) accounts for it. */
  explainedBy?: string;
}

export interface RehearsalResult {
  /** The major rehearsed (`rehearse-major`, or the newest found for `latest`). */
  major: number;
  sourceMajor: number;
  serverVersion: string;
  /** passed: restores and verifies alike; differences: some unexplained; explained: only explained ones; not-run: no server of that major. */
  status: 'passed' | 'explained' | 'differences' | 'not-run';
  differences: RehearsalDifference[];
  unexplained: number;
  durationSeconds: number;
}
