// The database part of a restore, all-or-nothing. One psql session, one transaction:
//
//   BEGIN (psql.ts: only this session's own COMMIT can end it)
//   drop every schema the dump restores (CASCADE: objects newer than the
//   backup go too), recreate the ones the dump does not create itself
//   (public) with their previous owner, privileges and comment
//   ← pg_restore --single-transaction -f - (the dump as a SQL script;
//     --no-owner --no-acl), through script-guard.ts (no statement that
//     could end the transaction reaches psql)
//   verify every table against the manifest (gate.ts)
//   … caller swaps the files in …
//   COMMIT
//
// Any error stops psql (ON_ERROR_STOP) before COMMIT, and a dropped
// connection never commits: the server rolls back and the target is exactly
// as it was. After a failure the server is asked (outcome.ts) and the error
// says what it confirmed. Per-table restores use the same session with a
// different preamble.
import { createReadStream } from 'node:fs';
import type { Manifest, TableStats } from '../archive/manifest.js';
import { BackupDrillError, DatabaseError, IntegrityError, ToolError } from '../errors.js';
import { ident, qualified } from '../postgres/connect.js';
import type { Logger } from '../util/logger.js';
import { GATE_MARK, gateFailure, gateSql } from './gate.js';
import { EARLY_COMMIT_MARK, PsqlExited, PsqlSession, TransactionEscaped, scriptFrom } from './psql.js';
import { outcomeSentence, settleTransaction, type Outcome } from './outcome.js';
import { ScriptRefused, guardScript } from './script-guard.js';
import { redactedTableKeys, rewriteIntoSchema, selectCopyBlocks } from './tables.js';
import type { Toc } from './toc.js';

/** How long to wait for the app's locks on the objects being replaced before giving up (and changing nothing). */
export const LOCK_TIMEOUT = '60s';

export type RestoreKind =
  | { kind: 'full'; toc: Toc }
  | { kind: 'tables'; tables: TableStats[]; listFile: string }
  | { kind: 'into-schema'; tables: TableStats[]; listFile: string; intoSchema: string; replaceCopies: boolean };

