import { describe, expect, inject, it } from 'vitest';
import vectors from '../../schema/plan/vectors/authority.json' with { type: 'json' };
import { dialledAuthority } from './request-target.ts';
import { auditRows, startSession } from './test-support/fixtures.ts';
import { httpMeta } from './test-support/sandbox-peer.ts';

// The gateway decides where an `http` stream goes from its own parse of every
// authority it is handed (ADR 0105), whatever sandboxd claims: driven here by a
// scripted sandbox that sends the OPEN metas root in a sandbox could send.

const { upstreamHttp } = inject('standIns');
const WILDCARD = '*.pkgs.example.org';

const meta = (authority: unknown, extra: Record<string, unknown> = {}) => ({
  method: 'GET',
  scheme: 'http',
  authority,
  path: '/ok',
  headers: [],
  ...extra,
});

describe('the request target', () => {
  it('refuses every invalid authority vector with 400, at every place an authority can be', async () => {
    const { peer } = await startSession(() => [], { passthrough: [WILDCARD] });
    const target = { host: 'x.pkgs.example.org', port: 443 };
    // All at once: one tunnel carries hundreds of concurrent streams.
    // Every vector as the CONNECT target and as the Host header; every third one in the other places.
    const sent = vectors.invalid.flatMap(({ name, input }, i) =>
      [
        { ...target, seen: { connect: input } },
        { ...target, seen: { connect: 'x.pkgs.example.org:443', host: input } },
        ...(i % 3 === 0
          ? [
              { ...target, seen: { uri: input } },
              { ...target, seen: { connect: 'x.pkgs.example.org:443', sni: input } },
              { host: input, port: 443, seen: { connect: 'x.pkgs.example.org:443' } },
            ]
          : []),
      ].map((authority) => ({ name, authority })),
    );
    const ids = await Promise.all(
      sent.map(({ authority }) => peer.open('http', meta(authority, { scheme: 'https' }))),
    );
    const statuses = await Promise.all(ids.map(async (id) => (await peer.response(id)).status));
    const wrong = sent
      .filter((_, i) => statuses[i] !== 400)
      .map((s) => `${s.name}: ${JSON.stringify(s.authority)}`);
    expect(wrong).toEqual([]);
    expect(statuses.length).toBeGreaterThan(vectors.invalid.length * 2);
  }, 60_000);

  it('matches each valid vector by its parsed host and port', async () => {
    const { peer } = await startSession(() => [], { passthrough: ['allowed.example.test:8443'] });
    for (const { input, host, port } of vectors.valid) {
      const effective = port ?? 80;
      const response = await peer.response(
        await peer.open('http', meta({ host, port: effective, seen: { uri: input, host: input } })),
      );
      // Allowed only as the exact entry; everything else is well-formed, so 403, not 400.
      expect(response.status, input).toBe(403);
    }
    const allowed = await peer.request({ method: 'GET', authority: 'Allowed.Example.TEST.:8443', path: '/' });
    expect(allowed.status, allowed.text).not.toBe(403);
  });

  it('requires the CONNECT target, server name and Host header to agree, and says which did not', async () => {
    const { world, peer, stub } = await startSession(() => [], { passthrough: [WILDCARD] });
    const connect = 'a.pkgs.example.org:443';
    const https = { scheme: 'https' };
    const cases: [unknown, Record<string, unknown>, string][] = [
      [
        { host: 'a.pkgs.example.org', port: 443, seen: { connect, sni: 'b.pkgs.example.org' } },
        https,
        'TLS server name',
      ],
      [
        { host: 'a.pkgs.example.org', port: 443, seen: { connect, host: 'b.pkgs.example.org' } },
        https,
        'Host header',
      ],
      [
        { host: 'a.pkgs.example.org', port: 443, seen: { connect, host: 'a.pkgs.example.org:8443' } },
        https,
        'Host header',
      ],
      [
        { host: 'a.pkgs.example.org', port: 443, seen: { connect, uri: 'b.pkgs.example.org' } },
        https,
        'request URI',
      ],
      [
        { host: 'a.pkgs.example.org', port: 443, seen: { connect } },
        { ...https, headers: [['Host', 'b.pkgs.example.org']] },
        'Host header',
      ],
      [{ host: 'b.pkgs.example.org', port: 443, seen: { connect } }, https, 'sandboxd reported'],
      [
        { host: 'a.pkgs.example.org', port: 443, seen: { connect: 'a.pkgs.example.org' } },
        https,
        'has no port',
      ],
      [
        {
          host: 'a.pkgs.example.org',
          port: 80,
          seen: { uri: 'a.pkgs.example.org', sni: 'a.pkgs.example.org' },
        },
        {},
        'TLS server name',
      ],
      [{ host: 'a.pkgs.example.org', port: 443, seen: {} }, https, 'no CONNECT target'],
      [
        { host: 'a.pkgs.example.org', port: 443, seen: { connect } },
        { ...https, method: 'CONNECT' },
        'CONNECT is answered',
      ],
      ['a.pkgs.example.org', https, 'a bare string'],
      [undefined, https, 'no authority'],
    ];
    for (const [authority, extra, says] of cases) {
      const response = await peer.response(await peer.open('http', meta(authority, extra)));
      expect(response.status, JSON.stringify(authority)).toBe(400);
      expect(response.text).toContain(says);
      expect(response.header('x-airlock-decision')).toBe('denied');
    }
    // Agreeing values, with the port implied by the scheme, pass to matching (502: no such host here).
    const agreeing = await peer.request({ method: 'GET', authority: 'A.pkgs.example.org', path: '/' });
    expect(agreeing.status).not.toBe(400);
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    const refused = rows.filter((r) => r.status === 400);
    expect(refused).toHaveLength(cases.length);
    expect(refused.every((r) => r.decision === 'denied' && r.host === null)).toBe(true);
    expect(refused.map((r) => r.detail.reason)).toEqual(cases.map(() => 'bad_authority'));
    expect(rows.filter((r) => r.decision === 'passthrough').map((r) => r.host)).toEqual([
      'a.pkgs.example.org',
    ]);
  });

  it('forwards an allowlisted loopback stand-in named exactly (ADR 0020), and nothing near it', async () => {
    const { hostname: host, port } = new URL(upstreamHttp);
    const { peer } = await startSession(() => [], { passthrough: [WILDCARD, `${host}:${port}`] });
    const ok = await peer.request({
      method: 'GET',
      scheme: 'http',
      authority: `${host}:${port}`,
      path: '/ok',
    });
    expect(ok.text).toBe('ok');
    // A Host header naming another host is refused, and nothing reaches the upstream.
    const tag = `t-${crypto.randomUUID()}`;
    const moved = await peer.request({
      method: 'GET',
      scheme: 'http',
      authority: `${host}:${port}`,
      path: '/ok',
      headers: [
        ['host', 'attacker.example.net'],
        ['x-test-tag', tag],
      ],
    });
    expect(moved.status).toBe(400);
    expect(moved.text).toContain('the Host header "attacker.example.net" does not match');
    expect(await (await fetch(`${upstreamHttp}/__requests/${tag}`)).json()).toEqual([]);
    for (const near of [
      `localhost:${port}`,
      `${host}:${Number(port) + 1}`,
      host,
      `[::ffff:7f00:1]:${port}`,
    ]) {
      const response = await peer.request({ method: 'GET', scheme: 'http', authority: near, path: '/ok' });
      expect([400, 403], near).toContain(response.status);
    }
  });

  it('reads a URL to be dialled in the grammar’s form', () => {
    expect(dialledAuthority(new URL('https://a.test/x'))).toEqual({ host: 'a.test', port: 443 });
    expect(dialledAuthority(new URL('http://[::1]:8080/'))).toEqual({ host: '[::1]', port: 8080 });
    expect(dialledAuthority(new URL('wss://a.test'))).toEqual({ host: 'a.test', port: 443 });
    expect(httpMeta({ method: 'GET', authority: 'a.test', path: '/' }).authority).toEqual({
      host: 'a.test',
      port: 443,
      seen: { connect: 'a.test:443', sni: 'a.test', host: 'a.test' },
    });
  });
});
