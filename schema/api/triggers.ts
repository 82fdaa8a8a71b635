import { z } from 'zod';
import { IdOf, Name, Timestamp } from './common.ts';
import { isTimeZone, scheduleProblem } from './cron.ts';

// Triggers start headless sessions of a profile: from a webhook (GitHub, Slack,
// any Standard Webhooks sender), on a schedule, or from a chat thread. These
// are their stored, validated definitions; deliveries (what each request
// became) are in trigger-deliveries.ts.

/** A Liquid template (no code runs: tags and filters only) rendered against the event. */
const PromptTemplate = z.string().min(1).max(16384);

export const WebhookSource = z.enum(['github', 'slack', 'generic']);

/** Branch names or `*` globs: `main`, `release/*`. */
const BranchPattern = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\s~^:?\\[]+$/, 'a branch name, optionally with * wildcards');

/** Runs that may fail in a row before the trigger disables itself; 0 never pauses. */
const AutoPauseAfter = z.number().int().min(0).max(100).default(3);

/** Where a generic webhook's result is POSTed, signed with the trigger's secret (Standard Webhooks). */
const CallbackUrl = z.url({ protocol: /^https?$/ }).max(2000);

export const WebhookConfig = z
  .strictObject({
    source: WebhookSource,
    /** Event names to act on (`issues.labeled`, `issue_comment.created`, `push`, `app_mention`); `*` for all. */
    events: z
      .array(z.string().regex(/^(\*|[a-z_]+(\.[a-z_]+)?)$/, 'an event name like issues.opened, or *'))
      .min(1)
      .max(50),
    /** Only events from these repositories (`owner/name`); empty for any. */
    repositories: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name'))
      .max(100)
      .default([]),
    /** Only issues/PRs with one of these labels (for `labeled`: the label just added); empty for any. */
    labels: z.array(z.string().min(1).max(100)).max(50).default([]),
    /** Only pushes to, PRs into, or check suites on these branches; empty for any. */
    branches: z.array(BranchPattern).max(50).default([]),
    /**
     * Only when this account is @mentioned in the comment, issue or PR text (`airlock-bot`, a
     * GitHub App's `slug[bot]`); the text after the mention is the instruction (`{{mention.text}}`).
     */
    mention: z
      .string()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\[bot\])?$/, 'a GitHub login, e.g. airlock-bot')
      .optional(),
    /**
     * GitHub: the App or PAT connection that comments with the result (default: the profile's git
     * connection). Slack: the Slack connection that replies in the thread.
     */
    connectionId: z.string().min(1).max(64).optional(),
    /** Verify with the trigger's own secret, or with the GitHub App connection's `webhook_secret`. */
    secretFrom: z.enum(['trigger', 'connection']).default('trigger'),
    /** Report the result back where the event came from (comment, thread reply, callback). */
    report: z.boolean().default(true),
    callbackUrl: CallbackUrl.optional(),
    autoPauseAfter: AutoPauseAfter,
    promptTemplate: PromptTemplate,
  })
  .refine((c) => c.secretFrom === 'trigger' || (c.source === 'github' && c.connectionId !== undefined), {
    message: 'only a GitHub webhook can take its secret from a connection, and it needs connectionId',
    path: ['secretFrom'],
  })
  .refine((c) => c.callbackUrl === undefined || c.source === 'generic', {
    message:
      'a callback URL is for generic webhooks (GitHub and Slack results go back as comments and replies)',
    path: ['callbackUrl'],
  })
  .meta({ id: 'WebhookConfig' });

export const ScheduleConfig = z
  .strictObject({
    cron: z.string().min(1).max(200),
    timezone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin'),
    /** Where the result is POSTed (signed with a secret shown once), if anywhere. */
    callbackUrl: CallbackUrl.optional(),
    autoPauseAfter: AutoPauseAfter,
    promptTemplate: PromptTemplate,
  })
  .superRefine((config, ctx) => {
    const problem = scheduleProblem(config.cron, isTimeZone(config.timezone) ? config.timezone : 'UTC');
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, path: ['cron'] });
  })
  .meta({ id: 'ScheduleConfig' });

export const ChatConfig = z
  .strictObject({
    /** The Slack connection the bot speaks through (replies, user look-ups). */
    connectionId: z.string().min(1).max(64),
    /** Only this channel (and the bot's direct messages); omit for every channel the bot is in. */
    channel: z
      .string()
      .regex(/^[CDG][A-Z0-9]{6,20}$/, 'a Slack channel id such as C0123456789')
      .optional(),
    /** The first message of a thread becomes this prompt (default: the message itself). */
    promptTemplate: PromptTemplate.optional(),
    autoPauseAfter: AutoPauseAfter,
  })
  .meta({ id: 'ChatConfig' });

const common = {
  name: Name,
  profileId: z.string().min(1).max(64),
  enabled: z.boolean().default(true),
};

/** Slack hands out its signing secret; GitHub and generic secrets are generated unless given. */
const SigningSecret = z.string().min(16).max(256);

export const CreateTrigger = z
  .discriminatedUnion('kind', [
    z.strictObject({
      ...common,
      kind: z.literal('webhook'),
      config: WebhookConfig,
      signingSecret: SigningSecret.optional(),
    }),
    z.strictObject({ ...common, kind: z.literal('schedule'), config: ScheduleConfig }),
    z.strictObject({ ...common, kind: z.literal('chat'), config: ChatConfig, signingSecret: SigningSecret }),
  ])
  .refine((t) => t.kind !== 'webhook' || t.config.source !== 'slack' || t.signingSecret !== undefined, {
    message: "a Slack webhook needs the Slack app's signing secret",
    path: ['signingSecret'],
  })
  .refine(
    (t) =>
      t.kind !== 'webhook' ||
      t.config.source !== 'generic' ||
      t.signingSecret === undefined ||
      /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(t.signingSecret),
    {
      message: 'a Standard Webhooks secret is whsec_ followed by base64 (or omit it to have one generated)',
      path: ['signingSecret'],
    },
  )
  .meta({ id: 'CreateTrigger' });

export const UpdateTrigger = z
  .strictObject({
    name: Name.optional(),
    /** Enabling clears an auto-pause and its failure count. */
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
    /** Where the provider posts (webhook and chat triggers). */
    webhookUrl: z.string().nullable(),
    hasSigningSecret: z.boolean(),
    /** After a rotation, until when the previous secret still verifies. */
    previousSecretValidUntil: Timestamp.nullable(),
    /** Schedules: the next five run times. */
    nextRuns: z.array(Timestamp).nullable(),
    /** How to point the sender at this trigger, step by step. */
    setup: z.array(z.string()),
    consecutiveFailures: z.number().int(),
    /** Set when the trigger disabled itself after failed runs. */
    pausedReason: z.string().nullable(),
    createdBy: z.string().nullable(),
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

export const RotateTriggerSecret = z
  .strictObject({
    /** How long the old secret keeps verifying (senders switch over meanwhile); 0 ends it now. */
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .default(24 * 3600),
    /** Slack (and chat) triggers: the new signing secret Slack shows you. Others: omit, one is generated. */
    signingSecret: SigningSecret.optional(),
  })
  .meta({ id: 'RotateTriggerSecret' });

export const RotatedTriggerSecret = z
  .object({
    trigger: Trigger,
    /** The new secret (generated ones only; shown once). */
    signingSecret: z.string().nullable(),
  })
  .meta({ id: 'RotatedTriggerSecret' });

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
export type RotateTriggerSecret = z.input<typeof RotateTriggerSecret>;
