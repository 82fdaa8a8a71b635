import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { RuntimePlan } from '../../plan/types.ts';
import { at, createdAt, pk } from './columns.ts';
import {
  agentRuntimeEnum,
  sandboxProviderEnum,
  sessionModeEnum,
  sessionStatusEnum,
  turnStatusEnum,
} from './enums.ts';
import { apiTokens, orgs, users } from './identity.ts';
import { profileVersions, sandboxProfiles, snapshots } from './profiles.ts';
import { runners } from './runners.ts';
import { triggerDeliveries, triggers } from './triggers.ts';

export const sessions = pgTable(
  'sessions',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    profileId: text('profile_id')
      .notNull()
      .references(() => sandboxProfiles.id, { onDelete: 'restrict' }),
    profileVersionId: text('profile_version_id')
      .notNull()
      .references(() => profileVersions.id, { onDelete: 'restrict' }),
    snapshotId: text('snapshot_id').references(() => snapshots.id, { onDelete: 'set null' }),
    status: sessionStatusEnum('status').notNull().default('pending'),
    mode: sessionModeEnum('mode').notNull().default('interactive'),
    /** Headless sessions: the rendered prompt the agent runs with. */
    prompt: text('prompt'),
    /** Headless only: stays up after its first turn for follow-ups (a chat thread), until idle. */
    conversational: boolean('conversational').notNull().default(false),
    /** Attribution: the human who started it, or the trigger (and its delivery) that did. */
    startedBy: text('started_by').references(() => users.id, { onDelete: 'set null' }),
    /** The API token the start came through, if any (startedBy is then the token's owner). */
    startedByTokenId: text('started_by_token_id').references(() => apiTokens.id, { onDelete: 'set null' }),
    triggerId: text('trigger_id').references(() => triggers.id, { onDelete: 'set null' }),
    triggerDeliveryId: text('trigger_delivery_id').references(() => triggerDeliveries.id, {
      onDelete: 'set null',
    }),
    provider: sandboxProviderEnum('provider').notNull(),
    /** The agent and its CLI version, as the session's snapshot installed them (shown on the session page). */
    agentRuntime: agentRuntimeEnum('agent_runtime'),
    agentVersion: text('agent_version'),
    runnerId: text('runner_id').references(() => runners.id, { onDelete: 'set null' }),
    /** The provider's id for the sandbox (container id, E2B sandbox id, …). */
    sandboxRef: text('sandbox_ref'),
    failureReason: text('failure_reason'),
    exitCode: integer('exit_code'),
    createdAt: createdAt(),
    startedAt: at('started_at'),
    stoppedAt: at('stopped_at'),
    lastActivityAt: at('last_activity_at'),
    /** When the gateway first blocked a credential leak in this session (ADR 0125); null: never. */
    leakBlockedAt: at('leak_blocked_at'),
  },
  (t) => [
    index('sessions_org_created_idx').on(t.orgId, t.createdAt),
    index('sessions_org_status_idx').on(t.orgId, t.status),
    index('sessions_profile_idx').on(t.profileId),
    index('sessions_runner_idx').on(t.runnerId),
    check('sessions_attributed', sql`${t.startedBy} is not null or ${t.triggerId} is not null`),
  ],
);

/** Every status change, so a session's history (and why it failed) is visible. */
export const sessionEvents = pgTable(
  'session_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    fromStatus: sessionStatusEnum('from_status'),
    toStatus: sessionStatusEnum('to_status').notNull(),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [index('session_events_session_idx').on(t.sessionId, t.id)],
);

/** Append-only plan history per session; exactly one revision is active. */
export const sessionRuntimePlans = pgTable(
  'session_runtime_plans',
  {
    id: pk(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    revision: integer('revision').notNull(),
    plan: jsonb('plan').$type<RuntimePlan>().notNull(),
    compiledFromVersionId: text('compiled_from_version_id')
      .notNull()
      .references(() => profileVersions.id, { onDelete: 'restrict' }),
    createdAt: createdAt(),
    supersededAt: at('superseded_at'),
  },
  (t) => [
    uniqueIndex('session_runtime_plans_revision_key').on(t.sessionId, t.revision),
    uniqueIndex('session_runtime_plans_one_active').on(t.sessionId).where(sql`${t.supersededAt} is null`),
  ],
);

/**
 * What a headless session's agent was asked and answered, turn by turn: the first prompt, then
 * each follow-up of a conversation. `output` is the live tail while it runs; `answer` the agent's
 * final message (its stdout) once it is done.
 */
export const sessionTurns = pgTable(
  'session_turns',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    n: integer('n').notNull(),
    prompt: text('prompt').notNull(),
    status: turnStatusEnum('status').notNull().default('queued'),
    /** The chat message (or other source) it came from, so one message never becomes two turns. */
    sourceKey: text('source_key'),
    /** The trigger delivery that brought it (plain id). */
    deliveryId: text('delivery_id'),
    output: text('output').notNull().default(''),
    answer: text('answer'),
    exitCode: integer('exit_code'),
    /** Branches this turn pushed (remote-tracking refs that moved), for the report to verify and link. */
    pushed: jsonb('pushed')
      .$type<Array<{ repository: string; branch: string; sha: string }>>()
      .notNull()
      .default([]),
    createdAt: createdAt(),
    startedAt: at('started_at'),
    endedAt: at('ended_at'),
  },
  (t) => [
    uniqueIndex('session_turns_n_key').on(t.sessionId, t.n),
    uniqueIndex('session_turns_source_key').on(t.sessionId, t.sourceKey),
  ],
);
