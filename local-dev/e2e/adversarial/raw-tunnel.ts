import {
  decodeFrame,
  encodeFrame,
  Flag,
  type Frame,
  type JsonObject,
  MAX_PAYLOAD,
} from '@airlock/schema/tunnel';
import { WebSocket } from 'ws';

// What root inside a sandbox can do instead of running sandboxd: it holds the
// sandbox's token (root can read sandboxd's memory or its startup input) and
// speaks the tunnel protocol (schema/tunnel/PROTOCOL.md) directly, with the
// real codec, to the real gateway: any `http` OPEN meta it likes, credit
// withheld, streams opened without end, data chopped into tiny frames. The
// gateway must treat every field as hostile. Node twin of the DO suites'
// scripted peer (durable-objects/session-gateway/test-support).

export interface RawResponse {
  readonly status: number | null;
  readonly body: string;
  readonly reset: { code: number; message: string } | null;
}

export interface RawStream {
  readonly id: number;
  /** DATA the gateway may still send us, as far as we know (we may never return it). */
  credit: number;
  head: JsonObject | null;
  readonly chunks: Buffer[];
  received: number;
  fin: boolean;
  reset: { code: number; message: string } | null;
  /** Return credit for what arrives (a sandbox that reads); false = never. */
  reads: boolean;
}

export class RawTunnel {
  readonly #ws: WebSocket;
  readonly streams = new Map<number, RawStream>();
  closeFrame: { code: number; message: string } | null = null;
  closed = false;
  #nextId = 1;
  #waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** Dial `/tunnel/{sessionId}` with a bootstrap token, HELLO, WELCOME, confirm. */
  static dial(workerUrl: string, sessionId: string, token: string): Promise<RawTunnel> {
    return RawTunnel.connect(workerUrl, sessionId, token);
  }

  static async connect(workerUrl: string, sessionId: string, token: string): Promise<RawTunnel> {
    const ws = new WebSocket(`${workerUrl.replace(/^http/, 'ws')}/tunnel/${sessionId}`, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD + 64,
    });
    const tunnel = new RawTunnel(ws);
    let welcome: JsonObject | null = null;
    ws.on('message', (data: Buffer) => {
      const frame = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (frame.type === 'welcome') welcome = frame.json;
      else tunnel.#onFrame(frame);
      tunnel.#notify();
    });
    ws.on('close', () => {
      tunnel.closed = true;
      tunnel.#notify();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    tunnel.send({
      type: 'hello',
      stream: 0,
      flags: 0,
      json: { versions: [1], sessionId, agent: 'raw-attacker/1', streams: [] },
    });
    await tunnel.until('WELCOME', () => welcome !== null || tunnel.closed);
    if (welcome === null) throw new Error(`no WELCOME: ${JSON.stringify(tunnel.closeFrame)}`);
    tunnel.send({ type: 'ping', stream: 0, flags: 0, opaque: new TextEncoder().encode('resumeok') });
    return tunnel;
  }

  send(frame: Frame): void {
    this.#ws.send(encodeFrame(frame));
  }

  /** Resolves once the socket has handed everything queued to the kernel. */
  async drain(): Promise<void> {
    while (this.#ws.bufferedAmount > 0 && !this.closed) await new Promise((r) => setTimeout(r, 5));
  }

  close(): void {
    this.#ws.terminate();
  }

  #notify(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #onFrame(frame: Frame): void {
    if (frame.type === 'close') {
      this.closeFrame = { code: frame.code, message: frame.message };
      return;
    }
    if (frame.type === 'ping') {
      this.send({ type: 'pong', stream: 0, flags: 0, opaque: frame.opaque });
      return;
    }
    const stream = this.streams.get(frame.stream);
    if (stream === undefined) return;
    const fin = (frame.flags & Flag.FIN) !== 0;
    if (frame.type === 'head') {
      stream.head = frame.json;
      if (fin) stream.fin = true;
    } else if (frame.type === 'data') {
      stream.chunks.push(Buffer.from(frame.data));
      stream.received += frame.data.length;
      if (fin) stream.fin = true;
      if (stream.reads && frame.data.length > 0)
        this.send({ type: 'window', stream: stream.id, flags: 0, credit: frame.data.length });
    } else if (frame.type === 'window') {
      stream.credit += frame.credit;
    } else if (frame.type === 'reset') {
      stream.reset = { code: frame.code, message: frame.message };
    }
  }

  /** OPEN an `http` stream; `fin` when the request has no body (and is no upgrade). */
  openHttp(meta: JsonObject, options: { fin?: boolean; reads?: boolean } = {}): RawStream {
    const id = this.#nextId;
    this.#nextId += 2;
    const stream: RawStream = {
      id,
      credit: 65_536,
      head: null,
      chunks: [],
      received: 0,
      fin: false,
      reset: null,
      reads: options.reads ?? true,
    };
    this.streams.set(id, stream);
    this.send({ type: 'open', stream: id, flags: options.fin ? Flag.FIN : 0, kind: 'http', meta });
    return stream;
  }

  /** One bodiless `http` stream with exactly this meta; resolves at FIN or RESET. */
  async request(meta: JsonObject, timeoutMs = 20_000): Promise<RawResponse> {
    const stream = this.openHttp(meta, { fin: true });
    await this.until(
      `an answer on stream ${stream.id}`,
      () => stream.fin || stream.reset !== null,
      timeoutMs,
    );
    const status = stream.head === null ? null : Number(stream.head.status);
    return { status, body: this.body(stream), reset: stream.reset };
  }

  /** DATA in frames of `frameSize` bytes, within the credit the gateway gave. */
  async write(stream: RawStream, data: Uint8Array, frameSize = MAX_PAYLOAD, fin = false): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      await this.until(`credit on stream ${stream.id}`, () => stream.credit > 0 || stream.reset !== null);
      if (stream.reset !== null) throw new Error(`stream ${stream.id} reset: ${stream.reset.message}`);
      const take = Math.min(frameSize, stream.credit, data.length - offset);
      const last = offset + take === data.length;
      this.send({
        type: 'data',
        stream: stream.id,
        flags: last && fin ? Flag.FIN : 0,
        data: data.subarray(offset, offset + take),
      });
      stream.credit -= take;
      offset += take;
      // Let the socket breathe now and then (and credit arrive).
      if (this.#ws.bufferedAmount > 4 * 1024 * 1024) await this.drain();
    }
  }

  body(stream: RawStream): string {
    return Buffer.concat(stream.chunks).toString('utf8');
  }
}

/**
 * A request head as sandboxd puts it in OPEN for intercepted HTTPS (PROTOCOL.md §5.3, ADR 0105):
 * the host it parsed, the port, and what it saw (CONNECT target, server name, Host header).
 */
export function httpMeta(
  method: string,
  host: string,
  path: string,
  headers: [string, string][] = [],
): JsonObject {
  const authority = { host, port: 443, seen: { connect: `${host}:443`, sni: host, host } };
  return { method, scheme: 'https', authority, path, headers };
}
