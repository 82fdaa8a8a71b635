import type { GatewayError, OpenTerminalInput, TerminalInfo } from '@airlock/schema/gateway';
import type { ServerMessage, TerminalStatus, ViewerMode } from '@airlock/schema/pty';
import { ViewerCloseCode } from '@airlock/schema/pty';
import type { JsonObject } from '@airlock/schema/tunnel';
import type { GatewayLog } from './log.ts';
import { Scrollback } from './scrollback.ts';
import type { TunnelStream } from './stream.ts';
import { StreamRows } from './stream-rows.ts';
import type { Tunnel } from './tunnel.ts';
import { type ViewerAttachment, Viewers } from './viewers.ts';

// Terminals: PTY streams in the sandbox, fanned out to any number of viewers.
// Output goes to the scrollback (SQLite) and to every viewer that keeps up,
// and its credit goes straight back to the sandbox, so the PTY never waits for
// a viewer. One viewer at a time writes (input, resize); see viewers.ts.

type TerminalRow = {
  key: string;
  stream_id: number;
  status: TerminalStatus;
  cols: number;
  rows: number;
  exit_code: number | null;
  exit_signal: number | null;
  writer: string | null;
};

export interface TerminalHost {
  readonly log: GatewayLog;
  readonly ctx: DurableObjectState;
  now(): number;
  tunnel(): Tunnel;
  scrollbackBytes(): number;
  nextStreamId(): number;
  touch(): void;
}

export class Terminals {
  readonly #host: TerminalHost;
  readonly #sql: SqlStorage;
  readonly #rows: StreamRows;
  readonly scrollback: Scrollback;
  readonly viewers: Viewers;
  readonly #totals = new Map<string, number>();
  readonly #inputChains = new Map<string, Promise<void>>();

  constructor(host: TerminalHost, sql: SqlStorage) {
    this.#host = host;
    this.#sql = sql;
    this.#rows = new StreamRows(sql);
    this.scrollback = new Scrollback(sql);
    this.viewers = new Viewers(host.ctx, this);
  }

  row(key: string): TerminalRow | null {
    return this.#sql.exec<TerminalRow>('SELECT * FROM terminals WHERE key = ?', key).toArray()[0] ?? null;
  }

