// A run streams gigabytes through 64 KiB - 1 MiB buffers. V8 frees a buffer only when a
// young-generation collection finds its wrapper dead; these streams allocate few JS objects,
// so collections are rare and ~60 MB of dead buffers pile up (BENCHMARKS.md). A minor
// collection after every 32 MiB streamed frees them in time; it costs well under 1 ms.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type MinorGc = (options: { type: 'minor' }) => void;
let collect: MinorGc | undefined;
let sinceLast = 0;
const EVERY_BYTES = 32 << 20;

/** Called once at start-up, before the engine loads. */
export function keepMemoryFlat(): void {
  try {
    // Small semi-spaces too (when the user set none): the young generation stays small.
    if (!/--max-semi-space-size/.test(`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`)) setFlagsFromString('--max-semi-space-size=1');
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as MinorGc;
  } catch {
    collect = undefined; // a runtime without it: memory is only less flat
  }
}

/** Counts bytes that went through a stream; collects dead buffers every 32 MiB. */
export function streamed(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < EVERY_BYTES || !collect) return;
  sinceLast = 0;
  collect({ type: 'minor' });
}
