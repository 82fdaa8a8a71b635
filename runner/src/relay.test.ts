import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';
import { RelayManager, rewriteHead, SOCKET_NAME } from './relay.ts';

// The unix-socket relay with real sockets: a sandbox-side client on the
// socket, an origin-side TCP server standing in for the Worker.

const SESSION = 'ses_01JD0000000000000000000000';
const quiet = createLogger({}, () => {});
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function origin(onHead: (head: string, socket: import('node:net').Socket) => void): Promise<URL> {
  const server: Server = createServer((socket) => {
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n\r\n')) onHead(data, socket);
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

function exchange(socketPath: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = createConnection(socketPath);
    let reply = '';
    client.on('data', (chunk) => {
      reply += chunk.toString('latin1');
    });
    client.on('end', () => resolve(reply));
    client.on('error', reject);
    client.write(request);
  });
}

const upgrade = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer t0k3n\r\n${extra}\r\n`;

describe('the sandbox socket relay', () => {
  it('passes the tunnel upgrade and what follows to the origin, with the origin’s Host', async () => {
    let seen = '';
    const target = await origin((head, socket) => {
      seen = head;
      socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\nframes-from-the-gateway');
    });
    const socketPath = await relay(target);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    const reply = await exchange(socketPath, `${upgrade(`/tunnel/${SESSION}?resume=1`)}early-bytes`);
    expect(reply).toBe('HTTP/1.1 101 Switching Protocols\r\n\r\nframes-from-the-gateway');
    expect(seen).toBe(
      `GET /tunnel/${SESSION}?resume=1 HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer t0k3n\r\n\r\nearly-bytes`,
    );
  });

  it('refuses anything but this session’s tunnel, and an oversized head', async () => {
    let reached = false;
    const socketPath = await relay(
      await origin(() => {
        reached = true;
      }),
    );
    expect(await exchange(socketPath, upgrade('/tunnel/ses_01JD0000000000000000000001'))).toMatch(
      /^HTTP\/1\.1 403 /,
    );
    expect(await exchange(socketPath, upgrade('/api/sessions'))).toMatch(/^HTTP\/1\.1 403 /);
    expect(await exchange(socketPath, `POST /tunnel/${SESSION} HTTP/1.1\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 403 /,
    );
    expect(await exchange(socketPath, `GET /tunnel/${SESSION} HTTP/1.1\r\nX: ${'a'.repeat(20_000)}`)).toMatch(
      /^HTTP\/1\.1 431 /,
    );
    expect(reached).toBe(false);
  });

  it('answers 502 when the origin is unreachable', async () => {
    const socketPath = await relay(new URL('http://127.0.0.1:1'));
    expect(await exchange(socketPath, upgrade(`/tunnel/${SESSION}`))).toMatch(/^HTTP\/1\.1 502 /);
  });
});

describe('rewriteHead', () => {
  it('rejects header lines that are not headers (no smuggling a second request in the head)', () => {
    const head = `GET /tunnel/${SESSION} HTTP/1.1\r\nHost: x\r\n\r\nGET /api HTTP/1.1`;
    expect(rewriteHead(head, SESSION, new URL('https://airlock.example.com'))).toEqual({
      ok: false,
      reason: 'malformed header line',
    });
  });
});
