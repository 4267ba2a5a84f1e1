// The single place where raw inputs (action inputs, CLI flags, env) become a
// typed, validated Config. Every error names the input, the value and the fix.
import { parseCompression, type CompressionChoice } from './archive/codec.js';
import { INPUTS, MODES, type Mode } from './constants.js';
import { UsageError } from './errors.js';
import { setDeadlines } from './util/deadlines.js';
import { parseDuration } from './util/format.js';
import { registerSecret, safeUrl, urlPassword } from './util/redact.js';
import { availableParallelism } from 'node:os';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import picomatch from 'picomatch';
import { parseReachOptions, type ReachOptions } from './reach/options.js';

/** Reads one raw input by its kebab-case name; '' or undefined when unset. */
export type InputReader = (name: string) => string | undefined;

export interface S3Options {
  endpoint?: string;
  region?: string;
  forcePathStyle: boolean;
  storageClass?: string;
  /** Deadline to open a connection, ms (input connect-timeout). */
  connectTimeoutMs?: number;
  /** Deadline for a request that makes no progress, ms (input storage-timeout). */
  idleTimeoutMs?: number;
}

export interface Retention {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

export interface EncryptionOptions {
  recipients: string[];
  passphrase?: string;
  identity?: string;
  decryptPassphrase?: string;
}

export interface TriggerInfo {
  kind: 'cli' | 'github';
  runUrl?: string;
  actor?: string;
  event?: string;
  repository?: string;
  workflow?: string;
}

export interface Config {
  mode: Mode;
  storage: string;
  name: string;
  s3: S3Options;
  /** Source (backup) or target (restore) database; undefined means libpq PG* env vars. */
  databaseUrl?: string;
  filesPath?: string;
  filesExclude: string[];
  postgresBinDir?: string;
  /** `auto` (zstd when available, else gzip) or a codec and level (archive/codec.ts). */
  compression: CompressionChoice;
  retention: Retention;
  encryption: EncryptionOptions;
  redactColumns: string[];
  sensitiveColumns: string[];
  backupId: string;
  /** The PostgreSQL major whose binaries to use; undefined = `auto` (the source server's or the backup's). */
  postgresVersion?: number;
  /** Upgrade rehearsal: restore the backup a second time into a server of this major. */
  rehearseMajor?: number | 'latest';
  rehearseMustPass: boolean;
  drillDatabaseUrl?: string;
  checksPath?: string;
  maxAgeSeconds?: number;
  keepDatabase: boolean;
  jobs: number;
  reportDir?: string;
  force: boolean;
  ignoreSchemaMismatch: boolean;
  dryRun: boolean;
  parts: { database: boolean; files: boolean };
  tables: string[];
  intoSchema?: string;
  discardPreviousFiles: boolean;
  /** The server reached over SSH (input ssh and the ssh-* inputs); undefined = this machine reaches everything itself. */
  ssh?: ReachOptions;
  createRoles: boolean;
  trigger: TriggerInfo;
  /** Deadline for the whole run (input timeout). */
  timeoutSeconds: number;
  notify: NotifyOptions;
  historyKeepMonths: number;
  trend: TrendOptions;
}

export type NotifyOn = 'failure' | 'warning' | 'always';

export interface NotifyOptions {
  targets: string[];
  on: NotifyOn;
  pingUrl?: string;
}

export interface TrendOptions {
  /** Fraction (0.2 = 20%); undefined = off. */
  maxShrink?: number;
  maxGrowth?: number;
  ignore: string[];
  acceptShrink: boolean;
}

const KNOWN = new Set(INPUTS.map((i) => i.name));

/** Wraps a reader with defaults and env fallbacks from the INPUTS table. */
export function withFallbacks(read: InputReader, env: NodeJS.ProcessEnv): InputReader {
  return (name) => {
    if (!KNOWN.has(name)) throw new Error(`internal: unknown input ${name}`);
    const spec = INPUTS.find((i) => i.name === name)!;
    const raw = read(name)?.trim();
    if (raw) return raw;
    for (const variable of spec.env ?? []) {
      const value = env[variable]?.trim();
      if (value) return value;
    }
    return spec.default;
  };
}

export function parseBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  const v = value.toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new UsageError(`Input '${name}' must be true or false, got '${value}'.`, { input: name, hint: `Use ${name}: true or ${name}: false.` });
}

