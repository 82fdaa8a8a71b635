import { WorkerEntrypoint } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import { auditEvents, sessionEvents, sessions } from '@airlock/schema/db';
import type { ControlPlaneInternalRpc, GatewayAuditEvent, SessionStopReason } from '@airlock/schema/gateway';
import { and, eq, inArray } from 'drizzle-orm';
import { openDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { createLogger } from '../lib/log.ts';

// The control plane's internal surface for Durable Objects (ADR 0001): the
// only way a DO writes to Postgres. Reached through the CONTROL binding; never
// served over HTTP.

const log = createLogger({ part: 'control-internal' });

/** Statuses a stop request moves to `stopping` (later ones are already on their way out). */
const STOPPABLE = ['pending', 'provisioning', 'starting', 'running'] as const;

export class ControlPlaneInternal extends WorkerEntrypoint<Env> implements ControlPlaneInternalRpc {
  async #db<T>(run: (db: ReturnType<typeof openDb>['db']) => Promise<T>): Promise<T> {
    const handle = openDb(configFromWorkerEnv(this.env));
    try {
      return await run(handle.db);
    } finally {
      this.ctx.waitUntil(handle.end().catch(() => {}));
    }
  }

  /** Insert a batch of gateway audit events; ids make a retried batch a no-op. */
  async recordAudit(events: readonly GatewayAuditEvent[]): Promise<{ inserted: number }> {
    if (events.length === 0) return { inserted: 0 };
    return this.#db(async (db) => {
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
          })),
        )
        .onConflictDoNothing({ target: auditEvents.id })
        .returning({ id: auditEvents.id });
      return { inserted: rows.length };
    });
  }

  /**
   * A gateway asks for its session to stop (idle, or the tunnel did not come back).
   * Marks the session `stopping` with the reason; the session lifecycle does the rest.
   */
  async requestSessionStop(input: {
    sessionId: string;
    reason: SessionStopReason;
  }): Promise<{ accepted: boolean }> {
    return this.#db(async (db) => {
      const reason = input.reason === 'idle' ? 'idle timeout' : 'sandbox tunnel lost';
      const accepted = await db.transaction(async (tx) => {
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
      log.info('session stop requested', { sessionId: input.sessionId, reason: input.reason, accepted });
      return { accepted };
    });
  }
}
