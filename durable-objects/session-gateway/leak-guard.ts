import type { CredentialResult } from '@airlock/schema/gateway';
import { type EgressRoute, PLACEHOLDER_SECRET } from '@airlock/schema/plan';
import { type Destination, type LeakFinding, LeakTripwire } from './leak-tripwire.ts';
import type { GatewayStore } from './store.ts';

// What the leak tripwire knows, kept current (ADR 0125): the placeholder, and
// every credential value this gateway has resolved for the session, with the
// connections it came from. Values stay in memory only (ADR 0041). Which routes
// had their credential resolved (ids, not values) is kept in SQLite, so after
// an eviction those credentials are resolved again before the next request is
// inspected: a key the sandbox learned before the gateway hibernated is still
// recognised after it wakes.

/** Distinct values remembered (oldest forgotten first): a session has a handful of connections. */
const MAX_VALUES = 64;

export interface LeakGuardHost {
  readonly store: GatewayStore;
  credential(orgId: string, route: EgressRoute): Promise<CredentialResult>;
  /** Ask for the session to be stopped (the profile said so). */
  stopSession(): void;
}

export class LeakGuard {
  readonly #host: LeakGuardHost;
  /** value → connections it belongs to. */
  readonly #known = new Map<string, Set<string>>();
  /** Route ids stored as resolved (loaded from SQLite on first use). */
  #stored: Set<string> | null = null;
  #tripwire: LeakTripwire | null = null;
  #warming: Promise<void> | null = null;

  constructor(host: LeakGuardHost) {
    this.#host = host;
  }

  /** The gateway resolved `value` for `route` (and may inject it). */
  resolved(route: EgressRoute, value: string): void {
    const { connectionId } = route.credential;
    let owners = this.#known.get(value);
    if (owners === undefined) {
      const oldest = this.#known.keys().next();
      if (this.#known.size >= MAX_VALUES && oldest.done !== true) this.#known.delete(oldest.value);
      owners = new Set();
      this.#known.set(value, owners);
    }
    if (!owners.has(connectionId)) {
      owners.add(connectionId);
      this.#tripwire = null;
    }
    const stored = this.#resolvedRoutes();
    if (!stored.has(route.id)) {
      stored.add(route.id);
      this.#host.store.set('resolved_routes', JSON.stringify([...stored]));
    }
  }

  /** The tripwire for everything known, after re-learning what an eviction made this object forget. */
  async tripwire(orgId: string | null): Promise<LeakTripwire> {
    if (this.#warming === null) this.#warming = this.#relearn(orgId);
    await this.#warming;
    this.#tripwire ??= new LeakTripwire([
      { value: PLACEHOLDER_SECRET, connections: null },
      ...[...this.#known].map(([value, owners]) => ({ value, connections: [...owners] })),
    ]);
    return this.#tripwire;
  }

  /** A leak was blocked: stop the session if its profile says so. Returns whether it will stop. */
  blocked(): boolean {
    const stop = this.#host.store.plan()?.plan.stopSessionOnLeak === true;
    if (stop) this.#host.stopSession();
    return stop;
  }

  async #relearn(orgId: string | null): Promise<void> {
    const ids = this.#resolvedRoutes();
    const routes = this.#host.store.plan()?.plan.egressRoutes.filter((r) => ids.has(r.id)) ?? [];
    if (orgId === null || routes.length === 0) return;
    // A credential that cannot be resolved now is not one the sandbox can be holding from before.
    await Promise.allSettled(
      routes.map(async (route) => {
        const result = await this.#host.credential(orgId, route);
        if (result.ok) this.resolved(route, result.value);
      }),
    );
  }

  #resolvedRoutes(): Set<string> {
    if (this.#stored === null) {
      const stored = this.#host.store.get('resolved_routes');
      this.#stored = new Set(stored === null ? [] : (JSON.parse(stored) as string[]));
    }
    return this.#stored;
  }
}

const PLACES: Record<LeakFinding['where'], string> = {
  authority: 'the host name',
  path: 'the path',
  query: 'the query string',
  header: 'a header',
  body: 'the body',
};

const FORMS: Record<LeakFinding['form'], string> = {
  raw: '',
  'url-encoded': ', URL-encoded',
  base64: ', base64-encoded',
  base64url: ', base64url-encoded',
  'url-encoded base64': ', base64-encoded then URL-encoded',
  'url-encoded base64url': ', base64url-encoded then URL-encoded',
};

/**
 * The 403 body the agent reads: what was found where, and why it may not go there. It never
 * repeats the value, and names neither host nor path when the secret was found in them.
 */
export function leakMessage(finding: LeakFinding, host: string, to: Destination, stopping: boolean): string {
  const what =
    finding.leak === 'placeholder'
      ? 'a placeholder credential (the stand-in Airlock puts in the sandbox instead of a key)'
      : `a real credential of connection ${finding.connectionId}`;
  const where =
    finding.where === 'header' && finding.header !== null
      ? `the ${finding.header} header`
      : finding.where === 'body'
        ? `the body (at byte ${finding.offset})`
        : PLACES[finding.where];
  const target = finding.where === 'authority' ? 'this host' : host;
  const why =
    to.kind === 'brokered'
      ? `${target} is brokered for another connection, and a credential goes only to its own service`
      : to.kind === 'passthrough'
        ? `${target} is allowlisted without credentials, and credentials never leave for such hosts`
        : `${target} is not allowed by this session's sandbox profile`;
  return (
    `Airlock blocked this request: it carries ${what}${FORMS[finding.form]} in ${where}, and ${why}. ` +
    'Nothing was sent. Remove the credential from the request: on brokered routes Airlock adds the real one itself.\n' +
    (stopping ? 'This session is being stopped, as its sandbox profile asks when a leak is blocked.\n' : '')
  );
}

/** The audit row's detail: what leaked (which connection or the placeholder), where and how encoded. */
export function leakDetail(finding: LeakFinding, to: Destination): Record<string, string | number> {
  return {
    leak: finding.leak,
    ...(finding.connectionId === null ? {} : { connection: finding.connectionId }),
    where: finding.where,
    ...(finding.where === 'header' && finding.header !== null ? { header: finding.header } : {}),
    ...(finding.where === 'body' ? { offset: finding.offset } : {}),
    form: finding.form,
    destination: to.kind,
  };
}
