import type { Role } from '@airlock/schema/api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedMethods } from './method-not-allowed.ts';
import { API_ROUTES } from './routes.ts';
import { type Call, Harness, type Reply } from './testing/harness.ts';
import {
  anyBody,
  anyPathValue,
  anyQuery,
  type BodyCase,
  type OpenApiDoc,
  type Operation,
  validQuery,
} from './testing/openapi-arbitraries.ts';
import { BODIES, type Target, targetOf, urlOf } from './testing/route-samples.ts';
import { createWorld, type World } from './testing/world.ts';

// The OpenAPI document describes the API exactly, checked the way a client
// generator or a schema fuzzer would use it: every route of the registry is
// driven with generated requests — valid and invalid bodies, queries, path
// values, callers — and every status it answers must be one its operation
// documents. Requests valid by the document's query schemas must succeed, a
// required body must be present, and a known path asked with another method
// answers 405 with `Allow`.

const h = new Harness();
let doc: OpenApiDoc;
let home: World;
let foreign: World;
beforeAll(async () => {
  const reply = await h.call<OpenApiDoc>('GET', '/openapi.json');
  expect(reply.status).toBe(200);
  doc = reply.json;
  home = await createWorld(h);
  foreign = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

/** Generated requests per route (each a real request against Postgres and Redis). */
const RUNS = 24;
const ip = () => `203.0.113.${Math.floor(Math.random() * 250)}`;

const operationOf = (target: Target): Operation => {
  const op = doc.paths[target.path]?.[target.method.toLowerCase()];
  if (op === undefined) throw new Error(`${target.key} is not in the document`);
  return op;
};

function expectDocumented(target: Target, reply: Reply, what: string): void {
  const documented = Object.keys(operationOf(target).responses);
  expect(
    documented,
    `${target.key} ${what} answered an undocumented ${reply.status}: ${reply.text.slice(0, 300)}`,
  ).toContain(String(reply.status));
  if (reply.status >= 400) expect(reply.headers.get('content-type')).toBe('application/problem+json');
}

type Caller = Role | 'anonymous' | 'token' | 'foreign-origin' | 'foreign-org';
const CALLERS: readonly Caller[] = [
  'owner',
  'admin',
  'member',
  'anonymous',
  'token',
  'foreign-origin',
  'foreign-org',
];

function credentials(caller: Caller, world: World): Call {
  switch (caller) {
    case 'anonymous':
      return {};
    case 'token':
      return { token: world.people.owner.token };
    case 'foreign-origin':
      return { cookie: world.people.owner.cookie, origin: 'https://evil.example' };
    case 'foreign-org':
      return { cookie: foreign.people.owner.cookie };
    default:
      return { cookie: world.people[caller].cookie };
  }
}

/** Every string in a value, with U+0000 appended (Postgres cannot store it). */
const withNul = (value: unknown): unknown =>
  typeof value === 'string'
    ? `${value}\u0000`
    : Array.isArray(value)
      ? value.map(withNul)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withNul(v)]))
        : value;

function bodyCall(body: BodyCase | 'sample' | 'sample-nul' | 'none', target: Target, world: World): Call {
  if (body === 'none') return {};
  if (body === 'sample' || body === 'sample-nul') {
    const sample = Object.hasOwn(BODIES, target.key) ? BODIES[target.key] : undefined;
    if (sample === undefined) return {};
    return { body: body === 'sample' ? sample(world) : withNul(sample(world)) };
  }
  return body.kind === 'json' ? { body: body.value } : { raw: body.text, contentType: body.contentType };
}

const targets = API_ROUTES.map(targetOf);

describe.each(API_ROUTES.map((route, i) => [targets[i]?.key ?? '', route, targets[i]] as const))(
  '%s',
  (_, route, target) => {
    if (target === undefined) throw new Error(`${route.route.path} has no target`);
    const pathParams = [...target.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');

    it('answers generated requests only with statuses its operation documents', async () => {
      // Writes get their own org: generated requests may change or delete what they aim at.
      const world = target.method === 'GET' ? home : await createWorld(h);
      const op = operationOf(target);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...CALLERS),
          fc.oneof(fc.constant(''), validQuery(op, target.key), anyQuery(op)),
          pathParams.length === 0
            ? fc.constant(undefined)
            : fc.option(fc.tuple(fc.constantFrom(...pathParams), anyPathValue), { nil: undefined, freq: 2 }),
          target.hasBody
            ? fc.oneof(
                fc.constant<'sample'>('sample'),
                fc.constant<'sample-nul'>('sample-nul'),
                fc.constant<'none'>('none'),
                anyBody,
              )
            : fc.constant<'none'>('none'),
          async (caller, query, broken, body) => {
            const filled = urlOf(target, world, 'owner').split('/');
            const path = target.path
              .split('/')
              .map((segment, i) =>
                broken !== undefined && segment === `{${broken[0]}}`
                  ? encodeURIComponent(broken[1])
                  : filled[i],
              )
              .join('/');
            const reply = await h.call(target.method, `${path}${query}`, {
              ...credentials(caller, world),
              ...bodyCall(body, target, world),
              headers: { 'cf-connecting-ip': ip() },
            });
            expectDocumented(
              target,
              reply,
              `(${caller}, ${path}${query}, body ${JSON.stringify(body).slice(0, 120)})`,
            );
            expect(reply.status, reply.text).toBeLessThan(500);
          },
        ),
        { numRuns: RUNS, endOnFailure: true },
      );
    }, 120_000);

    if (route.route.request?.query !== undefined) {
      it('accepts every query its schema allows', async () => {
        const op = operationOf(target);
        expect((op.parameters ?? []).some((p) => p.in === 'query')).toBe(true);
        await fc.assert(
          fc.asyncProperty(validQuery(op, target.key), async (query) => {
            const reply = await h.call('GET', `${urlOf(target, home, 'owner')}${query}`, {
              cookie: home.people.owner.cookie,
            });
            expect(reply.status, `${query}: ${reply.text.slice(0, 300)}`).toBe(target.success);
          }),
          { numRuns: RUNS, endOnFailure: true },
        );
      }, 120_000);
    }

    if (target.hasBody) {
      it('refuses a request without its required body with 422', async () => {
        const world = await createWorld(h);
        const reply = await h.call(target.method, urlOf(target, world, 'owner'), {
          cookie: world.people.owner.cookie,
          headers: { 'cf-connecting-ip': ip() },
        });
        expect(reply.status, reply.text).toBe(422);
        expectDocumented(target, reply, 'without a body');
      });
    }
  },
);

describe('a known path asked with a method it does not serve', () => {
  const paths = [...allowedMethods(API_ROUTES)];
  it.each(paths.map(([path, methods]) => [path, methods] as const))(
    '%s answers 405 with Allow',
    async (path, methods) => {
      const unserved = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !methods.includes(m));
      const target = targets.find((t) => t.path === path);
      if (target === undefined) throw new Error(path);
      for (const method of unserved) {
        const reply = await h.call(method, urlOf(target, home, 'owner'), {
          cookie: home.people.owner.cookie,
        });
        expect(reply.status, `${method} ${path}: ${reply.text}`).toBe(405);
        expect(reply.headers.get('allow')).toBe(methods.join(', '));
        expect(reply.headers.get('content-type')).toBe('application/problem+json');
      }
      // Every path serves at least one method, so some method is always unserved here.
      expect(unserved.length).toBeGreaterThan(0);
    },
  );

  it('leaves an unknown path at 404', async () => {
    const reply = await h.call('DELETE', '/no-such-thing', { cookie: home.people.owner.cookie });
    expect(reply.status).toBe(404);
  });
});
