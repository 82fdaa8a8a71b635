import { z } from 'zod';
import { IdOf, Timestamp } from './common.ts';
import { DELIVERY_SOURCES, DELIVERY_STATUSES, REPORT_STATUSES, TURN_STATUSES } from './enums.ts';
import { ChatConfig, ScheduleConfig, WebhookConfig } from './triggers.ts';

// What each request to a trigger became (its history), the actions on it
// (redeliver, send a test event), the prompt preview against a sample event,
// and the turns of a headless session (prompt, live output, final answer).

export const TriggerDelivery = z
  .object({
    id: IdOf('dlv'),
    triggerId: IdOf('trg'),
    source: z.enum(DELIVERY_SOURCES),
    /** The sender's delivery id (X-GitHub-Delivery, Slack event_id, webhook-id) or `schedule:<tick>`. */
    deliveryId: z.string().nullable(),
    status: z.enum(DELIVERY_STATUSES),
    event: z.string().nullable(),
    summary: z.string().nullable(),
    /** Why it was filtered, ignored, rejected, deduped or failed. */
    reason: z.string().nullable(),
    renderedPrompt: z.string().nullable(),
    sessionId: z.string().nullable(),
    turn: z.number().int().nullable(),
    duplicateOf: z.string().nullable(),
    redeliveryOf: z.string().nullable(),
    /** The member the session acts for, and how that was decided. */
    attributedTo: z.string().nullable(),
    attributionNote: z.string().nullable(),
    reportStatus: z.enum(REPORT_STATUSES).nullable(),
    reportDetail: z.string().nullable(),
    reportedAt: Timestamp.nullable(),
    /** Whether a redelivery can repeat it (its event was kept: never for rejected requests). */
    redeliverable: z.boolean(),
    receivedAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'TriggerDelivery' });

export const TriggerDeliveryQuery = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional(),
  source: z.enum(DELIVERY_SOURCES).optional(),
  /** Exact event name, e.g. `issues.labeled`. */
  event: z.string().max(100).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const TriggerDeliveryPage = z
  .object({ items: z.array(TriggerDelivery), nextCursor: z.string().nullable() })
  .meta({ id: 'TriggerDeliveryPage' });

/** A sample event for "send a test event" and the preview: the source's own example unless given. */
export const TestEvent = z
  .strictObject({
    /** `issues.labeled`, `issue_comment.created`, `app_mention`, …; default: the trigger's first event. */
    event: z
      .string()
      .regex(/^[a-z_]+(\.[a-z_]+)?$/)
      .max(100)
      .optional(),
    /** A payload shaped as the provider sends it; default: a faithful sample for the event. */
    payload: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'TestEvent' });

export const TriggerPreviewRequest = TestEvent.extend({
  /** Try another template against the event (default: the trigger's). */
  promptTemplate: z.string().min(1).max(16384).optional(),
}).meta({ id: 'TriggerPreviewRequest' });

/** Preview a trigger not yet saved (the create form). */
const draftEvent = {
  event: TestEvent.shape.event,
  payload: TestEvent.shape.payload,
};
export const TriggerDraftPreviewRequest = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('webhook'), config: WebhookConfig, ...draftEvent }),
    z.strictObject({ kind: z.literal('schedule'), config: ScheduleConfig, ...draftEvent }),
    z.strictObject({ kind: z.literal('chat'), config: ChatConfig, ...draftEvent }),
  ])
  .meta({ id: 'TriggerDraftPreviewRequest' });

export const TriggerPreview = z
  .object({
    event: z.string(),
    summary: z.string(),
    /** Whether the trigger's filters let this event through; `reason` says why not. */
    matched: z.boolean(),
    reason: z.string().nullable(),
    /** The prompt the agent would get (null when the template failed: see `templateError`). */
    prompt: z.string().nullable(),
    templateError: z.string().nullable(),
    /** The variables the template can use, as this event fills them. */
    variables: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'TriggerPreview' });

export const NextRuns = z
  .object({ timezone: z.string(), items: z.array(Timestamp) })
  .meta({ id: 'NextRuns' });

export const NextRunsQuery = z.strictObject({
  count: z.coerce.number().int().min(1).max(50).default(5),
});

export const SessionTurn = z
  .object({
    n: z.number().int(),
    prompt: z.string(),
    status: z.enum(TURN_STATUSES),
    /** The live tail of the agent's output (stdout and stderr as they came). */
    output: z.string(),
    /** The agent's final message, once the turn is done. */
    answer: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    deliveryId: z.string().nullable(),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    endedAt: Timestamp.nullable(),
  })
  .meta({ id: 'SessionTurn' });

export const SessionTurnList = z.object({ items: z.array(SessionTurn) }).meta({ id: 'SessionTurnList' });

export type TriggerDelivery = z.infer<typeof TriggerDelivery>;
export type TriggerPreview = z.infer<typeof TriggerPreview>;
export type TestEvent = z.infer<typeof TestEvent>;
export type SessionTurn = z.infer<typeof SessionTurn>;
