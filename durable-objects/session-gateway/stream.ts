import {
  CloseCode,
  DEFAULT_WINDOW,
  Flag,
  type Frame,
  type JsonObject,
  MAX_PAYLOAD,
  type StreamKindName,
} from '@airlock/schema/tunnel';

// One multiplexed stream on the tunnel, from the gateway's side: credits in
// both directions (PROTOCOL.md §5), half-close, reset. What the stream means
// (an HTTP exchange, a terminal, a command) is its handler's business.

/** A sender waits for at least this much credit (or what it has left to send) before a DATA frame. */
const MIN_FRAME = 16 * 1024;
/** What a non-resumable stream may hold of the sandbox's data: credit granted ahead (PROTOCOL.md §5). */
export const RECEIVE_BUFFER = 1024 * 1024;
/** Outstanding send credit the sandbox may give us; more is a FLOW_CONTROL error. */
const MAX_CREDIT = 0xffff_ffff;

export interface FrameSink {
  /** False when no tunnel is connected (the frame is dropped). */
  send(frame: Frame): boolean;
}

export interface StreamHandler {
  data(bytes: Uint8Array, stderr: boolean, fin: boolean): void;
  head?(json: JsonObject, fin: boolean): void;
  trailers?(json: JsonObject): void;
  exit?(code: number, signal: number, timedOut: boolean): void;
  /** The peer reset the stream, or the tunnel dropped it (`CONNECTION_LOST`). */
  reset(code: number, message: string): void;
}

export class StreamClosedError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'StreamClosedError';
    this.code = code;
  }
}

export interface StreamCounters {
  received: number;
  sent: number;
  recvWindow: number;
  sendCredit: number;
  remoteFin: boolean;
  localFin: boolean;
}

export class TunnelStream {
  readonly id: number;
  readonly kind: StreamKindName;
  handler: StreamHandler | null = null;
  /** Called after counters change, for streams that persist them (pty, exec). */
  onChange: ((stream: TunnelStream) => void) | null = null;
  c: StreamCounters;
  closed: { code: number; message: string } | null = null;
  /** Credit granted ahead of consumption (counts against the tunnel's budget while the stream lives). */
  grantedAhead = 0;
  readonly #sink: FrameSink;
  #waiters: Array<() => void> = [];

  constructor(id: number, kind: StreamKindName, sink: FrameSink, counters?: StreamCounters) {
    this.id = id;
    this.kind = kind;
    this.#sink = sink;
    this.c = counters ?? {
      received: 0,
      sent: 0,
      recvWindow: DEFAULT_WINDOW,
      sendCredit: DEFAULT_WINDOW,
      remoteFin: false,
      localFin: false,
    };
  }

  get finished(): boolean {
    return this.closed !== null || (this.c.remoteFin && this.c.localFin);
  }

  /** A frame from the sandbox for this stream. Returns a reset code on a broken rule. */
  receive(frame: Frame): number | null {
    const fin = (frame.flags & Flag.FIN) !== 0;
    switch (frame.type) {
      case 'data': {
        if (this.c.remoteFin) return CloseCode.PROTOCOL_ERROR;
        if (frame.data.length > this.c.recvWindow) return CloseCode.FLOW_CONTROL;
        this.c.recvWindow -= frame.data.length;
        this.c.received += frame.data.length;
        if (fin) this.c.remoteFin = true;
        this.onChange?.(this);
        this.handler?.data(frame.data, (frame.flags & Flag.STDERR) !== 0, fin);
        return null;
      }
      case 'window':
        if (this.c.sendCredit + frame.credit > MAX_CREDIT) return CloseCode.FLOW_CONTROL;
        this.c.sendCredit += frame.credit;
        this.onChange?.(this);
        this.#wake();
        return null;
      case 'head':
        if (fin) this.c.remoteFin = true;
        this.handler?.head?.(frame.json, fin);
        return null;
      case 'trailers':
        this.c.remoteFin = true;
        this.handler?.trailers?.(frame.json);
        return null;
      case 'exit':
        this.c.remoteFin = true;
        this.onChange?.(this);
        this.handler?.exit?.(frame.code, frame.signal, frame.timedOut);
        return null;
      case 'reset':
        this.fail(frame.code, frame.message || 'reset by the sandbox');
        return null;
      default:
        return CloseCode.PROTOCOL_ERROR;
    }
  }

