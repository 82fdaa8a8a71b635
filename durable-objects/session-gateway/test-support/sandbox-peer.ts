import { exports } from 'cloudflare:workers';
import { DEFAULT_PORT, parseAuthority } from '@airlock/schema/plan';
import {
  DEFAULT_WINDOW,
  decodeFrame,
  encodeFrame,
  Flag,
  type Frame,
  type JsonObject,
  MAX_PAYLOAD,
  type StreamKindName,
} from '@airlock/schema/tunnel';
import { Waiter } from './waiter.ts';

// A scripted sandbox for tests: the sandboxd side of the tunnel protocol,
// written against the same codec, talking to the real edge route and gateway.
// It opens `http` and `sign` streams like sandboxd's proxy and signer, and
// plays a terminal or a command when the gateway opens `pty`/`exec` streams.

export interface PeerStream {
  readonly id: number;
  readonly kind: StreamKindName;
  readonly meta: JsonObject;
  credit: number;
  /** gateway→sandbox DATA bytes received (HELLO `received`). */
  received: number;
  /** sandbox→gateway DATA bytes produced (HELLO `to`). */
  produced: number;
  /** Oldest produced byte still held for re-sending (HELLO `from`). */
  from: number;
  head: JsonObject | null;
  readonly chunks: Uint8Array[];
  fin: boolean;
  reset: { code: number; message: string } | null;
  readonly resizes: { cols: number; rows: number }[];
  /** Hold credit back (a sandbox that stopped reading). */
  stalled: boolean;
  owed: number;
  /** What the gateway may still send (our window plus credit returned or granted). */
  allowance: number;
  /** The gateway sent more DATA than we allowed. */
  overrun: boolean;
}

export interface HttpRequest {
  readonly method: string;
  readonly scheme?: 'http' | 'https';
  readonly authority: string;
  readonly path: string;
  readonly headers?: [string, string][];
  readonly body?: Uint8Array;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: Uint8Array;
  readonly text: string;
  header(name: string): string | undefined;
}

const decoder = new TextDecoder();

/**
 * The `http` OPEN meta sandboxd sends for a request to `authority` (PROTOCOL.md §5.3): HTTPS
 * through a CONNECT tunnel (target with its port, server name, Host), plain HTTP in absolute form.
 */
export function httpMeta(request: Omit<HttpRequest, 'body'>): JsonObject {
  const scheme = request.scheme ?? 'https';
  const parsed = parseAuthority(request.authority);
  const host = parsed.ok ? parsed.authority.host : null;
  const port = parsed.ok ? (parsed.authority.port ?? DEFAULT_PORT[scheme]) : null;
  const seen: Record<string, string> = { host: request.authority };
  if (scheme === 'http') seen.uri = request.authority;
  else {
    seen.connect = host === null ? request.authority : `${host}:${port}`;
    // Clients send no server name for an IP literal.
    if (parsed.ok && parsed.authority.kind === 'name') seen.sni = parsed.authority.host;
  }
  return {
    method: request.method,
    scheme,
    authority: { host, port, seen },
    path: request.path,
    headers: request.headers ?? [],
  };
}

export async function openTunnel(sessionId: string, token: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`https://airlock.test/tunnel/${sessionId}`, {
      headers: { upgrade: 'websocket', authorization: `Bearer ${token}` },
    }),
  );
}

export class SandboxPeer {
  readonly sessionId: string;
  ws: WebSocket | null = null;
  resumeToken = '';
  welcome: JsonObject | null = null;
  closeFrame: { code: number; message: string } | null = null;
  readonly streams = new Map<number, PeerStream>();
  #nextId = 1;
  readonly #waiter = new Waiter();
  /** Credit granted ahead on every `http`/`sign` stream we open (as sandboxd does); 0 = never. */
  grantAhead = 0;
  /** Answers `exec` streams; defaults to echoing the command line. */
  onExec: (meta: JsonObject, stdin: string) => { stdout: string; stderr?: string; code: number } = (
    meta,
  ) => ({
    stdout: `${JSON.stringify(meta.command)}\n`,
    code: 0,
  });

  constructor(sessionId: string) {
    this.sessionId = sessionId;
  }

  static async connect(sessionId: string, token: string): Promise<SandboxPeer> {
    const peer = new SandboxPeer(sessionId);
    await peer.dial(token);
    return peer;
  }

