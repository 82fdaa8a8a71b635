// What one tunnel may make the gateway hold beyond one window per stream
// (limits.tunnel_buffer_bytes, ADR 0115). A Durable Object has 128 MB and may
// share its isolate with other sessions' gateways, so a sandbox — root inside
// it speaking the protocol directly — must not be able to make it hold more.
//
// The budget has two halves that cannot eat into each other:
// - `ahead`: credit granted ahead on request bodies and response bytes read
//   ahead of the sandbox's credit. Optional: while it is spent, transfers just
//   go at one window per round trip (slower, never refused).
// - `messages`: WebSocket messages being assembled or waiting for the sandbox.
//   They must be held whole; a stream that needs more than is left is ended
//   with a coded reason (close 1013 / RESET LIMIT).
// A message is at most half the budget (config refuses more), so one always fits an empty half.

export class TunnelBudget {
  readonly #limit: () => number;
  readonly #streams: ReadonlyMap<number, { readonly grantedAhead: number }>;
  #readAhead = 0;
  #messages = 0;

  /** `streams`: the tunnel's live streams; credit granted ahead counts while its stream lives. */
  constructor(limit: () => number, streams: ReadonlyMap<number, { readonly grantedAhead: number }>) {
    this.#limit = limit;
    this.#streams = streams;
  }

  #grantedAhead(): number {
    let held = 0;
    for (const s of this.#streams.values()) held += s.grantedAhead;
    return held;
  }

  get limit(): number {
    return this.#limit();
  }

  /** Bytes left for granting or reading ahead. */
  aheadAvailable(): number {
    return Math.max(0, Math.floor(this.#limit() / 2) - this.#readAhead - this.#grantedAhead());
  }

  tryReadAhead(bytes: number): boolean {
    if (bytes > this.aheadAvailable()) return false;
    this.#readAhead += bytes;
    return true;
  }

  releaseReadAhead(bytes: number): void {
    this.#readAhead = Math.max(0, this.#readAhead - bytes);
  }

  tryMessage(bytes: number): boolean {
    if (this.#messages + bytes > Math.floor(this.#limit() / 2)) return false;
    this.#messages += bytes;
    return true;
  }

  releaseMessage(bytes: number): void {
    this.#messages = Math.max(0, this.#messages - bytes);
  }

  /** Held right now (for tests and logs). */
  held(): { readAhead: number; grantedAhead: number; messages: number } {
    return { readAhead: this.#readAhead, grantedAhead: this.#grantedAhead(), messages: this.#messages };
  }
}

/** Held by a stream without asking the budget: one window's worth, like every other stream. */
const FREE_PER_HOLD = 64 * 1024;

/** One stream's messages in one direction: the first window's worth is free, the rest reserved. */
export class MessageHold {
  readonly #budget: TunnelBudget;
  #reserved = 0;

  constructor(budget: TunnelBudget) {
    this.#budget = budget;
  }

  /** Hold `total` bytes from now on; false (and nothing changed) when the budget cannot cover it. */
  hold(total: number): boolean {
    const want = Math.max(0, total - FREE_PER_HOLD);
    if (want > this.#reserved) {
      if (!this.#budget.tryMessage(want - this.#reserved)) return false;
    } else this.#budget.releaseMessage(this.#reserved - want);
    this.#reserved = want;
    return true;
  }

  release(): void {
    this.#budget.releaseMessage(this.#reserved);
    this.#reserved = 0;
  }
}