  #keyOf(streamId: number): string | null {
    const row = this.#sql
      .exec<{ key: string }>('SELECT key FROM terminals WHERE stream_id = ?', streamId)
      .toArray()[0];
    return row?.key ?? null;
  }

  setWriter(key: string, viewerId: string | null): void {
    this.#sql.exec('UPDATE terminals SET writer = ? WHERE key = ?', viewerId, key);
  }

  scrollbackLimit(): number {
    return this.#host.scrollbackBytes();
  }

  total(key: string): number {
    let total = this.#totals.get(key);
    if (total === undefined) {
      total = this.scrollback.total(key);
      this.#totals.set(key, total);
    }
    return total;
  }

  /** Pty streams from storage, with their handlers, after a wake-up. */
  restore(sink: Tunnel): TunnelStream[] {
    const out: TunnelStream[] = [];
    for (const { stream, terminal, exited } of this.#rows.load('pty', sink)) {
      if (terminal === null || exited) continue;
      this.#wire(stream, terminal);
      out.push(stream);
    }
    return out;
  }

  open(
    input: OpenTerminalInput & { cols: number; rows: number },
  ): { ok: true; streamId: number } | GatewayError<'TERMINAL_RUNNING' | 'TUNNEL_DOWN'> {
    const existing = this.row(input.key);
    if (existing?.status === 'running')
      return { ok: false, code: 'TERMINAL_RUNNING', message: `terminal ${input.key} is already running` };
    const tunnel = this.#host.tunnel();
    if (tunnel.socket() === null)
      return { ok: false, code: 'TUNNEL_DOWN', message: 'the sandbox is not connected' };
    const id = this.#host.nextStreamId();
    const meta: JsonObject = { cols: input.cols, rows: input.rows, term: 'xterm-256color' };
    if (input.command !== undefined) meta.command = input.command;
    if (input.cwd !== undefined) meta.cwd = input.cwd;
    if (input.env !== undefined) meta.env = input.env;
    const stream = tunnel.open('pty', meta, id);
    this.#rows.insert(stream, input.key);
    this.#wire(stream, input.key);
    this.#sql.exec(
      `INSERT INTO terminals (key, stream_id, status, cols, rows, writer) VALUES (?, ?, 'running', ?, ?, NULL)
       ON CONFLICT (key) DO UPDATE SET stream_id = excluded.stream_id, status = 'running', cols = excluded.cols,
         rows = excluded.rows, exit_code = NULL, exit_signal = NULL`,
      input.key,
      id,
      input.cols,
      input.rows,
    );
    this.viewers.broadcast(input.key, { type: 'status', status: 'running' });
    this.viewers.broadcast(input.key, { type: 'resize', cols: input.cols, rows: input.rows });
    return { ok: true, streamId: id };
  }

  #wire(stream: TunnelStream, key: string): void {
    stream.onChange = (s) => this.#rows.update(s);
    stream.handler = {
      data: (bytes) => {
        this.output(key, bytes);
        stream.consumed(bytes.length);
      },
      exit: (code, signal) => {
        this.#sql.exec(
          "UPDATE terminals SET status = 'exited', exit_code = ?, exit_signal = ? WHERE key = ? AND stream_id = ?",
          code,
          signal,
          key,
          stream.id,
        );
        this.#rows.markExited(stream.id);
        // Our FIN acknowledges EXIT so sandboxd can forget the stream (PROTOCOL.md §5.1).
        stream.finish();
        this.viewers.broadcast(key, { type: 'exit', code, signal });
        this.viewers.broadcast(key, { type: 'status', status: 'exited' });
        this.#host.tunnel().forget(stream);
      },
      reset: (code, message) => {
        const row = this.row(key);
        if (row?.stream_id === stream.id && row.status === 'running') {
          this.#sql.exec("UPDATE terminals SET status = 'lost' WHERE key = ?", key);
          this.viewers.broadcast(key, { type: 'status', status: 'lost' });
          this.#host.log.warn('terminal lost', { terminal: key, code, reason: message.slice(0, 100) });
        }
        this.#rows.delete(stream.id);
        this.#host.tunnel().forget(stream);
      },
    };
  }

  /** Output from the PTY: scrollback first (durable), then every viewer that keeps up. */
  output(key: string, bytes: Uint8Array): void {
    const total = this.scrollback.append(key, bytes, this.#host.scrollbackBytes(), this.total(key));
    this.#totals.set(key, total);
    this.viewers.fanOut(key, bytes);
  }

  /** After a reconnect: output the sandbox could not keep is marked in the scrollback. */
  resumed(stream: TunnelStream, gap: number): void {
    if (gap === 0) return;
    const key = this.#keyOf(stream.id);
    if (key === null) return;
    this.output(
      key,
      new TextEncoder().encode(
        `\r\n[airlock: ${gap} bytes of output were lost while the sandbox was disconnected]\r\n`,
      ),
    );
  }

  /** Keyboard input from the writer, in order, within the PTY's credit. */
  input(key: string, bytes: Uint8Array, reply: (message: ServerMessage) => void): void {
    const row = this.row(key);
    const stream = row === null ? undefined : this.#host.tunnel().streams.get(row.stream_id);
    if (row === null || row.status !== 'running' || stream === undefined) {
      reply({ type: 'error', code: 'INPUT_DROPPED', message: 'the terminal is not running' });
      return;
    }
    this.#host.touch();
    const previous = this.#inputChains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => stream.write(bytes))
      .catch(() =>
        reply({ type: 'error', code: 'INPUT_DROPPED', message: 'input could not reach the terminal' }),
      );
    this.#inputChains.set(key, next);
  }

  resize(key: string, cols: number, rows: number): void {
    const row = this.row(key);
    if (row === null) return;
    this.#sql.exec('UPDATE terminals SET cols = ?, rows = ? WHERE key = ?', cols, rows, key);
    if (row.status === 'running')
      this.#host.tunnel().send({ type: 'resize', stream: row.stream_id, flags: 0, cols, rows });
    this.viewers.broadcast(key, { type: 'resize', cols, rows });
  }

  /** The WebSocket upgrade of a viewer the edge authenticated. */
  attach(key: string, mode: ViewerMode, userId: string | null): Response {
    return this.viewers.attach(key, mode, userId);
  }

  message(ws: WebSocket, attachment: ViewerAttachment, message: string | ArrayBuffer): void {
    this.viewers.message(ws, attachment, message);
  }

  info(): TerminalInfo[] {
    return this.#sql
      .exec<TerminalRow>('SELECT * FROM terminals ORDER BY key')
      .toArray()
      .map((row) => ({
        key: row.key,
        streamId: row.stream_id,
        status: row.status === 'pending' ? 'running' : row.status,
        cols: row.cols,
        rows: row.rows,
        exitCode: row.exit_code,
        viewers: this.viewers.count(row.key),
      }));
  }

  /** Session over: viewers are told and disconnected; the scrollback stays readable via RPC. */
  endAll(): void {
    for (const ws of this.#host.ctx.getWebSockets('viewer')) {
      try {
        ws.close(ViewerCloseCode.SESSION_ENDED, 'the session has ended');
      } catch {
        // already closing
      }
    }
    this.#sql.exec("UPDATE terminals SET status = 'exited' WHERE status = 'running'");
  }
}
