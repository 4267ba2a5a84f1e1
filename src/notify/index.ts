// Notifications at the end of a run: one message per `notify` URL, in the
// format of the service it names, when `notify-on` says so. A message that
// cannot be delivered is a warning: it never fails a good backup.
import type { NotifyOn, NotifyOptions } from '../config.js';
import { describeError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { redact } from '../util/redact.js';
import { discordPayload, genericPayload, slackPayload, teamsPayload } from './chat.js';
import type { RunEvent } from './event.js';
import { post } from './http.js';
import { parseTarget, type Target } from './targets.js';

export type { RunEvent } from './event.js';

/** failure: anything but a clean success; warning: also successes with warnings; always: every run. */
export function shouldNotify(on: NotifyOn, event: Pick<RunEvent, 'status' | 'warnings'>): boolean {
  if (on === 'always') return true;
  if (event.status !== 'succeeded') return true;
  return on === 'warning' && event.warnings.length > 0;
}

async function deliver(target: Target, event: RunEvent): Promise<void> {
  switch (target.kind) {
    case 'email':
      // Loaded only for e-mail targets: nodemailer is a large part of the bundle's start-up.
      return (await import('./email.js')).sendEmail(target.url, event);
    case 'slack':
      return post(target.url, JSON.stringify(slackPayload(event)), 'application/json');
    case 'teams':
      return post(target.url, JSON.stringify(teamsPayload(event)), 'application/json');
    case 'discord':
      return post(target.url, JSON.stringify(discordPayload(event)), 'application/json');
    default:
      return post(target.url, JSON.stringify(genericPayload(event)), 'application/json');
  }
}

export interface Delivery {
  target: string;
  ok: boolean;
  error?: string;
}

/** Sends the event to every target (in parallel); returns what happened to each. */
export async function notifyRun(options: NotifyOptions, event: RunEvent, logger: Logger): Promise<Delivery[]> {
  if (!options.targets.length || !shouldNotify(options.on, event)) return [];
  const safe: RunEvent = JSON.parse(redact(JSON.stringify(event))) as RunEvent;
  return Promise.all(
    options.targets.map(async (raw): Promise<Delivery> => {
      const target = parseTarget(raw);
      try {
        await deliver(target, safe);
        logger.info(`Notified ${target.label}.`);
        return { target: target.label, ok: true };
      } catch (error) {
        const message = redact(describeError(error));
        logger.warn(`Could not notify ${target.label}: ${message}. The run's result is not affected.`);
        return { target: target.label, ok: false, error: message };
      }
    }),
  );
}
