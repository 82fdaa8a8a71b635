import { allowsPlainHttp, type Config } from '@airlock/config';
import type { ChatConfig, ScheduleConfig, WebhookConfig } from '@airlock/schema/api';
import { profileVersions, sessions, sessionTurns, triggers } from '@airlock/schema/db';
import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { queueTurn, TURN_QUEUED_EVENT } from '../lifecycle/turns.ts';
import { attribute } from './attribution.ts';
import { attachSession, messageKey, routeMessage } from './conversations.ts';
import { type DeliveryRow, findDelivery, updateDelivery } from './deliveries.ts';
import { TriggerEvent } from './event.ts';
import { chatFilter, webhookFilter } from './filters.ts';
import type { RunStatus } from './report/compose.ts';
import { sendReport } from './report/report.ts';
import { currentSecret, type TriggerRow } from './secrets.ts';
import { startTriggeredSession } from './start-session.ts';
import { renderPrompt } from './template.ts';
import { templateVariables } from './variables.ts';

// One delivery's run, step by step (the TriggerRun Workflow calls these): decide
// what the delivery does (start a session, continue a conversation, nothing) →
// do it → once its turn has ended, report back → count the outcome (and pause
// the trigger after too many failures in a row). Each function is safe to run
// again: a retried step finds what the last attempt did.

export interface RunDeps {
  readonly env: Env;
  readonly db: Database;
  readonly config: Config;
}

export type Decision =
  | { readonly kind: 'done'; readonly why: string }
  | { readonly kind: 'wait' }
  | {
      readonly kind: 'start';
      readonly prompt: string;
      readonly startedBy: string | null;
      readonly note: string;
      readonly conversationId: string | null;
      readonly sourceKey: string | null;
    }
  | {
      readonly kind: 'followup';
      readonly prompt: string;
      readonly sessionId: string;
      readonly sourceKey: string | null;
    }
  | { readonly kind: 'failed'; readonly reason: string };

async function load(
  db: Database,
  deliveryId: string,
): Promise<{ delivery: DeliveryRow; trigger: TriggerRow } | null> {
  const delivery = await findDelivery(db, deliveryId);
  if (delivery === undefined) return null;
  const [trigger] = await db.select().from(triggers).where(eq(triggers.id, delivery.triggerId));
  return trigger === undefined ? null : { delivery, trigger };
}

function eventOf(delivery: DeliveryRow): TriggerEvent | null {
  const parsed = TriggerEvent.safeParse(delivery.payload);
  return parsed.success ? parsed.data : null;
}

const slackConnectionOf = (trigger: TriggerRow): string | null => {
  const id = (trigger.config as { connectionId?: unknown }).connectionId;
  const source = (trigger.config as { source?: unknown }).source;
  return typeof id === 'string' && (trigger.kind === 'chat' || source === 'slack') ? id : null;
};

