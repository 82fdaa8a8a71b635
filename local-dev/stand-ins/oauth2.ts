import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in OAuth2 authorization server's token endpoint (RFC 6749 §6,
// refresh_token grant) with refresh-token rotation: each refresh issues a new
// refresh token and revokes the one used (reusing it is `invalid_grant`, as
// providers that rotate do). Clients authenticate with HTTP Basic or in the
// form body (§2.3.1). Errors are RFC 6749 §5.2 JSON.
//
// Test control: POST /__clients registers a client (JSON: rotate, delayMs,
// expiresIn) and returns its id, secret and first refresh token; GET
// /__clients/<id> reports the refresh attempts and refreshes it served.

interface Client {
  readonly id: string;
  readonly secret: string;
  refreshToken: string;
  readonly rotate: boolean;
  readonly delayMs: number;
  readonly expiresIn: number;
  refreshes: number;
  attempts: number;
  readonly accessTokens: string[];
}

export interface OAuth2StandIn {
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    pragma: 'no-cache',
  });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 1 << 16) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
  });
}

const token = (prefix: string) => `${prefix}_${randomBytes(18).toString('base64url')}`;

export async function startOAuth2StandIn(): Promise<OAuth2StandIn> {
  const clients = new Map<string, Client>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://auth');
      const raw = await readBody(req);
      if (req.method === 'POST' && url.pathname === '/__clients') {
        const options = (raw === '' ? {} : JSON.parse(raw)) as {
          rotate?: boolean;
          delayMs?: number;
          expiresIn?: number;
        };
        const client: Client = {
          id: token('cid'),
          secret: token('csec'),
          refreshToken: token('rt'),
          rotate: options.rotate ?? true,
          delayMs: options.delayMs ?? 0,
          expiresIn: options.expiresIn ?? 3600,
          refreshes: 0,
          attempts: 0,
          accessTokens: [],
        };
        clients.set(client.id, client);
        return send(res, 201, {
          clientId: client.id,
          clientSecret: client.secret,
          refreshToken: client.refreshToken,
        });
      }
      const control = /^\/__clients\/([\w-]+)$/.exec(url.pathname);
      if (req.method === 'GET' && control !== null) {
        const client = clients.get(control[1] ?? '');
        if (client === undefined) return send(res, 404, { error: 'not_found' });
        return send(res, 200, {
          attempts: client.attempts,
          refreshes: client.refreshes,
          refreshToken: client.refreshToken,
          accessTokens: client.accessTokens,
        });
      }
      if (url.pathname !== '/token' || req.method !== 'POST') return send(res, 404, { error: 'not_found' });
      const form = new URLSearchParams(raw);
      let clientId = form.get('client_id');
      let clientSecret = form.get('client_secret');
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (basic !== undefined) {
        const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
        clientId = decodeURIComponent((id ?? '').replaceAll('+', ' '));
        clientSecret = decodeURIComponent((secret ?? '').replaceAll('+', ' '));
      }
      const client = clientId === null ? undefined : clients.get(clientId);
      if (client === undefined || client.secret !== clientSecret)
        return send(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
      if (form.get('grant_type') !== 'refresh_token')
        return send(res, 400, { error: 'unsupported_grant_type' });
      client.attempts++;
      if (client.delayMs > 0) await new Promise((r) => setTimeout(r, client.delayMs));
      if (form.get('refresh_token') !== client.refreshToken)
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'the refresh token is invalid or was already used',
        });
      client.refreshes++;
      const accessToken = token('at');
      client.accessTokens.push(accessToken);
      const body: Record<string, unknown> = {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: client.expiresIn,
      };
      if (client.rotate) {
        client.refreshToken = token('rt');
        body.refresh_token = client.refreshToken;
      }
      return send(res, 200, body);
    })().catch((error: unknown) =>
      send(res, 500, { error: 'server_error', error_description: String(error) }),
    );
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
