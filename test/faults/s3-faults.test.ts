// Class 4, a misbehaving S3 endpoint: a proxy in front of the S3 test server
// answers 500/503, resets connections or stalls at chosen requests (issue 11,
// why 4: "an endpoint that accepts the upload and never answers keeps a backup
// running forever"). A backup ends with a clear exit 5 (or 0 when a retry of a
// one-off fault succeeded), nothing incomplete counts as a backup, no hang.
import { after, before, describe } from 'node:test';
import { join } from 'node:path';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { describeRun, EXIT, hasStackTrace, runCli } from './helpers/cli.js';
import { startWorld, type World } from './helpers/fixture.js';
import { startS3Proxy, type Rule, type S3Proxy } from './helpers/s3-proxy.js';
import { completeButDamaged } from './helpers/storage-check.js';
import { faultTest, QUICK } from './helpers/tally.js';

/**
 * Stalls run with a short request deadline (the documented 'storage-timeout' input): what is tested is
 * that a deadline ends the run, not how long the default one is (120 s per request, up to 5 attempts).
 */
const STALL_DEADLINE_S = 15;
const STALL_TIMEOUT_MS = Number(process.env.FAULTS_STALL_TIMEOUT_S ?? 300) * 1000;

interface S3Case {
  why?: number;
  what: string;
  command: 'backup' | 'drill' | 'verify';
  rule: Rule;
  /** Acceptable exits: a one-off fault may be retried away (0). */
  exit: number[];
  quick?: boolean;
}

const dump = (l: string) => /^(PUT|POST) .*database\.dump/.test(l);
const CASES: S3Case[] = [
  { what: 'backup: one 503 on the dump upload', command: 'backup', rule: { match: dump, action: '503', times: 'once' }, exit: [0, EXIT.storage], quick: true },
  {
    what: 'backup: 500 on every request from the dump upload on',
    command: 'backup',
    rule: { match: dump, action: '500', times: 'always' },
    exit: [EXIT.storage],
    quick: true,
  },
  {
    what: 'backup: 503 on every request after the lock is written',
    command: 'backup',
    rule: { match: (_l, n) => n >= 3, action: '503', times: 'always' },
    exit: [EXIT.storage],
  },
  {
    what: 'backup: one connection reset on the files.tar upload',
    command: 'backup',
    rule: { match: (l) => /^(PUT|POST) .*files\.tar/.test(l), action: 'reset', times: 'once' },
    exit: [0, EXIT.storage],
  },
  {
    what: 'backup: connection resets from the checksums.sha256 upload on',
    command: 'backup',
    rule: { match: (l) => /^PUT .*checksums\.sha256/.test(l), action: 'reset', times: 'always' },
    exit: [EXIT.storage],
    quick: true,
  },
  {
    what: 'backup: 500 on the manifest.json upload and after',
    command: 'backup',
    rule: { match: (l) => /^PUT .*manifest\.json/.test(l), action: '500', times: 'always' },
    exit: [EXIT.storage],
  },
  {
    why: 4,
    what: 'backup: the endpoint accepts the dump upload and never answers',
    command: 'backup',
    rule: { match: dump, action: 'stall-after-body', times: 'always' },
    exit: [EXIT.storage],
  },
  {
    why: 4,
    what: 'backup: the endpoint stalls on the lock listing',
    command: 'backup',
    rule: { match: (l) => /^GET .*(list-type|prefix=)/.test(l), action: 'stall', times: 'always' },
    exit: [EXIT.storage],
  },
  {
    what: 'drill: connection resets on every read of the dump',
    command: 'drill',
    rule: { match: (l) => /^GET .*database\.dump/.test(l), action: 'reset', times: 'always' },
    exit: [EXIT.storage],
    quick: true,
  },
  {
    what: 'verify: 503 on every read of the dump',
    command: 'verify',
    rule: { match: (l) => /^GET .*database\.dump/.test(l), action: '503', times: 'always' },
    exit: [EXIT.storage],
  },
];

describe('class 4: a misbehaving S3 endpoint', () => {
  let world: World;
  let s3: S3TestServer;
  let proxy: S3Proxy;
  let caseNo = 0;
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
  const via = (endpoint: string) => ['--s3-endpoint', endpoint, '--s3-region', s3.region, '--s3-force-path-style'];
  let readable: string;

  before(async () => {
    world = await startWorld({ scale: 10, extraUploadBytes: 12 << 20 });
    s3 = await startS3Server();
    proxy = await startS3Proxy(s3.endpoint);
    readable = `s3://${s3.bucket}/readable`;
    const run = await runCli(['backup', '--storage', readable, '--database-url', world.sourceUrl, '--files-path', world.uploads, ...via(s3.endpoint)], { env });
    if (run.status !== 0) throw new Error(`fixture backup failed: ${describeRun(run)}`);
  });
  after(async () => {
    await proxy?.close();
    await s3?.stop();
    await world?.stop();
  });

  for (const c of CASES.filter((x) => (QUICK ? x.quick : true))) {
    const stall = c.rule.action.startsWith('stall');
    faultTest(
      's3',
      `${c.why ? `why ${c.why}: ` : ''}${c.what}`,
      async () => {
        const storage = c.command === 'backup' ? `s3://${s3.bucket}/case-${caseNo++}` : readable;
        const args =
          c.command === 'backup'
            ? ['backup', '--storage', storage, '--database-url', world.sourceUrl, '--files-path', world.uploads]
            : c.command === 'drill'
              ? ['drill', '--storage', storage, '--report-dir', join(world.work, 'reports')]
              : ['verify', 'latest', '--storage', storage];
        proxy.setRule(c.rule);
        const deadline = stall ? ['--storage-timeout', `${STALL_DEADLINE_S}s`] : [];
        const run = await runCli([...args, ...deadline, ...via(proxy.endpoint)], { env, timeoutMs: stall ? STALL_TIMEOUT_MS : 240_000 });
        const faulted = proxy.faulted;
        proxy.setRule(undefined);
        const problems: string[] = [];
        if (faulted === 0) problems.push('the fault never fired (no matching request)');
        if (run.timedOut) problems.push(`hung: killed after ${(stall ? STALL_TIMEOUT_MS : 240_000) / 1000} s`);
        else if (!c.exit.includes(run.status ?? -1)) problems.push(`exit ${run.status}, expected ${c.exit.join(' or ')}`);
        if (hasStackTrace(run)) problems.push('stack trace in the output');
        if (run.status !== 0 && !/s3|storage|endpoint|bucket|request|connect/i.test(`${run.stderr}\n${run.stdout}`))
          problems.push('the message does not say the storage failed');
        if (c.command === 'backup') problems.push(...(await completeButDamaged({ storage, args: via(s3.endpoint), env })));
        return problems.length ? `${problems.join('; ')} — ${describeRun(run)}` : undefined;
      },
      { timeout: STALL_TIMEOUT_MS + 300_000 },
    );
  }
});
