import type { ControlPlaneInternalRpc, SessionStopReason } from '@airlock/schema/gateway';
import type { AuditOutbox } from './audit-outbox.ts';
import type { GatewayLog } from './log.ts';
import type { GatewayStore } from './store.ts';
import type { Tunnel } from './tunnel.ts';

// Timers of a session, all on the Durable Object's one alarm: audit flushes,
// the tunnel's grace period after a disconnect, and the idle timeout (no
// terminal input and no egress). Deadlines live in SQLite; the alarm is set to
// the earliest and recomputed every time it fires.

/** Activity is written at most this often (a keystroke storm is one write per second). */
const TOUCH_EVERY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

/** What the timers need of their gateway (narrow: the gateway builds a Lifecycle, not the reverse). */
export interface LifecycleHost {
  readonly store: GatewayStore;
  readonly log: GatewayLog;
  readonly audit: Pick<AuditOutbox, 'dueAt' | 'flush'>;
  readonly storage: Pick<DurableObjectStorage, 'getAlarm' | 'setAlarm' | 'deleteAlarm'>;
  readonly tunnel: Pick<Tunnel, 'closeIfSilent'>;
  readonly sessions: { wake(): void };
  now(): number;
  control(): ControlPlaneInternalRpc;
}

export class Lifecycle {
  readonly #gw: LifecycleHost;
  #lastTouch = 0;

  constructor(gw: LifecycleHost) {
    this.#gw = gw;
  }

  touch(): void {
    const now = this.#gw.now();
    if (now - this.#lastTouch < TOUCH_EVERY_MS) return;
    this.#lastTouch = now;
    this.#gw.store.set('last_activity_at', now);
  }

  connected(): void {
    const { store } = this.#gw;
    store.set('tunnel_state', 'connected');
    store.set('connected_at', this.#gw.now());
    store.set('grace_deadline', null);
    this.#gw.sessions.wake();
    this.#gw.log.info('tunnel connected');
    void this.schedule();
  }

  disconnected(): void {
    const { store } = this.#gw;
    if (store.get('ended_at') !== null) return;
    const now = this.#gw.now();
    store.set('tunnel_state', 'disconnected');
    store.set('disconnected_at', now);
    store.set('grace_deadline', now + store.settings().tunnelGraceSeconds * 1000);
    this.#gw.log.info('tunnel disconnected');
    void this.schedule();
  }

  #silenceMs(): number {
    return (this.#gw.store.settings().tunnelSilenceSeconds ?? 60) * 1000;
  }

  #idleDeadline(): number | null {
    const { store } = this.#gw;
    if (
      store.get('ended_at') !== null ||
      store.get('stop_requested') !== null ||
      store.planRevision() === null
    )
      return null;
    const last = store.getNumber('last_activity_at');
    return last === null ? null : last + store.settings().idleTimeoutSeconds * 1000;
  }

  #auditDue(): number | null {
    const due = this.#gw.audit.dueAt();
    if (due === null) return null;
    return Math.max(due, this.#gw.store.getNumber('flush_retry_at') ?? 0);
  }

  #next(): number | null {
    const { store } = this.#gw;
    const candidates = [this.#auditDue(), this.#idleDeadline(), store.getNumber('stop_retry_at')];
    if (store.tunnelState() === 'disconnected') candidates.push(store.getNumber('grace_deadline'));
    if (store.tunnelState() === 'connected') candidates.push(this.#gw.now() + this.#silenceMs());
    const due = candidates.filter((t): t is number => t !== null);
    return due.length === 0 ? null : Math.min(...due);
  }

  async schedule(): Promise<void> {
    const next = this.#next();
    const storage = this.#gw.storage;
    if (next === null) return storage.deleteAlarm();
    const current = await storage.getAlarm();
    if (current === null || next < current) await storage.setAlarm(next);
  }

  async alarm(): Promise<void> {
    const { store } = this.#gw;
    const now = this.#gw.now();
    const auditDue = this.#auditDue();
    if (auditDue !== null && auditDue <= now) await this.#flush(now);
    if (store.tunnelState() === 'connected') this.#gw.tunnel.closeIfSilent(this.#silenceMs());
    if (store.tunnelState() === 'disconnected' && (store.getNumber('grace_deadline') ?? Infinity) <= now) {
      store.set('tunnel_state', 'lost');
      store.set('grace_deadline', null);
      this.#gw.log.warn('tunnel lost: the grace period ended without a reconnect');
      await this.#requestStop('tunnel_lost', now);
    }
    const idle = this.#idleDeadline();
    if (idle !== null && idle <= now) await this.#requestStop('idle', now);
    const retry = store.getNumber('stop_retry_at');
    if (retry !== null && retry <= now) {
      const reason = store.get('stop_requested');
      store.set('stop_requested', null);
      if (reason === 'idle' || reason === 'tunnel_lost' || reason === 'leak_blocked')
        await this.#requestStop(reason, now);
    }
    store.expireRedeemed(now);
    // The alarm that fired is spent: recompute from scratch.
    await this.#gw.storage.deleteAlarm();
    await this.schedule();
  }

  async #flush(now: number): Promise<void> {
    const { store } = this.#gw;
    try {
      await this.#gw.audit.flush(this.#gw.control());
      store.set('flush_failures', null);
      store.set('flush_retry_at', null);
    } catch (error) {
      const failures = (store.getNumber('flush_failures') ?? 0) + 1;
      store.set('flush_failures', failures);
      store.set('flush_retry_at', now + Math.min(MAX_RETRY_MS, 1000 * 2 ** failures));
      this.#gw.log.warn('audit flush failed; will retry', { failures, error: String(error).slice(0, 200) });
    }
  }

  /** The leak tripwire blocked a request and the profile stops sessions when it does. */
  stopForLeak(): void {
    void this.#requestStop('leak_blocked', this.#gw.now()).then(() => this.schedule());
  }

  /** Ask the control plane to stop the session (once; retried if the call fails). */
  async #requestStop(reason: SessionStopReason, now: number): Promise<void> {
    const { store } = this.#gw;
    const sessionId = store.get('session_id');
    if (sessionId === null || store.get('stop_requested') !== null || store.get('ended_at') !== null) return;
    store.set('stop_requested', reason);
    try {
      await this.#gw.control().requestSessionStop({ sessionId, reason });
      store.set('stop_retry_at', null);
      this.#gw.log.info('asked the control plane to stop the session', { reason });
    } catch (error) {
      store.set('stop_retry_at', now + 30_000);
      this.#gw.log.warn('stop request failed; will retry', { reason, error: String(error).slice(0, 200) });
    }
  }
}
