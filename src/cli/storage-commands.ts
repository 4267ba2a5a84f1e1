// CLI commands that work on the stored backups themselves: list, inspect,
// verify, prune, delete, download. All read storage alone (no local state).
import { describeCompression, dumpCompressionOf } from '../archive/codec.js';
import { BackupDrillError, ExitCode, LockedError, UsageError } from '../errors.js';
import { assessBackup, deleteBackup, listBackups, resolveBackup, type CatalogEntry } from '../storage/catalog.js';
import type { Storage } from '../storage/port.js';
import { unsealingFor } from '../archive/seal.js';
import { openStorage } from '../storage/registry.js';
import { runPrune, withLock } from '../modes/prune.js';
import { parseSubset, subsetSelector, verdictExitCode, verifyAll, verifyBackup, type VerifyOptions, type VerifyResult } from '../modes/verify.js';
import { randomBytes } from 'node:crypto';
import { formatBytes, formatDuration } from '../util/format.js';
import { configFor, type Command, type CommandContext } from './commands.js';
import type { Manifest } from '../archive/manifest.js';
import { loadHistory } from '../history/load.js';
import { lastDrills } from '../history/view.js';
import { isSuspect } from '../history/markers.js';

function backupArg(ctx: CommandContext, command: string): string {
  const id = ctx.parsed.positionals[0] ?? ctx.parsed.inputs.get('backup-id');
  if (!id)
    throw new UsageError(`'${command}' needs a backup id (or 'latest').`, {
      input: 'backup-id',
      hint: `Example: backup-drill ${command} latest --storage ./backups. 'backup-drill list' shows the ids.`,
    });
  return id;
}

function ago(date: Date): string {
  return formatDuration(Math.max(0, (Date.now() - date.getTime()) / 1000)) + ' ago';
}

const STORAGE_INPUTS = ['storage', 'name', 's3-endpoint', 's3-region', 's3-force-path-style'];
const KEY_INPUTS = ['decrypt-identity', 'decrypt-passphrase', 'decrypt-passphrase-file'];

export const list: Command = {
  name: 'list',
  usage: 'backup-drill list --storage <dir|s3://…> [--name <set>] [--json]',
  summary:
    'List the backups in storage, newest first: id, time, age, size, complete, incomplete or damaged (a stat per part, no download), encrypted or not, the last drill of each (passed / failed / never, from the run history), and SUSPECT when the trend guard flagged it.',
  inputs: STORAGE_INPUTS,
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const storage = await openStorage(config);
    const entries = await listBackups(storage, config.name);
    // A stat per part, no download: a damaged backup must not look complete (as retention sees it).
    const states = await Promise.all(entries.map((e) => assessBackup(storage, config.name, e)));
    // The last 200 runs: enough for the drills of the backups a set keeps, read 16 at a time.
    const drills = lastDrills(await loadHistory(storage, config, 200).catch(() => []));
    const rows = entries.map((e, i) => {
      const assessed = states[i]!;
      return {
        id: e.id,
        time: e.time.toISOString(),
        ageSeconds: Math.round((Date.now() - e.time.getTime()) / 1000),
        sizeBytes: e.sizeBytes,
        complete: assessed.state === 'verified',
        state: assessed.state === 'verified' ? ('complete' as const) : assessed.state,
        ...(assessed.state === 'damaged' ? { damaged: assessed.reason } : {}),
        encrypted: e.objects.some((k) => k.endsWith('.age')),
        lastDrill: drills.get(e.id) ?? 'never',
        suspect: isSuspect(e, config.name),
      };
    });
    const shownState = { complete: 'yes', incomplete: 'NO', damaged: 'DAMAGED' } as const;
    const damaged = rows.filter((r) => r.damaged);
    const text = rows.length
      ? [
          `${'ID'.padEnd(24)} ${'TIME (UTC)'.padEnd(20)} ${'AGE'.padEnd(12)} ${'SIZE'.padStart(10)}  COMPLETE  ENCRYPTED  LAST DRILL`,
          ...entries.map(
            (e, i) =>
              `${e.id.padEnd(24)} ${e.time.toISOString().slice(0, 19).replace('T', ' ').padEnd(20)} ${ago(e.time).padEnd(12)} ${formatBytes(e.sizeBytes).padStart(10)}  ${shownState[rows[i]!.state].padEnd(8)}  ${(rows[i]!.encrypted ? 'yes' : 'no').padEnd(9)}  ${rows[i]!.lastDrill}${rows[i]!.suspect ? '  SUSPECT' : ''}`,
          ),
          ...(damaged.length
            ? ['', 'Damaged (retention counts them toward no rule; `verify <id>` for details):', ...damaged.map((r) => `  ${r.id}: ${r.damaged}`)]
            : []),
        ].join('\n')
      : `No backups under ${storage.uriOf(config.name)}.`;
    return { result: rows, text };
  },
};

