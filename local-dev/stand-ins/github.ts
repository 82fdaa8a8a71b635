import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in for GitHub's App installation-token endpoint, faithful to the
// published API: POST /app/installations/{id}/access_tokens (and the GitHub
// Enterprise Server form under /api/v3) with `Authorization: Bearer <app JWT>`.
// The JWT is checked as GitHub does: RS256 signature against the App's public
// key, `iss` = the App id, not expired, `exp` at most 10 minutes ahead, `iat`
// not in the future. Answers 201 {token, expires_at, permissions,
// repository_selection}, or GitHub's error bodies.
//
// Test control (not GitHub's API): POST /__apps creates an App with one
// installation and returns its PKCS#1 private key; GET /__apps/<id> lists the
// tokens issued.

interface App {
  readonly id: string;
  readonly installationId: string;
  readonly publicKey: KeyObject;
  readonly issued: { token: string; repositories: string[] | null; expiresAt: string }[];
  rejected: number;
}

export interface GithubStandIn {
  readonly url: string;
  close(): Promise<void>;
}

const SKEW_SECONDS = 60;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function fail(res: ServerResponse, status: number, message: string): void {
  send(res, status, { message, documentation_url: 'https://docs.github.com/rest', status: String(status) });
}

function b64url(text: string): Buffer {
  return Buffer.from(text.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 1 << 20) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** GitHub's checks on an App JWT; returns the problem, or null when it is acceptable. */
function checkJwt(
  jwt: string,
  apps: Map<string, App>,
  installationId: string,
): { app: App } | { status: number; message: string } {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { status: 401, message: 'A JSON web token could not be decoded' };
  let header: { alg?: unknown };
  let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    header = JSON.parse(b64url(parts[0] ?? '').toString('utf8'));
    claims = JSON.parse(b64url(parts[1] ?? '').toString('utf8'));
  } catch {
    return { status: 401, message: 'A JSON web token could not be decoded' };
  }
  if (header.alg !== 'RS256') return { status: 401, message: 'A JSON web token could not be decoded' };
  const app = apps.get(String(claims.iss));
  if (app === undefined) return { status: 401, message: "'Issuer' claim ('iss') must be an Integer" };
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (!verify('RSA-SHA256', signed, app.publicKey, b64url(parts[2] ?? '')))
    return { status: 401, message: 'A JSON web token could not be decoded' };
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.iat !== 'number' || claims.iat > now + SKEW_SECONDS)
    return {
      status: 401,
      message: "'Issued at' claim ('iat') must be an Integer representing a time in the past",
    };
  if (typeof claims.exp !== 'number' || claims.exp <= now)
    return {
      status: 401,
      message:
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    };
  if (claims.exp > now + 600 + SKEW_SECONDS)
    return { status: 401, message: "'Expiration time' claim ('exp') is too far in the future" };
  if (app.installationId !== installationId) return { status: 404, message: 'Not Found' };
  return { app };
}

export async function startGithubStandIn(): Promise<GithubStandIn> {
  const apps = new Map<string, App>();
  let nextApp = 100_000;
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://github');
      if (req.method === 'POST' && url.pathname === '/__apps') {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        });
        const app: App = {
          id: String(nextApp++),
          installationId: String(Math.floor(Math.random() * 1e8) + 1),
          publicKey: createPublicKey(publicKey),
          issued: [],
          rejected: 0,
        };
        apps.set(app.id, app);
        return send(res, 201, {
          appId: app.id,
          installationId: app.installationId,
          privateKeyPem: privateKey,
        });
      }
      const control = /^\/__apps\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && control !== null) {
        const app = apps.get(control[1] ?? '');
        return app === undefined
          ? fail(res, 404, 'Not Found')
          : send(res, 200, { issued: app.issued, rejected: app.rejected });
      }
      const route = /^(?:\/api\/v3)?\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname);
      if (route === null) return fail(res, 404, 'Not Found');
      if (req.method !== 'POST') return fail(res, 404, 'Not Found');
      const auth = req.headers.authorization ?? '';
      const jwt = /^Bearer (.+)$/.exec(auth)?.[1];
      if (jwt === undefined) return fail(res, 401, 'A JSON web token could not be decoded');
      const checked = checkJwt(jwt, apps, route[1] ?? '');
      if ('status' in checked) {
        for (const app of apps.values()) if (app.installationId === route[1]) app.rejected++;
        return fail(res, checked.status, checked.message);
      }
      const raw = await readBody(req);
      let repositories: string[] | null = null;
      if (raw !== '') {
        const body = JSON.parse(raw) as { repositories?: unknown };
        if (Array.isArray(body.repositories)) repositories = body.repositories.map(String);
      }
      const token = `ghs_${randomBytes(18).toString('base64url')}`;
      const expiresAt = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      checked.app.issued.push({ token, repositories, expiresAt });
      return send(res, 201, {
        token,
        expires_at: expiresAt,
        permissions: { contents: 'write', metadata: 'read', pull_requests: 'write' },
        repository_selection: repositories === null ? 'all' : 'selected',
      });
    })().catch((error: unknown) => fail(res, 500, String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
