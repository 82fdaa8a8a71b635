import { DurableObject } from 'cloudflare:workers';
import {
  Assignment,
  type AssignmentError,
  type AssignmentOutcome,
  type HubMessage,
  OrgId,
  parseMessage,
  RunnerId,
  RunnerMessage,
  type SandboxGone,
} from '@airlock/schema/runner';
import { admit, applyOutcome, defaultTimeoutMs, fingerprint } from './assignment-rules.ts';
import { HubOutbox, type OutboxItem } from './outbox.ts';
import { reconcile } from './reconcile.ts';
import { HubStore } from './store.ts';
import {
  type AssignmentView,
  type OutputChunk,
  type RunnerHubStatus,
  type SandboxView,
  type SubmitResult,
  view,
} from './views.ts';

export type { AssignmentView, OutputChunk, RunnerHubStatus, SandboxView, SubmitResult } from './views.ts';

// One per runner (named by runner id). Holds the runner's hibernatable
// WebSocket and, in SQLite, every assignment until the runner settles it, the
// sandboxes it believes the runner has, and an outbox of reports for the
// control plane. The edge has verified the runner's token before the upgrade
// reaches `fetch`. Protocol: schema/runner/PROTOCOL.md.

interface SocketAttachment {
  readonly runnerId: string;
  readonly connectedAt: number;
  readonly helloed: boolean;
}

/** Report presence to the control plane at most this often while nothing changes. */
const PRESENCE_EVERY_MS = 60_000;

