import type { EgressRoute } from '@airlock/schema/plan';
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

const idOf = (m: ReturnType<RouteMatcher['match']>) =>
  m.kind === 'route' ? m.route.id : m.kind === 'passthrough' ? `pass:${m.pattern}` : 'deny';

describe('RouteMatcher', () => {
  it('matches exact hosts case-insensitively, ignoring a trailing dot and default ports', () => {
    const m = RouteMatcher.compile([route('rt_a', ['api.example.com'])], []);
    for (const host of ['api.example.com', 'API.Example.COM', 'api.example.com.', 'api.example.com:443']) {
      expect(idOf(m.match({ host, path: '/x', method: 'GET' }))).toBe('rt_a');
    }
    expect(idOf(m.match({ host: 'api.example.com:8443', path: '/x', method: 'GET' }))).toBe('deny');
    expect(idOf(m.match({ host: 'xapi.example.com', path: '/x', method: 'GET' }))).toBe('deny');
  });

  it('matches wildcards on subdomains only, longest suffix first', () => {
    const m = RouteMatcher.compile(
      [route('rt_wide', ['*.example.com']), route('rt_narrow', ['*.eu.example.com'])],
      [],
    );
    expect(idOf(m.match({ host: 'a.example.com', path: '/', method: 'GET' }))).toBe('rt_wide');
    expect(idOf(m.match({ host: 'a.b.example.com', path: '/', method: 'GET' }))).toBe('rt_wide');
    expect(idOf(m.match({ host: 'x.eu.example.com', path: '/', method: 'GET' }))).toBe('rt_narrow');
    expect(idOf(m.match({ host: 'example.com', path: '/', method: 'GET' }))).toBe('deny');
  });

  it('prefers an exact host over a wildcard, whatever the path lengths', () => {
    const m = RouteMatcher.compile(
      [route('rt_wild', ['*.example.com'], ['/v1/deep']), route('rt_exact', ['api.example.com'])],
      [],
    );
    expect(idOf(m.match({ host: 'api.example.com', path: '/v1/deep/x', method: 'GET' }))).toBe('rt_exact');
  });

  it('matches path prefixes by segment, the longest first', () => {
    const m = RouteMatcher.compile(
      [route('rt_v1', ['api.example.com'], ['/v1']), route('rt_chat', ['api.example.com'], ['/v1/chat'])],
      [],
    );
    const at = (path: string) => idOf(m.match({ host: 'api.example.com', path, method: 'POST' }));
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
    expect(idOf(m.match({ host: 'api.example.com', path: '/', method: 'get' }))).toBe('rt_get');
    expect(idOf(m.match({ host: 'api.example.com', path: '/', method: 'POST' }))).toBe('rt_any');
  });

  it('denies an unmatched method and names the routes of that host', () => {
    const m = RouteMatcher.compile([route('rt_get', ['api.example.com'], ['/v1'], ['GET'])], []);
    const result = m.match({ host: 'api.example.com', path: '/v1/x', method: 'DELETE' });
    expect(result.kind).toBe('deny');
    expect(result.kind === 'deny' && result.sameHost.map((r) => r.id)).toEqual(['rt_get']);
  });

  it('falls back to passthrough hosts, and brokers a host that is in both', () => {
    const m = RouteMatcher.compile(
      [route('rt_a', ['api.example.com'])],
      ['api.example.com', '*.cdn.test', 'files.test'],
    );
    expect(idOf(m.match({ host: 'api.example.com', path: '/', method: 'GET' }))).toBe('rt_a');
    expect(idOf(m.match({ host: 'x.cdn.test', path: '/a', method: 'GET' }))).toBe('pass:*.cdn.test');
    expect(idOf(m.match({ host: 'files.test:443', path: '/', method: 'GET' }))).toBe('pass:files.test');
    expect(idOf(m.match({ host: 'cdn.test', path: '/', method: 'GET' }))).toBe('deny');
  });

  it('honours explicit ports', () => {
    const m = RouteMatcher.compile([route('rt_p', ['localhost:9000'])], []);
    expect(idOf(m.match({ host: 'localhost:9000', path: '/', method: 'GET' }))).toBe('rt_p');
    expect(idOf(m.match({ host: 'localhost', path: '/', method: 'GET' }))).toBe('deny');
  });

  it('compiles 10 000 routes and still finds each one', () => {
    const routes = Array.from({ length: 10_000 }, (_, i) =>
      route(`rt_${i}`, [`svc${i % 500}.example.com`], [`/api/v${Math.floor(i / 500)}`]),
    );
    const m = RouteMatcher.compile(routes, []);
    expect(m.size).toBe(10_000);
    for (const i of [0, 1, 499, 500, 7_777, 9_999]) {
      const path = `/api/v${Math.floor(i / 500)}/items/1`;
      expect(idOf(m.match({ host: `svc${i % 500}.example.com`, path, method: 'GET' }))).toBe(`rt_${i}`);
    }
  });
});
