// Large objects: count, bytes and a content digest, computed in SQL so no
// content passes through Node. Each object is read in 1 MiB pieces (lo_get
// with an offset), hashed piece by piece, and its digest is the hash of its
// pieces' hashes: the server holds one piece per object at a time, not the
// whole object. pg_dump keeps large objects' OIDs, so the set digest is an
// order-independent sum over (oid, digest).
import type { ObjectsSummary } from '../../archive/manifest.js';
import type { ObjectResult } from '../../report/types.js';
import type { Client } from '../connect.js';
import { plural, someOf } from './common.js';

type LargeObjects = NonNullable<ObjectsSummary['largeObjects']>;

const PIECE = 1 << 20;
/** Up to this many objects, each one's digest is recorded so a drill can name the one that differs. */
const MAX_ITEMS = 1000;

/** Hash of a bytea piece, as bytea (sha256 arrived in PostgreSQL 11). */
function pieceHash(serverVersionNum: number, expr: string): string {
  return serverVersionNum >= 110000 ? `pg_catalog.sha256(${expr})` : `pg_catalog.decode(pg_catalog.md5(${expr}), 'hex')`;
}

export async function captureLargeObjects(client: Client, serverVersionNum: number): Promise<LargeObjects | null> {
  const { rows: any } = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_catalog.pg_largeobject_metadata');
  if (any[0]!.n === '0') return null;
  const h = (e: string) => pieceHash(serverVersionNum, e);
  const algorithm = serverVersionNum >= 110000 ? 'sha256' : 'md5';
  const { rows } = await client.query<{ count: string; bytes: string; sum: string; items: LargeObjects['items'] | null }>(`
    WITH RECURSIVE piece(lo, off, len, h) AS (
      SELECT m.oid, 0::bigint, pg_catalog.length(x.d), ${h('x.d')}
        FROM pg_catalog.pg_largeobject_metadata m, LATERAL (SELECT pg_catalog.lo_get(m.oid, 0, ${PIECE}) AS d) x
      UNION ALL
      SELECT p.lo, p.off + ${PIECE}, pg_catalog.length(x.d), ${h('x.d')}
        FROM piece p, LATERAL (SELECT pg_catalog.lo_get(p.lo, p.off + ${PIECE}, ${PIECE}) AS d) x
       WHERE p.len = ${PIECE}
    ), per AS MATERIALIZED (
      SELECT lo, sum(len)::bigint AS bytes, pg_catalog.encode(${h("pg_catalog.string_agg(h, ''::bytea ORDER BY off)")}, 'hex') AS digest
        FROM piece GROUP BY lo
    )
    SELECT (SELECT count(*) FROM per)::text AS count,
           (SELECT coalesce(sum(bytes), 0) FROM per)::text AS bytes,
           (SELECT coalesce(sum(pg_catalog.hashtextextended(lo::text || ':' || digest, 0)::numeric), 0) FROM per)::text AS sum,
           (SELECT json_agg(json_build_object('oid', lo, 'bytes', bytes, 'digest', digest) ORDER BY lo)
              FROM (SELECT * FROM per ORDER BY lo LIMIT ${MAX_ITEMS + 1}) p) AS items`);
  const r = rows[0]!;
  const result: LargeObjects = { count: Number(r.count), bytes: Number(r.bytes), digest: `${algorithm}-sum:${r.sum}` };
  if (r.items && r.items.length <= MAX_ITEMS) result.items = r.items;
  return result;
}

export async function compareLargeObjects(client: Client, expected: LargeObjects | null, serverVersionNum: number): Promise<ObjectResult> {
  const got = await captureLargeObjects(client, serverVersionNum);
  const name = 'large objects';
  if (!expected && !got) return { kind: 'large-objects', name, status: 'passed', message: 'none in the backup, none restored' };
  if (!expected) return { kind: 'large-objects', name, status: 'failed', message: `none in the backup, ${got!.count} restored` };
  if (!got) return { kind: 'large-objects', name, status: 'failed', message: `${expected.count} in the backup, none restored` };
  if (got.count === expected.count && got.bytes === expected.bytes && got.digest === expected.digest) {
    return { kind: 'large-objects', name, status: 'passed', message: `${plural(got.count, 'large object')}, ${plural(got.bytes, 'byte')}, content identical` };
  }
  return { kind: 'large-objects', name, status: 'failed', message: describeDifference(expected, got) };
}

/** What differs between two large-object summaries, naming objects by OID when both list them. */
export function describeDifference(expected: LargeObjects, got: LargeObjects): string {
  const head = `${expected.count} large objects (${expected.bytes} bytes) in the backup, ${got.count} (${got.bytes} bytes) restored`;
  if (!expected.items || !got.items) return `${head}; content digest differs`;
  const restored = new Map(got.items.map((i) => [i.oid, i]));
  const recorded = new Set(expected.items.map((i) => i.oid));
  const missing = expected.items.filter((i) => !restored.has(i.oid)).map((i) => String(i.oid));
  const changed = expected.items.filter((i) => restored.has(i.oid) && restored.get(i.oid)!.digest !== i.digest).map((i) => String(i.oid));
  const extra = got.items.filter((i) => !recorded.has(i.oid)).map((i) => String(i.oid));
  const parts = [
    ...(changed.length ? [`content differs: large object ${someOf(changed)}`] : []),
    ...(missing.length ? [`missing: large object ${someOf(missing)}`] : []),
    ...(extra.length ? [`not in the backup: large object ${someOf(extra)}`] : []),
  ];
  return `${head}; ${parts.join('; ') || 'content digest differs'}`;
}