/** Damage found, or only a storage that could not be read (then nothing is known about the backup). */
function verdictWord(r: VerifyResult): string {
  if (r.ok) return 'verified';
  return verdictExitCode(r.parts) === ExitCode.storage
    ? 'NOT VERIFIED: the storage could not be read (nothing wrong was found with the backup itself)'
    : 'VERIFICATION FAILED';
}

function describeManifest(m: Manifest): string {
  const lines = [
    `backup:     ${m.id} (${m.name})`,
    `taken:      ${m.startedAt} → ${m.finishedAt} (${ago(new Date(m.finishedAt))})`,
    `by:         ${m.trigger.kind === 'github' ? `${m.trigger.runUrl ?? 'GitHub'} (${m.trigger.event ?? ''}, ${m.trigger.actor ?? ''})` : 'CLI'}; ${m.tool.name} ${m.tool.version}`,
    `source:     ${m.source.database}, PostgreSQL ${m.source.serverVersion}, ${m.source.encoding}; dump by pg_dump ${m.dump.toolVersion} (${describeCompression(dumpCompressionOf(m.dump))})`,
    `schema:     ${m.source.schemaHash}`,
    `migration:  ${m.source.migration ? `${m.source.migration.head} (${m.source.migration.ledger}, ${m.source.migration.count} applied)` : 'no known ledger'}`,
    `tables:     ${m.totals.tables}, ${m.totals.rows} rows`,
    `files:      ${m.files ? `${m.files.count} files, ${formatBytes(m.files.bytes)}${m.files.skipped.length ? `, ${m.files.skipped.length} skipped` : ''}` : 'not backed up'}`,
    `encryption: ${m.encryption ? `age (${[...m.encryption.recipients, ...(m.encryption.passphrase ? ['passphrase'] : [])].join(', ')})` : 'none'}`,
    `redactions: ${m.redactions.length ? m.redactions.map((r) => `${r.schema}.${r.table}.${r.column}`).join(', ') : 'none'}`,
    '',
    'parts:',
    ...m.parts.map((p) => `  ${p.name.padEnd(22)} ${formatBytes(p.bytes).padStart(10)}  sha256 ${p.sha256}`),
    '',
    'tables:',
    ...m.tables.map(
      (t) =>
        `  ${`${t.schema}.${t.name}`.padEnd(40)} ${String(t.rows).padStart(12)} rows  checksum ${t.checksum} (${t.checksumMethod ?? 'text'}${t.textColumns?.length ? `; as text: ${t.textColumns.join(', ')}` : ''})`,
    ),
  ];
  if (m.warnings.length) lines.push('', 'warnings:', ...m.warnings.map((w) => `  ${w}`));
  return lines.join('\n');
}

export const inspect: Command = {
  name: 'inspect',
  usage: 'backup-drill inspect <id|latest> --storage <dir|s3://…> [--json]',
  summary:
    "Show a backup's manifest: when, versions, schema and migration head, tables and rows, files, parts and digests. Encrypted backups need decrypt-identity or decrypt-passphrase.",
  inputs: [...STORAGE_INPUTS, ...KEY_INPUTS],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const storage = await openStorage(config);
    const { manifest } = await resolveBackup(storage, config.name, backupArg(ctx, 'inspect'), unsealingFor(config));
    return { result: manifest, text: describeManifest(manifest) };
  },
};

function flagOn(ctx: CommandContext, name: string): boolean {
  return ['true', 'yes', '1'].includes(ctx.parsed.inputs.get(name) ?? '');
}

