import { env } from 'cloudflare:workers';
import { connections } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import {
  createConnection,
  createWorld,
  openStoredCredential,
  route,
  startSession,
  withDb,
} from './test-support/fixtures.ts';

// Minted credentials through the real broker: GitHub App installation tokens
// from a stand-in that checks the RS256 App JWT the way GitHub does, and OAuth2
// access tokens from a token endpoint that rotates refresh tokens, with the
// single flight per connection observed from the provider's side.

const { upstreamHttp, github, oauth2 } = inject('standIns');

async function json<T>(response: Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

async function recorded(tag: string) {
  return json<{ headers: Record<string, string> }[]>(fetch(`${upstreamHttp}/__requests/${tag}`));
}

interface GithubApp {
  appId: string;
  installationId: string;
  privateKeyPem: string;
}

describe('GitHub App installation tokens', () => {
  it('mints a token with a valid App JWT, scoped to the repositories, and caches it until near expiry', async () => {
    const app = await json<GithubApp>(fetch(`${github}/__apps`, { method: 'POST' }));
    expect(app.privateKeyPem).toContain('BEGIN RSA PRIVATE KEY');
    const { peer } = await startSession(async (w) => {
      const connectionId = await createConnection(
        w.orgId,
        'github_app',
        { private_key: app.privateKeyPem },
        { app_id: app.appId, installation_id: app.installationId, base_url: github },
      );
      return [
        route({
          match: { hosts: ['github.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttp },
          inject: { kind: 'basic', target: 'authorization', username: 'x-access-token' },
          credential: { source: 'github_app', connectionId, repositories: ['acme/widgets'] },
        }),
      ];
    });
    const tags = [`gh-${crypto.randomUUID()}`, `gh-${crypto.randomUUID()}`];
    for (const tag of tags) {
      const response = await peer.request({
        method: 'GET',
        authority: 'github.com',
        path: '/ok?service=git-upload-pack',
        headers: [
          ['x-test-tag', tag],
          ['authorization', 'Basic c2FuZGJveDpwbGFjZWhvbGRlcg=='],
        ],
      });
      expect(response.status).toBe(200);
    }
    const issued = await json<{
      issued: { token: string; repositories: string[] | null }[];
      rejected: number;
    }>(fetch(`${github}/__apps/${app.appId}`));
    expect(issued.rejected).toBe(0);
    expect(issued.issued).toHaveLength(1);
    expect(issued.issued[0]?.repositories).toEqual(['widgets']);
    const token = issued.issued[0]?.token ?? '';
    for (const tag of tags)
      expect((await recorded(tag))[0]?.headers.authorization).toBe(
        `Basic ${btoa(`x-access-token:${token}`)}`,
      );
  });

  it('reports a key GitHub does not accept as a 502 naming the refusal', async () => {
    const app = await json<GithubApp>(fetch(`${github}/__apps`, { method: 'POST' }));
    const impostor = await json<GithubApp>(fetch(`${github}/__apps`, { method: 'POST' }));
    const { peer } = await startSession(async (w) => {
      const connectionId = await createConnection(
        w.orgId,
        'github_app',
        { private_key: impostor.privateKeyPem },
        { app_id: app.appId, installation_id: app.installationId, base_url: github },
      );
      return [
        route({
          match: { hosts: ['api.github.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttp },
          credential: { source: 'github_app', connectionId },
        }),
      ];
    });
    const response = await peer.request({ method: 'GET', authority: 'api.github.com', path: '/user' });
    expect(response.status).toBe(502);
    expect(response.text).toContain('PROVIDER_REJECTED');
    expect(response.text).toContain('JSON web token could not be decoded');
    expect(response.text).not.toContain('PRIVATE KEY');
    const seen = await json<{ issued: unknown[]; rejected: number }>(fetch(`${github}/__apps/${app.appId}`));
    expect(seen).toMatchObject({ issued: [], rejected: 1 });
  });
});

interface OAuthClient {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

async function oauthConnection(orgId: string, options: { rotate?: boolean; delayMs?: number } = {}) {
  const client = await json<OAuthClient>(
    fetch(`${oauth2}/__clients`, {
      method: 'POST',
      body: JSON.stringify({ rotate: true, delayMs: 300, ...options }),
    }),
  );
  const connectionId = await createConnection(
    orgId,
    'oauth_api',
    { client_secret: client.clientSecret, refresh_token: client.refreshToken },
    { token_url: `${oauth2}/token`, client_id: client.clientId },
  );
  const stats = () =>
    json<{ attempts: number; refreshes: number; refreshToken: string; accessTokens: string[] }>(
      fetch(`${oauth2}/__clients/${client.clientId}`),
    );
  return { client, connectionId, stats };
}

describe('OAuth2 refresh', () => {
  it('refreshes once for concurrent misses across sessions, and stores the rotated refresh token sealed first', async () => {
    const world = await createWorld();
    const { client, connectionId, stats } = await oauthConnection(world.orgId);
    const routes = () => [
      route({ upstream: { baseUrl: upstreamHttp }, credential: { source: 'oauth2', connectionId } }),
    ];
    // Two sessions of the same org share the connection (and its single flight).
    const first = await startSession(routes, { world });
    const second = await startSession(routes, {
      world: await createWorld({ orgId: world.orgId, userId: world.userId }),
    });
    const tag = `oa-${crypto.randomUUID()}`;
    const requests = [first.peer, second.peer].flatMap((peer) =>
      Array.from({ length: 4 }, () =>
        peer.request({
          method: 'GET',
          authority: 'api.example.com',
          path: '/ok',
          headers: [['x-test-tag', tag]],
        }),
      ),
    );
    const responses = await Promise.all(requests);
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const after = await stats();
    expect(after).toMatchObject({ attempts: 1, refreshes: 1 });
    expect(after.refreshToken).not.toBe(client.refreshToken);
    const stored = await openStoredCredential(connectionId);
    expect(stored).toEqual({ client_secret: client.clientSecret, refresh_token: after.refreshToken });
    const seen = await recorded(tag);
    expect(seen).toHaveLength(8);
    for (const request of seen) expect(request.headers.authorization).toBe(`Bearer ${after.accessTokens[0]}`);
  });

  it('serialises concurrent broker calls for one connection into one refresh', async () => {
    const world = await createWorld();
    const { connectionId, stats } = await oauthConnection(world.orgId, { rotate: true, delayMs: 200 });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        env.BROKER.resolve({ orgId: world.orgId, connectionId, source: 'oauth2' }),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => (r.ok ? r.value : null))).size).toBe(1);
    expect(await stats()).toMatchObject({ attempts: 1, refreshes: 1 });
  });

  it('marks the connection broken when the provider rejects the refresh token', async () => {
    const world = await createWorld();
    const { client, connectionId } = await oauthConnection(world.orgId, { delayMs: 0 });
    // Someone else spent (and so revoked) the refresh token: the stored one is stale.
    const spent = await fetch(`${oauth2}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: client.refreshToken,
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }),
    });
    expect(spent.status).toBe(200);
    const result = await env.BROKER.resolve({ orgId: world.orgId, connectionId, source: 'oauth2' });
    expect(result).toMatchObject({ ok: false, code: 'PROVIDER_REJECTED' });
    const row = await withDb(
      async (db) => (await db.select().from(connections).where(eq(connections.id, connectionId)))[0],
    );
    expect(row?.status).toBe('error');
    expect(row?.statusReason).toContain('invalid_grant');
    const again = await env.BROKER.resolve({ orgId: world.orgId, connectionId, source: 'oauth2' });
    expect(again).toMatchObject({ ok: false, code: 'CONNECTION_NOT_ACTIVE' });
  });

  it('refuses a connection of another org', async () => {
    const world = await createWorld();
    const other = await createWorld();
    const connectionId = await createConnection(other.orgId, 'openai', { api_key: 'sk-other-org-1234' });
    const result = await env.BROKER.resolve({
      orgId: world.orgId,
      connectionId,
      source: 'secret',
      field: 'api_key',
    });
    expect(result).toMatchObject({ ok: false, code: 'CONNECTION_NOT_FOUND' });
  });
});
