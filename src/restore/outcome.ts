// What became of the restore's transaction after a failure, asked of the
// server rather than assumed: the messages say "unchanged" only when the
// server confirms the transaction aborted.
import { connect } from '../postgres/connect.js';

export type Outcome =
  /** No transaction was opened (psql never got that far): nothing could change. */
  { kind: 'not-started' } | { kind: 'aborted'; xid: string } | { kind: 'committed'; xid: string } | { kind: 'unknown'; xid: string; why: string };

/** How long to wait for a server process that is still busy in the abandoned transaction. */
const SETTLE_MS = 15_000;

/**
 * Learns the fate of transaction `xid` (run by server process `pid`). A
 * transaction still in progress (its psql is gone, but the server is busy in a
 * statement and has not noticed) is ended with pg_terminate_backend, so that
 * it rolls back now and releases its locks, and the answer is definite.
 */
export async function settleTransaction(url: string | undefined, xid: string | undefined, pid: number | undefined): Promise<Outcome> {
  if (!xid) return { kind: 'not-started' };
  let client;
  try {
    client = await connect(url, { applicationName: 'backup-drill restore (outcome)' });
  } catch (error) {
    return { kind: 'unknown', xid, why: `cannot connect to ask the server: ${(error as Error).message}` };
  }
  try {
    const deadline = Date.now() + SETTLE_MS;
    for (let terminated = false; ;) {
      const { rows } = await client.query<{ s: string | null; alive: boolean }>(
        `SELECT pg_catalog.txid_status($1::bigint) AS s,
                EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $2::int AND backend_xid::text::bigint = $1::bigint % 4294967296) AS alive`,
        [xid, pid ?? 0],
      );
      const status = rows[0]?.s;
      if (status === 'committed') return { kind: 'committed', xid };
      if (status === 'aborted') return { kind: 'aborted', xid };
      if (status !== 'in progress') return { kind: 'unknown', xid, why: `the server reports its status as ${status ?? 'unknown (too old)'}` };
      if (Date.now() > deadline) return { kind: 'unknown', xid, why: 'it is still in progress on the server' };
      if (rows[0]!.alive && !terminated && pid) {
        await client.query('SELECT pg_catalog.pg_terminate_backend($1::int)', [pid]);
        terminated = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    return { kind: 'unknown', xid, why: `the server could not be asked: ${(error as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One sentence for the error's hint: what happened to the target. */
export function outcomeSentence(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'not-started':
      return 'No restore transaction was opened: the target is unchanged.';
    case 'aborted':
      return `Rolled back, not committed (confirmed by the server: transaction ${outcome.xid} aborted): the target is unchanged.`;
    case 'committed':
      return (
        `WARNING: transaction ${outcome.xid} was COMMITTED although the restore failed: the target has changed and holds neither its previous ` +
        'content nor the backup. Restore it again (or from your own last copy), and report this.'
      );
    case 'unknown':
      return (
        `Whether transaction ${outcome.xid} was rolled back could not be confirmed (${outcome.why}). This tool never sent COMMIT, so ` +
        `PostgreSQL rolls it back when its session ends; check with SELECT txid_status(${outcome.xid}): 'aborted' means the target is unchanged.`
      );
  }
}