function partLines(r: VerifyResult): string[] {
  const lines = r.parts.map((p) => `${p.ok ? '✓' : '✗'} ${p.name}: ${p.message}`);
  if (r.manifest === undefined) {
    lines.push(
      '  (encrypted, no key given: the stored ciphertext was checked against its digests, which detects damage, not tampering; give a key to check the sealed content too)',
    );
  }
  return lines;
}

function verifyOptions(
  ctx: CommandContext,
  config: ReturnType<typeof configFor>,
  logger: CommandContext['logger'],
): VerifyOptions & { seed?: string; percent?: number } {
  const percent = parseSubset(ctx.parsed.inputs.get('read-data-subset'));
  const seed = percent === undefined ? undefined : randomBytes(4).toString('hex');
  return {
    logger,
    unseal: unsealingFor(config),
    ...(percent !== undefined && seed !== undefined ? { readData: subsetSelector(percent, seed), percent, seed } : {}),
  };
}

export const verify: Command = {
  name: 'verify',
  usage: 'backup-drill verify <id|latest> | --all --storage <dir|s3://…> [--read-data-subset N%] [--decrypt-identity <key>]',
  summary:
    "Re-download every stored object of a backup (or, with --all, of every backup) and check its size and SHA-256 against the manifest, the manifest's own digest and checksums.sha256. Encrypted backups verify without a key (stored ciphertext: detects damage, not tampering); with a key, the sealed content too. --read-data-subset N% reads about N% of the objects in full and checks the others' sizes. A full read that passes is recorded (verified.json) for retention. Exit code 7 on any mismatch.",
  inputs: [...STORAGE_INPUTS, ...KEY_INPUTS],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const storage = await openStorage(config);
    const options = verifyOptions(ctx, config, ctx.logger);
    const subset =
      options.percent !== undefined ? [`Read in full: about ${options.percent}% of the objects (seed ${options.seed}); the others' sizes were checked.`] : [];
    if (flagOn(ctx, 'all')) {
      const all = await verifyAll(storage, config.name, options);
      const text = [
        ...all.results.flatMap((r) => [`Backup ${r.id}: ${verdictWord(r)}`, ...partLines(r).map((l) => `  ${l}`)]),
        ...all.failed.map((f) => `Backup ${f.id}: DAMAGED: ${f.message}`),
        ...subset,
        all.ok
          ? `All ${all.results.length} complete backup(s) verified.`
          : `VERIFICATION FAILED for ${all.failed.length + all.results.filter((r) => !r.ok).length} of ${all.failed.length + all.results.length} backup(s).`,
      ].join('\n');
      return {
        result: { ok: all.ok, backups: all.results.map((r) => ({ id: r.id, ok: r.ok, parts: r.parts })), damaged: all.failed },
        text,
        exitCode: all.failed.length ? ExitCode.integrity : verdictExitCode(all.results.flatMap((r) => r.parts)),
      };
    }
    const r = await verifyBackup(storage, config.name, backupArg(ctx, 'verify'), options);
    const text = [...partLines(r), ...subset, r.ok ? `Backup ${r.id}: every object verified.` : `Backup ${r.id}: ${verdictWord(r)}.`].join('\n');
    return { result: { id: r.id, ok: r.ok, parts: r.parts }, text, exitCode: verdictExitCode(r.parts) };
  },
};

export const download: Command = {
  name: 'download',
  usage: 'backup-drill download <id|latest> <dir> --storage <dir|s3://…> [--decrypt-identity <key>]',
  maxArguments: 2,
  summary:
    "Download a backup's stored objects into a folder, verifying each as it arrives; an object that fails verification is not kept. Encrypted backups download without a key (as stored); with a key, each part is also checked to decrypt.",
  inputs: [...STORAGE_INPUTS, ...KEY_INPUTS],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const dir = ctx.parsed.positionals[1];
    if (!dir) throw new UsageError("'download' needs a target folder: backup-drill download <id|latest> <dir>.");
    const storage = await openStorage(config);
    const r = await verifyBackup(storage, config.name, backupArg(ctx, 'download'), { logger: ctx.logger, into: dir, unseal: unsealingFor(config) });
    const text = [
      ...partLines(r),
      r.ok ? `Backup ${r.id} downloaded to ${dir}; check it with: (cd ${dir} && sha256sum -c checksums.sha256)` : 'DOWNLOAD FAILED verification.',
    ].join('\n');
    return { result: { id: r.id, ok: r.ok, dir, parts: r.parts }, text, exitCode: verdictExitCode(r.parts) };
  },
};

