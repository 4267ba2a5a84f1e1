// CLI commands over the run history: `history` (table, --json, --chart) and
// `accept` (an operator says a suspect backup's drop was deliberate).
import { UsageError } from '../errors.js';
import { listBackups } from '../storage/catalog.js';
import { openStorage } from '../storage/registry.js';
import { loadHistory } from '../history/load.js';
import { renderHistory, textCharts } from '../history/view.js';
import { isAccepted, readSuspectReasons, writeAcceptedMarker, SUSPECT_MARKER } from '../history/markers.js';
import { lockHolder } from '../modes/prune.js';
import { configFor, type Command } from './commands.js';

const STORAGE_INPUTS = ['storage', 'name', 's3-endpoint', 's3-region', 's3-force-path-style'];
const KEY_INPUTS = ['decrypt-identity', 'decrypt-passphrase', 'decrypt-passphrase-file'];

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 50;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`Option '--limit' must be a whole number of 1 or more, got '${value}'.`, { input: 'limit' });
  return Number(value);
}

export const history: Command = {
  name: 'history',
  maxArguments: 0,
  usage: 'backup-drill history --storage <dir|s3://…> [--name <set>] [--limit 50] [--chart] [--json]',
  summary:
    'Every backup, drill and restore run of the set, newest first, failed ones included: status (a run that stopped refreshing its record shows as interrupted), duration, backup, size, time to restore, who ran it or why it failed. Encrypted sets keep status, times, sizes and the error category readable; the rest needs the key.',
  inputs: [...STORAGE_INPUTS, ...KEY_INPUTS],
  extraOptions: [
    { name: 'limit', value: 'N', description: 'How many runs to show (default 50).' },
    { name: 'chart', description: 'Show stored size, rows and time to restore of the last 30 runs as text charts.' },
  ],
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const storage = await openStorage(config);
    const limit = parseLimit(ctx.parsed.inputs.get('limit'));
    const rows = await loadHistory(storage, config, ctx.parsed.inputs.get('chart') === 'true' ? Math.max(limit, 30) : limit);
    const text = ctx.parsed.inputs.get('chart') === 'true' ? textCharts(rows) : renderHistory(rows.slice(0, limit));
    return { result: rows.slice(0, limit), text };
  },
};

export const accept: Command = {
  name: 'accept',
  usage: 'backup-drill accept <id> --storage <dir|s3://…>',
  summary:
    "Accept a backup the trend guard marked suspect (its rows or size dropped past max-shrink) as deliberate, e.g. after a purge: it joins the baseline again, drills no longer fail on it, and retention no longer holds the last good backup before it. Writes accepted.json in the backup's folder.",
  inputs: STORAGE_INPUTS,
  async run(ctx) {
    const config = configFor(ctx, 'backup');
    const id = ctx.parsed.positionals[0];
    if (!id) throw new UsageError("'accept' needs a backup id.", { input: 'backup-id', hint: "'backup-drill list' shows the ids and which are suspect." });
    const storage = await openStorage(config);
    const entry = (await listBackups(storage, config.name)).find((e) => e.id === id);
    if (!entry)
      throw new UsageError(`Backup '${id}' not found under ${storage.uriOf(config.name)}.`, { input: 'backup-id', hint: "'backup-drill list' shows the ids." });
    const suspect = entry.sizes.has(`${config.name}/${id}/${SUSPECT_MARKER}`);
    if (isAccepted(entry, config.name)) return { result: { id, accepted: true, already: true }, text: `Backup ${id} was already accepted.` };
    await writeAcceptedMarker(storage, config.name, id, 'accept', lockHolder(config));
    const reasons = suspect ? await readSuspectReasons(storage, config.name, id) : [];
    return {
      result: { id, accepted: true, wasSuspect: suspect, reasons },
      text: suspect
        ? `Accepted backup ${id} (was suspect: ${reasons.join('; ')}).`
        : `Accepted backup ${id} (it was not marked suspect; a drill's own trend check will accept it too).`,
    };
  },
};

export const HISTORY_COMMANDS: Command[] = [history, accept];
