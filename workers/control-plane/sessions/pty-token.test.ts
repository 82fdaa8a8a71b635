import { env, exports } from 'cloudflare:workers';
import { sessions } from '@airlock/schema/db';
import { DEFAULT_SESSION_SETTINGS } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';
import type { ServerMessage } from '@airlock/schema/pty';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, PUBLIC_ORIGIN } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Terminal access: pty tokens minted under the API for members of the
// session's org (read-write for the starter, owners and admins), and viewers
// that attach with their login cookie or an API token instead.

const h = new Harness();
let w: World;
let other: World;
beforeAll(async () => {
  w = await createWorld(h);
  other = await createWorld(h);
  // The session's gateway knows its session once a plan is applied.
  const gateway = env.SESSION_GATEWAY.get(env.SESSION_GATEWAY.idFromName(w.sessionId));
  const applied = await gateway.applyPlan({
    sessionId: w.sessionId,
    revision: 1,
    plan: {
      schemaVersion: 1,
      orgId: w.orgId,
      profileId: w.profileId,
      profileVersionId: w.publishedVersionId,
      versionNumber: 1,
      egressRoutes: [],
      passthrough: [],
      files: [],
      processes: [],
      workspace: [],
      env: {},
      agent: { runtime: 'codex', interactive: ['codex'], headless: ['codex', 'exec'] },
    },
    attribution: { startedBy: w.people.member.userId, triggerId: null, triggerDeliveryId: null },
    settings: DEFAULT_SESSION_SETTINGS,
  });
  expect(applied.ok).toBe(true);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const path = (world: World, sessionId = world.sessionId) =>
  `/orgs/${world.orgId}/sessions/${sessionId}/pty-token`;

async function attach(url: string, headers: Record<string, string> = {}) {
  const response = await exports.default.fetch(
    new Request(url.replace(/^ws/, 'http'), { headers: { upgrade: 'websocket', ...headers } }),
  );
  if (response.webSocket === null) return { status: response.status, attached: null };
  const ws = response.webSocket;
  ws.accept();
  const attached = await new Promise<ServerMessage>((resolve) =>
    ws.addEventListener('message', (e) => resolve(JSON.parse(String(e.data)) as ServerMessage), {
      once: true,
    }),
  );
  ws.close(1000, 'done');
  return { status: response.status, attached };
}

/** A session in `w` that the owner started (so the member only watches). */
async function ownersSession(status: 'running' | 'provisioning'): Promise<string> {
  const sessionId = newId('session');
  await h.db().insert(sessions).values({
    id: sessionId,
    orgId: w.orgId,
    profileId: w.profileId,
    profileVersionId: w.publishedVersionId,
    startedBy: w.people.owner.userId,
    provider: 'docker',
    status,
  });
  return sessionId;
}

describe('pty tokens', () => {
  it('gives the starter, owners and admins read-write, and works once', async () => {
    for (const role of ['member', 'owner', 'admin'] as const) {
      const reply = h.disclosure(
        await h.call<{ token: string; mode: string; url: string; expiresAt: string }>('POST', path(w), {
          cookie: w.people[role].cookie,
          body: {},
        }),
      );
      expect(reply.status).toBe(201);
      expect(reply.json.mode).toBe('rw');
      expect(reply.json.url).toMatch(new RegExp(`^ws://.*/pty/${w.sessionId}\\?terminal=agent&token=`));
      expect(Date.parse(reply.json.expiresAt)).toBeGreaterThan(Date.now());
      const first = await attach(reply.json.url);
      expect(first.status).toBe(101);
      expect(first.attached).toMatchObject({ type: 'attached', mode: 'rw', terminal: 'agent' });
      expect((await attach(reply.json.url)).status).toBe(401);
    }
  });

  it('gives other members read-only, refuses them read-write, and refuses ended sessions', async () => {
    const sessionId = await ownersSession('running');
    const watch = h.disclosure(
      await h.call<{ mode: string }>('POST', path(w, sessionId), {
        cookie: w.people.member.cookie,
        body: {},
      }),
    );
    expect(watch.json.mode).toBe('ro');
    const write = await h.call('POST', path(w, sessionId), {
      cookie: w.people.member.cookie,
      body: { mode: 'rw' },
    });
    expect(write.status).toBe(403);
    await h.db().update(sessions).set({ status: 'stopped' }).where(eq(sessions.id, sessionId));
    const ended = await h.call('POST', path(w, sessionId), { cookie: w.people.owner.cookie, body: {} });
    expect(ended.status).toBe(409);
    const foreign = await h.call('POST', path(w, other.sessionId), {
      cookie: w.people.owner.cookie,
      body: {},
    });
    expect(foreign.status).toBe(404);
  });
});

describe('attaching with the login cookie or an API token', () => {
  const url = () => `${PUBLIC_ORIGIN}/pty/${w.sessionId}?terminal=agent`;
  const cookie = (person: World['people']['member']) =>
    `${h.config.auth.session.cookie_name}=${person.cookie}`;

  it('attaches a same-origin browser with its role, and refuses other origins', async () => {
    const starter = await attach(url(), { cookie: cookie(w.people.member), origin: PUBLIC_ORIGIN });
    expect(starter.attached).toMatchObject({ type: 'attached', mode: 'rw' });
    const watching = await attach(`${url()}&mode=ro`, {
      cookie: cookie(w.people.owner),
      origin: PUBLIC_ORIGIN,
    });
    expect(watching.attached).toMatchObject({ mode: 'ro' });
    expect(
      (await attach(url(), { cookie: cookie(w.people.member), origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await attach(url(), { cookie: cookie(w.people.member) })).status).toBe(403);
    expect((await attach(url(), { origin: PUBLIC_ORIGIN })).status).toBe(401);
    expect((await attach(url(), { cookie: cookie(other.people.owner), origin: PUBLIC_ORIGIN })).status).toBe(
      404,
    );
  });

  it('attaches a CLI with an API token of the org', async () => {
    const cli = await attach(url(), { authorization: `Bearer ${w.people.admin.token}` });
    expect(cli.attached).toMatchObject({ mode: 'rw' });
    expect((await attach(url(), { authorization: `Bearer ${other.people.admin.token}` })).status).toBe(404);
  });
});

describe('opening a shell terminal', () => {
  const open = (world: World, sessionId = world.sessionId) =>
    `/orgs/${world.orgId}/sessions/${sessionId}/terminals`;

  it("asks the session's gateway, which needs the sandbox connected; never as `agent`", async () => {
    const down = await h.call('POST', open(w), { cookie: w.people.member.cookie, body: {} });
    expect(down.status, down.text).toBe(503);
    expect(down.text).toMatch(/not connected/);
    const agent = await h.call('POST', open(w), {
      cookie: w.people.owner.cookie,
      body: { terminal: 'agent' },
    });
    expect(agent.status).toBe(422);
  });

  it('is for those who may type, and only while the session runs', async () => {
    const sessionId = await ownersSession('provisioning');
    const watcher = await h.call('POST', open(w, sessionId), { cookie: w.people.member.cookie, body: {} });
    expect(watcher.status).toBe(403);
    const early = await h.call('POST', open(w, sessionId), { cookie: w.people.owner.cookie, body: {} });
    expect(early.status).toBe(409);
    expect(early.text).toMatch(/provisioning/);
    await h.db().update(sessions).set({ status: 'stopped' }).where(eq(sessions.id, sessionId));
    const ended = await h.call('POST', open(w, sessionId), { cookie: w.people.owner.cookie, body: {} });
    expect(ended.status).toBe(409);
  });
});
