import type { EGRESS_DECISIONS } from '../db/tables/enums.ts';

// An audit event as the gateway buffers it and the control plane stores it
// (`audit_events`). The id is assigned when the event is buffered, so a flush
// that is retried after a crash inserts each event once.

export interface GatewayAuditEvent {
  readonly id: string;
  readonly orgId: string;
  readonly at: number;
  /** `egress.request` or `commit.signed`. */
  readonly action: 'egress.request' | 'commit.signed';
  readonly actorUserId: string | null;
  readonly sessionId: string;
  readonly triggerId: string | null;
  readonly connectionId: string | null;
  readonly routeId: string | null;
  readonly decision: (typeof EGRESS_DECISIONS)[number];
  readonly method: string | null;
  readonly host: string | null;
  /** Without the query string: queries can carry secrets. */
  readonly path: string | null;
  readonly status: number | null;
  /** Response bytes delivered to the sandbox. */
  readonly bytesIn: number;
  /** Request bytes sent upstream by the sandbox. */
  readonly bytesOut: number;
  readonly durationMs: number;
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
  /**
   * Denied requests are aggregated per (session, host, decision) and window (ADR 0115): the event is the
   * window's first request (`at`), `count` how many it stands for so far, `lastAt` the latest.
   * The gateway ships a window again as it grows; the control plane keeps the largest count.
   * Absent on everything else (one event each).
   */
  readonly count?: number;
  readonly lastAt?: number;
}

/** `leak_blocked`: the tripwire blocked a request and the profile stops sessions when it does. */
export type SessionStopReason = 'idle' | 'tunnel_lost' | 'leak_blocked';

/** The control plane's internal RPC surface used by Durable Objects (ADR 0001). */
export interface ControlPlaneInternalRpc {
  recordAudit(events: readonly GatewayAuditEvent[]): Promise<{ inserted: number }>;
  requestSessionStop(input: { sessionId: string; reason: SessionStopReason }): Promise<{ accepted: boolean }>;
}