/** What this delivery does; marks it final when the answer is "nothing". */
export async function decide(deps: RunDeps, deliveryId: string, at: Date): Promise<Decision> {
  const loaded = await load(deps.db, deliveryId);
  if (loaded === null) return { kind: 'done', why: 'the delivery or its trigger is gone' };
  const { delivery, trigger } = loaded;
  if (delivery.status !== 'received') return { kind: 'done', why: `already ${delivery.status}` };
  const finish = async (status: 'filtered' | 'ignored' | 'failed', reason: string): Promise<Decision> => {
    await updateDelivery(deps.db, delivery.id, { status, reason }, at);
    return status === 'failed' ? { kind: 'failed', reason } : { kind: 'done', why: reason };
  };
  if (!trigger.enabled) return finish('ignored', 'disabled');
  const event = eventOf(delivery);
  if (event === null) return finish('failed', 'the stored event does not parse');
  // Filters again: a redelivery runs against the trigger as it is now.
  const verdict =
    trigger.kind === 'chat'
      ? chatFilter(trigger.config as ChatConfig, event)
      : trigger.kind === 'webhook'
        ? webhookFilter(trigger.config as WebhookConfig, event)
        : ({ pass: true, instruction: null } as const);
  if (!verdict.pass) return finish('filtered', verdict.reason);

  const conversational = trigger.kind === 'chat' && event.slack !== null;
  let conversationId: string | null = null;
  if (conversational && event.slack !== null) {
    const route = await routeMessage(
      deps.db,
      trigger,
      event.slack,
      event.name === 'app_mention',
      delivery.id,
      at,
    );
    if (route.kind === 'wait') return { kind: 'wait' };
    if (route.kind === 'none')
      return finish('filtered', 'a reply in a thread that is not a conversation of this trigger');
    if (route.kind === 'followup') {
      const prompt = (verdict.instruction ?? event.text ?? '').trim();
      await updateDelivery(deps.db, delivery.id, { renderedPrompt: prompt }, at);
      return { kind: 'followup', prompt, sessionId: route.sessionId, sourceKey: messageKey(event.slack) };
    }
    conversationId = route.conversationId;
  }
  const template =
    (trigger.config as { promptTemplate?: unknown }).promptTemplate ??
    (conversational ? '{{ text }}' : undefined);
  if (typeof template !== 'string') return finish('failed', 'the trigger has no prompt template');
  const rendered = await renderPrompt(
    template,
    templateVariables(
      trigger,
      { deliveryId: delivery.deliveryId, receivedAt: delivery.createdAt },
      event,
      verdict.instruction,
    ),
  );
  if (!rendered.ok) return finish('failed', rendered.error);
  const who = await attribute(deps, trigger, event, slackConnectionOf(trigger));
  await updateDelivery(
    deps.db,
    delivery.id,
    { renderedPrompt: rendered.prompt, attributedTo: who.userId, attributionNote: who.note },
    at,
  );
  return {
    kind: 'start',
    prompt: rendered.prompt,
    startedBy: who.userId,
    note: who.note,
    conversationId,
    sourceKey: event.slack === null ? null : messageKey(event.slack),
  };
}

export type Acted =
  | { readonly kind: 'started'; readonly sessionId: string; readonly turn: number }
  | { readonly kind: 'not_started'; readonly reason: string }
  | { readonly kind: 'deduped' };

/** Start the session (or queue the follow-up turn) the decision calls for. */
export async function act(deps: RunDeps, deliveryId: string, decision: Decision, at: Date): Promise<Acted> {
  const loaded = await load(deps.db, deliveryId);
  if (loaded === null) return { kind: 'not_started', reason: 'the delivery or its trigger is gone' };
  const { delivery, trigger } = loaded;
  if (decision.kind === 'followup') {
    const queued = await queueTurn(deps.db, {
      sessionId: decision.sessionId,
      prompt: decision.prompt,
      deliveryId: delivery.id,
      sourceKey: decision.sourceKey,
    });
    if (!queued.queued) {
      await updateDelivery(
        deps.db,
        delivery.id,
        {
          status: 'deduped',
          reason: 'the same message reached the conversation already',
          duplicateOf: queued.duplicateOfDelivery,
        },
        at,
      );
      return { kind: 'deduped' };
    }
    await updateDelivery(
      deps.db,
      delivery.id,
      { status: 'started', sessionId: decision.sessionId, turn: queued.n },
      at,
    );
    await deps.db.update(triggers).set({ lastFiredAt: at }).where(eq(triggers.id, trigger.id));
    try {
      const lifecycle = await deps.env.SESSION_LIFECYCLE.get(decision.sessionId);
      await lifecycle.sendEvent({ type: TURN_QUEUED_EVENT, payload: { turn: queued.n } });
    } catch {
      // The lifecycle looks for queued turns between waits anyway.
    }
    return { kind: 'started', sessionId: decision.sessionId, turn: queued.n };
  }
  if (decision.kind !== 'start') return { kind: 'not_started', reason: 'nothing to start' };
  const started = await startTriggeredSession(deps.env, deps.db, {
    orgId: trigger.orgId,
    profileId: trigger.profileId,
    triggerId: trigger.id,
    triggerName: trigger.name,
    deliveryId: delivery.id,
    prompt: decision.prompt,
    startedBy: decision.startedBy,
    attributionNote: decision.note,
    conversational: decision.conversationId !== null,
    sourceKey: decision.sourceKey,
    allowPlainHttp: allowsPlainHttp(deps.config),
    at,
  });
  if (!started.ok) {
    await updateDelivery(deps.db, delivery.id, { status: 'failed', reason: started.reason }, at);
    return { kind: 'not_started', reason: started.reason };
  }
  if (decision.conversationId !== null)
    await attachSession(deps.db, decision.conversationId, started.sessionId);
  await updateDelivery(
    deps.db,
    delivery.id,
    { status: 'started', sessionId: started.sessionId, turn: 1 },
    at,
  );
  await deps.db.update(triggers).set({ lastFiredAt: at }).where(eq(triggers.id, trigger.id));
  return { kind: 'started', sessionId: started.sessionId, turn: 1 };
}

