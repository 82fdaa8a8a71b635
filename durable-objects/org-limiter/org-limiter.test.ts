import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { OrgLimiter } from './index.ts';

function limiter(name: string): DurableObjectStub<OrgLimiter> {
  return env.ORG_LIMITER.get(env.ORG_LIMITER.idFromName(name));
}

describe('OrgLimiter', () => {
  it('grants up to the limit and refuses past it', async () => {
    const org = limiter('limit');
    expect(await org.acquire({ sessionId: 'ses_a', limit: 2, ttlMs: 60_000 })).toEqual({
      ok: true,
      active: 1,
      alreadyHeld: false,
    });
    expect(await org.acquire({ sessionId: 'ses_b', limit: 2, ttlMs: 60_000 })).toEqual({
      ok: true,
      active: 2,
      alreadyHeld: false,
    });
    expect(await org.acquire({ sessionId: 'ses_c', limit: 2, ttlMs: 60_000 })).toEqual({
      ok: false,
      active: 2,
      limit: 2,
    });
  });

  it('is idempotent per session and releases exactly once', async () => {
    const org = limiter('idempotent');
    await org.acquire({ sessionId: 'ses_a', limit: 1, ttlMs: 60_000 });
    expect(await org.acquire({ sessionId: 'ses_a', limit: 1, ttlMs: 60_000 })).toMatchObject({
      ok: true,
      alreadyHeld: true,
      active: 1,
    });
    expect(await org.release({ sessionId: 'ses_a' })).toEqual({ released: true, active: 0 });
    expect(await org.release({ sessionId: 'ses_a' })).toEqual({ released: false, active: 0 });
    expect(await org.acquire({ sessionId: 'ses_b', limit: 1, ttlMs: 60_000 })).toMatchObject({
      ok: true,
      active: 1,
    });
  });

  it('never over-grants under concurrent acquires', async () => {
    const org = limiter('concurrent');
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => org.acquire({ sessionId: `ses_${i}`, limit: 10, ttlMs: 60_000 })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(await org.leases()).toHaveLength(10);
  });

  it('expires leases whose session never released them, from its alarm', async () => {
    const org = limiter('expiry');
    await org.acquire({ sessionId: 'ses_old', limit: 5, ttlMs: 1, now: Date.now() - 10_000 });
    await org.acquire({ sessionId: 'ses_new', limit: 5, ttlMs: 60_000 });
    expect(await runDurableObjectAlarm(org)).toBe(true);
    expect((await org.leases()).map((l) => l.sessionId)).toEqual(['ses_new']);
    const alarm = await runInDurableObject(org, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now());
  });

  it('keeps leases in SQLite storage', async () => {
    const org = limiter('storage');
    await org.acquire({ sessionId: 'ses_kept', limit: 5, ttlMs: 60_000 });
    const rows = await runInDurableObject(org, (_instance, state) =>
      state.storage.sql.exec<{ session_id: string }>('SELECT session_id FROM leases').toArray(),
    );
    expect(rows).toEqual([{ session_id: 'ses_kept' }]);
  });
});
