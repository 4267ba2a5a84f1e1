// Never silent (issue 14) end to end, with real parts: a real PostgreSQL, a
// local storage folder, an HTTP receiver on 127.0.0.1 for webhooks, Slack,
// Teams, Discord and pings, an SMTP server on 127.0.0.1 for e-mail, and the
// CLI run as a child process where a kill is needed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildConfig, type Config } from '../../src/config.js';
import { ExitCode, TimedOutError } from '../../src/errors.js';
import { generateIdentity, recipientOf } from '../../src/archive/age/index.js';
import { runBackup } from '../../src/modes/backup.js';
import { runDrill } from '../../src/modes/drill.js';
import { runPrune } from '../../src/modes/prune.js';
import { runTracked } from '../../src/history/tracker.js';
import { backupOutcome, drillExitCode, drillOutcome } from '../../src/history/outcomes.js';
import { effectiveStatus, listRecords } from '../../src/history/record.js';
import { loadHistory } from '../../src/history/load.js';
import { ACCEPTED_MARKER, SUSPECT_MARKER } from '../../src/history/markers.js';
import { openStorage } from '../../src/storage/registry.js';
import { MemoryLogger } from '../../src/util/logger.js';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { startCluster, withClient } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fs.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { listBackups } from '../../src/storage/catalog.js';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver } from '../helpers/receivers.js';

const CLI = resolve('src/cli/index.ts');

