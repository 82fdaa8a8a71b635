import { type Authority, type EgressRoute, parseAuthority } from '@airlock/schema/plan';
import { describe, expect, it } from 'vitest';
import { RouteMatcher } from './route-matcher.ts';

function route(
  id: string,
  hosts: string[],
  pathPrefixes: string[] = [],
  methods: string[] = [],
): EgressRoute {
  return {
    id,
    match: { hosts, pathPrefixes, methods: methods as EgressRoute['match']['methods'] },
    upstream: { baseUrl: 'https://upstream.test' },
    inject: { kind: 'bearer', target: 'authorization' },
    credential: { source: 'secret', connectionId: 'con_x', field: 'api_key' },
    integration: 'test',
  };
}

/** A request authority as request-target.ts hands it over: parsed once, strictly. */
function a(host: string): Authority {
  const parsed = parseAuthority(host);
  if (!parsed.ok) throw new Error(`${host}: ${parsed.message}`);
  return parsed.authority;
}

const idOf = (m: ReturnType<RouteMatcher['match']>) =>
  m.kind === 'route' ? m.route.id : m.kind === 'passthrough' ? `pass:${m.pattern}` : 'deny';

describe('RouteMatcher', () => {
  it('matches exact hosts case-insensitively, ignoring a trailing dot and default ports', () => {
    const m = RouteMatcher.compile([route('rt_a', ['api.example.com'])], []);
    for (const host of ['api.example.com', 'API.Example.COM', 'api.example.com.', 'api.example.com:443']) {
      expect(idOf(m.match({ authority: a(host), path: '/x', method: 'GET' }))).toBe('rt_a');
    }
    expect(idOf(m.match({ authority: a('api.example.com:8443'), path: '/x', method: 'GET' }))).toBe('deny');
    expect(idOf(m.match({ authority: a('xapi.example.com'), path: '/x', method: 'GET' }))).toBe('deny');
  });

  it('matches wildcards on subdomains only, longest suffix first', () => {
    const m = RouteMatcher.compile(
      [route('rt_wide', ['*.example.com']), route('rt_narrow', ['*.eu.example.com'])],
      [],
    );
    expect(idOf(m.match({ authority: a('a.example.com'), path: '/', method: 'GET' }))).toBe('rt_wide');
    expect(idOf(m.match({ authority: a('a.b.example.com'), path: '/', method: 'GET' }))).toBe('rt_wide');
    expect(idOf(m.match({ authority: a('x.eu.example.com'), path: '/', method: 'GET' }))).toBe('rt_narrow');
    expect(idOf(m.match({ authority: a('example.com'), path: '/', method: 'GET' }))).toBe('deny');
  });

  it('prefers an exact host over a wildcard, whatever the path lengths', () => {
    const m = RouteMatcher.compile(
      [route('rt_wild', ['*.example.com'], ['/v1/deep']), route('rt_exact', ['api.example.com'])],
      [],
    );
    expect(idOf(m.match({ authority: a('api.example.com'), path: '/v1/deep/x', method: 'GET' }))).toBe(
      'rt_exact',
    );
  });

  it('matches path prefixes by segment, the longest first', () => {
    const m = RouteMatcher.compile(
      [route('rt_v1', ['api.example.com'], ['/v1']), route('rt_chat', ['api.example.com'], ['/v1/chat'])],
      [],
    );
    const at = (path: string) => idOf(m.match({ authority: a('api.example.com'), path, method: 'POST' }));
    expect(at('/v1')).toBe('rt_v1');
    expect(at('/v1/')).toBe('rt_v1');
    expect(at('/v1/models')).toBe('rt_v1');
    expect(at('/v1/chat')).toBe('rt_chat');
    expect(at('/v1/chat/completions')).toBe('rt_chat');
    expect(at('/v1/chatter')).toBe('rt_v1');
    expect(at('/v10')).toBe('deny');
    expect(at('/')).toBe('deny');
  });

  it('prefers a route naming the method over one allowing every method, then plan order', () => {
    const m = RouteMatcher.compile(
      [
        route('rt_any', ['api.example.com']),
        route('rt_get', ['api.example.com'], [], ['GET']),
        route('rt_any2', ['api.example.com']),
      ],
      [],
    );
    expect(idOf(m.match({ authority: a('api.example.com'), path: '/', method: 'get' }))).toBe('rt_get');
    expect(idOf(m.match({ authority: a('api.example.com'), path: '/', method: 'POST' }))).toBe('rt_any');
  });

  it('denies an unmatched method and names the routes of that host', () => {
    const m = RouteMatcher.compile([route('rt_get', ['api.example.com'], ['/v1'], ['GET'])], []);
    const result = m.match({ authority: a('api.example.com'), path: '/v1/x', method: 'DELETE' });
    expect(result.kind).toBe('deny');
    expect(result.kind === 'deny' && result.sameHost.map((r) => r.id)).toEqual(['rt_get']);
  });

  it('falls back to passthrough hosts, and brokers a host that is in both', () => {
    const m = RouteMatcher.compile(
      [route('rt_a', ['api.example.com'])],
      ['api.example.com', '*.cdn.test', 'files.test'],
    );
    expect(idOf(m.match({ authority: a('api.example.com'), path: '/', method: 'GET' }))).toBe('rt_a');
    expect(idOf(m.match({ authority: a('x.cdn.test'), path: '/a', method: 'GET' }))).toBe('pass:*.cdn.test');
    expect(idOf(m.match({ authority: a('files.test:443'), path: '/', method: 'GET' }))).toBe(
      'pass:files.test',
    );
    expect(idOf(m.match({ authority: a('cdn.test'), path: '/', method: 'GET' }))).toBe('deny');
  });

  it('honours explicit ports', () => {
    const m = RouteMatcher.compile([route('rt_p', ['localhost:9000'])], []);
    expect(idOf(m.match({ authority: a('localhost:9000'), path: '/', method: 'GET' }))).toBe('rt_p');
    expect(idOf(m.match({ authority: a('localhost'), path: '/', method: 'GET' }))).toBe('deny');
  });

  it('never lets a wildcard cover an IP literal or a localhost name; only an exact pattern does', () => {
    const m = RouteMatcher.compile(
      [route('rt_wild', ['*.example.com']), route('rt_ip', ['127.0.0.1:9000'])],
      ['*.pkgs.test', '[::1]:8080', 'localhost:3000', '169.254.169.254'],
    );
    const at = (host: string) => idOf(m.match({ authority: a(host), path: '/', method: 'GET' }));
    expect(at('127.0.0.1:9000')).toBe('rt_ip');
    expect(at('127.0.0.1:9001')).toBe('deny');
    expect(at('[::1]:8080')).toBe('pass:[::1]:8080');
    expect(at('localhost:3000')).toBe('pass:localhost:3000');
    expect(at('169.254.169.254')).toBe('pass:169.254.169.254');
    expect(at('169.254.169.254:8080')).toBe('deny');
    // Names a wildcard could otherwise reach by suffix: never.
    for (const host of ['x.localhost', 'a.b.localhost:3000', '10.0.0.1', '[fe80::1]', '0.0.0.0', '[::]'])
      expect(at(host), host).toBe('deny');
    expect(at('x.pkgs.test')).toBe('pass:*.pkgs.test');
    expect(at('x.example.com')).toBe('rt_wild');
  });

  it('denies 0.0.0.0/8 and [::] even in a plan that named them', () => {
    // The compiler refuses such patterns; the matcher holds the line for a plan that slipped past.
    const m = RouteMatcher.compile([], []);
    for (const host of ['0.0.0.0', '0.1.2.3:80', '[::]'])
      expect(idOf(m.match({ authority: a(host), path: '/', method: 'GET' }))).toBe('deny');
  });

  it('compiles 10 000 routes and still finds each one', () => {
    const routes = Array.from({ length: 10_000 }, (_, i) =>
      route(`rt_${i}`, [`svc${i % 500}.example.com`], [`/api/v${Math.floor(i / 500)}`]),
    );
    const m = RouteMatcher.compile(routes, []);
    expect(m.size).toBe(10_000);
    for (const i of [0, 1, 499, 500, 7_777, 9_999]) {
      const path = `/api/v${Math.floor(i / 500)}/items/1`;
      expect(idOf(m.match({ authority: a(`svc${i % 500}.example.com`), path, method: 'GET' }))).toBe(
        `rt_${i}`,
      );
    }
  });
});
