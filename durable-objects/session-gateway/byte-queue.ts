// Bytes from the sandbox waiting to be used (a request body for fetch, a
// WebSocket frame being received). The sandbox chooses how they are cut: a
// megabyte sent as one-byte DATA frames must not become a million queued
// objects, each far bigger than its byte, nor a megabyte re-copied per piece.
// So small pieces are copied together into blocks, big ones are kept as they
// came, and nothing is ever copied twice (ADR 0115).

/** Pieces smaller than this are copied into a shared block. */
const SMALL = 4 * 1024;
const BLOCK = 16 * 1024;

export class ByteQueue {
  /** Chunks from `#first` on are waiting (an index, not shift(): thousands may wait). */
  #chunks: Uint8Array[] = [];
  #first = 0;
  /** Bytes of the first waiting chunk already used. */
  #offset = 0;
  /** The last chunk while small pieces may still be copied into it. */
  #block: { readonly bytes: Uint8Array; used: number } | null = null;
  #length = 0;

  /** Bytes waiting. */
  get length(): number {
    return this.#length;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.#length += data.length;
    if (data.length >= SMALL) {
      this.#block = null;
      this.#chunks.push(data);
      return;
    }
    let block = this.#block;
    if (block === null || block.bytes.length - block.used < data.length) {
      block = { bytes: new Uint8Array(BLOCK), used: 0 };
      this.#block = block;
      this.#chunks.push(block.bytes.subarray(0, 0));
    }
    block.bytes.set(data, block.used);
    block.used += data.length;
    // Same buffer and start: an offset into it stays valid.
    this.#chunks[this.#chunks.length - 1] = block.bytes.subarray(0, block.used);
  }

  /** The next waiting chunk, whole (what is left of it), or null. It is no longer appended to. */
  shiftChunk(): Uint8Array | null {
    if (this.#first === this.#chunks.length) return null;
    const chunk = this.#chunks[this.#first] as Uint8Array;
    if (this.#first === this.#chunks.length - 1) this.#block = null;
    const out = chunk.subarray(this.#offset);
    this.#first++;
    this.#offset = 0;
    this.#length -= out.length;
    this.#compact();
    return out;
  }

  /** Up to `n` bytes from the front, copied, without using them (for headers: n is small). */
  peek(n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, this.#length));
    let at = 0;
    let offset = this.#offset;
    for (let i = this.#first; i < this.#chunks.length && at < out.length; i++) {
      const chunk = this.#chunks[i] as Uint8Array;
      const take = Math.min(chunk.length - offset, out.length - at);
      out.set(chunk.subarray(offset, offset + take), at);
      at += take;
      offset = 0;
    }
    return out;
  }

  /** Use `n` bytes (n ≤ length), copying them into `into` when given. */
  take(n: number, into: Uint8Array | null): void {
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[this.#first] as Uint8Array;
      const take = Math.min(chunk.length - this.#offset, n - at);
      into?.set(chunk.subarray(this.#offset, this.#offset + take), at);
      at += take;
      this.#offset += take;
      if (this.#offset === chunk.length) {
        if (this.#first === this.#chunks.length - 1) this.#block = null;
        this.#first++;
        this.#offset = 0;
      }
    }
    this.#length -= n;
    this.#compact();
  }

  clear(): void {
    this.#chunks = [];
    this.#first = 0;
    this.#offset = 0;
    this.#block = null;
    this.#length = 0;
  }

  #compact(): void {
    if (this.#first === this.#chunks.length) {
      this.#chunks = [];
      this.#first = 0;
    } else if (this.#first > 1024) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
  }
}
