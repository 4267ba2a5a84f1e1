// A run streams gigabytes through 64 KiB - 1 MiB buffers. V8 frees a buffer only when a
// collection finds its wrapper dead; these streams allocate few JS objects, so collections
// are rare and dead buffers pile up (BENCHMARKS.md). A minor collection after every 2 MiB
// streamed frees the young ones in time. A buffer still in flight at a minor collection is
// promoted to the old generation, which V8 collects only now and then: a full collection
// every 128 MiB frees those. Measured on a 3 GB + 3 GB backup: node's peak RSS 150 → 127 MB,
// same wall time; then at 3 GB + 1.5 GB, minor every 8 → 2 MiB: 124 → 101 MB, same wall and CPU.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor' | 'major' }) => void;
let collect: Gc | undefined;
let sinceMinor = 0;
let sinceMajor = 0;
const MINOR_EVERY_BYTES = 2 << 20;
const MAJOR_EVERY_BYTES = 128 << 20;

const SMALL_YOUNG_GENERATION = '--max-semi-space-size=1';
const RESTARTED = 'BACKUP_DRILL_RESTARTED_WITH_SMALL_HEAP';

function semiSpaceSet(): boolean {
  return /--max-semi-space-size/.test(`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`);
}

/**
 * Replaces this process (same PID, stdio and environment) by the same command with 1 MiB
 * semi-spaces set at start-up: set later (below) V8 applies it only in part. Measured with
 * bench/memory.ts at 3 GB + 1.5 GB: node's peak 99–119 → 95–96 MB in a backup, the process
 * tree's 125–135 → 118–122 MB in a drill; costs one more Node start (~80 ms), so only runs that
 * stream data ask for it. Returns when it did not restart: a Node without process.execve (before
 * 22.15, Windows), the user chose a size, or this is the restarted process.
 */
function restartWithSmallYoungGeneration(): void {
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve !== 'function' || semiSpaceSet() || process.env[RESTARTED]) return;
  try {
    execve(process.execPath, [process.execPath, ...process.execArgv, SMALL_YOUNG_GENERATION, ...process.argv.slice(1)], { ...process.env, [RESTARTED]: '1' });
  } catch {
    // not allowed here: go on as we are, with the flag set at run time
  }
}

/** Called once at start-up, before the engine loads; `streams`: this run streams data (worth a restart). */
export function keepMemoryFlat({ streams }: { streams: boolean }): void {
  if (streams) restartWithSmallYoungGeneration();
  delete process.env[RESTARTED]; // children (a CLI that runs the CLI) decide for themselves
  try {
    // Small semi-spaces too (when not set at start): the young generation stays small.
    if (!semiSpaceSet()) setFlagsFromString(SMALL_YOUNG_GENERATION);
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as Gc;
  } catch {
    collect = undefined; // a runtime without it: memory is only less flat
  }
}

/** Counts bytes that went through a stream; collects dead buffers as they add up. */
export function streamed(bytes: number): void {
  sinceMinor += bytes;
  sinceMajor += bytes;
  if (sinceMinor < MINOR_EVERY_BYTES || !collect) return;
  sinceMinor = 0;
  if (sinceMajor >= MAJOR_EVERY_BYTES) {
    sinceMajor = 0;
    collect({ type: 'major' });
  } else {
    collect({ type: 'minor' });
  }
}
