import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from './log.ts';

// A Docker sandbox has no network; its only way out is a unix socket the
// runner mounts into it. Each connection on the socket is relayed as raw bytes
// to the Worker's origin, where sandboxd's WebSocket upgrade reaches
// `/tunnel/<sessionId>`. The runner reads only the request head: the path
// must be this sandbox's tunnel, and Host is set to the Worker's (the sandbox
// says `localhost`; behind TLS and a CDN the real host matters). Everything
// after the head (the WebSocket) is passed through untouched (ADR 0032).

const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CONNECTIONS = 8;
const HEAD_TIMEOUT_MS = 10_000;
export const SOCKET_NAME = 'gateway.sock';

export interface RelayTarget {
  readonly origin: URL;
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
    const server = createServer((client) => this.#relay(client, sessionId, sandboxId));
    server.maxConnections = MAX_CONNECTIONS;
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

  #relay(client: Socket, sessionId: string, sandboxId: string): void {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => client.destroy(), HEAD_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_HEAD_BYTES) refuse(client, 431, 'request head too large');
        return;
      }
      client.off('data', onData);
      client.pause();
      clearTimeout(timer);
      const head = rewriteHead(buffered.subarray(0, end).toString('latin1'), sessionId, this.#target.origin);
      if (!head.ok) {
        this.#log.warn('relay refused a request', { sandboxId, reason: head.reason });
        refuse(client, 403, head.reason);
        return;
      }
      const upstream = dial(this.#target.origin);
      const rest = buffered.subarray(end + 4);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        upstream.write(head.head);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      const teardown = () => {
        client.destroy();
        upstream.destroy();
      };
      upstream.on('error', (error) => {
        this.#log.warn('relay upstream failed', { sandboxId, error: error.message });
        if (connected) teardown();
        else refuse(client, 502, 'the gateway is unreachable');
      });
      upstream.on('close', () => {
        if (connected) teardown();
      });
      client.on('close', teardown);
      client.on('error', teardown);
    };
    client.on('data', onData);
    client.on('error', () => clearTimeout(timer));
    client.on('close', () => clearTimeout(timer));
  }
}

function dial(origin: URL): Socket {
  const secure = origin.protocol === 'https:';
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  const port = Number(origin.port || (secure ? 443 : 80));
  if (!secure) return createConnection({ host, port, noDelay: true });
  const socket = tlsConnect({ host, port, servername: host, ALPNProtocols: ['http/1.1'] });
  // `secureConnect` is the TLS socket's connect; keep one event name for both.
  socket.once('secureConnect', () => socket.emit('connect'));
  return socket;
}

function refuse(client: Socket, status: number, reason: string): void {
  const body = `${reason}\n`;
  client.end(
    `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Gateway'}\r\n` +
      `content-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * The request head with Host set to the origin's, if it is a GET for this session's tunnel.
 * Exported for tests.
 */
export function rewriteHead(
  head: string,
  sessionId: string,
  origin: URL,
): { ok: true; head: string } | { ok: false; reason: string } {
  const lines = head.split('\r\n');
  const requestLine = lines[0] ?? '';
  const match = /^GET (\S+) HTTP\/1\.1$/.exec(requestLine);
  if (!match?.[1]) return { ok: false, reason: 'only a GET upgrade to the tunnel is relayed' };
  const target = match[1];
  const path = target.split('?')[0];
  if (path !== `/tunnel/${sessionId}`) return { ok: false, reason: `only /tunnel/${sessionId} is relayed` };
  const headers = lines.slice(1).filter((line) => !/^host\s*:/i.test(line));
  if (headers.some((line) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(line)))
    return { ok: false, reason: 'malformed header line' };
  return { ok: true, head: [requestLine, `Host: ${origin.host}`, ...headers, '', ''].join('\r\n') };
}
