import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { auditEvents, runners, sessionEvents, sessions, snapshots } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, HOST, hello, hubFor, RESOURCES } from '../../durable-objects/runner-hub/test-peer.ts';
import type { DbHandle } from '../lib/db.ts';
import { database, seedOrg, seedRunner, seedSession } from '../runners/test-fixtures.ts';

// The Worker's own entrypoint, reached through its CONTROL service binding
// (a binding to itself, ADR 0030) — the way the RunnerHub reaches Postgres.

let handle: DbHandle;
let who: { orgId: string; userId: string };
beforeAll(async () => {
  handle = database();
  who = await seedOrg(handle.db);
});
afterAll(() => handle.end());

function limiter(orgId: string) {
  return env.ORG_LIMITER.get(env.ORG_LIMITER.idFromName(orgId));
}

async function session(id: string) {
  const [row] = await handle.db.select().from(sessions).where(eq(sessions.id, id));
  return row;
}

describe('ControlPlaneInternal (via the CONTROL binding)', () => {
  it('records a runner’s presence, and never revives a revoked runner', async () => {
    const { runnerId } = await seedRunner(handle.db, who.orgId);
    await env.CONTROL.runnerPresence({
      runnerId,
      orgId: who.orgId,
      status: 'online',
      version: '1.2.3',
      capacity: 4,
      host: HOST,
      activeSandboxes: 2,
      lastSeenAt: 1_700_000_000_000,
    });
    const [row] = await handle.db.select().from(runners).where(eq(runners.id, runnerId));
    expect(row).toMatchObject({ status: 'online', version: '1.2.3', activeSandboxes: 2, hostInfo: HOST });
    expect(row?.lastHeartbeatAt?.getTime()).toBe(1_700_000_000_000);

    const revoked = await seedRunner(handle.db, who.orgId, { status: 'revoked', revokedAt: new Date() });
    await env.CONTROL.runnerPresence({
      ...{ runnerId: revoked.runnerId, orgId: who.orgId },
      status: 'online',
      version: null,
      capacity: null,
      host: null,
      activeSandboxes: 0,
      lastSeenAt: null,
    });
    const [still] = await handle.db.select().from(runners).where(eq(runners.id, revoked.runnerId));
    expect(still?.status).toBe('revoked');
  });

  it('fails a live session whose sandbox is gone, once, and gives its quota back', async () => {
    const sessionId = await seedSession(handle.db, who, 'running');
    await limiter(who.orgId).acquire({ sessionId, limit: 5, ttlMs: 600_000 });
    const report = {
      runnerId: newId('runner'),
      orgId: who.orgId,
      sandboxId: sessionId,
      reason: 'exited' as const,
      exitCode: 137,
      at: Date.now(),
    };
    await env.CONTROL.sandboxGone(report);
    await env.CONTROL.sandboxGone(report);
    expect(await session(sessionId)).toMatchObject({
      status: 'failed',
      exitCode: 137,
      failureReason: 'The sandbox stopped unexpectedly (exit code 137).',
    });
    const events = await handle.db.select().from(sessionEvents).where(eq(sessionEvents.sessionId, sessionId));
    expect(events).toMatchObject([{ fromStatus: 'running', toStatus: 'failed' }]);
    expect((await limiter(who.orgId).leases()).map((l) => l.sessionId)).not.toContain(sessionId);
  });

  it('completes a stopping session instead of failing it, and fails a building snapshot', async () => {
    const sessionId = await seedSession(handle.db, who, 'stopping');
    await env.CONTROL.sandboxGone({
      runnerId: newId('runner'),
      orgId: who.orgId,
      sandboxId: sessionId,
      reason: 'exited',
      exitCode: 0,
      at: Date.now(),
    });
    expect(await session(sessionId)).toMatchObject({ status: 'stopped', failureReason: null });

    const [version] = await handle.db
      .select({ id: sessions.profileVersionId })
      .from(sessions)
      .where(eq(sessions.id, sessionId));
    const snapshotId = newId('snapshot');
    await handle.db.insert(snapshots).values({
      id: snapshotId,
      orgId: who.orgId,
      profileVersionId: version?.id ?? '',
      status: 'building',
      provider: 'docker',
    });
    await env.CONTROL.sandboxGone({
      runnerId: newId('runner'),
      orgId: who.orgId,
      sandboxId: snapshotId,
      reason: 'runner_lost',
      exitCode: null,
      at: Date.now(),
    });
    const [snapshot] = await handle.db.select().from(snapshots).where(eq(snapshots.id, snapshotId));
    expect(snapshot).toMatchObject({
      status: 'failed',
      failureReason: expect.stringMatching(/runner stopped responding/),
    });
  });

  it('flags a session from its first leak_blocked audit row; later rows and retries keep that time', async () => {
    const sessionId = await seedSession(handle.db, who, 'running');
    const event = (decision: 'brokered' | 'leak_blocked', at: number) => ({
      id: newId('audit'),
      orgId: who.orgId,
      at,
      action: 'egress.request' as const,
      actorUserId: who.userId,
      sessionId,
      triggerId: null,
      connectionId: null,
      routeId: null,
      decision,
      method: 'GET',
      host: 'collect.example.net',
      path: '/',
      status: 403,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 1,
      detail: { leak: 'placeholder', where: 'header', header: 'authorization', form: 'raw' },
    });
    await env.CONTROL.recordAudit([event('brokered', 1_700_000_000_000)]);
    expect((await session(sessionId))?.leakBlockedAt).toBeNull();
    const batch = [event('leak_blocked', 1_700_000_002_000), event('leak_blocked', 1_700_000_001_000)];
    expect(await env.CONTROL.recordAudit(batch)).toEqual({ inserted: 2 });
    expect(await env.CONTROL.recordAudit(batch)).toEqual({ inserted: 0 });
    await env.CONTROL.recordAudit([event('leak_blocked', 1_700_000_009_000)]);
    expect((await session(sessionId))?.leakBlockedAt?.getTime()).toBe(1_700_000_001_000);
  });

  it('grows an aggregated denial row only upwards, and only from its own session (ADR 0115)', async () => {
    const sessionId = await seedSession(handle.db, who, 'running');
    const other = await seedSession(handle.db, who, 'running');
    const id = newId('audit');
    const window = (count: number, lastAt: number, from = sessionId) => ({
      id,
      orgId: who.orgId,
      at: 1_700_000_000_000,
      action: 'egress.request' as const,
      actorUserId: who.userId,
      sessionId: from,
      triggerId: null,
      connectionId: null,
      routeId: null,
      decision: 'denied' as const,
      method: 'GET',
      host: 'denied.example.org',
      path: '/loop/1',
      status: 403,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 1,
      detail: {},
      count,
      lastAt,
    });
    const row = async () => {
      const [r] = await handle.db.select().from(auditEvents).where(eq(auditEvents.id, id));
      return [r?.sessionId, r?.count, r?.lastAt?.getTime()];
    };
    expect(await env.CONTROL.recordAudit([window(3, 1_700_000_003_000)])).toEqual({ inserted: 1 });
    expect(await env.CONTROL.recordAudit([window(9, 1_700_000_009_000)])).toEqual({ inserted: 0 });
    // A retried or late copy of an earlier state, and another session's event under the same id.
    await env.CONTROL.recordAudit([window(3, 1_700_000_003_000)]);
    await env.CONTROL.recordAudit([window(50, 1_700_000_050_000, other)]);
    expect(await row()).toEqual([sessionId, 9, 1_700_000_009_000]);
  });

  it('end to end: a runner lost past its grace period fails its sessions, releases their quota, and shows offline', async () => {
    const { runnerId } = await seedRunner(handle.db, who.orgId);
    const sessionId = await seedSession(handle.db, who, 'running');
    await limiter(who.orgId).acquire({ sessionId, limit: 5, ttlMs: 600_000 });
    const hub = hubFor(runnerId);
    const peer = await connect(hub, { runnerId, orgId: who.orgId }, { heartbeatMs: 100, graceMs: 500 });
    await hello(peer);
    const create = {
      id: `${sessionId}:create`,
      kind: 'create',
      sandboxId: sessionId,
      orgId: who.orgId,
      image: 'airlock/sandbox-base:latest',
      resources: RESOURCES,
    };
    await hub.submit(create);
    peer.send({
      type: 'result',
      id: create.id,
      outcome: { ok: true, result: { kind: 'create', containerId: 'c1', state: 'running' } },
    });
    await hub.wait(create.id, 5000);
    await expect
      .poll(async () => (await handle.db.select().from(runners).where(eq(runners.id, runnerId)))[0]?.status)
      .toBe('online');

    peer.ws.close(1001, 'runner host powered off');
    await peer.closed;
    await new Promise((r) => setTimeout(r, 600));
    await runDurableObjectAlarm(hub);
    await expect.poll(async () => (await session(sessionId))?.status, { timeout: 10_000 }).toBe('failed');
    expect((await session(sessionId))?.failureReason).toMatch(/runner stopped responding/);
    expect((await limiter(who.orgId).leases()).map((l) => l.sessionId)).not.toContain(sessionId);
    await expect
      .poll(async () => (await handle.db.select().from(runners).where(eq(runners.id, runnerId)))[0]?.status)
      .toBe('offline');
  });
});
