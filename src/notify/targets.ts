// Which service a notify URL is for: by scheme (`slack://`, `teams://`,
// `discord://`, `smtp://`, `smtps://`), else by well-known webhook host, else a
// generic JSON webhook. `slack+http://` and friends reach a plain-HTTP relay.
export type ServiceKind = 'webhook' | 'slack' | 'teams' | 'discord' | 'email';

export interface Target {
  kind: ServiceKind;
  /** The URL to send to (https for chat services, the SMTP URL for e-mail). */
  url: string;
  /** For messages and logs: the service and host only (the URL itself is secret). */
  label: string;
}

const HOSTS: Array<[RegExp, ServiceKind]> = [
  [/^hooks\.slack\.com$/i, 'slack'],
  [/(^|\.)discord(app)?\.com$/i, 'discord'],
  [/(\.logic\.azure\.com|\.api\.powerplatform\.com|\.webhook\.office\.com)$/i, 'teams'],
];

export function parseTarget(raw: string): Target {
  const m = /^([a-z]+)(?:\+(https?))?:\/\/(.*)$/i.exec(raw.trim());
  if (!m) return { kind: 'webhook', url: raw, label: 'webhook' };
  const scheme = m[1]!.toLowerCase();
  const transport = (m[2] ?? 'https').toLowerCase();
  if (scheme === 'smtp' || scheme === 'smtps') return { kind: 'email', url: raw, label: `e-mail via ${hostOf(raw)}` };
  if (scheme === 'slack' || scheme === 'teams' || scheme === 'discord') {
    const url = `${transport}://${m[3]}`;
    return { kind: scheme, url, label: `${scheme} (${hostOf(url)})` };
  }
  const host = hostOf(raw);
  const kind = HOSTS.find(([pattern]) => pattern.test(host))?.[1] ?? 'webhook';
  return { kind, url: raw, label: `${kind} (${host})` };
}

/** The host a notification URL points at, for messages (never the path, which may hold a token). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unparsable URL';
  }
}
