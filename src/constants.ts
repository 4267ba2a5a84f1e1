// Every input and output name, in one place. action.yml, the CLI's flags and
// its --help are checked against this table by test/unit/contract.test.ts.

export const MODES = ['backup', 'restore-drill', 'restore'] as const;
export type Mode = (typeof MODES)[number];

export interface InputSpec {
  /** kebab-case: the action input and the CLI long flag. */
  name: string;
  description: string;
  default?: string;
  /** Conventional environment variables read when the input is empty. */
  env?: string[];
  /** Modes the input applies to ('all' = every mode). */
  modes: readonly Mode[] | 'all';
  secret?: boolean;
}

export const INPUTS: readonly InputSpec[] = [
  { name: 'mode', description: 'What to do: `backup`, `restore-drill` or `restore`.', default: 'backup', modes: 'all' },
  {
    name: 'storage',
    description: 'Where backups live: a local folder (path or `file://` URL) or `s3://bucket/prefix`.',
    env: ['BACKUP_DRILL_STORAGE'],
    modes: 'all',
  },
  {
    name: 'name',
    description: 'Name of this backup set; backups are stored under `<storage>/<name>/`.',
    default: 'default',
    modes: 'all',
  },
  {
    name: 'database-url',
    description:
      'PostgreSQL connection URL (`postgres://user:pass@host:5432/db`). Backup: the source. Restore: the target. Falls back to `DATABASE_URL`, then the libpq `PG*` variables.',
    env: ['DATABASE_URL'],
    modes: ['backup', 'restore'],
    secret: true,
  },
  { name: 'files-path', description: 'The uploads directory to back up (backup) or restore into (restore).', modes: ['backup', 'restore'] },
  {
    name: 'files-exclude',
    description: 'Glob patterns, one per line or comma-separated, relative to `files-path`, of files not to back up (e.g. `cache/**`, `**/*.thumb.jpg`).',
    modes: ['backup'],
  },
  {
    name: 'postgres-bin-dir',
    description: 'Folder holding `pg_dump`/`pg_restore`/`initdb` to prefer over those found on PATH and in `/usr/lib/postgresql/*/bin`.',
    modes: 'all',
  },
  {
    name: 'compression',
    description:
      "How the dump is compressed: `auto` (zstd level 1 on every core when the `zstd` command or Node 22.15+ is there, else pg_dump's gzip -Z1), `zstd` or `zstd:<1-19>`, `gzip` or `gzip:<0-9>` (inside pg_dump), `none`, or a bare 0–9 (pg_dump's gzip level, as before). zstd is measured ~4× faster than gzip -Z1 and smaller (see BENCHMARKS.md).",
    default: 'auto',
    modes: ['backup'],
  },
  { name: 'keep-last', description: 'Retention: keep the N newest complete backups.', modes: ['backup'] },
  { name: 'keep-daily', description: 'Retention: keep the newest backup of each of the last N days (UTC).', modes: ['backup'] },
  { name: 'keep-weekly', description: 'Retention: keep the newest backup of each of the last N ISO weeks.', modes: ['backup'] },
  { name: 'keep-monthly', description: 'Retention: keep the newest backup of each of the last N months.', modes: ['backup'] },
  {
    name: 's3-endpoint',
    description: 'S3-compatible endpoint URL, e.g. `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:9000`. Empty for AWS.',
    env: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    modes: 'all',
  },
  {
    name: 's3-region',
    description: 'S3 region (`auto` for R2). Falls back to `AWS_REGION`, `AWS_DEFAULT_REGION`.',
    env: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
    modes: 'all',
  },
  { name: 's3-force-path-style', description: 'Use path-style S3 URLs (needed by MinIO and most non-AWS endpoints).', default: 'false', modes: 'all' },
  {
    name: 'connect-timeout',
    description:
      'Deadline for opening a connection to storage (S3) or PostgreSQL, e.g. `30s`, `2m`; a plain number is seconds. Past it the run fails (exit 4 or 5) naming the endpoint.',
    default: '30s',
    modes: 'all',
  },
  {
    name: 'storage-timeout',
    description:
      'Deadline for one storage request that makes no progress (no bytes sent or received), e.g. `120s`. Requests are retried (up to 5 attempts) before the run fails with exit 5.',
    default: '120s',
    modes: 'all',
  },
  { name: 's3-storage-class', description: 'Storage class for uploaded objects (e.g. `STANDARD_IA`).', modes: ['backup'] },
  {
    name: 'encrypt-recipients',
    description:
      'age X25519 public keys (`age1…`), one per line or comma-separated, or a path to a recipients file. Encrypts every part before it leaves the runner.',
    modes: ['backup'],
  },
  { name: 'encrypt-passphrase', description: 'Encrypt with an age passphrase (from a secret).', modes: ['backup'], secret: true },
  {
    name: 'encrypt-passphrase-file',
    description: 'A file holding the age passphrase to encrypt with (one trailing newline is ignored), instead of encrypt-passphrase.',
    modes: ['backup'],
  },
  {
    name: 'decrypt-identity',
    description: 'age identity (`AGE-SECRET-KEY-1…`) or a path to an identity file, to read encrypted backups.',
    modes: ['restore-drill', 'restore'],
    secret: true,
  },
  { name: 'decrypt-passphrase', description: 'Passphrase to read passphrase-encrypted backups.', modes: ['restore-drill', 'restore'], secret: true },
  {
    name: 'decrypt-passphrase-file',
    description: 'A file holding the passphrase of passphrase-encrypted backups (one trailing newline is ignored), instead of decrypt-passphrase.',
    modes: ['restore-drill', 'restore'],
  },
  {
    name: 'redact-columns',
    description: 'Credential columns to blank in unencrypted backups, e.g. `users.password_hash, public.api_tokens.token_*`.',
    modes: ['backup'],
  },
  {
    name: 'sensitive-columns',
    description: 'Columns that must never be stored in clear (same syntax as redact-columns): an unencrypted backup is refused unless they are redacted.',
    modes: ['backup'],
  },
  {
    name: 'backup-id',
    description: 'Which backup to drill or restore: an id, or `latest` (newest complete one).',
    default: 'latest',
    modes: ['restore-drill', 'restore'],
  },
  // ── Versions: PostgreSQL binaries of any major, fetched and cached; upgrade rehearsals.
  {
    name: 'postgres-version',
    description:
      "`auto` or a major. The PostgreSQL major whose binaries to use: `auto` takes the source server's (backup) or the backup's (drill, restore); in a drill it is the throwaway server's major. The action fetches missing binaries (PostgreSQL apt repository, npm for drill servers) and caches them; the CLI prints the install commands.",
    default: 'auto',
    modes: 'all',
  },
  {
    name: 'rehearse-major',
    description:
      'Upgrade rehearsal: restore the same backup a second time into a throwaway server of this major (or `latest`, the newest one found or fetched) and report what differs, in its own report section.',
    modes: ['restore-drill'],
  },
  {
    name: 'rehearse-must-pass',
    description: 'Fail the drill when the upgrade rehearsal finds a difference the major change does not explain (otherwise it only reports).',
    default: 'false',
    modes: ['restore-drill'],
  },
  {
    name: 'drill-database-url',
    description: 'Use this server (e.g. a service container) for the drill instead of a throwaway cluster: a fresh database is created and dropped there.',
    modes: ['restore-drill'],
    secret: true,
  },
  { name: 'checks', description: 'Path to a checks file (YAML): SQL assertions and login checks. See docs/CHECKS.md.', modes: ['restore-drill', 'restore'] },
  { name: 'max-age', description: 'Fail when the newest complete backup is older than this (e.g. `26h`, `2d`).', modes: ['restore-drill'] },
  {
    name: 'keep-database',
    description: 'Leave the restored drill database running and output its `database-url` (the post step removes it).',
    default: 'false',
    modes: ['restore-drill'],
  },
  { name: 'jobs', description: 'Parallel jobs for pg_restore. Default: the number of CPUs.', modes: ['restore-drill', 'restore'] },
  {
    name: 'report-dir',
    description: 'Folder for the JSON and JUnit reports. Default: a temp folder (`RUNNER_TEMP` in Actions).',
    modes: ['restore-drill', 'restore'],
  },
  { name: 'force', description: 'Restore into a target that already has user tables (they are replaced).', default: 'false', modes: ['restore'] },
  {
    name: 'ignore-schema-mismatch',
    description: "With `force`: restore even when the target's schema or migration head differs from the backup's.",
    default: 'false',
    modes: ['restore'],
  },
  { name: 'dry-run', description: 'Verify everything and print the plan; write nothing.', default: 'false', modes: ['restore'] },
  { name: 'parts', description: 'What to restore: `database`, `files`, or `database,files`.', default: 'database,files', modes: ['restore'] },
  { name: 'tables', description: 'Restore only these tables (`schema.table`, comma-separated).', modes: ['restore'] },
  { name: 'into-schema', description: 'With `tables`: restore them as copies into this schema instead of replacing the live ones.', modes: ['restore'] },
  {
    name: 'create-roles',
    description:
      "Create the roles captured at backup time that the target lacks (LOGIN/INHERIT/CREATEDB/CONNECTION LIMIT only, no passwords), in the restore's transaction.",
    default: 'false',
    modes: ['restore'],
  },
  {
    name: 'discard-previous-files',
    description: 'Delete the previous uploads directory after a files restore instead of keeping it renamed.',
    default: 'false',
    modes: ['restore'],
  },
  // Never silent (issue 14): run history, timeout, notifications, pings, trend guard.
  {
    name: 'timeout',
    description:
      'Deadline for the whole run, e.g. `45m`, `2h`. Past it the run stops its children, deletes its partial parts, releases its lock, records "timed out" and exits 10. Default below GitHub\'s 6 h job limit.',
    default: '5h30m',
    modes: 'all',
  },
  {
    name: 'notify',
    description:
      'Where to send a message when a run ends: URLs, one per line. `slack://…`/`teams://…`/`discord://…` (or their https webhook URLs), `smtp://user:pass@host:587/?to=ops@example.com` / `smtps://…` for e-mail, any other https URL gets a JSON webhook. Undeliverable messages only warn.',
    modes: 'all',
    secret: true,
  },
  {
    name: 'notify-on',
    description: 'When to send `notify` messages: `failure` (failed, timed out, interrupted, suspect), `warning` (also runs with warnings) or `always`.',
    default: 'failure',
    modes: 'all',
  },
  {
    name: 'ping-url',
    description:
      "Dead-man's switch (healthchecks.io style): `<url>/start` when the run starts, `<url>` on success, `<url>/fail` on failure, so a service outside GitHub notices when runs stop.",
    modes: 'all',
    secret: true,
  },
  {
    name: 'history-keep-months',
    description: 'Run records (`<name>/runs/`, shown by `backup-drill history`) older than this many months are removed at the end of each run.',
    default: '12',
    modes: 'all',
  },
  {
    name: 'max-shrink',
    description:
      'Trend guard: a backup whose total rows or stored size is this much below the trailing median of the previous good backups is suspect (the drill fails with exit 11; retention keeps the last good backup). `off` disables it.',
    default: '20%',
    modes: ['backup', 'restore-drill'],
  },
  {
    name: 'max-growth',
    description:
      'Trend guard: warn when total rows or stored size grows more than this above the trailing median (a warning, never a failure). `off` disables it.',
    default: '300%',
    modes: ['backup', 'restore-drill'],
  },
  {
    name: 'trend-ignore',
    description: 'Tables (`schema.table` globs, one per line or comma-separated, e.g. `public.sessions`, `*.cache_*`) left out of the per-table and row trend.',
    modes: ['backup', 'restore-drill'],
  },
  {
    name: 'accept-shrink',
    description: "Drill: accept the drilled backup's suspect shrink as deliberate (a purge); a drill that otherwise passes records the acceptance.",
    default: 'false',
    modes: ['restore-drill'],
  },
  // ── Reach: the server over SSH (src/reach, docs/SSH.md).
  {
    name: 'ssh',
    description:
      'Reach the server over SSH: `user@host[:port]`. `database-url` then names the database as the server sees it (e.g. `127.0.0.1:5432`, tunnelled) and `files-path` is a folder on the server.',
    modes: ['backup', 'restore'],
  },
  {
    name: 'ssh-private-key',
    description: "Private key (OpenSSH format, no passphrase) of the server's backup user, from a secret. Masked in logs.",
    modes: ['backup', 'restore'],
    secret: true,
  },
  { name: 'ssh-private-key-file', description: 'A file holding the SSH private key, instead of ssh-private-key.', modes: ['backup', 'restore'] },
  {
    name: 'ssh-known-hosts',
    description:
      "Required with `ssh`: the server's (and the bastion's) host key lines as `ssh-keyscan` prints them, or a known_hosts file. Any other key is refused before logging in.",
    modes: ['backup', 'restore'],
  },
  {
    name: 'ssh-accept-new-host-key',
    description: 'Trust a host with no line in ssh-known-hosts on first use and print the line to pin. Never overrides a pinned key.',
    default: 'false',
    modes: ['backup', 'restore'],
  },
  { name: 'ssh-jump', description: 'A bastion to reach the server through (`user@host[:port]`, like `ssh -J`); same key.', modes: ['backup', 'restore'] },
  {
    name: 'docker-service',
    description: "With `ssh`: the Compose service running PostgreSQL; its container's address is looked up on the server (`docker inspect`) and tunnelled to.",
    modes: ['backup', 'restore'],
  },
  {
    name: 'compose-project',
    description: 'With `docker-service`: the Compose project it belongs to, when several run on the server.',
    modes: ['backup', 'restore'],
  },
  {
    name: 'ssh-docker-command',
    description: 'How to run docker on the server for `docker-service`, e.g. `sudo -n docker` with a sudoers rule (docs/SSH.md).',
    default: 'docker',
    modes: ['backup', 'restore'],
  },
] as const;

