import { WorkerEntrypoint } from 'cloudflare:workers';
import { runners, sessionEvents, sessions, snapshots } from '@airlock/schema/db';
import type { ControlPlaneInternalRpc, GatewayAuditEvent, SessionStopReason } from '@airlock/schema/gateway';
import { type RunnerEventSink, RunnerPresence, SandboxGone } from '@airlock/schema/runner';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import { loadConfig } from '../lib/context.ts';
import { type Database, withDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { createLogger } from '../lib/log.ts';
import { signalStop } from '../lifecycle/session-state.ts';
import { insertAuditBatch, markSessionStopping } from './gateway-events.ts';

// The Worker's internal RPC surface for Durable Objects (ADR 0001, 0030): a
// DO never opens Postgres itself; it calls these methods through the CONTROL
// service binding, which points back at this Worker. Never reachable over HTTP.

const LIVE_SESSION = ['pending', 'provisioning', 'starting', 'running'] as const;

const GONE_REASON: Record<SandboxGone['reason'], (exitCode: number | null) => string> = {
  exited: (code) => `The sandbox stopped unexpectedly${code === null ? '' : ` (exit code ${code})`}.`,
  missing: () => "The sandbox's container disappeared while its runner was away.",
  runner_lost: () => 'The runner stopped responding; its sandboxes were written off.',
};

export class ControlPlaneInternal
  extends WorkerEntrypoint<Env>
  implements RunnerEventSink, ControlPlaneInternalRpc
{
  /** The runner's presence, as its hub saw it. A revoked runner stays revoked. */
  async runnerPresence(input: RunnerPresence): Promise<void> {
    const report = RunnerPresence.parse(input);
    await this.#withDb(async (db) => {
      await db
        .update(runners)
        .set({
          status: report.status,
          ...(report.version === null ? {} : { version: report.version }),
          ...(report.host === null ? {} : { hostInfo: report.host }),
          activeSandboxes: report.activeSandboxes,
          ...(report.lastSeenAt === null ? {} : { lastHeartbeatAt: new Date(report.lastSeenAt) }),
        })
        .where(
          and(eq(runners.id, report.runnerId), eq(runners.orgId, report.orgId), isNull(runners.revokedAt)),
        );
    });
  }

  /**
   * A sandbox ended without being asked to (or its runner was lost): the session (or snapshot
   * build) it served fails, and the session's quota slot goes back to its org. Repeats are harmless.
   */
  async sandboxGone(input: SandboxGone): Promise<void> {
    const report = SandboxGone.parse(input);
    const reason = GONE_REASON[report.reason](report.exitCode);
    const at = new Date(report.at);
    await this.#withDb(async (db) => {
      if (report.sandboxId.startsWith('snp_')) {
        await db
          .update(snapshots)
          .set({ status: 'failed', failureReason: reason, finishedAt: at })
          .where(
            and(
              eq(snapshots.id, report.sandboxId),
              eq(snapshots.orgId, report.orgId),
              inArray(snapshots.status, ['pending', 'building']),
            ),
          );
        return;
      }
      const startedAt = await db.transaction(async (tx) => {
        const [current] = await tx
          .select({ status: sessions.status, startedAt: sessions.startedAt })
          .from(sessions)
          .where(and(eq(sessions.id, report.sandboxId), eq(sessions.orgId, report.orgId)))
          .for('update');
        if (current === undefined) return null;
        const to =
          current.status === 'stopping'
            ? 'stopped'
            : (LIVE_SESSION as readonly string[]).includes(current.status)
              ? 'failed'
              : null;
        if (to === null) return current.startedAt;
        await tx
          .update(sessions)
          .set({
            status: to,
            stoppedAt: at,
            ...(to === 'failed' ? { failureReason: reason } : {}),
            ...(report.exitCode === null ? {} : { exitCode: report.exitCode }),
          })
          .where(eq(sessions.id, report.sandboxId));
        await tx
          .insert(sessionEvents)
          .values({ sessionId: report.sandboxId, fromStatus: current.status, toStatus: to, reason });
        return current.startedAt;
      });
      const limiter = this.env.ORG_LIMITER.get(this.env.ORG_LIMITER.idFromName(report.orgId));
      await limiter.release({ sessionId: report.sandboxId });
      await signalStop(this.env, { id: report.sandboxId, startedAt }, reason);
    });
    createLogger({ runnerId: report.runnerId }).info('sandbox gone', {
      sandboxId: report.sandboxId,
      reason: report.reason,
    });
  }

  /** A SessionGateway's batch of audit events (ADR 0040). */
  async recordAudit(events: readonly GatewayAuditEvent[]): Promise<{ inserted: number }> {
    return { inserted: await this.#withDb((db) => insertAuditBatch(db, events)) };
  }

  /** A SessionGateway asks for its session to stop: idle, or the tunnel did not come back. */
  async requestSessionStop(input: {
    sessionId: string;
    reason: SessionStopReason;
  }): Promise<{ accepted: boolean }> {
    const stopping = await this.#withDb((db) => markSessionStopping(db, input));
    const accepted = stopping !== undefined;
    if (stopping !== undefined)
      await signalStop(this.env, { id: input.sessionId, startedAt: stopping.startedAt }, input.reason);
    createLogger({ sessionId: input.sessionId }).info('session stop requested', {
      reason: input.reason,
      accepted,
    });
    return { accepted };
  }

  #withDb<T>(work: (db: Database) => Promise<T>): Promise<T> {
    return withDb(loadConfig(this.env), work, (ending) => this.ctx.waitUntil(ending));
  }
}
