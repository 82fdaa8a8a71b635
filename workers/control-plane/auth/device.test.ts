import { DEVICE_USER_CODE_ALPHABET } from '@airlock/schema/api';
import { apiTokens, auditEvents } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKv } from '../../lib/kv.ts';
import { type Granted, poll, randomIp, startLogin, type TokenProblem } from '../testing/device-login.ts';
import { Harness, PUBLIC_ORIGIN } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Device-code login (RFC 8628 semantics) against the real Worker app, Redis
// and Postgres: the CLI's start and polls, the dashboard's lookup, approve and
// deny, with the injected clock for intervals and expiry.

const h = new Harness();
let world: World;
beforeAll(async () => {
  world = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const codeShape = new RegExp(`^[${DEVICE_USER_CODE_ALPHABET}]{4}-[${DEVICE_USER_CODE_ALPHABET}]{4}$`);

describe('device login', () => {
  it('gives a code pair, stays pending until approved, then hands out one API token for the chosen org', async () => {
    const cliIp = randomIp();
    const started = await startLogin(h, cliIp);
    expect(started.userCode).toMatch(codeShape);
    expect(started.verificationUri).toBe(`${PUBLIC_ORIGIN}/device`);
    expect(started.verificationUriComplete).toBe(`${PUBLIC_ORIGIN}/device?code=${started.userCode}`);
    expect(started).toMatchObject({ interval: 5, expiresIn: 600 });
    expect(started.deviceCode.length).toBeGreaterThanOrEqual(43);

    const pending = await poll(h, started.deviceCode, { ip: cliIp });
    expect(pending.status).toBe(400);
    expect(pending.headers.get('content-type')).toBe('application/problem+json');
    expect(pending.json).toMatchObject({ code: 'bad_request', error: 'authorization_pending', interval: 5 });

    const owner = world.people.owner;
    const approverIp = randomIp();
    const info = await h.call<Record<string, unknown>>('POST', '/auth/device/lookup', {
      cookie: owner.cookie,
      body: { userCode: started.userCode },
      headers: { 'cf-connecting-ip': approverIp },
    });
    expect(info.status, info.text).toBe(200);
    expect(info.json).toMatchObject({
      userCode: started.userCode,
      client: { name: 'airlock CLI', version: '0.1.0', hostname: 'laptop', platform: null },
      requestIp: cliIp,
      requestUserAgent: 'airlock-cli/0.1.0',
      yourIp: approverIp,
      sameIp: false,
      tokenExpiresInDays: 90,
    });

    const approved = await h.call('POST', '/auth/device/approve', {
      cookie: owner.cookie,
      body: { userCode: started.userCode, orgId: world.orgId },
    });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json).toEqual({ decision: 'approved', orgId: world.orgId });

    const granted = h.disclosure(await poll(h, started.deviceCode, { ip: cliIp }));
    expect(granted.status, granted.text).toBe(200);
    const body = granted.json as Granted;
    const token = h.secret(body.token);
    expect(token).toMatch(/^alk_[A-Za-z0-9_-]{40,}$/);
    expect(body).toMatchObject({ orgId: world.orgId, email: owner.email });
    expect(body.apiToken.name).toBe('airlock CLI on laptop');
    const days = (Date.parse(body.apiToken.expiresAt ?? '') - h.now) / 86_400_000;
    expect(days).toBeCloseTo(90, 0);

    const me = await h.call<{ via: string; tokenOrgId: string; user: { email: string } }>('GET', '/me', {
      token,
    });
    expect(me.json).toMatchObject({ via: 'token', tokenOrgId: world.orgId, user: { email: owner.email } });

    const db = h.db();
    const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, body.apiToken.id));
    expect(row?.tokenHash).not.toContain(token);
    expect(row?.userId).toBe(owner.userId);
    const trail = await db
      .select({ action: auditEvents.action })
      .from(auditEvents)
      .where(and(eq(auditEvents.orgId, world.orgId)));
    expect(trail.map((e) => e.action)).toEqual(expect.arrayContaining(['device.approved', 'token.created']));
  });

  it('accepts the user code as people type it (lowercase, no dash)', async () => {
    const started = await startLogin(h);
    const typed = started.userCode.replace('-', ' ').toLowerCase();
    const info = await h.call('POST', '/auth/device/lookup', {
      cookie: world.people.member.cookie,
      body: { userCode: typed },
    });
    expect(info.status, info.text).toBe(200);
    const malformed = await h.call<{ errors: { path: string }[] }>('POST', '/auth/device/lookup', {
      cookie: world.people.member.cookie,
      body: { userCode: 'AAAA-1111' },
    });
    expect(malformed.status).toBe(422);
    expect(malformed.json.errors.map((e) => e.path)).toEqual(['userCode']);
  });

  it('asks a client that polls faster than the interval to slow down, by 5 s each time', async () => {
    const started = await startLogin(h);
    expect((await poll(h, started.deviceCode)).json.error).toBe('authorization_pending');
    const fast = await poll(h, started.deviceCode, { advance: 1 });
    expect(fast.json).toMatchObject({ error: 'slow_down', interval: 10 });
    const faster = await poll(h, started.deviceCode, { advance: 6 });
    expect(faster.json).toMatchObject({ error: 'slow_down', interval: 15 });
    expect((await poll(h, started.deviceCode, { advance: 16 })).json.error).toBe('authorization_pending');
  });

  it('tells the CLI when the login was denied, and for good', async () => {
    const started = await startLogin(h);
    const denied = await h.call('POST', '/auth/device/deny', {
      cookie: world.people.admin.cookie,
      body: { userCode: started.userCode },
    });
    expect(denied.status, denied.text).toBe(200);
    expect(denied.json).toEqual({ decision: 'denied', orgId: null });
    for (let i = 0; i < 2; i++)
      expect((await poll(h, started.deviceCode)).json).toMatchObject({ error: 'access_denied' });
    const late = await h.call('POST', '/auth/device/approve', {
      cookie: world.people.admin.cookie,
      body: { userCode: started.userCode, orgId: world.orgId },
    });
    expect(late.status).toBe(422);
  });

  it('expires codes after ten minutes: the CLI hears expired_token, the page cannot find the code', async () => {
    const started = await startLogin(h);
    h.advance(601);
    const reply = await poll(h, started.deviceCode, { advance: 0 });
    expect(reply.json).toMatchObject({ error: 'expired_token' });
    const lookup = await h.call<TokenProblem>('POST', '/auth/device/lookup', {
      cookie: world.people.owner.cookie,
      body: { userCode: started.userCode },
    });
    expect(lookup.status).toBe(422);
  });

  it('keeps only hashes of both codes in Redis', async () => {
    const started = await startLogin(h);
    const kv = openKv(h.config);
    const found = await kv.redis.keys(kv.key('device', '*'));
    expect(found.length).toBeGreaterThan(0);
    const bare = started.userCode.replace('-', '');
    for (const key of found) {
      expect(key).not.toContain(started.deviceCode);
      expect(key).not.toContain(bare);
      const value = (await kv.redis.get<string>(key)) ?? '';
      expect(value).not.toContain(started.deviceCode);
      expect(value).not.toContain(bare);
    }
  });

  it('refuses an unknown device code as invalid_grant', async () => {
    const reply = await poll(h, 'x'.repeat(43));
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe('invalid_grant');
    const cookiePoll = await h.call('POST', '/auth/device/token', {
      body: { deviceCode: 'x'.repeat(43) },
      origin: 'https://evil.example',
    });
    expect(cookiePoll.status).toBe(403);
  });
});
