import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockedError, UsageError } from '../../src/errors.js';
import { acquireLock, newLockId, type LockInfo } from '../../src/storage/lock.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { PutOptions } from '../../src/storage/port.js';
import { MemoryLogger } from '../../src/util/logger.js';

const FAST = { settleMs: 5 };

/** Polls until check() is true, so timer tests do not depend on a fast machine. */
async function waitFor(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function lockKeys(storage: MemoryStorage, name = 'app'): string[] {
  return [...storage.objects.keys()].filter((k) => k.startsWith(`locks/${name}/`)).sort();
}

function readLockFile(storage: MemoryStorage, key: string): LockInfo {
  return JSON.parse(storage.objects.get(key)!.data.toString('utf8')) as LockInfo;
}

function writeLockFile(storage: MemoryStorage, key: string, info: LockInfo): void {
  storage.objects.set(key, { data: Buffer.from(JSON.stringify(info)), modified: new Date() });
}

/** A lock left by another run: by default written 10 minutes ago and still being refreshed. */
function foreignLock(overrides: Partial<LockInfo> = {}): LockInfo {
  const created = new Date(Date.now() - 10 * 60_000);
  return {
    id: newLockId(created),
    operation: 'backup',
    holder: 'https://github.com/acme/shop/actions/runs/42',
    createdAt: created.toISOString(),
    refreshedAt: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  };
}

describe('acquireLock', () => {
  it('writes a lock file that release removes', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const lock = await acquireLock(storage, 'app', { operation: 'backup', holder: 'host-a/123', logger, ...FAST });
    assert.deepEqual(lockKeys(storage), [`locks/app/${lock.info.id}.json`]);
    const stored = readLockFile(storage, `locks/app/${lock.info.id}.json`);
    assert.deepEqual(stored, lock.info);
    assert.equal(stored.operation, 'backup');
    assert.equal(stored.holder, 'host-a/123');
    assert.equal(stored.createdAt, stored.refreshedAt);
    assert.match(stored.id, /^\d{8}T\d{9}Z-[0-9a-f]{8}$/);

    await lock.release();
    assert.deepEqual(lockKeys(storage), []);
    await lock.release(); // idempotent
    assert.deepEqual(
      logger.lines.filter((l) => l.startsWith('warning')),
      [],
    );
  });

  it('lets the next run acquire once the first released', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const first = await acquireLock(storage, 'app', { operation: 'backup', holder: 'a', logger, ...FAST });
    await first.release();
    const second = await acquireLock(storage, 'app', { operation: 'restore', holder: 'b', logger, ...FAST });
    assert.deepEqual(lockKeys(storage), [`locks/app/${second.info.id}.json`]);
    await second.release();
  });

  it('keeps locks of different backup sets apart', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const a = await acquireLock(storage, 'app', { operation: 'backup', holder: 'a', logger, ...FAST });
    const b = await acquireLock(storage, 'app-staging', { operation: 'backup', holder: 'b', logger, ...FAST });
    await Promise.all([a.release(), b.release()]);
  });

  it('refuses a second acquirer with a LockedError naming the holder, operation, since and key', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const first = await acquireLock(storage, 'app', {
      operation: 'backup',
      holder: 'https://github.com/acme/shop/actions/runs/42',
      logger,
      ...FAST,
    });
    const error = await acquireLock(storage, 'app', { operation: 'restore-drill', holder: 'laptop/999', logger, ...FAST }).then(
      () => assert.fail('second acquire should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LockedError);
    assert.equal(error.exitCode, 8);
    assert.match(error.message, /'app'/);
    assert.match(error.message, /https:\/\/github\.com\/acme\/shop\/actions\/runs\/42/);
    assert.match(error.message, /\(backup\)/);
    assert.ok(error.message.includes(first.info.createdAt));
    assert.ok(error.hint?.includes(`memory://test/locks/app/${first.info.id}.json`), error.hint);
    assert.match(error.hint ?? '', /Wait/);
    assert.match(error.hint ?? '', /30 minutes/);
    // The loser removed its own file; the holder's is untouched.
    assert.deepEqual(lockKeys(storage), [`locks/app/${first.info.id}.json`]);
    await first.release();
  });

  it('is refused by a live lock from another run found in storage', async () => {
    const storage = new MemoryStorage();
    const other = foreignLock();
    writeLockFile(storage, `locks/app/${other.id}.json`, other);
    await assert.rejects(
      acquireLock(storage, 'app', { operation: 'backup', holder: 'b', logger: new MemoryLogger(), ...FAST }),
      (e: unknown) => e instanceof LockedError && e.message.includes(other.holder) && e.message.includes(other.createdAt),
    );
    assert.deepEqual(lockKeys(storage), [`locks/app/${other.id}.json`]);
  });

  it('takes over a stale lock and logs a warning naming its holder', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const dead = foreignLock({
      holder: 'ci-runner-7/4242',
      createdAt: '2026-11-24T05:00:00.000Z',
      refreshedAt: '2026-11-24T05:20:00.000Z',
      id: '20261124T050000000Z-deadbeef',
    });
    writeLockFile(storage, `locks/app/${dead.id}.json`, dead);
    const now = () => new Date('2026-11-24T06:00:00.000Z'); // 40 minutes after its last refresh
    const lock = await acquireLock(storage, 'app', { operation: 'backup', holder: 'b', logger, now, ...FAST });
    assert.deepEqual(lockKeys(storage), [`locks/app/${lock.info.id}.json`]);
    const warnings = logger.lines.filter((l) => l.startsWith('warning'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /stale lock memory:\/\/test\/locks\/app\/20261124T050000000Z-deadbeef\.json/);
    assert.match(warnings[0]!, /ci-runner-7\/4242/);
    assert.match(warnings[0]!, /2026-11-24T05:20:00\.000Z/);
    await lock.release();
  });

  it('respects staleAfterSeconds: a lock refreshed within it is live', async () => {
    const storage = new MemoryStorage();
    const other = foreignLock({ refreshedAt: '2026-11-24T05:50:00.000Z', createdAt: '2026-11-24T05:00:00.000Z' });
    writeLockFile(storage, `locks/app/${other.id}.json`, other);
    const now = () => new Date('2026-11-24T06:00:00.000Z');
    const logger = new MemoryLogger();
    await assert.rejects(
      acquireLock(storage, 'app', { operation: 'backup', holder: 'b', logger, now, staleAfterSeconds: 15 * 60, refreshEverySeconds: 60, ...FAST }),
      LockedError,
    );
    const lock = await acquireLock(storage, 'app', {
      operation: 'backup',
      holder: 'b',
      logger,
      now,
      staleAfterSeconds: 5 * 60,
      refreshEverySeconds: 60,
      ...FAST,
    });
    assert.match(logger.lines.join('\n'), /more than 5 minutes ago/);
    await lock.release();
  });

  it('ignores a newer lock: that run backs off, not us', async () => {
    const storage = new MemoryStorage();
    const newer = foreignLock({ createdAt: '2026-11-24T06:00:01.000Z', refreshedAt: '2026-11-24T06:00:01.000Z', id: '20261124T060001000Z-00000000' });
    writeLockFile(storage, `locks/app/${newer.id}.json`, newer);
    const now = () => new Date('2026-11-24T06:00:00.000Z');
    const lock = await acquireLock(storage, 'app', { operation: 'backup', holder: 'b', logger: new MemoryLogger(), now, ...FAST });
    assert.equal(lockKeys(storage).length, 2);
    await lock.release();
  });

  it('breaks a tie of equal createdAt by the smaller lock id', async () => {
    const storage = new MemoryStorage();
    const at = '2026-11-24T06:00:00.000Z';
    const smaller = foreignLock({ createdAt: at, refreshedAt: at, id: '20261124T060000000Z-00000000' });
    writeLockFile(storage, `locks/app/${smaller.id}.json`, smaller);
    const now = () => new Date(at);
    await assert.rejects(acquireLock(storage, 'app', { operation: 'backup', holder: 'b', logger: new MemoryLogger(), now, ...FAST }), LockedError);

    const storage2 = new MemoryStorage();
    const larger = foreignLock({ createdAt: at, refreshedAt: at, id: '20261124T060000000Z-ffffffff' });
    writeLockFile(storage2, `locks/app/${larger.id}.json`, larger);
    const lock = await acquireLock(storage2, 'app', { operation: 'backup', holder: 'b', logger: new MemoryLogger(), now, ...FAST });
    await lock.release();
  });

  it('treats an unreadable lock file as a live lock from an unknown holder', async () => {
    const storage = new MemoryStorage();
    storage.objects.set('locks/app/20200101T000000000Z-00000000.json', { data: Buffer.from('{not json'), modified: new Date() });
    await assert.rejects(
      acquireLock(storage, 'app', { operation: 'backup', holder: 'b', logger: new MemoryLogger(), ...FAST }),
      (e: unknown) => e instanceof LockedError && /unknown holder/.test(e.message),
    );
  });

  it('lets exactly one of several concurrent acquirers win', async () => {
    for (let round = 0; round < 10; round++) {
      const storage = new MemoryStorage();
      const logger = new MemoryLogger();
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd'].map((holder) => acquireLock(storage, 'app', { operation: 'backup', holder, logger, settleMs: 20 })),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}`);
      assert.equal(lost.length, 3);
      for (const r of lost) assert.ok(r.reason instanceof LockedError, String(r.reason));
      // Losers name the winner, and left no files behind.
      for (const r of lost) assert.ok((r.reason as LockedError).message.includes(` ${won[0]!.value.info.holder} `));
      assert.deepEqual(lockKeys(storage), [`locks/app/${won[0]!.value.info.id}.json`]);
      await won[0]!.value.release();
    }
  });

  it('with the same clock, the oldest lock id wins a concurrent race', async () => {
    const storage = new MemoryStorage();
    const now = () => new Date('2026-11-24T06:00:00.000Z');
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((holder) => acquireLock(storage, 'app', { operation: 'backup', holder, logger: new MemoryLogger(), now, settleMs: 20 })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  it('refuses a refresh interval that would let its own lock go stale', async () => {
    await assert.rejects(
      acquireLock(new MemoryStorage(), 'app', {
        operation: 'backup',
        holder: 'a',
        logger: new MemoryLogger(),
        staleAfterSeconds: 60,
        refreshEverySeconds: 60,
        ...FAST,
      }),
      UsageError,
    );
  });

  it('removes its own lock when listing fails', async () => {
    const storage = new MemoryStorage();
    storage.list = async function* () {
      yield* [];
      throw new Error('network down');
    };
    await assert.rejects(acquireLock(storage, 'app', { operation: 'backup', holder: 'a', logger: new MemoryLogger(), ...FAST }), /network down/);
    assert.deepEqual(lockKeys(storage), []);
  });
});

describe('lock refresh', () => {
  it('updates refreshedAt on a timer and stops after release', async () => {
    const storage = new MemoryStorage();
    let clock = Date.parse('2026-11-24T06:00:00.000Z');
    const now = () => new Date((clock += 1000));
    const lock = await acquireLock(storage, 'app', {
      operation: 'backup',
      holder: 'a',
      logger: new MemoryLogger(),
      now,
      refreshEverySeconds: 0.01,
      staleAfterSeconds: 1,
      ...FAST,
    });
    const key = `locks/app/${lock.info.id}.json`;
    const before = readLockFile(storage, key);
    await waitFor(() => readLockFile(storage, key).refreshedAt !== before.refreshedAt, 'a refresh');
    const after = readLockFile(storage, key);
    assert.equal(after.createdAt, before.createdAt);
    assert.ok(Date.parse(after.refreshedAt) > Date.parse(before.refreshedAt), `${after.refreshedAt} > ${before.refreshedAt}`);
    assert.equal(lock.info.refreshedAt, after.refreshedAt);

    await lock.release();
    await sleep(50);
    assert.deepEqual(lockKeys(storage), [], 'a refresh must not re-create the lock after release');
  });

  it('does not re-create the lock while a slow refresh races release', async () => {
    const storage = new MemoryStorage();
    const put = storage.put.bind(storage);
    let puts = 0;
    storage.put = async (key: string, body: Readable, options?: PutOptions) => {
      if (++puts > 1) await sleep(30); // refresh writes are slow
      return put(key, body, options);
    };
    const lock = await acquireLock(storage, 'app', {
      operation: 'backup',
      holder: 'a',
      logger: new MemoryLogger(),
      refreshEverySeconds: 0.01,
      staleAfterSeconds: 1,
      ...FAST,
    });
    await sleep(20); // a refresh is now mid-write
    await lock.release();
    await sleep(60);
    assert.deepEqual(lockKeys(storage), []);
  });

  it('logs refresh failures as warnings instead of throwing', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const put = storage.put.bind(storage);
    let puts = 0;
    storage.put = async (key: string, body: Readable, options?: PutOptions) => {
      if (++puts > 1) throw new Error('503 Slow Down');
      return put(key, body, options);
    };
    const lock = await acquireLock(storage, 'app', {
      operation: 'backup',
      holder: 'a',
      logger,
      refreshEverySeconds: 0.01,
      staleAfterSeconds: 1,
      ...FAST,
    });
    const warnings = () => logger.lines.filter((l) => l.startsWith('warning'));
    await waitFor(() => warnings().length >= 2, 'a second refresh attempt after a failure');
    assert.match(warnings()[0]!, /Could not refresh lock memory:\/\/test\/locks\/app\/.*: 503 Slow Down/);
    await lock.release();
    assert.deepEqual(lockKeys(storage), []);
  });

  it('warns and stops refreshing when another run removed its lock', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const lock = await acquireLock(storage, 'app', {
      operation: 'backup',
      holder: 'a',
      logger,
      refreshEverySeconds: 0.01,
      staleAfterSeconds: 1,
      ...FAST,
    });
    await storage.delete([`locks/app/${lock.info.id}.json`]);
    await waitFor(() => logger.lines.length > 0, 'the warning');
    await sleep(50); // several more refresh periods
    assert.deepEqual(lockKeys(storage), [], 'not re-created');
    const warnings = logger.lines.filter((l) => l.startsWith('warning'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /was removed by someone else/);
    await lock.release();
  });

  it('logs a failed release as a warning instead of throwing', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const lock = await acquireLock(storage, 'app', { operation: 'backup', holder: 'a', logger, ...FAST });
    storage.delete = async () => {
      throw new Error('access denied');
    };
    await lock.release();
    assert.match(logger.lines.join('\n'), /warning: Could not remove lock .*access denied/);
  });
});

