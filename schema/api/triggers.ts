import { z } from 'zod';
import { IdOf, Name, Timestamp } from './common.ts';
import { CronError, isTimeZone, parseCron } from './cron.ts';

// Triggers start headless sessions of a profile: from a webhook, on a
// schedule, or from a chat channel. The lifecycles behind them live
// elsewhere; these are their stored, validated definitions.

const PromptTemplate = z.string().min(1).max(16384);

export const WebhookSource = z.enum(['github', 'slack', 'generic']);

export const WebhookConfig = z
  .strictObject({
    source: WebhookSource,
    /** Event names to act on (`issues.opened`, `pull_request`, `app_mention`); `*` for all. */
    events: z
      .array(z.string().regex(/^(\*|[a-z_]+(\.[a-z_]+)?)$/, 'an event name like issues.opened, or *'))
      .min(1)
      .max(50),
    /** Only events from these repositories (`owner/name`); empty for any. */
    repositories: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name'))
      .max(100)
      .default([]),
    promptTemplate: PromptTemplate,
  })
  .meta({ id: 'WebhookConfig' });

export const ScheduleConfig = z
  .strictObject({
    cron: z.string().superRefine((value, ctx) => {
      try {
        parseCron(value);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: error instanceof CronError ? error.message : 'invalid cron',
        });
      }
    }),
    timezone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin'),
    promptTemplate: PromptTemplate,
  })
  .meta({ id: 'ScheduleConfig' });

export const ChatConfig = z
  .strictObject({
    /** The Slack connection the bot speaks through. */
    connectionId: z.string().min(1).max(64),
    channel: z.string().regex(/^[CDG][A-Z0-9]{6,20}$/, 'a Slack channel id such as C0123456789'),
    promptTemplate: PromptTemplate.optional(),
  })
  .meta({ id: 'ChatConfig' });

const common = {
  name: Name,
  profileId: z.string().min(1).max(64),
  enabled: z.boolean().default(true),
};

export const CreateTrigger = z
  .discriminatedUnion('kind', [
    z.strictObject({
      ...common,
      kind: z.literal('webhook'),
      config: WebhookConfig,
      /** Slack gives you its signing secret; for GitHub and generic hooks omit it and one is generated. */
      signingSecret: z.string().min(16).max(256).optional(),
    }),
    z.strictObject({ ...common, kind: z.literal('schedule'), config: ScheduleConfig }),
    z.strictObject({ ...common, kind: z.literal('chat'), config: ChatConfig }),
  ])
  .refine((t) => t.kind !== 'webhook' || t.config.source !== 'slack' || t.signingSecret !== undefined, {
    message: "a Slack webhook needs the Slack app's signing secret",
    path: ['signingSecret'],
  })
  .meta({ id: 'CreateTrigger' });

export const UpdateTrigger = z
  .strictObject({
    name: Name.optional(),
    enabled: z.boolean().optional(),
    profileId: z.string().min(1).max(64).optional(),
    /** The whole config of the trigger's kind (checked against that kind). */
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'UpdateTrigger' });

export const Trigger = z
  .object({
    id: IdOf('trg'),
    profileId: IdOf('prf'),
    kind: z.enum(['webhook', 'schedule', 'chat']),
    name: z.string(),
    enabled: z.boolean(),
    config: z.record(z.string(), z.unknown()),
    /** Where the provider posts (webhook triggers). */
    webhookUrl: z.string().nullable(),
    hasSigningSecret: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastFiredAt: Timestamp.nullable(),
  })
  .meta({ id: 'Trigger' });

/** The signing secret is in this response only (generated ones); it is sealed at rest. */
export const CreatedTrigger = z
  .object({ trigger: Trigger, signingSecret: z.string().nullable() })
  .meta({ id: 'CreatedTrigger' });

export const TriggerList = z.object({ items: z.array(Trigger) }).meta({ id: 'TriggerList' });

export const TRIGGER_CONFIGS = {
  webhook: WebhookConfig,
  schedule: ScheduleConfig,
  chat: ChatConfig,
} as const;

export type WebhookConfig = z.infer<typeof WebhookConfig>;
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;
export type ChatConfig = z.infer<typeof ChatConfig>;
export type CreateTrigger = z.input<typeof CreateTrigger>;
export type UpdateTrigger = z.infer<typeof UpdateTrigger>;
export type Trigger = z.infer<typeof Trigger>;
export type CreatedTrigger = z.infer<typeof CreatedTrigger>;