export function parseInteger(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`Input '${name}' must be a whole number from ${min} to ${max}, got '${value}'.`, { input: name });
  }
  return Number(value);
}

/** A PostgreSQL major (10–99), or the input's keyword (`auto`, `latest`), which the caller handles. */
function parseMajor(name: string, value: string | undefined, keyword: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 10 || Number(value) > 99) {
    throw new UsageError(`Input '${name}' must be \`${keyword}\` or a PostgreSQL major version such as 17; got '${value}'.`, { input: name });
  }
  return Number(value);
}

/** Splits a list given one per line and/or comma-separated. */
export function parseList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith('#'));
}

const STORAGE_HINT =
  'Give a local folder (e.g. ./backups or file:///srv/backups) or an S3 URL (s3://bucket/prefix); in a terminal, --storage or BACKUP_DRILL_STORAGE.';

function validateStorage(value: string | undefined): string {
  if (!value) {
    throw new UsageError("Input 'storage' is required: where backups are kept.", { input: 'storage', hint: STORAGE_HINT });
  }
  if (/[\n\r\0]/.test(value)) {
    throw new UsageError(`Input 'storage' must be one location on one line, got '${safeUrl(value)}'.`, { input: 'storage', hint: STORAGE_HINT });
  }
  // 's3:/bucket' or 's3:bucket' would silently become a local folder named 's3:' (lost on a runner).
  const nearMiss = /^([a-z][a-z0-9+.-]+):(?!\/\/)/i.exec(value);
  if (nearMiss) {
    const scheme = nearMiss[1]!.toLowerCase();
    throw new UsageError(`Input 'storage' looks like a URL without '//': '${safeUrl(value)}'.`, {
      input: 'storage',
      hint:
        scheme === 's3'
          ? `Write it as s3://${value.slice(3).replace(/^\/+/, '')}. For a local folder whose name has a colon, write ./${value}.`
          : `Use s3://bucket/prefix, file:///absolute/path, or ./${value} for a local folder whose name has a colon.`,
    });
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme && scheme !== 'file' && scheme !== 's3') {
    throw new UsageError(`Input 'storage' has an unsupported scheme '${scheme}://' in '${safeUrl(value)}'.`, {
      input: 'storage',
      hint: 'Supported: a local path, file:///path, or s3://bucket/prefix (use s3-endpoint for R2, B2, MinIO, Wasabi, GCS interoperability).',
    });
  }
  if (scheme === 's3' && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/i.test(value)) {
    throw new UsageError(`Input 'storage' is not a valid S3 URL: '${value}'.`, {
      input: 'storage',
      hint: 'Use s3://bucket-name/optional/prefix (bucket names: 3–63 lowercase letters, digits, dots and hyphens).',
    });
  }
  if (scheme === 's3' && /[A-Z]/.test(value.slice(5).split('/')[0]!)) {
    throw new UsageError(`Input 'storage' has an invalid bucket name in '${value}': S3 bucket names are lowercase.`, {
      input: 'storage',
      hint: 'Use the bucket name exactly as the provider shows it (lowercase letters, digits, dots and hyphens).',
    });
  }
  if (scheme === 'file') {
    try {
      fileURLToPath(value);
    } catch (error) {
      throw new UsageError(`Input 'storage' is not a usable file URL: '${value}' (${(error as Error).message}).`, {
        input: 'storage',
        hint: 'Use file:///absolute/path (three slashes), or give the folder as a plain path.',
      });
    }
  }
  return value;
}

