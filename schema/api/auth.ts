import { z } from 'zod';
import { Email, IdOf, Name, Timestamp } from './common.ts';
import { ROLES } from './enums.ts';

// Login by emailed one-time code, the opaque session cookie it yields, and
// API tokens for the CLI and automation.

export const OtpRequest = z.strictObject({ email: Email }).meta({ id: 'OtpRequest' });
export const OtpRequested = z
  .object({
    /** Always the same answer, whether or not the address may log in. */
    sent: z.literal(true),
    codeLength: z.number().int(),
    expiresInSeconds: z.number().int(),
  })
  .meta({ id: 'OtpRequested' });

export const OtpVerify = z
  .strictObject({
    email: Email,
    code: z
      .string()
      .trim()
      .regex(/^[0-9]{4,10}$/, 'the digits from the email'),
  })
  .meta({ id: 'OtpVerify' });

export const User = z
  .object({ id: IdOf('usr'), email: z.string(), name: z.string().nullable(), createdAt: Timestamp })
  .meta({ id: 'User' });

export const MembershipSummary = z
  .object({
    orgId: IdOf('org'),
    orgName: z.string(),
    orgSlug: z.string(),
    role: z.enum(ROLES),
  })
  .meta({ id: 'MembershipSummary' });

export const Me = z
  .object({
    user: User,
    memberships: z.array(MembershipSummary),
    /** How this request was authenticated; a token is limited to its org. */
    via: z.enum(['session', 'token']),
    tokenOrgId: IdOf('org').nullable(),
  })
  .meta({ id: 'Me' });

export const LoginSession = z
  .object({
    id: IdOf('lgn'),
    createdAt: Timestamp,
    lastSeenAt: Timestamp,
    expiresAt: Timestamp,
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    current: z.boolean(),
  })
  .meta({ id: 'LoginSession' });

export const ApiToken = z
  .object({
    id: IdOf('tok'),
    orgId: IdOf('org'),
    name: z.string(),
    /** The first characters, to tell tokens apart; never the token. */
    displayPrefix: z.string(),
    createdAt: Timestamp,
    lastUsedAt: Timestamp.nullable(),
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
  })
  .meta({ id: 'ApiToken' });

export const CreateApiToken = z
  .strictObject({ name: Name, expiresInDays: z.number().int().min(1).max(3650).optional() })
  .meta({ id: 'CreateApiToken' });

/** The token itself (`alk_…`) is in this response only; it is stored hashed. */
export const CreatedApiToken = z
  .object({ apiToken: ApiToken, token: z.string() })
  .meta({ id: 'CreatedApiToken' });

export type OtpRequest = z.infer<typeof OtpRequest>;
export type OtpVerify = z.infer<typeof OtpVerify>;
export type User = z.infer<typeof User>;
export type Me = z.infer<typeof Me>;
export type LoginSession = z.infer<typeof LoginSession>;
export type ApiToken = z.infer<typeof ApiToken>;
export type CreateApiToken = z.infer<typeof CreateApiToken>;
export type CreatedApiToken = z.infer<typeof CreatedApiToken>;
