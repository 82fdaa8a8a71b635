import { z } from 'zod';

// Building blocks shared by every resource's schemas.

/** Postgres text cannot hold U+0000; a string that would carry one into a query is refused up front. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly the character refused.
const NO_NUL = /^[^\u0000]*$/;

/** A string compared with stored text (a filter): any text Postgres can hold. */
export const FilterText = (max: number) => z.string().max(max).regex(NO_NUL, 'must not contain U+0000');

/**
 * A path id: an unknown one answers 404 like a foreign one; only what Postgres cannot hold
 * (U+0000) or an over-long value is refused with 422.
 */
export const PathId = z.string().min(1).max(64).regex(NO_NUL, 'must not contain U+0000');

/** Prefixed id as the server issues them (`org_…`). */
export const IdOf = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9A-Z]{26}$`), `a ${prefix}_… id`);

export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: 'RFC 3339 timestamp' });

export const Email = z
  .email()
  .max(320)
  .transform((e) => e.trim().toLowerCase());

export const Name = z.string().trim().min(1).max(100);

/**
 * A keyset cursor as list endpoints issue it (`nextCursor`): `<epoch ms>.<id>` of
 * the last row of the previous page. Every string of this shape is accepted —
 * it only says where the next page starts, inside the caller's org — so the
 * pattern is the whole contract and a client generator cannot produce a
 * schema-valid cursor the server refuses.
 */
export const Cursor = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,14})\.[A-Za-z0-9_-]{1,64}$/, 'a cursor from a previous page (`nextCursor`)')
  .meta({ description: "Pass the previous page's `nextCursor` back unchanged." });

/** Cursor pagination: pass `nextCursor` back as `cursor`; null means the end. */
export const PageQuery = z.strictObject({
  cursor: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const pageOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).meta({ id });

export const Ok = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });
