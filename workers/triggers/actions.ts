import type {
  ChatConfig,
  ScheduleConfig,
  TestEvent,
  TriggerPreview,
  WebhookConfig,
} from '@airlock/schema/api';
import { newId } from '@airlock/schema/ids';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { ProblemError } from '../lib/problem.ts';
import { auditAsTrigger } from './audit.ts';
import type { Actor } from './definitions.ts';
import { claimDelivery, type DeliveryRow } from './deliveries.ts';
import { type TriggerEvent, TriggerEvent as TriggerEventSchema } from './event.ts';
import { chatFilter, webhookFilter } from './filters.ts';
import { startRun } from './run-start.ts';
import { parseGeneric } from './sources/generic.ts';
import { parseGithub } from './sources/github.ts';
import { genericSample, githubSample, slackSample } from './sources/samples.ts';
import { scheduleEvent } from './sources/schedule.ts';
import { parseSlack } from './sources/slack.ts';
import { renderPrompt } from './template.ts';
import { templateVariables } from './variables.ts';

// What people do with a trigger besides defining it: preview its prompt
// against a sample (or pasted) event, send it a test event, redeliver a past
// delivery. Pasted payloads go through the same parsers as real requests;
// runs started here are the trigger's, with the person in the audit trail.

export interface TriggerLike {
  readonly id: string;
  readonly name: string;
  readonly kind: 'webhook' | 'schedule' | 'chat';
  readonly config: Record<string, unknown>;
}

const badEvent = (message: string) =>
  new ProblemError('validation_failed', message, {
    extensions: { errors: [{ path: 'payload', message, code: 'invalid_event' }] },
  });

/** The event a preview or test uses: the given payload parsed as the source would be, or a fitted sample. */
export function sampleEvent(trigger: TriggerLike, input: TestEvent, at: Date): TriggerEvent {
  const config = trigger.config;
  if (trigger.kind === 'schedule') {
    const c = config as ScheduleConfig;
    return scheduleEvent(at, c.cron, c.timezone);
  }
  const source = trigger.kind === 'chat' ? 'slack' : (config as WebhookConfig).source;
  const firstEvent =
    trigger.kind === 'chat'
      ? 'app_mention'
      : ((config as WebhookConfig).events.find((e) => e !== '*') ?? undefined);
  const event = input.event ?? firstEvent;
  if (source === 'github') {
    const c = config as WebhookConfig;
    const name = event ?? 'issues.opened';
    const sample = githubSample(name, {
      repository: c.repositories[0],
      label: c.labels[0],
      branch: c.branches.find((b) => !b.includes('*')),
      mention: c.mention,
    });
    const header = name.split('.')[0] ?? name;
    const parsed = parseGithub(header, input.payload ?? sample?.payload);
    if (parsed.ok === 'unsupported') throw badEvent(`GitHub event ${parsed.name} is not supported`);
    if (!parsed.ok) throw badEvent(parsed.reason);
    return parsed.value;
  }
  if (source === 'slack') {
    const parsed = parseSlack(
      input.payload ?? slackSample(event ?? 'app_mention', at, (config as Partial<ChatConfig>).channel),
    );
    if (!parsed.ok) throw badEvent(parsed.reason);
    if (parsed.value.kind !== 'event') throw badEvent('the payload is not a Slack event with a user message');
    return parsed.value.event;
  }
  const parsed = parseGeneric(input.payload ?? genericSample(event));
  if (!parsed.ok) throw badEvent(parsed.reason);
  return parsed.value;
}

function filterFor(trigger: TriggerLike, event: TriggerEvent) {
  if (trigger.kind === 'chat') return chatFilter(trigger.config as ChatConfig, event);
  if (trigger.kind === 'webhook') return webhookFilter(trigger.config as WebhookConfig, event);
  return { pass: true as const, instruction: null };
}

export async function previewTrigger(
  trigger: TriggerLike,
  input: TestEvent & { promptTemplate?: string | undefined },
  at: Date,
): Promise<TriggerPreview> {
  const event = sampleEvent(trigger, input, at);
  const verdict = filterFor(trigger, event);
  const instruction = verdict.pass ? verdict.instruction : null;
  const variables = templateVariables(trigger, { deliveryId: 'preview', receivedAt: at }, event, instruction);
  const template =
    input.promptTemplate ??
    (typeof trigger.config.promptTemplate === 'string'
      ? trigger.config.promptTemplate
      : trigger.kind === 'chat'
        ? '{{ text }}'
        : '');
  const rendered = await renderPrompt(template, variables);
  return {
    event: event.name,
    summary: event.summary,
    matched: verdict.pass,
    reason: verdict.pass ? null : verdict.reason,
    prompt: rendered.ok ? rendered.prompt : null,
    templateError: rendered.ok ? null : rendered.error,
    variables,
  };
}

export interface ActionDeps {
  readonly env: Env;
  readonly db: Database;
  readonly now: Date;
}

/** A test event through the trigger's filters and, if it passes, a real run (source `test`). */
export async function sendTestEvent(
  deps: ActionDeps,
  trigger: TriggerLike & { orgId: string; enabled: boolean },
  input: TestEvent,
  actor: Actor,
): Promise<DeliveryRow> {
  const event = sampleEvent(trigger, input, deps.now);
  const base = {
    triggerId: trigger.id,
    orgId: trigger.orgId,
    source: 'test' as const,
    deliveryId: `test:${newId('delivery', deps.now.getTime())}`,
    event,
    at: deps.now,
  };
  await auditAsTrigger(
    deps.db,
    {
      orgId: trigger.orgId,
      triggerId: trigger.id,
      action: 'trigger.test_event',
      targetId: trigger.id,
      actor,
      detail: { event: event.name },
    },
    deps.now,
  );
  if (!trigger.enabled) return (await claimDelivery(deps.db, base, 'ignored', 'disabled')).row;
  const verdict = filterFor(trigger, event);
  if (!verdict.pass) return (await claimDelivery(deps.db, base, 'filtered', verdict.reason)).row;
  const claim = await claimDelivery(deps.db, base);
  await startRun(deps.env, claim.row.id);
  return claim.row;
}

/** Run a past delivery's event again, as a new delivery pointing at the old one. */
export async function redeliver(
  deps: ActionDeps,
  trigger: TriggerLike & { orgId: string },
  original: DeliveryRow,
  actor: Actor,
): Promise<DeliveryRow> {
  const event = TriggerEventSchema.safeParse(original.payload);
  if (!event.success)
    throw new ProblemError(
      'conflict',
      original.status === 'rejected'
        ? 'A rejected request kept no body: there is nothing to redeliver.'
        : 'This delivery kept no event to redeliver.',
    );
  const claim = await claimDelivery(deps.db, {
    triggerId: trigger.id,
    orgId: trigger.orgId,
    source: 'redelivery',
    deliveryId: `redelivery:${newId('delivery', deps.now.getTime())}`,
    event: event.data,
    redeliveryOf: original.id,
    at: deps.now,
  });
  await auditAsTrigger(
    deps.db,
    {
      orgId: trigger.orgId,
      triggerId: trigger.id,
      action: 'trigger.redelivered',
      targetId: claim.row.id,
      actor,
      detail: { of: original.id },
    },
    deps.now,
  );
  await startRun(deps.env, claim.row.id);
  return claim.row;
}