export const OUTPUTS: Record<string, string> = {
  'backup-id': 'Id of the backup taken, drilled or restored.',
  'backup-uri': 'Where the backup is stored.',
  'size-bytes': 'Total bytes stored for the backup.',
  'duration-seconds': 'How long the run took.',
  tables: 'Number of tables recorded or verified.',
  rows: 'Total rows recorded or verified.',
  files: 'Number of files recorded or verified.',
  status: 'Drill/restore result: `passed` or `failed`.',
  'backup-age-seconds': 'Age of the drilled backup.',
  'time-to-restore-seconds': 'Fetch + restore + verify time of the drill.',
  'failed-checks': 'Number of failed checks.',
  'report-path': 'Path of the JSON report.',
  'database-url': 'URL of the restored drill database (with keep-database).',
  'postgres-binaries': 'Where the PostgreSQL binaries came from, per need: e.g. `client 17: apt, server 17: cache` (`installed`, `apt`, `npm` or `cache`).',
  'rehearsal-status':
    'Upgrade rehearsal result (with rehearse-major): `passed`, `explained` (only differences the major change explains), `differences` or `not-run`.',
  'rehearsal-differences': 'Number of upgrade rehearsal differences the major change does not explain.',
};

/** Names of state values passed from the action's main step to its post step. */
export const STATE = {
  cleanup: 'cleanup-paths',
  /** The main step's pid: its lock files carry it, so the post step can release a lock a killed run still holds. */
  pid: 'main-pid',
  /** Storage prefix of the backup being taken, whose partial parts the post step removes after a kill. */
  backupPrefix: 'backup-prefix',
} as const;

