import { readdirSync } from 'node:fs';
import {
  type Assignment,
  type AssignmentOutcome,
  HubMessage,
  MAX_RUNNER_MESSAGE_BYTES,
  parseMessage,
  RUNNER_PROTOCOL_VERSION,
  type RunnerMessage,
} from '@airlock/schema/runner';
import type Docker from 'dockerode';
import WebSocket from 'ws';
import { backoffDelay } from './backoff.ts';
import { execInSandbox } from './docker/exec.ts';
import { LABEL, ownedContainers } from './docker/labels.ts';
import {
  AssignmentFailure,
  createSandbox,
  destroySandbox,
  releaseStorage,
  type SandboxContext,
  snapshotSandbox,
  startSandbox,
  stopSandbox,
} from './docker/sandboxes.ts';
import { SandboxDisks, sandboxesWithVolumes } from './docker/storage.ts';
import { hostInfo } from './host-info.ts';
import { errorMessage, type Logger } from './log.ts';
import { RelayManager } from './relay.ts';
import type { RunnerSettings } from './settings.ts';

// The runner: one WebSocket to its RunnerHub (through the Worker's
// /runner/connect), reconnected with exponential backoff and jitter; each
// assignment acknowledged, executed once per id (operations on one sandbox in
// order) and its result kept until the hub acknowledges it. PROTOCOL.md in
// schema/runner describes the exchange.

export const RUNNER_VERSION = '0.1.0';

type ResultMessage = Extract<RunnerMessage, { type: 'result' }>;

export class FatalRunnerError extends Error {}

export interface AgentDeps {
  readonly settings: RunnerSettings;
  readonly docker: Docker;
  readonly log: Logger;
  readonly random?: () => number;
}

export class RunnerAgent {
  readonly #settings: RunnerSettings;
  readonly #docker: Docker;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #relays: RelayManager;
  readonly #ctx: SandboxContext;
  /** Executing now, by assignment id. */
  readonly #running = new Map<string, Promise<void>>();
  /** Finished, waiting for the hub's ack. */
  readonly #outbox = new Map<string, ResultMessage>();
  /** Per sandbox: the tail of its lifecycle operations, so they run in the order received. */
  readonly #lanes = new Map<string, Promise<void>>();
  #ws: WebSocket | undefined;
  #stopping = false;
  #wakeSleep: (() => void) | undefined;
  #heartbeatSoon: NodeJS.Timeout | undefined;
  #events: NodeJS.ReadableStream | undefined;

