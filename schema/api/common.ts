import { z } from 'zod';

// Building blocks shared by every resource's schemas.

/** A path id; any string is accepted and an unknown one answers 404 (never 422), like a foreign one. */
export const PathId = z.string().min(1).max(64);

/** Prefixed id as the server issues them (`org_…`). */
export const IdOf = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9A-Z]{26}$`), `a ${prefix}_… id`);

export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: 'RFC 3339 timestamp' });

export const Email = z
  .email()
  .max(320)
  .transform((e) => e.trim().toLowerCase());

export const Name = z.string().trim().min(1).max(100);

/** Cursor pagination: pass `nextCursor` back as `cursor`; null means the end. */
export const PageQuery = z.strictObject({
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const pageOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).meta({ id });

export const Ok = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });
