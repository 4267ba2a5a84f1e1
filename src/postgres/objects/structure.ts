// The structure, per kind: every object's name and its definition as the
// catalogs print it (pg_get_*def, format_type, reg* casts) with search_path
// pinned to empty, so names are qualified and nothing depends on OIDs, owners
// or privileges (a restore runs with --no-owner --no-acl and changes OIDs).
// A kind's digest is SHA-256 over its sorted "name<TAB>definition" lines;
// each object also keeps a short digest so a drill can name the one that differs.
//
// Objects that follow from another (partitions' copies of a parent's
// constraints and triggers, internal triggers) are left out: the parent's
// definition covers them, and their copies' names are the server's choice.
import type { ObjectsSummary } from '../../archive/manifest.js';
import type { ObjectResult } from '../../report/types.js';
import type { Client } from '../connect.js';
import { USER_SCHEMAS, notExtensionMember, sha256Hex, shortDigest, someOf } from './common.js';

type Structure = ObjectsSummary['structure'];

/** Up to this many objects per kind keep their own digest in the manifest. */
const MAX_NAMED = 5000;

const userRelation = (c: string) => `${USER_SCHEMAS} AND ${notExtensionMember('pg_class', `${c}.oid`)}`;

/** One query per kind, each returning (name, def). */
function kindQueries(v: number): Record<string, string> {
  const prokind = v >= 110000 ? 'p.prokind' : `CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END`;
  const notConstraintCopy = v >= 110000 ? 'AND con.conparentid = 0' : '';
  const notTriggerCopy = v >= 130000 ? 'AND t.tgparentid = 0' : '';
  return {
    schemas: `
      SELECT n.nspname AS name, '' AS def FROM pg_catalog.pg_namespace n
       WHERE ${USER_SCHEMAS} AND ${notExtensionMember('pg_namespace', 'n.oid')}`,
    tables: `
      SELECT n.nspname || '.' || c.relname AS name,
             concat_ws(' ', c.relkind, c.relpersistence, c.relreplident,
               CASE WHEN c.relrowsecurity THEN 'row-security' END, CASE WHEN c.relforcerowsecurity THEN 'force-row-security' END,
               'options=' || c.reloptions::text,
               'partition-by ' || CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
               'bound ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid),
               'inherits ' || (SELECT string_agg(i.inhparent::pg_catalog.regclass::text, ',' ORDER BY i.inhparent::pg_catalog.regclass::text) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)) AS def
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't' AND ${userRelation('c')}`,
    // By name, not position: a restore may reorder inherited columns.
    columns: `
      SELECT n.nspname || '.' || c.relname || '.' || a.attname AS name,
             concat_ws(' ', pg_catalog.format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN 'not null' END,
               'collate ' || CASE WHEN a.attcollation <> ty.typcollation THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                 FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
               'default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid),
               'identity ' || NULLIF(a.attidentity::text, ''), 'generated ' || NULLIF(a.attgenerated::text, '')) AS def
        FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND c.relpersistence <> 't' AND a.attnum > 0 AND NOT a.attisdropped AND ${userRelation('c')}`,
    views: `
      SELECT n.nspname || '.' || c.relname AS name,
             concat_ws(' ', c.relkind, 'options=' || c.reloptions::text, pg_catalog.pg_get_viewdef(c.oid)) AS def
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('v', 'm') AND ${userRelation('c')}`,
    indexes: `
      SELECT n.nspname || '.' || ic.relname AS name,
             concat_ws(' ', pg_catalog.pg_get_indexdef(i.indexrelid), CASE WHEN i.indisclustered THEN 'clustered' END,
               CASE WHEN i.indisreplident THEN 'replica-identity' END) AS def
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       -- pg_dump leaves invalid indexes out, except on partitioned tables (not yet attached everywhere): those it dumps.
       WHERE (i.indisvalid OR c.relkind = 'p') AND ${userRelation('c')}`,
    constraints: `
      SELECT n.nspname || '.' || coalesce(c.relname, ty.typname) || '.' || con.conname AS name,
             con.contype::text || ' ' || pg_catalog.pg_get_constraintdef(con.oid) || CASE WHEN con.condeferrable THEN ' deferrable' ELSE '' END AS def
        FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
        LEFT JOIN pg_catalog.pg_class c ON c.oid = con.conrelid LEFT JOIN pg_catalog.pg_type ty ON ty.oid = con.contypid
       WHERE ${USER_SCHEMAS} ${notConstraintCopy}
         AND (c.oid IS NULL OR ${notExtensionMember('pg_class', 'c.oid')})
         AND (ty.oid IS NULL OR ${notExtensionMember('pg_type', 'ty.oid')})`,
    triggers: `
      SELECT n.nspname || '.' || c.relname || '.' || t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text AS def
        FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE NOT t.tgisinternal ${notTriggerCopy} AND ${userRelation('c')}`,
    rules: `
      SELECT n.nspname || '.' || c.relname || '.' || r.rulename AS name, pg_catalog.pg_get_ruledef(r.oid) || ' enabled=' || r.ev_enabled::text AS def
        FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE r.rulename <> '_RETURN' AND ${userRelation('c')}`,
    policies: `
      SELECT n.nspname || '.' || c.relname || '.' || p.polname AS name,
             concat_ws(' ', p.polcmd, CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
               'to ' || (SELECT string_agg(x.role, ',' ORDER BY x.role) FROM (
                           SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END AS role
                             FROM unnest(p.polroles) AS r) x),
               'using ' || pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'check ' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)) AS def
        FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE ${userRelation('c')}`,
    functions: `
      SELECT n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name,
             CASE WHEN ${prokind} = 'a' THEN
               (SELECT concat_ws(' ', 'aggregate', a.aggkind, a.aggtransfn::pg_catalog.regproc, a.aggfinalfn::pg_catalog.regproc,
                         a.aggcombinefn::pg_catalog.regproc, a.aggtranstype::pg_catalog.regtype, a.agginitval, a.aggsortop::pg_catalog.regoperator)
                  FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid)
             ELSE pg_catalog.pg_get_functiondef(p.oid) END AS def
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       WHERE ${USER_SCHEMAS} AND ${notExtensionMember('pg_proc', 'p.oid')}`,
    types: `
      SELECT n.nspname || '.' || t.typname AS name,
             t.typtype::text || ' ' || CASE t.typtype
               WHEN 'e' THEN (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
               WHEN 'd' THEN concat_ws(' ', pg_catalog.format_type(t.typbasetype, t.typtypmod), CASE WHEN t.typnotnull THEN 'not null' END, 'default ' || t.typdefault)
               WHEN 'c' THEN (SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                                FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
               WHEN 'r' THEN (SELECT concat_ws(' ', r.rngsubtype::pg_catalog.regtype, r.rngsubopc, r.rngcanonical::pg_catalog.regproc, r.rngsubdiff::pg_catalog.regproc)
                                FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)
               ELSE concat_ws(' ', t.typinput::pg_catalog.regproc, t.typoutput::pg_catalog.regproc, t.typlen, t.typalign, t.typstorage)
             END AS def
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE ${USER_SCHEMAS} AND ${notExtensionMember('pg_type', 't.oid')}
         AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid)
         AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')`,
    sequences: `
      SELECT n.nspname || '.' || c.relname AS name,
             concat_ws(' ', pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
               CASE WHEN s.seqcycle THEN 'cycle' END,
               'owned-by ' || (SELECT d.refobjid::pg_catalog.regclass::text || '.' || a.attname FROM pg_catalog.pg_depend d
                                 JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i') LIMIT 1)) AS def
        FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relpersistence <> 't' AND ${userRelation('c')}`,
    // Versions are compared on their own (extensionVersions): a restore installs the server's default version.
    extensions: `
      SELECT e.extname AS name, n.nspname AS def FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace`,
    'event triggers': `
      SELECT e.evtname AS name, concat_ws(' ', e.evtevent, e.evtfoid::pg_catalog.regproc, e.evtenabled, e.evttags::text) AS def
        FROM pg_catalog.pg_event_trigger e WHERE ${notExtensionMember('pg_event_trigger', 'e.oid')}`,
    // Objects the user made (OIDs from 16384); shared objects' comments (roles, databases) are not dumped.
    comments: `
      SELECT pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) AS name, d.description AS def
        FROM pg_catalog.pg_description d
       WHERE d.objoid >= 16384 AND pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) IS NOT NULL -- not orphans, which pg_dump cannot see
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')`,
  };
}

