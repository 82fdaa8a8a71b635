import { auditEvents } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import type { Database } from '../../lib/db.ts';
import type { Principal } from '../env.ts';

// Control-plane actions go into the same audit trail as egress decisions,
// with the acting user and token. Written in the action's own transaction
// where there is one, so the trail never claims what did not happen.

type Writer = Pick<Database, 'insert'>;

export interface ControlEvent {
  readonly orgId: string;
  /** `connection.created`, `profile.published`, `session.started`, … */
  readonly action: string;
  readonly principal: Principal | null;
  readonly targetId?: string | undefined;
  readonly sessionId?: string | undefined;
  readonly connectionId?: string | undefined;
  readonly triggerId?: string | undefined;
  /** Non-secret detail only. */
  readonly detail?: Record<string, unknown>;
}

export async function recordAudit(db: Writer, event: ControlEvent, at: Date): Promise<void> {
  await db.insert(auditEvents).values({
    id: newId('audit', at.getTime()),
    orgId: event.orgId,
    at,
    kind: 'control',
    action: event.action,
    actorUserId: event.principal?.userId ?? null,
    actorTokenId: event.principal?.tokenId ?? null,
    targetId: event.targetId ?? null,
    sessionId: event.sessionId ?? null,
    connectionId: event.connectionId ?? null,
    triggerId: event.triggerId ?? null,
    detail: event.detail ?? {},
  });
}
