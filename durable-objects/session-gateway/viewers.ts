import {
  ClientMessage,
  MAX_UNACKED_BYTES,
  PTY_PROTOCOL_VERSION,
  type ServerMessage,
  type TerminalStatus,
  type ViewerErrorCode,
  type ViewerMode,
} from '@airlock/schema/pty';
import type { Scrollback } from './scrollback.ts';

// The viewers of terminals (schema/pty/PROTOCOL.md): hibernatable WebSockets
// tagged with their terminal, their state in the attachment.
//
// One writer per terminal: the first read-write viewer, until it leaves,
// releases, or another read-write viewer claims. Slow viewers never hold up
// the PTY: a viewer that has more than MAX_UNACKED_BYTES unacknowledged stops
// receiving output; once it has acknowledged everything it was sent, it gets a
// `resync` and a fresh replay of the scrollback (it skips ahead to the screen).

export interface ViewerAttachment {
  readonly kind: 'viewer';
  readonly viewerId: string;
  readonly terminal: string;
  readonly mode: ViewerMode;
  readonly userId: string | null;
  readonly attachedAt: number;
  sent: number;
  acked: number;
  behind: boolean;
  skipped: number;
}

/**
 * What viewers need of the terminals they watch. Terminals hands itself in; the interface keeps
 * this file from importing terminals.ts, which creates the Viewers.
 */
export interface ViewedTerminals {
  readonly scrollback: Pick<Scrollback, 'replay'>;
  row(key: string): {
    readonly writer: string | null;
    readonly status: TerminalStatus;
    readonly cols: number;
    readonly rows: number;
  } | null;
  setWriter(key: string, viewerId: string | null): void;
  scrollbackLimit(): number;
  input(key: string, bytes: Uint8Array, reply: (message: ServerMessage) => void): void;
  resize(key: string, cols: number, rows: number): void;
}

const tagOf = (terminal: string) => `terminal:${terminal}`;

export class Viewers {
  readonly #ctx: DurableObjectState;
  readonly #terminals: ViewedTerminals;
  /** Attachments by socket; rebuilt from the sockets after a wake-up. */
  readonly #state = new Map<WebSocket, ViewerAttachment>();

  constructor(ctx: DurableObjectState, terminals: ViewedTerminals) {
    this.#ctx = ctx;
    this.#terminals = terminals;
  }

