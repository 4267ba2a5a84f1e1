// CLI commands that work on the stored backups themselves: list, inspect,
// verify, prune, delete, download. All read storage alone (no local state).
import { BackupDrillError, ExitCode, UsageError } from '../errors.js';
import { deleteBackup, listBackups, resolveBackup } from '../storage/catalog.js';
import { unsealingFor } from '../archive/seal.js';
import { openStorage } from '../storage/registry.js';
import { runPrune, withLock } from '../modes/prune.js';
import { verifyBackup } from '../modes/verify.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { configFor, type Command, type CommandContext } from './commands.js';
import type { Manifest } from '../archive/manifest.js';

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
  summary: 'List the backups in storage, newest first: id, time, age, size, complete or not, encrypted or not.',
  inputs: STORAGE_INPUTS,
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const storage = await openStorage(config);
    const entries = await listBackups(storage, config.name);
    const rows = entries.map((e) => ({
      id: e.id,
      time: e.time.toISOString(),
      ageSeconds: Math.round((Date.now() - e.time.getTime()) / 1000),
      sizeBytes: e.sizeBytes,
      complete: e.complete,
      encrypted: e.objects.some((k) => k.endsWith('.age')),
    }));
    const text = rows.length
      ? [
          `${'ID'.padEnd(24)} ${'TIME (UTC)'.padEnd(20)} ${'AGE'.padEnd(12)} ${'SIZE'.padStart(10)}  COMPLETE  ENCRYPTED`,
          ...entries.map(
            (e, i) =>
              `${e.id.padEnd(24)} ${e.time.toISOString().slice(0, 19).replace('T', ' ').padEnd(20)} ${ago(e.time).padEnd(12)} ${formatBytes(e.sizeBytes).padStart(10)}  ${(e.complete ? 'yes' : 'NO').padEnd(8)}  ${rows[i]!.encrypted ? 'yes' : 'no'}`,
          ),
        ].join('\n')
      : `No backups under ${storage.uriOf(config.name)}.`;
    return { result: rows, text };
  },
};

function describeManifest(m: Manifest): string {
  const lines = [
    `backup:     ${m.id} (${m.name})`,
    `taken:      ${m.startedAt} → ${m.finishedAt} (${ago(new Date(m.finishedAt))})`,
    `by:         ${m.trigger.kind === 'github' ? `${m.trigger.runUrl ?? 'GitHub'} (${m.trigger.event ?? ''}, ${m.trigger.actor ?? ''})` : 'CLI'}; ${m.tool.name} ${m.tool.version}`,
    `source:     ${m.source.database}, PostgreSQL ${m.source.serverVersion}, ${m.source.encoding}; dump by pg_dump ${m.dump.toolVersion} (-Z${m.dump.compression})`,
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

export const verify: Command = {
  name: 'verify',
  usage: 'backup-drill verify <id|latest> --storage <dir|s3://…>',
  summary: 'Re-download every part of a backup and check its size and SHA-256 against the manifest. Exit code 7 on any mismatch.',
  inputs: STORAGE_INPUTS,
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const storage = await openStorage(config);
    const r = await verifyBackup(storage, config.name, backupArg(ctx, 'verify'), { logger: ctx.logger });
    const text = [
      ...r.parts.map((p) => `${p.ok ? '✓' : '✗'} ${p.name}: ${p.message}`),
      r.ok ? `Backup ${r.id}: every part verified.` : `Backup ${r.id}: VERIFICATION FAILED.`,
    ].join('\n');
    return { result: { id: r.id, ok: r.ok, parts: r.parts }, text, exitCode: r.ok ? ExitCode.ok : ExitCode.integrity };
  },
};

export const download: Command = {
  name: 'download',
  usage: 'backup-drill download <id|latest> <dir> --storage <dir|s3://…>',
  summary: "Download a backup's parts into a folder, verifying each as it arrives; a part that fails verification is not kept.",
  inputs: STORAGE_INPUTS,
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const dir = ctx.parsed.positionals[1];
    if (!dir) throw new UsageError("'download' needs a target folder: backup-drill download <id|latest> <dir>.");
    const storage = await openStorage(config);
    const r = await verifyBackup(storage, config.name, backupArg(ctx, 'download'), { logger: ctx.logger, into: dir });
    const text = [
      ...r.parts.map((p) => `${p.ok ? '✓' : '✗'} ${p.name}: ${p.message}`),
      r.ok ? `Backup ${r.id} downloaded to ${dir}; check it with: (cd ${dir} && sha256sum -c checksums.sha256)` : 'DOWNLOAD FAILED verification.',
    ].join('\n');
    return { result: { id: r.id, ok: r.ok, dir, parts: r.parts }, text, exitCode: r.ok ? ExitCode.ok : ExitCode.integrity };
  },
};

export const prune: Command = {
  name: 'prune',
  usage: 'backup-drill prune --storage <dir|s3://…> [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--dry-run]',
  summary:
    'Apply retention: keep the newest N, and the newest backup of each of the last N days/weeks/months. Never deletes the newest complete backup; incomplete backups go after 24 h.',
  inputs: [...STORAGE_INPUTS, 'keep-last', 'keep-daily', 'keep-weekly', 'keep-monthly', 'dry-run'],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const dryRun = ['true', 'yes', '1'].includes(ctx.parsed.inputs.get('dry-run') ?? '');
    const r = await runPrune(config, { logger: ctx.logger, dryRun });
    const text =
      r.decisions.map((d) => `${d.keep ? 'keep  ' : dryRun ? 'would remove' : 'removed'} ${d.id}  ${d.reasons.join(', ')}`).join('\n') || 'No backups.';
    return { result: r, text };
  },
};

export const remove: Command = {
  name: 'delete',
  usage: 'backup-drill delete <id> --storage <dir|s3://…> [--yes]',
  summary: 'Delete one backup (asks for confirmation unless --yes). Refuses to delete the newest complete backup unless --force.',
  inputs: [...STORAGE_INPUTS, 'force'],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const id = backupArg(ctx, 'delete');
    const storage = await openStorage(config);
    const entries = await listBackups(storage, config.name);
    const entry = entries.find((e) => e.id === id);
    if (!entry)
      throw new UsageError(`Backup '${id}' not found under ${storage.uriOf(config.name)}.`, { input: 'backup-id', hint: "'backup-drill list' shows the ids." });
    const newestComplete = entries.find((e) => e.complete);
    const force = ['true', 'yes', '1'].includes(ctx.parsed.inputs.get('force') ?? '');
    if (newestComplete?.id === id && !force) {
      throw new UsageError(
        `Backup ${id} is the newest complete backup; deleting it would leave ${entries.filter((e) => e.complete).length - 1} complete backup(s).`,
        { hint: 'Add --force if you really mean it.' },
      );
    }
    if (!(await ctx.confirm(`Delete backup ${id} (${formatBytes(entry.sizeBytes)}) from ${storage.uriOf(config.name)}?`))) {
      throw new BackupDrillError('usage', `Not deleted: no confirmation.`, {
        hint: 'Answer y at the prompt, or pass --yes (needed when there is no terminal).',
      });
    }
    await withLock(storage, config, 'delete', ctx.logger, () => deleteBackup(storage, entry));
    return { result: { deleted: id }, text: `Deleted ${id}.` };
  },
};

export const STORAGE_COMMANDS: Command[] = [list, inspect, verify, download, prune, remove];
