import { DurableObject } from 'cloudflare:workers';
import {
  ApplyPlanInput,
  type ApplyPlanResult,
  BootstrapGrant,
  type BootstrapGrantResult,
  type BrokerRpc,
  type ControlPlaneInternalRpc,
  type ExecInput,
  ExecInput as ExecInputSchema,
  type GatewayError,
  IngressHeader,
  OpenTerminalInput,
  SecretEnv,
  type SigningKeyInfo,
  TerminalKey,
  type TunnelState,
} from '@airlock/schema/gateway';
import type { ViewerMode } from '@airlock/schema/pty';
import { AuditOutbox } from './audit-outbox.ts';
import { CredentialCache } from './credentials.ts';
import { type ExecResult, Execs } from './execs.ts';
import { Lifecycle } from './lifecycle.ts';
import { type GatewayLog, gatewayLog } from './log.ts';
import { Sessions } from './sessions.ts';
import { GatewayStore } from './store.ts';
import { Terminals } from './terminals.ts';
import { sha256Hex } from './token-hash.ts';
import { Tunnel, type TunnelAttachment, type TunnelAuth } from './tunnel.ts';
import { wireTunnel } from './tunnel-wiring.ts';
import type { ViewerAttachment } from './viewers.ts';

// One per session: the only thing a sandbox can talk to (DESIGN.md §1, §4).
// It holds the session's runtime plan (SQLite, and a compiled matcher in
// memory), mediates every request the sandbox makes, fans terminals out to
// viewers, and batches audit events to Postgres. Everything here is rebuilt
// from storage after eviction or hibernation; sockets are hibernatable.

const json = (status: number, body: Record<string, unknown>) =>
  Response.json(body, { status, headers: { 'cache-control': 'no-store' } });