/** The local folder a storage value names, or undefined for S3. */
export function localStoragePath(storage: string): string | undefined {
  if (/^s3:\/\//i.test(storage)) return undefined;
  return resolve(/^file:\/\//i.test(storage) ? fileURLToPath(storage) : storage);
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** A backup whose storage lies inside files-path would pack its own partial parts and lock. */
function refuseStorageInsideFiles(storage: string, filesPath: string | undefined): void {
  const local = localStoragePath(storage);
  if (!local || !filesPath) return;
  const files = resolve(filesPath);
  if (isInside(local, files)) {
    throw new UsageError(`Input 'storage' (${local}) is inside 'files-path' (${files}): each backup would contain the partial parts and lock of itself.`, {
      input: 'storage',
      hint: `Keep backups outside the uploads directory, e.g. ${resolve(files, '..', 'backups')}, or add it to files-exclude and move it out.`,
    });
  }
}

const PG_TOOLS = ['pg_dump', 'pg_restore', 'psql', 'initdb', 'pg_ctl', 'postgres'];

/** A postgres-bin-dir that is missing or holds none of the tools is an error, not a silent fallback to PATH. */
function validateBinDir(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let info;
  try {
    info = statSync(value);
  } catch {
    throw new UsageError(`Input 'postgres-bin-dir' points at '${value}', which does not exist.`, {
      input: 'postgres-bin-dir',
      hint: 'Give the folder holding pg_dump/pg_restore/initdb (e.g. /usr/lib/postgresql/16/bin), or leave it empty to search PATH and /usr/lib/postgresql/*/bin.',
    });
  }
  if (!info.isDirectory()) {
    throw new UsageError(`Input 'postgres-bin-dir' must be a folder; '${value}' is a file.`, {
      input: 'postgres-bin-dir',
      hint: 'Give the folder that holds the tools, not a tool itself (e.g. /usr/lib/postgresql/16/bin).',
    });
  }
  let names: string[] = [];
  try {
    names = readdirSync(value);
  } catch (error) {
    throw new UsageError(`Input 'postgres-bin-dir' folder '${value}' cannot be read: ${(error as Error).message}.`, {
      input: 'postgres-bin-dir',
      hint: 'Give a folder this user can read.',
    });
  }
  if (!PG_TOOLS.some((tool) => names.includes(tool))) {
    throw new UsageError(`Input 'postgres-bin-dir' folder '${value}' holds none of ${PG_TOOLS.join(', ')}.`, {
      input: 'postgres-bin-dir',
      hint: "Point it at PostgreSQL's bin folder (e.g. /usr/lib/postgresql/16/bin; 'pg_config --bindir' prints it).",
    });
  }
  return value;
}

/** Exclude globs are relative to files-path; an invalid or absolute one would exclude nothing. */
function validateExcludes(patterns: string[]): string[] {
  for (const pattern of patterns) {
    if (isAbsolute(pattern) || /^[a-z]:[\\/]/i.test(pattern)) {
      throw new UsageError(`Input 'files-exclude' has an absolute pattern '${pattern}'; patterns are relative to files-path, so it would match nothing.`, {
        input: 'files-exclude',
        hint: `Write it relative to files-path, e.g. '${pattern.replace(/^([a-z]:)?[\\/]+/i, '')}' or '**/${pattern.split(/[\\/]/).pop() || '*'}'.`,
      });
    }
    if (pattern.split(/[\\/]/).includes('..')) {
      throw new UsageError(`Input 'files-exclude' pattern '${pattern}' reaches outside files-path with '..'; it would match nothing.`, {
        input: 'files-exclude',
        hint: 'Write patterns relative to files-path, without ..',
      });
    }
    try {
      picomatch.makeRe(pattern, { dot: true, strictBrackets: true });
    } catch (error) {
      throw new UsageError(`Input 'files-exclude' has an invalid glob '${pattern}': ${(error as Error).message}.`, {
        input: 'files-exclude',
        hint: 'Close every [ ], { } and ( ); escape a literal bracket with a backslash (\\[).',
      });
    }
  }
  return patterns;
}

/** An entry that is clearly a path, not a key: it must name an existing file. */
function looksLikePath(value: string): boolean {
  return !/^(age1|AGE-SECRET-KEY-1)/i.test(value) && !/\s/.test(value) && /[\\/~]|^\.|\.[a-z0-9]{1,5}$/i.test(value);
}

function validateKeyFiles(input: string, values: string[]): void {
  for (const value of values) {
    if (!looksLikePath(value)) continue;
    let info;
    try {
      info = statSync(value);
    } catch {
      throw new UsageError(`Input '${input}' names the file '${value}', which does not exist.`, {
        input,
        hint: value.startsWith('~')
          ? "'~' is not expanded here: give the full path (e.g. $HOME/...)."
          : `Check the path (relative paths start at ${process.cwd()}), or give the key itself.`,
      });
    }
    if (!info.isFile()) throw new UsageError(`Input '${input}' names '${value}', which is not a file.`, { input, hint: 'Give the path of the key file.' });
  }
}

/** Seconds from '30', '30s', '2m'. */
function parseTimeout(name: string, value: string | undefined, fallbackSeconds: number): number {
  if (!value) return fallbackSeconds * 1000;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : parseDuration(value);
  if (seconds === undefined || !(seconds >= 1) || seconds > 86400) {
    throw new UsageError(`Input '${name}' must be a duration from 1s to 24h (e.g. 30s, 2m; a plain number is seconds), got '${value}'.`, {
      input: name,
      hint: `Leave it empty for the default, or give e.g. ${name}: ${fallbackSeconds}s.`,
    });
  }
  return Math.round(seconds * 1000);
}

/** The values of a secret input to mask: a URL's password (not the whole URL, which the user must be able to read), a path as is never. */
export function secretsOf(name: string, value: string | undefined): string[] {
  if (!value) return [];
  if (name === 'database-url' || name === 'drill-database-url') {
    const password = urlPassword(value);
    const keyword = /\bpassword\s*=\s*('[^']*'|\S+)/i.exec(value)?.[1]?.replace(/^'|'$/g, '');
    return [password, keyword].filter((v): v is string => Boolean(v));
  }
  if (name === 'decrypt-identity' && looksLikePath(value)) return [];
  if (name === 'notify')
    return value
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
  // A multi-line key is masked whole and line by line (a log may show one line of it).
  if (name === 'ssh-private-key')
    return [
      value.trim(),
      ...value
        .split(/\r?\n/)
        .filter((l) => l.trim().length >= 16 && !l.startsWith('-----'))
        .map((l) => l.trim()),
    ];
  return [value];
}

function validateDatabaseUrl(name: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  for (const secret of secretsOf(name, value)) registerSecret(secret);
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new UsageError(`Input '${name}' is not a valid URL: '${safeUrl(value)}'.`, {
        input: name,
        hint: 'Use postgres://user:password@host:5432/database (percent-encode special characters in the password: @ as %40, / as %2F, # as %23; a port is 1–65535).',
      });
    }
    return value;
  }
  if (/=/.test(value)) return value; // libpq keyword/value string: host=... dbname=...
  throw new UsageError(`Input '${name}' must be a postgres:// URL or a libpq connection string, got '${safeUrl(value)}'.`, {
    input: name,
    hint: 'Example: postgres://app:secret@db.example.com:5432/app',
  });
}

function validateName(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(value)) {
    throw new UsageError(`Input 'name' must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit; got '${value}'.`, { input: 'name' });
  }
  if (value === 'locks') {
    throw new UsageError("Input 'name' cannot be 'locks': that folder holds the lock files.", {
      input: 'name',
      hint: "Use another name, e.g. 'app' or 'locks-db'.",
    });
  }
  return value;
}

