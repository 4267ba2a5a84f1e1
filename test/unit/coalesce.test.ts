import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Coalesce } from '../../src/archive/part-writer.js';

async function collect(chunks: Buffer[], target?: number): Promise<Buffer[]> {
  // 'data' events, not read(): read() would join whatever is buffered and hide the chunks' bounds.
  const out: Buffer[] = [];
  const coalesce = Readable.from(chunks, { objectMode: false }).pipe(new Coalesce(target));
  coalesce.on('data', (chunk: Buffer) => out.push(chunk));
  await finished(coalesce);
  return out;
}

describe('Coalesce', () => {
  it('gathers small chunks into target-sized ones, in order, and passes big chunks through as they are', async () => {
    const small = Array.from({ length: 300 }, (_, i) => randomBytes(1 + (i % 200)));
    const big = randomBytes(200 * 1024);
    const input = [...small.slice(0, 150), big, ...small.slice(150)];
    const out = await collect(input, 4096);
    assert.deepEqual(Buffer.concat(out), Buffer.concat(input));
    assert.ok(out.includes(big), 'the big chunk is pushed uncopied');
    const before = out.slice(0, out.indexOf(big) - 1);
    for (const chunk of before) assert.ok(chunk.length >= 4096 - 200 && chunk.length <= 4096, `chunk of ${chunk.length} bytes`);
  });

  it('does not keep the pooled 8 KiB slab of each small chunk it holds back', async () => {
    // Buffer.allocUnsafe below 4 KiB slices Node's shared pool; two 4 KB allocations in between
    // give every 100-byte line a slab of its own, as the file list's lines got in a real backup.
    // Weak references to the slabs, not memoryUsage(): V8 frees array buffers on a background
    // thread, so a byte count read right after gc() depends on the machine's load.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const coalesce = new Coalesce(); // 1 MiB target: 4,000 lines of 100 bytes all stay pending
    const slabs: WeakRef<ArrayBufferLike>[] = [];
    for (let i = 0; i < 4000; i++) {
      Buffer.allocUnsafe(4000);
      Buffer.allocUnsafe(4000);
      const line = Buffer.allocUnsafe(100).fill(65);
      slabs.push(new WeakRef(line.buffer));
      coalesce.write(line);
    }
    await new Promise((resolve) => setImmediate(resolve)); // weak targets stay alive until the job that made them ends
    gc();
    const alive = slabs.filter((slab) => slab.deref() !== undefined).length;
    assert.ok(alive <= 40, `${alive} of 4000 slabs (8 KiB each) still alive for 0.4 MB of pending lines`); // a few: the pool's current slab, the last writes' buffers
    const out: Buffer[] = [];
    coalesce.on('data', (chunk: Buffer) => out.push(chunk));
    coalesce.end();
    await finished(coalesce);
    assert.equal(Buffer.concat(out).length, 400_000);
  });

  it('copies small chunks: nothing it pushes shares the pooled slab a small chunk was sliced from', async () => {
    // Buffer.from(string) slices Node's shared 8 KiB pool: keeping such a slice keeps the whole slab.
    const lines = Array.from({ length: 2000 }, (_, i) => Buffer.from(`${i.toString(16).padStart(64, '0')}  uploads/file-${i}.jpg\n`));
    assert.ok(
      lines.some((line) => line.buffer.byteLength > line.length),
      'the lines come from the shared pool',
    );
    const slabs = new Set(lines.map((line) => line.buffer));
    const out = await collect(lines);
    assert.deepEqual(Buffer.concat(out), Buffer.concat(lines));
    for (const chunk of out) assert.ok(!slabs.has(chunk.buffer as ArrayBuffer), 'an output chunk shares a slab with an input line');
  });
});
