// Keeps secrets out of every message: URL passwords, and any value registered as secret.

const registered = new Set<string>();

/** Registers a value that must never appear in a message or log. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 3) registered.add(value);
}

export function registeredSecrets(): string[] {
  return [...registered];
}

const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/\s]*)@/gi;
const KEYWORD_PASSWORD = /(\bpassword\s*=\s*)('[^']*'|\S+)/gi;

export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, '$1***@').replace(KEYWORD_PASSWORD, '$1***');
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  return out;
}

/** A connection URL fit for a log line: password removed. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return redact(url);
  }
}

/** The password of a URL-like string, also when it does not parse as a URL (so an invalid URL can be shown with only it masked). */
export function urlPassword(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.password) return decodeURIComponent(u.password);
  } catch {
    /* fall back to the pattern */
  }
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:([^@\s]*)@/i.exec(url);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}