function parseMode(value: string | undefined): Mode {
  const mode = (value ?? 'backup').toLowerCase();
  if (mode === 'drill') return 'restore-drill';
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`Unknown mode '${value}'.`, { input: 'mode', hint: `Use one of: ${MODES.join(', ')}.` });
  }
  return mode as Mode;
}

function parseParts(value: string | undefined): { database: boolean; files: boolean } {
  const list = parseList(value ?? 'database,files');
  for (const p of list) {
    if (p !== 'database' && p !== 'files') {
      throw new UsageError(`Input 'parts' has an unknown part '${p}'.`, { input: 'parts', hint: 'Use database, files, or database,files.' });
    }
  }
  if (list.length === 0) throw new UsageError("Input 'parts' is empty.", { input: 'parts', hint: 'Use database, files, or database,files.' });
  return { database: list.includes('database'), files: list.includes('files') };
}

export function triggerFromEnv(env: NodeJS.ProcessEnv): TriggerInfo {
  if (env.GITHUB_ACTIONS === 'true') {
    const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
    return {
      kind: 'github',
      runUrl: env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
      actor: env.GITHUB_ACTOR,
      event: env.GITHUB_EVENT_NAME,
      repository: env.GITHUB_REPOSITORY,
      workflow: env.GITHUB_WORKFLOW,
    };
  }
  return { kind: 'cli' };
}

