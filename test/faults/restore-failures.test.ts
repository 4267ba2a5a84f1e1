// Class 3, failures injected in the middle of a restore: the target raises
// (an event trigger or a CHECK constraint added as a table is created), a lock
// held by another session meets a short lock_timeout, the restoring backend is
// cancelled or terminated. The restore runs in one transaction: the target
// must be exactly as it was (fingerprint: pg_dump + sequences).
import { after, before, describe } from 'node:test';
import { join } from 'node:path';
import type { Client } from '../../src/postgres/connect.js';
import { connect } from '../../src/postgres/connect.js';
import { createSeededDatabase, withClient } from '../helpers/postgres.js';
import { collect, describeRun, hasStackTrace, spawnCli } from './helpers/cli.js';
import { fingerprintDiff, takeFingerprint } from './helpers/fingerprint.js';
import { startWorld, takeBackup, type World } from './helpers/fixture.js';
import { sleep, waitFor } from './helpers/procs.js';
import { faultTest, QUICK } from './helpers/tally.js';

interface Injection {
  what: string;
  quick?: boolean;
  /** Sets the fault up in the target; returns how to undo it. */
  arm(target: string): Promise<() => Promise<void>>;
  /** Runs while the restore is going (e.g. terminates its backend). */
  during?(target: string, stop: () => boolean): Promise<void>;
}

/** An event trigger (in a schema the restore does not replace) that raises at one DDL command. */
function eventTriggerAt(tag: string, objectLike: string): Injection['arm'] {
  return async (target) => {
    await withClient(target, (c) =>
      c.query(`
        CREATE SCHEMA fault_inject;
        CREATE FUNCTION fault_inject.raise() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE command_tag = '${tag}' AND object_identity LIKE '${objectLike}') THEN
            RAISE EXCEPTION 'fault injected at % %', '${tag}', '${objectLike}';
          END IF;
        END $$;
        CREATE EVENT TRIGGER fault_inject ON ddl_command_end EXECUTE FUNCTION fault_inject.raise();`),
    );
    return () => withClient(target, (c) => c.query('DROP EVENT TRIGGER fault_inject; DROP SCHEMA fault_inject CASCADE').then(() => undefined));
  };
}

/** When the restore creates `table`, add something to it that fails row `failAt` of its data. */
function onCreateOf(table: string, addition: (t: string) => string): Injection['arm'] {
  return async (target) => {
    await withClient(target, (c) =>
      c.query(`
        CREATE SCHEMA fault_inject;
        CREATE FUNCTION fault_inject.row_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'fault injected at row %', NEW.id; END $$;
        CREATE FUNCTION fault_inject.arm() RETURNS event_trigger LANGUAGE plpgsql AS $$
        DECLARE cmd record;
        BEGIN
          FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_identity = '${table}' LOOP
            EXECUTE ${addition('cmd.object_identity')};
          END LOOP;
        END $$;
        CREATE EVENT TRIGGER fault_inject ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION fault_inject.arm();`),
    );
    return () => withClient(target, (c) => c.query('DROP EVENT TRIGGER fault_inject; DROP SCHEMA fault_inject CASCADE').then(() => undefined));
  };
}

async function setDatabase(target: string, setting: string, value: string): Promise<() => Promise<void>> {
  const db = new URL(target).pathname.slice(1);
  await withClient(target, (c) => c.query(`ALTER DATABASE "${db}" SET ${setting} = '${value}'`));
  // From another database: with default_transaction_read_only on, a session in the target itself (even one that
  // SETs it off in the same multi-statement query, one implicit read-only transaction) cannot RESET it.
  const maintenance = new URL(target);
  maintenance.pathname = '/postgres';
  return () => withClient(maintenance.toString(), (c) => c.query(`ALTER DATABASE "${db}" RESET ${setting}`).then(() => undefined));
}

/** Waits until another session on the target copies data, then runs `act` on it. */
async function duringCopy(target: string, stop: () => boolean, act: 'pg_terminate_backend' | 'pg_cancel_backend'): Promise<void> {
  await waitFor(
    () =>
      withClient(target, async (c) => {
        const r = await c.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'COPY %bulk%' AND state = 'active'",
        );
        for (const row of r.rows) await c.query(`SELECT ${act}($1)`, [row.pid]);
        return r.rows.length > 0 || stop();
      }).catch(() => stop()),
    120_000,
    20,
  );
}

