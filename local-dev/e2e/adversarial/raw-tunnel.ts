import { decodeFrame, encodeFrame, Flag, type Frame, type JsonObject } from '@airlock/schema/tunnel';
import { WebSocket } from 'ws';

// The tunnel protocol spoken by hand, as root in a sandbox could: it holds
// the sandbox's token (root can read sandboxd's memory or its startup input)
// and sends whatever `http` OPEN meta it likes, bypassing sandboxd entirely.
// The gateway must treat every field as hostile.

export interface RawResponse {
  readonly status: number | null;
  readonly body: string;
  readonly reset: { code: number; message: string } | null;
}

interface Pending {
  status: number | null;
  chunks: Buffer[];
  done: (response: RawResponse) => void;
  reset: RawResponse['reset'];
}

export class RawTunnel {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** Dial `/tunnel/:session` with a bootstrap token, HELLO, await WELCOME, confirm with a PING. */
  static async dial(workerUrl: string, sessionId: string, token: string): Promise<RawTunnel> {
    const ws = new WebSocket(`${workerUrl.replace(/^http/, 'ws')}/tunnel/${sessionId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.binaryType = 'nodebuffer';
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`tunnel refused: ${res.statusCode}`)));
    });
    const tunnel = new RawTunnel(ws);
    const welcome = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no WELCOME in 10 s')), 10_000);
      ws.on('message', (data: Buffer) => {
        const frame = decodeFrame(new Uint8Array(data));
        if (frame.type === 'welcome') {
          clearTimeout(timer);
          resolve();
        }
        tunnel.#onFrame(frame);
      });
    });
    tunnel.#send({
      type: 'hello',
      stream: 0,
      flags: 0,
      json: { versions: [1], sessionId, agent: 'raw-attacker/1', streams: [] },
    });
    await welcome;
    tunnel.#send({ type: 'ping', stream: 0, flags: 0, opaque: new TextEncoder().encode('resumeok') });
    return tunnel;
  }

  #send(frame: Frame): void {
    this.#ws.send(encodeFrame(frame));
  }

  #onFrame(frame: Frame): void {
    if (frame.type === 'ping') this.#send({ type: 'pong', stream: 0, flags: 0, opaque: frame.opaque });
    if (!('stream' in frame) || frame.stream === 0) return;
    const pending = this.#pending.get(frame.stream);
    if (pending === undefined) return;
    const fin = (frame.flags & Flag.FIN) !== 0;
    if (frame.type === 'head') pending.status = Number(frame.json.status);
    if (frame.type === 'data') {
      pending.chunks.push(Buffer.from(frame.data));
      if (frame.data.length > 0)
        this.#send({ type: 'window', stream: frame.stream, flags: 0, credit: frame.data.length });
    }
    if (frame.type === 'reset') pending.reset = { code: frame.code, message: frame.message };
    if (fin || frame.type === 'reset') {
      this.#pending.delete(frame.stream);
      pending.done({
        status: pending.status,
        body: Buffer.concat(pending.chunks).toString(),
        reset: pending.reset,
      });
    }
  }

  /** One bodiless `http` stream with exactly this meta; resolves at FIN or RESET. */
  request(meta: JsonObject, timeoutMs = 20_000): Promise<RawResponse> {
    const id = this.#nextId;
    this.#nextId += 2;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer on stream ${id}`)), timeoutMs);
      this.#pending.set(id, {
        status: null,
        chunks: [],
        reset: null,
        done: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
      });
      this.#send({ type: 'open', stream: id, flags: Flag.FIN, kind: 'http', meta });
    });
  }

  close(): void {
    this.#ws.close(1000);
  }
}
