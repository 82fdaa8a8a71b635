import { auditEvents } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import type { Database } from '../lib/db.ts';

// What a trigger does on its own — start a session, post a comment, reply in
// a thread, call back, pause itself — goes into the audit trail as the
// trigger (no human actor), with the call's method, host, path and status
// when it reached out, and non-secret detail only. What people do to a
// trigger (create, change, rotate, redeliver) carries them as the actor.

type Writer = Pick<Database, 'insert'>;

export interface TriggerAudit {
  readonly orgId: string;
  readonly triggerId: string;
  /** `trigger.session_started`, `trigger.reported`, `trigger.paused`, … */
  readonly action: string;
  readonly sessionId?: string | null;
  readonly connectionId?: string | null;
  readonly targetId?: string | null;
  readonly request?: {
    readonly method: string;
    readonly url: URL;
    readonly status: number | null;
    readonly durationMs: number;
  };
  readonly detail?: Record<string, unknown>;
  /** A person acting on the trigger (null: the trigger acting on its own). */
  readonly actor?: { readonly userId: string; readonly tokenId: string | null } | null;
}

export async function auditAsTrigger(db: Writer, event: TriggerAudit, at: Date): Promise<void> {
  await db.insert(auditEvents).values({
    id: newId('audit', at.getTime()),
    orgId: event.orgId,
    at,
    kind: 'control',
    action: event.action,
    actorUserId: event.actor?.userId ?? null,
    actorTokenId: event.actor?.tokenId ?? null,
    triggerId: event.triggerId,
    sessionId: event.sessionId ?? null,
    connectionId: event.connectionId ?? null,
    targetId: event.targetId ?? null,
    method: event.request?.method ?? null,
    host: event.request?.url.host ?? null,
    // Never the query: it can carry secrets.
    path: event.request?.url.pathname ?? null,
    status: event.request?.status ?? null,
    durationMs: event.request?.durationMs ?? null,
    detail: event.detail ?? {},
  });
}
