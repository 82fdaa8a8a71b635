import type { SESSION_STATUSES } from '@airlock/schema/api';
import { sessionEvents, sessions } from '@airlock/schema/db';
import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import type { SandboxRef } from '../providers/types.ts';

// A session's status moves only through these helpers: each change is a
// conditional update plus its `session_events` row in one transaction, so a
// retried Workflow step, the stop route, a gateway's stop request and the
// runner's "sandbox gone" report can race and every change is recorded once.

export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses with a sandbox (or the promise of one) that holds an org quota slot. */
export const LIVE: readonly SessionStatus[] = ['pending', 'provisioning', 'starting', 'running'];
export const ENDED: readonly SessionStatus[] = ['stopped', 'failed'];

/** The event a stop sends the session's workflow (stop route, idle, tunnel lost, sandbox gone). */
export const STOP_EVENT = 'stop';

export async function transition(
  db: Database,
  sessionId: string,
  input: {
    from: readonly SessionStatus[];
    to: SessionStatus;
    reason: string | null;
    set?: Partial<typeof sessions.$inferInsert>;
  },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ status: sessions.status })
      .from(sessions)
      .where(and(eq(sessions.id, sessionId), inArray(sessions.status, [...input.from])))
      .for('update');
    if (current === undefined) return false;
    await tx
      .update(sessions)
      .set({ ...input.set, status: input.to })
      .where(eq(sessions.id, sessionId));
    await tx
      .insert(sessionEvents)
      .values({ sessionId, fromStatus: current.status, toStatus: input.to, reason: input.reason });
    return true;
  });
}

export async function sessionStatus(db: Database, sessionId: string): Promise<SessionStatus | null> {
  const [row] = await db.select({ status: sessions.status }).from(sessions).where(eq(sessions.id, sessionId));
  return row?.status ?? null;
}

export async function saveSandboxRef(db: Database, sessionId: string, ref: SandboxRef): Promise<void> {
  await db
    .update(sessions)
    .set({ sandboxRef: JSON.stringify(ref), runnerId: ref.runnerId })
    .where(eq(sessions.id, sessionId));
}

export function parseSandboxRef(stored: string | null): SandboxRef | null {
  if (stored === null) return null;
  try {
    const ref = JSON.parse(stored) as SandboxRef;
    return typeof ref.sandboxId === 'string' && typeof ref.provider === 'string' ? ref : null;
  } catch {
    return null;
  }
}

/**
 * Wake the session's workflow if it is waiting for a stop; it checks the database either way.
 * Only a lifecycle that brought its session to running waits for the event, and only that
 * step sets `startedAt`: before it the workflow re-reads the status between steps, so there is
 * nothing to wake. Skipping those also skips looking up an instance that may not exist (a
 * session seeded straight into the database has none), which local Workflows log as an
 * uncaught `Engine was never started` / `instance.not_found` even though the lookup is caught.
 */
export async function signalStop(
  env: Env,
  session: { readonly id: string; readonly startedAt: Date | null },
  reason: string,
): Promise<void> {
  if (session.startedAt === null) return;
  try {
    const instance = await env.SESSION_LIFECYCLE.get(session.id);
    await instance.sendEvent({ type: STOP_EVENT, payload: { reason } });
  } catch {
    // No instance (any more), or it has finished: the cron sweep finishes what is left.
  }
}

/** Give the session's quota slot back (repeats are harmless). */
export async function releaseQuota(env: Env, orgId: string, sessionId: string): Promise<void> {
  await env.ORG_LIMITER.get(env.ORG_LIMITER.idFromName(orgId)).release({ sessionId });
}
