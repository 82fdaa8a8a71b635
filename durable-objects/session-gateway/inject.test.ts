import type { EgressRoute } from '@airlock/schema/plan';
import { describe, expect, it } from 'vitest';
import { brokeredHead, joinUpstreamUrl, passthroughHead, responseHeaders } from './inject.ts';
import { dialledAuthority } from './request-target.ts';

function route(inject: EgressRoute['inject'], baseUrl = 'https://api.example.com'): EgressRoute {
  return {
    id: 'rt_t',
    match: { hosts: ['api.example.com'], pathPrefixes: [], methods: [] },
    upstream: { baseUrl },
    inject,
    credential: { source: 'secret', connectionId: 'con_x', field: 'api_key' },
    integration: 'test',
  };
}

const SANDBOX_HEADERS: [string, string][] = [
  ['Host', 'evil.example.net'],
  ['Authorization', 'Bearer sandbox-supplied'],
  ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
  ['Cookie', 'session=stolen'],
  ['X-Api-Key', 'airlock-brokered'],
  ['Accept', 'application/json'],
  ['Connection', 'keep-alive, x-hop'],
  ['X-Hop', 'drop me'],
  ['X-Forwarded-For', '10.0.0.1'],
];

describe('brokeredHead', () => {
  it('strips sandbox credentials and places a bearer token', () => {
    const head = brokeredHead(
      route({ kind: 'bearer', target: 'authorization' }),
      '/v1/x?a=1',
      SANDBOX_HEADERS,
      'sk-real',
    );
    expect(head.url.href).toBe('https://api.example.com/v1/x?a=1');
    expect(Object.fromEntries(head.headers)).toEqual({
      accept: 'application/json',
      authorization: 'Bearer sk-real',
    });
  });

  it('places a raw header, a custom scheme, and basic auth with or without a user name', () => {
    const raw = brokeredHead(route({ kind: 'header', target: 'x-api-key' }), '/', SANDBOX_HEADERS, 'k1');
    expect(raw.headers.get('x-api-key')).toBe('k1');
    expect(raw.headers.get('authorization')).toBeNull();
    const scheme = brokeredHead(
      route({ kind: 'bearer', target: 'authorization', scheme: 'token' }),
      '/',
      [],
      'k2',
    );
    expect(scheme.headers.get('authorization')).toBe('token k2');
    const basic = brokeredHead(
      route({ kind: 'basic', target: 'authorization', username: 'x-access-token' }),
      '/',
      [],
      'ghs_1',
    );
    expect(basic.headers.get('authorization')).toBe(`Basic ${btoa('x-access-token:ghs_1')}`);
    const keyAsUser = brokeredHead(route({ kind: 'basic', target: 'authorization' }), '/', [], 'sk_live');
    expect(keyAsUser.headers.get('authorization')).toBe(`Basic ${btoa('sk_live:')}`);
  });

  it('replaces a query credential and drops placeholder parameters, leaving others untouched', () => {
    const head = brokeredHead(
      route({ kind: 'query', target: 'key' }),
      '/maps?key=sandbox&q=a%20b&token=airlock-brokered',
      [],
      's3cr3t',
    );
    expect(head.url.searchParams.getAll('key')).toEqual(['s3cr3t']);
    expect(head.url.searchParams.get('q')).toBe('a b');
    expect(head.url.searchParams.has('token')).toBe(false);
    const untouched = brokeredHead(route({ kind: 'bearer', target: 'authorization' }), '/p?q=a%20b', [], 'x');
    expect(untouched.url.search).toBe('?q=a%20b');
  });

  it('pins the upstream to the route base URL, keeping its path', () => {
    const head = brokeredHead(
      route({ kind: 'bearer', target: 'authorization' }, 'http://127.0.0.1:9999/proxy/'),
      '/v1/../admin',
      [['host', 'api.example.com']],
      'x',
    );
    expect(head.url.href).toBe('http://127.0.0.1:9999/proxy/admin');
    expect(head.headers.has('host')).toBe(false);
  });
});

describe('passthroughHead and responseHeaders', () => {
  it('forwards a passthrough request to the authority it matched, without credentials added', () => {
    const head = passthroughHead('https', { host: 'files.test', port: 443 }, '/a?b=1', SANDBOX_HEADERS);
    expect(head.url.href).toBe('https://files.test/a?b=1');
    expect(head.headers.get('authorization')).toBe('Bearer sandbox-supplied');
    expect(head.headers.has('proxy-authorization')).toBe(false);
    expect(head.headers.has('x-hop')).toBe(false);
  });

  it('dials exactly the matched host and port, whatever the path holds', () => {
    for (const authority of [
      { host: 'files.test', port: 8443 },
      { host: '127.0.0.1', port: 9000 },
      { host: '[::1]', port: 443 },
    ])
      for (const path of [
        '/x',
        '//evil.test/x',
        '/\\evil.test\\x',
        '/@evil.test:1/x',
        '/x#@evil.test',
        '/%2F%2Fevil.test',
      ])
        for (const scheme of ['http', 'https'] as const) {
          const head = passthroughHead(scheme, authority, path, []);
          expect(dialledAuthority(head.url), `${authority.host} ${path}`).toEqual(authority);
          expect(head.url.username + head.url.password).toBe('');
        }
  });

  it('never returns a header that echoes the credential', () => {
    const upstream = new Headers([
      ['content-type', 'text/plain'],
      ['x-echo', 'Bearer sk-real-credential'],
      ['transfer-encoding', 'chunked'],
      ['content-length', '5'],
    ]);
    expect(responseHeaders(upstream, 'sk-real-credential')).toEqual([
      ['content-length', '5'],
      ['content-type', 'text/plain'],
      ['x-airlock-scrubbed', 'x-echo'],
    ]);
  });

  it('drops headers carrying the credential encoded (Location, each Set-Cookie) or in their name', () => {
    const key = 'ghs_16C7e42F292c6912E7710c838347Ae178B4a';
    const upstream = new Headers([
      ['location', `https://elsewhere.example/cb?auth=${encodeURIComponent(`Bearer ${key}`)}`],
      ['set-cookie', `a=${btoa(`x-access-token:${key}`)}; Path=/`],
      ['set-cookie', 'plain=1; Path=/'],
      [`x-${key}`, '1'],
      ['x-kept', 'nothing secret'],
    ]);
    expect(responseHeaders(upstream, key)).toEqual([
      ['set-cookie', 'plain=1; Path=/'],
      ['x-kept', 'nothing secret'],
      // A name that carried the key is not repeated.
      ['x-airlock-scrubbed', 'location, set-cookie'],
    ]);
    expect(responseHeaders(upstream, null)).toHaveLength(5);
  });

  it('joins base URLs and paths', () => {
    expect(joinUpstreamUrl('https://a.test', '/x').href).toBe('https://a.test/x');
    expect(joinUpstreamUrl('https://a.test/base', '/x?y').href).toBe('https://a.test/base/x?y');
  });
});
