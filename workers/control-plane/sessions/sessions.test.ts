import { auditEvents, snapshots } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Session starts: only from a published version with a ready snapshot (a 409
// names why not), attributed to the user or token, idempotent with a key,
// rate limited per org; stop marks `stopping`. Every control action lands in
// the audit trail, which pages by (at, id).

const h = new Harness();
let w: World;
beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

interface Session {
  id: string;
  status: string;
  startedBy: string | null;
  startedByTokenId: string | null;
  snapshotId: string;
  mode: string;
}

describe('sessions', () => {
  it('start only when the snapshot is ready, naming the reason otherwise', async () => {
    const cookie = w.people.member.cookie;
    const start = () =>
      h.call<Session & { reason: string; detail: string }>('POST', `/orgs/${w.orgId}/sessions`, {
        cookie,
        body: { profileId: w.profileId },
      });
    const db = h.db();
    await db.update(snapshots).set({ status: 'building' }).where(eq(snapshots.id, w.snapshotId));
    const building = await start();
    expect(building.status).toBe(409);
    expect(building.json).toMatchObject({ reason: 'snapshot_not_ready' });
    expect(building.json.detail).toContain('building');
    await db
      .update(snapshots)
      .set({ status: 'failed', failureReason: 'setup script exited 1' })
      .where(eq(snapshots.id, w.snapshotId));
    const failed = await start();
    expect(failed.json.reason).toBe('snapshot_failed');
    expect(failed.json.detail).toContain('setup script exited 1');
    const draftOnly = await h.call<{ reason: string }>('POST', `/orgs/${w.orgId}/sessions`, {
      cookie,
      body: { profileId: w.profileId, versionId: w.draftVersionId },
    });
    expect(draftOnly.json.reason).toBe('version_not_published');
    await db.update(snapshots).set({ status: 'ready' }).where(eq(snapshots.id, w.snapshotId));
    const started = await start();
    expect(started.status, started.text).toBe(201);
    expect(started.json).toMatchObject({
      status: 'pending',
      startedBy: w.people.member.userId,
      startedByTokenId: null,
      snapshotId: w.snapshotId,
    });
    const events = await h.call<{ items: { fromStatus: string | null; toStatus: string }[] }>(
      'GET',
      `/orgs/${w.orgId}/sessions/${started.json.id}/events`,
      { cookie },
    );
    // The lifecycle runs alongside and may already have moved on; the history starts at pending.
    expect(events.json.items[0]).toEqual(expect.objectContaining({ fromStatus: null, toStatus: 'pending' }));
  });

  it('are attributed to the API token that started them, and stop by marking stopping', async () => {
    const token = w.people.admin.token;
    const started = await h.call<Session>('POST', `/orgs/${w.orgId}/sessions`, {
      token,
      body: { profileId: w.profileId, mode: 'headless', prompt: 'Fix the flaky test' },
    });
    expect(started.status, started.text).toBe(201);
    expect(started.json).toMatchObject({
      startedBy: w.people.admin.userId,
      startedByTokenId: w.people.admin.tokenId,
      mode: 'headless',
    });
    const stopped = await h.call<Session>('POST', `/orgs/${w.orgId}/sessions/${started.json.id}/stop`, {
      token,
    });
    expect(stopped.status).toBe(202);
    expect(stopped.json.status).toBe('stopping');
    const again = await h.call<Session>('POST', `/orgs/${w.orgId}/sessions/${started.json.id}/stop`, {
      token,
    });
    // The lifecycle may already have finished the stop it was woken for.
    expect(['stopping', 'stopped']).toContain(again.json.status);
    const events = await h.call<{ items: { toStatus: string }[] }>(
      'GET',
      `/orgs/${w.orgId}/sessions/${started.json.id}/events`,
      { token },
    );
    const statuses = events.json.items.map((e) => e.toStatus);
    const stoppingAt = statuses.indexOf('stopping');
    expect(statuses[0]).toBe('pending');
    expect(stoppingAt).toBeGreaterThan(0);
    // The lifecycle runs alongside: it may have begun provisioning before the stop, and finished it since.
    expect(statuses.slice(1, stoppingAt).every((s) => s === 'provisioning' || s === 'starting')).toBe(true);
    expect(statuses.slice(stoppingAt + 1).every((s) => s === 'stopped')).toBe(true);
    const headless = await h.call<{ errors: { path: string }[] }>('POST', `/orgs/${w.orgId}/sessions`, {
      token,
      body: { profileId: w.profileId, mode: 'headless' },
    });
    expect(headless.status).toBe(422);
    expect(headless.json.errors[0]?.path).toBe('prompt');
  });

  it('replay the first response for a repeated Idempotency-Key and refuse it with another body', async () => {
    const cookie = w.people.owner.cookie;
    const headers = { 'idempotency-key': `start-${crypto.randomUUID()}` };
    const first = await h.call<Session>('POST', `/orgs/${w.orgId}/sessions`, {
      cookie,
      headers,
      body: { profileId: w.profileId },
    });
    expect(first.status).toBe(201);
    const second = await h.call<Session>('POST', `/orgs/${w.orgId}/sessions`, {
      cookie,
      headers,
      body: { profileId: w.profileId },
    });
    expect(second.status).toBe(201);
    expect(second.json.id).toBe(first.json.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await h.call<{ errors: { code: string }[] }>('POST', `/orgs/${w.orgId}/sessions`, {
      cookie,
      headers,
      body: { profileId: w.profileId, mode: 'headless', prompt: 'different' },
    });
    expect(other.status).toBe(422);
    expect(other.json.errors[0]?.code).toBe('idempotency_key_reused');
    const list = await h.call<{ items: Session[] }>('GET', `/orgs/${w.orgId}/sessions?limit=200`, { cookie });
    expect(list.json.items.filter((s) => s.id === first.json.id)).toHaveLength(1);
  });

  it('are rate limited per org', async () => {
    const fresh = await createWorld(h);
    const limit = h.config.limits.session_starts_per_minute;
    // One burst, so the sliding window's estimate does not decay while the
    // requests are sent (a sequential loop can straddle a window boundary).
    // A burst that straddles one may let a single extra start through.
    const responses = await Promise.all(
      Array.from({ length: limit + 3 }, () =>
        h.call('POST', `/orgs/${fresh.orgId}/sessions`, {
          token: fresh.people.member.token,
          body: { profileId: fresh.profileId },
        }),
      ),
    );
    const started = responses.filter((r) => r.status === 201).length;
    const limited = responses.filter((r) => r.status === 429);
    expect(started + limited.length).toBe(limit + 3);
    expect(started).toBeGreaterThanOrEqual(limit);
    expect(started).toBeLessThanOrEqual(limit + 1);
    for (const r of limited) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('page through the list without repeats', async () => {
    const cookie = w.people.owner.cookie;
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page: { json: { items: Session[]; nextCursor: string | null } } = await h.call(
        'GET',
        `/orgs/${w.orgId}/sessions?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { cookie },
      );
      seen.push(...page.json.items.map((s) => s.id));
      cursor = page.json.nextCursor;
      if (cursor === null) break;
    }
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(new Set(seen).size).toBe(seen.length);
    expect((await h.call('GET', `/orgs/${w.orgId}/sessions?cursor=garbage`, { cookie })).status).toBe(422);
  });
});

describe('audit', () => {
  it('records control actions with their actor and pages by (at, id) with filters', async () => {
    const cookie = w.people.owner.cookie;
    const db = h.db();
    // Egress events as the gateway will write them, at one instant to exercise the id tie-break.
    const at = new Date(h.now - 60_000);
    const ids = Array.from({ length: 5 }, () => newId('audit', at.getTime())).sort();
    await db.insert(auditEvents).values(
      ids.map((id, i) => ({
        id,
        orgId: w.orgId,
        at,
        kind: 'egress' as const,
        action: 'egress.request',
        sessionId: w.sessionId,
        decision: i % 2 === 0 ? ('brokered' as const) : ('denied' as const),
        method: 'POST',
        host: 'api.openai.com',
        path: '/v1/responses',
        status: i % 2 === 0 ? 200 : 403,
        // A denial loop the gateway aggregated (ADR 0115): the first request, a count, the last.
        ...(i === 1 ? { count: 7, lastAt: new Date(at.getTime() + 30_000) } : {}),
      })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        status: number;
        json: { items: { id: string; decision: string }[]; nextCursor: string | null };
      } = await h.call(
        'GET',
        `/orgs/${w.orgId}/audit?sessionId=${w.sessionId}&kind=egress&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { cookie },
      );
      expect(page.status).toBe(200);
      seen.push(...page.json.items.map((e) => e.id));
      cursor = page.json.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
    const denied = await h.call<{ items: { decision: string; count: number; lastAt: string | null }[] }>(
      'GET',
      `/orgs/${w.orgId}/audit?decision=denied&host=api.openai.com`,
      { cookie },
    );
    expect(denied.json.items.map((e) => [e.decision, e.count, e.lastAt])).toEqual([
      ['denied', 1, null],
      ['denied', 7, new Date(at.getTime() + 30_000).toISOString()],
    ]);
    const later = await h.call<{ items: unknown[] }>(
      'GET',
      `/orgs/${w.orgId}/audit?kind=egress&from=${new Date(h.now).toISOString()}`,
      { cookie },
    );
    expect(later.json.items).toEqual([]);

    const started = await h.call<{
      items: { action: string; actorUserId: string; actorTokenId: string | null; sessionId: string }[];
    }>('GET', `/orgs/${w.orgId}/audit?action=session.started&tokenId=${w.people.admin.tokenId}`, { cookie });
    expect(started.json.items.length).toBeGreaterThan(0);
    expect(started.json.items[0]).toMatchObject({
      actorUserId: w.people.admin.userId,
      actorTokenId: w.people.admin.tokenId,
    });
    const stopped = await h.call<{ items: unknown[] }>(
      'GET',
      `/orgs/${w.orgId}/audit?action=session.stopped&userId=${w.people.admin.userId}`,
      { cookie },
    );
    expect(stopped.json.items.length).toBe(1);
  });
});
