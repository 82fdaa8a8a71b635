import {
  ACK_EVERY_BYTES,
  Problem,
  type TerminalClientMessage,
  type TerminalServerMessage,
} from '@airlock/schema/api';
import WebSocket from 'ws';
import { ApiError } from '../api-client.ts';

// One viewer connection to a session terminal (schema/pty/PROTOCOL.md) from
// Node: `/pty/{sessionId}?terminal=…` with the API token as a Bearer header
// (ws lets us set it, and read the problem+json of a refused upgrade, which
// the global WebSocket cannot). It acknowledges output as it arrives and
// pings; what to do with output and control messages is the caller's.

export type AttachedMessage = Extract<TerminalServerMessage, { type: 'attached' }>;

export interface ViewerEvents {
  attached(message: AttachedMessage): void;
  output(bytes: Buffer): void;
  control(message: Exclude<TerminalServerMessage, AttachedMessage>): void;
  closed(code: number, reason: string): void;
}

export interface ViewerOptions {
  readonly url: string;
  readonly sessionId: string;
  readonly terminal: string;
  readonly readOnly: boolean;
  readonly headers: Record<string, string>;
  readonly pingEveryMs?: number;
}

export class TerminalViewer {
  readonly #socket: WebSocket;
  #received = 0;
  #acked = 0;
  #ping: ReturnType<typeof setInterval> | null = null;
  /** Settles when the socket is open, or with an ApiError (the gateway's problem+json) when the upgrade is refused. */
  readonly opened: Promise<void>;

  /**
   * Starts connecting at once. The viewer exists before any event fires (the first messages can
   * arrive in the same tick as the upgrade), so event handlers may act on it right away.
   */
  constructor(options: ViewerOptions, events: ViewerEvents) {
    const target = new URL(`/pty/${encodeURIComponent(options.sessionId)}`, options.url);
    target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
    target.searchParams.set('terminal', options.terminal);
    if (options.readOnly) target.searchParams.set('mode', 'ro');
    const socket = new WebSocket(target, { headers: options.headers, perMessageDeflate: false });
    this.#socket = socket;
    this.opened = new Promise((resolve, reject) => {
      socket.once('unexpected-response', (_request, response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          let problem: Problem | null = null;
          try {
            const parsed = Problem.safeParse(JSON.parse(text));
            problem = parsed.success ? parsed.data : null;
          } catch {
            problem = null;
          }
          reject(
            new ApiError(
              response.statusCode ?? 0,
              problem,
              `The terminal refused the connection (HTTP ${response.statusCode}).`,
            ),
          );
        });
      });
      socket.once('error', (error) =>
        reject(new ApiError(0, null, `Cannot reach the terminal: ${error.message}`)),
      );
      socket.once('open', () => {
        this.#ping = setInterval(() => this.#control({ type: 'ping' }), options.pingEveryMs ?? 25_000);
        resolve();
      });
    });
    socket.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        this.#received += buffer.length;
        events.output(buffer);
        if (this.#received - this.#acked >= ACK_EVERY_BYTES) {
          this.#acked = this.#received;
          this.#control({ type: 'ack', bytes: this.#received });
        }
        return;
      }
      let message: TerminalServerMessage;
      try {
        message = JSON.parse(buffer.toString('utf8')) as TerminalServerMessage;
      } catch {
        return;
      }
      if (message.type === 'attached') events.attached(message);
      else events.control(message);
    });
    socket.on('close', (code, reason) => {
      if (this.#ping !== null) clearInterval(this.#ping);
      events.closed(code, reason.toString('utf8'));
    });
  }

  /** Connects and waits until open (rejects with an ApiError when refused). */
  static async connect(options: ViewerOptions, events: ViewerEvents): Promise<TerminalViewer> {
    const viewer = new TerminalViewer(options, events);
    await viewer.opened;
    return viewer;
  }

  /** Keystrokes (the gateway accepts them from the writer only). */
  send(bytes: Buffer | Uint8Array): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(bytes, { binary: true });
  }

  resize(cols: number, rows: number): void {
    this.#control({ type: 'resize', cols: clamp(cols), rows: clamp(rows) });
  }

  claim(): void {
    this.#control({ type: 'claim' });
  }

  close(): void {
    if (this.#ping !== null) clearInterval(this.#ping);
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING)
      this.#socket.close(1000, 'viewer left');
  }

  #control(message: TerminalClientMessage): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }
}

const clamp = (n: number) => Math.max(1, Math.min(1000, Math.floor(n) || 1));