export interface TurnState {
  readonly ended: boolean;
  readonly status: RunStatus;
  readonly answer: string;
  readonly pushed: ReadonlyArray<{ repository: string; branch: string; sha: string }>;
}

/** Whether the delivery's turn is over, and how it went. */
export async function turnState(db: Database, sessionId: string, turn: number): Promise<TurnState> {
  const [row] = await db
    .select({ turn: sessionTurns, sessionStatus: sessions.status, failureReason: sessions.failureReason })
    .from(sessionTurns)
    .innerJoin(sessions, eq(sessions.id, sessionTurns.sessionId))
    .where(and(eq(sessionTurns.sessionId, sessionId), eq(sessionTurns.n, turn)));
  if (row === undefined)
    return { ended: true, status: 'failed', answer: 'the session has no such turn', pushed: [] };
  const ended = row.turn.status === 'succeeded' || row.turn.status === 'failed';
  return {
    ended,
    status: row.turn.status === 'succeeded' ? 'succeeded' : 'failed',
    answer: row.turn.answer ?? row.failureReason ?? '',
    pushed: row.turn.pushed,
  };
}

/** The git connection of the profile's latest published version (for GitHub reports without one set). */
async function profileGitConnection(db: Database, profileId: string): Promise<string | null> {
  const [row] = await db
    .select({ git: profileVersions.gitConnectionId })
    .from(profileVersions)
    .where(and(eq(profileVersions.profileId, profileId), eq(profileVersions.status, 'published')))
    .orderBy(desc(profileVersions.number))
    .limit(1);
  return row?.git ?? null;
}

/** Report the outcome where the event came from, and record how that went on the delivery. */
export async function report(
  deps: RunDeps,
  deliveryId: string,
  outcome: { status: RunStatus; summary: string; sessionId: string | null; pushed: TurnState['pushed'] },
  at: Date,
): Promise<{ status: string; detail: string }> {
  const loaded = await load(deps.db, deliveryId);
  if (loaded === null) return { status: 'skipped', detail: 'the delivery or its trigger is gone' };
  const { delivery, trigger } = loaded;
  const event = eventOf(delivery);
  const config = trigger.config as Partial<WebhookConfig & ScheduleConfig>;
  if (config.report === false) {
    await updateDelivery(
      deps.db,
      delivery.id,
      { reportStatus: 'skipped', reportDetail: 'reporting is off' },
      at,
    );
    return { status: 'skipped', detail: 'reporting is off' };
  }
  const callbackSecret = config.callbackUrl === undefined ? null : await currentSecret(deps.config, trigger);
  const target =
    config.callbackUrl !== undefined && callbackSecret !== null
      ? { kind: 'callback' as const, url: config.callbackUrl, secret: callbackSecret }
      : (event?.target ?? null);
  const githubConnectionId =
    trigger.kind === 'webhook' && config.source === 'github' && typeof config.connectionId === 'string'
      ? config.connectionId
      : await profileGitConnection(deps.db, trigger.profileId);
  const publicUrl = deps.config.services.public_url.replace(/\/$/, '');
  const result = await sendReport(
    deps,
    {
      orgId: trigger.orgId,
      triggerId: trigger.id,
      deliveryId: delivery.id,
      target,
      githubConnectionId,
      slackConnectionId: slackConnectionOf(trigger),
      facts: {
        status: outcome.status,
        triggerName: trigger.name,
        summary: outcome.summary,
        sessionId: outcome.sessionId,
        sessionUrl:
          outcome.sessionId === null
            ? null
            : `${publicUrl}/orgs/${trigger.orgId}/sessions/${outcome.sessionId}`,
      },
      pushed: outcome.pushed,
    },
    at,
  );
  await updateDelivery(
    deps.db,
    delivery.id,
    {
      reportStatus: result.status,
      reportDetail: result.detail,
      reportedAt: result.status === 'sent' ? at : null,
    },
    at,
  );
  return result;
}