export class SessionGateway extends DurableObject<Cloudflare.Env> {
  readonly store: GatewayStore;
  readonly log: GatewayLog;
  readonly audit: AuditOutbox;
  readonly credentials: CredentialCache;
  readonly terminals: Terminals;
  readonly execs: Execs;
  readonly tunnel: Tunnel;
  readonly sessions: Sessions;
  readonly lifecycle: Lifecycle;
  readonly now = (): number => Date.now();

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.store = new GatewayStore(ctx.storage.sql);
    this.log = gatewayLog(() => ({ sessionId: this.store.get('session_id') }));
    this.audit = new AuditOutbox(this.store, this.now);
    this.credentials = new CredentialCache(() => this.broker(), this.now);
    this.sessions = new Sessions(this);
    this.lifecycle = new Lifecycle(this);
    const streamIds = () => this.store.nextStreamId();
    this.terminals = new Terminals(
      {
        log: this.log,
        ctx,
        now: this.now,
        tunnel: () => this.tunnel,
        scrollbackBytes: () => this.store.settings().scrollbackBytes,
        nextStreamId: streamIds,
        touch: () => this.lifecycle.touch(),
      },
      ctx.storage.sql,
    );
    this.execs = new Execs({ tunnel: () => this.tunnel, nextStreamId: streamIds }, ctx.storage.sql);
    this.tunnel = new Tunnel(ctx, wireTunnel(this));
  }

  get storage(): DurableObjectStorage {
    return this.ctx.storage;
  }

  broker(): BrokerRpc {
    return this.env.BROKER;
  }

  control(): ControlPlaneInternalRpc {
    return this.env.CONTROL;
  }

  // ── edge ingress ────────────────────────────────────────────────────────

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket')
      return json(426, { code: 'upgrade_required', detail: 'expected a WebSocket upgrade' });
    const kind = request.headers.get(IngressHeader.kind);
    if (kind === 'tunnel') return this.#tunnelUpgrade(request.headers);
    if (kind === 'pty') return this.#ptyUpgrade(request.headers);
    return json(404, { code: 'not_found', detail: 'unknown ingress' });
  }

  /**
   * Every rejection happens before any state changes (a bad token leaves no trace), and every bad
   * token is 401 (ADR 0100). A bootstrap token opens the tunnel only if the lifecycle handed its
   * `jti` to this gateway (`expectBootstrap`) and no connection has been confirmed since.
   */
  async #tunnelUpgrade(headers: Headers): Promise<Response> {
    const sessionId = headers.get(IngressHeader.session) ?? '';
    const known = this.store.get('session_id');
    if (known !== null && known !== sessionId)
      return json(401, { code: 'unauthorized', detail: 'token for another session' });
    let auth: TunnelAuth;
    if (headers.get(IngressHeader.tunnelAuth) === 'bootstrap') {
      const jti = headers.get(IngressHeader.jti) ?? '';
      const expires = Number(headers.get(IngressHeader.expires) ?? '0');
      if (!this.store.bootstrapAdmits(jti, this.now()))
        return json(401, {
          code: 'unauthorized',
          detail: 'this bootstrap token was not issued for this sandbox, or was already used',
        });
      // A grant set the owner and org; a token naming another org is not this grant's.
      if (known === null || headers.get(IngressHeader.org) !== this.store.get('org_id'))
        return json(401, { code: 'unauthorized', detail: 'token for another org' });
      auth = { type: 'bootstrap', jti, expiresAt: expires * 1000 };
    } else {
      const token = headers.get(IngressHeader.resumeToken) ?? '';
      const hash = await sha256Hex(token);
      if (token === '' || !this.store.hasTunnelToken(hash))
        return json(401, { code: 'unauthorized', detail: 'resume token not valid (spent or unknown)' });
      auth = { type: 'resume', hash };
    }
    return this.tunnel.accept(sessionId, auth);
  }

  #ptyUpgrade(headers: Headers): Response {
    const sessionId = headers.get(IngressHeader.session) ?? '';
    const known = this.store.get('session_id');
    if (known === null || known !== sessionId)
      return json(404, { code: 'not_found', detail: 'no such session on this gateway' });
    const org = headers.get(IngressHeader.org);
    if (org !== this.store.get('org_id'))
      return json(401, { code: 'unauthorized', detail: 'token for another org' });
    if (this.store.get('ended_at') !== null)
      return json(410, { code: 'gone', detail: 'the session has ended' });
    const jti = headers.get(IngressHeader.jti);
    if (jti !== null) {
      if (this.store.isRedeemed(jti))
        return json(401, { code: 'unauthorized', detail: 'this pty token was already used' });
      this.store.redeem(jti, 'pty', Number(headers.get(IngressHeader.expires) ?? '0') * 1000);
    }
    const mode: ViewerMode = headers.get(IngressHeader.mode) === 'rw' ? 'rw' : 'ro';
    const terminal = headers.get(IngressHeader.terminal) ?? 'agent';
    return this.terminals.attach(terminal, mode, headers.get(IngressHeader.user));
  }

  // ── hibernatable WebSockets ─────────────────────────────────────────────

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as TunnelAttachment | ViewerAttachment | null;
    if (att?.kind === 'tunnel') await this.tunnel.message(ws, message);
    else if (att?.kind === 'viewer') this.terminals.message(ws, att, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      // 1005 ("no status") may not be sent back; answer with a normal closure.
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // already closed
    }
    this.#socketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#socketGone(ws);
  }

  #socketGone(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as TunnelAttachment | ViewerAttachment | null;
    if (att?.kind === 'tunnel') this.tunnel.closed(ws);
    else if (att?.kind === 'viewer') this.terminals.viewers.closed(ws);
  }

  override async alarm(): Promise<void> {
    await this.lifecycle.alarm();
  }

  // ── RPC for the session lifecycle ───────────────────────────────────────

  /** Hand the gateway its runtime plan (session start, and each later revision). */
  async applyPlan(input: ApplyPlanInput): Promise<ApplyPlanResult | GatewayError<'INVALID_INPUT'>> {
    const parsed = ApplyPlanInput.safeParse(input);
    if (!parsed.success)
      return {
        ok: false,
        code: 'INVALID_INPUT',
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      };
    const result = this.sessions.applyPlan(parsed.data);
    await this.lifecycle.schedule();
    return result;
  }

  /**
   * The bootstrap token the lifecycle is about to hand the sandbox (ADR 0100): the only `jti` the
   * tunnel admits. Claims an unowned gateway for the grant's owner and org, as `applyPlan` does.
   */
  async expectBootstrap(input: BootstrapGrant): Promise<BootstrapGrantResult> {
    const parsed = BootstrapGrant.safeParse(input);
    if (!parsed.success)
      return {
        ok: false,
        code: 'INVALID_INPUT',
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      };
    return this.sessions.grantBootstrap(parsed.data);
  }

  async tunnelState(): Promise<TunnelState> {
    return this.sessions.state();
  }

  /** Resolves once the sandbox is connected (or with the current state after `timeoutMs`). */
  async awaitTunnel(timeoutMs: number): Promise<TunnelState> {
    await this.sessions.connected(Math.min(Math.max(0, timeoutMs), 10 * 60_000));
    return this.sessions.state();
  }

  async openTerminal(input: OpenTerminalInput) {
    const parsed = OpenTerminalInput.safeParse(input);
    if (!parsed.success)
      return { ok: false as const, code: 'INVALID_INPUT' as const, message: parsed.error.message };
    return this.terminals.open(parsed.data);
  }

  /**
   * The agent's interactive process from the plan, in the `agent` terminal. `secretEnv`: the
   * plan's secrets-in-the-sandbox, opened by the caller for this start only (ADR 0152); handed
   * to the process over the tunnel, never stored here.
   */
  async openAgentTerminal(input: { cols?: number; rows?: number; secretEnv?: Record<string, string> } = {}) {
    const env = SecretEnv.safeParse(input.secretEnv ?? {});
    if (!env.success)
      return { ok: false as const, code: 'INVALID_INPUT' as const, message: env.error.message };
    return this.sessions.openAgent(input, env.data);
  }

  /** A login shell in terminal `key` (not `agent`), with the agent's directory and environment. */
  async openShellTerminal(input: {
    key: string;
    cols?: number;
    rows?: number;
    secretEnv?: Record<string, string>;
  }) {
    const key = TerminalKey.safeParse(input.key);
    if (!key.success)
      return { ok: false as const, code: 'INVALID_INPUT' as const, message: key.error.message };
    const env = SecretEnv.safeParse(input.secretEnv ?? {});
    if (!env.success)
      return { ok: false as const, code: 'INVALID_INPUT' as const, message: env.error.message };
    return this.sessions.openShell(key.data, input, env.data);
  }

  /** Run a command; the stream carries NDJSON `ExecEvent`s until `exit` or `error`. */
  async exec(input: ExecInput): Promise<ReadableStream<Uint8Array>> {
    const parsed = ExecInputSchema.safeParse(input);
    if (!parsed.success) {
      const body = `${JSON.stringify({ type: 'error', code: 'INVALID_INPUT', message: parsed.error.message })}\n`;
      return new Response(body).body as ReadableStream<Uint8Array>;
    }
    return this.execs.start(parsed.data);
  }

  async execResult(streamId: number): Promise<ExecResult | null> {
    return this.execs.result(streamId);
  }

  /** The terminal's scrollback as it would be replayed (for tests and for the lifecycle's logs). */
  async scrollback(key: string): Promise<{ text: string; trimmed: number; total: number }> {
    const replay = this.terminals.scrollback.replay(key, this.store.settings().scrollbackBytes);
    const bytes = new Uint8Array(replay.bytes);
    let at = 0;
    for (const chunk of replay.chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return { text: new TextDecoder().decode(bytes), trimmed: replay.trimmed, total: replay.total };
  }

  /** End the session: the sandbox gets CLOSE SESSION_ENDED and is not let back in. */
  async endSession(reason = 'the session has ended'): Promise<TunnelState> {
    await this.sessions.end(reason);
    return this.sessions.state();
  }

  async signingPublicKey(): Promise<SigningKeyInfo | null> {
    const org = this.store.get('org_id');
    return org === null ? null : this.broker().signingKey(org);
  }

  /** Ship buffered audit events now (normally the alarm does). */
  async flushAudit(): Promise<{ shipped: number; pending: number }> {
    const shipped = await this.audit.flush(this.control());
    return { shipped, pending: this.audit.pending() };
  }
}