  #att(ws: WebSocket): ViewerAttachment | null {
    let att = this.#state.get(ws);
    if (att === undefined) {
      const stored = ws.deserializeAttachment() as ViewerAttachment | null;
      if (stored === null || stored.kind !== 'viewer') return null;
      att = stored;
      this.#state.set(ws, att);
    }
    return att;
  }

  sockets(terminal: string): WebSocket[] {
    return this.#ctx.getWebSockets(tagOf(terminal)).filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  count(terminal: string): number {
    return this.sockets(terminal).length;
  }

  send(ws: WebSocket, message: ServerMessage): void {
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // the viewer is gone; its close event cleans up
    }
  }

  broadcast(terminal: string, message: ServerMessage): void {
    for (const ws of this.sockets(terminal)) this.send(ws, message);
  }

  #writerId(terminal: string): string | null {
    const writer = this.#terminals.row(terminal)?.writer ?? null;
    if (writer === null) return null;
    // A writer whose socket is gone (closed while we slept) does not count.
    return this.sockets(terminal).some((ws) => this.#att(ws)?.viewerId === writer) ? writer : null;
  }

  attach(terminal: string, mode: ViewerMode, userId: string | null): Response {
    const row = this.#terminals.row(terminal);
    const { 0: client, 1: server } = new WebSocketPair();
    this.#ctx.acceptWebSocket(server, ['viewer', tagOf(terminal)]);
    const att: ViewerAttachment = {
      kind: 'viewer',
      viewerId: crypto.randomUUID(),
      terminal,
      mode,
      userId,
      attachedAt: Date.now(),
      sent: 0,
      acked: 0,
      behind: false,
      skipped: 0,
    };
    const writer = mode === 'rw' && this.#writerId(terminal) === null && row !== null;
    if (writer) this.#terminals.setWriter(terminal, att.viewerId);
    const replay = this.#terminals.scrollback.replay(terminal, this.#limit());
    const viewers = this.count(terminal);
    this.send(server, {
      type: 'attached',
      version: PTY_PROTOCOL_VERSION,
      terminal,
      viewerId: att.viewerId,
      mode,
      writer,
      status: row?.status ?? 'pending',
      cols: row?.cols ?? 80,
      rows: row?.rows ?? 24,
      replay: replay.bytes,
      trimmed: replay.trimmed,
      viewers,
    });
    for (const chunk of replay.chunks) server.send(chunk);
    att.sent = replay.bytes;
    server.serializeAttachment(att);
    this.#state.set(server, att);
    for (const other of this.sockets(terminal))
      if (other !== server) this.send(other, { type: 'viewers', count: viewers });
    return new Response(null, { status: 101, webSocket: client });
  }

  #limit(): number {
    return this.#terminals.scrollbackLimit();
  }

  /** Live output to every viewer of the terminal that keeps up. */
  fanOut(terminal: string, bytes: Uint8Array): void {
    for (const ws of this.sockets(terminal)) {
      const att = this.#att(ws);
      if (att === null) continue;
      if (att.behind || att.sent - att.acked + bytes.length > MAX_UNACKED_BYTES) {
        att.behind = true;
        att.skipped += bytes.length;
        continue;
      }
      try {
        ws.send(bytes);
        att.sent += bytes.length;
      } catch {
        // closing; cleaned up by its close event
      }
    }
  }

  message(ws: WebSocket, stored: ViewerAttachment, message: string | ArrayBuffer): void {
    const att = this.#att(ws) ?? stored;
    const reply = this.#handle(ws, att, message);
    if (reply !== null) this.send(ws, reply);
  }

  /** One message from a viewer; returns the answer, if any. */
  #handle(ws: WebSocket, att: ViewerAttachment, message: string | ArrayBuffer): ServerMessage | null {
    const isWriter = () => this.#terminals.row(att.terminal)?.writer === att.viewerId;
    const error = (code: ViewerErrorCode, text: string): ServerMessage => ({
      type: 'error',
      code,
      message: text,
    });
    if (typeof message !== 'string') {
      if (att.mode === 'ro') return error('READ_ONLY', 'this viewer is read-only');
      if (!isWriter())
        return error('NOT_WRITER', 'another viewer is typing; send {"type":"claim"} to take over');
      this.#terminals.input(att.terminal, new Uint8Array(message), (reply) => this.send(ws, reply));
      return null;
    }
    let parsed: ClientMessage;
    try {
      const result = ClientMessage.safeParse(JSON.parse(message));
      if (!result.success) return error('BAD_MESSAGE', result.error.issues[0]?.message ?? 'invalid message');
      parsed = result.data;
    } catch {
      return error('BAD_MESSAGE', 'control messages are JSON text');
    }
    switch (parsed.type) {
      case 'ping':
        return { type: 'pong' };
      case 'resize':
        if (!isWriter()) return error('NOT_WRITER', 'only the writer resizes');
        this.#terminals.resize(att.terminal, parsed.cols, parsed.rows);
        return null;
      case 'claim': {
        if (att.mode !== 'rw') return error('READ_ONLY', 'this viewer is read-only');
        if (this.#terminals.row(att.terminal) === null)
          return error('NO_TERMINAL', 'the terminal has not started yet');
        const previous = this.#writerId(att.terminal);
        this.#terminals.setWriter(att.terminal, att.viewerId);
        for (const other of this.sockets(att.terminal))
          if (previous !== att.viewerId && this.#att(other)?.viewerId === previous)
            this.send(other, { type: 'writer', writer: false });
        return { type: 'writer', writer: true };
      }
      case 'release':
        if (!isWriter()) return null;
        this.#terminals.setWriter(att.terminal, null);
        return { type: 'writer', writer: false };
      case 'ack':
        att.acked = Math.min(att.sent, Math.max(att.acked, parsed.bytes));
        if (att.behind && att.acked >= att.sent) this.#resync(ws, att);
        ws.serializeAttachment(att);
        return null;
    }
  }

  /** A viewer that fell behind caught up with what it was sent: replay the current screen. */
  #resync(ws: WebSocket, att: ViewerAttachment): void {
    const replay = this.#terminals.scrollback.replay(att.terminal, this.#limit());
    this.send(ws, { type: 'resync', skipped: att.skipped, replay: replay.bytes });
    for (const chunk of replay.chunks) ws.send(chunk);
    att.sent += replay.bytes;
    att.behind = false;
    att.skipped = 0;
  }

  closed(ws: WebSocket): void {
    const att = this.#att(ws);
    this.#state.delete(ws);
    if (att === null) return;
    const row = this.#terminals.row(att.terminal);
    if (row?.writer === att.viewerId) {
      // Hand writing to the longest-attached read-write viewer, if any.
      const next = this.sockets(att.terminal)
        .filter((other) => other !== ws)
        .map((other) => ({ other, a: this.#att(other) }))
        .filter((v): v is { other: WebSocket; a: ViewerAttachment } => v.a?.mode === 'rw')
        .sort((x, y) => x.a.attachedAt - y.a.attachedAt)[0];
      this.#terminals.setWriter(att.terminal, next?.a.viewerId ?? null);
      if (next !== undefined) this.send(next.other, { type: 'writer', writer: true });
    }
    const remaining = this.sockets(att.terminal).filter((other) => other !== ws).length;
    for (const other of this.sockets(att.terminal))
      if (other !== ws) this.send(other, { type: 'viewers', count: remaining });
  }
}