export interface Prepared {
  /** The open transaction's id (to learn its fate if the connection drops during COMMIT). */
  xid: string;
  commit(): Promise<void>;
  /** Rolls back instead of committing; returns `error` restated with the confirmed outcome. */
  abandon(error: unknown): Promise<unknown>;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Schemas a full restore replaces: those the dump creates, plus public (which pg_dump never creates). */
export function schemasToReplace(toc: Toc, manifest: Pick<Manifest, 'tables'>): { drop: string[]; recreate: string[] } {
  const created = new Set(toc.schemas);
  const all = new Set<string>(['public', ...toc.schemas, ...manifest.tables.map((t) => t.schema)]);
  return { drop: [...all].sort(), recreate: [...all].filter((s) => !created.has(s)).sort() };
}

function fullPreamble(toc: Toc, manifest: Manifest): string {
  const { drop, recreate } = schemasToReplace(toc, manifest);
  const array = (list: string[]) => `ARRAY[${list.map(literal).join(', ')}]::text[]`;
  return `
DO $bd_reset$
DECLARE
  s text;
  previous_owner text;
  previous_acl aclitem[];
  previous_comment text;
  a record;
BEGIN
  FOREACH s IN ARRAY ${array(drop)} LOOP
    SELECT pg_catalog.pg_get_userbyid(nspowner), nspacl, pg_catalog.obj_description(oid, 'pg_namespace')
      INTO previous_owner, previous_acl, previous_comment FROM pg_catalog.pg_namespace WHERE nspname = s;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', s);
    IF s = ANY (${array(recreate)}) THEN
      EXECUTE format('CREATE SCHEMA %I', s);
      IF previous_owner IS NOT NULL THEN
        BEGIN
          EXECUTE format('ALTER SCHEMA %I OWNER TO %I', s, previous_owner);
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE WARNING 'backup-drill: schema % now belongs to %, not %', s, current_user, previous_owner;
        END;
      END IF;
      -- The comment too ('standard public schema'): pg_dump does not carry it, a plain pg_restore keeps it.
      IF previous_comment IS NOT NULL THEN
        EXECUTE format('COMMENT ON SCHEMA %I IS %L', s, previous_comment);
      END IF;
      IF previous_acl IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', s);
        FOR a IN SELECT grantee, privilege_type, is_grantable FROM pg_catalog.aclexplode(previous_acl) LOOP
          EXECUTE format('GRANT %s ON SCHEMA %I TO %s%s', a.privilege_type, s,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
      END IF;
    END IF;
  END LOOP;
END
$bd_reset$;
${toc.hasLargeObjects ? 'SELECT count(pg_catalog.lo_unlink(oid)) FROM pg_catalog.pg_largeobject_metadata;\n' : ''}`;
}

/** Runs right after PsqlSession.begin(), inside its transaction. */
function preamble(what: RestoreKind, manifest: Manifest, lockTimeout: string): string {
  const head = `SET client_min_messages = warning;\nSET lock_timeout = ${literal(lockTimeout)};\n`;
  const tail = 'SET lock_timeout = 0;\n';
  switch (what.kind) {
    case 'full':
      return head + fullPreamble(what.toc, manifest) + tail;
    case 'tables':
      return head + `TRUNCATE ONLY ${what.tables.map((t) => qualified(t.schema, t.name)).join(', ')};\n` + tail;
    case 'into-schema': {
      const drops = what.replaceCopies ? what.tables.map((t) => `DROP TABLE IF EXISTS ${qualified(what.intoSchema, t.name)};\n`).join('') : '';
      return head + `CREATE SCHEMA IF NOT EXISTS ${ident(what.intoSchema)};\n` + drops + tail;
    }
  }
}

function gateFor(what: RestoreKind, manifest: Manifest): string {
  switch (what.kind) {
    case 'full':
      return gateSql(manifest.tables, manifest);
    case 'tables':
      return gateSql(what.tables, manifest);
    case 'into-schema':
      return gateSql(what.tables, manifest, () => what.intoSchema);
  }
}

/** What went wrong, from psql's exit and stderr; the hint ends with what happened to the target (the confirmed outcome). */
function explain(error: unknown, target: string, outcome: Outcome, options: { lockTimeout: string; signal?: AbortSignal }): unknown {
  const fate = outcomeSentence(outcome);
  // "Rolled back" only when the server confirmed it (or nothing was begun); otherwise the hint says what is known.
  const rolledBack = outcome.kind === 'aborted' || outcome.kind === 'not-started';
  if (options.signal?.aborted) {
    const reason = options.signal.reason instanceof Error ? options.signal.reason.message : 'Interrupted.';
    return new BackupDrillError('failure', `${reason} The restore into ${target} stopped before COMMIT.`, { hint: fate, cause: error });
  }
  if (error instanceof ScriptRefused) return new IntegrityError(error.message, { hint: `${fate} ${error.hint ?? ''}`.trim(), cause: error });
  if (error instanceof TransactionEscaped) {
    return new IntegrityError(`Something in the restore script ended its transaction early: ${error.message}.`, {
      hint: `${fate} Report this with the backup's pg_dump version.`,
    });
  }
  if (!(error instanceof PsqlExited)) {
    if (error instanceof BackupDrillError)
      return new BackupDrillError(error.category, error.message, { hint: `${fate} ${error.hint ?? ''}`.trim(), cause: error });
    return new DatabaseError(`The restore into ${target} failed: ${(error as Error)?.message ?? String(error)}`, { hint: fate, cause: error });
  }
  const tail = error.stderr
    .split('\n')
    .filter((l) => l.trim())
    .slice(-8)
    .join('\n');
  if (error.stderr.includes(EARLY_COMMIT_MARK)) {
    return new IntegrityError(`A statement in the restore script tried to commit the restore before it was verified, and was refused: ${tail}`, {
      hint: `${fate} Report this with the backup's pg_dump version.`,
    });
  }
  if (error.stderr.includes(GATE_MARK)) return gateFailure(error.stderr, tail, fate, rolledBack);
  if (/lock timeout/i.test(error.stderr)) {
    return new DatabaseError(`Timed out (${options.lockTimeout}) waiting for locks on ${target}: other sessions are using the tables being replaced.`, {
      hint: `${fate} Stop the app (or other clients) using the database, then run the restore again.`,
    });
  }
  if (
    /server closed the connection|terminating connection|connection to server .* (failed|lost)|no connection to the server|could not receive data|SSL SYSCALL/i.test(
      error.stderr,
    )
  ) {
    return new DatabaseError(`The connection to ${target} was lost during the restore: ${tail}`, {
      hint: `${fate} Check the server and run the restore again.`,
    });
  }
  if (error.code === 2 && /could not connect|connection to server/i.test(error.stderr)) {
    return new DatabaseError(`Cannot connect to ${target} for the restore: ${tail}`, { hint: `${fate} Check 'database-url'.` });
  }
  return new DatabaseError(`The restore failed on ${target}${rolledBack ? ' and was rolled back' : ''}: ${tail}`, {
    hint: `${fate} Fix the cause above (often a missing role, extension or privilege) and run it again.`,
  });
}

export interface PrepareOptions {
  binDir: string;
  databaseUrl: string | undefined;
  dumpFile: string;
  /** Staged redacted-data.sql: loaded between the data and post-data sections of a full restore. */
  redactedFile?: string;
  /** SQL creating missing roles (create-roles), run first inside the same transaction. */
  rolesSql?: string;
  manifest: Manifest;
  what: RestoreKind;
  /** "app on db.example.com:5432", for messages. */
  targetName: string;
  logger: Logger;
  signal?: AbortSignal;
  /** How long to wait for other sessions' locks (default LOCK_TIMEOUT). */
  lockTimeout?: string;
}

/** pg_restore's script for one phase, guarded: only the restore's own transaction, nothing that could end it. */
function guardedScript(options: PrepareOptions, args: string[]): { script: ReturnType<typeof scriptFrom>; source: AsyncIterable<Buffer> } {
  const { what } = options;
  const script = scriptFrom({ binDir: options.binDir, file: options.dumpFile, args });
  const guarded = guardScript(script.stdout as AsyncIterable<Buffer>, { stripOuterTransaction: true, what: 'the dump' });
  return { script, source: what.kind === 'into-schema' ? rewriteIntoSchema(guarded, what.tables, what.intoSchema) : guarded };
}

/** Runs everything up to (not including) COMMIT. On any failure the transaction is gone and the error says so. */
export async function prepareRestore(options: PrepareOptions): Promise<Prepared> {
  const { what, manifest } = options;
  const lockTimeout = options.lockTimeout ?? LOCK_TIMEOUT;
  const session = PsqlSession.start({ binDir: options.binDir, databaseUrl: options.databaseUrl, signal: options.signal });
  const args = what.kind === 'full' ? [] : what.kind === 'tables' ? ['--data-only', '-L', what.listFile] : ['-L', what.listFile];
  let script: ReturnType<typeof scriptFrom> | undefined;
  /** Rolls back (or makes sure the server did) and explains the failure with the confirmed outcome. */
  const fail = async (error: unknown): Promise<unknown> => {
    script?.kill();
    session.kill();
    await session.abort();
    // A psql that stopped explains the failure better than the EPIPE or stream error that followed it.
    const cause =
      !(error instanceof PsqlExited) && !(error instanceof ScriptRefused) && session.stderr && /ERROR|FATAL|connection/i.test(session.stderr)
        ? new PsqlExited(1, session.stderr)
        : error;
    const outcome = await settleTransaction(options.databaseUrl, session.xid, session.pid);
    if (error instanceof ToolError && error.tool === 'pg_restore' && !options.signal?.aborted) {
      return new ToolError('pg_restore', `pg_restore could not read the staged dump: ${error.message}`, { hint: outcomeSentence(outcome), cause: error });
    }
    return explain(cause, options.targetName, outcome, { lockTimeout, signal: options.signal });
  };
  try {
    await session.begin();
    await session.write(preamble(what, manifest, lockTimeout));
    if (options.rolesSql) await session.write(options.rolesSql);
    // With redacted tables, their rows come from redacted-data.sql, between the data and post-data sections.
    const phases = what.kind === 'full' && options.redactedFile ? [['--section=pre-data', '--section=data'], null, ['--section=post-data']] : [[]];
    for (const phase of phases) {
      if (phase === null) {
        await session.pipeFrom(
          guardScript(createReadStream(options.redactedFile!) as AsyncIterable<Buffer>, { stripOuterTransaction: false, what: 'redacted-data.sql' }),
        );
        continue;
      }
      const guarded = guardedScript(options, [...args, ...phase]);
      script = guarded.script;
      await session.pipeFrom(guarded.source);
      // COMMIT is never sent unless pg_restore produced the whole script.
      await script.done;
    }
    // Copies of redacted tables: their rows (credentials replaced) are in redacted-data.sql, not in the dump.
    // (Into the live tables they are refused by the guards: they would overwrite real credentials.)
    if (what.kind === 'into-schema') {
      const redacted = redactedTableKeys(manifest);
      const copies = what.tables.filter((t) => redacted.has(`${t.schema}.${t.name}`));
      if (copies.length && !options.redactedFile)
        throw new IntegrityError(`The backup has no redacted-data part for ${copies.map((t) => `${t.schema}.${t.name}`).join(', ')}.`, {
          hint: 'Use another backup.',
        });
      if (copies.length)
        await session.pipeFrom(
          guardScript(rewriteIntoSchema(selectCopyBlocks(createReadStream(options.redactedFile!) as AsyncIterable<Buffer>, copies), copies, what.intoSchema), {
            stripOuterTransaction: false,
            what: 'redacted-data.sql',
          }),
        );
    }
    await session.write(gateFor(what, manifest));
    const xid = await session.ready();
    options.logger.info(`Restore ran and verified inside transaction ${xid} on ${options.targetName}; not committed yet.`);
    return {
      xid,
      commit: async () => {
        try {
          await session.commit();
        } catch (error) {
          const outcome = await settleTransaction(options.databaseUrl, xid, session.pid);
          if (outcome.kind === 'committed') {
            options.logger.warn(`psql reported a problem after COMMIT, but transaction ${xid} is committed: ${(error as Error).message}`);
            return;
          }
          throw outcome.kind === 'aborted'
            ? explain(error, options.targetName, outcome, { lockTimeout })
            : new DatabaseError(`COMMIT of the restore on ${options.targetName} did not confirm: ${(error as Error).message}`, {
                hint:
                  outcome.kind === 'unknown'
                    ? `Its outcome could not be read (${outcome.why}). Check the target: SELECT txid_status(${xid}); 'committed' means the restore is in, 'aborted' that nothing changed.`
                    : outcomeSentence(outcome),
              });
        }
      },
      abandon: async (error: unknown) => {
        await session.abort();
        const outcome = await settleTransaction(options.databaseUrl, xid, session.pid);
        if (error instanceof BackupDrillError) return new BackupDrillError(error.category, error.message, { hint: outcomeSentence(outcome), cause: error });
        return new DatabaseError(`The restore into ${options.targetName} stopped before COMMIT: ${(error as Error)?.message ?? String(error)}`, {
          hint: outcomeSentence(outcome),
          cause: error,
        });
      },
    };
  } catch (error) {
    throw await fail(error);
  }
}