describe('never silent (issue 14)', () => {
  let cluster: EphemeralCluster;
  let work: { path: string; remove(): Promise<void> };
  let receiver: HttpReceiver;
  let n = 0;

  /** A fresh database with one table of `rows` rows (md5 text: compresses little, so size follows rows). */
  async function database(rows: number): Promise<string> {
    const name = `db${n++}`;
    await withClient(cluster.url(), (c) => c.query(`CREATE DATABASE ${name}`));
    const url = cluster.url(name);
    await withClient(url, async (c) => {
      await c.query('CREATE TABLE events (id int PRIMARY KEY, payload text)');
      await c.query(`INSERT INTO events SELECT i, md5(i::text) || md5((i * 7)::text) FROM generate_series(1, ${rows}) AS i`);
      await c.query('CREATE TABLE sessions (id int PRIMARY KEY)');
      await c.query('INSERT INTO sessions SELECT generate_series(1, 50)');
    });
    return url;
  }

  function config(values: Record<string, string>): Config {
    return buildConfig((name) => ({ mode: 'backup', compression: '0', ...values })[name], {});
  }

  const storageDir = () => join(work.path, `storage-${n++}`);

  before(async () => {
    cluster = await startCluster();
    work = await tempDir('bd-silent-');
    receiver = await startHttpReceiver();
  });
  after(async () => {
    await receiver?.close();
    await cluster?.stop();
    await work?.remove();
  });

  test('a failed backup leaves a record that history shows with its error (password redacted), pings /start then /fail, and the webhook gets the failure', async () => {
    const storage = storageDir();
    const hook = `/hook-${n}`;
    const ping = `/ping-${n}`;
    const c = config({
      storage,
      'database-url': 'postgres://app:Sup3rSecretPw@127.0.0.1:1/app',
      'connect-timeout': '2s',
      notify: `${receiver.url}${hook}`,
      'ping-url': `${receiver.url}${ping}`,
    });
    const logger = new MemoryLogger();
    await assert.rejects(
      runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome),
      (e: Error & { category?: string }) => e.category === 'database',
    );
    const [only, ...more] = await listRecords(await openStorage(c), 'default');
    assert.equal(more.length, 0);
    assert.equal(only!.record.status, 'failed');
    assert.equal(only!.record.mode, 'backup');
    assert.equal(only!.record.error?.category, 'database');
    assert.ok(only!.record.finishedAt && only!.record.durationSeconds !== undefined);
    assert.match(only!.record.details?.errorMessage ?? '', /127\.0\.0\.1/);
    const stored = await readFile(join(storage, 'default', 'runs', `${only!.record.id}.json`), 'utf8');
    assert.doesNotMatch(stored, /Sup3rSecretPw/);
    assert.equal(only!.record.details?.trigger?.kind, 'cli');

    // No backup folder: the record is not a backup.
    assert.deepEqual(await readdir(join(storage, 'default')), ['runs']);

    const pings = receiver.requests.filter((r) => r.path.startsWith(ping)).map((r) => r.path);
    assert.deepEqual(pings, [`${ping}/start`, `${ping}/fail`]);
    const message = JSON.parse((await receiver.waitFor(hook)).body) as Record<string, unknown>;
    assert.equal(message.event, 'backup-drill.run');
    assert.equal(message.status, 'failed');
    assert.equal(message.mode, 'backup');
    assert.doesNotMatch(JSON.stringify(message), /Sup3rSecretPw/);
  });

  test('run records have their own retention (history-keep-months): older ones go at the end of a run', async () => {
    const storage = storageDir();
    const runs = join(storage, 'default', 'runs');
    await mkdir(runs, { recursive: true });
    const old = new Date(Date.now() - 40 * 86400_000);
    const recent = new Date(Date.now() - 10 * 86400_000);
    const stamp = (d: Date) => `${d.toISOString().replace(/[-:]/g, '').replace('.', '')}-0000aaaa.json`;
    for (const d of [old, recent]) await writeFile(join(runs, stamp(d)), '{}');
    const c = config({ storage, 'database-url': 'postgres://app@127.0.0.1:1/app', 'connect-timeout': '2s', 'history-keep-months': '1' });
    const logger = new MemoryLogger();
    await assert.rejects(runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome));
    const left = (await readdir(runs)).sort();
    assert.equal(left.length, 2);
    assert.equal(left[0], stamp(recent));
    assert.ok(logger.lines.some((l) => /Removed 1 run record\(s\) older than 1 month/.test(l)));
  });

  test('notifications arrive in the format each service documents (Slack, Teams Adaptive Card, Discord embed, JSON webhook, e-mail over SMTP); a success pings the bare URL', async () => {
    const smtp = await startSmtpReceiver();
    try {
      const url = await database(2000);
      const id = `svc${n}`;
      const c = config({
        storage: storageDir(),
        'database-url': url,
        'notify-on': 'always',
        notify: [
          `slack+http://127.0.0.1:${new URL(receiver.url).port}/${id}/slack`,
          `teams+http://127.0.0.1:${new URL(receiver.url).port}/${id}/teams`,
          `discord+http://127.0.0.1:${new URL(receiver.url).port}/${id}/discord`,
          `${receiver.url}/${id}/generic`,
          `smtp://mailer:mail-pass-123@127.0.0.1:${smtp.port}/?to=ops@example.com,dba@example.com&from=backups@example.com`,
        ].join('\n'),
        'ping-url': `${receiver.url}/${id}/ping`,
      });
      const logger = new MemoryLogger();
      const r = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);

      const slack = JSON.parse((await receiver.waitFor(`/${id}/slack`)).body) as { text: string; blocks: Array<{ type: string }> };
      assert.match(slack.text, /Backup of 'default' succeeded/);
      assert.deepEqual(
        slack.blocks.map((b) => b.type),
        ['header', 'section', 'section'],
      );

      const teams = JSON.parse((await receiver.waitFor(`/${id}/teams`)).body) as {
        type: string;
        attachments: Array<{
          contentType: string;
          content: { type: string; version: string; body: Array<{ type: string; facts?: Array<{ title: string; value: string }> }> };
        }>;
      };
      assert.equal(teams.type, 'message');
      assert.equal(teams.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
      assert.equal(teams.attachments[0]!.content.type, 'AdaptiveCard');
      const facts = teams.attachments[0]!.content.body.find((b) => b.type === 'FactSet')!.facts!;
      assert.equal(facts.find((f) => f.title === 'Backup')?.value, r.id);

      const discord = JSON.parse((await receiver.waitFor(`/${id}/discord`)).body) as { embeds: Array<{ title: string; color: number; fields: unknown[] }> };
      assert.match(discord.embeds[0]!.title, /succeeded/);
      assert.equal(discord.embeds[0]!.color, 0x28a745);

      const generic = JSON.parse((await receiver.waitFor(`/${id}/generic`)).body) as { status: string; backupId: string; sizeBytes: number; rows: number };
      assert.equal(generic.status, 'succeeded');
      assert.equal(generic.backupId, r.id);
      assert.equal(generic.sizeBytes, r.sizeBytes);
      assert.equal(generic.rows, 2050);

      const deadline = Date.now() + 10_000;
      while (!smtp.mails.length && Date.now() < deadline) await sleep(100);
      assert.equal(smtp.mails.length, 1);
      assert.deepEqual(smtp.mails[0]!.to, ['ops@example.com', 'dba@example.com']);
      assert.equal(smtp.mails[0]!.from, 'backups@example.com');
      assert.match(smtp.mails[0]!.raw, /Subject: \[backup-drill\] Backup of 'default' succeeded/);
      assert.match(smtp.mails[0]!.raw, new RegExp(r.id));

      assert.deepEqual(
        receiver.requests.filter((q) => q.path.startsWith(`/${id}/ping`)).map((q) => q.path),
        [`/${id}/ping/start`, `/${id}/ping`],
      );
      assert.ok(logger.lines.every((l) => !/mail-pass-123/.test(l)));
    } finally {
      await smtp.close();
    }
  });

  test('notify-on failure sends nothing for a good backup, and a receiver that is down only warns: the backup succeeds', async () => {
    const url = await database(500);
    const before = receiver.requests.length;
    const c = config({ storage: storageDir(), 'database-url': url, notify: `${receiver.url}/quiet` });
    const logger = new MemoryLogger();
    await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    assert.equal(receiver.requests.slice(before).filter((r) => r.path === '/quiet').length, 0);

    const down = config({
      storage: storageDir(),
      'database-url': url,
      notify: 'http://127.0.0.1:1/hook',
      'notify-on': 'always',
      'ping-url': 'http://127.0.0.1:1/ping',
    });
    const logger2 = new MemoryLogger();
    const r = await runTracked(down, { logger: logger2 }, (signal) => runBackup(down, { logger: logger2, signal }), backupOutcome);
    assert.ok(r.id);
    const warnings = logger2.lines.filter((l) => l.startsWith('warning: '));
    assert.ok(
      warnings.some((w) => /Could not notify webhook \(127\.0\.0\.1:1\)/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(warnings.some((w) => /Could not send the start ping/.test(w)));
    const [record] = await listRecords(await openStorage(down), 'default');
    assert.equal(record!.record.status, 'succeeded');
  });

  test('a timeout stops a blocked backup: exit code timedOut, record "timed-out", no partial parts, lock released', async () => {
    const url = await database(500);
    const storage = storageDir();
    await withClient(url, async (blocker) => {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const c = config({ storage, 'database-url': url, timeout: '3s', 'ping-url': `${receiver.url}/timeout-ping` });
      const logger = new MemoryLogger();
      const started = Date.now();
      await assert.rejects(
        runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome),
        (e: unknown) => {
          assert.ok(e instanceof TimedOutError, String(e));
          assert.equal(e.exitCode, ExitCode.timedOut);
          return true;
        },
      );
      assert.ok(Date.now() - started < 30_000);
      await blocker.query('ROLLBACK');
    });
    const [record] = await listRecords(await openStorage(config({ storage })), 'default');
    assert.equal(record!.record.status, 'timed-out');
    assert.equal(record!.record.error?.category, 'timedOut');
    assert.equal(record!.record.exitCode, ExitCode.timedOut);
    assert.deepEqual((await readdir(join(storage, 'default'))).sort(), ['runs']); // partial parts deleted
    assert.deepEqual(await readdir(join(storage, 'locks', 'default')).catch(() => []), []); // lock released
    assert.ok(receiver.requests.some((r) => r.path === '/timeout-ping/fail'));
  });

  test('a timeout stops a drill whose check runs too long: the drill database is removed, exit code timedOut, record "timed-out"', async () => {
    const url = await database(500);
    const storage = storageDir();
    const logger = new MemoryLogger();
    const b = config({ storage, 'database-url': url });
    await runTracked(b, { logger }, (signal) => runBackup(b, { logger, signal }), backupOutcome);
    const checks = join(work.path, `slow-checks-${n}.yml`);
    await writeFile(checks, 'checks:\n  - name: a check that never ends\n    sql: select count(*) from pg_sleep(600)\n    expect: { min: 1 }\n');
    const d = config({ mode: 'restore-drill', storage, checks, timeout: '15s' });
    const started = Date.now();
    const made: string[] = [];
    await assert.rejects(
      runTracked(d, { logger }, (signal) => runDrill(d, { logger, signal, onCleanup: (item) => made.push(item.path) }), drillOutcome),
      (e: unknown) => e instanceof TimedOutError,
    );
    assert.ok(Date.now() - started < 45_000, `took ${Date.now() - started} ms`);
    assert.ok(made.length >= 2, made.join(', ')); // the work folder and the throwaway cluster
    for (const path of made) assert.ok(!existsSync(path), `${path} removed`);
    const [record] = await listRecords(await openStorage(d), 'default');
    assert.equal(record!.record.mode, 'restore-drill');
    assert.equal(record!.record.status, 'timed-out');
  });

  test('a run killed with SIGKILL: its record shows interrupted, and the ping receiver got only /start', async () => {
    const url = await database(500);
    const storage = storageDir();
    await withClient(url, async (blocker) => {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLI, 'backup', '--storage', storage, '--database-url', url, '--ping-url', `${receiver.url}/kill-ping`],
        {
          stdio: 'ignore',
          env: { ...process.env, BACKUP_DRILL_STORAGE: '' },
        },
      );
      try {
        await receiver.waitFor('/kill-ping/start', 60_000);
        const runs = join(storage, 'default', 'runs');
        const records = await readdir(runs);
        assert.equal(records.length, 1);
        const running = JSON.parse(await readFile(join(runs, records[0]!), 'utf8'));
        assert.equal(running.status, 'running');
        child.kill('SIGKILL');
        await new Promise((done) => child.once('exit', done));
      } finally {
        child.kill('SIGKILL');
      }
      await blocker.query('ROLLBACK');
    });
    await sleep(1500); // anything the dead process could still have sent has arrived
    assert.deepEqual(
      receiver.requests.filter((r) => r.path.startsWith('/kill-ping')).map((r) => r.path),
      ['/kill-ping/start'],
    );
    const [record] = await listRecords(await openStorage(config({ storage })), 'default');
    assert.equal(record!.record.status, 'running');
    assert.equal(effectiveStatus(record!.record, new Date()), 'interrupted');
    const history = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'history', '--storage', storage, '--json'], { encoding: 'utf8' });
    assert.equal(history.status, 0, history.stderr);
    assert.equal((JSON.parse(history.stdout) as Array<{ status: string }>)[0]!.status, 'interrupted');
    // A record from another host (no pid to check) is interrupted once it has not been refreshed for 5 minutes.
    const elsewhere = { ...record!.record, host: 'another-host' };
    assert.equal(effectiveStatus(elsewhere, new Date()), 'running');
    assert.equal(effectiveStatus(elsewhere, new Date(Date.parse(record!.record.refreshedAt) + 6 * 60_000)), 'interrupted');
  });

  test('a run stopped with SIGINT cleans up, exits 130, records "interrupted" and pings /fail', async () => {
    const url = await database(500);
    const storage = storageDir();
    await withClient(url, async (blocker) => {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLI, 'backup', '--storage', storage, '--database-url', url, '--ping-url', `${receiver.url}/int-ping`],
        {
          stdio: 'ignore',
        },
      );
      try {
        await receiver.waitFor('/int-ping/start', 60_000);
        await sleep(1000); // the dump is under way, blocked on the table lock
        child.kill('SIGINT');
        const code = await new Promise<number | null>((done) => child.once('exit', done));
        assert.equal(code, ExitCode.interrupted);
      } finally {
        child.kill('SIGKILL');
        await blocker.query('ROLLBACK');
      }
    });
    assert.ok(receiver.requests.some((r) => r.path === '/int-ping/fail'));
    const [record] = await listRecords(await openStorage(config({ storage })), 'default');
    assert.equal(record!.record.status, 'interrupted');
    assert.equal(record!.record.error?.category, 'interrupted');
    assert.deepEqual((await readdir(join(storage, 'default'))).sort(), ['runs']);
  });

  test('a 50% shrink: the backup is suspect, the drill fails with the suspect outcome, prune --keep-last 1 keeps the older good backup; accept-shrink releases it', async () => {
    const url = await database(20_000);
    const storage = storageDir();
    const c = config({ storage, 'database-url': url, 'trend-ignore': 'public.sessions' });
    const logger = new MemoryLogger();
    const good = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    assert.equal(good.trend?.verdict, 'ok');
    await sleep(1100); // backup ids have one-second resolution
    await withClient(url, (client) => client.query('DELETE FROM events WHERE id % 2 = 0'));
    const shrunk = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    assert.equal(shrunk.trend?.verdict, 'suspect');
    assert.ok(
      shrunk.trend!.reasons.some((r) => /^rows 10000 vs 20000/.test(r)),
      shrunk.trend!.reasons.join('; '),
    );
    assert.ok(shrunk.trend!.reasons.some((r) => /^stored size/.test(r)));
    assert.ok((await readdir(join(storage, 'default', shrunk.id))).includes(SUSPECT_MARKER));
    assert.ok(logger.lines.some((l) => l.startsWith('warning: ') && /is SUSPECT/.test(l)));
    const records = await listRecords(await openStorage(c), 'default');
    assert.equal(records[0]!.record.status, 'suspect');

    const drillConfig = config({ mode: 'restore-drill', storage });
    const drill = await runTracked(drillConfig, { logger }, (signal) => runDrill(drillConfig, { logger, signal }), drillOutcome);
    assert.equal(drill.report.status, 'failed');
    assert.equal(drillExitCode(drill), ExitCode.suspect);
    assert.equal(drill.report.trend?.verdict, 'suspect');
    assert.ok(drill.report.trend!.reasons.some((r) => /^rows/.test(r)));

    const pruneConfig = config({ storage, 'keep-last': '1' });
    const pruned = await runPrune(pruneConfig, { logger });
    assert.deepEqual(pruned.deleted, []);
    const keptGood = pruned.decisions.find((d) => d.id === good.id)!;
    assert.ok(keptGood.keep);
    assert.ok(keptGood.reasons.includes(`last good before suspect ${shrunk.id}`), keptGood.reasons.join(', '));

    // The purge was deliberate: a drill with accept-shrink passes and records it; retention then lets go.
    const accepting = config({ mode: 'restore-drill', storage, 'accept-shrink': 'true' });
    const passed = await runTracked(accepting, { logger }, (signal) => runDrill(accepting, { logger, signal }), drillOutcome);
    assert.equal(passed.report.status, 'passed', passed.report.failures.join('; '));
    assert.ok((await readdir(join(storage, 'default', shrunk.id))).includes(ACCEPTED_MARKER));
    const after = await runPrune(pruneConfig, { logger });
    assert.deepEqual(after.deleted, [good.id]);

    const history = await loadHistory(await openStorage(c), c, 50);
    assert.deepEqual(
      history.map((h) => `${h.mode} ${h.status}`),
      ['restore-drill succeeded', 'restore-drill suspect', 'backup suspect', 'backup succeeded'],
    );
    const list = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'list', '--storage', storage, '--json'], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as Array<{ id: string; lastDrill: string; suspect: boolean }>;
    assert.deepEqual(
      rows.map((r) => [r.id, r.lastDrill, r.suspect]),
      [[shrunk.id, 'passed', false]],
    );
  });

  test('backup-drill accept <id>: the suspect backup joins the baseline again and retention lets the older one go', async () => {
    const url = await database(4000);
    const storage = storageDir();
    const c = config({ storage, 'database-url': url });
    const logger = new MemoryLogger();
    const good = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    await sleep(1100);
    await withClient(url, (client) => client.query('DELETE FROM events WHERE id > 1000'));
    const purged = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    assert.equal(purged.trend?.verdict, 'suspect');
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args, '--storage', storage, '--json'], { encoding: 'utf8' });
    const listed = JSON.parse(cli('list').stdout) as Array<{ id: string; suspect: boolean }>;
    assert.deepEqual(
      listed.map((r) => [r.id, r.suspect]),
      [
        [purged.id, true],
        [good.id, false],
      ],
    );
    const accepted = cli('accept', purged.id);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.equal((JSON.parse(accepted.stdout) as { wasSuspect: boolean }).wasSuspect, true);
    const marker = JSON.parse(await readFile(join(storage, 'default', purged.id, ACCEPTED_MARKER), 'utf8')) as { by: string; holder: string };
    assert.equal(marker.by, 'accept');
    assert.equal((JSON.parse(cli('list').stdout) as Array<{ suspect: boolean }>)[0]!.suspect, false);
    const pruned = await runPrune(config({ storage, 'keep-last': '1' }), { logger });
    assert.deepEqual(pruned.deleted, [good.id]);
    // The next backup compares with the accepted one: no longer suspect.
    await sleep(1100);
    const next = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    assert.equal(next.trend?.verdict, 'ok');
    assert.deepEqual(next.trend?.baseline, [purged.id]);
    assert.equal(cli('accept', 'nonexistent').status, ExitCode.usage);
  });

  test('read-only storage credentials: the drill passes; the run record and markers are skipped with a warning', async () => {
    const url = await database(300);
    const storage = storageDir();
    const c = config({ storage, 'database-url': url });
    const logger = new MemoryLogger();
    await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    const recordsBefore = await readdir(join(storage, 'default', 'runs'));
    const readOnly = (on: boolean) => {
      // root ignores permission bits; the immutable attribute stops it too.
      const r = process.getuid?.() === 0 ? spawnSync('chattr', ['-R', on ? '+i' : '-i', storage]) : spawnSync('chmod', ['-R', on ? 'a-w' : 'u+w', storage]);
      assert.equal(r.status, 0, String(r.stderr));
    };
    readOnly(true);
    try {
      const drillConfig = config({ mode: 'restore-drill', storage, 'accept-shrink': 'true' });
      const drillLogger = new MemoryLogger();
      const drill = await runTracked(drillConfig, { logger: drillLogger }, (signal) => runDrill(drillConfig, { logger: drillLogger, signal }), drillOutcome);
      assert.equal(drill.report.status, 'passed', drill.report.failures.join('; '));
      const warnings = drillLogger.lines.filter((l) => l.startsWith('warning: '));
      assert.ok(
        warnings.some((w) => /Could not write the run record .* \(read-only storage credentials\?\)/.test(w)),
        warnings.join('\n'),
      );
      assert.deepEqual(await readdir(join(storage, 'default', 'runs')), recordsBefore);
    } finally {
      readOnly(false);
    }
  });

  test('through S3 (s3rver): records of a failed and a good backup, history newest first, the record never listed as a backup', async () => {
    let s3: S3TestServer | undefined;
    const env = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_REGION: '' };
    try {
      s3 = await startS3Server();
      Object.assign(env, { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: s3.region });
      Object.assign(process.env, env); // the S3 adapter reads the standard AWS chain
      const s3Inputs = { storage: `s3://${s3.bucket}/silent`, 's3-endpoint': s3.endpoint, 's3-force-path-style': 'true' };
      const logger = new MemoryLogger();
      const bad = config({ ...s3Inputs, 'database-url': 'postgres://app@127.0.0.1:1/app', 'connect-timeout': '2s' });
      await assert.rejects(runTracked(bad, { logger }, (signal) => runBackup(bad, { logger, signal }), backupOutcome));
      const good = config({ ...s3Inputs, 'database-url': await database(200) });
      const r = await runTracked(good, { logger }, (signal) => runBackup(good, { logger, signal }), backupOutcome);
      const storage = await openStorage(good);
      const history = await loadHistory(storage, good, 50);
      assert.deepEqual(
        history.map((h) => [h.status, h.backupId ?? null, h.errorCategory ?? null]),
        [
          ['succeeded', r.id, null],
          ['failed', null, 'database'],
        ],
      );
      assert.deepEqual(
        (await listBackups(storage, 'default')).map((e) => e.id),
        [r.id],
      );
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
      await s3?.stop();
    }
  });

  test('an encrypted set: records keep status, times, sizes and error category public and seal who ran it; history reads them with the key; the drill, which has the key, catches a row drop the backup could not see', async () => {
    const url = await database(300);
    const storage = storageDir();
    const identity = generateIdentity();
    const c = config({ storage, 'database-url': url, 'encrypt-recipients': recipientOf(identity) });
    const logger = new MemoryLogger();
    const r = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    const [listed] = await listRecords(await openStorage(c), 'default');
    const record = listed!.record;
    assert.equal(record.status, 'succeeded');
    assert.equal(record.sizeBytes, r.sizeBytes);
    assert.equal(record.details, undefined);
    assert.ok(record.sealed);
    const text = await readFile(join(storage, 'default', 'runs', `${record.id}.json`), 'utf8');
    assert.doesNotMatch(text, /events|"rows"|trigger/);
    const withoutKey = await loadHistory(await openStorage(c), c, 10);
    assert.equal(withoutKey[0]!.details, undefined);
    const withKey = await loadHistory(await openStorage(c), config({ storage, 'decrypt-identity': identity }), 10);
    assert.equal(withKey[0]!.details?.rows, 350);
    assert.equal(withKey[0]!.details?.trigger?.kind, 'cli');
    assert.equal(withKey[0]!.details?.tableRows?.['public.events'], 300);

    // The rows are sealed, so the backup guards on stored size only; the drill, with the key, compares rows per table.
    await sleep(1100);
    await withClient(url, (client) => client.query('DELETE FROM events WHERE id > 100'));
    const shrunk = await runTracked(c, { logger }, (signal) => runBackup(c, { logger, signal }), backupOutcome);
    assert.ok(
      shrunk.trend!.deltas.every((d) => d.startsWith('stored size')),
      shrunk.trend!.deltas.join('; '),
    );
    const d = config({ mode: 'restore-drill', storage, 'decrypt-identity': identity });
    const drill = await runTracked(d, { logger }, (signal) => runDrill(d, { logger, signal }), drillOutcome);
    assert.equal(drillExitCode(drill), ExitCode.suspect, drill.report.failures.join('; '));
    assert.ok(
      drill.report.trend!.reasons.some((r) => /^rows 150 vs 350/.test(r)),
      drill.report.trend!.reasons.join('; '),
    );
    assert.ok(drill.report.trend!.warnings.some((w) => /^table public\.events: 100 rows vs 300/.test(w)));
  });
});
