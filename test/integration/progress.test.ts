// Progress a user can read: phases, bytes with percentages and an ETA where the
// total is known, JSON events for scripts, and no phase silent for long.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { EphemeralCluster } from '../../src/postgres/cluster.js';
import { ConsoleLogger, MemoryLogger } from '../../src/util/logger.js';
import { Progress, describeProgress, progressEvent, type ProgressEvent } from '../../src/util/progress.js';
import { createSeededDatabase, startCluster } from '../helpers/postgres.js';
import { makeUploads, tempDir } from '../helpers/fs.js';

const INTERVAL_MS = 400;
/** With events every 0.4 s, a gap this long means a phase that reports nothing. */
const MAX_SILENCE_MS = 4000;

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function events(stderr: string): ProgressEvent[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ProgressEvent)
    .filter((e) => e.type === 'progress');
}

function longestSilenceMs(list: ProgressEvent[]): { ms: number; after: string } {
  let worst = { ms: 0, after: '' };
  for (let i = 1; i < list.length; i++) {
    const ms = Date.parse(list[i]!.at) - Date.parse(list[i - 1]!.at);
    if (ms > worst.ms) worst = { ms, after: `${list[i - 1]!.phase} ${list[i - 1]!.state}` };
  }
  return worst;
}

describe('progress', () => {
  let work: { path: string; remove(): Promise<void> };
  let source: EphemeralCluster;
  let url: string;
  let uploads: string;
  before(async () => {
    work = await tempDir();
    uploads = join(work.path, 'uploads');
    await mkdir(uploads);
    await makeUploads(uploads);
    source = await startCluster();
    url = await createSeededDatabase(source, 'app', 100);
  });
  after(async () => {
    await source?.stop();
    await work?.remove();
  });

  test('--progress=json: every phase as events on stderr, totals and percentages where known, no long silence', async () => {
    const storage = join(work.path, 'backups');
    const env = { BACKUP_DRILL_PROGRESS_INTERVAL_MS: String(INTERVAL_MS) };
    const backup = await runCli(['backup', '--storage', storage, '--database-url', url, '--files-path', uploads, '--progress', 'json'], env);
    assert.equal(backup.code, 0, backup.stderr);
    const b = events(backup.stderr);
    for (const phase of ['database', 'files', 'stats'])
      assert.ok(
        b.some((e) => e.phase === phase && e.state === 'end'),
        `backup phase ${phase} ends`,
      );
    const dumpEnd = b.find((e) => e.phase === 'database' && e.state === 'end')!;
    assert.ok(dumpEnd.totalBytes! > 0 && dumpEnd.percent === 100 && dumpEnd.bytes! > 0);
    const filesEnd = b.find((e) => e.phase === 'files' && e.state === 'end')!;
    assert.ok(filesEnd.bytes! > 0 && filesEnd.totalBytes! > 0 && filesEnd.percent === 100);
    assert.match(backup.stdout, /backup-id:/, 'the result stays on stdout');

    const drill = await runCli(['drill', '--storage', storage, '--report-dir', join(work.path, 'reports'), '--progress=json'], env);
    assert.equal(drill.code, 0, drill.stderr);
    const d = events(drill.stderr);
    for (const phase of ['cluster start', 'database', 'compare'])
      assert.ok(
        d.some((e) => e.phase === phase && e.state === 'end'),
        `drill phase ${phase} ends`,
      );
    assert.ok(
      d.some((e) => e.phase === 'database' && e.totalBytes! > 0),
      'the drill knows the dump size',
    );
    for (const [name, list] of [
      ['backup', b],
      ['drill', d],
    ] as const) {
      const silence = longestSilenceMs(list);
      assert.ok(silence.ms <= MAX_SILENCE_MS, `${name}: ${silence.ms} ms without a progress event after ${silence.after}`);
    }
  });

  test('--quiet keeps warnings and errors only; --progress=none prints no progress', async () => {
    const storage = join(work.path, 'quiet');
    const quiet = await runCli(['backup', '-q', '--storage', storage, '--database-url', url], {});
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr.trim(), '');
    const none = await runCli(['backup', '--progress', 'none', '--storage', storage, '--database-url', url], { BACKUP_DRILL_PROGRESS_INTERVAL_MS: '50' });
    assert.equal(none.code, 0, none.stderr);
    assert.doesNotMatch(none.stderr, /database: .*(so far|done in)/);
    assert.match(none.stderr, /Source: app/, 'other lines still print');
  });
});

describe('progress rendering', () => {
  test('percent and ETA from the total; an estimate never shows 100% before the end', () => {
    const started = Date.now() - 10_000;
    const running = progressEvent('database', 'running', started, 300, 1000);
    assert.equal(running.percent, 30);
    assert.ok(running.etaSeconds! >= 22 && running.etaSeconds! <= 24, String(running.etaSeconds));
    assert.equal(progressEvent('database', 'running', started, 5000, 1000).percent, 99);
    assert.equal(progressEvent('database', 'end', started, 5000, 1000).percent, 100);
    assert.match(describeProgress(running), /^database: 300 B of ~1000 B \(30%\), 30 B\/s, 10\.0s so far, ETA 2\d\.\ds$/);
    assert.equal(progressEvent('compare', 'running', started).bytes, undefined);
  });

  test('once every byte is read, a phase that goes on says what it waits for instead of a decaying rate', async () => {
    const events: ProgressEvent[] = [];
    const logger = Object.assign(new MemoryLogger(), { progress: (e: ProgressEvent) => void events.push(e) });
    const progress = new Progress('database', logger, { totalBytes: 100, whenAllRead: 'pg_restore is building indexes', intervalMs: 50 }).start();
    progress.add(40);
    await new Promise((r) => setTimeout(r, 120));
    progress.add(60);
    await new Promise((r) => setTimeout(r, 120));
    progress.stop();
    const running = events.filter((e) => e.state === 'running');
    assert.ok(running.some((e) => e.bytes === 40 && e.note === undefined));
    const waiting = running.filter((e) => e.bytes === 100);
    assert.ok(
      waiting.length > 0 && waiting.every((e) => e.note === 'pg_restore is building indexes' && e.bytesPerSecond === undefined),
      JSON.stringify(waiting),
    );
    assert.match(describeProgress(waiting[0]!), /^database: 100 B of ~100 B \(99%\), pg_restore is building indexes, \d+\.\ds so far$/);
  });

  test('a live line on a terminal, cleared before messages; colours only on a terminal and not with NO_COLOR', () => {
    const sink = () => {
      let text = '';
      return { stream: new Writable({ write: (c, _e, cb) => ((text += c), cb()) }), text: () => text };
    };
    const tty = sink();
    const live = new ConsoleLogger(tty.stream, { isTTY: true });
    const p = new Progress('files', live, { totalBytes: 100, intervalMs: 60_000 }).start();
    p.add(50);
    live.warn('careful');
    p.stop();
    assert.match(tty.text(), /\r\x1b\[Kfiles: /);
    assert.match(tty.text(), /\x1b\[33mwarning:\x1b\[0m careful\n/);
    assert.match(tty.text(), /files: 50 B of ~100 B \(100%\), .*done in/);

    const pipe = sink();
    const plain = new ConsoleLogger(pipe.stream, { isTTY: false });
    plain.warn('careful');
    new Progress('files', plain, { totalBytes: 100, intervalMs: 60_000 }).start().stop();
    assert.doesNotMatch(pipe.text(), /\x1b/);
    const noColor = sink();
    new ConsoleLogger(noColor.stream, { isTTY: true, color: false }).warn('careful');
    assert.equal(noColor.text(), 'warning: careful\n');
  });
});
