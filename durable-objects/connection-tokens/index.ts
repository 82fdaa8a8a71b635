import { DurableObject } from 'cloudflare:workers';
import type { CredentialRequest, CredentialResult } from '@airlock/schema/gateway';

// One per connection: the serialiser for minted credentials (GitHub App
// installation tokens, OAuth2 access tokens). Every gateway that misses asks
// this object; concurrent misses wait for the one mint in flight, and the
// result is kept in memory (never in storage) until shortly before it expires.
// The mint itself (decrypt, sign, call the provider, store a rotated refresh
// token) is the broker's, reached through the BROKER binding (ADR 0001).

/** Mint again this long before a token expires, so no request uses a dying one. */
const RENEW_BEFORE_MS = 60_000;

interface Cached {
  readonly value: string;
  readonly expiresAt: number;
}

export class ConnectionTokens extends DurableObject<Cloudflare.Env> {
  readonly #cache = new Map<string, Cached>();
  readonly #inflight = new Map<string, Promise<CredentialResult>>();
  #mints = 0;

  async token(request: CredentialRequest): Promise<CredentialResult> {
    const key = JSON.stringify([request.orgId, request.source, [...(request.repositories ?? [])].sort()]);
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.expiresAt - RENEW_BEFORE_MS > Date.now())
      return { ok: true, value: cached.value, expiresAt: cached.expiresAt };
    const running = this.#inflight.get(key);
    if (running !== undefined) return running;
    this.#mints++;
    const mint = this.env.BROKER.mint(request)
      .then((result): CredentialResult => {
        if (result.ok && result.expiresAt !== null)
          this.#cache.set(key, { value: result.value, expiresAt: result.expiresAt });
        return result;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, mint);
    return mint;
  }

  /** Drop cached tokens (the connection was edited or revoked). */
  async forget(): Promise<void> {
    this.#cache.clear();
  }

  /** How many mints this instance started (for tests of the single flight). */
  async mints(): Promise<number> {
    return this.#mints;
  }
}
