import { exports } from 'cloudflare:workers';
import type { ServerMessage } from '@airlock/schema/pty';

// A terminal viewer for tests, speaking schema/pty/PROTOCOL.md through the
// real edge route: JSON control messages, binary output, acknowledgements.

export class Viewer {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  output = new Uint8Array(0);
  received = 0;
  closed: { code: number; reason: string } | null = null;
  #waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') this.messages.push(JSON.parse(event.data) as ServerMessage);
      else {
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        const joined = new Uint8Array(this.output.length + bytes.length);
        joined.set(this.output);
        joined.set(bytes, this.output.length);
        this.output = joined;
        this.received += bytes.length;
      }
      this.#notify();
    });
    ws.addEventListener('close', (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.#notify();
    });
  }

  static async attach(sessionId: string, token: string, terminal = 'agent'): Promise<Viewer> {
    const response = await exports.default.fetch(
      new Request(
        `https://airlock.test/pty/${sessionId}?terminal=${terminal}&token=${encodeURIComponent(token)}`,
        {
          headers: { upgrade: 'websocket' },
        },
      ),
    );
    if (response.status !== 101 || response.webSocket === null)
      throw new Error(`viewer refused: ${response.status} ${await response.text()}`);
    response.webSocket.accept();
    const viewer = new Viewer(response.webSocket);
    await viewer.until('attached', () => viewer.messages.some((m) => m.type === 'attached'));
    return viewer;
  }

  get text(): string {
    return new TextDecoder().decode(this.output);
  }

  attached(): Extract<ServerMessage, { type: 'attached' }> {
    const found = this.messages.find((m) => m.type === 'attached');
    if (found?.type !== 'attached') throw new Error('not attached');
    return found;
  }

  last<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }> | undefined {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type).at(-1);
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  type(text: string): void {
    this.ws.send(new TextEncoder().encode(text));
  }

  ack(): void {
    this.send({ type: 'ack', bytes: this.received });
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`viewer timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close(1000, 'bye');
  }
}
