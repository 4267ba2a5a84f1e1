// E-mail over SMTP with nodemailer: `smtp://user:pass@host:587/?to=a@x,b@y&from=…`
// (STARTTLS when the server offers it) or `smtps://…:465/…` (TLS from the start).
import nodemailer from 'nodemailer';
import { plainText, title, type RunEvent } from './event.js';

export async function sendEmail(rawUrl: string, event: RunEvent): Promise<void> {
  const url = new URL(rawUrl);
  const to = url.searchParams.get('to');
  if (!to) throw new Error("the smtp URL has no '?to=' recipient");
  const from = url.searchParams.get('from') ?? `backup-drill <backup-drill@${event.host}>`;
  url.search = '';
  const transport = nodemailer.createTransport(url.toString());
  try {
    await transport.sendMail({
      from,
      to,
      subject: `[backup-drill] ${title(event)}`,
      text: plainText(event),
      headers: { 'X-Backup-Drill-Status': event.status },
    });
  } finally {
    transport.close();
  }
}