async function captureKind(client: Client, sql: string): Promise<Structure[string]> {
  const { rows } = await client.query<{ name: string; def: string | null }>(sql);
  const lines = rows.map((r) => ({ name: r.name, def: r.def ?? '' })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.def < b.def ? -1 : 1));
  const entry: Structure[string] = { count: lines.length, digest: `sha256:${sha256Hex(lines.map((l) => `${l.name}\t${l.def}\n`).join(''))}` };
  if (lines.length <= MAX_NAMED) entry.objects = Object.fromEntries(lines.map((l) => [l.name, shortDigest(l.def)]));
  return entry;
}

/** The structure of the database the client is connected to (search_path must be pinned to empty). */
export async function captureStructure(client: Client, serverVersionNum: number): Promise<Structure> {
  const out: Structure = {};
  for (const [kind, sql] of Object.entries(kindQueries(serverVersionNum))) out[kind] = await captureKind(client, sql);
  return out;
}

/** Installed extensions and their versions. */
export async function captureExtensionVersions(client: Client): Promise<Record<string, string>> {
  const { rows } = await client.query<{ name: string; version: string }>(
    'SELECT extname AS name, extversion AS version FROM pg_catalog.pg_extension ORDER BY 1',
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.version]));
}

/** Singular names for messages: "index public.t_idx differs". */
const SINGULAR: Record<string, string> = {
  schemas: 'schema',
  tables: 'table',
  columns: 'column',
  views: 'view',
  indexes: 'index',
  constraints: 'constraint',
  triggers: 'trigger',
  rules: 'rule',
  policies: 'policy',
  functions: 'function',
  types: 'type',
  sequences: 'sequence',
  extensions: 'extension',
  'event triggers': 'event trigger',
  comments: 'comment on',
};

