// Dead-man's switch pings, healthchecks.io style: `<url>/start` when a run
// starts, `<url>` when it succeeds, `<url>/fail` when it fails, each a POST
// with a short body. A run killed with SIGKILL sends only /start: the service
// notices the missing end. A ping that cannot be sent only warns.
import { describeError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { redact } from '../util/redact.js';
import { post } from './http.js';
import { hostOf } from './targets.js';

export type PingKind = 'start' | 'success' | 'fail';

export function pingUrl(base: string, kind: PingKind): string {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, '');
  if (kind !== 'success') url.pathname = `${path}/${kind}`;
  return url.toString();
}

export async function sendPing(base: string | undefined, kind: PingKind, body: string, logger: Logger): Promise<boolean> {
  if (!base) return true;
  try {
    // healthchecks.io keeps the first 100 kB of a body; ours is a few lines.
    await post(pingUrl(base, kind), redact(body).slice(0, 10_000), 'text/plain; charset=utf-8');
    logger.debug(`Sent the ${kind} ping.`);
    return true;
  } catch (error) {
    logger.warn(`Could not send the ${kind} ping to ping-url (${hostOf(base)}): ${redact(describeError(error))}. The run itself is not affected.`);
    return false;
  }
}
