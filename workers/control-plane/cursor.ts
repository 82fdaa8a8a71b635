// Keyset cursors over (timestamp, id), newest first: the next page holds rows
// strictly older than the last one returned, so inserts between pages neither
// repeat nor skip rows. The wire shape `<epoch ms>.<id>` is the schema's
// `Cursor` pattern (schema/api/common.ts), checked by the query validator;
// every string of that shape decodes, so the server refuses no cursor the
// OpenAPI document allows.

export interface Position {
  readonly at: Date;
  readonly id: string;
}

export function encodeCursor(position: Position): string {
  return `${position.at.getTime()}.${position.id}`;
}

/** A cursor already validated against `Cursor`. */
export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  const dot = cursor.indexOf('.');
  return { at: new Date(Number(cursor.slice(0, dot))), id: cursor.slice(dot + 1) };
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