describe('shared locks (drill, restore) and deleting (issue 11, item 7)', () => {
  it('shared locks neither block each other nor a backup, and a backup does not block them', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const backup = await acquireLock(storage, 'app', { operation: 'backup', holder: 'a', logger, ...FAST });
    const drill = await acquireLock(storage, 'app', { operation: 'restore-drill', holder: 'b', logger, shared: true, ...FAST });
    const restore = await acquireLock(storage, 'app', { operation: 'restore', holder: 'c', logger, shared: true, ...FAST });
    assert.equal(readLockFile(storage, `locks/app/${drill.info.id}.json`).shared, true);
    await Promise.all([backup.release(), drill.release(), restore.release()]);
    // A shared lock does not block an exclusive one either (only deletion).
    const reader = await acquireLock(storage, 'app', { operation: 'restore-drill', holder: 'b', logger, shared: true, ...FAST });
    const prune = await acquireLock(storage, 'app', { operation: 'prune', holder: 'd', logger, ...FAST });
    await Promise.all([reader.release(), prune.release()]);
  });

  it('startDeleting marks the lock and reports the live readers', async () => {
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const prune = await acquireLock(storage, 'app', { operation: 'prune', holder: 'a', logger, ...FAST });
    assert.deepEqual(await prune.startDeleting(), []);
    assert.equal(readLockFile(storage, `locks/app/${prune.info.id}.json`).deletes, true);
    const reader = foreignLock({ operation: 'restore-drill', shared: true });
    writeLockFile(storage, `locks/app/${reader.id}.json`, reader);
    const readers = await prune.startDeleting();
    assert.deepEqual(
      readers.map((r) => r.operation),
      ['restore-drill'],
    );
    await prune.release();
  });

  it('a reader is refused by an older lock that is deleting, naming it', async () => {
    const storage = new MemoryStorage();
    const deleting = foreignLock({ operation: 'prune', deletes: true });
    writeLockFile(storage, `locks/app/${deleting.id}.json`, deleting);
    await assert.rejects(
      acquireLock(storage, 'app', { operation: 'restore-drill', holder: 'b', logger: new MemoryLogger(), shared: true, ...FAST }),
      (e: unknown) => e instanceof LockedError && /prune, deleting backups/.test(e.message),
    );
    // The same lock not (yet) deleting does not refuse a reader.
    writeLockFile(storage, `locks/app/${deleting.id}.json`, { ...deleting, deletes: undefined });
    const reader = await acquireLock(storage, 'app', { operation: 'restore-drill', holder: 'b', logger: new MemoryLogger(), shared: true, ...FAST });
    await reader.release();
  });
});
