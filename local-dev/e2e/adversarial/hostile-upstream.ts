import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

// Upstreams that misbehave on purpose, for the gateway's attack tests. Plain
// HTTP on loopback; the plan's brokered routes pin requests here. Each holds
// its state in memory for the test to inspect, and every loop is bounded.
//
//   /ok                     200 "ok"
//   /hold                   a response that waits until `releaseHolds()` (counts the waiting ones;
//                           answered at once after a release, until `holdAgain()`)
//   /collect                records the request (a redirect's target: must never be reached)
//   upgrade /ws-redirect    302 to `redirectTo`, the way a hostile upstream would steal a credential
//   upgrade /ws-refuse      200 with a body: the first chunk at once, the rest after `releaseRefusal()`
//   upgrade /ws-echo        a WebSocket that echoes every message
//   upgrade /ws-flood?mib=n a WebSocket that sends n MiB (default 256) in 64 KiB messages, as fast
//                           as they leave, and then waits

export interface HostileUpstream {
  readonly url: string;
  /** Requests that reached /collect (with their headers). */
  readonly collected: { url: string; headers: IncomingMessage['headers'] }[];
  /** Where /ws-redirect points (set by the test). */
  redirectTo: string;
  /** Requests waiting in /hold. */
  held(): number;
  releaseHolds(): void;
  holdAgain(): void;
  releaseRefusal(): void;
  /** Bytes each /ws-flood connection handed to its socket, by connection. */
  readonly floods: { sent: number; closed: boolean; closeCode: number | null }[];
  close(): Promise<void>;
}

/** Bound on what one flood connection sends, whatever happens. */
const FLOOD_LIMIT = 256 * 1024 * 1024;
const FLOOD_MESSAGE = Buffer.alloc(64 * 1024, 0x61);
export const REFUSAL_FIRST = 'the first part of a refusal body\n';

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const holds: ServerResponse[] = [];
  let holding = true;
  let refusalRelease: () => void = () => {};
  const refusalReleased = new Promise<void>((resolve) => {
    refusalRelease = resolve;
  });
  const state: HostileUpstream = {
    url: '',
    collected: [],
    redirectTo: 'http://127.0.0.1:9/collect',
    held: () => holds.filter((r) => !r.writableEnded).length,
    releaseHolds: () => {
      holding = false;
      for (const res of holds.splice(0)) if (!res.writableEnded) res.end('released');
    },
    holdAgain: () => {
      holding = true;
    },
    releaseRefusal: () => refusalRelease(),
    floods: [],
    close: async () => {},
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://upstream').pathname;
    if (path === '/collect') {
      state.collected.push({ url: req.url ?? '', headers: { ...req.headers } });
      res.end('collected');
      return;
    }
    // The body is not read: a held upload stays in the gateway's flow control.
    if (path === '/hold') {
      if (holding) holds.push(res);
      else res.end('released');
      return;
    }
    if (path === '/ok') {
      res.end('ok');
      return;
    }
    res.statusCode = 404;
    res.end('no such path');
  });

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const flood = (ws: WebSocket, limit: number) => {
    const record = { sent: 0, closed: false, closeCode: null as number | null };
    state.floods.push(record);
    ws.on('close', (code) => {
      record.closed = true;
      record.closeCode = code;
    });
    ws.on('error', () => {});
    // Keep a few messages in the socket; count a message once the socket took it.
    let inFlight = 0;
    const pump = () => {
      while (!record.closed && inFlight < 4 && record.sent + inFlight * FLOOD_MESSAGE.length < limit) {
        inFlight++;
        ws.send(FLOOD_MESSAGE, { binary: true }, (error) => {
          inFlight--;
          if (error === undefined || error === null) record.sent += FLOOD_MESSAGE.length;
          else record.closed = true;
          pump();
        });
      }
    };
    pump();
  };

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const path = url.pathname;
    socket.on('error', () => {});
    if (path === '/collect') {
      state.collected.push({ url: req.url ?? '', headers: { ...req.headers } });
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\ncollected');
      return;
    }
    if (path === '/ws-redirect') {
      socket.end(
        `HTTP/1.1 302 Found\r\nlocation: ${state.redirectTo}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
      );
      return;
    }
    if (path === '/ws-refuse') {
      socket.write(
        'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n',
      );
      const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
      socket.write(chunk(REFUSAL_FIRST));
      void refusalReleased.then(() => socket.end(`${chunk('the rest\n')}0\r\n\r\n`));
      return;
    }
    if (path === '/ws-echo' || path === '/ws-flood') {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const mib = Number(url.searchParams.get('mib') ?? '256');
        if (path === '/ws-flood') return flood(ws, Math.min(mib * 1024 * 1024, FLOOD_LIMIT));
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('error', () => {});
      });
      return;
    }
    socket.destroy();
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      state.releaseHolds();
      refusalRelease();
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