/**
 * A passphrase from `<name>` or from the file named by `<name>-file` (one trailing newline, as
 * `echo` and editors leave it, is not part of the passphrase). Both at once is ambiguous.
 */
function passphraseInput(get: InputReader, name: 'encrypt-passphrase' | 'decrypt-passphrase'): string | undefined {
  const inline = get(name) || undefined;
  const fileInput = `${name}-file`;
  const path = get(fileInput) || undefined;
  if (!path) return inline;
  if (inline) throw new UsageError(`Give '${name}' or '${fileInput}', not both.`, { input: fileInput });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((error as NodeJS.ErrnoException).code ?? String(error));
    throw new UsageError(`Input '${fileInput}': cannot read the passphrase file '${path}' (${reason}).`, {
      input: fileInput,
      hint: `Give the path of a file that holds only the passphrase, or use '${name}'.`,
    });
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (!passphrase) throw new UsageError(`Input '${fileInput}': the passphrase file '${path}' is empty.`, { input: fileInput });
  registerSecret(passphrase);
  return passphrase;
}

/** A percentage (`20%`, `20`) as a fraction, or undefined for `off`. */
function parsePercent(name: string, value: string | undefined): number | undefined {
  if (!value || /^(off|none|false|0%?)$/i.test(value)) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(value);
  if (!m || !(Number(m[1]) > 0) || Number(m[1]) > 10000) {
    throw new UsageError(`Input '${name}' must be a percentage such as 20% (or off), got '${value}'.`, { input: name });
  }
  return Number(m[1]) / 100;
}

function parseNotifyOn(value: string | undefined): NotifyOn {
  const v = (value ?? 'failure').toLowerCase();
  if (v === 'failure' || v === 'warning' || v === 'always') return v;
  throw new UsageError(`Input 'notify-on' must be failure, warning or always, got '${value}'.`, { input: 'notify-on' });
}

function parseNotifyTargets(value: string | undefined): string[] {
  const targets = (value ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('#'));
  for (const target of targets) {
    registerSecret(target);
    if (!/^(https?|(slack|teams|discord)(\+https?)?|smtps?):\/\/\S+$/i.test(target)) {
      throw new UsageError(`Input 'notify' has an entry that is not a URL this tool can send to (${redactedScheme(target)}).`, {
        input: 'notify',
        hint: 'One URL per line: https://… (webhook, Slack, Teams Workflows, Discord), slack://, teams://, discord:// (slack+http:// etc. for a plain-HTTP relay), smtp:// or smtps://. See docs/NOTIFICATIONS.md.',
      });
    }
  }
  return targets;
}

