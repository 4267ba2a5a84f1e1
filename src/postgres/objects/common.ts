// What the object captures share: which schemas are the user's, extension
// membership, the search_path pinned so catalog functions qualify every name.
import { createHash } from 'node:crypto';
import type { Client } from '../connect.js';

/** User schemas (namespace alias `n`): not the catalogs, TOAST or temporary schemas. */
export const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/** True when the object (catalog `catalog`, oid expression `oid`) does not belong to an extension: pg_dump dumps only CREATE EXTENSION for those. */
export function notExtensionMember(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend bd_d WHERE bd_d.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND bd_d.objid = ${oid} AND bd_d.deptype = 'e')`;
}

/**
 * An empty search_path makes pg_get_*def, format_type and reg* casts qualify
 * every name, so definitions read the same in the source and the restored copy.
 */
export async function pinSearchPath(client: Client): Promise<void> {
  await client.query(`SELECT pg_catalog.set_config('search_path', '', false)`);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A short digest, enough to tell two definitions of one object apart. */
export function shortDigest(text: string): string {
  return sha256Hex(text).slice(0, 16);
}

/** "a, b, c and 4 more" */
export function someOf(names: string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** "1 row", "3 rows". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