export const prune: Command = {
  name: 'prune',
  usage: 'backup-drill prune --storage <dir|s3://…> [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--damaged] [--dry-run]',
  summary:
    'Apply retention over verified backups: keep the newest N, and the newest backup of each of the last N days/weeks/months. Damaged backups count toward no rule and are removed only with --damaged. Never deletes the newest backup that verifies, and reads it in full first unless a verify or drill recorded it. Skips deleting while a drill or restore holds its shared lock. Incomplete backups go after 24 h. Exit code 7 when no backup verifies (nothing deleted).',
  inputs: [...STORAGE_INPUTS, 'keep-last', 'keep-daily', 'keep-weekly', 'keep-monthly', 'dry-run'],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const dryRun = flagOn(ctx, 'dry-run');
    const r = await runPrune(config, { logger: ctx.logger, dryRun, pruneDamaged: flagOn(ctx, 'damaged') });
    const text = [
      ...r.decisions.map((d) => `${d.keep ? 'keep  ' : dryRun || r.skipped ? 'would remove' : 'removed'} ${d.id}  ${d.reasons.join(', ')}`),
      ...(r.skipped ? [`Nothing deleted: ${r.skipped}.`] : []),
      ...(r.damaged.length ? [`Damaged (kept unless --damaged, counted toward no rule): ${r.damaged.map((d) => d.id).join(', ')}.`] : []),
    ];
    return { result: r, text: text.join('\n') || 'No backups.' };
  },
};

export const remove: Command = {
  name: 'delete',
  usage: 'backup-drill delete <id> --storage <dir|s3://…> [--yes]',
  summary: 'Delete one backup (asks for confirmation unless --yes), damaged ones included. Refuses to delete the newest backup that verifies unless --force.',
  inputs: [...STORAGE_INPUTS, 'force'],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const id = backupArg(ctx, 'delete');
    const storage = await openStorage(config);
    const entries = await listBackups(storage, config.name);
    const entry = entries.find((e) => e.id === id);
    if (!entry)
      throw new UsageError(`Backup '${id}' not found under ${storage.uriOf(config.name)}.`, { input: 'backup-id', hint: "'backup-drill list' shows the ids." });
    // The newest backup that verifies is protected; a damaged one (even the newest) may go.
    const newestVerified = await newestVerifiedOf(storage, config.name, entries);
    const force = flagOn(ctx, 'force');
    if (newestVerified?.id === id && !force) {
      throw new UsageError(
        `Backup ${id} is the newest backup that verifies; deleting it would leave ${entries.filter((e) => e.complete).length - 1} complete backup(s), the newest of them unverified.`,
        { hint: 'Add --force if you really mean it.' },
      );
    }
    if (!(await ctx.confirm(`Delete backup ${id} (${formatBytes(entry.sizeBytes)}) from ${storage.uriOf(config.name)}?`))) {
      throw new BackupDrillError('usage', `Not deleted: no confirmation.`, {
        hint: 'Answer y at the prompt, or pass --yes (needed when there is no terminal).',
      });
    }
    await withLock(storage, config, 'delete', ctx.logger, async (lock) => {
      const readers = await lock.startDeleting();
      if (readers.length) {
        throw new LockedError(
          `Not deleted: ${readers.map((r) => `a ${r.operation} by ${r.holder} (since ${r.createdAt})`).join(', ')} is reading backup set '${config.name}'.`,
          {
            hint: 'Retry when it has finished.',
          },
        );
      }
      await deleteBackup(storage, entry);
    });
    return { result: { deleted: id }, text: `Deleted ${id}.` };
  },
};

async function newestVerifiedOf(storage: Storage, name: string, entries: CatalogEntry[]): Promise<CatalogEntry | undefined> {
  for (const entry of entries) if (entry.complete && (await assessBackup(storage, name, entry)).state === 'verified') return entry;
  return undefined;
}

export const STORAGE_COMMANDS: Command[] = [list, inspect, verify, download, prune, remove];