function redactedScheme(target: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1];
  return scheme ? `scheme '${scheme}:'` : 'no scheme';
}

function neverSilentOptions(get: InputReader): Pick<Config, 'timeoutSeconds' | 'notify' | 'historyKeepMonths' | 'trend'> {
  const timeoutRaw = get('timeout') ?? '5h30m';
  const timeoutSeconds = /^\d+$/.test(timeoutRaw) ? Number(timeoutRaw) : parseDuration(timeoutRaw);
  if (timeoutSeconds === undefined || !(timeoutSeconds >= 1) || timeoutSeconds > 7 * 86400) {
    throw new UsageError(`Input 'timeout' must be a duration from 1s to 7d such as 45m or 5h30m (a plain number is seconds), got '${timeoutRaw}'.`, {
      input: 'timeout',
      hint: "GitHub stops a job after 6 h; keep 'timeout' below that so the run can clean up and record why.",
    });
  }
  const pingUrl = get('ping-url') || undefined;
  if (pingUrl) {
    registerSecret(pingUrl);
    if (!/^https?:\/\/\S+$/i.test(pingUrl)) {
      throw new UsageError(`Input 'ping-url' must be an http(s) URL (e.g. https://hc-ping.com/<uuid>), got ${redactedScheme(pingUrl)}.`, { input: 'ping-url' });
    }
  }
  const trendIgnore = parseList(get('trend-ignore'));
  for (const pattern of trendIgnore) {
    try {
      picomatch.makeRe(pattern, { strictBrackets: true });
    } catch (error) {
      throw new UsageError(`Input 'trend-ignore' has an invalid glob '${pattern}': ${(error as Error).message}.`, { input: 'trend-ignore' });
    }
  }
  return {
    timeoutSeconds,
    notify: { targets: parseNotifyTargets(get('notify')), on: parseNotifyOn(get('notify-on')), ...(pingUrl ? { pingUrl } : {}) },
    historyKeepMonths: parseInteger('history-keep-months', get('history-keep-months'), 1, 1200) ?? 12,
    trend: {
      maxShrink: parsePercent('max-shrink', get('max-shrink')),
      maxGrowth: parsePercent('max-growth', get('max-growth')),
      ignore: trendIgnore,
      acceptShrink: parseBoolean('accept-shrink', get('accept-shrink')),
    },
  };
}

