// One small HTTP POST with a deadline and one retry on a network error or a
// 5xx/429 answer. Errors never name the URL (it holds the webhook's secret).
import { setTimeout as sleep } from 'node:timers/promises';

const TIMEOUT_MS = 10_000;

export async function post(url: string, body: string, contentType: string): Promise<void> {
  let last = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType, 'user-agent': 'backup-drill' },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      last = `HTTP ${response.status} ${response.statusText}`.trim();
      if (response.status < 500 && response.status !== 429) break;
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      last = cause?.code ?? cause?.message ?? (error as Error).message;
    }
    if (attempt < 2) await sleep(1000);
  }
  throw new Error(last);
}
