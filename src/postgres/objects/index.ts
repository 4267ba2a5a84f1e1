// Everything a drill and a restore compare beyond tables' rows, taken at
// backup in the same exported snapshot as the dump (docs/FORMAT.md, "Objects"):
// large objects, sequences' positions, extension configuration rows,
// materialized views, and the structure per kind. What pg_dump itself cannot
// reproduce is recorded by name as not verifiable; owners and privileges are
// not compared (restores run with --no-owner --no-acl).
import type { Manifest, ObjectsSummary } from '../../archive/manifest.js';
import type { ObjectResult } from '../../report/types.js';
import { connect, type Client } from '../connect.js';
import { USER_SCHEMAS, pinSearchPath } from './common.js';
import { captureExtensionConfig, compareExtensionConfig } from './extension-config.js';
import { captureLargeObjects, compareLargeObjects } from './large-objects.js';
import { captureMatViews, compareMatViews } from './matviews.js';
import { captureSequences, compareSequences } from './sequences.js';
import { captureExtensionVersions, captureStructure, compareExtensionVersions, compareStructure } from './structure.js';

export const OWNERS_NOT_COMPARED: ObjectResult = {
  kind: 'owners-privileges',
  name: 'owners and privileges',
  status: 'not-compared',
  message: 'not compared: restored without owners and privileges (--no-owner --no-acl)',
};

/**
 * Takes the objects summary. `client` must see the backup's snapshot (a
 * session joined to it, inside its transaction); its search_path is pinned
 * to empty for the rest of its life.
 */
export async function captureObjects(client: Client, serverVersionNum: number): Promise<ObjectsSummary> {
  await pinSearchPath(client);
  return {
    largeObjects: await captureLargeObjects(client, serverVersionNum),
    sequences: await captureSequences(client),
    materializedViews: await captureMatViews(client),
    structure: await captureStructure(client, serverVersionNum),
    extensionConfig: await captureExtensionConfig(client),
    extensionVersions: await captureExtensionVersions(client),
    notVerifiable: await findNotVerifiable(client),
  };
}

/** What is in the source but pg_dump does not carry or cannot recreate as it was. */
async function findNotVerifiable(client: Client): Promise<NonNullable<ObjectsSummary['notVerifiable']>> {
  const { rows } = await client.query<{ kind: string; name: string; reason: string }>(`
    SELECT 'database settings' AS kind, current_database()::text AS name,
           'pg_dump does not carry ALTER DATABASE … SET or ALTER ROLE … IN DATABASE settings (' || (SELECT string_agg(x, ', ') FROM unnest(s.setconfig) AS x) || ')' AS reason
      FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
     WHERE d.datname = current_database()
    UNION ALL
    SELECT 'foreign table', n.nspname || '.' || c.relname, 'its rows live on the foreign server; pg_dump dumps only its definition'
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'f' AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'invalid index', n.nspname || '.' || ic.relname, 'the index is invalid (a failed CREATE INDEX CONCURRENTLY?); pg_dump leaves it out'
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
      JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
     WHERE NOT i.indisvalid AND c.relkind <> 'p' AND ${USER_SCHEMAS}
    UNION ALL
    SELECT 'security label', pg_catalog.pg_describe_object(l.classoid, l.objoid, l.objsubid), 'security labels need their label provider (' || l.provider || ') loaded on the target'
      FROM pg_catalog.pg_seclabel l
    ORDER BY 1, 2`);
  return rows;
}

export interface CompareOptions {
  /** Refresh fresh materialized views and compare their content (a drill's throwaway copy; never a live target). */
  refreshMaterializedViews: boolean;
}

/** Compares a restored database with the recorded summary; one result per kind (per view and configuration table). */
export async function compareObjects(
  url: string | undefined,
  expected: ObjectsSummary,
  options: CompareOptions & { sourceMajor: number },
): Promise<ObjectResult[]> {
  const client = await connect(url, { inputName: 'drill-database-url', applicationName: 'backup-drill objects' });
  try {
    await pinSearchPath(client);
    const { rows } = await client.query<{ n: string }>(`SELECT current_setting('server_version_num') AS n`);
    const version = Number(rows[0]!.n);
    const results: ObjectResult[] = [
      await compareLargeObjects(client, expected.largeObjects, version),
      await compareSequences(client, expected.sequences),
      ...(await compareExtensionConfig(client, expected.extensionConfig ?? [])),
      ...(await compareMatViews(client, expected.materializedViews, options.refreshMaterializedViews)),
      ...(await compareStructure(client, expected.structure, version, options.sourceMajor)),
      ...(await compareExtensionVersions(client, expected.extensionVersions ?? {})),
      ...(expected.notVerifiable ?? []).map((n): ObjectResult => ({
        kind: 'not-verifiable',
        name: `${n.kind}: ${n.name}`,
        status: 'not-verifiable',
        message: `not verifiable: ${n.reason}`,
      })),
      OWNERS_NOT_COMPARED,
    ];
    return results;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One line per failed object, for a report's failures. */
export function objectFailures(results: ObjectResult[]): string[] {
  return results.filter((r) => r.status === 'failed').map((r) => `${r.kind === 'structure' ? `structure (${r.name})` : r.name}: ${r.message}`);
}

/** Joins the backup's snapshot with a session of its own (`join`), takes the summary, and closes the session. */
export async function captureObjectsInSnapshot(join: () => Promise<Client>, serverVersionNum: number): Promise<ObjectsSummary> {
  const client = await join();
  try {
    return await captureObjects(client, serverVersionNum);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The objects part of a drill's or restore's verification: the results, and
 * one failure line per failed object. A backup from before format 3 recorded
 * none: said so, not passed. An error while comparing is a failure that says
 * the comparison could not run (never a silent pass).
 */
export async function objectsVerification(
  url: string | undefined,
  manifest: Pick<Manifest, 'objects' | 'formatVersion' | 'source'>,
  options: CompareOptions,
): Promise<{ results: ObjectResult[]; failures: string[] }> {
  if (!manifest.objects) {
    const results: ObjectResult[] = [
      {
        kind: 'objects',
        name: 'large objects, sequences, materialized views, structure',
        status: 'not-compared',
        message: `not recorded by this backup (format ${manifest.formatVersion}); backups from format 3 on record them`,
      },
      OWNERS_NOT_COMPARED,
    ];
    return { results, failures: [] };
  }
  try {
    const results = await compareObjects(url, manifest.objects, { ...options, sourceMajor: manifest.source.major });
    return { results, failures: objectFailures(results) };
  } catch (error) {
    const message = `could not be compared: ${(error as Error).message}`;
    return { results: [{ kind: 'objects', name: 'objects', status: 'failed', message }, OWNERS_NOT_COMPARED], failures: [`objects: ${message}`] };
  }
}