export class RunnerHub extends DurableObject {
  readonly #store: HubStore;
  readonly #outbox: HubOutbox;
  readonly #waiters = new Map<string, Set<() => void>>();
  #presenceReportedAt = 0;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#store = new HubStore(ctx.storage.sql);
    this.#outbox = new HubOutbox(ctx.storage.sql);
    // Keep-alive pings are answered without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  // ── the runner's WebSocket ────────────────────────────────────────────

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426, headers: { upgrade: 'websocket' } });
    }
    const runnerId = RunnerId.safeParse(request.headers.get('x-airlock-runner-id'));
    const orgId = OrgId.safeParse(request.headers.get('x-airlock-org-id'));
    const heartbeatMs = Number(request.headers.get('x-airlock-heartbeat-ms'));
    const graceMs = Number(request.headers.get('x-airlock-grace-ms'));
    if (!runnerId.success || !orgId.success || !(heartbeatMs > 0) || !(graceMs > heartbeatMs)) {
      return new Response('the edge must name the runner, its org, heartbeat and grace', { status: 400 });
    }
    // A newer connection replaces an older one (the runner restarted before the old socket noticed).
    for (const old of this.ctx.getWebSockets()) old.close(4000, 'replaced by a newer connection');
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const now = Date.now();
    server.serializeAttachment({
      runnerId: runnerId.data,
      connectedAt: now,
      helloed: false,
    } satisfies SocketAttachment);
    this.#store.connected({ runnerId: runnerId.data, orgId: orgId.data, heartbeatMs, graceMs, now });
    await this.#schedule();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const now = Date.now();
    const parsed = parseMessage(RunnerMessage, raw);
    if (!parsed.ok) {
      this.#send(ws, { type: 'error', code: 'protocol', message: parsed.error });
      ws.close(1008, 'protocol error');
      return;
    }
    this.#store.seen(now);
    const message = parsed.message;
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    if (!attachment.helloed && message.type !== 'hello') {
      this.#send(ws, { type: 'error', code: 'protocol', message: 'the first message must be hello' });
      ws.close(1008, 'protocol error');
      return;
    }
    switch (message.type) {
      case 'hello': {
        ws.serializeAttachment({ ...attachment, helloed: true } satisfies SocketAttachment);
        this.#store.helloed(message);
        const presence = this.#store.presence();
        this.#send(ws, {
          type: 'welcome',
          runnerId: attachment.runnerId,
          heartbeatMs: presence.heartbeatMs,
          serverTime: now,
        });
        this.#reconcile('hello', message, ws, now);
        this.#reportPresence(now, true);
        break;
      }
      case 'heartbeat':
        this.#reconcile('heartbeat', message, ws, now);
        this.#reportPresence(now, false);
        break;
      case 'accepted':
        this.#store.markAssignment(message.id, 'accepted');
        break;
      case 'result':
        this.#settle(message.id, message.outcome, now);
        this.#send(ws, { type: 'ack', id: message.id });
        break;
      case 'output':
        this.#store.appendOutput(message.id, message.seq, message.stream, message.data);
        break;
    }
    await this.#schedule();
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // 1005 ("no status") may not be sent back; answer with a normal closure.
    ws.close(code === 1005 ? 1000 : code, reason);
    await this.#schedule();
  }

  override async webSocketError(): Promise<void> {
    await this.#schedule();
  }

  // ── RPC for the control plane (the Docker provider) ───────────────────

  /** Store an assignment and send it if the runner is connected. Same id again: the stored one. */
  async submit(input: unknown, options: { timeoutMs?: number } = {}): Promise<SubmitResult> {
    const parsed = Assignment.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, code: 'invalid', message: `${issue?.path.join('.')}: ${issue?.message}` };
    }
    const assignment = parsed.data;
    const print = await fingerprint(assignment);
    const now = Date.now();
    const existing = this.#store.assignment(assignment.id);
    if (existing !== null) {
      if (existing.fingerprint !== print)
        return {
          ok: false,
          code: 'conflict',
          message: `assignment ${assignment.id} exists with other content`,
        };
      return { ok: true, assignment: view(existing) };
    }
    const refused = admit(
      assignment,
      this.#store.presence(),
      this.#store.sandbox(assignment.sandboxId),
      this.#store.liveCount(),
    );
    if (refused !== null) return refused;
    const timeoutMs = Math.min(
      Math.max(options.timeoutMs ?? defaultTimeoutMs(assignment), 1000),
      4 * 3600_000,
    );
    this.#store.insertAssignment(assignment, print, now, now + timeoutMs);
    if (assignment.kind === 'create') this.#store.setSandbox(assignment.sandboxId, 'creating', now);
    this.#deliver(assignment.id);
    await this.#schedule();
    const stored = this.#store.assignment(assignment.id);
    if (stored === null) throw new Error('assignment vanished after insert');
    return { ok: true, assignment: view(stored) };
  }

  /** The assignment once settled, or as it stands after `timeoutMs`. */
  async wait(id: string, timeoutMs: number): Promise<AssignmentView | null> {
    const row = this.#store.assignment(id);
    if (row === null || row.outcome !== null) return row === null ? null : view(row);
    await new Promise<void>((resolve) => {
      const waiters = this.#waiters.get(id) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(Math.max(timeoutMs, 0), 5 * 60_000));
      waiters.add(done);
      this.#waiters.set(id, waiters);
    });
    const after = this.#store.assignment(id);
    return after === null ? null : view(after);
  }

  async assignment(id: string): Promise<AssignmentView | null> {
    const row = this.#store.assignment(id);
    return row === null ? null : view(row);
  }

  async output(id: string, afterSeq = -1): Promise<OutputChunk[]> {
    return this.#store.output(id, afterSeq);
  }

  async sandbox(sandboxId: string): Promise<SandboxView | null> {
    return this.#store.sandbox(sandboxId);
  }

  async status(): Promise<RunnerHubStatus> {
    const p = this.#store.presence();
    return {
      runnerId: p.runnerId,
      orgId: p.orgId,
      status: p.status,
      connected: this.ctx.getWebSockets().length,
      version: p.version,
      capacity: p.capacity,
      host: p.host,
      lastSeenAt: p.lastSeenAt,
      messages: p.messages,
      liveSandboxes: this.#store.liveCount(),
      sandboxes: this.#store.sandboxes(),
      unsettled: this.#store.unsettled().length,
    };
  }

  // ── timers: grace period, deadlines, outbox ───────────────────────────

  override async alarm(): Promise<void> {
    const now = Date.now();
    const presence = this.#store.presence();
    if (
      presence.status === 'online' &&
      presence.lastSeenAt !== null &&
      now >= presence.lastSeenAt + presence.graceMs
    )
      this.#runnerLost(now);
    for (const id of this.#store.overdue(now))
      this.#fail(id, { code: 'timeout', message: 'not settled before its deadline' }, now);
    await this.#outbox.flush(this.env.CONTROL, now);
    await this.#schedule();
  }

  async #schedule(): Promise<void> {
    const p = this.#store.presence();
    const times = [
      p.status === 'online' && p.lastSeenAt !== null ? p.lastSeenAt + p.graceMs : null,
      this.#store.nextDeadline(),
      this.#outbox.next(),
    ].filter((t): t is number => t !== null);
    if (times.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.min(...times));
  }

  #runnerLost(now: number): void {
    for (const ws of this.ctx.getWebSockets()) ws.close(4001, 'no heartbeat within the grace period');
    this.#store.wentOffline();
    for (const a of this.#store.unsettled())
      this.#fail(a.id, { code: 'runner_lost', message: 'the runner went away' }, now);
    for (const sandbox of this.#store.sandboxes()) {
      if (!['creating', 'created', 'running', 'exited'].includes(sandbox.state)) continue;
      this.#store.setSandbox(sandbox.sandboxId, 'lost', now);
      this.#gone(sandbox.sandboxId, 'runner_lost', null, now);
    }
    this.#reportPresence(now, true);
  }

  // ── internals ─────────────────────────────────────────────────────────

  #reconcile(
    mode: 'hello' | 'heartbeat',
    report: Parameters<typeof reconcile>[3],
    ws: WebSocket,
    now: number,
  ): void {
    const unsettled = this.#store.unsettled();
    const plan = reconcile(mode, this.#store.sandboxes(), unsettled, report);
    const busy = new Set(unsettled.map((a) => a.sandboxId));
    for (const container of plan.present) {
      if (busy.has(container.sandboxId)) continue;
      const known = this.#store.sandbox(container.sandboxId);
      const stopped = ['exited', 'dead', 'removing'].includes(container.state);
      const state = stopped ? 'exited' : container.state === 'created' ? 'created' : 'running';
      if (known?.state === 'running' && stopped)
        this.#gone(container.sandboxId, 'exited', container.exitCode, now);
      this.#store.setSandbox(container.sandboxId, state, now, {
        containerId: container.containerId,
        exitCode: container.exitCode,
      });
    }
    for (const sandboxId of plan.missing) {
      this.#store.setSandbox(sandboxId, 'lost', now);
      this.#gone(sandboxId, 'missing', null, now);
    }
    for (const id of plan.interrupted)
      this.#fail(id, { code: 'interrupted', message: 'the runner restarted while this exec ran' }, now);
    for (const orphan of plan.orphans) {
      const id = `orphan:${orphan.sandboxId}:${orphan.containerId.slice(0, 12)}`;
      if (this.#store.assignment(id) !== null) continue;
      const destroy = Assignment.parse({
        id,
        kind: 'destroy',
        sandboxId: orphan.sandboxId,
        containerId: orphan.containerId,
      });
      this.#store.insertAssignment(destroy, id, now, now + defaultTimeoutMs(destroy));
      this.#deliver(id, ws);
    }
    for (const id of plan.deliver) this.#deliver(id, ws);
  }

  #deliver(id: string, socket?: WebSocket): void {
    const ws = socket ?? this.#runnerSocket();
    const row = this.#store.assignment(id);
    if (ws === undefined || row === null) return;
    this.#send(ws, { type: 'assign', assignment: row.assignment });
    this.#store.markAssignment(id, 'delivered');
  }

  #settle(id: string, outcome: AssignmentOutcome, now: number): void {
    const row = this.#store.assignment(id);
    if (row === null || !this.#store.settle(id, outcome, now)) return;
    const change = applyOutcome(row.assignment, outcome);
    if (change !== null && (change.state !== 'destroyed' || this.#store.sandbox(row.sandboxId) !== null))
      this.#store.setSandbox(row.sandboxId, change.state, now, change.details);
    for (const wake of this.#waiters.get(id) ?? []) wake();
    this.#waiters.delete(id);
  }

  #fail(id: string, error: AssignmentError, now: number): void {
    this.#settle(id, { ok: false, error }, now);
  }

  #gone(sandboxId: string, reason: SandboxGone['reason'], exitCode: number | null, now: number): void {
    const p = this.#store.presence();
    if (p.runnerId === null || p.orgId === null) return;
    const report = { runnerId: p.runnerId, orgId: p.orgId, sandboxId, reason, exitCode, at: now };
    this.#outbox.enqueue({ kind: 'gone', report } satisfies OutboxItem, now);
  }

  #reportPresence(now: number, force: boolean): void {
    if (!force && now - this.#presenceReportedAt < PRESENCE_EVERY_MS) return;
    const p = this.#store.presence();
    if (p.runnerId === null || p.orgId === null || p.status === 'never') return;
    this.#presenceReportedAt = now;
    this.#outbox.enqueue(
      {
        kind: 'presence',
        report: {
          runnerId: p.runnerId,
          orgId: p.orgId,
          status: p.status,
          version: p.version,
          capacity: p.capacity,
          host: p.host,
          activeSandboxes: this.#store.liveCount(),
          lastSeenAt: p.lastSeenAt,
        },
      },
      now,
    );
  }

  #runnerSocket(): WebSocket | undefined {
    return this.ctx
      .getWebSockets()
      .find((ws) => (ws.deserializeAttachment() as SocketAttachment | null)?.helloed === true);
  }

  #send(ws: WebSocket, message: HubMessage): void {
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // The socket is closing; unsettled work is redelivered after the next hello.
    }
  }
}
