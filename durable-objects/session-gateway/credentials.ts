import type { BrokerRpc, CredentialResult } from '@airlock/schema/gateway';
import type { EgressRoute } from '@airlock/schema/plan';

// Credentials resolved by the broker, kept in memory only (never in storage,
// never in logs) until shortly before they expire. Concurrent misses for one
// credential share a single broker call.

/** Stop using a minted credential this long before it expires. */
export const RENEW_BEFORE_MS = 60_000;
/** A stored secret is asked for again after this long, so a rotated key takes effect. */
export const SECRET_TTL_MS = 5 * 60_000;

interface Entry {
  readonly value: string;
  readonly usableUntil: number;
}

export class CredentialCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<CredentialResult>>();
  readonly #broker: () => BrokerRpc;
  readonly #now: () => number;

  constructor(broker: () => BrokerRpc, now: () => number) {
    this.#broker = broker;
    this.#now = now;
  }

  get(orgId: string, route: EgressRoute): Promise<CredentialResult> {
    const { credential } = route;
    const key = JSON.stringify([
      credential.connectionId,
      credential.source,
      credential.field ?? null,
      credential.repositories ?? null,
    ]);
    const cached = this.#entries.get(key);
    if (cached !== undefined && cached.usableUntil > this.#now())
      return Promise.resolve({ ok: true, value: cached.value, expiresAt: null });
    const running = this.#inflight.get(key);
    if (running !== undefined) return running;
    const call = this.#broker()
      .resolve({
        orgId,
        connectionId: credential.connectionId,
        source: credential.source,
        field: credential.field,
        repositories: credential.repositories,
      })
      .then((result) => {
        if (result.ok) {
          const now = this.#now();
          const usableUntil =
            result.expiresAt === null ? now + SECRET_TTL_MS : result.expiresAt - RENEW_BEFORE_MS;
          if (usableUntil > now) this.#entries.set(key, { value: result.value, usableUntil });
        }
        return result;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, call);
    return call;
  }

  /** Forget everything (a new plan may bind other connections). */
  clear(): void {
    this.#entries.clear();
  }
}
