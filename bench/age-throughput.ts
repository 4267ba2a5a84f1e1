// age throughput: our node:crypto streams vs the age CLI vs the age-encryption library.
//   node --import tsx bench/age-throughput.ts [MiB] [repeats]   (defaults: 400 MiB, best of 3;
//   BENCH_VERBOSE=1 prints every run). On a shared machine rates swing 2x between runs.
// Each line: best wall time of the repeats, MB/s by wall clock, and MB/s by CPU time
// (user+sys of this process, or of the age child; it can exceed wall time when the
// libuv pool reads or writes files in parallel). Rates are of plaintext bytes.
// The library runs on a quarter of the data (it is slow). Peak RSS shows memory stays flat.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter } from 'age-encryption';
import { createDecryptStream, createEncryptStream, generateIdentity, recipientOf } from '../src/archive/age/index.js';

const MiB = 1024 * 1024;
const totalMiB = Number(process.argv[2] ?? 400);
const repeats = Number(process.argv[3] ?? 3);
const total = totalMiB * MiB;
const pattern = randomBytes(8 * MiB); // incompressible; repeated to make up the total

/** `bytes` of data in `writeSize` pieces, from memory. */
function source(bytes: number, writeSize = 64 * 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const n = Math.min(writeSize, bytes - sent, pattern.length - (sent % pattern.length));
      const at = sent % pattern.length;
      this.push(pattern.subarray(at, at + n));
      sent += n;
    },
  });
}

function sink(expected?: number): Writable {
  let bytes = 0;
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      bytes += chunk.length;
      cb();
    },
    final(cb) {
      cb(expected === undefined || bytes === expected ? null : new Error(`got ${bytes} bytes, expected ${expected}`));
    },
  });
}

/** Runs `work` `repeats` times; work returns the CPU seconds it used, or nothing (then this process's CPU is counted). */
async function measure(label: string, bytes: number, work: () => Promise<number | void> | number | void, times = repeats): Promise<void> {
  let best = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < times; i++) {
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    const childCpu = await work();
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu0);
    const cpu = typeof childCpu === 'number' ? childCpu : (used.user + used.system) / 1e6;
    if (process.env.BENCH_VERBOSE) console.log(`    run ${i + 1}: ${wall.toFixed(2)} s`);
    if (wall < best.wall) best = { wall, cpu };
  }
  const mb = bytes / 1e6;
  console.log(
    `${label.padEnd(50)} ${best.wall.toFixed(2).padStart(6)} s ${(mb / best.wall).toFixed(0).padStart(6)} MB/s ${(mb / best.cpu).toFixed(0).padStart(6)} MB/s-CPU`,
  );
}

/** Runs the age CLI; returns its CPU seconds (user+sys), from bash's `times`. */
function cli(args: string[]): number {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const r = spawnSync('bash', ['-c', `age ${quoted} || exit 1; times`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`age ${args.join(' ')}: ${r.stderr}`);
  const children = r.stdout.trim().split('\n')[1] ?? '';
  return [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

const dir = mkdtempSync(join(tmpdir(), 'age-bench-'));
try {
  const identity = generateIdentity();
  const recipient = recipientOf(identity);
  const keyFile = join(dir, 'key.txt');
  writeFileSync(keyFile, `${identity}\n`);
  const plainFile = join(dir, 'plain.bin');
  const ourFile = join(dir, 'ours.age');
  const cliFile = join(dir, 'cli.age');
  await pipeline(source(total, MiB), createWriteStream(plainFile));
  await pipeline(createReadStream(plainFile), createEncryptStream({ recipients: [recipient] }), createWriteStream(ourFile));
  cli(['-r', recipient, '-o', cliFile, plainFile]);
  const ageVersion = spawnSync('age', ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`${totalMiB} MiB of random data, MB = 10^6 bytes, best of ${repeats}; Node ${process.version}, age CLI ${ageVersion}\n`);

  console.log('in memory: 64 KiB writes → stream → discard');
  await measure('  ours   encrypt', total, () => pipeline(source(total), createEncryptStream({ recipients: [recipient] }), sink()));
  await measure('  ours   decrypt (input 1 MiB reads, page cache)', total, () =>
    pipeline(createReadStream(ourFile, { highWaterMark: MiB }), createDecryptStream({ identities: [identity] }), sink(total)),
  );

  console.log('\nsame work as the CLI: file (page cache) → /dev/null');
  await measure('  ours   encrypt', total, () =>
    pipeline(createReadStream(plainFile, { highWaterMark: MiB }), createEncryptStream({ recipients: [recipient] }), createWriteStream('/dev/null')),
  );
  await measure('  age    encrypt (age -r … -o /dev/null)', total, () => cli(['-r', recipient, '-o', '/dev/null', plainFile]));
  await measure("  ours   decrypt the CLI's file", total, () =>
    pipeline(createReadStream(cliFile, { highWaterMark: MiB }), createDecryptStream({ identities: [identity] }), createWriteStream('/dev/null')),
  );
  await measure('  age    decrypt our file (age -d -i … -o /dev/null)', total, () => cli(['-d', '-i', keyFile, '-o', '/dev/null', ourFile]));

  console.log('\nfile → file (writes to disk dominate)');
  await measure(
    '  ours   encrypt',
    total,
    () =>
      pipeline(createReadStream(plainFile, { highWaterMark: MiB }), createEncryptStream({ recipients: [recipient] }), createWriteStream(join(dir, 'o.age'))),
    1,
  );
  await measure('  age    encrypt', total, () => cli(['-r', recipient, '-o', join(dir, 'c.age'), plainFile]), 1);
  await measure(
    '  ours   decrypt',
    total,
    () => pipeline(createReadStream(ourFile, { highWaterMark: MiB }), createDecryptStream({ identities: [identity] }), createWriteStream(join(dir, 'o.out'))),
    1,
  );
  await measure('  age    decrypt', total, () => cli(['-d', '-i', keyFile, '-o', join(dir, 'c.out'), ourFile]), 1);

  console.log('\nround trip in one pipeline: memory → encrypt → decrypt → discard (bytes checked)');
  await measure('  ours   encrypt + decrypt', total, () =>
    pipeline(source(total), createEncryptStream({ recipients: [recipient] }), createDecryptStream({ identities: [identity] }), sink(total)),
  );

  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`\npeak RSS of this process after ${totalMiB} MiB runs: ${rss.toFixed(0)} MiB (Node baseline ≈ 60 MiB + the 8 MiB pattern)`);
  console.log(`ciphertext overhead: ${statSync(ourFile).size - total} bytes for ${total} bytes`);

  const libBytes = Math.floor(total / 4);
  console.log(`\nage-encryption ${'0.3.x'} library (pure JS), ${libBytes / MiB} MiB, in memory, web streams`);
  const libFile = join(dir, 'lib-in.age');
  await pipeline(source(libBytes), createEncryptStream({ recipients: [recipient] }), createWriteStream(libFile));
  await measure(
    '  library encrypt',
    libBytes,
    async () => {
      const e = new Encrypter();
      e.addRecipient(recipient);
      const out = await e.encrypt(Readable.toWeb(source(libBytes)) as ReadableStream<Uint8Array>);
      await pipeline(Readable.fromWeb(out as never), sink());
    },
    1,
  );
  await measure(
    '  library decrypt (our file)',
    libBytes,
    async () => {
      const d = new Decrypter();
      d.addIdentity(identity);
      const out = await d.decrypt(Readable.toWeb(createReadStream(libFile, { highWaterMark: MiB })) as ReadableStream<Uint8Array>);
      await pipeline(Readable.fromWeb(out as never), sink(libBytes));
    },
    1,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
