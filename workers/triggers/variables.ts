import type { TriggerEvent } from './event.ts';

// The variables a prompt template sees: the source's own (issue, pull_request,
// comment, push, check_suite, text, message, payload, schedule…), plus the
// trigger, the event and the delivery, and — with a mention filter or in chat
// — `mention.text`, the instruction that followed the @mention.

export interface DeliveryMeta {
  readonly deliveryId: string | null;
  readonly receivedAt: Date;
}

export function templateVariables(
  trigger: { id: string; name: string; kind: string },
  meta: DeliveryMeta,
  event: TriggerEvent,
  instruction: string | null,
): Record<string, unknown> {
  return {
    ...event.vars,
    trigger: { id: trigger.id, name: trigger.name, kind: trigger.kind },
    event: {
      name: event.name,
      source: event.source,
      summary: event.summary,
      actor: event.actor,
      delivery_id: meta.deliveryId,
      received_at: meta.receivedAt.toISOString(),
    },
    mention: { text: instruction },
  };
}
