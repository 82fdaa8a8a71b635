import { index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, createdAt, pk } from './columns.ts';
import { runnerStatusEnum, sandboxProviderEnum } from './enums.ts';
import { orgs, users } from './identity.ts';

export const runners = pgTable(
  'runners',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    status: runnerStatusEnum('status').notNull().default('pending'),
    provider: sandboxProviderEnum('provider').notNull().default('docker'),
    /** Hash of the runner's current credential; rotating or revoking it cuts the runner off. */
    tokenHash: text('token_hash'),
    capacity: integer('capacity').notNull().default(10),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    version: text('version'),
    hostInfo: jsonb('host_info').$type<Record<string, unknown>>().notNull().default({}),
    /** Sandboxes the runner reported at its last heartbeat. */
    activeSandboxes: integer('active_sandboxes').notNull().default(0),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    lastHeartbeatAt: at('last_heartbeat_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('runners_org_name_key').on(t.orgId, t.name),
    index('runners_org_status_idx').on(t.orgId, t.status),
  ],
);
