// Real applications' PostgreSQL schemas, as Debian ships them. The packages are
// downloaded and unpacked at test time by scripts/torture/install-packages.sh
// (never copied into this repository, never installed: their maintainer scripts
// would configure web servers and databases on the machine).
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface LoginCanary {
  /** The checks-file login entry (identity bound as $1). */
  name: string;
  query: string;
  identity: string;
  password: string;
  /** SQL that stores the canary, run after the schema and the generated data (optional: Zabbix ships its Admin). */
  setup?: string;
}

export interface App {
  label: string;
  /** Debian package that ships the schema (unpacked under the apps root). */
  debianPackage: string;
  /** Files loaded in order with psql, relative to the unpacked root; `.gz` is gunzipped. */
  schemaFiles: string[];
  logins: LoginCanary[];
}

/** MediaWiki's own PBKDF2 format: `:pbkdf2:<digest>:<iterations>:<length>:<b64 salt>:<b64 hash>`. */
export function mediawikiPbkdf2(password: string): string {
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(password, salt, 30000, 64, 'sha512');
  return `:pbkdf2:sha512:30000:64:${salt.toString('base64')}:${hash.toString('base64')}`;
}

const MEDIAWIKI_CANARY_PASSWORD = 'torture canary wiki password';

export const APPS: App[] = [
  {
    label: 'zabbix',
    debianPackage: 'zabbix-server-pgsql',
    schemaFiles: ['usr/share/zabbix-server-pgsql/schema.sql.gz', 'usr/share/zabbix-server-pgsql/images.sql.gz', 'usr/share/zabbix-server-pgsql/data.sql.gz'],
    // Zabbix's data.sql ships the Admin account with the documented default password, as bcrypt $2y$.
    logins: [{ name: 'zabbix Admin login ($2y$ bcrypt)', query: 'select passwd from users where username = $1', identity: 'Admin', password: 'zabbix' }],
  },
  {
    label: 'mediawiki',
    debianPackage: 'mediawiki',
    schemaFiles: ['usr/share/mediawiki/maintenance/postgres/tables-generated.sql'],
    logins: [
      {
        name: 'mediawiki canary login (PBKDF2)',
        query: 'select user_password from "user" where user_name = $1',
        identity: 'TortureCanary',
        password: MEDIAWIKI_CANARY_PASSWORD,
        setup: `INSERT INTO "user" (user_name, user_real_name, user_password, user_newpassword, user_email, user_touched)
                VALUES ('TortureCanary', 'Torture Canary', '${mediawikiPbkdf2(MEDIAWIKI_CANARY_PASSWORD)}', '', 'canary@example.org', now())`,
      },
    ],
  },
  { label: 'roundcube', debianPackage: 'roundcube-core', schemaFiles: ['usr/share/roundcube/SQL/postgres.initial.sql'], logins: [] },
  { label: 'pdns', debianPackage: 'pdns-backend-pgsql', schemaFiles: ['usr/share/pdns-backend-pgsql/schema/schema.pgsql.sql'], logins: [] },
  { label: 'bacula', debianPackage: 'bacula-director-pgsql', schemaFiles: ['usr/share/dbconfig-common/data/bacula-director-pgsql/install/pgsql'], logins: [] },
  { label: 'icinga2', debianPackage: 'icinga2-ido-pgsql', schemaFiles: ['usr/share/icinga2-ido-pgsql/schema/pgsql.sql'], logins: [] },
];

export async function schemaSql(root: string, file: string): Promise<string> {
  const bytes = await readFile(join(root, file));
  return (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

/** A checks file (docs/CHECKS.md) with one login check per canary; passwords come from env vars. */
export function checksFileFor(app: App): { yaml: string; env: Record<string, string> } {
  const env: Record<string, string> = {};
  const entries = app.logins.map((l, i) => {
    const variable = `TORTURE_${app.label.toUpperCase()}_PASSWORD_${i}`;
    env[variable] = l.password;
    return [
      `  - name: ${JSON.stringify(l.name)}`,
      '    login:',
      `      query: ${JSON.stringify(l.query)}`,
      `      identity: ${JSON.stringify(l.identity)}`,
      `      password-env: ${variable}`,
    ].join('\n');
  });
  return { yaml: `checks:\n${entries.join('\n')}\n`, env };
}
