import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

// The origin a runner relays to, standing in for the Worker where the relay's
// behaviour is the subject: a real HTTP/1.1 + WebSocket server that records
// every request head it parses. `/runner/connect` is passed through to the
// real harness Worker (the runner needs its hub); `/tunnel/<id>` with the
// expected bearer token becomes a WebSocket that echoes; everything else is
// answered and the connection kept open — as a Worker does — so that a
// second request smuggled onto the same connection would be parsed and seen.

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  /** Lower-cased names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface RecordingOrigin {
  readonly url: string;
  /** Requests that reached the origin, in order (the runner's own `/runner/connect` excluded). */
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    out[name] = Object.hasOwn(out, name) ? `${out[name]}, ${value}` : value;
  }
  return out;
}

/** Raw pass-through of an upgrade to `target` (the runner's WebSocket to its hub). */
function passThrough(target: URL, req: IncomingMessage, socket: Socket, head: Buffer): void {
  const upstream = connect(Number(target.port), target.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? '';
      lines.push(
        name.toLowerCase() === 'host' ? `Host: ${target.host}` : `${name}: ${req.rawHeaders[i + 1]}`,
      );
    }
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream).pipe(socket);
  });
  const teardown = () => {
    socket.destroy();
    upstream.destroy();
  };
  upstream.on('error', teardown);
  upstream.on('close', teardown);
  socket.on('error', teardown);
  socket.on('close', teardown);
}

export async function startRecordingOrigin(options: {
  /** Where `/runner/connect` goes (the harness Worker). */
  readonly forward: URL;
  /** The bearer token a tunnel upgrade must carry to be accepted. */
  readonly token: string;
}): Promise<RecordingOrigin> {
  const seen: SeenRequest[] = [];
  const record = (req: IncomingMessage) =>
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: headersOf(req) });
  const sockets = new Set<Socket>();
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    record(req);
    req.resume();
    const body = `reached ${req.method} ${req.url}\n`;
    res.writeHead(req.url?.startsWith('/tunnel/') ? 426 : 200, {
      'content-type': 'text/plain',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (req.url === '/runner/connect') {
      passThrough(options.forward, req, socket, head);
      return;
    }
    record(req);
    if (req.url?.startsWith('/tunnel/') && req.headers.authorization === `Bearer ${options.token}`) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        // Garbage after the handshake (a test's probe) is a protocol error that closes the socket.
        ws.on('error', () => {});
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      return;
    }
    // Refused the way the Worker refuses: an HTTP answer, and the connection stays open, its
    // parser ready for whatever request comes next.
    socket.write(
      'HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nunauthorized\n',
    );
    if (head.length > 0) socket.unshift(head);
    server.emit('connection', socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the recording origin has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
