// The plan: the steps a restore will take, in order, in words. Printed before
// anything is written, and all that a dry run does besides verifying.
import type { Manifest, PartInfo, TableStats } from '../archive/manifest.js';
import { formatBytes } from '../util/format.js';
import { LOCK_TIMEOUT } from './database.js';
import type { RestorePreview } from './preview.js';

export interface PlanInput {
  manifest: Manifest;
  preview: RestorePreview;
  parts: PartInfo[];
  stagingDir: string;
  replacedSchemas: string[];
  selected: TableStats[];
  intoSchema?: string;
  filesPath?: string;
  previousFilesPath?: string;
  discardPrevious: boolean;
  checksPath?: string;
  dryRun: boolean;
}

export function buildPlan(p: PlanInput): string[] {
  const steps: string[] = [];
  const t = p.preview.target;
  const on = t ? `database '${t.database}' on ${t.host}` : '';
  for (const part of p.parts) {
    steps.push(
      part.role === 'database'
        ? `Download ${part.name} (${formatBytes(part.bytes)}) into ${p.stagingDir}, checking its SHA-256 while it streams${part.encrypted ? ', decrypting it' : ''}.`
        : part.role === 'files'
          ? p.dryRun
            ? `Read ${part.name} (${formatBytes(part.bytes)}), checking its SHA-256 and every file's digest against files.sha256 (nothing extracted).`
            : `Extract ${part.name} (${formatBytes(part.bytes)}) into a temporary folder next to ${p.filesPath}, checking its SHA-256 and every file's digest against files.sha256.`
          : `Download ${part.name}, checking its SHA-256.`,
    );
  }
  if (p.preview.restore.database) steps.push(`Stop here, with ${t ? on : 'the target'} untouched, if any digest, decryption or file differs.`);
  const mode = p.preview.restore.mode;
  if (mode === 'full') {
    steps.push(
      `In ONE transaction on ${on}: drop schema(s) ${p.replacedSchemas.join(', ')} with everything in them (CASCADE, so nothing newer than the backup survives), ` +
        `recreate public with its previous owner, privileges and comment, run the dump as SQL (pg_restore --single-transaction -f - | psql, --no-owner --no-acl, stop at the first error; nothing in it may end the transaction), ` +
        `then check every table's row count and checksum against the manifest inside the transaction. Wait at most ${LOCK_TIMEOUT} for other sessions' locks.`,
    );
  } else if (mode === 'tables') {
    steps.push(
      `In ONE transaction on ${on}: TRUNCATE ${p.selected.map((s) => `${s.schema}.${s.name}`).join(', ')} (nothing else), load their rows from the backup, check their row counts and checksums.`,
    );
  } else if (mode === 'into-schema') {
    steps.push(
      `In ONE transaction on ${on}: create schema ${p.intoSchema} if needed, create copies ${p.selected.map((s) => `${p.intoSchema}.${s.name}`).join(', ')} as they were in the backup (no constraints or indexes), ` +
        `load their rows, check their row counts and checksums. The live tables are not touched.`,
    );
  }
  if (p.preview.restore.files && p.filesPath) {
    steps.push(
      p.previousFilesPath
        ? `Swap the files in by rename: ${p.filesPath} → ${p.previousFilesPath}${p.discardPrevious ? ' (then deleted: discard-previous-files)' : ' (kept)'}, restored folder → ${p.filesPath}.`
        : `Move the restored folder to ${p.filesPath}.`,
    );
  }
  if (p.preview.restore.database)
    steps.push(
      p.preview.restore.files
        ? 'COMMIT only if everything above succeeded; if the COMMIT fails, the files are swapped back.'
        : 'COMMIT only if everything above succeeded; on any error the transaction is rolled back and the target is unchanged.',
    );
  if (p.preview.restore.database)
    steps.push(
      `Verify the committed tables one by one against the manifest (as a drill does) and write the report${p.checksPath ? `; run the checks in ${p.checksPath}` : ''}.`,
    );
  if (p.dryRun) steps.unshift('DRY RUN: only the download and verification steps run; the target is contacted read-only and nothing is written.');
  return steps;
}
