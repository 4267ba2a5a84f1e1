import { mkdtemp, rm, mkdir, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function tempDir(prefix = 'bd-test-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** An uploads folder like an app's: nested dirs, binary files, a thumbnail cache, a symlink. */
export async function makeUploads(root: string): Promise<void> {
  await mkdir(join(root, 'tickets/1'), { recursive: true });
  await mkdir(join(root, 'tickets/2'), { recursive: true });
  await mkdir(join(root, 'cache/thumbs'), { recursive: true });
  await writeFile(join(root, 'tickets/1/screenshot.png'), randomBytes(200_000));
  await writeFile(join(root, 'tickets/1/notes.txt'), 'hello\n');
  await writeFile(join(root, 'tickets/2/report with spaces.pdf'), randomBytes(1_500_000));
  await writeFile(join(root, 'tickets/2/' + 'long-name-'.repeat(15) + '.bin'), randomBytes(1000));
  await writeFile(join(root, 'cache/thumbs/t1.jpg'), randomBytes(5000));
  await writeFile(join(root, 'empty.txt'), '');
  await symlink('tickets/1/notes.txt', join(root, 'latest-notes'));
}
