import { createHash } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { WebSocketServer } from 'ws';

// An upstream for gateway tests and benchmarks, on loopback, over HTTP and
// HTTPS (certificate from the test CA). It records what it received, keyed by
// the `x-test-tag` header, and never echoes request headers back: a test reads
// the record through `/__requests/<tag>`, the sandbox only sees the response.
//
//   /ok                     200 "ok"
//   /bytes/<n>              n bytes of a fixed pattern (streamed), content-length set
//   /chunked/<n>            n bytes without content-length (chunked)
//   /upload                 reads the body; answers {"bytes": n, "sha256": "…"}
//   /gzip                   a gzip-encoded body with content-encoding: gzip
//   /status/<code>          that status
//   /redirect               302 to another host
//   /echo-credential        200 with a header echoing the authorization value (a hostile upstream)
//   /echo-body              200 with the authorization value as the body (the gateway does not scrub bodies)
//   /redirect-credential    302 whose Location (URL-encoded) and Set-Cookie (base64) carry the authorization value
//   /ws                     WebSocket echo (text and binary), subprotocol echoed
//   /__requests/<tag>       the recorded requests with that tag (JSON)

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bodyBytes: number;
  readonly secure: boolean;
}

export interface Upstream {
  readonly httpUrl: string;
  readonly httpsUrl: string;
  close(): Promise<void>;
}

/** Byte i of every generated body is PATTERN[i % PATTERN.length]. */
export const PATTERN = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n');

function patternChunk(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += PATTERN.length) PATTERN.copy(out, i, 0, Math.min(PATTERN.length, size - i));
  return out;
}

const CHUNK = patternChunk(64 * 1024 - ((64 * 1024) % PATTERN.length));

function streamBytes(res: ServerResponse, total: number): void {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const size = Math.min(left, CHUNK.length);
      left -= size;
      if (!res.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size)))
        return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

export async function startUpstream(tls: { certPem: string; keyPem: string }): Promise<Upstream> {
  const records = new Map<string, RecordedRequest[]>();

  const handle = (secure: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (url.pathname.startsWith('/__requests/')) {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(records.get(decodeURIComponent(url.pathname.slice(12))) ?? []));
    }
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const tag = req.headers['x-test-tag'];
      if (typeof tag === 'string') {
        const list = records.get(tag) ?? [];
        list.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: { ...req.headers },
          bodyBytes,
          secure,
        });
        records.set(tag, list);
      }
      const [, first, second] = url.pathname.split('/');
      switch (first) {
        case 'ok':
          res.setHeader('content-type', 'text/plain');
          return res.end('ok');
        case 'bytes': {
          const n = Math.min(Number(second ?? '0'), 1 << 30);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
          return streamBytes(res, n);
        }
        case 'chunked':
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return streamBytes(res, Math.min(Number(second ?? '0'), 1 << 30));
        case 'upload':
          res.setHeader('content-type', 'application/json');
          return res.end(JSON.stringify({ bytes: bodyBytes, sha256: hash.digest('hex') }));
        case 'gzip': {
          const body = gzipSync(Buffer.from('compressed hello\n'.repeat(100)));
          res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(body.length) });
          return res.end(body);
        }
        case 'status':
          res.statusCode = Number(second ?? '500');
          return res.end(`status ${res.statusCode}`);
        case 'redirect':
          res.writeHead(302, { location: 'https://elsewhere.invalid/landing' });
          return res.end();
        case 'echo-credential':
          res.setHeader('x-echo', String(req.headers.authorization ?? ''));
          return res.end('echoed');
        case 'echo-body':
          res.setHeader('content-type', 'text/plain');
          return res.end(String(req.headers.authorization ?? ''));
        case 'redirect-credential': {
          const auth = String(req.headers.authorization ?? '');
          res.writeHead(302, {
            location: `https://elsewhere.invalid/callback?auth=${encodeURIComponent(auth)}`,
            'set-cookie': [`a=${Buffer.from(`user:${auth}`).toString('base64')}; Path=/`, 'plain=1; Path=/'],
            'x-kept': 'nothing secret',
          });
          return res.end();
        }
        default:
          res.statusCode = 404;
          return res.end('no such upstream path');
      }
    });
  };

  const attachWs = (server: Server) => {
    const wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => [...protocols][0] ?? false,
      perMessageDeflate: false,
    });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/ws')) return socket.destroy();
      const tag = req.headers['x-test-tag'];
      if (typeof tag === 'string') {
        const list = records.get(tag) ?? [];
        list.push({ method: 'GET', url: req.url, headers: { ...req.headers }, bodyBytes: 0, secure: false });
        records.set(tag, list);
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
    });
    return wss;
  };

  const http = createHttpServer(handle(false));
  const https = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handle(true));
  const sockets = [attachWs(http), attachWs(https)];
  await Promise.all(
    [http, https].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))),
  );
  const port = (s: Server) => (s.address() as AddressInfo).port;
  return {
    httpUrl: `http://127.0.0.1:${port(http)}`,
    httpsUrl: `https://localhost:${port(https)}`,
    close: async () => {
      for (const wss of sockets) wss.close();
      for (const server of [http, https]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
