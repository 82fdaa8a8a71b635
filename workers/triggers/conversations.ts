import { sessions, triggerConversations } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { SlackMessage } from './event.ts';

// A Slack thread is a conversation (`trigger_conversations`, one row per
// trigger and thread): its first message starts a session; later messages in
// the thread become turns of that session while it runs; once it has ended,
// the next message starts a new one for the thread. Claims go through the
// unique (trigger, thread) row and compare-and-set on its session, so two
// messages racing never start two sessions.

const LIVE = ['pending', 'provisioning', 'starting', 'running'] as const;
/** A claim whose session never appeared (its run died) may be taken over after this long. */
const STALE_CLAIM_MS = 2 * 60_000;

export const threadKey = (m: SlackMessage) => `slack:${m.team ?? '-'}:${m.channel}:${m.threadTs ?? m.ts}`;
/** One chat message, whichever event carried it. */
export const messageKey = (m: SlackMessage) => `slack:${m.channel}:${m.ts}`;

export type Route =
  /** This delivery starts the thread's session (then `attach`). */
  | { readonly kind: 'start'; readonly conversationId: string }
  | { readonly kind: 'followup'; readonly conversationId: string; readonly sessionId: string }
  /** Another delivery is starting the thread's session right now: look again shortly. */
  | { readonly kind: 'wait' }
  /** A thread reply in a thread that is no conversation of this trigger. */
  | { readonly kind: 'none' };

export async function routeMessage(
  db: Database,
  trigger: { id: string; orgId: string },
  message: SlackMessage,
  mentioned: boolean,
  deliveryId: string,
  at: Date,
): Promise<Route> {
  const key = threadKey(message);
  const [row] = await db
    .select({ conversation: triggerConversations, status: sessions.status })
    .from(triggerConversations)
    .leftJoin(sessions, eq(sessions.id, triggerConversations.sessionId))
    .where(and(eq(triggerConversations.triggerId, trigger.id), eq(triggerConversations.threadKey, key)));
  if (row === undefined) {
    // Only a mention (or a direct message) opens a conversation; a reply in someone else's thread does not.
    const direct = message.channelType === 'im';
    if (!mentioned && !direct && message.threadTs !== null) return { kind: 'none' };
    const [claimed] = await db
      .insert(triggerConversations)
      .values({
        id: newId('conversation', at.getTime()),
        triggerId: trigger.id,
        orgId: trigger.orgId,
        threadKey: key,
        claimedBy: deliveryId,
        lastMessageAt: at,
      })
      .onConflictDoNothing()
      .returning({ id: triggerConversations.id });
    return claimed === undefined ? { kind: 'wait' } : { kind: 'start', conversationId: claimed.id };
  }
  const { conversation, status } = row;
  await db
    .update(triggerConversations)
    .set({ lastMessageAt: at })
    .where(eq(triggerConversations.id, conversation.id));
  if (conversation.sessionId !== null && status !== null && (LIVE as readonly string[]).includes(status))
    return { kind: 'followup', conversationId: conversation.id, sessionId: conversation.sessionId };
  // This delivery claimed the thread before (a retried step): it is still the one to start it.
  if (conversation.sessionId === null && conversation.claimedBy === deliveryId)
    return { kind: 'start', conversationId: conversation.id };
  if (conversation.sessionId === null && at.getTime() - conversation.createdAt.getTime() < STALE_CLAIM_MS)
    return { kind: 'wait' };
  // The thread's session has ended (or its start died): whoever swaps it out starts the next.
  const [taken] = await db
    .update(triggerConversations)
    .set({ sessionId: null, claimedBy: deliveryId, createdAt: at })
    .where(
      and(
        eq(triggerConversations.id, conversation.id),
        conversation.sessionId === null
          ? and(
              isNull(triggerConversations.sessionId),
              lt(triggerConversations.createdAt, new Date(at.getTime() - STALE_CLAIM_MS)),
            )
          : eq(triggerConversations.sessionId, conversation.sessionId),
      ),
    )
    .returning({ id: triggerConversations.id });
  return taken === undefined ? { kind: 'wait' } : { kind: 'start', conversationId: conversation.id };
}

/** The session now serving the thread. */
export async function attachSession(db: Database, conversationId: string, sessionId: string): Promise<void> {
  await db.update(triggerConversations).set({ sessionId }).where(eq(triggerConversations.id, conversationId));
}