function difference(kind: string, expected: Structure[string], got: Structure[string]): string {
  const head = `${expected.count} in the backup, ${got.count} restored, definitions differ`;
  if (!expected.objects || !got.objects) return head;
  const one = SINGULAR[kind] ?? kind;
  const changed = Object.keys(expected.objects).filter((n) => got.objects![n] !== undefined && got.objects![n] !== expected.objects![n]);
  const missing = Object.keys(expected.objects).filter((n) => got.objects![n] === undefined);
  const extra = Object.keys(got.objects).filter((n) => expected.objects![n] === undefined);
  const parts = [
    ...(changed.length ? [`${one} ${someOf(changed)} differs`] : []),
    ...(missing.length ? [`missing: ${one} ${someOf(missing)}`] : []),
    ...(extra.length ? [`not in the backup: ${one} ${someOf(extra)}`] : []),
  ];
  return parts.length ? `${parts.join('; ')} (${expected.count} in the backup, ${got.count} restored)` : head;
}

/** The names only `got` has, when every recorded object is there unchanged; otherwise undefined. */
function extraOnly(want: Structure[string], got: Structure[string]): string[] | undefined {
  if (!want.objects || !got.objects) return undefined;
  if (Object.entries(want.objects).some(([n, d]) => got.objects![n] !== d)) return undefined;
  return Object.keys(got.objects).filter((n) => want.objects![n] === undefined);
}

/** The recorded names that are missing from `got` (undefined when either side has no per-object list). */
function missingNames(want: Structure[string], got: Structure[string]): string[] | undefined {
  if (!want.objects || !got.objects) return undefined;
  return Object.keys(want.objects).filter((n) => got.objects![n] === undefined);
}

/**
 * Each recorded kind compared with the restored database: passed, or failed
 * naming the objects that differ. On another major version the catalogs print
 * definitions differently: a missing object still fails, a changed definition
 * is "not verifiable".
 */
export async function compareStructure(client: Client, expected: Structure, serverVersionNum: number, sourceMajor: number): Promise<ObjectResult[]> {
  const queries = kindQueries(serverVersionNum);
  const results: ObjectResult[] = [];
  for (const [kind, want] of Object.entries(expected)) {
    const sql = queries[kind];
    if (!sql) {
      results.push({ kind: 'structure', name: kind, status: 'not-verifiable', message: 'this version of backup-drill does not know how to read this kind' });
      continue;
    }
    results.push(structureVerdict(kind, want, await captureKind(client, sql), { source: sourceMajor, here: Math.floor(serverVersionNum / 10000) }));
  }
  return results;
}

/** One kind's verdict from its recorded and restored summaries (pure: see compareStructure). */
export function structureVerdict(kind: string, want: Structure[string], got: Structure[string], majors: { source: number; here: number }): ObjectResult {
  const verdict = (status: ObjectResult['status'], message: string): ObjectResult => ({ kind: 'structure', name: kind, status, message });
  if (got.digest === want.digest) return verdict('passed', `${got.count} identical`);
  // Objects only the target has (say, from its template database) are noted; the backup's own were all reproduced.
  const extra = extraOnly(want, got);
  if (extra) return verdict('passed', `${want.count} identical; also present, not in the backup: ${someOf(extra)}`);
  const missing = missingNames(want, got);
  if (majors.source !== majors.here && (missing === undefined || missing.length === 0)) {
    const printed = `definitions printed by PostgreSQL ${majors.source} at backup and ${majors.here} here differ`;
    return verdict('not-verifiable', `not verifiable: ${printed} (${difference(kind, want, got)})`);
  }
  return verdict('failed', difference(kind, want, got));
}

/** A restore installs each extension at the target server's default version; a different one is reported, not failed. */
export async function compareExtensionVersions(client: Client, expected: Record<string, string>): Promise<ObjectResult[]> {
  const got = await captureExtensionVersions(client);
  return Object.entries(expected)
    .filter(([name, version]) => got[name] !== undefined && got[name] !== version)
    .map(([name, version]) => ({
      kind: 'not-verifiable',
      name: `extension ${name}`,
      status: 'not-verifiable' as const,
      message: `version ${version} in the backup, ${got[name]} after the restore: pg_dump installs the target server's default version`,
    }));
}
