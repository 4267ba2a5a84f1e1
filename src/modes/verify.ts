// verify and download: re-read every part of a stored backup and check it
// against the manifest (and checksums.sha256), optionally keeping a copy.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BACKUP_PARTS } from '../constants.js';
import { IntegrityError, describeError } from '../errors.js';
import { parseChecksums } from '../archive/checksums.js';
import type { Manifest } from '../archive/manifest.js';
import { openPart, storedBytes } from '../archive/open-part.js';
import { resolveBackup } from '../storage/catalog.js';
import type { Storage } from '../storage/port.js';
import { readText } from '../storage/read.js';
import type { Logger } from '../util/logger.js';
import { Progress } from '../util/progress.js';

export interface PartCheck {
  name: string;
  ok: boolean;
  message: string;
}

export interface VerifyResult {
  id: string;
  manifest: Manifest;
  parts: PartCheck[];
  ok: boolean;
}

/** Re-downloads every part; with `into`, keeps verified copies there (written to a temp name, renamed when verified). */
export async function verifyBackup(storage: Storage, name: string, wanted: string, options: { logger: Logger; into?: string }): Promise<VerifyResult> {
  const { entry, manifest } = await resolveBackup(storage, name, wanted);
  const prefix = `${name}/${entry.id}`;
  if (options.into) await mkdir(options.into, { recursive: true });
  const parts: PartCheck[] = [];
  for (const part of manifest.parts) {
    const progress = new Progress(part.name, options.logger).start();
    try {
      const stream = await openPart(storage, prefix, part, storedBytes, (n) => progress.add(n));
      if (options.into) {
        const temp = join(options.into, `.${part.name}.partial`);
        try {
          await pipeline(stream, createWriteStream(temp));
          await rename(temp, join(options.into, part.name));
        } catch (error) {
          await rm(temp, { force: true });
          throw error;
        }
      } else {
        for await (const _ of stream) {
          /* the verifier hashes */
        }
      }
      parts.push({ name: part.name, ok: true, message: `${part.bytes} bytes, sha256 ${part.sha256.slice(0, 16)}… OK` });
    } catch (error) {
      parts.push({ name: part.name, ok: false, message: describeError(error) });
    } finally {
      progress.stop();
    }
  }
  // checksums.sha256 must agree with the manifest too (it is what `sha256sum -c` trusts).
  const sums = manifest.parts.find((p) => p.name === BACKUP_PARTS.checksums);
  if (sums && parts.find((p) => p.name === sums.name)?.ok && !sums.encrypted) {
    const listed = parseChecksums(await readText(storage, `${prefix}/${sums.name}`));
    for (const line of listed) {
      const p = manifest.parts.find((m) => m.name === line.name);
      if (!p || p.sha256 !== line.sha256)
        parts.push({ name: `${sums.name}: ${line.name}`, ok: false, message: 'checksums.sha256 disagrees with the manifest' });
    }
  }
  if (options.into) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(options.into, BACKUP_PARTS.manifest), JSON.stringify(manifest, null, 2) + '\n');
  }
  return { id: entry.id, manifest, parts, ok: parts.every((p) => p.ok) };
}

export function assertVerified(result: VerifyResult): void {
  const bad = result.parts.filter((p) => !p.ok);
  if (bad.length) throw new IntegrityError(`Backup ${result.id} failed verification: ${bad.map((p) => `${p.name}: ${p.message}`).join('; ')}`);
}
