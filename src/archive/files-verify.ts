// Extracts the uploads tar into a folder while hashing every file, then
// compares with the per-file digest list and the manifest's totals.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, symlink, utimes, chmod } from 'node:fs/promises';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { ChecksumEntry } from './checksums.js';
import type { FilesSummary } from './manifest.js';
import type { FilesResult } from '../report/types.js';

const MAX_PROBLEMS = 50;

export interface ExtractedFile {
  name: string;
  bytes: number;
  sha256: string;
}

function safeName(name: string): string | undefined {
  const clean = normalize(name).replace(/\/+$/, '');
  if (!clean || isAbsolute(clean) || clean === '..' || clean.startsWith('../')) return undefined;
  return clean;
}

/** Extracts `tar` into `dest` (or only hashes when dest is undefined); returns what it found. */
export async function extractFiles(tar: Readable, dest: string | undefined): Promise<{ files: ExtractedFile[]; problems: string[] }> {
  const files: ExtractedFile[] = [];
  const problems: string[] = [];
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const name = safeName(header.name);
      const fail = (error: unknown) => {
        stream.resume();
        next(error as Error);
      };
      if (!name) {
        problems.push(`unsafe path in archive, not extracted: ${header.name}`);
        stream.resume();
        stream.on('end', () => next());
        return;
      }
      const target = dest ? join(dest, name) : undefined;
      (async () => {
        if (header.type === 'file') {
          const hash = createHash('sha256');
          let bytes = 0;
          const hasher = new Transform({
            transform(chunk: Buffer, _e, cb) {
              hash.update(chunk);
              bytes += chunk.length;
              cb(null, chunk);
            },
          });
          if (target) {
            await mkdir(dirname(target), { recursive: true });
            await pipeline(stream as unknown as Readable, hasher, createWriteStream(target, { mode: header.mode ?? 0o644 }));
            if (header.mtime) await utimes(target, header.mtime, header.mtime).catch(() => undefined);
          } else {
            await pipeline(stream as unknown as Readable, hasher, async function* (source) {
              for await (const _ of source) {
                /* discard */
              }
            });
          }
          files.push({ name, bytes, sha256: hash.digest('hex') });
        } else {
          stream.resume();
          if (target && header.type === 'directory') {
            await mkdir(target, { recursive: true });
            if (header.mode) await chmod(target, header.mode | 0o700).catch(() => undefined);
          }
          if (target && header.type === 'symlink' && header.linkname) {
            await mkdir(dirname(target), { recursive: true });
            await symlink(header.linkname, target);
          }
        }
      })().then(() => next(), fail);
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  tar.on('error', (error) => extract.destroy(error));
  tar.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return { files, problems };
}

/** Compares extracted files with the digest list and the manifest's totals. */
export function compareFiles(extracted: ExtractedFile[], list: ChecksumEntry[], summary: FilesSummary, extraProblems: string[] = []): FilesResult {
  const problems = [...extraProblems];
  const expected = new Map(list.map((e) => [e.name, e.sha256]));
  const seen = new Set<string>();
  for (const file of extracted) {
    seen.add(file.name);
    const want = expected.get(file.name);
    if (want === undefined) problems.push(`unexpected file: ${file.name}`);
    else if (want !== file.sha256) problems.push(`content differs: ${file.name}`);
  }
  for (const name of expected.keys()) if (!seen.has(name)) problems.push(`missing file: ${name}`);
  const restoredBytes = extracted.reduce((s, f) => s + f.bytes, 0);
  if (extracted.length !== summary.count) problems.push(`expected ${summary.count} files, found ${extracted.length}`);
  if (restoredBytes !== summary.bytes) problems.push(`expected ${summary.bytes} bytes, found ${restoredBytes}`);
  return {
    status: problems.length ? 'failed' : 'passed',
    expectedCount: summary.count,
    restoredCount: extracted.length,
    expectedBytes: summary.bytes,
    restoredBytes,
    problems: problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `… and ${problems.length - MAX_PROBLEMS} more`] : problems,
  };
}