  /**
   * Dial with `token`, HELLO (listing resumable streams), await WELCOME, confirm with a PING
   * (unless `confirm` is false: a connection lost before the sandbox stored the new token).
   */
  async dial(token: string, options: { confirm?: boolean; hello?: JsonObject } = {}): Promise<void> {
    const response = await openTunnel(this.sessionId, token);
    if (response.status !== 101 || response.webSocket === null)
      throw new Error(`tunnel refused: ${response.status} ${await response.text()}`);
    const ws = response.webSocket;
    ws.accept();
    this.ws = ws;
    this.welcome = null;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (event) => this.#onMessage(new Uint8Array(event.data as ArrayBuffer)));
    ws.addEventListener('close', () => {
      if (this.ws === ws) this.ws = null;
      this.#waiter.notify();
    });
    const resumable = [...this.streams.values()].filter(
      (s) => (s.kind === 'pty' || s.kind === 'exec') && s.reset === null,
    );
    this.send({
      type: 'hello',
      stream: 0,
      flags: 0,
      json: {
        versions: [1],
        sessionId: this.sessionId,
        agent: 'test-peer/1',
        streams: resumable.map((s) => ({
          id: s.id,
          kind: s.kind,
          received: s.received,
          from: s.from,
          to: s.produced,
        })),
        ...options.hello,
      },
    });
    await this.until('WELCOME', () => this.welcome !== null || this.closeFrame !== null);
    // (Set by the message handler while we waited.)
    const welcome = this.welcome as JsonObject | null;
    if (welcome === null) throw new Error(`no WELCOME: ${JSON.stringify(this.closeFrame)}`);
    this.resumeToken = String(welcome.resumeToken);
    for (const s of resumable) s.credit = Number(welcome.window);
    if (options.confirm !== false)
      this.send({ type: 'ping', stream: 0, flags: 0, opaque: new TextEncoder().encode('resumeok') });
  }

  send(frame: Frame): void {
    if (this.ws === null) throw new Error('not connected');
    this.ws.send(encodeFrame(frame));
  }

  /** Drop the connection as a network failure would. */
  drop(): void {
    this.ws?.close(1001, 'network failure');
    this.ws = null;
  }

