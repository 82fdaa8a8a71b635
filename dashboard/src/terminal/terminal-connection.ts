import {
  ACK_EVERY_BYTES,
  type TerminalClientMessage,
  type TerminalServerMessage,
  type TerminalStatus,
  ViewerCloseCode,
  type ViewerMode,
} from '@airlock/schema/api';

// The browser side of a session terminal (schema/pty/PROTOCOL.md) as a small
// state machine, independent of React and xterm so it can be tested against a
// real WebSocket server:
//
//   idle → connecting → live ⇄ (waiting → connecting …) → ended | failed
//
// Every (re)connect fetches a fresh single-use token. On attach the gateway
// sends `replay` bytes of scrollback: the terminal is reset first, so a
// reload or a reconnect redraws the screen instead of appending to it; a
// `resync` (after falling behind) does the same. Output is acknowledged every
// ACK_EVERY_BYTES. Lost connections retry with exponential backoff and
// jitter; an ended session, a refused login or a protocol error stop for good.

export type TerminalState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'connecting'; readonly attempt: number }
  | {
      readonly kind: 'live';
      readonly mode: ViewerMode;
      readonly writer: boolean;
      readonly viewers: number;
      readonly status: TerminalStatus;
      readonly cols: number;
      readonly rows: number;
      /** Output older than the scrollback that could not be replayed. */
      readonly trimmed: number;
    }
  | {
      readonly kind: 'waiting';
      readonly attempt: number;
      readonly retryInMs: number;
      readonly reason: string;
    }
  | { readonly kind: 'ended'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

/** Where output goes (an xterm in the page; a buffer in tests). */
export interface TerminalSink {
  reset(): void;
  write(bytes: Uint8Array): void;
}

export interface TicketError {
  /** `ended`: the session is over; `refused`: not allowed (logged out, not found); `retry`: try again. */
  readonly outcome: 'ended' | 'refused' | 'retry';
  readonly message: string;
}

export interface TerminalConnectionOptions {
  /** A fresh single-use ticket: an absolute ws(s) URL with its token. Throw a TicketError to classify failures. */
  readonly ticket: () => Promise<{ url: string; mode: ViewerMode }>;
  readonly sink: TerminalSink;
  readonly onState: (state: TerminalState) => void;
  /** A protocol `error` message from the gateway (e.g. NOT_WRITER), for the UI to show. */
  readonly onNotice?: (message: string) => void;
  readonly openSocket?: (url: string) => WebSocket;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly pingEveryMs?: number;
  readonly random?: () => number;
}

const encoder = new TextEncoder();

export function isTicketError(value: unknown): value is TicketError {
  return typeof value === 'object' && value !== null && 'outcome' in value && 'message' in value;
}

export class TerminalConnection {
  #state: TerminalState = { kind: 'idle' };
  #socket: WebSocket | null = null;
  #attempt = 0;
  #received = 0;
  #acked = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #ping: ReturnType<typeof setInterval> | null = null;
  #stopped = false;
  #size: { cols: number; rows: number } | null = null;
  readonly #options: TerminalConnectionOptions;

  constructor(options: TerminalConnectionOptions) {
    this.#options = options;
  }

  get state(): TerminalState {
    return this.#state;
  }

  start(): void {
    this.#stopped = false;
    const kind = this.#state.kind;
    if (kind === 'idle' || kind === 'waiting' || kind === 'failed') void this.#connect();
  }

  /** Close for good (the page is leaving). */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, 'viewer left');
    if (this.#state.kind !== 'ended' && this.#state.kind !== 'failed') this.#set({ kind: 'idle' });
  }

  /** Keystrokes; dropped unless this viewer is the writer (the view disables input otherwise). */
  send(data: string | Uint8Array): boolean {
    if (this.#state.kind !== 'live' || !this.#state.writer || this.#socket === null) return false;
    this.#socket.send(typeof data === 'string' ? encoder.encode(data) : data);
    return true;
  }

  /** The terminal's size here; sent when this viewer writes (only the writer sizes the PTY). */
  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
    if (this.#state.kind === 'live' && this.#state.writer) this.#control({ type: 'resize', cols, rows });
  }

  /** Take over typing from another read-write viewer. */
  claim(): void {
    this.#control({ type: 'claim' });
  }

  release(): void {
    this.#control({ type: 'release' });
  }

  #set(state: TerminalState): void {
    this.#state = state;
    this.#options.onState(state);
  }

  #control(message: TerminalClientMessage): void {
    if (this.#socket?.readyState === 1) this.#socket.send(JSON.stringify(message));
  }

  #clearTimers(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#ping !== null) clearInterval(this.#ping);
    this.#timer = null;
    this.#ping = null;
  }

  async #connect(): Promise<void> {
    this.#clearTimers();
    this.#attempt += 1;
    this.#set({ kind: 'connecting', attempt: this.#attempt });
    let ticket: { url: string; mode: ViewerMode };
    try {
      ticket = await this.#options.ticket();
    } catch (error) {
      if (this.#stopped) return;
      const failure = isTicketError(error) ? error : { outcome: 'retry' as const, message: String(error) };
      if (failure.outcome === 'ended') this.#set({ kind: 'ended', reason: failure.message });
      else if (failure.outcome === 'refused') this.#set({ kind: 'failed', reason: failure.message });
      else this.#retry(failure.message);
      return;
    }
    if (this.#stopped) return;
    const socket = (this.#options.openSocket ?? ((url) => new WebSocket(url)))(ticket.url);
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    this.#received = 0;
    this.#acked = 0;
    socket.addEventListener('message', (event) => {
      if (this.#socket !== socket) return;
      if (typeof event.data === 'string') this.#onControl(event.data);
      else this.#onOutput(new Uint8Array(event.data as ArrayBuffer));
    });
    socket.addEventListener('close', (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#clearTimers();
      if (this.#stopped) return;
      if (event.code === ViewerCloseCode.SESSION_ENDED)
        this.#set({ kind: 'ended', reason: event.reason || 'The session has ended.' });
      else if (event.code === ViewerCloseCode.PROTOCOL_ERROR)
        this.#set({
          kind: 'failed',
          reason: event.reason || 'The gateway closed the terminal (protocol error).',
        });
      else
        this.#retry(
          event.code === 1000 ? 'The terminal connection closed.' : 'The terminal connection was lost.',
        );
    });
  }

  #retry(reason: string): void {
    const base = this.#options.baseDelayMs ?? 500;
    const max = this.#options.maxDelayMs ?? 15_000;
    const exponential = Math.min(max, base * 2 ** Math.max(0, this.#attempt - 1));
    const delay = Math.round(exponential * (0.5 + (this.#options.random ?? Math.random)() / 2));
    this.#set({ kind: 'waiting', attempt: this.#attempt, retryInMs: delay, reason });
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }

  #onControl(text: string): void {
    let message: TerminalServerMessage;
    try {
      message = JSON.parse(text) as TerminalServerMessage;
    } catch {
      return;
    }
    const live = this.#state.kind === 'live' ? this.#state : null;
    switch (message.type) {
      case 'attached':
        this.#attempt = 0;
        this.#options.sink.reset();
        this.#set({
          kind: 'live',
          mode: message.mode,
          writer: message.writer,
          viewers: message.viewers,
          status: message.status,
          cols: message.cols,
          rows: message.rows,
          trimmed: message.trimmed,
        });
        if (message.writer && this.#size !== null) this.resize(this.#size.cols, this.#size.rows);
        this.#claimIfAlone();
        this.#ping = setInterval(() => this.#control({ type: 'ping' }), this.#options.pingEveryMs ?? 25_000);
        return;
      case 'resync':
        this.#options.sink.reset();
        return;
      case 'writer':
        if (live !== null) {
          this.#set({ ...live, writer: message.writer });
          if (message.writer && this.#size !== null) this.resize(this.#size.cols, this.#size.rows);
        }
        return;
      case 'viewers':
        if (live !== null) this.#set({ ...live, viewers: message.count });
        return;
      case 'resize':
        if (live !== null) this.#set({ ...live, cols: message.cols, rows: message.rows });
        return;
      case 'status':
        if (live !== null) {
          this.#set({ ...live, status: message.status });
          this.#claimIfAlone();
        }
        return;
      case 'exit':
        if (live !== null) this.#set({ ...live, status: 'exited' });
        return;
      case 'error':
        this.#options.onNotice?.(message.message);
        return;
      case 'pong':
        return;
    }
  }

  /**
   * The gateway names a writer only once the terminal runs; a read-write
   * viewer that is alone on a running terminal takes the keyboard itself
   * (with others watching, taking over stays an explicit choice).
   */
  #claimIfAlone(): void {
    const live = this.#state.kind === 'live' ? this.#state : null;
    if (live !== null && live.mode === 'rw' && !live.writer && live.viewers <= 1 && live.status === 'running')
      this.claim();
  }

  #onOutput(bytes: Uint8Array): void {
    this.#options.sink.write(bytes);
    this.#received += bytes.length;
    if (this.#received - this.#acked >= ACK_EVERY_BYTES) {
      this.#acked = this.#received;
      this.#control({ type: 'ack', bytes: this.#received });
    }
  }
}
