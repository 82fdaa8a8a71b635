import { can, ROLES, type Role } from '@airlock/schema/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from './routes.ts';
import { Harness } from './testing/harness.ts';
import { BODIES, routeKey as key, PARAMS, type Target, targetOf, urlOf } from './testing/route-samples.ts';
import { createWorld, type World } from './testing/world.ts';

// The authorization matrix, generated from the route registry: every route ×
// every role × (own org | foreign org | own org with a foreign resource id),
// plus anonymous callers. A route added to the registry is covered here
// automatically; one with a new path parameter or request body fails until
// testing/route-samples.ts says how to fill it. An allowed caller gets exactly
// the route's documented success status.

const h = new Harness();
let home: World;
let foreign: World;
beforeAll(async () => {
  home = await createWorld(h);
  foreign = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const targets: Target[] = API_ROUTES.map(targetOf);
const url = urlOf;

async function send(target: Target, path: string, role: Role | null, world: World) {
  const sample = BODIES[target.key];
  return h.call(target.method, path, {
    ...(role === null ? {} : { cookie: world.people[role].cookie }),
    ...(target.hasBody && sample !== undefined ? { body: sample(world) } : {}),
    headers: { 'cf-connecting-ip': `198.51.100.${Math.floor(Math.random() * 250)}` },
  });
}

describe('the route registry', () => {
  it('gives every route a way to fill its parameters and a valid sample body', () => {
    for (const target of targets) {
      for (const [, name] of target.path.matchAll(/\{(\w+)\}/g))
        expect(PARAMS[name ?? ''], `${target.key} {${name}}`).toBeDefined();
      if (target.hasBody) expect(BODIES[target.key], `${target.key} needs a sample body`).toBeDefined();
    }
    expect(targets.length).toBeGreaterThan(40);
  });
});

describe.each(API_ROUTES.map((r, i) => [targets[i]?.key ?? '', r] as const))('%s', (_, route) => {
  const target = targets.find((t) => t.key === key(route.route.method, route.route.path));
  if (target === undefined) throw new Error('route without target');
  const access = route.access;

  if (access.kind === 'public') {
    it(`answers an anonymous caller with ${target.success}`, async () => {
      const reply = await send(target, url(target, home, 'owner'), null, home);
      expect(reply.status, reply.text).toBe(target.success);
    });
    return;
  }

  it('refuses anonymous callers with 401', async () => {
    const reply = await send(target, url(target, home, 'owner'), null, home);
    expect(reply.status, reply.text).toBe(401);
  });

  for (const role of ROLES) {
    const allowed = access.kind === 'user' || can(role, access.permission);
    it(`${role} in their own org: ${allowed ? 'allowed' : '403'}`, async () => {
      // Writes get a fresh org so each role starts from the same state.
      const world = target.method === 'GET' ? home : await createWorld(h);
      const reply = await send(target, url(target, world, role), role, world);
      if (allowed) expect(reply.status, reply.text).toBe(target.success);
      else {
        expect(reply.status, reply.text).toBe(403);
      }
    });

    if (access.kind === 'org') {
      it(`${role} aiming at a foreign org: 404`, async () => {
        const reply = await send(target, url(target, foreign, role), role, home);
        expect(reply.status, reply.text).toBe(404);
        expect(reply.text).not.toContain(foreign.people.owner.email);
      });
    }
  }

  if (
    access.kind === 'org' &&
    /\{(?!orgId)\w+\}/.test(target.path) &&
    !/\{(memberId|tokenId)\}/.test(target.path)
  ) {
    it("owner aiming at a foreign org's resource through their own org: 404", async () => {
      const reply = await send(target, url(target, home, 'owner', foreign), 'owner', home);
      expect(reply.status, reply.text).toBe(404);
    });
  }
});