  until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    return this.#waiter.until(what, check, timeoutMs);
  }

  #stream(id: number, kind: StreamKindName, meta: JsonObject): PeerStream {
    const stream: PeerStream = {
      id,
      kind,
      meta,
      credit: Number(this.welcome?.window ?? DEFAULT_WINDOW),
      received: 0,
      produced: 0,
      from: 0,
      head: null,
      chunks: [],
      fin: false,
      reset: null,
      resizes: [],
      stalled: false,
      owed: 0,
      allowance: Number(this.welcome?.window ?? DEFAULT_WINDOW),
      overrun: false,
    };
    this.streams.set(id, stream);
    return stream;
  }

  #onMessage(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    const fin = (frame.flags & Flag.FIN) !== 0;
    switch (frame.type) {
      case 'welcome':
        this.welcome = frame.json;
        break;
      case 'close':
        this.closeFrame = { code: frame.code, message: frame.message };
        break;
      case 'ping':
        this.send({ type: 'pong', stream: 0, flags: 0, opaque: frame.opaque });
        break;
      case 'open': {
        const stream = this.#stream(frame.stream, frame.kind, frame.meta);
        if (frame.kind === 'exec') stream.head = {};
        break;
      }
      case 'head': {
        const stream = this.streams.get(frame.stream);
        if (stream) {
          stream.head = frame.json;
          if (fin) stream.fin = true;
        }
        break;
      }
      case 'data': {
        const stream = this.streams.get(frame.stream);
        if (!stream) break;
        stream.chunks.push(frame.data);
        stream.received += frame.data.length;
        stream.allowance -= frame.data.length;
        if (stream.allowance < 0) stream.overrun = true;
        if (fin) stream.fin = true;
        if (stream.kind === 'exec' && fin) this.#runExec(stream);
        if (frame.data.length > 0) {
          if (stream.stalled) stream.owed += frame.data.length;
          else this.#credit(stream, frame.data.length);
        }
        break;
      }
      case 'window': {
        const stream = this.streams.get(frame.stream);
        if (stream) stream.credit += frame.credit;
        break;
      }
      case 'resize':
        this.streams.get(frame.stream)?.resizes.push({ cols: frame.cols, rows: frame.rows });
        break;
      case 'reset': {
        const stream = this.streams.get(frame.stream);
        if (stream) stream.reset = { code: frame.code, message: frame.message };
        break;
      }
      default:
        break;
    }
    this.#waiter.notify();
  }

  #credit(stream: PeerStream, n: number): void {
    stream.allowance += n;
    this.send({ type: 'window', stream: stream.id, flags: 0, credit: n });
  }

  /** Stop (or resume) returning credit for a stream's data, as a sandbox that stopped reading. */
  stall(id: number, stalled: boolean): void {
    const stream = this.streams.get(id);
    if (!stream) throw new Error(`no stream ${id}`);
    stream.stalled = stalled;
    const owed = stream.owed;
    stream.owed = 0;
    if (!stalled && owed > 0) this.#credit(stream, owed);
  }

  /** DATA within credit, waiting for WINDOW frames as needed. */
  async write(
    id: number,
    data: Uint8Array,
    options: { fin?: boolean; stderr?: boolean } = {},
  ): Promise<void> {
    const stream = this.streams.get(id);
    if (!stream) throw new Error(`no stream ${id}`);
    let offset = 0;
    do {
      await this.until(
        `credit on stream ${id}`,
        () => stream.credit > 0 || data.length === 0 || stream.reset !== null,
      );
      if (stream.reset !== null) throw new Error(`stream ${id} reset: ${stream.reset.message}`);
      const take = Math.min(data.length - offset, stream.credit, MAX_PAYLOAD);
      const last = offset + take === data.length;
      this.send({
        type: 'data',
        stream: id,
        flags: (last && options.fin ? Flag.FIN : 0) | (options.stderr ? Flag.STDERR : 0),
        data: data.subarray(offset, offset + take),
      });
      stream.credit -= take;
      stream.produced += take;
      offset += take;
    } while (offset < data.length);
  }

  /** Open an `http` or `sign` stream; the response is collected by `response()`. */
  async open(
    kind: 'http' | 'sign',
    meta: JsonObject,
    body?: Uint8Array,
    options: { upgrade?: boolean } = {},
  ): Promise<number> {
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = this.#stream(id, kind, meta);
    // An upgrade keeps the sandbox's direction open for the upgraded bytes.
    const bodyless = (body === undefined || body.length === 0) && options.upgrade !== true;
    this.send({ type: 'open', stream: id, flags: bodyless ? Flag.FIN : 0, kind, meta });
    if (this.grantAhead > 0) this.#credit(stream, this.grantAhead);
    if (body !== undefined && body.length > 0) await this.write(id, body, { fin: true });
    return id;
  }

  async request(request: HttpRequest): Promise<HttpResponse> {
    const id = await this.open('http', httpMeta(request), request.body);
    return this.response(id);
  }

  async response(id: number, timeoutMs = 20_000): Promise<HttpResponse> {
    const stream = this.streams.get(id);
    if (!stream) throw new Error(`no stream ${id}`);
    await this.until(`response on stream ${id}`, () => stream.fin || stream.reset !== null, timeoutMs);
    if (stream.reset !== null)
      throw new Error(`stream ${id} reset (${stream.reset.code}): ${stream.reset.message}`);
    const head = stream.head ?? {};
    const body = concat(stream.chunks);
    const headers = (head.headers ?? []) as [string, string][];
    return {
      status: Number(head.status),
      headers,
      body,
      text: decoder.decode(body),
      header: (name) => headers.find(([n]) => n.toLowerCase() === name)?.[1],
    };
  }

  /** Terminal output from the "process" behind a gateway-opened pty stream. */
  output(id: number, text: string | Uint8Array): Promise<void> {
    return this.write(id, typeof text === 'string' ? new TextEncoder().encode(text) : text);
  }

  exit(id: number, code: number): void {
    this.send({ type: 'exit', stream: id, flags: Flag.FIN, code, signal: 0, timedOut: false });
  }

  input(id: number): string {
    return decoder.decode(concat(this.streams.get(id)?.chunks ?? []));
  }

  #runExec(stream: PeerStream): void {
    const result = this.onExec(stream.meta, decoder.decode(concat(stream.chunks)));
    void (async () => {
      await this.write(stream.id, new TextEncoder().encode(result.stdout));
      if (result.stderr)
        await this.write(stream.id, new TextEncoder().encode(result.stderr), { stderr: true });
      this.exit(stream.id, result.code);
    })();
  }
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
