// A FIFO of byte buffers that hands out exact-length pieces as views (no copying),
// so the STREAM code can cut 64 KiB chunks out of writes of any size.

export class ByteQueue {
  private buffers: Buffer[] = [];
  private offset = 0; // consumed bytes of buffers[0]
  length = 0;

  push(buffer: Buffer): void {
    if (buffer.length === 0) return;
    this.buffers.push(buffer);
    this.length += buffer.length;
  }

  /** Removes `n` bytes (n ≤ length), returned as views into the queued buffers. */
  take(n: number): Buffer[] {
    if (n > this.length) throw new RangeError(`take(${n}) with ${this.length} bytes queued`);
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const head = this.buffers[0]!;
      const available = head.length - this.offset;
      if (available <= left) {
        out.push(this.offset === 0 ? head : head.subarray(this.offset));
        this.buffers.shift();
        this.offset = 0;
        left -= available;
      } else {
        out.push(head.subarray(this.offset, this.offset + left));
        this.offset += left;
        left = 0;
      }
    }
    this.length -= n;
    return out;
  }

  /** Removes `n` bytes as one buffer (copies only when they span buffers). */
  takeBuffer(n: number): Buffer {
    const parts = this.take(n);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }
}

/** Splits views into the first `n` bytes and the rest (views again). */
export function splitViews(views: Buffer[], n: number): [Buffer[], Buffer[]] {
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  let left = n;
  for (const view of views) {
    if (left >= view.length) {
      head.push(view);
      left -= view.length;
    } else if (left > 0) {
      head.push(view.subarray(0, left));
      tail.push(view.subarray(left));
      left = 0;
    } else {
      tail.push(view);
    }
  }
  return [head, tail];
}
