// Payloads of the chat services, each as its documentation describes:
// Slack incoming webhooks (text + Block Kit), Microsoft Teams Workflows
// webhooks (a message with an Adaptive Card attachment; the Office 365
// connectors are being retired), Discord webhooks (embeds), and a generic JSON
// webhook (the event itself).
import { clip, facts, isBad, plainText, title, type RunEvent } from './event.js';

export function genericPayload(event: RunEvent): Record<string, unknown> {
  return { event: 'backup-drill.run', version: 1, title: title(event), ...event };
}

export function slackPayload(event: RunEvent): Record<string, unknown> {
  const icon = isBad(event) ? ':x:' : ':white_check_mark:';
  const details = [event.headline, ...event.reasons.map((r) => `• ${r}`), ...event.deltas.map((d) => `• ${d}`), ...event.warnings.map((w) => `⚠ ${w}`)];
  return {
    // `text` is the notification fallback Slack requires next to blocks.
    text: `${icon} ${title(event)}: ${event.headline}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(title(event), 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: clip(details.join('\n'), 3000) } },
      { type: 'section', fields: facts(event).map(([k, v]) => ({ type: 'mrkdwn', text: clip(`*${k}*\n${v}`, 2000) })) },
      ...(event.runUrl ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `<${event.runUrl}|Open the run>` }] }] : []),
    ],
  };
}

export function teamsPayload(event: RunEvent): Record<string, unknown> {
  const body: unknown[] = [
    { type: 'TextBlock', size: 'Large', weight: 'Bolder', text: title(event), color: isBad(event) ? 'Attention' : 'Good', wrap: true },
    { type: 'TextBlock', text: event.headline, wrap: true },
    ...event.reasons.map((r) => ({ type: 'TextBlock', text: `- ${r}`, wrap: true, color: 'Attention' })),
    ...event.deltas.map((d) => ({ type: 'TextBlock', text: `- ${d}`, wrap: true })),
    ...event.warnings.map((w) => ({ type: 'TextBlock', text: `⚠ ${w}`, wrap: true, color: 'Warning' })),
    { type: 'FactSet', facts: facts(event).map(([k, v]) => ({ title: k, value: v })) },
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(event.runUrl ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the run', url: event.runUrl }] } : {}),
        },
      },
    ],
  };
}

export function discordPayload(event: RunEvent): Record<string, unknown> {
  const description = [event.headline, ...event.reasons.map((r) => `• ${r}`), ...event.deltas.map((d) => `• ${d}`), ...event.warnings.map((w) => `⚠ ${w}`)];
  return {
    username: 'backup-drill',
    embeds: [
      {
        title: clip(title(event), 256),
        description: clip(description.join('\n'), 4096),
        color: isBad(event) ? 0xd73a49 : 0x28a745,
        ...(event.runUrl ? { url: event.runUrl } : {}),
        fields: facts(event)
          .slice(0, 25)
          .map(([k, v]) => ({ name: clip(k, 256), value: clip(v, 1024), inline: true })),
        timestamp: event.finishedAt,
      },
    ],
    allowed_mentions: { parse: [] },
  };
}

export { plainText };
