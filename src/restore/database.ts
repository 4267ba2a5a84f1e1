// The database part of a restore, all-or-nothing. One psql session, one transaction:
//
//   BEGIN
//   drop every schema the dump restores (CASCADE: objects newer than the
//   backup go too), recreate the ones the dump does not create itself
//   (public) with their previous owner and privileges
//   ← pg_restore -f - (the dump as a SQL script; --no-owner --no-acl)
//   verify every table against the manifest (gate.ts)
//   … caller swaps the files in …
//   COMMIT
//
// Any error stops psql (ON_ERROR_STOP) before COMMIT, and a dropped
// connection never commits: the server rolls back and the target is exactly
// as it was. Per-table restores use the same session with a different preamble.
import { createReadStream } from 'node:fs';
import type { Manifest, TableStats } from '../archive/manifest.js';
import { DatabaseError, IntegrityError, ToolError } from '../errors.js';
import { connect, ident, qualified } from '../postgres/connect.js';
import type { Logger } from '../util/logger.js';
import { GATE_MARK, gateFailure, gateSql } from './gate.js';
import { PsqlExited, PsqlSession, scriptFrom } from './psql.js';
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
  abort(): Promise<void>;
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
  a record;
BEGIN
  FOREACH s IN ARRAY ${array(drop)} LOOP
    SELECT pg_catalog.pg_get_userbyid(nspowner), nspacl INTO previous_owner, previous_acl FROM pg_catalog.pg_namespace WHERE nspname = s;
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

function preamble(what: RestoreKind, manifest: Manifest): string {
  const head = `BEGIN;\nSET client_min_messages = warning;\nSET lock_timeout = ${literal(LOCK_TIMEOUT)};\n`;
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

/** Turns psql's exit into an error that says what happened to the target: nothing. */
function explain(error: unknown, target: string): unknown {
  if (!(error instanceof PsqlExited)) return error;
  const tail = error.stderr
    .split('\n')
    .filter((l) => l.trim())
    .slice(-8)
    .join('\n');
  if (error.stderr.includes(GATE_MARK)) return gateFailure(error.stderr, tail, target);
  if (/lock timeout/i.test(error.stderr)) {
    return new DatabaseError(`Timed out (${LOCK_TIMEOUT}) waiting for locks on ${target}: other sessions are using the tables being replaced.`, {
      hint: 'Nothing was changed. Stop the app (or other clients) using the database, then run the restore again.',
    });
  }
  if (
    /server closed the connection|terminating connection|connection to server .* (failed|lost)|no connection to the server|could not receive data|SSL SYSCALL/i.test(
      error.stderr,
    )
  ) {
    return new DatabaseError(`The connection to ${target} was lost during the restore: ${tail}`, {
      hint: 'The transaction was not committed, so the target is unchanged. Check the server and run the restore again.',
    });
  }
  if (error.code === 2 && /could not connect|connection to server/i.test(error.stderr)) {
    return new DatabaseError(`Cannot connect to ${target} for the restore: ${tail}`, { hint: "Check 'database-url'." });
  }
  return new DatabaseError(`The restore failed on ${target} and was rolled back: ${tail}`, {
    hint: 'The whole restore runs in one transaction: the target is unchanged. Fix the cause above (often a missing role, extension or privilege) and run it again.',
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
}

/** Runs everything up to (not including) COMMIT. On any failure the transaction is gone and the error says so. */
export async function prepareRestore(options: PrepareOptions): Promise<Prepared> {
  const { what, manifest } = options;
  const session = PsqlSession.start({ binDir: options.binDir, databaseUrl: options.databaseUrl, signal: options.signal });
  const args = what.kind === 'full' ? ['--exit-on-error'] : what.kind === 'tables' ? ['--data-only', '-L', what.listFile] : ['-L', what.listFile];
  let script: ReturnType<typeof scriptFrom> | undefined;
  try {
    await session.write(preamble(what, manifest));
    if (options.rolesSql) await session.write(options.rolesSql);
    // With redacted tables, their rows come from redacted-data.sql, between the data and post-data sections.
    const phases = what.kind === 'full' && options.redactedFile ? [['--section=pre-data', '--section=data'], null, ['--section=post-data']] : [[]];
    for (const phase of phases) {
      if (phase === null) {
        await session.pipeFrom(createReadStream(options.redactedFile!) as AsyncIterable<Buffer>);
        continue;
      }
      script = scriptFrom({ binDir: options.binDir, file: options.dumpFile, args: [...args, ...phase], signal: options.signal });
      const source = script.stdout as AsyncIterable<Buffer>;
      await session.pipeFrom(what.kind === 'into-schema' ? rewriteIntoSchema(source, what.tables, what.intoSchema) : source);
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
          rewriteIntoSchema(selectCopyBlocks(createReadStream(options.redactedFile!) as AsyncIterable<Buffer>, copies), copies, what.intoSchema),
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
          const fate = await transactionStatus(options.databaseUrl, xid);
          if (fate === 'committed') {
            options.logger.warn(`psql reported a problem after COMMIT, but transaction ${xid} is committed: ${(error as Error).message}`);
            return;
          }
          throw fate === 'aborted'
            ? explain(error, options.targetName)
            : new DatabaseError(
                `COMMIT of the restore on ${options.targetName} did not confirm, and the transaction's outcome (${xid}) could not be read: ${(error as Error).message}`,
                {
                  hint: `Check the target: SELECT txid_status(${xid}); 'committed' means the restore is in, 'aborted' that nothing changed.`,
                },
              );
        }
      },
      abort: () => session.abort(),
    };
  } catch (error) {
    script?.kill();
    session.kill();
    await session.abort();
    if (error instanceof ToolError && error.tool === 'pg_restore') {
      throw new ToolError('pg_restore', `pg_restore could not read the staged dump: ${error.message}`, {
        hint: `Nothing was committed: ${options.targetName} is unchanged.`,
        cause: error,
      });
    }
    // A psql that stopped explains the failure better than the EPIPE or stream error that followed it.
    if (!(error instanceof PsqlExited) && session.stderr && /ERROR|FATAL|connection/i.test(session.stderr)) {
      throw explain(new PsqlExited(1, session.stderr), options.targetName);
    }
    throw explain(error, options.targetName);
  }
}

async function transactionStatus(url: string | undefined, xid: string): Promise<'committed' | 'aborted' | 'in progress' | 'unknown'> {
  try {
    const client = await connect(url);
    try {
      const { rows } = await client.query<{ s: string | null }>('SELECT pg_catalog.txid_status($1::bigint) AS s', [xid]);
      return (rows[0]?.s as 'committed' | 'aborted' | 'in progress' | null) ?? 'unknown';
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch {
    return 'unknown';
  }
}
