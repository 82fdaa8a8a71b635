import { DurableObject } from 'cloudflare:workers';

// One per org: the concurrent-session quota. A lease per running session,
// taken and released atomically (a Durable Object runs one call at a time and
// its SQLite writes are synchronous). Leases also carry an expiry so a session
// whose lifecycle died without releasing cannot hold the quota forever.

export type AcquireResult =
  | { readonly ok: true; readonly active: number; readonly alreadyHeld: boolean }
  | { readonly ok: false; readonly active: number; readonly limit: number };

export interface LeaseInfo {
  readonly sessionId: string;
  readonly acquiredAt: number;
  readonly expiresAt: number;
}

export class OrgLimiter extends DurableObject {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS leases (
      session_id TEXT PRIMARY KEY,
      acquired_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
  }

  #count(): number {
    return this.#sql.exec<{ n: number }>('SELECT count(*) AS n FROM leases').one().n;
  }

  /** Take a slot for `sessionId` unless `limit` are taken. Taking it again only extends it. */
  async acquire(input: {
    sessionId: string;
    limit: number;
    ttlMs: number;
    now?: number;
  }): Promise<AcquireResult> {
    const now = input.now ?? Date.now();
    this.#expire(now);
    const held =
      this.#sql.exec('SELECT 1 FROM leases WHERE session_id = ?', input.sessionId).toArray().length > 0;
    if (held) {
      this.#sql.exec(
        'UPDATE leases SET expires_at = ? WHERE session_id = ?',
        now + input.ttlMs,
        input.sessionId,
      );
      return { ok: true, active: this.#count(), alreadyHeld: true };
    }
    const active = this.#count();
    if (active >= input.limit) return { ok: false, active, limit: input.limit };
    this.#sql.exec(
      'INSERT INTO leases (session_id, acquired_at, expires_at) VALUES (?, ?, ?)',
      input.sessionId,
      now,
      now + input.ttlMs,
    );
    await this.#scheduleExpiry();
    return { ok: true, active: active + 1, alreadyHeld: false };
  }

  /** Give the slot back; releasing twice (stop after failure, say) is harmless. */
  async release(input: { sessionId: string }): Promise<{ released: boolean; active: number }> {
    const released =
      this.#sql.exec('DELETE FROM leases WHERE session_id = ?', input.sessionId).rowsWritten > 0;
    await this.#scheduleExpiry();
    return { released, active: this.#count() };
  }

  async leases(): Promise<LeaseInfo[]> {
    return this.#sql
      .exec<{ session_id: string; acquired_at: number; expires_at: number }>(
        'SELECT session_id, acquired_at, expires_at FROM leases ORDER BY acquired_at, session_id',
      )
      .toArray()
      .map((row) => ({ sessionId: row.session_id, acquiredAt: row.acquired_at, expiresAt: row.expires_at }));
  }

  override async alarm(): Promise<void> {
    this.#expire(Date.now());
    await this.#scheduleExpiry();
  }

  #expire(now: number): void {
    this.#sql.exec('DELETE FROM leases WHERE expires_at <= ?', now);
  }

  async #scheduleExpiry(): Promise<void> {
    const next = this.#sql.exec<{ t: number | null }>('SELECT min(expires_at) AS t FROM leases').one().t;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}
