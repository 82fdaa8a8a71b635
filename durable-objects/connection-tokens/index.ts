import { DurableObject } from 'cloudflare:workers';
import type { CredentialRequest, CredentialResult } from '@airlock/schema/gateway';
import { CredentialFlight, RENEW_BEFORE_MS } from '../shared/credential-flight.ts';

// One per connection: the serialiser for minted credentials (GitHub App
// installation tokens, OAuth2 access tokens). Every gateway that misses asks
// this object; concurrent misses wait for the one mint in flight, and the
// result is kept in memory (never in storage) until shortly before it expires.
// The mint itself (decrypt, sign, call the provider, store a rotated refresh
// token) is the broker's, reached through the BROKER binding (ADR 0001).

export class ConnectionTokens extends DurableObject<Cloudflare.Env> {
  // Only tokens with an expiry are kept: a mint without one is asked for again each time.
  readonly #flight = new CredentialFlight(
    () => Date.now(),
    (result) => (result.expiresAt === null ? null : result.expiresAt - RENEW_BEFORE_MS),
  );
  #mints = 0;

  async token(request: CredentialRequest): Promise<CredentialResult> {
    const key = JSON.stringify([request.orgId, request.source, [...(request.repositories ?? [])].sort()]);
    return this.#flight.get(key, () => {
      this.#mints++;
      return this.env.BROKER.mint(request);
    });
  }

  /** Drop cached tokens (the connection was edited or revoked). */
  async forget(): Promise<void> {
    this.#flight.clear();
  }

  /** How many mints this instance started (for tests of the single flight). */
  async mints(): Promise<number> {
    return this.#mints;
  }
}
