import type { BrokerRpc, CredentialResult } from '@airlock/schema/gateway';
import type { EgressRoute } from '@airlock/schema/plan';
import { CredentialFlight, RENEW_BEFORE_MS } from '../shared/credential-flight.ts';

// Credentials resolved by the broker for this session, kept in memory only until shortly before
// they expire. Concurrent misses for one credential share a single broker call.

/** A stored secret is asked for again after this long, so a rotated key takes effect. */
export const SECRET_TTL_MS = 5 * 60_000;

export class CredentialCache {
  readonly #flight: CredentialFlight;
  readonly #broker: () => BrokerRpc;

  constructor(broker: () => BrokerRpc, now: () => number) {
    this.#broker = broker;
    this.#flight = new CredentialFlight(now, (result, at) =>
      result.expiresAt === null ? at + SECRET_TTL_MS : result.expiresAt - RENEW_BEFORE_MS,
    );
  }

  get(orgId: string, route: EgressRoute): Promise<CredentialResult> {
    const { credential } = route;
    const key = JSON.stringify([
      credential.connectionId,
      credential.source,
      credential.field ?? null,
      credential.repositories ?? null,
    ]);
    return this.#flight.get(key, () =>
      this.#broker().resolve({
        orgId,
        connectionId: credential.connectionId,
        source: credential.source,
        field: credential.field,
        repositories: credential.repositories,
      }),
    );
  }

  /** Forget everything (a new plan may bind other connections). */
  clear(): void {
    this.#flight.clear();
  }
}