export const BACKUP_PARTS = {
  database: 'database.dump',
  files: 'files.tar',
  fileList: 'files.sha256',
  checksums: 'checksums.sha256',
  manifest: 'manifest.json',
  redactedData: 'redacted-data.sql',
  roles: 'roles.sql',
} as const;

/** The CLI's own flags (not action inputs). The parser's option table and --help come from here. */
export interface CliFlagSpec {
  name: string;
  short?: string;
  description: string;
  /** The flag takes a value (`--progress json`); others are switches. */
  value?: string;
}

export const CLI_FLAGS: readonly CliFlagSpec[] = [
  { name: 'json', description: 'Print the result as JSON on stdout (logs go to stderr).' },
  { name: 'yes', short: 'y', description: 'Answer yes to confirmations (restore, delete).' },
  { name: 'verbose', description: 'More log lines.' },
  { name: 'quiet', short: 'q', description: 'Only warnings and errors on stderr.' },
  {
    name: 'progress',
    value: 'auto|lines|json|none',
    description: 'Progress on stderr: a live line on a terminal and a line every 10 s otherwise (auto), JSON lines for scripts (json), or none.',
  },
  { name: 'color', description: 'Colours on a terminal (default); --no-color or NO_COLOR turns them off.' },
  { name: 'version', short: 'V', description: 'Print the version and exit.' },
  { name: 'help', short: 'h', description: 'This help.' },
];
