import { can, ROLES, type Role } from '@airlock/schema/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from './routes.ts';
import { Harness } from './testing/harness.ts';
import { createWorld, type World } from './testing/world.ts';

// The authorization matrix, generated from the route registry: every route ×
// every role × (own org | foreign org | own org with a foreign resource id),
// plus anonymous callers. A route added to the registry is covered here
// automatically; one with a new path parameter or request body fails until
// the tables below say how to fill it.

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

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
const unique = () => crypto.randomUUID().slice(0, 8);

/** How each path parameter is filled, from a world and the calling role. */
const PARAMS: Record<string, (w: World, role: Role) => string> = {
  orgId: (w) => w.orgId,
  connectionId: (w) => w.connectionId,
  profileId: (w) => w.profileId,
  versionId: (w) => w.publishedVersionId,
  snapshotId: (w) => w.snapshotId,
  sessionId: (w) => w.sessionId,
  runnerId: (w) => w.runnerId,
  triggerId: (w) => w.triggerId,
  deliveryId: (w) => w.deliveryId,
  inviteId: (w) => w.inviteId,
  memberId: (w) => w.people.member.membershipId,
  tokenId: (w, role) => w.people[role].tokenId,
  loginSessionId: (w, role) => w.people[role].loginSessionId,
};

/** Routes that act on the draft rather than the published version. */
const DRAFT_ROUTES = new Set([
  key('patch', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}'),
  key('post', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/publish'),
  key('post', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/setup-tests'),
]);

/** A valid body for every route that takes one. */
const BODIES: Record<string, (w: World) => unknown> = {
  [key('post', '/auth/otp/request')]: () => ({ email: `m-${unique()}@example.test` }),
  [key('post', '/auth/otp/verify')]: () => ({ email: `m-${unique()}@example.test`, code: '000000' }),
  [key('post', '/orgs')]: () => ({ name: 'New', slug: `new-${unique()}` }),
  [key('post', '/auth/device')]: () => ({ client: { name: 'matrix' } }),
  [key('post', '/auth/device/token')]: () => ({ deviceCode: `unknown-device-code-${unique()}` }),
  // An unknown user code answers 422 on the field; the org check comes after it.
  [key('post', '/auth/device/lookup')]: () => ({ userCode: 'BCDF-GHJK' }),
  [key('post', '/auth/device/approve')]: (w) => ({ userCode: 'BCDF-GHJK', orgId: w.orgId }),
  [key('post', '/auth/device/deny')]: () => ({ userCode: 'BCDF-GHJK' }),
  [key('patch', '/orgs/{orgId}')]: () => ({ name: 'Renamed' }),
  [key('patch', '/orgs/{orgId}/members/{memberId}')]: () => ({ role: 'admin' }),
  [key('post', '/orgs/{orgId}/invites')]: () => ({ email: `i-${unique()}@example.test`, role: 'member' }),
  [key('post', '/orgs/{orgId}/tokens')]: () => ({ name: 'cli' }),
  [key('post', '/orgs/{orgId}/connections')]: () => ({
    integration: 'anthropic',
    name: `Anthropic ${unique()}`,
    credentials: { api_key: 'sk-ant-matrix-0000' },
  }),
  [key('patch', '/orgs/{orgId}/connections/{connectionId}')]: () => ({ name: `Renamed ${unique()}` }),
  [key('post', '/orgs/{orgId}/profiles')]: () => ({ name: `Profile ${unique()}` }),
  [key('patch', '/orgs/{orgId}/profiles/{profileId}')]: () => ({ description: 'changed' }),
  [key('patch', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}')]: () => ({
    setupScript: 'echo hi',
  }),
  [key('post', '/orgs/{orgId}/sessions')]: (w) => ({ profileId: w.profileId }),
  [key('post', '/orgs/{orgId}/sessions/{sessionId}/pty-token')]: () => ({ mode: 'ro' }),
  [key('post', '/orgs/{orgId}/sessions/{sessionId}/terminals')]: () => ({ terminal: 'shell' }),
  [key('post', '/orgs/{orgId}/runners')]: () => ({ name: `runner-${unique()}` }),
  [key('post', '/orgs/{orgId}/triggers')]: (w) => ({
    kind: 'schedule',
    name: `t-${unique()}`,
    profileId: w.profileId,
    config: { cron: '*/5 * * * *', timezone: 'Europe/Berlin', promptTemplate: 'Check' },
  }),
  [key('patch', '/orgs/{orgId}/triggers/{triggerId}')]: () => ({ enabled: false }),
  [key('post', '/orgs/{orgId}/triggers/{triggerId}/test-event')]: () => ({}),
  [key('post', '/orgs/{orgId}/triggers/{triggerId}/preview')]: () => ({
    promptTemplate: 'At {{ schedule.time }}',
  }),
  [key('post', '/orgs/{orgId}/trigger-preview')]: () => ({
    kind: 'schedule',
    config: { cron: '0 9 * * MON', timezone: 'UTC', promptTemplate: 'Weekly at {{ schedule.local }}' },
  }),
  [key('post', '/orgs/{orgId}/triggers/{triggerId}/secret')]: () => ({ graceSeconds: 0 }),
};

interface Target {
  readonly method: string;
  readonly path: string;
  readonly key: string;
  readonly hasBody: boolean;
}

const targets: Target[] = API_ROUTES.map((r) => ({
  method: r.route.method.toUpperCase(),
  path: r.route.path,
  key: key(r.route.method, r.route.path),
  hasBody: r.route.request?.body !== undefined,
}));

function url(target: Target, world: World, role: Role, resources: World = world): string {
  return target.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const fill = PARAMS[name];
    if (fill === undefined) throw new Error(`no way to fill {${name}} of ${target.key}; add it to PARAMS`);
    if (name === 'versionId' && DRAFT_ROUTES.has(target.key)) return resources.draftVersionId;
    return fill(name === 'orgId' ? world : resources, role);
  });
}

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
    it('is public', () => expect(access.kind).toBe('public'));
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
      if (allowed) {
        expect([401, 403, 404], `${reply.status} ${reply.text}`).not.toContain(reply.status);
        expect(reply.status, reply.text).toBeLessThan(500);
      } else {
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
