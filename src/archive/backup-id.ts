// Backup ids sort chronologically: UTC timestamp, then a short random suffix
// so two backups started in the same second never collide.
import { randomBytes } from 'node:crypto';

const ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/;

export function newBackupId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function isBackupId(text: string): boolean {
  return ID.test(text);
}

/** The time encoded in an id (start of the backup). */
export function timeOfBackupId(id: string): Date | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
