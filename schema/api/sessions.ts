import { z } from 'zod';
import { Cursor, FilterText, IdOf, Timestamp } from './common.ts';
import { AGENT_RUNTIMES, SANDBOX_PROVIDERS, SESSION_MODES, SESSION_STATUSES } from './enums.ts';

export const Session = z
  .object({
    id: IdOf('ses'),
    profileId: IdOf('prf'),
    profileVersionId: IdOf('prv'),
    snapshotId: z.string().nullable(),
    status: z.enum(SESSION_STATUSES),
    mode: z.enum(SESSION_MODES),
    prompt: z.string().nullable(),
    /** The human who started it (for a token: the token's owner), or null for a trigger. */
    startedBy: z.string().nullable(),
    startedByTokenId: z.string().nullable(),
    triggerId: z.string().nullable(),
    provider: z.enum(SANDBOX_PROVIDERS),
    /** The agent and the CLI version its snapshot installed (null for sessions from before they were recorded). */
    agentRuntime: z.enum(AGENT_RUNTIMES).nullable(),
    agentVersion: z.string().nullable(),
    runnerId: z.string().nullable(),
    failureReason: z.string().nullable(),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    stoppedAt: Timestamp.nullable(),
    lastActivityAt: Timestamp.nullable(),
    /**
     * When the gateway first blocked a request carrying a credential (or its placeholder) to a host
     * that is not that credential's route; null if it never did. The audit has each one (`leak_blocked`).
     */
    leakBlockedAt: Timestamp.nullable(),
  })
  .meta({ id: 'Session' });

/** Start a session from a published version (default: the profile's latest) whose snapshot is ready. */
export const CreateSession = z
  .strictObject({
    profileId: z.string().min(1).max(64),
    versionId: z.string().min(1).max(64).optional(),
    mode: z.enum(SESSION_MODES).default('interactive'),
    /** Required for headless sessions: what the agent is asked to do. */
    prompt: z.string().min(1).max(32768).optional(),
  })
  .refine((s) => s.mode !== 'headless' || s.prompt !== undefined, {
    message: 'a headless session needs a prompt',
    path: ['prompt'],
  })
  .meta({ id: 'CreateSession' });

export const SessionListQuery = z.strictObject({
  status: z.enum(SESSION_STATUSES).optional(),
  profileId: FilterText(64).optional(),
  cursor: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const SessionPage = z
  .object({ items: z.array(Session), nextCursor: z.string().nullable() })
  .meta({ id: 'SessionPage' });

export const SessionEvent = z
  .object({
    id: z.number().int(),
    fromStatus: z.enum(SESSION_STATUSES).nullable(),
    toStatus: z.enum(SESSION_STATUSES),
    reason: z.string().nullable(),
    at: Timestamp,
  })
  .meta({ id: 'SessionEvent' });

export const SessionEventList = z.object({ items: z.array(SessionEvent) }).meta({ id: 'SessionEventList' });

export type Session = z.infer<typeof Session>;
export type CreateSession = z.input<typeof CreateSession>;
export type SessionEvent = z.infer<typeof SessionEvent>;
