import type { GatewayAuditEvent } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';

// Denied requests, aggregated (ADR 0115): a sandbox looping on a denied host
// must not grow the outbox or `audit_events` by a row per attempt. Denials are
// one event per (action, decision, host) and window (limits.denied_audit_window_seconds):
// the window's first request, with `count` and `lastAt` growing as more come.
// A window past MAX_HOSTS distinct hosts folds the rest into one row with host
// `*`, so spraying random host names is bounded too. The window's latest state
// is what the outbox ships; the control plane keeps the largest count it saw.

/** Distinct hosts one window tracks for a session; more share the overflow row. */
export const MAX_HOSTS = 100;
export const OVERFLOW_HOST = '*';

export const WINDOWS_SCHEMA = `CREATE TABLE IF NOT EXISTS audit_windows (
  key TEXT PRIMARY KEY,
  opened_at INTEGER NOT NULL,
  event TEXT NOT NULL
)`;

/**
 * Denials a loop could repeat without bound: every denied request, and of signatures those
 * refused for the rate (every other refusal counts against that rate, ADR 0120, so is bounded).
 */
export function aggregated(event: GatewayAuditEvent): boolean {
  if (event.decision !== 'denied') return false;
  return event.action === 'egress.request' || event.detail.error === 'RATE_LIMITED';
}

const overflowKey = (e: GatewayAuditEvent) => `overflow:${JSON.stringify([e.action, e.decision])}`;
const hostKey = (e: GatewayAuditEvent) => JSON.stringify([e.action, e.decision, e.host]);

export class DeniedWindows {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** The window's event after counting `event` in (a fresh one, or the open window grown by one). */
  count(event: GatewayAuditEvent, now: number, windowMs: number): GatewayAuditEvent {
    this.#sql.exec('DELETE FROM audit_windows WHERE opened_at <= ?', now - windowMs);
    let key = hostKey(event);
    let open = this.#get(key);
    let overflow = false;
    if (open === null) {
      const tracked = this.#sql
        .exec<{ n: number }>("SELECT count(*) AS n FROM audit_windows WHERE key NOT LIKE 'overflow:%'")
        .one().n;
      if (tracked >= MAX_HOSTS) {
        overflow = true;
        key = overflowKey(event);
        open = this.#get(key);
      }
    }
    if (open !== null) {
      const grown = {
        ...open,
        count: (open.count ?? 1) + 1,
        lastAt: Math.max(open.lastAt ?? open.at, event.at),
      };
      this.#sql.exec('UPDATE audit_windows SET event = ? WHERE key = ?', JSON.stringify(grown), key);
      return grown;
    }
    const fresh: GatewayAuditEvent = {
      ...event,
      ...(overflow ? { host: OVERFLOW_HOST, detail: { ...event.detail, otherHosts: true } } : {}),
      id: newId('audit'),
      count: 1,
      lastAt: event.at,
    };
    this.#sql.exec(
      'INSERT INTO audit_windows (key, opened_at, event) VALUES (?, ?, ?)',
      key,
      now,
      JSON.stringify(fresh),
    );
    return fresh;
  }

  #get(key: string): GatewayAuditEvent | null {
    const row = this.#sql
      .exec<{ event: string }>('SELECT event FROM audit_windows WHERE key = ?', key)
      .toArray()[0];
    return row === undefined ? null : (JSON.parse(row.event) as GatewayAuditEvent);
  }
}
