import { z } from 'zod';
import { validationProblem } from './validation.ts';

// Opaque keyset cursors over (timestamp, id), newest first: the next page
// holds rows strictly older than the last one returned, so inserts between
// pages neither repeat nor skip rows.

const Shape = z.strictObject({ at: z.iso.datetime({ offset: true }), id: z.string().min(1).max(64) });

export interface Position {
  readonly at: Date;
  readonly id: string;
}

export function encodeCursor(position: Position): string {
  const json = JSON.stringify({ at: position.at.toISOString(), id: position.id });
  return btoa(json).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  try {
    const padded = cursor.replaceAll('-', '+').replaceAll('_', '/');
    const parsed = Shape.parse(JSON.parse(atob(padded)));
    return { at: new Date(parsed.at), id: parsed.id };
  } catch {
    throw validationProblem([
      { path: 'query.cursor', message: 'not a cursor this API issued', code: 'invalid_cursor' },
    ]);
  }
}

/** The page, and the cursor for the next one (null at the end). `rows` holds up to limit + 1. */
export function paginate<T>(rows: readonly T[], limit: number, position: (row: T) => Position) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(position(last)) : null,
  };
}
