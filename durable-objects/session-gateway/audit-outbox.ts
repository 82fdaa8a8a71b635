import type { ControlPlaneInternalRpc, GatewayAuditEvent } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';
import { aggregated, DeniedWindows } from './audit-windows.ts';
import type { GatewayStore, SessionInfo } from './store.ts';

// Audit events leave the hot path through an outbox in SQLite: recording one
// is a synchronous insert, and an alarm ships batches to Postgres through the
// control plane's internal binding. A batch is deleted only after the insert
// succeeded; ids are fixed at record time, so a retried batch inserts nothing twice.
// Denied requests are counted into windows (audit-windows.ts): the outbox holds
// at most one pending copy of each window, its latest.

/** Ship once this many events wait… */
export const FLUSH_BATCH = 50;
/** …or once the oldest has waited this long. */
export const FLUSH_DELAY_MS = 2_000;
/** At most this many events per insert. */
const MAX_PER_FLUSH = 500;

export type AuditInput = Omit<
  GatewayAuditEvent,
  'id' | 'orgId' | 'sessionId' | 'actorUserId' | 'triggerId' | 'at'
> & { readonly at?: number };

export class AuditOutbox {
  readonly #store: GatewayStore;
  readonly #now: () => number;
  readonly #denied: DeniedWindows;

  constructor(store: GatewayStore, now: () => number) {
    this.#store = store;
    this.#now = now;
    this.#denied = new DeniedWindows(store.sql);
  }

  record(session: SessionInfo, input: AuditInput): GatewayAuditEvent {
    const now = this.#now();
    let event: GatewayAuditEvent = {
      ...input,
      id: newId('audit'),
      at: input.at ?? now,
      orgId: session.orgId,
      sessionId: session.sessionId,
      actorUserId: session.attribution.startedBy,
      triggerId: session.attribution.triggerId,
    };
    if (aggregated(event)) {
      event = this.#denied.count(event, now, session.settings.deniedAuditWindowSeconds * 1000);
      // A fresh row (a new seq) replaces the pending copy, even one a flush in flight has read:
      // that flush deletes up to its own last seq and so keeps this one.
      this.#store.sql.exec('DELETE FROM audit_outbox WHERE id = ?', event.id);
    }
    // `at` here is when the row was queued (what the flush delay runs from), not the event's.
    this.#store.sql.exec(
      'INSERT INTO audit_outbox (id, at, event) VALUES (?, ?, ?)',
      event.id,
      now,
      JSON.stringify(event),
    );
    return event;
  }

  pending(): number {
    return this.#store.sql.exec<{ n: number }>('SELECT count(*) AS n FROM audit_outbox').one().n;
  }

  /** When the next flush is due, or null when nothing waits. */
  dueAt(): number | null {
    const row = this.#store.sql
      .exec<{ n: number; oldest: number | null }>('SELECT count(*) AS n, min(at) AS oldest FROM audit_outbox')
      .one();
    if (row.n === 0 || row.oldest === null) return null;
    if (row.n >= FLUSH_BATCH) return this.#now();
    return row.oldest + FLUSH_DELAY_MS;
  }

  /** Ship everything waiting, a batch at a time. Throws when the control plane fails (retry later). */
  async flush(control: ControlPlaneInternalRpc): Promise<number> {
    let shipped = 0;
    for (let round = 0; round < 20; round++) {
      const rows = this.#store.sql
        .exec<{ seq: number; event: string }>(
          'SELECT seq, event FROM audit_outbox ORDER BY seq LIMIT ?',
          MAX_PER_FLUSH,
        )
        .toArray();
      if (rows.length === 0) break;
      const events = rows.map((r) => JSON.parse(r.event) as GatewayAuditEvent);
      await control.recordAudit(events);
      const last = rows[rows.length - 1]?.seq ?? 0;
      this.#store.sql.exec('DELETE FROM audit_outbox WHERE seq <= ?', last);
      shipped += rows.length;
    }
    return shipped;
  }
}
