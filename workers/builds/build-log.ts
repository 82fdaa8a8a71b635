import { snapshotLogs } from '@airlock/schema/db';
import type { Database } from '../lib/db.ts';

// A build's output, line by line, into snapshot_logs as it comes, so the API
// can follow it live with a cursor. Each workflow step writes in its own block
// of sequence numbers and numbers its lines from the exec's output alone, so a
// retried step writes the same (snapshot, seq) pairs again and the duplicates
// are dropped: the log reads the same whatever was retried.

/** Sequence numbers per step: step n writes n·BLOCK + 0, 1, 2, … */
export const LOG_BLOCK = 10_000_000;
/** Longer lines are split; the API returns text, not megabyte rows. */
const MAX_LINE = 4000;
const TAIL_LINES = 40;

export type LogStream = 'stdout' | 'stderr' | 'system';

interface Row {
  readonly snapshotId: string;
  readonly seq: number;
  readonly stream: LogStream;
  readonly text: string;
}

export class BuildLog {
  readonly #db: Database;
  readonly #snapshotId: string;
  readonly #base: number;
  #next = 0;
  #pending: Row[] = [];
  readonly #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  readonly #tail: string[] = [];

  constructor(db: Database, snapshotId: string, block: number) {
    this.#db = db;
    this.#snapshotId = snapshotId;
    this.#base = block * LOG_BLOCK;
  }

  system(text: string): void {
    this.#line('system', text);
  }

  /** Output as it arrives: complete lines are logged, the rest waits for its newline. */
  write(stream: 'stdout' | 'stderr', data: string): void {
    const parts = (this.#partial[stream] + data).split('\n');
    this.#partial[stream] = parts.pop() ?? '';
    for (const part of parts) this.#line(stream, part.replace(/\r$/, ''));
    if (this.#partial[stream].length > MAX_LINE) {
      this.#line(stream, this.#partial[stream]);
      this.#partial[stream] = '';
    }
  }

  /** The output is over: log what did not end with a newline. */
  endStreams(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream] !== '') this.#line(stream, this.#partial[stream]);
      this.#partial[stream] = '';
    }
  }

  async flush(): Promise<void> {
    const rows = this.#pending;
    this.#pending = [];
    for (let i = 0; i < rows.length; i += 500)
      await this.#db
        .insert(snapshotLogs)
        .values(rows.slice(i, i + 500))
        .onConflictDoNothing();
  }

  /** The last lines of output written through this log, for a failure reason. */
  tail(lines = 15): string {
    return this.#tail.slice(-lines).join('\n');
  }

  #line(stream: LogStream, text: string): void {
    for (let at = 0; at === 0 || at < text.length; at += MAX_LINE) {
      const piece = text.slice(at, at + MAX_LINE);
      this.#pending.push({
        snapshotId: this.#snapshotId,
        seq: this.#base + this.#next++,
        stream,
        text: piece,
      });
      if (stream !== 'system') {
        this.#tail.push(piece);
        if (this.#tail.length > TAIL_LINES) this.#tail.shift();
      }
    }
  }
}
