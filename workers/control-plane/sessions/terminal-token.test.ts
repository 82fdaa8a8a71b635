import { sessions } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../../lib/tokens.ts';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Terminal tokens: a single-use pty token per (re)connect, bound to the
// session, the org and the user; read-write only for roles that may start
// sessions; refused once the session has ended.

const h = new Harness();
let w: World;
beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  await h.close();
});

interface TerminalToken {
  token: string;
  mode: 'rw' | 'ro';
  url: string;
  expiresAt: string;
}

const ask = (body: unknown, role: 'owner' | 'member' = 'member') =>
  h.call<TerminalToken & { detail: string }>(
    'POST',
    `/orgs/${w.orgId}/sessions/${w.sessionId}/terminal-token`,
    {
      cookie: w.people[role].cookie,
      body,
    },
  );

describe('terminal tokens', () => {
  it('are pty tokens for this session, org and user, with the WebSocket path', async () => {
    const reply = h.disclosure(await ask({ mode: 'rw' }));
    expect(reply.status, reply.text).toBe(201);
    const claims = await verifyToken(h.config, 'pty', reply.json.token, { now: Math.floor(h.now / 1000) });
    expect(claims).toMatchObject({
      sub: w.sessionId,
      org: w.orgId,
      uid: w.people.member.userId,
      mode: 'rw',
      purpose: 'pty',
    });
    expect(reply.json.url).toBe(
      `/pty/${w.sessionId}?terminal=agent&token=${encodeURIComponent(reply.json.token)}`,
    );
    expect(Date.parse(reply.json.expiresAt) - h.now).toBeLessThanOrEqual(
      h.config.tokens.pty.ttl_seconds * 1000,
    );
    const again = h.disclosure(await ask({}));
    expect(again.json.mode).toBe('rw');
    expect(again.json.token).not.toBe(reply.json.token);
  });

  it('are read-only when asked', async () => {
    const reply = h.disclosure(await ask({ mode: 'ro' }, 'owner'));
    expect(reply.json.mode).toBe('ro');
    const claims = await verifyToken(h.config, 'pty', reply.json.token, { now: Math.floor(h.now / 1000) });
    expect(claims.mode).toBe('ro');
  });

  it('are refused with 409 once the session has ended', async () => {
    await h.db().update(sessions).set({ status: 'stopped' }).where(eq(sessions.id, w.sessionId));
    const reply = await ask({ mode: 'rw' });
    expect(reply.status).toBe(409);
    expect(reply.json.detail).toContain('stopped');
  });
});
