// The guards: the likely accidents, refused before anything is written.
// All reasons are collected, so one run tells everything that is in the way.
import type { Config } from '../config.js';
import type { Manifest, TableStats } from '../archive/manifest.js';
import { IntegrityError, UsageError } from '../errors.js';
import type { RestorePreview } from './preview.js';
import type { TargetState } from './target.js';
import { outsideReferences, redactedTableKeys } from './tables.js';

/** A restore refused by a guard (exit code 2, like any usage error). Carries the preview. */
export class RestoreRefused extends UsageError {
  constructor(
    readonly reasons: string[],
    readonly preview?: RestorePreview,
    readonly plan: string[] = [],
  ) {
    super(`Restore refused: ${reasons.join(' ')}`, { hint: 'Nothing was changed.' });
  }
}

/** Backup formats this restore understands; anything else is refused outright. */
export function checkFormat(manifest: Manifest): void {
  if (manifest.dump?.format !== 'custom' || manifest.dump.tool !== 'pg_dump') {
    throw new IntegrityError(
      `Backup ${manifest.id} has a database dump of an unknown kind (${manifest.dump?.tool ?? '?'} ${manifest.dump?.format ?? '?'}); this restore reads pg_dump custom-format dumps only.`,
      {
        hint: 'Upgrade backup-drill to a version that knows this format; nothing was changed.',
      },
    );
  }
}

function where(target: TargetState): string {
  return `database '${target.database}' on ${target.host}`;
}

export interface GuardInput {
  config: Config;
  manifest: Manifest;
  mode: RestorePreview['restore']['mode'];
  target?: TargetState;
  selected: TableStats[];
  tableProblems: string[];
  missingExtensions: string[];
  filesProblems: string[];
  restoreFiles: boolean;
}

export function findRefusals(input: GuardInput): string[] {
  const { config, manifest, target, mode } = input;
  const reasons: string[] = [...input.tableProblems, ...input.filesProblems];
  if (input.restoreFiles && !manifest.files)
    reasons.push(`Backup ${manifest.id} has no files; leave files-path empty or restore the database only (parts: database).`);
  if (target?.readOnly)
    reasons.push(
      `Target ${where(target)} is marked read-only: ${target.readOnly}. backup-drill does not override that. ` +
        `If the restore is intended, lift it first (e.g. ALTER DATABASE "${target.database}" RESET default_transaction_read_only), then run it again.`,
    );
  if (target && (mode === 'full' || mode === 'tables')) {
    if (target.userTables > 0 && !config.force) {
      reasons.push(
        mode === 'full'
          ? `Target ${where(target)} already has ${target.userTables} user table(s); restoring would replace them. Set force (--force, or force: true) to replace them.`
          : `Restoring ${input.selected.map((t) => `${t.schema}.${t.name}`).join(', ')} replaces their rows in ${where(target)}. Set force (--force, or force: true) to do it, or restore copies with into-schema.`,
      );
    }
    const schemaDiffers = target.schemaHash !== manifest.source.schemaHash;
    const migration = target.migration;
    const backupMigration = manifest.source.migration;
    const migrationDiffers = (migration?.ledger ?? null) !== (backupMigration?.ledger ?? null) || (migration?.head ?? null) !== (backupMigration?.head ?? null);
    if (target.userTables > 0 && (schemaDiffers || migrationDiffers) && !config.ignoreSchemaMismatch) {
      const parts: string[] = [];
      if (schemaDiffers)
        parts.push(`its schema hash (${target.schemaHash.slice(7, 19)}) differs from the backup's (${manifest.source.schemaHash.slice(7, 19)})`);
      if (migrationDiffers)
        parts.push(
          `its migration head is ${migration ? `${migration.head} (${migration.ledger})` : 'not found'} where the backup's is ${backupMigration ? `${backupMigration.head} (${backupMigration.ledger})` : 'not found'}`,
        );
      reasons.push(
        `Target ${where(target)} does not look like the database this backup was taken from: ${parts.join(', and ')}. ` +
          `The app may have been migrated since; restoring rolls its schema back. If that is intended, set ignore-schema-mismatch together with force.`,
      );
    }
  }
  if (mode === 'tables') {
    const redacted = redactedTableKeys(manifest);
    const hit = input.selected.filter((t) => redacted.has(`${t.schema}.${t.name}`));
    if (hit.length) {
      const columns = manifest.redactions
        .filter((r) => hit.some((t) => t.schema === r.schema && t.name === r.table))
        .map((r) => `${r.schema}.${r.table}.${r.column}`);
      reasons.push(
        `This backup redacted ${columns.join(', ')}: restoring ${hit.map((t) => `${t.schema}.${t.name}`).join(', ')} into the live table would replace those values in every row. ` +
          `Restore copies with into-schema (e.g. --into-schema recovered) and copy back the rows you need, leaving the redacted columns out.`,
      );
    }
  }
  if (mode === 'tables' && target) {
    const absent = input.selected.filter((t) => !target.tables.includes(`${t.schema}.${t.name}`));
    if (absent.length)
      reasons.push(
        `Table(s) ${absent.map((t) => `${t.schema}.${t.name}`).join(', ')} do not exist on the target; restore copies with into-schema, or the whole database.`,
      );
    const outside = outsideReferences(input.selected, target.foreignKeys);
    if (outside.length) {
      reasons.push(
        `Other tables reference the ones being replaced through foreign keys: ${outside.join('; ')}. Replacing the rows would break or cascade to them. ` +
          `Add those tables to 'tables', or restore copies with into-schema and copy the rows back by hand.`,
      );
    }
  }
  if (mode === 'into-schema' && target && config.intoSchema) {
    const sources = new Set(input.selected.map((t) => t.schema));
    if (sources.has(config.intoSchema))
      reasons.push(`into-schema '${config.intoSchema}' is where the live tables are; choose a separate schema, e.g. recovered.`);
    const existing = input.selected.filter((t) => target.tables.includes(`${config.intoSchema}.${t.name}`));
    if (existing.length && !config.force) {
      reasons.push(
        `Schema ${config.intoSchema} already has ${existing.map((t) => t.name).join(', ')} on the target; set force to replace those copies, or choose another into-schema.`,
      );
    }
  }
  if (target && target.major < 14 && mode !== 'none') {
    // hash_record_extended, behind 'record' checksums, came with PostgreSQL 14: the restore could not be verified.
    const scope = mode === 'full' ? manifest.tables : input.selected;
    const binary = scope.filter((t) => t.checksumMethod === 'record');
    if (binary.length) {
      reasons.push(
        `The target runs PostgreSQL ${target.serverVersion}, and the content checksums of ${binary.length} table(s) in this backup (${binary
          .slice(0, 3)
          .map((t) => `${t.schema}.${t.name}`)
          .join(', ')}${binary.length > 3 ? ', …' : ''}) ` +
          `hash binary values with hash_record_extended, which needs PostgreSQL 14 or newer: the restore could not be verified. Restore into PostgreSQL 14 or newer (the backup came from ${manifest.source.serverVersion}).`,
      );
    }
  }
  if (input.missingExtensions.length) {
    reasons.push(
      `The backup uses extension(s) the target server does not have: ${input.missingExtensions.join(', ')}. Install them on the target's server (e.g. the postgresql-contrib or the extension's package) first.`,
    );
  }
  return reasons;
}
