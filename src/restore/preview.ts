// The preview: everything a tired operator needs to see before a restore
// touches anything. Built from the manifest, the dump's TOC and a read-only
// look at the target; rendered as plain text for the shells (the JSON result
// carries the same object).
import type { Manifest, MigrationHead } from '../archive/manifest.js';
import type { CatalogEntry } from '../storage/catalog.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { printable } from '../report/text.js';
import type { TargetState } from './target.js';
import type { FilesTarget } from './files.js';

export interface RestorePreview {
  backup: {
    id: string;
    name: string;
    uri: string;
    takenAt: string;
    ageSeconds: number;
    toolVersion: string;
    pgDumpVersion: string;
    sourceServerVersion: string;
    sourceDatabase: string;
    schemaHash: string;
    migration: MigrationHead | null;
    tables: Array<{ schema: string; name: string; rows: number }>;
    totals: { tables: number; rows: number };
    files: { count: number; bytes: number } | null;
    sizeBytes: number;
    encryption: { recipients: string[]; passphrase: boolean } | null;
    redactions: string[];
    warnings: string[];
  };
  /** What will be restored. */
  restore: {
    database: boolean;
    files: boolean;
    /** full: the whole database; tables: listed tables' data into the live target; into-schema: copies. */
    mode: 'full' | 'tables' | 'into-schema' | 'none';
    tables: string[];
    intoSchema?: string;
    /** Full restore: schemas dropped (with everything in them) and restored from the backup. */
    replacesSchemas?: string[];
  };
  /** The target database as it is now (null when the database is not restored). */
  target: {
    database: string;
    host: string;
    user: string;
    serverVersion: string;
    userTables: number;
    schemaHash: string;
    migration: MigrationHead | null;
    schemaMatches: boolean;
    migrationMatches: boolean;
    /** Schemas on the target that the backup does not have: a full restore leaves them as they are. */
    otherSchemas: string[];
  } | null;
  filesTarget: { path: string; exists: boolean; server?: string } | null;
  /** Extensions the dump creates, and those the target server cannot provide (null: the TOC could not be read). */
  extensions: { used: string[]; missing: string[] } | null;
  warnings: string[];
  /** Why the restore would be refused (a real run throws; a dry run reports them). */
  refusals: string[];
}

export function sameMigration(a: MigrationHead | null, b: MigrationHead | null): boolean {
  if (!a || !b) return a === b;
  return a.ledger === b.ledger && a.head === b.head;
}

export function buildPreview(input: {
  manifest: Manifest;
  entry: CatalogEntry;
  uri: string;
  now: Date;
  restore: RestorePreview['restore'];
  target?: TargetState;
  files?: FilesTarget;
  extensions: RestorePreview['extensions'];
  /** Schemas the restore replaces (full restore). */
  replacedSchemas?: string[];
}): RestorePreview {
  const { manifest, target } = input;
  const warnings: string[] = [];
  const backupSchemas = new Set(input.replacedSchemas ?? manifest.tables.map((t) => t.schema));
  const preview: RestorePreview = {
    backup: {
      id: manifest.id,
      name: manifest.name,
      uri: input.uri,
      takenAt: manifest.finishedAt,
      ageSeconds: Math.max(0, Math.round((input.now.getTime() - new Date(manifest.finishedAt).getTime()) / 1000)),
      toolVersion: `${manifest.tool.name} ${manifest.tool.version}`,
      pgDumpVersion: manifest.dump.toolVersion,
      sourceServerVersion: manifest.source.serverVersion,
      sourceDatabase: manifest.source.database,
      schemaHash: manifest.source.schemaHash,
      migration: manifest.source.migration,
      tables: manifest.tables.map((t) => ({ schema: t.schema, name: t.name, rows: t.rows })),
      totals: manifest.totals,
      files: manifest.files ? { count: manifest.files.count, bytes: manifest.files.bytes } : null,
      sizeBytes: input.entry.sizeBytes,
      encryption: manifest.encryption,
      redactions: manifest.redactions.map((r) => `${r.schema}.${r.table}.${r.column}`),
      warnings: manifest.warnings,
    },
    restore: input.replacedSchemas && input.restore.mode === 'full' ? { ...input.restore, replacesSchemas: input.replacedSchemas } : input.restore,
    target: target
      ? {
          database: target.database,
          host: target.host,
          user: target.user,
          serverVersion: target.serverVersion,
          userTables: target.userTables,
          schemaHash: target.schemaHash,
          migration: target.migration,
          schemaMatches: target.schemaHash === manifest.source.schemaHash,
          migrationMatches: sameMigration(target.migration, manifest.source.migration),
          otherSchemas: target.schemas.filter((s) => !backupSchemas.has(s)),
        }
      : null,
    filesTarget: input.files ? { path: input.files.path, exists: input.files.exists, ...(input.files.server ? { server: input.files.server } : {}) } : null,
    extensions: input.extensions,
    warnings,
    refusals: [],
  };
  if (target && target.major < manifest.source.major) {
    warnings.push(
      `The target runs PostgreSQL ${target.serverVersion}, older than the backup's ${manifest.source.serverVersion}: objects that need the newer server will fail the restore (and roll it back).`,
    );
  }
  if (manifest.redactions.length)
    warnings.push(
      `Credential columns were redacted in this backup: ${preview.backup.redactions.join(', ')}. Restored users cannot log in with their old passwords.`,
    );
  if (input.restore.mode === 'full' && preview.target?.otherSchemas.length) {
    warnings.push(`Schemas on the target that are not in the backup are left as they are: ${preview.target.otherSchemas.join(', ')}.`);
  }
  if (input.restore.mode === 'full' && target && target.largeObjects > 0)
    warnings.push(`The target has ${target.largeObjects} large object(s); they are replaced only if the backup has large objects too.`);
  if (input.restore.database && target) warnings.push(`Restored objects will belong to ${target.user} (the restore runs --no-owner --no-acl).`);
  if (input.restore.mode === 'full' && target && input.extensions && input.replacedSchemas) {
    const replaced = new Set(input.replacedSchemas);
    const lost = target.installedExtensions.filter((e) => replaced.has(e.schema) && !input.extensions!.used.includes(e.name));
    if (lost.length)
      warnings.push(
        `Extension(s) installed on the target but not in the backup are dropped with their schema: ${lost.map((e) => `${e.name} (in ${e.schema})`).join(', ')}.`,
      );
  }
  if (input.extensions?.missing.length)
    warnings.push(`Extensions the backup uses are not available on the target server: ${input.extensions.missing.join(', ')}.`);
  for (const w of manifest.warnings) warnings.push(`backup: ${w}`);
  return preview;
}

