import {
  CloseCode,
  DEFAULT_WINDOW,
  decodeFrame,
  encodeFrame,
  type Frame,
  type JsonObject,
  PROTOCOL_VERSION,
  type StreamKindName,
  TunnelProtocolError,
} from '@airlock/schema/tunnel';
import { z } from 'zod';
import type { GatewayLog } from './log.ts';
import type { GatewayStore } from './store.ts';
import { type FrameSink, RECEIVE_BUFFER, TunnelStream } from './stream.ts';
import { StreamLimit } from './stream-limit.ts';
import { randomToken, sha256Hex } from './token-hash.ts';
import { TunnelBudget } from './tunnel-budget.ts';

// The sandbox's one WebSocket (PROTOCOL.md): authentication handed over by the
// edge, HELLO/WELCOME with rotating resume tokens, and frames routed to their
// streams. The socket is hibernatable: everything this class needs after a
// wake-up is in its attachment or in SQLite.

export type TunnelAuth =
  | { readonly type: 'bootstrap'; readonly jti: string; readonly expiresAt: number }
  | { readonly type: 'resume'; readonly hash: string };

export interface TunnelAttachment {
  readonly kind: 'tunnel';
  readonly epoch: number;
  readonly sessionId: string;
  readonly auth: TunnelAuth;
  welcomed: boolean;
  confirmed: boolean;
  /** Highest id of a stream the sandbox opened (they must increase). */
  lastSandboxStream: number;
}

const HelloSchema = z.object({
  versions: z.array(z.number().int()),
  sessionId: z.string(),
  agent: z.string().optional(),
  streams: z
    .array(
      z.object({
        id: z.number().int().positive(),
        kind: z.string(),
        received: z.number().int().min(0),
        from: z.number().int().min(0),
        to: z.number().int().min(0),
      }),
    )
    .default([]),
});
export type HelloStream = z.infer<typeof HelloSchema>['streams'][number];

/** What the tunnel asks of the gateway around it. */
export interface TunnelHost {
  readonly store: GatewayStore;
  readonly log: GatewayLog;
  now(): number;
  sessionEnded(): boolean;
  /** Resumable streams (pty, exec) known to the gateway, restored from storage. */
  resumable(): TunnelStream[];
  /** A resumable stream continues on the new connection; `gap` bytes of its output were lost. */
  resumed(stream: TunnelStream, gap: number): void;
  /** The sandbox opened a stream (http, sign). */
  opened(stream: TunnelStream, meta: JsonObject, fin: boolean): void;
  connected(): void;
  disconnected(): void;
}

export const SANDBOX_OPENS: ReadonlySet<StreamKindName> = new Set(['http', 'sign']);

export class Tunnel implements FrameSink {
  readonly #ctx: DurableObjectState;
  readonly #host: TunnelHost;
  readonly streams = new Map<number, TunnelStream>();
  #restored = false;
  /** When the sandbox last sent a frame (memory only: after a wake-up, the wake-up counts). */
  #lastFrameAt: number | null = null;
  /** The current connection's socket once welcomed (a cache of `socket()`'s lookup). */
  #current: WebSocket | null = null;
  #epochCache: number | null = null;
  /** What the sandbox can make the gateway hold beyond a window per stream (ADR 0115). */
  readonly budget: TunnelBudget;
  readonly #streamLimit: StreamLimit;

  constructor(ctx: DurableObjectState, host: TunnelHost) {
    this.#ctx = ctx;
    this.#host = host;
    this.budget = new TunnelBudget(() => host.store.settings().tunnelBufferBytes, this.streams);
    this.#streamLimit = new StreamLimit(host, SANDBOX_OPENS);
  }

