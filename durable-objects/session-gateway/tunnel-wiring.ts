import type { BrokerRpc } from '@airlock/schema/gateway';
import type { AuditInput, AuditOutbox } from './audit-outbox.ts';
import type { CredentialCache } from './credentials.ts';
import { type EgressContext, serveHttp } from './egress.ts';
import type { Execs } from './execs.ts';
import { LeakGuard } from './leak-guard.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { GatewayLog } from './log.ts';
import type { Sessions } from './sessions.ts';
import { admitSignature } from './sign-policy.ts';
import { type SignContext, serveSign } from './signer.ts';
import type { GatewayStore } from './store.ts';
import type { TunnelStream } from './stream.ts';
import type { Terminals } from './terminals.ts';
import type { Tunnel, TunnelHost } from './tunnel.ts';

// What the tunnel's streams are connected to: sandbox-opened `http` streams to
// egress mediation, `sign` streams to the signer, resumed `pty`/`exec` streams
// to terminals and commands, and connection changes to the lifecycle.

/** The parts the tunnel is wired to (narrow: the gateway wires itself in, nothing imports it). */
export interface WiringHost {
  readonly store: GatewayStore;
  readonly log: GatewayLog;
  readonly audit: Pick<AuditOutbox, 'record'>;
  readonly credentials: Pick<CredentialCache, 'get'>;
  readonly execs: Pick<Execs, 'gap' | 'restore'>;
  readonly lifecycle: Pick<Lifecycle, 'connected' | 'disconnected' | 'schedule' | 'stopForLeak' | 'touch'>;
  readonly sessions: Pick<Sessions, 'matcher'>;
  readonly terminals: Pick<Terminals, 'restore' | 'resumed'>;
  readonly tunnel: Tunnel;
  now(): number;
  broker(): BrokerRpc;
}

export function wireTunnel(gw: WiringHost): TunnelHost {
  const audit = (input: AuditInput) => {
    // Before a plan arrives the session and org are still known (from the bootstrap grant).
    const sessionId = gw.store.get('session_id');
    const orgId = gw.store.get('org_id');
    const session =
      gw.store.session() ??
      (sessionId !== null && orgId !== null
        ? {
            sessionId,
            orgId,
            attribution: { startedBy: null, triggerId: null, triggerDeliveryId: null },
            settings: gw.store.settings(),
          }
        : null);
    if (session === null) return gw.log.warn('audit event without a session', { action: input.action });
    gw.audit.record(session, input);
    void gw.lifecycle.schedule();
  };
  const done = (stream: TunnelStream) => gw.tunnel.forget(stream);
  const leaks = new LeakGuard({
    store: gw.store,
    credential: (orgId, route) => gw.credentials.get(orgId, route),
    stopSession: () => gw.lifecycle.stopForLeak(),
  });
  const egress: EgressContext = {
    log: gw.log,
    now: gw.now,
    orgId: () => gw.store.get('org_id'),
    matcher: () => gw.sessions.matcher(),
    credential: async (orgId, route) => {
      const result = await gw.credentials.get(orgId, route);
      if (result.ok) leaks.resolved(route, result.value);
      return result;
    },
    tripwire: (orgId) => leaks.tripwire(orgId),
    leakBlocked: () => leaks.blocked(),
    audit,
    touch: () => gw.lifecycle.touch(),
    done,
    limits: () => {
      const { websocketMessageBytes, tunnelBufferBytes } = gw.store.settings();
      // A message must fit the budget's half for messages (config already refuses more).
      const messageBytes = Math.min(websocketMessageBytes, Math.floor(tunnelBufferBytes / 2));
      return { budget: gw.tunnel.budget, websocketMessageBytes: messageBytes };
    },
  };
  const signer: SignContext = {
    log: gw.log,
    now: gw.now,
    orgId: () => gw.store.get('org_id'),
    broker: () => gw.broker(),
    audit,
    // Read-check-write with no await between: storage is the window, so it survives hibernation.
    admit: () => {
      const perMinute = gw.store.settings().signaturesPerMinute;
      const stored: unknown = JSON.parse(gw.store.get('sign_times') ?? '[]');
      const times = Array.isArray(stored) ? stored.filter((t): t is number => typeof t === 'number') : [];
      const verdict = admitSignature(times, gw.now(), perMinute);
      if (!verdict.ok) return { ok: false, perMinute, retryAfterSeconds: verdict.retryAfterSeconds };
      gw.store.set('sign_times', JSON.stringify(verdict.times));
      return { ok: true };
    },
    done,
  };
  return {
    store: gw.store,
    log: gw.log,
    now: gw.now,
    sessionEnded: () => gw.store.get('ended_at') !== null,
    resumable: () => [...gw.terminals.restore(gw.tunnel), ...gw.execs.restore(gw.tunnel)],
    resumed: (stream, gap) => {
      if (stream.kind === 'pty') gw.terminals.resumed(stream, gap);
      else gw.execs.gap(stream, gap);
    },
    opened: (stream, meta, fin) => {
      if (stream.kind === 'http') serveHttp(egress, stream, meta, fin);
      else serveSign(signer, stream, meta, fin);
    },
    connected: () => gw.lifecycle.connected(),
    disconnected: () => gw.lifecycle.disconnected(),
  };
}
