import { bigint, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { at, pk } from './columns.ts';
import { auditKindEnum, egressDecisionEnum } from './enums.ts';
import { orgs } from './identity.ts';

// Audit rows keep plain ids, not foreign keys: the trail must outlive what it
// talks about (a deleted connection, a removed member) and inserts must never
// fail on a race with a delete.
export const auditEvents = pgTable(
  'audit_events',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    at: at('at').notNull().defaultNow(),
    kind: auditKindEnum('kind').notNull(),
    /** e.g. `egress.request`, `connection.created`, `profile.published`, `session.started`. */
    action: text('action').notNull(),
    actorUserId: text('actor_user_id'),
    actorTokenId: text('actor_token_id'),
    sessionId: text('session_id'),
    triggerId: text('trigger_id'),
    connectionId: text('connection_id'),
    routeId: text('route_id'),
    decision: egressDecisionEnum('decision'),
    method: text('method'),
    host: text('host'),
    /** Path without the query string: queries can carry secrets. */
    path: text('path'),
    status: integer('status'),
    bytesIn: bigint('bytes_in', { mode: 'number' }),
    bytesOut: bigint('bytes_out', { mode: 'number' }),
    durationMs: integer('duration_ms'),
    /**
     * Requests this row stands for. Denied egress is one row per (session, host, decision) and window
     * (`at` first seen, `last_at` last seen; ADR 0115); every other row is one event.
     */
    count: integer('count').notNull().default(1),
    lastAt: at('last_at'),
    /** Subject of a control action (e.g. the profile id) and other non-secret detail. */
    targetId: text('target_id'),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_events_org_at_idx').on(t.orgId, t.at, t.id),
    index('audit_events_session_idx').on(t.orgId, t.sessionId, t.at),
    index('audit_events_connection_idx').on(t.orgId, t.connectionId, t.at),
    index('audit_events_actor_idx').on(t.orgId, t.actorUserId, t.at),
    index('audit_events_host_idx').on(t.orgId, t.host, t.at),
    index('audit_events_decision_idx').on(t.orgId, t.decision, t.at),
  ],
);