  /** Mark the stream dead (peer reset, connection lost) and tell the handler once. */
  fail(code: number, message: string): void {
    if (this.closed !== null) return;
    this.closed = { code, message };
    this.#wake();
    this.handler?.reset(code, message);
  }

  /** Return credit for `n` bytes the gateway has consumed. */
  consumed(n: number): void {
    if (n <= 0 || this.closed !== null || this.c.remoteFin) return;
    this.c.recvWindow += n;
    this.onChange?.(this);
    this.#sink.send({ type: 'window', stream: this.id, flags: 0, credit: n });
  }

  /**
   * Raise the receive window by `extra` bytes before any are consumed (non-resumable streams
   * only: on pty/exec credit is the acknowledgement that frees sandboxd's replay buffer).
   */
  grantAhead(extra: number): void {
    if (extra <= 0 || this.kind === 'pty' || this.kind === 'exec') return;
    if (this.closed !== null || this.c.remoteFin) return;
    this.grantedAhead += extra;
    this.c.recvWindow += extra;
    this.#sink.send({ type: 'window', stream: this.id, flags: 0, credit: extra });
  }

  /** DATA within the sandbox's credit, waiting for WINDOW as needed. */
  async write(data: Uint8Array, options: { fin?: boolean; stderr?: boolean } = {}): Promise<void> {
    if (data.length === 0 && options.fin !== true) return;
    let offset = 0;
    do {
      if (this.closed !== null) throw new StreamClosedError(this.closed.code, this.closed.message);
      if (this.c.localFin) throw new StreamClosedError(CloseCode.PROTOCOL_ERROR, 'stream already finished');
      const left = data.length - offset;
      // No silly windows: wait for a useful amount of credit rather than dribbling tiny frames.
      if (left > 0 && this.c.sendCredit < Math.min(left, MIN_FRAME)) {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
        continue;
      }
      const take = Math.min(left, this.c.sendCredit, MAX_PAYLOAD);
      const last = offset + take === data.length;
      const fin = last && options.fin === true;
      const sent = this.#sink.send({
        type: 'data',
        stream: this.id,
        flags: (fin ? Flag.FIN : 0) | (options.stderr ? Flag.STDERR : 0),
        data: data.subarray(offset, offset + take),
      });
      if (!sent) throw new StreamClosedError(CloseCode.CONNECTION_LOST, 'the tunnel is not connected');
      this.c.sendCredit -= take;
      this.c.sent += take;
      if (fin) this.c.localFin = true;
      offset += take;
      this.onChange?.(this);
    } while (offset < data.length);
  }

  /** End the gateway's direction (an empty DATA with FIN), once. */
  finish(): void {
    if (this.c.localFin || this.closed !== null) return;
    this.c.localFin = true;
    this.onChange?.(this);
    this.#sink.send({ type: 'data', stream: this.id, flags: Flag.FIN, data: new Uint8Array(0) });
  }

  head(json: JsonObject, fin: boolean): void {
    if (this.closed !== null) return;
    if (fin) this.c.localFin = true;
    this.#sink.send({ type: 'head', stream: this.id, flags: fin ? Flag.FIN : 0, json });
  }

  reset(code: number, message: string): void {
    if (this.closed !== null) return;
    this.#sink.send({ type: 'reset', stream: this.id, flags: 0, code, message });
    this.fail(code, message);
  }

  /** Credits restart at the window of a new connection (PROTOCOL.md §4). */
  resumeWith(window: number): void {
    this.c.recvWindow = window;
    this.c.sendCredit = window;
    this.onChange?.(this);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
