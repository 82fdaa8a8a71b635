import { z } from 'zod';
import { IdOf, Timestamp } from './common.ts';
import { AUDIT_KINDS, EGRESS_DECISIONS } from './enums.ts';

export const AuditEvent = z
  .object({
    id: IdOf('aud'),
    at: Timestamp,
    kind: z.enum(AUDIT_KINDS),
    action: z.string(),
    actorUserId: z.string().nullable(),
    actorTokenId: z.string().nullable(),
    sessionId: z.string().nullable(),
    triggerId: z.string().nullable(),
    connectionId: z.string().nullable(),
    routeId: z.string().nullable(),
    decision: z.enum(EGRESS_DECISIONS).nullable(),
    method: z.string().nullable(),
    host: z.string().nullable(),
    path: z.string().nullable(),
    status: z.number().int().nullable(),
    bytesIn: z.number().int().nullable(),
    bytesOut: z.number().int().nullable(),
    durationMs: z.number().int().nullable(),
    targetId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
    /**
     * Requests the row stands for: denied egress is one row per session, host and minute (or
     * `limits.denied_audit_window_seconds`), `at` the first and `lastAt` the last of them; host `*`
     * collects a window's hosts past the hundredth. 1 (and `lastAt` null) for every other row.
     */
    count: z.number().int().min(1),
    lastAt: Timestamp.nullable(),
  })
  .meta({ id: 'AuditEvent' });

/** Newest first; pass `nextCursor` back as `cursor` for older events. */
export const AuditQuery = z.strictObject({
  sessionId: z.string().max(64).optional(),
  userId: z.string().max(64).optional(),
  tokenId: z.string().max(64).optional(),
  connectionId: z.string().max(64).optional(),
  triggerId: z.string().max(64).optional(),
  host: z.string().max(253).optional(),
  decision: z.enum(EGRESS_DECISIONS).optional(),
  kind: z.enum(AUDIT_KINDS).optional(),
  action: z.string().max(100).optional(),
  /** Inclusive lower bound. */
  from: Timestamp.optional(),
  /** Exclusive upper bound. */
  to: Timestamp.optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const AuditPage = z
  .object({ items: z.array(AuditEvent), nextCursor: z.string().nullable() })
  .meta({ id: 'AuditPage' });

export type AuditEvent = z.infer<typeof AuditEvent>;
export type AuditQuery = z.input<typeof AuditQuery>;
export type AuditPage = z.infer<typeof AuditPage>;