  /** Connections are numbered; only the newest one's frames count. */
  #epoch(): number | null {
    this.#epochCache ??= this.#host.store.getNumber('epoch');
    return this.#epochCache;
  }

  /** The current connection's socket, if one is open and past WELCOME. */
  socket(): WebSocket | null {
    // Every frame sent asks; the lookup through the socket list is only needed after a wake-up.
    if (this.#current?.readyState === WebSocket.OPEN) return this.#current;
    this.#current = null;
    const epoch = this.#epoch();
    for (const ws of this.#ctx.getWebSockets('tunnel')) {
      const att = ws.deserializeAttachment() as TunnelAttachment | null;
      if (att?.epoch === epoch && att.welcomed && ws.readyState === WebSocket.OPEN) {
        this.#current = ws;
        return ws;
      }
    }
    return null;
  }

  send(frame: Frame): boolean {
    const ws = this.socket();
    if (ws === null) return false;
    ws.send(encodeFrame(frame));
    return true;
  }

  /** Streams rebuilt from storage after a wake-up, before any frame is routed. */
  restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    for (const stream of this.#host.resumable()) this.streams.set(stream.id, stream);
  }

  /** Open a gateway-side stream (pty, exec, port). */
  open(kind: StreamKindName, meta: JsonObject, id: number): TunnelStream {
    this.restore();
    const stream = new TunnelStream(id, kind, this);
    this.streams.set(id, stream);
    this.send({ type: 'open', stream: id, flags: 0, kind, meta });
    return stream;
  }

  adopt(stream: TunnelStream): void {
    this.streams.set(stream.id, stream);
  }

  /** Accept a connection the edge authenticated; `auth` was checked by the caller. */
  accept(sessionId: string, auth: TunnelAuth): Response {
    this.restore();
    this.#current = null;
    this.#dropConnection('superseded by a new connection');
    const epoch = (this.#epoch() ?? 0) + 1;
    this.#host.store.set('epoch', epoch);
    this.#epochCache = epoch;
    for (const old of this.#ctx.getWebSockets('tunnel')) old.close(1000, 'superseded by a new connection');
    const { 0: client, 1: server } = new WebSocketPair();
    this.#ctx.acceptWebSocket(server, ['tunnel']);
    const attachment: TunnelAttachment = {
      kind: 'tunnel',
      epoch,
      sessionId,
      auth,
      welcomed: false,
      confirmed: false,
      lastSandboxStream: 0,
    };
    server.serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  async message(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as TunnelAttachment;
    if (att.epoch !== this.#epoch()) {
      ws.close(1000, 'superseded by a new connection');
      return;
    }
    this.restore();
    this.#lastFrameAt = this.#host.now();
    if (typeof message === 'string') return this.#violation(ws, CloseCode.PROTOCOL_ERROR, 'text message');
    let frame: Frame;
    try {
      frame = decodeFrame(new Uint8Array(message));
    } catch (error) {
      if (error instanceof TunnelProtocolError) return this.#violation(ws, error.closeCode, error.message);
      throw error;
    }
    if (!att.welcomed) {
      if (frame.type !== 'hello') return this.#violation(ws, CloseCode.PROTOCOL_ERROR, 'expected HELLO');
      return this.#hello(ws, att, frame.json);
    }
    if (!att.confirmed) this.#confirm(ws, att);
    this.#route(ws, att, frame);
  }

  closed(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as TunnelAttachment | null;
    if (att === null || att.epoch !== this.#epoch()) return;
    if (this.#current === ws) this.#current = null;
    this.restore();
    this.#dropConnection('the tunnel dropped');
    if (att.welcomed) this.#host.disconnected();
  }

  /**
   * sandboxd pings every 15 s (PROTOCOL.md §6); a connection silent for `silenceMs` is dead even if
   * no close ever arrived (a vanished VM). Hang up on it so the grace period starts.
   */
  closeIfSilent(silenceMs: number): boolean {
    const ws = this.socket();
    if (ws === null) return false;
    const now = this.#host.now();
    this.#lastFrameAt ??= now;
    if (now - this.#lastFrameAt < silenceMs) return false;
    this.#host.log.warn('tunnel silent; closing it', { silentMs: now - this.#lastFrameAt });
    try {
      ws.send(
        encodeFrame({ type: 'close', stream: 0, flags: 0, code: CloseCode.TIMEOUT, message: 'no traffic' }),
      );
      ws.close(1011, 'no traffic');
    } catch {
      // already gone
    }
    this.closed(ws);
    return true;
  }

  /** End the session for the sandbox: CLOSE SESSION_ENDED, then hang up. */
  end(message: string): void {
    const ws = this.socket();
    if (ws !== null) {
      ws.send(encodeFrame({ type: 'close', stream: 0, flags: 0, code: CloseCode.SESSION_ENDED, message }));
      ws.close(1000, 'session ended');
    }
    this.#dropConnection('the session ended');
    for (const stream of this.streams.values()) stream.fail(CloseCode.CONNECTION_LOST, 'the session ended');
    this.streams.clear();
  }

  /** Non-resumable streams die with their connection; resumable ones wait for HELLO. */
  #dropConnection(reason: string): void {
    for (const [id, stream] of this.streams) {
      if (stream.kind === 'pty' || stream.kind === 'exec') continue;
      stream.fail(CloseCode.CONNECTION_LOST, reason);
      this.streams.delete(id);
    }
  }

  #violation(ws: WebSocket, code: number, message: string): void {
    this.#host.log.warn('tunnel protocol violation', { code, detail: message.slice(0, 200) });
    try {
      ws.send(encodeFrame({ type: 'close', stream: 0, flags: 0, code, message: message.slice(0, 200) }));
    } catch {
      // the socket is already going away
    }
    ws.close(1002, 'protocol violation');
    this.closed(ws);
  }

  #closeWith(ws: WebSocket, code: number, message: string): void {
    ws.send(encodeFrame({ type: 'close', stream: 0, flags: 0, code, message }));
    ws.close(1000, message.slice(0, 100));
  }

  async #hello(ws: WebSocket, att: TunnelAttachment, json: JsonObject): Promise<void> {
    const parsed = HelloSchema.safeParse(json);
    if (!parsed.success) return this.#violation(ws, CloseCode.PROTOCOL_ERROR, 'malformed HELLO');
    const hello = parsed.data;
    if (!hello.versions.includes(PROTOCOL_VERSION))
      return this.#closeWith(ws, CloseCode.UNSUPPORTED_VERSION, 'the gateway speaks version 1');
    if (hello.sessionId !== att.sessionId)
      return this.#closeWith(ws, CloseCode.AUTH_FAILED, 'HELLO names another session');
    if (this.#host.sessionEnded())
      return this.#closeWith(ws, CloseCode.SESSION_ENDED, 'the session has ended');
    const token = randomToken('rsm');
    const hash = await sha256Hex(token);
    // A newer connection may have arrived while hashing.
    if (att.epoch !== this.#epoch()) return;
    const listed = new Map(hello.streams.map((s) => [s.id, s]));
    const kept: { id: number; received: number }[] = [];
    for (const stream of [...this.streams.values()]) {
      if (stream.kind !== 'pty' && stream.kind !== 'exec') continue;
      const entry = listed.get(stream.id);
      if (entry === undefined || stream.finished) {
        stream.fail(CloseCode.CONNECTION_LOST, 'the sandbox no longer has this stream');
        this.streams.delete(stream.id);
        continue;
      }
      if (stream.c.received > entry.to)
        return this.#violation(ws, CloseCode.PROTOCOL_ERROR, `stream ${stream.id}: received > to`);
      const gap = Math.max(0, entry.from - stream.c.received);
      stream.c.received += gap;
      stream.resumeWith(DEFAULT_WINDOW);
      this.#host.resumed(stream, gap);
      kept.push({ id: stream.id, received: stream.c.received });
    }
    const { store } = this.#host;
    store.rotateTunnelTokens(att.auth.type === 'resume' ? att.auth.hash : null, hash, this.#host.now());
    // Valid now: the token this connection used and the new one. No bootstrap token is (ADR 0100).
    if (att.auth.type === 'resume') store.spendBootstrapGrants();
    att.welcomed = true;
    ws.serializeAttachment(att);
    this.#current = ws;
    const welcome = {
      version: PROTOCOL_VERSION,
      sessionId: att.sessionId,
      resumeToken: token,
      window: DEFAULT_WINDOW,
      streams: kept,
    };
    ws.send(encodeFrame({ type: 'welcome', stream: 0, flags: 0, json: welcome }));
    this.#host.connected();
  }

  /** The sandbox has stored the new resume token: the one it used is spent (PROTOCOL.md §4). */
  #confirm(ws: WebSocket, att: TunnelAttachment): void {
    att.confirmed = true;
    ws.serializeAttachment(att);
    if (att.auth.type === 'resume') this.#host.store.dropTunnelToken(att.auth.hash);
    else this.#host.store.spendBootstrapGrants();
  }

  #route(ws: WebSocket, att: TunnelAttachment, frame: Frame): void {
    switch (frame.type) {
      case 'ping':
        ws.send(encodeFrame({ type: 'pong', stream: 0, flags: 0, opaque: frame.opaque }));
        return;
      case 'pong':
        return;
      case 'close':
        ws.close(1000, 'closed by the sandbox');
        this.closed(ws);
        return;
      case 'hello':
      case 'welcome':
        this.#violation(ws, CloseCode.PROTOCOL_ERROR, `unexpected ${frame.type.toUpperCase()}`);
        return;
      case 'open':
        this.#open(ws, att, frame.stream, frame.kind, frame.meta, frame.flags);
        return;
      default: {
        const stream = this.streams.get(frame.stream);
        // Frames for finished or unknown streams can race with a RESET: ignored (§5).
        if (stream === undefined || stream.closed !== null) return;
        const broken = stream.receive(frame);
        if (broken !== null) stream.reset(broken, `${frame.type} broke the stream rules`);
        if (stream.finished) this.streams.delete(stream.id);
      }
    }
  }

  #open(
    ws: WebSocket,
    att: TunnelAttachment,
    id: number,
    kind: StreamKindName,
    meta: JsonObject,
    flags: number,
  ): void {
    const reset = (code: number, message: string) =>
      ws.send(encodeFrame({ type: 'reset', stream: id, flags: 0, code, message }));
    if (id % 2 === 0 || id <= att.lastSandboxStream || this.streams.has(id)) {
      reset(CloseCode.STREAM_IN_USE, 'stream id out of order or in use');
      return;
    }
    att.lastSandboxStream = id;
    ws.serializeAttachment(att);
    if (!SANDBOX_OPENS.has(kind)) {
      reset(CloseCode.REFUSED, `the sandbox may not open ${kind} streams`);
      return;
    }
    const fin = (flags & 0x01) !== 0;
    if (this.#streamLimit.refuses(this, this.streams, { id, kind, fin })) return;
    const stream = new TunnelStream(id, kind, this);
    this.streams.set(id, stream);
    if (fin) stream.c.remoteFin = true;
    this.#host.opened(stream, meta, fin);
    // A request body may stream: let up to a receive buffer of it be in flight (PROTOCOL.md §5).
    if (kind === 'http' && !fin && stream.closed === null) stream.grantAhead(this.#grantable());
  }

  /** Streams opened while the budget is spent get the plain window: slower, never refused. */
  #grantable(): number {
    return Math.min(RECEIVE_BUFFER - DEFAULT_WINDOW, this.budget.aheadAvailable());
  }

  /** Forget a finished stream (its handler is done with it). */
  forget(stream: TunnelStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }
}
