import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from './log.ts';

// A Docker sandbox has no network; its only way out is a unix socket the
// runner mounts into it (ADR 0032). That socket carries exactly one thing: the
// WebSocket upgrade to the sandbox's own `/tunnel/<sessionId>` (ADR 0110).
// Node's HTTP parser reads the request head (strict, size- and time-bounded);
// the upgrade is re-issued to the Worker with only the WebSocket headers and
// the bearer token, and Host set to the Worker's. Bytes flow both ways only
// after the Worker answers 101; any other answer is passed back and the
// connection closed. Anything else — another path, method or session, a plain
// request, a body, bytes before the 101, a second request — is refused and
// the connection closed, so nothing but the one upgrade reaches the Worker.

const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CONNECTIONS = 8;
const HEAD_TIMEOUT_MS = 10_000;
/** How long the Worker may take to answer the upgrade. */
const UPSTREAM_TIMEOUT_MS = 30_000;
/** Of a refusal's body, what is passed back to the sandbox (sandboxd logs it). */
const MAX_REFUSAL_BODY = 4 * 1024;
export const SOCKET_NAME = 'gateway.sock';

/** Request headers passed on to the Worker; every other header the sandbox sends is dropped. */
const FORWARDED = [
  'authorization',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
] as const;

export interface RelayTarget {
  readonly origin: URL;
}

type Verdict = { ok: true; headers: OutgoingHttpHeaders } | { ok: false; status: number; reason: string };

/**
 * Whether a parsed upgrade request is the sandbox's own tunnel upgrade, and the headers to send
 * the Worker if so. Exported for tests.
 */
