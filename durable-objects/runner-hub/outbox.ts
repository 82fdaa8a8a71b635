import type { RunnerPresence, SandboxGone } from '@airlock/schema/runner';

// Reports from a RunnerHub to the control plane, kept in its SQLite until
// the CONTROL binding took them (ADR 0030): nothing is lost to a Postgres
// outage, and only the latest presence report is kept.

export type OutboxItem =
  | { readonly kind: 'presence'; readonly report: RunnerPresence }
  | { readonly kind: 'gone'; readonly report: SandboxGone };

type Row = Record<string, SqlStorageValue>;

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
}