  constructor(deps: AgentDeps) {
    this.#settings = deps.settings;
    this.#docker = deps.docker;
    this.#log = deps.log;
    this.#random = deps.random ?? Math.random;
    this.#relays = new RelayManager({
      stateDir: deps.settings.stateDir,
      target: { origin: deps.settings.url },
      log: deps.log,
    });
    this.#ctx = {
      docker: deps.docker,
      runnerId: deps.settings.runnerId,
      relays: this.#relays,
      disks: new SandboxDisks(deps.settings.stateDir),
      capacity: deps.settings.capacity,
      holdAfterCreate: deps.settings.testHold === 'create',
    };
  }

  /** Runs until `stop()`; rejects with FatalRunnerError when the hub refuses the token. */
  async run(): Promise<void> {
    await this.#restore();
    void this.#watchEvents();
    let attempt = 0;
    while (!this.#stopping) {
      const session = await this.#session();
      if (session.fatal !== undefined) throw new FatalRunnerError(session.fatal);
      if (this.#stopping) break;
      if (session.welcomed) attempt = 0;
      const delay = backoffDelay(attempt++, this.#random());
      this.#log.info('reconnecting', { inMs: delay, attempt });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wakeSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeSleep?.();
    (this.#events as { destroy?: () => void } | undefined)?.destroy?.();
    this.#ws?.close(1000, 'runner stopping');
    await this.#relays.closeAll();
  }

  // ── the connection ────────────────────────────────────────────────────

  #session(): Promise<{ welcomed: boolean; fatal?: string }> {
    const url = new URL('/runner/connect', this.#settings.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise((resolve) => {
      let welcomed = false;
      let heartbeat: NodeJS.Timeout | undefined;
      let lastHeard = Date.now();
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${this.#settings.token}` },
        maxPayload: MAX_RUNNER_MESSAGE_BYTES,
        handshakeTimeout: 15_000,
      });
      this.#ws = ws;
      ws.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          if (body.length < 2000) body += chunk.toString();
        });
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const detail = (/"detail":"([^"]*)"/.exec(body)?.[1] ?? body).slice(0, 300);
          ws.terminate();
          if (status === 401 || status === 403)
            resolve({ welcomed, fatal: `the hub refused this runner (${status}): ${detail}` });
          else {
            this.#log.warn('connect refused', { status, detail });
            resolve({ welcomed });
          }
        });
      });
      ws.on('open', () => {
        this.#log.info('connected', { url: url.origin });
        void this.#hello(ws);
      });
      ws.on('message', (data, isBinary) => {
        lastHeard = Date.now();
        const text = isBinary ? '' : data.toString();
        if (text === '{"type":"pong"}') return;
        const parsed = parseMessage(HubMessage, text);
        if (!parsed.ok) {
          this.#log.warn('bad message from the hub', { error: parsed.error });
          return;
        }
        const message = parsed.message;
        switch (message.type) {
          case 'welcome':
            welcomed = true;
            this.#log.info('welcomed', { runnerId: message.runnerId, heartbeatMs: message.heartbeatMs });
            for (const result of this.#outbox.values()) this.#send(result);
            clearInterval(heartbeat);
            heartbeat = setInterval(() => {
              if (Date.now() - lastHeard > message.heartbeatMs * 3) {
                this.#log.warn('the hub went quiet; reconnecting');
                ws.terminate();
                return;
              }
              ws.send('{"type":"ping"}');
              void this.#heartbeat();
            }, message.heartbeatMs);
            break;
          case 'assign':
            this.#dispatch(message.assignment);
            break;
          case 'ack':
            this.#outbox.delete(message.id);
            break;
          case 'error':
            this.#log.warn('the hub reported an error', { code: message.code, message: message.message });
            break;
        }
      });
      ws.on('error', (error) => this.#log.warn('connection error', { error: error.message }));
      ws.on('close', (code, reason) => {
        clearInterval(heartbeat);
        if (this.#ws === ws) this.#ws = undefined;
        this.#log.info('disconnected', { code, reason: reason.toString() });
        resolve({ welcomed });
      });
    });
  }

  async #hello(ws: WebSocket): Promise<void> {
    try {
      const [sandboxes, host] = await Promise.all([
        ownedContainers(this.#docker, this.#settings.runnerId),
        hostInfo(this.#docker),
      ]);
      this.#send(
        {
          type: 'hello',
          protocol: RUNNER_PROTOCOL_VERSION,
          version: RUNNER_VERSION,
          capacity: this.#settings.capacity,
          host,
          sandboxes,
          inFlight: this.#inFlight(),
        },
        ws,
      );
    } catch (error) {
      this.#log.error('cannot say hello (is Docker reachable?)', { error: errorMessage(error) });
      ws.terminate();
    }
  }

  async #heartbeat(): Promise<void> {
    try {
      const sandboxes = await ownedContainers(this.#docker, this.#settings.runnerId);
      this.#send({ type: 'heartbeat', sandboxes, inFlight: this.#inFlight() });
    } catch (error) {
      this.#log.warn('heartbeat failed', { error: errorMessage(error) });
    }
  }

  #inFlight(): string[] {
    return [...new Set([...this.#running.keys(), ...this.#outbox.keys()])];
  }

  #send(message: RunnerMessage, socket?: WebSocket): void {
    const ws = socket ?? this.#ws;
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  // ── assignments ───────────────────────────────────────────────────────

  #dispatch(assignment: Assignment): void {
    const done = this.#outbox.get(assignment.id);
    if (done !== undefined) {
      this.#send(done);
      return;
    }
    this.#send({ type: 'accepted', id: assignment.id });
    if (this.#running.has(assignment.id)) return;
    this.#log.info('assignment', {
      id: assignment.id,
      kind: assignment.kind,
      sandboxId: assignment.sandboxId,
    });
    const before = this.#lanes.get(assignment.sandboxId) ?? Promise.resolve();
    const run = before.then(async () => {
      const outcome = await this.#execute(assignment);
      const message: ResultMessage = { type: 'result', id: assignment.id, outcome };
      this.#outbox.set(assignment.id, message);
      this.#running.delete(assignment.id);
      this.#log.info('assignment settled', {
        id: assignment.id,
        ok: outcome.ok,
        ...(outcome.ok ? {} : { error: outcome.error }),
      });
      this.#send(message);
    });
    this.#running.set(assignment.id, run);
    // An exec waits for the lifecycle steps before it, but does not hold up the ones after it.
    if (assignment.kind !== 'exec') {
      this.#lanes.set(assignment.sandboxId, run);
      void run.then(() => {
        if (this.#lanes.get(assignment.sandboxId) === run) this.#lanes.delete(assignment.sandboxId);
      });
    }
  }

  async #execute(a: Assignment): Promise<AssignmentOutcome> {
    try {
      switch (a.kind) {
        case 'create':
          return { ok: true, result: await createSandbox(this.#ctx, a) };
        case 'start':
          return { ok: true, result: await startSandbox(this.#ctx, a) };
        case 'stop':
          return { ok: true, result: await stopSandbox(this.#ctx, a) };
        case 'destroy':
          return { ok: true, result: await destroySandbox(this.#ctx, a) };
        case 'snapshot':
          return { ok: true, result: await snapshotSandbox(this.#ctx, a) };
        case 'exec':
          return {
            ok: true,
            result: await execInSandbox(this.#ctx, a, (chunk) =>
              this.#send({ type: 'output', id: a.id, ...chunk }),
            ),
          };
      }
    } catch (error) {
      const code = error instanceof AssignmentFailure ? error.code : 'internal';
      return { ok: false, error: { code, message: errorMessage(error).slice(0, 4000) } };
    }
  }

  // ── Docker side ───────────────────────────────────────────────────────

  /**
   * After a restart: sockets and disks again for the sandboxes that have a container; what is
   * left of sandboxes that have none (sockets, volumes, disks, capture containers) goes.
   */
  async #restore(): Promise<void> {
    const owned = await this.#docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.runner}=${this.#settings.runnerId}`] },
    });
    const keep = new Set<string>();
    for (const c of owned) {
      if (c.Labels[LABEL.capture]) {
        // A snapshot cut off by the restart; a redelivered one makes its own.
        await this.#docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
        continue;
      }
      const sandboxId = c.Labels[LABEL.sandbox];
      const tunnel = c.Labels[LABEL.tunnel];
      if (!sandboxId) continue;
      keep.add(sandboxId);
      if (tunnel) await this.#relays.open(sandboxId, tunnel);
      await this.#ctx.disks.ensureMounted(sandboxId);
    }
    const leftovers = new Set([
      ...readdirSync(this.#relays.dirOf('')),
      ...this.#ctx.disks.list(),
      ...(await sandboxesWithVolumes(this.#docker, this.#settings.runnerId)),
    ]);
    for (const sandboxId of leftovers) {
      if (keep.has(sandboxId)) continue;
      try {
        await releaseStorage(this.#ctx, sandboxId);
      } catch (error) {
        this.#log.warn('cannot release a gone sandbox’s storage', { sandboxId, error: errorMessage(error) });
      }
    }
  }

  /** Container deaths are reported at once instead of at the next heartbeat. */
  async #watchEvents(): Promise<void> {
    while (!this.#stopping) {
      try {
        const stream = await this.#docker.getEvents({
          filters: {
            type: ['container'],
            event: ['die', 'destroy', 'start'],
            label: [`${LABEL.runner}=${this.#settings.runnerId}`],
          },
        });
        this.#events = stream;
        await new Promise<void>((resolve) => {
          stream.on('data', () => {
            clearTimeout(this.#heartbeatSoon);
            this.#heartbeatSoon = setTimeout(() => void this.#heartbeat(), 200);
          });
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', resolve);
        });
      } catch (error) {
        this.#log.warn('docker events unavailable', { error: errorMessage(error) });
      }
      if (!this.#stopping) await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