/** Builds and validates the Config. `read` gives raw values; env supplies fallbacks. */
export function buildConfig(read: InputReader, env: NodeJS.ProcessEnv = process.env): Config {
  const get = withFallbacks(read, env);
  for (const spec of INPUTS) if (spec.secret) for (const secret of secretsOf(spec.name, read(spec.name)?.trim())) registerSecret(secret);

  const mode = parseMode(get('mode'));
  const maxAgeRaw = get('max-age');
  const maxAgeSeconds = maxAgeRaw ? parseDuration(maxAgeRaw) : undefined;
  if (maxAgeRaw && maxAgeSeconds === undefined) {
    throw new UsageError(`Input 'max-age' must be a duration such as 26h, 90m, 2d or 1w; got '${maxAgeRaw}'.`, { input: 'max-age' });
  }
  // `auto` (the default) leaves the major to what the run finds: the source server's, or the backup's.
  const postgresVersionRaw = get('postgres-version')?.trim().toLowerCase();
  const postgresVersion = postgresVersionRaw === 'auto' ? undefined : parseMajor('postgres-version', postgresVersionRaw, 'auto');
  const rehearseRaw = get('rehearse-major')?.trim().toLowerCase();
  const rehearseMajor = rehearseRaw === 'latest' ? 'latest' : parseMajor('rehearse-major', rehearseRaw, 'latest');
  const tables = parseList(get('tables'));
  const intoSchema = get('into-schema') || undefined;
  if (intoSchema && tables.length === 0) {
    throw new UsageError("Input 'into-schema' needs 'tables': it names where copies of those tables go.", { input: 'into-schema' });
  }

  const connectTimeoutMs = parseTimeout('connect-timeout', get('connect-timeout'), 30);
  const idleTimeoutMs = parseTimeout('storage-timeout', get('storage-timeout'), 120);
  setDeadlines({ connectMs: connectTimeoutMs, idleMs: idleTimeoutMs });

  const config: Config = {
    mode,
    storage: validateStorage(get('storage')),
    name: validateName(get('name') ?? 'default'),
    s3: {
      endpoint: get('s3-endpoint') || undefined,
      region: get('s3-region') || undefined,
      forcePathStyle: parseBoolean('s3-force-path-style', get('s3-force-path-style')),
      storageClass: get('s3-storage-class') || undefined,
      connectTimeoutMs,
      idleTimeoutMs,
    },
    databaseUrl: validateDatabaseUrl('database-url', get('database-url')),
    filesPath: get('files-path') || undefined,
    filesExclude: validateExcludes(parseList(get('files-exclude'))),
    postgresBinDir: validateBinDir(get('postgres-bin-dir') || undefined),
    compression: parseCompression(get('compression')),
    retention: {
      keepLast: parseInteger('keep-last', get('keep-last'), 0, 100000),
      keepDaily: parseInteger('keep-daily', get('keep-daily'), 0, 100000),
      keepWeekly: parseInteger('keep-weekly', get('keep-weekly'), 0, 100000),
      keepMonthly: parseInteger('keep-monthly', get('keep-monthly'), 0, 100000),
    },
    encryption: {
      recipients: parseList(get('encrypt-recipients')),
      passphrase: passphraseInput(get, 'encrypt-passphrase'),
      identity: get('decrypt-identity') || undefined,
      decryptPassphrase: passphraseInput(get, 'decrypt-passphrase'),
    },
    redactColumns: parseList(get('redact-columns')),
    sensitiveColumns: parseList(get('sensitive-columns')),
    backupId: get('backup-id') ?? 'latest',
    postgresVersion,
    rehearseMajor,
    rehearseMustPass: parseBoolean('rehearse-must-pass', get('rehearse-must-pass')),
    drillDatabaseUrl: validateDatabaseUrl('drill-database-url', get('drill-database-url')),
    checksPath: get('checks') || undefined,
    maxAgeSeconds,
    keepDatabase: parseBoolean('keep-database', get('keep-database')),
    jobs: parseInteger('jobs', get('jobs'), 1, 64) ?? Math.max(1, Math.min(availableParallelism(), 8)),
    reportDir: get('report-dir') || undefined,
    force: parseBoolean('force', get('force')),
    ignoreSchemaMismatch: parseBoolean('ignore-schema-mismatch', get('ignore-schema-mismatch')),
    dryRun: parseBoolean('dry-run', get('dry-run')),
    parts: parseParts(get('parts')),
    tables,
    intoSchema,
    discardPreviousFiles: parseBoolean('discard-previous-files', get('discard-previous-files')),
    createRoles: parseBoolean('create-roles', get('create-roles')),
    trigger: triggerFromEnv(env),
    ...neverSilentOptions(get),
    ssh: mode === 'restore-drill' ? undefined : parseReachOptions(get),
  };
  validateKeyFiles('encrypt-recipients', config.encryption.recipients);
  if (config.encryption.identity && !/\n/.test(config.encryption.identity)) validateKeyFiles('decrypt-identity', [config.encryption.identity]);
  // With ssh, files-path is a folder on the server: local storage cannot lie inside it.
  if (mode === 'backup' && !config.ssh) refuseStorageInsideFiles(config.storage, config.filesPath);
  if (config.ignoreSchemaMismatch && !config.force) {
    throw new UsageError("Input 'ignore-schema-mismatch' only makes sense with 'force: true'.", { input: 'ignore-schema-mismatch' });
  }
  return config;
}
