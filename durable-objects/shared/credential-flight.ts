import type { CredentialResult } from '@airlock/schema/gateway';

// The one shape both credential caches share (the session gateway's per-session cache and a
// connection's ConnectionTokens): results kept in memory only (never in storage, never in logs)
// until a policy says they are stale, and concurrent misses for one key sharing a single call.

/** Stop using a minted credential this long before it expires, so no request carries a dying one. */
export const RENEW_BEFORE_MS = 60_000;

type Minted = Extract<CredentialResult, { ok: true }>;

/** Until when a fresh result may be served from memory; `null`: do not keep it. */
export type KeepUntil = (result: Minted, now: number) => number | null;

export class CredentialFlight {
  readonly #entries = new Map<string, { readonly result: Minted; readonly until: number }>();
  readonly #inflight = new Map<string, Promise<CredentialResult>>();
  readonly #now: () => number;
  readonly #keepUntil: KeepUntil;

  constructor(now: () => number, keepUntil: KeepUntil) {
    this.#now = now;
    this.#keepUntil = keepUntil;
  }

  /** The kept result for `key`, the call already in flight for it, or a new call to `load`. */
  get(key: string, load: () => Promise<CredentialResult>): Promise<CredentialResult> {
    const kept = this.#entries.get(key);
    if (kept !== undefined && kept.until > this.#now()) return Promise.resolve(kept.result);
    const running = this.#inflight.get(key);
    if (running !== undefined) return running;
    const call = load()
      .then((result) => {
        if (result.ok) {
          const now = this.#now();
          const until = this.#keepUntil(result, now);
          if (until !== null && until > now) this.#entries.set(key, { result, until });
        }
        return result;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, call);
    return call;
  }

  clear(): void {
    this.#entries.clear();
  }
}