const INJECTIONS: Injection[] = [
  { what: 'an event trigger raises when the restore creates public.tickets (pre-data)', arm: eventTriggerAt('CREATE TABLE', 'public.tickets') },
  { what: 'an event trigger raises when the restore creates the last index (post-data)', arm: eventTriggerAt('CREATE INDEX', '%bulk_note%') },
  { what: 'an event trigger raises when the restore adds a foreign key (post-data)', arm: eventTriggerAt('ALTER TABLE', '%') },
  {
    what: 'a CHECK constraint on public.bulk rejects row 100000 of its data',
    quick: true,
    arm: onCreateOf('public.bulk', (t) => `format('ALTER TABLE %s ADD CONSTRAINT fault_check CHECK (id < 100000)', ${t})`),
  },
  {
    what: 'a row trigger on public.bulk raises at its first row',
    arm: onCreateOf(
      'public.bulk',
      (t) => `format('CREATE TRIGGER fault_row BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION fault_inject.row_fault()', ${t})`,
    ),
  },
  {
    what: 'another session holds a lock on public.tickets, lock_timeout 1s',
    quick: true,
    async arm(target) {
      const reset = await setDatabase(target, 'lock_timeout', '1s');
      const holder: Client = await connect(target);
      await holder.query('BEGIN; LOCK TABLE public.tickets IN ACCESS SHARE MODE');
      return async () => {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
        await reset();
      };
    },
  },
  {
    what: 'the restoring backend is terminated (pg_terminate_backend) during COPY',
    quick: true,
    arm: async () => async () => undefined,
    during: (t, stop) => duringCopy(t, stop, 'pg_terminate_backend'),
  },
  {
    what: 'the restoring statement is cancelled (pg_cancel_backend) during COPY',
    arm: async () => async () => undefined,
    during: (t, stop) => duringCopy(t, stop, 'pg_cancel_backend'),
  },
  { what: 'the target database is read-only (default_transaction_read_only)', arm: (t) => setDatabase(t, 'default_transaction_read_only', 'on') },
];

describe('class 3: failures in the middle of a restore', () => {
  let world: World;
  let storage: string;
  let target: string;

  before(async () => {
    world = await startWorld({ scale: 10, bulkRows: 200_000 });
    storage = join(world.work, 'storage');
    await takeBackup(world, storage);
    target = await createSeededDatabase(world.cluster, 'target', 7);
    await withClient(target, (c) =>
      c.query("CREATE TABLE public.target_only (id serial PRIMARY KEY, v text); INSERT INTO public.target_only (v) VALUES ('keep me')"),
    );
  });
  after(() => world?.stop());

  for (const inj of INJECTIONS.filter((i) => !QUICK || i.quick)) {
    faultTest('restore-failure', `restore: ${inj.what}`, async () => {
      const disarm = await inj.arm(target);
      let problems: string[] = [];
      try {
        const before = await takeFingerprint(target);
        const child = spawnCli([
          'restore',
          'latest',
          '--storage',
          storage,
          '--database-url',
          target,
          '--force',
          '--ignore-schema-mismatch',
          '--yes',
          '--parts',
          'database',
        ]);
        let finished = false;
        const run = collect(child, 300_000).finally(() => (finished = true));
        await inj.during?.(target, () => finished);
        const r = await run;
        await sleep(200);
        const diff = fingerprintDiff(before, await takeFingerprint(target));
        if (r.status === 0) problems.push('the restore succeeded: the fault did not fire (or was ignored)');
        if (r.timedOut) problems.push('the restore hung');
        if (hasStackTrace(r)) problems.push('stack trace in the output');
        if (diff) problems.push(`the target changed: ${diff}`);
        if (problems.length) problems = [`${problems.join('; ')} — ${describeRun(r)}`];
      } finally {
        await disarm();
      }
      return problems.join('; ') || undefined;
    });
  }
});
