// Roles: captured at backup time (`pg_dumpall --roles-only --no-role-passwords`,
// when the source permits it) so a restore onto a fresh server can create the
// app's roles. Passwords are never captured: set them again after a restore.
import { join } from 'node:path';
import { libpqConnection } from './connect.js';
import { runTool } from '../util/exec.js';

/** The roles script, or undefined with the reason when pg_dumpall is missing or not permitted. */
export async function captureRoles(binDir: string, databaseUrl: string | undefined): Promise<{ sql?: string; problem?: string }> {
  const conn = libpqConnection(databaseUrl);
  try {
    const r = await runTool(
      join(binDir, 'pg_dumpall'),
      ['--roles-only', '--no-role-passwords', '--no-password', ...(conn.dbname ? [`--dbname=${conn.dbname}`] : [])],
      {
        env: { ...process.env, ...conn.env },
        allowFailure: true,
      },
    );
    if (r.code !== 0) return { problem: r.stderr.split('\n').filter(Boolean).slice(-2).join(' ') || `pg_dumpall exited ${r.code}` };
    return { sql: r.stdout };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

const SAFE_ATTRIBUTES = /^(NO)?(LOGIN|INHERIT|CREATEDB)$/;

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Unquotes a role name as pg_dumpall writes it ("Odd ""Name""" or plain). */
function roleName(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token;
}

const NAME = `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;

/**
 * SQL that creates the captured roles that do not exist yet, with safe
 * attributes only (LOGIN, INHERIT, CREATEDB, CONNECTION LIMIT: never
 * SUPERUSER, REPLICATION, BYPASSRLS or CREATEROLE), and their memberships.
 * Runs inside the restore's transaction, so a failed restore creates no role.
 */
export function rolesToCreate(dumpallSql: string): { sql: string; roles: string[] } {
  const roles = new Map<string, string[]>();
  const grants: Array<[string, string]> = [];
  for (const line of dumpallSql.split('\n')) {
    let m = new RegExp(`^CREATE ROLE ${NAME};$`).exec(line);
    if (m) {
      roles.set(roleName(m[1]!), []);
      continue;
    }
    m = new RegExp(`^ALTER ROLE ${NAME} WITH (.*);$`).exec(line);
    if (m && roles.has(roleName(m[1]!))) {
      const words = m[2]!.split(/\s+/);
      const attrs = words.filter((w) => SAFE_ATTRIBUTES.test(w));
      const limit = /CONNECTION LIMIT (\d+)/.exec(m[2]!);
      if (limit) attrs.push(`CONNECTION LIMIT ${limit[1]}`);
      roles.set(roleName(m[1]!), attrs);
      continue;
    }
    m = new RegExp(`^GRANT ${NAME} TO ${NAME}`).exec(line);
    if (m) grants.push([roleName(m[1]!), roleName(m[2]!)]);
  }
  const wanted = [...roles.entries()].filter(([name]) => name !== 'postgres' && !name.startsWith('pg_'));
  const statements = wanted.map(
    ([name, attrs]) =>
      `DO $bd_role$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(name)}) THEN ` +
      `EXECUTE ${literal(`CREATE ROLE ${quoteIdent(name)}${attrs.length ? ' WITH ' + attrs.join(' ') : ''}`)}; END IF; END $bd_role$;`,
  );
  for (const [role, member] of grants) {
    if (member === 'postgres' || role.startsWith('pg_')) continue;
    statements.push(
      `DO $bd_role$ BEGIN EXECUTE ${literal(`GRANT ${quoteIdent(role)} TO ${quoteIdent(member)}`)}; ` +
        `EXCEPTION WHEN OTHERS THEN RAISE WARNING 'backup-drill: could not grant % to %: %', ${literal(role)}, ${literal(member)}, SQLERRM; END $bd_role$;`,
    );
  }
  return { sql: statements.join('\n') + (statements.length ? '\n' : ''), roles: wanted.map(([n]) => n) };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
