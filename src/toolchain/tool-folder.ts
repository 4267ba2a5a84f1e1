// A tool folder: acquired binaries plus a marker file that says what they are, so a
// folder restored from the cache is recognised without asking apt or npm again.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { delimiter } from 'node:path';
import { runTool } from '../util/exec.js';
import { isExecutable } from '../postgres/binaries.js';
import type { AcquiredTools } from './types.js';

const MARKER = '.backup-drill-tools.json';

/** Written last: a folder without it is incomplete (an interrupted acquisition) and is not used. */
export async function writeMarker(folder: string, tools: AcquiredTools): Promise<void> {
  const rel = { ...tools, binDir: relative(folder, tools.binDir), libDir: tools.libDir ? relative(folder, tools.libDir) : undefined };
  await writeFile(join(folder, MARKER), `${JSON.stringify(rel, null, 2)}\n`);
}

/** The tools a folder holds (paths made absolute again), or undefined when it has no valid marker. */
export async function readMarker(folder: string): Promise<AcquiredTools | undefined> {
  try {
    const raw = JSON.parse(await readFile(join(folder, MARKER), 'utf8')) as AcquiredTools;
    if (typeof raw.major !== 'number' || typeof raw.binDir !== 'string' || typeof raw.version !== 'string') return undefined;
    return { ...raw, binDir: resolve(folder, raw.binDir), libDir: raw.libDir ? resolve(folder, raw.libDir) : undefined };
  } catch {
    return undefined;
  }
}

/**
 * Fills `folder` afresh with `fill` and marks it complete. On any failure the folder is removed, so a
 * half-filled one is never used; `scratch` (the download, the apt state) is removed either way.
 */
export async function fillToolFolder(folder: string, scratch: string, fill: () => Promise<AcquiredTools>): Promise<AcquiredTools> {
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  try {
    await writeMarker(folder, await fill());
    return (await readMarker(folder))!;
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** LD_LIBRARY_PATH with `libDir` first (the acquired libpq wins over an older system one). */
export function libraryPathWith(libDir: string | undefined, current = process.env.LD_LIBRARY_PATH): string | undefined {
  if (!libDir) return current;
  const rest = (current ?? '').split(delimiter).filter((d) => d && d !== libDir);
  return [libDir, ...rest].join(delimiter);
}

/** Every `lib… => not found` that ldd reports for the named binaries, with the tool folder's libraries on the path. */
export async function missingLibraries(tools: AcquiredTools, names: string[]): Promise<string[]> {
  const missing = new Set<string>();
  for (const name of names) {
    const path = join(tools.binDir, name);
    if (!(await isExecutable(path))) {
      missing.add(`${name} (the binary itself)`);
      continue;
    }
    const env = { ...process.env, LD_LIBRARY_PATH: libraryPathWith(tools.libDir) ?? '' };
    const r = await runTool('ldd', [path], { env, allowFailure: true }).catch(() => undefined);
    // ldd is missing (or the file is not dynamic): the version probe that follows catches real breakage.
    for (const m of r?.stdout.matchAll(/^\s*(\S+) => not found/gm) ?? []) missing.add(m[1]!);
  }
  return [...missing];
}

/** Runs `<binDir>/<tool> --version` the way the engine will run it; the version string, or undefined when it does not run. */
export async function probeVersion(tools: AcquiredTools, tool: string): Promise<string | undefined> {
  const env = { ...process.env, LD_LIBRARY_PATH: libraryPathWith(tools.libDir) ?? '' };
  const r = await runTool(join(tools.binDir, tool), ['--version'], { env, allowFailure: true }).catch(() => undefined);
  return r?.code === 0 ? /(\d+(?:\.\d+)?)/.exec(r.stdout.replace(/^[^)]*\)/, ''))?.[1] : undefined;
}
