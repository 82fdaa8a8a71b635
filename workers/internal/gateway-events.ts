import { auditEvents, sessionEvents, sessions } from '@airlock/schema/db';
import type { GatewayAuditEvent, SessionStopReason } from '@airlock/schema/gateway';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';

// What SessionGateway objects write to Postgres through ControlPlaneInternal:
// audit batches (ids fixed by the gateway, so a retried batch inserts nothing
// twice; an aggregated denial row shipped again as its window grows only ever
// raises its count, so batches may arrive twice or out of order; a
// `leak_blocked` event also flags its session, ADR 0125) and stop requests
// (idle, tunnel lost, a blocked leak) that move a live session to `stopping`
// for the lifecycle to finish.

const STOP_REASONS: Record<SessionStopReason, string> = {
  idle: 'idle timeout',
  tunnel_lost: 'sandbox tunnel lost',
  leak_blocked: 'a credential leak was blocked',
};

/** Statuses a stop request moves to `stopping` (later ones are already on their way out). */
const STOPPABLE = ['pending', 'provisioning', 'starting', 'running'] as const;

export async function insertAuditBatch(db: Database, events: readonly GatewayAuditEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = await db
    .insert(auditEvents)
    .values(
      events.map((e) => ({
        id: e.id,
        orgId: e.orgId,
        at: new Date(e.at),
        kind: 'egress' as const,
        action: e.action,
        actorUserId: e.actorUserId,
        sessionId: e.sessionId,
        triggerId: e.triggerId,
        connectionId: e.connectionId,
        routeId: e.routeId,
        decision: e.decision,
        method: e.method,
        host: e.host,
        path: e.path,
        status: e.status,
        bytesIn: e.bytesIn,
        bytesOut: e.bytesOut,
        durationMs: Math.round(e.durationMs),
        detail: { ...e.detail },
        count: e.count ?? 1,
        lastAt: e.lastAt === undefined ? null : new Date(e.lastAt),
      })),
    )
    .onConflictDoUpdate({
      target: auditEvents.id,
      set: {
        count: sql`excluded.count`,
        lastAt: sql`greatest(${auditEvents.lastAt}, excluded.last_at)`,
      },
      // Only the same session's egress row can grow (ids are the gateway's; nothing else matches),
      // and only upwards: a retried or reordered copy of a window changes nothing.
      setWhere: sql`${auditEvents.kind} = 'egress' and ${auditEvents.sessionId} = excluded.session_id and excluded.count > ${auditEvents.count}`,
    })
    // xmax is 0 for a row this statement inserted, set for one it grew.
    .returning({ inserted: sql<boolean>`xmax = 0` });
  await flagLeaks(db, events);
  return rows.filter((r) => r.inserted).length;
}

/** A session with a blocked leak keeps the time of its first one (a retried batch changes nothing). */
async function flagLeaks(db: Database, events: readonly GatewayAuditEvent[]): Promise<void> {
  const first = new Map<string, GatewayAuditEvent>();
  for (const e of events) {
    const seen = first.get(e.sessionId);
    if (e.decision === 'leak_blocked' && (seen === undefined || e.at < seen.at)) first.set(e.sessionId, e);
  }
  for (const e of first.values())
    await db
      .update(sessions)
      .set({ leakBlockedAt: new Date(e.at) })
      .where(and(eq(sessions.id, e.sessionId), eq(sessions.orgId, e.orgId), isNull(sessions.leakBlockedAt)));
}

export async function markSessionStopping(
  db: Database,
  input: { sessionId: string; reason: SessionStopReason },
): Promise<boolean> {
  const reason = STOP_REASONS[input.reason];
  return db.transaction(async (tx) => {
    const current = (
      await tx
        .select({ status: sessions.status })
        .from(sessions)
        .where(and(eq(sessions.id, input.sessionId), inArray(sessions.status, [...STOPPABLE])))
        .for('update')
    )[0];
    if (current === undefined) return false;
    await tx.update(sessions).set({ status: 'stopping' }).where(eq(sessions.id, input.sessionId));
    await tx
      .insert(sessionEvents)
      .values({ sessionId: input.sessionId, fromStatus: current.status, toStatus: 'stopping', reason });
    return true;
  });
}
