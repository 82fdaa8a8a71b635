import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import type { Sandbox } from '../gateway-world.ts';

// Programs "inside" a sandbox: they reach out only through sandboxd's proxy
// and trust only its per-sandbox CA, as an agent's tools do.

const run = promisify(execFile);

export function sandboxEnv(sandbox: Sandbox, home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HTTPS_PROXY: sandbox.proxy,
    HTTP_PROXY: sandbox.proxy,
    SSL_CERT_FILE: sandbox.caFile,
    CURL_CA_BUNDLE: sandbox.caFile,
  };
}

/** curl in the sandbox: the status and body of one request. */
export async function curl(
  sandbox: Sandbox,
  home: string,
  url: string,
  extra: string[] = [],
  timeoutMs = 20_000,
): Promise<{ status: number; body: string }> {
  const { stdout } = await run(
    'curl',
    ['-sS', '-o', '-', '-w', '\n%{http_code}', '--max-time', String(timeoutMs / 1000), ...extra, url],
    { env: sandboxEnv(sandbox, home), maxBuffer: 64 * 1024 * 1024 },
  );
  const split = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, split), status: Number(stdout.slice(split + 1)) };
}

/**
 * curl with many transfers at once (`--parallel`); each finished transfer's status is reported
 * as it completes. Resolves with the child so the test can wait for it or kill it.
 */
export function curlParallel(
  sandbox: Sandbox,
  home: string,
  urls: string[],
  onStatus: (status: number) => void,
): { done: Promise<number | null>; kill(): void } {
  const child = spawn(
    'curl',
    [
      '-sS',
      '--no-progress-meter',
      '--parallel',
      '--parallel-immediate',
      '--parallel-max',
      String(Math.min(urls.length, 300)),
      '--max-time',
      '60',
      // To stderr: unbuffered, so each status arrives as its transfer ends.
      ...urls.flatMap((url) => ['-o', '/dev/null', '-w', '%{stderr}%{http_code}\\n', url]),
    ],
    { env: sandboxEnv(sandbox, home), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let buffered = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    // (Split on CR too: a progress line must never swallow a status.)
    const lines = buffered.split(/[\r\n]/);
    buffered = lines.pop() ?? '';
    for (const line of lines) if (/^\d{3}$/.test(line.trim())) onStatus(Number(line.trim()));
  });
  return {
    done: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    kill: () => child.kill('SIGKILL'),
  };
}

/** A TLS connection to `host:443` through sandboxd's CONNECT proxy, trusting the sandbox CA. */
export async function tlsThroughSandbox(sandbox: Sandbox, host: string): Promise<TLSSocket> {
  const proxy = new URL(sandbox.proxy);
  const raw: Socket = netConnect(Number(proxy.port), proxy.hostname);
  await new Promise<void>((resolve, reject) => {
    raw.once('connect', () => resolve());
    raw.once('error', reject);
  });
  raw.write(`CONNECT ${host}:443 HTTP/1.1\r\nhost: ${host}:443\r\n\r\n`);
  const answer = await new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        raw.off('data', onData);
        resolve(text);
      }
    };
    raw.on('data', onData);
    raw.once('error', reject);
  });
  if (!/^HTTP\/1\.[01] 200/.test(answer)) throw new Error(`CONNECT refused: ${answer.split('\r\n')[0]}`);
  return tlsConnect({ socket: raw, servername: host, ca: readFileSync(sandbox.caFile) });
}

/** A WebSocket client in the sandbox: `wss://host/path` through sandboxd. */
export async function webSocketThroughSandbox(
  sandbox: Sandbox,
  host: string,
  path: string,
): Promise<WebSocket> {
  const socket = await tlsThroughSandbox(sandbox, host);
  const ws = new WebSocket(`wss://${host}${path}`, {
    createConnection: () => socket,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`upgrade refused: ${res.statusCode} ${res.statusMessage ?? ''}`)),
    );
    ws.once('error', reject);
  });
  return ws;
}

/** The raw bytes of an HTTP/1.1 upgrade request through sandboxd, and what comes back. */
export async function rawUpgrade(
  sandbox: Sandbox,
  host: string,
  path: string,
): Promise<{ socket: TLSSocket; received: () => string }> {
  const socket = await tlsThroughSandbox(sandbox, host);
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  socket.write(
    `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n` +
      'sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  return { socket, received: () => text };
}
