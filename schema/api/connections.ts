import { z } from 'zod';
import { IdOf, Name, Timestamp } from './common.ts';
import { CONNECTION_STATUSES } from './enums.ts';

// An org's authorised account with one integration. Credentials are
// write-only: sent on create or replace, sealed at rest, never returned.

const Values = z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.string().max(16384));

export const Connection = z
  .object({
    id: IdOf('con'),
    integration: z.string(),
    name: z.string(),
    status: z.enum(CONNECTION_STATUSES),
    statusReason: z.string().nullable(),
    /** Non-secret settings (base_url override, app id, …). */
    config: z.record(z.string(), z.unknown()),
    /** Names of the credential fields that are stored; never their values. */
    credentialFields: z.array(z.string()),
    createdBy: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Connection' });

export const CreateConnection = z
  .strictObject({
    integration: z.string().min(1).max(64),
    name: Name,
    config: Values.default({}),
    credentials: Values,
  })
  .meta({ id: 'CreateConnection' });

export const UpdateConnection = z
  .strictObject({
    name: Name.optional(),
    /** Replaces the whole non-secret config. */
    config: Values.optional(),
    /** Replaces every credential field (re-sealed with the active key). */
    credentials: Values.optional(),
    /** `revoked` takes the connection out of every future plan; `active` restores it. */
    status: z.enum(['active', 'revoked']).optional(),
  })
  .meta({ id: 'UpdateConnection' });

export const ConnectionList = z.object({ items: z.array(Connection) }).meta({ id: 'ConnectionList' });

/** The outcome of calling the integration's probe endpoint with the stored credential. */
export const ConnectionTestResult = z
  .object({
    ok: z.boolean(),
    /** The upstream's HTTP status; null when it could not be reached. */
    status: z.number().int().nullable(),
    /** What was called, without credentials (`GET https://api.openai.com/v1/models`). */
    request: z.string(),
    /** Why it failed, or what succeeded; never contains the credential or the upstream's body. */
    detail: z.string(),
    durationMs: z.number().int(),
  })
  .meta({ id: 'ConnectionTestResult' });

export type Connection = z.infer<typeof Connection>;
export type ConnectionTestResult = z.infer<typeof ConnectionTestResult>;
export type CreateConnection = z.input<typeof CreateConnection>;
export type UpdateConnection = z.infer<typeof UpdateConnection>;
