import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, createdAt, pk, updatedAt } from './columns.ts';
import { deliverySourceEnum, deliveryStatusEnum, reportStatusEnum, triggerKindEnum } from './enums.ts';
import { orgs, users } from './identity.ts';
import { sandboxProfiles } from './profiles.ts';

export const triggers = pgTable(
  'triggers',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    profileId: text('profile_id')
      .notNull()
      .references(() => sandboxProfiles.id, { onDelete: 'cascade' }),
    kind: triggerKindEnum('kind').notNull(),
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Kind-specific: webhook source + event filter, cron + timezone, chat channel; and the prompt template. */
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    /** Webhook signing secret, sealed like connection credentials (null for schedules). */
    secretCiphertext: text('secret_ciphertext'),
    secretNonce: text('secret_nonce'),
    secretKeyVersion: integer('secret_key_version'),
    /** After a rotation the old secret still verifies until `previousSecretExpiresAt` (senders catch up). */
    previousSecretCiphertext: text('previous_secret_ciphertext'),
    previousSecretNonce: text('previous_secret_nonce'),
    previousSecretKeyVersion: integer('previous_secret_key_version'),
    previousSecretExpiresAt: at('previous_secret_expires_at'),
    /** The trigger's owner: sessions it starts are attributed to them when no better person is known. */
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastFiredAt: at('last_fired_at'),
    /** Schedules: the next tick the scheduler claims (null when disabled or for other kinds). */
    nextRunAt: at('next_run_at'),
    /** Runs that failed in a row; at `config.autoPauseAfter` the trigger disables itself. */
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    /** Why the trigger disabled itself (auto-pause), cleared when someone enables it again. */
    pausedReason: text('paused_reason'),
  },
  (t) => [
    uniqueIndex('triggers_org_name_key').on(t.orgId, t.name),
    index('triggers_profile_idx').on(t.profileId),
    index('triggers_kind_idx').on(t.kind, t.enabled),
    index('triggers_due_idx').on(t.nextRunAt).where(sql`${t.kind} = 'schedule' and ${t.enabled}`),
  ],
);

export const triggerDeliveries = pgTable(
  'trigger_deliveries',
  {
    id: pk(),
    triggerId: text('trigger_id')
      .notNull()
      .references(() => triggers.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    source: deliverySourceEnum('source').notNull(),
    /**
     * The sender's delivery id (X-GitHub-Delivery, Slack event_id, webhook-id), `schedule:<tick>`
     * for schedules, `redelivery:<id>` / `test:<id>` for people. Null when a rejected request
     * carried none (a rejected request's id is kept only as a bounded, printable hint).
     */
    deliveryId: text('delivery_id'),
    /** Whether this row holds its delivery id (false for `deduped` and `rejected` rows). */
    claimsDeliveryId: boolean('claims_delivery_id').notNull().default(true),
    status: deliveryStatusEnum('status').notNull().default('received'),
    /** `issues.labeled`, `app_mention`, `schedule`, … */
    event: text('event'),
    /** One line for the history: `acme/widgets#12 labeled airlock`. */
    summary: text('summary'),
    /** Why it was filtered, ignored, rejected, deduped or failed. */
    reason: text('reason'),
    /** The event as parsed (never the raw body; nothing at all when the signature failed). */
    payload: jsonb('payload').$type<Record<string, unknown>>(),
    renderedPrompt: text('rendered_prompt'),
    /** The session it started or fed (plain id: the session outlives nothing here). */
    sessionId: text('session_id'),
    /** The turn of that session this delivery's prompt became. */
    turn: integer('turn'),
    /** A deduped row points at the delivery that ran. */
    duplicateOf: text('duplicate_of'),
    /** A redelivery points at the delivery it repeats. */
    redeliveryOf: text('redelivery_of'),
    /** Who the session acts for (a member), and how that was decided. */
    attributedTo: text('attributed_to'),
    attributionNote: text('attribution_note'),
    reportStatus: reportStatusEnum('report_status'),
    reportDetail: text('report_detail'),
    reportedAt: at('reported_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // A redelivered webhook or a schedule tick is recognised, never run twice. Deduped and
    // rejected rows do not claim their id: a forged request must not take a real one first.
    uniqueIndex('trigger_deliveries_delivery_key')
      .on(t.triggerId, t.deliveryId)
      .where(sql`${t.claimsDeliveryId}`),
    index('trigger_deliveries_org_idx').on(t.orgId, t.createdAt),
    index('trigger_deliveries_trigger_idx').on(t.triggerId, t.createdAt, t.id),
    index('trigger_deliveries_received_idx').on(t.createdAt).where(sql`${t.status} = 'received'`),
  ],
);

/** A chat thread is a conversation: its messages go to one session while it runs. */
export const triggerConversations = pgTable(
  'trigger_conversations',
  {
    id: pk(),
    triggerId: text('trigger_id')
      .notNull()
      .references(() => triggers.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    /** `slack:<team>:<channel>:<thread ts>`. */
    threadKey: text('thread_key').notNull(),
    /** The session serving the thread now (a new one replaces it once it has ended). */
    sessionId: text('session_id'),
    /** The delivery that claimed the thread to start its session (a retried claim finds its own). */
    claimedBy: text('claimed_by'),
    createdAt: createdAt(),
    lastMessageAt: at('last_message_at'),
  },
  (t) => [uniqueIndex('trigger_conversations_thread_key').on(t.triggerId, t.threadKey)],
);
