import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

// A hand-rolled client of sandboxd's proxy, for the requests curl will not
// send: a CONNECT target, TLS server name and Host header that disagree, and
// absolute-form targets with bytes a URL parser reads differently.

export interface ProxyAnswer {
  /** Status of the CONNECT when it was refused, else of the request. */
  readonly status: number;
  readonly body: string;
  /** The CONNECT itself was answered with this (non-2xx) status. */
  readonly connectRefused: boolean;
}

export interface ProxyRequest {
  /** `CONNECT <target>` first, then the request inside the tunnel. */
  readonly connect?: string;
  /** Inside the tunnel: TLS with this server name (`null`: TLS without SNI); undefined: plain HTTP. */
  readonly sni?: string | null;
  /** The request line target (`/` inside a tunnel, `http://…` for absolute-form). */
  readonly target: string;
  /** The Host header, or null to send none. */
  readonly host: string | null;
}

/** Bytes until the peer closes, `enough` bytes arrived, or the time is up. */
function readAll(socket: Socket, timeoutMs: number, enough = Number.POSITIVE_INFINITY): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const done = () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      done();
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received >= enough) done();
    });
    socket.once('close', done);
    socket.once('error', () => {});
  });
}

function parse(raw: string): { status: number; body: string } {
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
  const split = raw.indexOf('\r\n\r\n');
  return { status, body: split === -1 ? '' : raw.slice(split + 4) };
}

/** The proxy's answer to a CONNECT: resolves once the head has arrived. */
function connectHead(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(head);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => resolve(head));
  });
}

export async function viaProxy(
  proxy: string,
  request: ProxyRequest,
  timeoutMs = 20_000,
): Promise<ProxyAnswer> {
  const { hostname, port } = new URL(proxy);
  const socket = netConnect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let channel: Socket = socket;
  if (request.connect !== undefined) {
    socket.write(`CONNECT ${request.connect} HTTP/1.1\r\nHost: ${request.connect}\r\n\r\n`);
    const head = await connectHead(socket);
    const answer = parse(head);
    if (answer.status < 200 || answer.status > 299) {
      // The proxy keeps the connection open after a refusal: read just the declared body.
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      let body = answer.body;
      if (Buffer.byteLength(body, 'latin1') < length)
        body += await readAll(socket, 2_000, length - body.length);
      socket.destroy();
      return { status: answer.status, body, connectRefused: true };
    }
    if (request.sni !== undefined) {
      const tls = tlsConnect({
        socket,
        // An empty server name makes Node send no SNI at all.
        servername: request.sni ?? '',
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      await new Promise<void>((resolve, reject) => {
        tls.once('secureConnect', () => resolve());
        tls.once('error', reject);
      });
      channel = tls;
    }
  }
  const host = request.host === null ? '' : `Host: ${request.host}\r\n`;
  channel.write(`GET ${request.target} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
  const raw = await readAll(channel, timeoutMs);
  channel.destroy();
  return { ...parse(raw), connectRefused: false };
}

/** A loopback listener that only counts who connects: the gateway must never reach it. */
export async function startCanary(): Promise<{
  port: number;
  connections(): number;
  close(): Promise<void>;
}> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('canary has no port');
  return {
    port: address.port,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
