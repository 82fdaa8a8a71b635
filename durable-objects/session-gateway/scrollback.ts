// A bounded ring of a terminal's output, in SQLite so it survives eviction:
// each output chunk is a row keyed by its byte offset, and rows wholly older
// than the last `limit` bytes are deleted as new ones arrive. A late viewer is
// replayed the last `limit` bytes (the first row cut to fit).

export interface Replay {
  readonly chunks: Uint8Array[];
  readonly bytes: number;
  /** Output bytes produced before the replay starts (trimmed away). */
  readonly trimmed: number;
  /** Total output bytes so far (offset of the next byte). */
  readonly total: number;
}

/** Rows are at most this large; a bigger append is split. */
const ROW_BYTES = 64 * 1024;

export class Scrollback {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  total(terminal: string): number {
    const row = this.#sql
      .exec<{ offset: number | null; size: number | null }>(
        'SELECT offset, length(data) AS size FROM scrollback WHERE terminal = ? ORDER BY offset DESC LIMIT 1',
        terminal,
      )
      .toArray()[0];
    return row === undefined ? 0 : (row.offset ?? 0) + (row.size ?? 0);
  }

  append(terminal: string, bytes: Uint8Array, limit: number, total = this.total(terminal)): number {
    let offset = total;
    for (let at = 0; at < bytes.length; at += ROW_BYTES) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + ROW_BYTES));
      this.#sql.exec(
        'INSERT INTO scrollback (terminal, offset, data) VALUES (?, ?, ?)',
        terminal,
        offset,
        part,
      );
      offset += part.length;
    }
    this.#sql.exec(
      'DELETE FROM scrollback WHERE terminal = ? AND offset + length(data) <= ?',
      terminal,
      offset - limit,
    );
    return offset;
  }

  replay(terminal: string, limit: number): Replay {
    const rows = this.#sql
      .exec<{ offset: number; data: ArrayBuffer }>(
        'SELECT offset, data FROM scrollback WHERE terminal = ? ORDER BY offset',
        terminal,
      )
      .toArray();
    const last = rows[rows.length - 1];
    const total = last === undefined ? 0 : last.offset + last.data.byteLength;
    const start = Math.max(0, total - limit);
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for (const row of rows) {
      const end = row.offset + row.data.byteLength;
      if (end <= start) continue;
      const data = new Uint8Array(row.data);
      const chunk = row.offset < start ? data.subarray(start - row.offset) : data;
      chunks.push(chunk);
      bytes += chunk.length;
    }
    return { chunks, bytes, trimmed: total - bytes, total };
  }

  clear(terminal: string): void {
    this.#sql.exec('DELETE FROM scrollback WHERE terminal = ?', terminal);
  }
}
