import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, createdAt, pk, updatedAt } from './columns.ts';
import { deliveryStatusEnum, triggerKindEnum } from './enums.ts';
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
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastFiredAt: at('last_fired_at'),
  },
  (t) => [
    uniqueIndex('triggers_org_name_key').on(t.orgId, t.name),
    index('triggers_profile_idx').on(t.profileId),
    index('triggers_kind_idx').on(t.kind, t.enabled),
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
    /** The provider's delivery id (X-GitHub-Delivery, Slack event_id, or the minute for schedules). */
    deliveryId: text('delivery_id').notNull(),
    status: deliveryStatusEnum('status').notNull().default('received'),
    event: text('event'),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [
    // A redelivered webhook is recognised, never run twice.
    uniqueIndex('trigger_deliveries_delivery_key').on(t.triggerId, t.deliveryId),
    index('trigger_deliveries_org_idx').on(t.orgId, t.createdAt),
  ],
);
