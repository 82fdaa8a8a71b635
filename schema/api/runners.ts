import { z } from 'zod';
import { IdOf, Name, Timestamp } from './common.ts';
import { RUNNER_STATUSES, SANDBOX_PROVIDERS } from './enums.ts';

export const Runner = z
  .object({
    id: IdOf('rnr'),
    name: z.string(),
    status: z.enum(RUNNER_STATUSES),
    provider: z.enum(SANDBOX_PROVIDERS),
    capacity: z.number().int(),
    labels: z.record(z.string(), z.string()),
    version: z.string().nullable(),
    hostInfo: z.record(z.string(), z.unknown()),
    activeSandboxes: z.number().int(),
    createdAt: Timestamp,
    lastHeartbeatAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    /** Online and heard from within the last two minutes. */
    healthy: z.boolean(),
  })
  .meta({ id: 'Runner' });

export const CreateRunner = z
  .strictObject({
    name: Name,
    provider: z.enum(SANDBOX_PROVIDERS).default('docker'),
    capacity: z.number().int().min(1).max(1000).default(10),
    labels: z.record(z.string().regex(/^[a-z0-9_.-]{1,63}$/), z.string().max(255)).default({}),
  })
  .meta({ id: 'CreateRunner' });

/** The runner token is in this response only; the runner row keeps a hash of its id. */
export const RunnerCredentials = z
  .object({ runner: Runner, token: z.string(), expiresAt: Timestamp })
  .meta({ id: 'RunnerCredentials' });

export const RunnerList = z.object({ items: z.array(Runner) }).meta({ id: 'RunnerList' });

/** The org's session quota and what uses it now (sessions not yet stopped or failed). */
export const Quota = z
  .object({
    maxConcurrentSessions: z.number().int(),
    activeSessions: z.number().int(),
    sessionStartsPerMinute: z.number().int(),
    sessionTtlSeconds: z.number().int(),
    idleTimeoutSeconds: z.number().int(),
  })
  .meta({ id: 'Quota' });

export type Runner = z.infer<typeof Runner>;
export type Quota = z.infer<typeof Quota>;
export type CreateRunner = z.input<typeof CreateRunner>;
export type RunnerCredentials = z.infer<typeof RunnerCredentials>;
