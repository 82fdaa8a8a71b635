import type { Config } from '@airlock/config';
import { sessions } from '@airlock/schema/db';
import { and, asc, eq, inArray, lt, or } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { createLogger } from '../lib/log.ts';
import { endGateway, teardown } from './provision.ts';
import { LIVE, parseSandboxRef, releaseQuota, transition } from './session-state.ts';

// The cron's backstop for lifecycles that did not finish (ADR 0035): a session
// still live well past its TTL, or `stopping` while its workflow is no longer
// running (errored, terminated, gone), is finished here — gateway ended,
// sandbox stopped and destroyed, status set with a reason, quota released.

/** Past the TTL by this much, a live session's lifecycle has certainly lost track of it. */
const TTL_MARGIN_MS = 15 * 60_000;
/** A stop gets this long to finish on its own before the sweep looks at its workflow. */
const STOPPING_GRACE_MS = 2 * 60_000;
const BATCH = 25;

const WORKFLOW_DONE = new Set(['errored', 'terminated', 'complete', 'unknown']);

async function workflowGone(env: Env, sessionId: string): Promise<boolean> {
  try {
    const status = await (await env.SESSION_LIFECYCLE.get(sessionId)).status();
    return WORKFLOW_DONE.has(status.status);
  } catch {
    return true;
  }
}

export async function sweepSessions(
  deps: { env: Env; db: Database; config: Config },
  now: Date = new Date(),
): Promise<{ finished: string[] }> {
  const { env, db, config } = deps;
  const log = createLogger({ job: 'session-sweep' });
  const ttlCutoff = new Date(now.getTime() - config.limits.session_ttl_seconds * 1000 - TTL_MARGIN_MS);
  const stoppingCutoff = new Date(now.getTime() - STOPPING_GRACE_MS);
  const candidates = await db
    .select()
    .from(sessions)
    .where(
      or(
        and(inArray(sessions.status, [...LIVE]), lt(sessions.createdAt, ttlCutoff)),
        and(eq(sessions.status, 'stopping'), lt(sessions.createdAt, stoppingCutoff)),
      ),
    )
    .orderBy(asc(sessions.createdAt))
    .limit(BATCH);
  const finished: string[] = [];
  for (const row of candidates) {
    const stopping = row.status === 'stopping';
    if (stopping && !(await workflowGone(env, row.id))) continue;
    try {
      const reason = stopping
        ? 'stopped by the sweep: the session lifecycle ended before finishing the stop'
        : 'failed by the sweep: the session outlived its TTL without its lifecycle ending it';
      await endGateway(env, row.id, reason);
      const ref = parseSandboxRef(row.sandboxRef);
      if (ref !== null) await teardown({ env, db, config }, ref, { attempt: 'sweep' });
      await transition(db, row.id, {
        from: [row.status],
        to: stopping ? 'stopped' : 'failed',
        reason,
        set: { stoppedAt: now, ...(stopping ? {} : { failureReason: reason }) },
      });
      await releaseQuota(env, row.orgId, row.id);
      finished.push(row.id);
    } catch (error) {
      // Left for the next tick (a runner that is away, say).
      log.warn('could not finish a session', { sessionId: row.id, error: String(error).slice(0, 200) });
    }
  }
  if (finished.length > 0) log.info('sessions finished by the sweep', { count: finished.length });
  return { finished };
}
