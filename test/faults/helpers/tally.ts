// Counts tried / caught / missed per fault class. Every case appends one JSON
// line to the file named by FAULTS_TALLY (set by test/faults/run.mjs), which
// prints the table at the end. A miss also fails its node:test case.
import { appendFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';

export type FaultClass = 'kill' | 'corruption' | 'restore-failure' | 's3' | 'disk-full' | 'retention' | 'input' | 'concurrency';

export interface TallyLine {
  cls: FaultClass;
  name: string;
  outcome: 'caught' | 'missed' | 'skipped';
  detail?: string;
}

export function record(line: TallyLine): void {
  const file = process.env.FAULTS_TALLY;
  if (file) appendFileSync(file, JSON.stringify(line) + '\n');
}

export const QUICK = process.env.FAULTS_QUICK === '1';

/** A fault is caught when `check` returns nothing; a returned string (or a throw) is the miss's reason. */
export type Check = () => Promise<string | undefined | void>;

async function judge(cls: FaultClass, name: string, check: Check): Promise<void> {
  let problem: string | undefined;
  try {
    problem = (await check()) ?? undefined;
  } catch (error) {
    problem = `the case itself failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  }
  record({ cls, name, outcome: problem ? 'missed' : 'caught', detail: problem });
  if (problem) throw new Error(`MISSED [${cls}] ${name}: ${problem}`);
}

/** One fault case as a top-level test. */
export function faultTest(cls: FaultClass, name: string, check: Check, options: { timeout?: number } = {}): void {
  test(name, { timeout: options.timeout ?? 600_000 }, () => judge(cls, name, check));
}

/** One fault case as a subtest of `t` (for cases generated at run time, e.g. seeded flips). */
export async function faultSubtest(t: TestContext, cls: FaultClass, name: string, check: Check): Promise<void> {
  await t.test(name, () => judge(cls, name, check)).catch(() => undefined);
}

/** A case that cannot run here: counted as skipped, with the reason visible in the output. */
export function skipFault(cls: FaultClass, name: string, reason: string): void {
  test(name, { skip: reason }, () => undefined);
  record({ cls, name, outcome: 'skipped', detail: reason });
}
