// What a failed or killed run may leave in storage: incomplete parts are
// fine (they never count), a complete-looking backup that does not verify is not.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, runCli } from './cli.js';

export interface StorageRef {
  /** --storage value */
  storage: string;
  /** Extra flags and env to reach it (S3 endpoint, credentials). */
  args?: string[];
  env?: Record<string, string>;
}

/** Every backup `list` calls complete must pass `verify`. */
export async function completeButDamaged(ref: StorageRef): Promise<string[]> {
  const list = await runCli(['list', '--storage', ref.storage, '--json', ...(ref.args ?? [])], { env: ref.env, timeoutMs: 120_000 });
  if (list.status !== 0) return [`list failed: ${describeRun(list)}`];
  let rows: Array<{ id: string; complete: boolean }>;
  try {
    rows = JSON.parse(list.stdout) as typeof rows;
  } catch {
    return [`list --json printed no JSON: ${list.stdout.slice(0, 200)}`];
  }
  const problems: string[] = [];
  for (const row of rows.filter((r) => r.complete)) {
    const run = await runCli(['verify', row.id, '--storage', ref.storage, ...(ref.args ?? [])], { env: ref.env, timeoutMs: 120_000 });
    if (run.status !== 0) problems.push(`backup ${row.id} is listed as complete but verify says: ${describeRun(run)}`);
  }
  return problems;
}

/** Lock files left in a local storage's lock folder. */
export async function leftoverLocks(storage: string, name = 'default'): Promise<string[]> {
  return (await readdir(join(storage, 'locks', name)).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
}

/** Partial-upload temp files (`.x.partial-…`) left anywhere under a local storage. */
export async function leftoverPartials(storage: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (e.name.includes('.partial')) out.push(join(dir, e.name));
    }
  };
  await walk(storage);
  return out;
}
