import type { RunnerEventSink, RunnerPresence, SandboxGone } from '@airlock/schema/runner';

// Reports from a RunnerHub to the control plane, kept in its SQLite until
// the CONTROL binding took them (ADR 0030): nothing is lost to a Postgres
// outage, and only the latest presence report is kept.

export type OutboxItem =
  | { readonly kind: 'presence'; readonly report: RunnerPresence }
  | { readonly kind: 'gone'; readonly report: SandboxGone };

type Row = Record<string, SqlStorageValue>;

const MAX_BACKOFF_MS = 5 * 60_000;
/** About a day of retries; past that the report is a bug, not an outage. */
const MAX_ATTEMPTS = 300;

export class HubOutbox {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL
    )`);
  }

  enqueue(item: OutboxItem, now: number): void {
    // Only the latest presence matters.
    if (item.kind === 'presence') this.#sql.exec(`DELETE FROM outbox WHERE kind = 'presence'`);
    this.#sql.exec(
      'INSERT INTO outbox (kind, payload, next_at) VALUES (?, ?, ?)',
      item.kind,
      JSON.stringify(item.report),
      now,
    );
  }

  due(now: number): Array<{ id: number; item: OutboxItem; attempts: number }> {
    return this.#sql
      .exec<Row>(
        'SELECT id, kind, payload, attempts FROM outbox WHERE next_at <= ? ORDER BY id LIMIT 100',
        now,
      )
      .toArray()
      .map((r) => ({
        id: Number(r.id),
        attempts: Number(r.attempts),
        item: { kind: String(r.kind), report: JSON.parse(String(r.payload)) } as OutboxItem,
      }));
  }

  delivered(id: number): void {
    this.#sql.exec('DELETE FROM outbox WHERE id = ?', id);
  }

  retryLater(id: number, nextAt: number): void {
    this.#sql.exec('UPDATE outbox SET attempts = attempts + 1, next_at = ? WHERE id = ?', nextAt, id);
  }

  next(): number | null {
    const t = this.#sql.exec<Row>('SELECT min(next_at) AS t FROM outbox').one().t;
    return t === null || t === undefined ? null : Number(t);
  }

  /** Hand every due report to the control plane; a failed one is retried with backoff. */
  async flush(sink: RunnerEventSink, now: number): Promise<void> {
    for (const { id, item, attempts } of this.due(now)) {
      try {
        if (item.kind === 'presence') await sink.runnerPresence(item.report);
        else await sink.sandboxGone(item.report);
        this.delivered(id);
      } catch (error) {
        if (attempts >= MAX_ATTEMPTS) {
          console.error(
            JSON.stringify({
              level: 'error',
              msg: 'runner hub report dropped',
              kind: item.kind,
              error: String(error),
            }),
          );
          this.delivered(id);
        } else this.retryLater(id, now + Math.min(1000 * 2 ** attempts, MAX_BACKOFF_MS));
      }
    }
  }
}
