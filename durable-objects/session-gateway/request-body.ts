import { ByteQueue } from './byte-queue.ts';
import type { TunnelStream } from './stream.ts';

// A sandbox's request body as a ReadableStream for fetch(): DATA frames are
// queued as they arrive and credit goes back to the sandbox only when fetch
// pulls a chunk, so an upstream that reads slowly slows the sandbox down
// instead of filling the gateway's memory (at most the credit granted — one
// window, or the receive buffer granted ahead, PROTOCOL.md §5 — is queued,
// and tiny DATA frames are packed together so the queue costs what it holds).

export class RequestBody {
  readonly #stream: TunnelStream;
  readonly #queue = new ByteQueue();
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  bytes = 0;

  constructor(stream: TunnelStream) {
    this.#stream = stream;
  }

  push(data: Uint8Array, fin: boolean): void {
    this.#queue.push(data);
    if (fin) this.#ended = true;
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  fail(error: Error): void {
    this.#error = error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  readable(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          while (this.#queue.length === 0 && !this.#ended && this.#error === null)
            await new Promise<void>((resolve) => {
              this.#wake = resolve;
            });
          if (this.#error !== null) return controller.error(this.#error);
          const chunk = this.#queue.shiftChunk();
          if (chunk === null) return controller.close();
          this.bytes += chunk.length;
          controller.enqueue(chunk);
          this.#stream.consumed(chunk.length);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * A copy of the body's first `limit` bytes (fewer if it ends sooner), once they have arrived;
   * the bytes stay queued for readable(). Only what the sandbox's credit lets it send is ever
   * queued, and the first window (64 KiB) needs no credit back, so this waits for nothing that
   * could only come once fetch reads. A failed body yields what arrived (fetch then fails).
   */
  async prefix(limit: number): Promise<Uint8Array> {
    while (this.#queue.length < limit && !this.#ended && this.#error === null)
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    return this.#queue.peek(limit);
  }

  /** A body that fetch will never read (denied, failed): consume it to keep credit flowing. */
  discard(): void {
    this.#stream.consumed(this.#queue.length);
    this.#queue.clear();
    this.push = (data) => this.#stream.consumed(data.length);
  }
}
