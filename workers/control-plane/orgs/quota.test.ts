import { sessions } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// The quota the runners page shows: the configured limits and how many of
// the org's sessions hold a slot (everything not yet stopped or failed).

const h = new Harness();
let w: World;
beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  await h.close();
});

describe('the session quota', () => {
  it('counts sessions that are not stopped or failed against the configured limit', async () => {
    const read = () =>
      h.call<{ maxConcurrentSessions: number; activeSessions: number }>('GET', `/orgs/${w.orgId}/quota`, {
        cookie: w.people.member.cookie,
      });
    const running = await read();
    expect(running.status, running.text).toBe(200);
    expect(running.json).toMatchObject({
      maxConcurrentSessions: h.config.limits.max_concurrent_sessions_per_org,
      activeSessions: 1,
    });
    await h.db().update(sessions).set({ status: 'stopped' }).where(eq(sessions.id, w.sessionId));
    expect((await read()).json.activeSessions).toBe(0);
  });
});