function migrationText(m: MigrationHead | null): string {
  return m ? `${m.head} (${m.ledger}, ${m.count} applied)` : 'none found';
}

function shortHash(h: string): string {
  return h.replace(/^sha256:/, '').slice(0, 12);
}

/** Plain text, one fact a line, for a terminal, a log or a job summary code block. */
export function renderPreview(p: RestorePreview): string {
  const b = p.backup;
  const lines: string[] = [];
  lines.push(`Restore preview — backup ${b.id} (${b.name})`);
  lines.push(`  Stored at:        ${b.uri} (${formatBytes(b.sizeBytes)})`);
  lines.push(`  Taken:            ${b.takenAt} (${formatDuration(b.ageSeconds)} ago)`);
  lines.push(`  Made by:          ${b.toolVersion}, pg_dump ${b.pgDumpVersion}, from PostgreSQL ${b.sourceServerVersion} database ${b.sourceDatabase}`);
  lines.push(
    `  Schema hash:      ${shortHash(b.schemaHash)}${p.target ? `   target: ${shortHash(p.target.schemaHash)} ${p.target.schemaMatches ? '(same)' : p.target.userTables === 0 ? '(empty)' : '(DIFFERENT)'}` : ''}`,
  );
  lines.push(
    `  Migration head:   ${migrationText(b.migration)}${p.target ? `   target: ${migrationText(p.target.migration)} ${p.target.migrationMatches ? '(same)' : p.target.userTables === 0 ? '' : '(DIFFERENT)'}` : ''}`,
  );
  lines.push(`  Tables:           ${b.totals.tables} tables, ${b.totals.rows} rows`);
  const width = Math.max(...b.tables.map((t) => `${t.schema}.${t.name}`.length), 10);
  const shown = p.restore.mode === 'full' || p.restore.mode === 'none' ? b.tables : b.tables.filter((t) => p.restore.tables.includes(`${t.schema}.${t.name}`));
  for (const t of shown.slice(0, 200)) lines.push(`    ${`${t.schema}.${t.name}`.padEnd(width)}  ${String(t.rows).padStart(10)} rows`);
  if (shown.length > 200) lines.push(`    … and ${shown.length - 200} more`);
  lines.push(`  Files:            ${b.files ? `${b.files.count} files, ${formatBytes(b.files.bytes)}` : 'none in this backup'}`);
  lines.push(`  Encryption:       ${b.encryption ? (b.encryption.passphrase ? 'age, passphrase' : `age, to ${b.encryption.recipients.join(', ')}`) : 'none'}`);
  lines.push(`  Redactions:       ${b.redactions.length ? b.redactions.join(', ') : 'none'}`);
  if (p.extensions)
    lines.push(
      `  Extensions:       ${p.extensions.used.length ? p.extensions.used.join(', ') : 'none'}${p.extensions.missing.length ? `   MISSING on target: ${p.extensions.missing.join(', ')}` : ''}`,
    );
  lines.push('');
  const what =
    p.restore.mode === 'full'
      ? 'the whole database'
      : p.restore.mode === 'tables'
        ? `the data of ${p.restore.tables.join(', ')} (replaced in the live tables)`
        : p.restore.mode === 'into-schema'
          ? `copies of ${p.restore.tables.join(', ')} into schema ${p.restore.intoSchema}`
          : 'no database objects';
  lines.push(`Restoring ${what}${p.restore.files ? ' and the files' : ''}`);
  if (p.target) {
    lines.push(`  Into database:    ${p.target.database} on ${p.target.host} as ${p.target.user} (PostgreSQL ${p.target.serverVersion})`);
    lines.push(`  Target now has:   ${p.target.userTables} user table(s)`);
    if (p.restore.replacesSchemas?.length)
      lines.push(`  Replaces schemas: ${p.restore.replacesSchemas.join(', ')} (dropped with everything in them, then restored)`);
  }
  if (p.filesTarget)
    lines.push(
      `  Files into:       ${p.filesTarget.path}${p.filesTarget.server ? ` on ${p.filesTarget.server}` : ''}${p.filesTarget.exists ? ' (exists: kept aside, renamed)' : ' (does not exist yet)'}`,
    );
  if (p.warnings.length) {
    lines.push('');
    lines.push('Warnings:');
    for (const w of p.warnings) lines.push(`  - ${w}`);
  }
  if (p.refusals.length) {
    lines.push('');
    lines.push('Refused:');
    for (const r of p.refusals) lines.push(`  - ${r}`);
  }
  // Names come from the backup and the target: never let one forge a line.
  return lines.map(printable).join('\n');
}
