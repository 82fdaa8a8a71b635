import { sessionEvents, sessions, sessionTurns } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq } from 'drizzle-orm';
import { resolveStartTarget } from '../control-plane/sessions/service.ts';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { safeErrorMessage } from '../lib/log.ts';
import { ProblemError } from '../lib/problem.ts';
import { auditAsTrigger } from './audit.ts';

// A trigger starts a headless session of its profile's latest published
// version (with a ready snapshot), with the rendered prompt as turn 1, as the
// trigger: `trigger_id` and `trigger_delivery_id` on the session, the member
// it acts for (if any) as `started_by`, and an audit event naming the trigger.
// A retried Workflow step finds the session it started before.

export interface TriggeredStart {
  readonly orgId: string;
  readonly profileId: string;
  readonly triggerId: string;
  readonly triggerName: string;
  /** The delivery row (`dlv_…`). */
  readonly deliveryId: string;
  readonly prompt: string;
  readonly startedBy: string | null;
  readonly attributionNote: string;
  readonly conversational: boolean;
  /** The chat message behind turn 1 (so the same message never becomes a second turn). */
  readonly sourceKey: string | null;
  /** Whether the plan's routes may forward over http:// (a `local` deployment, ADR 0120). */
  readonly allowPlainHttp: boolean;
  readonly at: Date;
}

export type StartOutcome =
  | { readonly ok: true; readonly sessionId: string }
  | { readonly ok: false; readonly reason: string };

export async function startTriggeredSession(
  env: Env,
  db: Database,
  input: TriggeredStart,
): Promise<StartOutcome> {
  const [existing] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(eq(sessions.triggerDeliveryId, input.deliveryId));
  if (existing !== undefined) {
    await createLifecycle(env, existing.id);
    return { ok: true, sessionId: existing.id };
  }
  let target: Awaited<ReturnType<typeof resolveStartTarget>>;
  try {
    target = await resolveStartTarget(db, input.orgId, input.profileId, undefined, input.allowPlainHttp);
  } catch (error) {
    if (error instanceof ProblemError) return { ok: false, reason: error.message };
    throw error;
  }
  const id = newId('session', input.at.getTime());
  await db.transaction(async (tx) => {
    await tx.insert(sessions).values({
      id,
      orgId: input.orgId,
      profileId: target.profileId,
      profileVersionId: target.version.id,
      snapshotId: target.snapshotId,
      mode: 'headless',
      prompt: input.prompt,
      conversational: input.conversational,
      startedBy: input.startedBy,
      triggerId: input.triggerId,
      triggerDeliveryId: input.deliveryId,
      provider: target.version.sandboxProvider,
      createdAt: input.at,
    });
    await tx.insert(sessionTurns).values({
      sessionId: id,
      n: 1,
      prompt: input.prompt,
      deliveryId: input.deliveryId,
      sourceKey: input.sourceKey,
      createdAt: input.at,
    });
    await tx.insert(sessionEvents).values({
      sessionId: id,
      fromStatus: null,
      toStatus: 'pending',
      reason:
        `started by trigger ${input.triggerName} (${input.triggerId}), delivery ${input.deliveryId}; ${input.attributionNote}`.slice(
          0,
          1000,
        ),
      createdAt: input.at,
    });
    await auditAsTrigger(
      tx,
      {
        orgId: input.orgId,
        triggerId: input.triggerId,
        action: 'session.started',
        sessionId: id,
        targetId: id,
        detail: {
          deliveryId: input.deliveryId,
          profileId: target.profileId,
          versionId: target.version.id,
          mode: 'headless',
          conversational: input.conversational,
          attributedTo: input.startedBy,
          attribution: input.attributionNote.slice(0, 500),
        },
      },
      input.at,
    );
  });
  await createLifecycle(env, id);
  return { ok: true, sessionId: id };
}

/** Create the session's lifecycle instance; one that exists already is fine (a retried step). */
async function createLifecycle(env: Env, sessionId: string): Promise<void> {
  try {
    await env.SESSION_LIFECYCLE.create({ id: sessionId, params: { sessionId } });
  } catch (error) {
    try {
      await env.SESSION_LIFECYCLE.get(sessionId);
    } catch {
      throw new Error(`could not start the session lifecycle: ${safeErrorMessage(error)}`);
    }
  }
}
