import type {
  ApplyPlanInput,
  ApplyPlanResult,
  BootstrapGrant,
  BootstrapGrantResult,
  ControlPlaneInternalRpc,
  GatewayError,
  TunnelState,
} from '@airlock/schema/gateway';
import type { z } from 'zod';
import type { AuditOutbox } from './audit-outbox.ts';
import type { CredentialCache } from './credentials.ts';
import type { GatewayLog } from './log.ts';
import { RouteMatcher } from './route-matcher.ts';
import type { GatewayStore } from './store.ts';
import type { Terminals } from './terminals.ts';
import type { Tunnel } from './tunnel.ts';

// The session's plan and its connection state: applying revisions (forward
// only), the compiled matcher (rebuilt lazily after a wake-up), waiting for the
// tunnel, and ending the session.

type ParsedApply = z.output<typeof ApplyPlanInput>;

/** What the plan and connection state need of their gateway (narrow, as for the other parts). */
export interface SessionsHost {
  readonly store: GatewayStore;
  readonly log: GatewayLog;
  readonly audit: Pick<AuditOutbox, 'flush'>;
  readonly credentials: Pick<CredentialCache, 'clear'>;
  readonly lifecycle: { schedule(): Promise<void> };
  readonly terminals: Pick<Terminals, 'endAll' | 'info' | 'open'>;
  readonly tunnel: Pick<Tunnel, 'end' | 'socket'>;
  now(): number;
  control(): ControlPlaneInternalRpc;
}

export class Sessions {
  readonly #gw: SessionsHost;
  #matcher: RouteMatcher | null = null;
  #waiters: Array<() => void> = [];

  constructor(gw: SessionsHost) {
    this.#gw = gw;
  }

  applyPlan(input: ParsedApply): ApplyPlanResult {
    const { store } = this.#gw;
    const current = store.planRevision();
    if (store.get('ended_at') !== null)
      return { ok: false, code: 'SESSION_ENDED', message: 'the session has ended', revision: current };
    const known = store.get('session_id');
    const knownOrg = store.get('org_id');
    if ((known !== null && known !== input.sessionId) || (knownOrg !== null && knownOrg !== input.plan.orgId))
      return {
        ok: false,
        code: 'SESSION_MISMATCH',
        message: 'this gateway belongs to another session',
        revision: current,
      };
    if (current !== null && input.revision < current)
      return {
        ok: false,
        code: 'STALE_REVISION',
        message: `revision ${input.revision} is older than ${current}`,
        revision: current,
      };
    if (current === input.revision) return { ok: true, revision: current, changed: false };
    const now = this.#gw.now();
    store.savePlan(input.revision, input.plan, now);
    store.set('session_id', input.sessionId);
    store.set('org_id', input.plan.orgId);
    store.set('attribution', JSON.stringify(input.attribution));
    store.set('settings', JSON.stringify(input.settings));
    if (store.get('last_activity_at') === null) store.set('last_activity_at', now);
    this.#matcher = null;
    this.#gw.credentials.clear();
    this.#gw.log.info('plan applied', { revision: input.revision, routes: input.plan.egressRoutes.length });
    return { ok: true, revision: input.revision, changed: true };
  }

  /** Record the lifecycle's bootstrap `jti` for this gateway's owner (ADR 0100). */
  grantBootstrap(grant: BootstrapGrant): BootstrapGrantResult {
    const { store } = this.#gw;
    if (store.get('ended_at') !== null)
      return { ok: false, code: 'SESSION_ENDED', message: 'the session has ended' };
    const known = store.get('session_id');
    const knownOrg = store.get('org_id');
    if ((known !== null && known !== grant.sessionId) || (knownOrg !== null && knownOrg !== grant.orgId))
      return { ok: false, code: 'SESSION_MISMATCH', message: 'this gateway belongs to another session' };
    if (known === null) store.set('session_id', grant.sessionId);
    if (knownOrg === null) store.set('org_id', grant.orgId);
    store.grantBootstrap(grant.jti, grant.assignment, grant.expiresAt * 1000);
    return { ok: true };
  }

  matcher(): RouteMatcher | null {
    if (this.#matcher === null) {
      const stored = this.#gw.store.plan();
      if (stored === null) return null;
      this.#matcher = RouteMatcher.compile(stored.plan.egressRoutes, stored.plan.passthrough);
    }
    return this.#matcher;
  }

  state(): TunnelState {
    const { store } = this.#gw;
    return {
      sessionId: store.get('session_id'),
      state: store.get('ended_at') !== null ? 'ended' : store.tunnelState(),
      revision: store.planRevision(),
      connectedAt: store.getNumber('connected_at'),
      disconnectedAt: store.getNumber('disconnected_at'),
      graceDeadline: store.getNumber('grace_deadline'),
      lastActivityAt: store.getNumber('last_activity_at'),
      terminals: this.#gw.terminals.info(),
    };
  }

  connected(timeoutMs: number): Promise<void> {
    if (this.#gw.tunnel.socket() !== null || this.#gw.store.get('ended_at') !== null)
      return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  openAgent(
    size: { cols?: number; rows?: number },
    secretEnv: Readonly<Record<string, string>> = {},
  ): ReturnType<Terminals['open']> | GatewayError<'NO_PLAN'> {
    const stored = this.#gw.store.plan();
    if (stored === null) return { ok: false, code: 'NO_PLAN', message: 'no runtime plan has been applied' };
    const { plan } = stored;
    const process = plan.processes.find((p) => p.pty);
    return this.#gw.terminals.open({
      key: 'agent',
      command: process?.command ?? plan.agent.interactive,
      ...(process === undefined ? {} : { cwd: process.cwd }),
      env: { ...plan.env, ...(process?.env ?? {}), ...secretEnv },
      cols: size.cols ?? 120,
      rows: size.rows ?? 32,
    });
  }

  /**
   * A login shell next to the agent, in terminal `key`: the agent's directory and
   * environment (placeholders, never secrets), for a human to look around in.
   */
  openShell(
    key: string,
    size: { cols?: number; rows?: number },
    secretEnv: Readonly<Record<string, string>> = {},
  ): ReturnType<Terminals['open']> | GatewayError<'NO_PLAN' | 'INVALID_INPUT'> {
    if (key === 'agent')
      return { ok: false, code: 'INVALID_INPUT', message: "terminal 'agent' is the agent's" };
    const stored = this.#gw.store.plan();
    if (stored === null) return { ok: false, code: 'NO_PLAN', message: 'no runtime plan has been applied' };
    const { plan } = stored;
    const process = plan.processes.find((p) => p.pty);
    return this.#gw.terminals.open({
      key,
      command: ['bash', '-l'],
      ...(process === undefined ? {} : { cwd: process.cwd }),
      env: { ...plan.env, ...(process?.env ?? {}), ...secretEnv },
      cols: size.cols ?? 120,
      rows: size.rows ?? 32,
    });
  }

  async end(reason: string): Promise<void> {
    const { store } = this.#gw;
    if (store.get('ended_at') === null) {
      store.set('ended_at', this.#gw.now());
      store.set('tunnel_state', 'ended');
      store.set('grace_deadline', null);
      store.clearTunnelTokens();
      this.#gw.tunnel.end(reason);
      this.#gw.terminals.endAll();
      this.wake();
      this.#gw.log.info('session ended', { reason: reason.slice(0, 100) });
    }
    try {
      await this.#gw.audit.flush(this.#gw.control());
    } catch (error) {
      this.#gw.log.warn('audit flush at session end failed; the alarm retries', {
        error: String(error).slice(0, 200),
      });
    }
    await this.#gw.lifecycle.schedule();
  }
}