export function checkUpgrade(
  req: Pick<IncomingMessage, 'method' | 'url' | 'httpVersion' | 'headers'>,
  sessionId: string,
  origin: URL,
): Verdict {
  const refuse = (status: number, reason: string): Verdict => ({ ok: false, status, reason });
  if (req.method !== 'GET' || req.httpVersion !== '1.1')
    return refuse(405, 'only a GET upgrade to the tunnel is relayed');
  if (req.url !== `/tunnel/${sessionId}`) return refuse(403, `only /tunnel/${sessionId} is relayed`);
  const h: IncomingHttpHeaders = req.headers;
  if (h.upgrade?.toLowerCase() !== 'websocket') return refuse(400, 'only a WebSocket upgrade is relayed');
  if (h['transfer-encoding'] !== undefined || (h['content-length'] ?? '0') !== '0')
    return refuse(400, 'an upgrade carries no body');
  const headers: OutgoingHttpHeaders = { host: origin.host, connection: 'Upgrade', upgrade: 'websocket' };
  for (const name of FORWARDED) {
    const value = h[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return { ok: true, headers };
}

/** Write a last answer, then close the connection (not half-close: nothing more is read from it). */
function closeWith(client: Duplex, answer: Buffer): void {
  client.removeAllListeners('data');
  if (!client.writable) {
    client.destroy();
    return;
  }
  client.end(answer, () => client.destroy());
  // A peer that never reads must not keep the connection open.
  setTimeout(() => client.destroy(), 2_000).unref();
}

function answer(status: number, statusText: string, contentType: string, body: Buffer): Buffer {
  const head =
    `HTTP/1.1 ${status} ${statusText}\r\ncontent-type: ${contentType}\r\n` +
    `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const STATUS_TEXT = new Map([
  [400, 'Bad Request'],
  [403, 'Forbidden'],
  [405, 'Method Not Allowed'],
  [408, 'Request Timeout'],
  [431, 'Request Header Fields Too Large'],
  [502, 'Bad Gateway'],
  [504, 'Gateway Timeout'],
]);

function refuse(client: Duplex, status: number, reason: string): void {
  closeWith(
    client,
    answer(
      status,
      STATUS_TEXT.get(status) ?? 'Refused',
      'text/plain; charset=utf-8',
      Buffer.from(`${reason}\n`),
    ),
  );
}

export class RelayManager {
  readonly #servers = new Map<string, Server>();
  readonly #root: string;
  readonly #target: RelayTarget;
  readonly #log: Logger;

  constructor(input: { stateDir: string; target: RelayTarget; log: Logger }) {
    this.#root = join(input.stateDir, 'sandboxes');
    this.#target = input.target;
    this.#log = input.log;
    mkdirSync(this.#root, { recursive: true, mode: 0o700 });
  }

  /** The host directory mounted into the sandbox. */
  dirOf(sandboxId: string): string {
    return join(this.#root, sandboxId);
  }

  isOpen(sandboxId: string): boolean {
    return this.#servers.has(sandboxId);
  }

  /** Listen on the sandbox's socket (again, after a restart). Idempotent. */
  async open(sandboxId: string, sessionId: string): Promise<string> {
    const dir = this.dirOf(sandboxId);
    if (this.#servers.has(sandboxId)) return dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, SOCKET_NAME);
    rmSync(path, { force: true });
    const server = createServer({
      maxHeaderSize: MAX_HEAD_BYTES,
      headersTimeout: HEAD_TIMEOUT_MS,
      requestTimeout: HEAD_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    });
    server.maxConnections = MAX_CONNECTIONS;
    const refused = (what: string, client: Duplex, status: number, reason: string) => {
      this.#log.warn('relay refused a request', { sandboxId, what: what.slice(0, 200), reason });
      refuse(client, status, reason);
    };
    server.on('request', (req: IncomingMessage) =>
      refused(
        `${req.method} ${req.url}`,
        req.socket,
        403,
        'only a WebSocket upgrade to the tunnel is relayed',
      ),
    );
    server.on('connect', (req: IncomingMessage, client: Duplex) =>
      refused(`CONNECT ${req.url}`, client, 405, 'only a GET upgrade to the tunnel is relayed'),
    );
    server.on('clientError', (error: NodeJS.ErrnoException, client: Duplex) => {
      if (error.code === 'HPE_HEADER_OVERFLOW')
        refused('an oversized head', client, 431, 'request head too large');
      else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
        refused('a slow head', client, 408, 'request head too slow');
      else if (error.code === 'ECONNRESET') client.destroy();
      else refused('a malformed request', client, 400, 'malformed request');
    });
    server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
      const verdict = checkUpgrade(req, sessionId, this.#target.origin);
      if (!verdict.ok) return refused(`${req.method} ${req.url}`, client, verdict.status, verdict.reason);
      // A WebSocket client sends nothing before the 101; anything that does is not one.
      if (head.length > 0)
        return refused('bytes after the head', client, 400, 'nothing may follow the upgrade');
      this.#relay(client, `/tunnel/${sessionId}`, verdict.headers, sandboxId);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Root in the sandbox (sandboxd) may connect; the agent's user may not.
    chmodSync(path, 0o600);
    server.on('error', (error) => this.#log.warn('relay socket error', { sandboxId, error: error.message }));
    this.#servers.set(sandboxId, server);
    return dir;
  }

  /** Stop listening and remove the sandbox's directory. */
  async close(sandboxId: string): Promise<void> {
    const server = this.#servers.get(sandboxId);
    this.#servers.delete(sandboxId);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.dirOf(sandboxId), { recursive: true, force: true });
  }

  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.#servers.entries()].map(
        ([, server]) => new Promise<void>((resolve) => server.close(() => resolve())),
      ),
    );
    this.#servers.clear();
  }

  /** The checked upgrade, re-issued to the Worker; both ways joined only once it answers 101. */
  #relay(client: Socket, path: string, headers: OutgoingHttpHeaders, sandboxId: string): void {
    const origin = this.#target.origin;
    const secure = origin.protocol === 'https:';
    const hostname = origin.hostname.replace(/^\[|\]$/g, '');
    const upstream = (secure ? httpsRequest : httpRequest)({
      hostname,
      port: Number(origin.port || (secure ? 443 : 80)),
      method: 'GET',
      path,
      headers,
      agent: false,
      timeout: UPSTREAM_TIMEOUT_MS,
      ...(secure ? { servername: hostname, ALPNProtocols: ['http/1.1'] } : {}),
    });
    // Settled once: joined (101), answered (any other status), or refused.
    let settled = false;
    const settle = () => {
      const first = !settled;
      settled = true;
      return first;
    };
    const fail = (what: string, status: number, reason: string) => {
      if (!settle()) return;
      upstream.destroy();
      this.#log.warn('relay refused a request', { sandboxId, what, reason });
      refuse(client, status, reason);
    };
    // A WebSocket client waits for the 101; bytes before it would reach the Worker as a request.
    const early = () =>
      fail('bytes before the 101', 400, 'nothing may be sent before the upgrade is answered');
    client.on('data', early);
    client.on('error', () => client.destroy());
    client.once('close', () => {
      if (settle()) upstream.destroy();
    });
    upstream.on('upgrade', (res: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      if (!settle()) {
        upSocket.destroy();
        return;
      }
      client.off('data', early);
      const lines = [`HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
        lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      client.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upHead.length > 0) client.write(upHead);
      upSocket.setNoDelay(true);
      const teardown = () => {
        client.destroy();
        upSocket.destroy();
      };
      upSocket.on('error', teardown);
      upSocket.on('close', teardown);
      client.on('close', teardown);
      upSocket.pipe(client);
      client.pipe(upSocket);
    });
    upstream.on('response', (res: IncomingMessage) => {
      if (!settle()) {
        res.destroy();
        return;
      }
      // The Worker refused (a bad token, a session that is gone): its answer goes back and the
      // connection closes — it is never reused for another request.
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        upstream.destroy();
        const type = res.headers['content-type'] ?? 'text/plain';
        closeWith(
          client,
          answer(res.statusCode ?? 502, res.statusMessage ?? '', type, Buffer.concat(chunks)),
        );
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk.subarray(0, Math.max(0, MAX_REFUSAL_BODY - size)));
        size += chunk.length;
        if (size >= MAX_REFUSAL_BODY) finish();
      });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    upstream.on('timeout', () => fail('the gateway did not answer', 504, 'the gateway did not answer'));
    upstream.on('error', (error) => {
      this.#log.warn('relay upstream failed', { sandboxId, error: error.message });
      fail('the gateway is unreachable', 502, 'the gateway is unreachable');
    });
    upstream.end();
  }
}
