import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';
import { checkUpgrade, RelayManager, SOCKET_NAME } from './relay.ts';

// The unix-socket relay with real sockets: a sandbox-side client on the
// socket, an origin-side TCP server standing in for the Worker. The attacks
// from root in a real sandbox are in local-dev/e2e/adversarial/relay.attack.test.ts.

const SESSION = 'ses_01JD0000000000000000000000';
const ORIGIN = new URL('https://airlock.example.com');
const quiet = createLogger({}, () => {});
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** An origin that hands each request head (and the socket) to `onHead`. */
async function origin(onHead: (head: string, socket: Socket) => void): Promise<URL> {
  const server: Server = createServer((socket) => {
    let data = '';
    let handled = false;
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (!handled && data.includes('\r\n\r\n')) {
        handled = true;
        onHead(data, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return new URL(`http://127.0.0.1:${address.port}`);
}

async function relay(target: URL): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-test-'));
  const relays = new RelayManager({ stateDir: dir, target: { origin: target }, log: quiet });
  cleanups.push(async () => {
    await relays.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });
  return join(await relays.open(SESSION, SESSION), SOCKET_NAME);
}

/** Send `request`; once the answer's head is in, send `after` (if any); resolve with all that came back. */
function exchange(socketPath: string, request: string, after?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = createConnection(socketPath);
    let reply = '';
    client.on('data', (chunk) => {
      const first = !reply.includes('\r\n\r\n');
      reply += chunk.toString('latin1');
      if (first && reply.includes('\r\n\r\n') && after !== undefined) client.write(after);
    });
    client.on('close', () => resolve(reply));
    // Writing after the relay closed fails (EPIPE): what came back before is the answer.
    client.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve(reply) : reject(error),
    );
    client.write(request);
  });
}

const upgrade = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer t0k3n\r\n${extra}\r\n`;

describe('the sandbox socket relay', () => {
  it('re-issues the tunnel upgrade with the origin’s Host, and joins both ways after the 101', async () => {
    let seen = '';
    const target = await origin((head, socket) => {
      seen = head;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (chunk) => socket.end(`echo:${chunk.toString('latin1')}`));
    });
    const socketPath = await relay(target);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    const reply = await exchange(socketPath, upgrade(`/tunnel/${SESSION}`, 'Cookie: a=b\r\n'), 'frame');
    expect(reply).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(reply.endsWith('\r\n\r\necho:frame')).toBe(true);
    const lines = seen.split('\r\n');
    expect(lines[0]).toBe(`GET /tunnel/${SESSION} HTTP/1.1`);
    expect(lines).toContain(`host: ${target.host}`);
    expect(lines).toContain('authorization: Bearer t0k3n');
    expect(seen.toLowerCase()).not.toContain('cookie');
  });

  it('passes a refusal back and closes, sending nothing more to the origin', async () => {
    const heads: string[] = [];
    const target = await origin((head, socket) => {
      heads.push(head);
      socket.write(
        'HTTP/1.1 401 Unauthorized\r\ncontent-type: application/problem+json\r\ncontent-length: 2\r\n\r\n{}',
      );
    });
    const socketPath = await relay(target);
    const reply = await exchange(socketPath, upgrade(`/tunnel/${SESSION}`), 'GET /api HTTP/1.1\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
    expect(reply).toContain('content-type: application/problem+json');
    expect(reply.endsWith('\r\n\r\n{}')).toBe(true);
    expect(heads).toHaveLength(1);
    expect(heads[0]).not.toContain('/api');
  });

  it('refuses anything but this session’s tunnel upgrade, and an oversized head, reaching nothing', async () => {
    let reached = false;
    const socketPath = await relay(
      await origin(() => {
        reached = true;
      }),
    );
    const refusals: Array<[string, RegExp]> = [
      [upgrade('/tunnel/ses_01JD0000000000000000000001'), /^HTTP\/1\.1 403 /],
      [upgrade('/api/sessions'), /^HTTP\/1\.1 403 /],
      [`GET /tunnel/${SESSION} HTTP/1.1\r\nHost: localhost\r\n\r\n`, /^HTTP\/1\.1 403 /],
      [`POST /tunnel/${SESSION} HTTP/1.1\r\nHost: localhost\r\n\r\n`, /^HTTP\/1\.1 403 /],
      [`CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n`, /^HTTP\/1\.1 405 /],
      [`${upgrade(`/tunnel/${SESSION}`)}GET /api HTTP/1.1\r\n\r\n`, /^HTTP\/1\.1 400 /],
      [`GET /tunnel/${SESSION} HTTP/1.1\r\nX: ${'a'.repeat(20_000)}`, /^HTTP\/1\.1 431 /],
      ['NOT HTTP AT ALL\r\n\r\n', /^HTTP\/1\.1 400 /],
    ];
    for (const [request, status] of refusals) expect(await exchange(socketPath, request)).toMatch(status);
    expect(reached).toBe(false);
  });

  it('answers 502 when the origin is unreachable', async () => {
    const socketPath = await relay(new URL('http://127.0.0.1:1'));
    expect(await exchange(socketPath, upgrade(`/tunnel/${SESSION}`))).toMatch(/^HTTP\/1\.1 502 /);
  });
});

describe('checkUpgrade', () => {
  const request = (
    over: Partial<{ method: string; url: string; httpVersion: string; headers: Record<string, string> }>,
  ) => ({
    method: 'GET',
    url: `/tunnel/${SESSION}`,
    httpVersion: '1.1',
    ...over,
    headers: { upgrade: 'websocket', connection: 'Upgrade', authorization: 'Bearer t', ...over.headers },
  });

  it('keeps only the WebSocket headers and the token, with the origin’s Host', () => {
    expect(
      checkUpgrade(
        request({ headers: { 'sec-websocket-key': 'k', 'x-forwarded-for': '10.0.0.1', cookie: 'c' } }),
        SESSION,
        ORIGIN,
      ),
    ).toEqual({
      ok: true,
      headers: {
        host: 'airlock.example.com',
        connection: 'Upgrade',
        upgrade: 'websocket',
        authorization: 'Bearer t',
        'sec-websocket-key': 'k',
      },
    });
  });

  it.each([
    ['another method', { method: 'POST' }, 405],
    ['HTTP/1.0', { httpVersion: '1.0' }, 405],
    ['a query', { url: `/tunnel/${SESSION}?x=1` }, 403],
    ['a trailing slash', { url: `/tunnel/${SESSION}/` }, 403],
    ['an absolute form', { url: `http://localhost/tunnel/${SESSION}` }, 403],
    ['another upgrade', { headers: { upgrade: 'h2c' } }, 400],
    ['a chunked body', { headers: { 'transfer-encoding': 'chunked' } }, 400],
    ['a body', { headers: { 'content-length': '5' } }, 400],
  ])('refuses %s', (_what, over, status) => {
    expect(checkUpgrade(request(over), SESSION, ORIGIN)).toMatchObject({ ok: false, status });
  });
});
