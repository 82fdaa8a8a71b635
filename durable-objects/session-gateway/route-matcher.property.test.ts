import {
  type EgressRoute,
  findRoute,
  hostMatches,
  matchOverlaps,
  parseAuthority,
  type RequestTarget,
} from '@airlock/schema/plan';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RouteMatcher } from './route-matcher.ts';

// The compiled matcher agrees with the compiler's own definition of a match
// (schema/plan/match.ts, a linear scan) on every plan the compiler accepts:
// random route sets with no overlapping pair, random requests against them.

const LABELS = ['api', 'a', 'b', 'eu', 'x'] as const;
const SUFFIXES = ['example.com', 'test', 'github.com', 'localhost'] as const;
/** Hosts only an exact pattern may match (ADR 0105). */
const LITERALS = ['127.0.0.1', '[::1]', 'localhost', '0.0.0.0'] as const;
const SEGMENTS = ['v1', 'v2', 'chat', 'models', 'x'] as const;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

const named = fc
  .tuple(
    fc.boolean(),
    fc.constantFrom(...LABELS),
    fc.constantFrom(...SUFFIXES),
    fc.constantFrom(undefined, '443', '8443'),
  )
  // (The compiler refuses `*.localhost`: a wildcard never covers localhost names.)
  .filter(([wild, , suffix]) => !(wild && suffix === 'localhost'))
  .map(
    ([wild, label, suffix, port]) =>
      `${wild ? '*.' : `${label}.`}${suffix}${port === undefined ? '' : `:${port}`}`,
  );
const literal = fc
  .tuple(
    fc.constantFrom(...LITERALS.filter((l) => l !== '0.0.0.0')),
    fc.constantFrom(undefined, '443', '8443'),
  )
  .map(([h, port]) => `${h}${port === undefined ? '' : `:${port}`}`);
const host = fc.oneof({ arbitrary: named, weight: 4 }, { arbitrary: literal, weight: 1 });
const path = fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 3 }).map((s) => `/${s.join('/')}`);

const routeArb = fc.record({
  hosts: fc.uniqueArray(host, { minLength: 1, maxLength: 2 }),
  pathPrefixes: fc.uniqueArray(path, { maxLength: 2 }),
  methods: fc.uniqueArray(fc.constantFrom(...METHODS), { maxLength: 2 }),
});

/** Keep routes in order, dropping any that would overlap one kept before (the compiler's rule). */
function nonOverlapping(
  candidates: { hosts: string[]; pathPrefixes: string[]; methods: string[] }[],
): EgressRoute[] {
  const kept: EgressRoute[] = [];
  for (const [i, match] of candidates.entries()) {
    if (kept.some((r) => matchOverlaps(r.match, match))) continue;
    kept.push({
      id: `rt_${i}`,
      match: match as EgressRoute['match'],
      upstream: { baseUrl: 'https://upstream.test' },
      inject: { kind: 'bearer', target: 'authorization' },
      credential: { source: 'secret', connectionId: 'con_x', field: 'api_key' },
      integration: 'test',
    });
  }
  return kept;
}

const requestArb = fc.record({
  host: fc
    .tuple(
      fc.constantFrom(...LABELS, 'deep.api', ...LITERALS),
      fc.constantFrom(...SUFFIXES, ''),
      fc.constantFrom(undefined, '443', '80', '8443'),
    )
    .map(([label, suffix, port]) => {
      const name =
        suffix === '' || (LITERALS as readonly string[]).includes(label) ? label : `${label}.${suffix}`;
      return `${name}${port === undefined ? '' : `:${port}`}`;
    }),
  path: fc
    .tuple(path, fc.constantFrom('', '/', '/deeper', 'ter'))
    .map(([p, tail]) => `${p === '/' ? '' : p}${tail}` || '/'),
  method: fc.constantFrom(...METHODS, 'PATCH'),
});

/** The gateway's view of a request: its authority parsed once (request-target.ts). */
function parsed(request: RequestTarget) {
  const authority = parseAuthority(request.host);
  if (!authority.ok) throw new Error(`${request.host}: ${authority.message}`);
  return { authority: authority.authority, path: request.path, method: request.method };
}

describe('RouteMatcher against the compiler’s definition of a match', () => {
  it('finds exactly the route a linear scan finds, for every accepted plan', () => {
    fc.assert(
      fc.property(
        fc.array(routeArb, { maxLength: 12 }),
        fc.array(requestArb, { minLength: 1, maxLength: 20 }),
        (candidates, requests) => {
          const routes = nonOverlapping(candidates);
          const matcher = RouteMatcher.compile(routes, []);
          for (const request of requests) {
            const expected = findRoute(routes, request)?.id ?? null;
            const got = matcher.match(parsed(request));
            expect(got.kind === 'route' ? got.route.id : null).toBe(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('treats passthrough hosts as the compiler does', () => {
    fc.assert(
      fc.property(fc.uniqueArray(host, { maxLength: 5 }), requestArb, (patterns, request) => {
        const result = RouteMatcher.compile([], patterns).match(parsed(request));
        expect(result.kind === 'passthrough').toBe(patterns.some((p) => hostMatches(p, request.host)));
      }),
      { numRuns: 300 },
    );
  });
});
