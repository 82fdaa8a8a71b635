import { env } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import { orgs, profileVersions, sandboxProfiles, sessionEvents, sessions, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { asc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { sweepSessions } from './sweep.ts';

// The cron sweep against real Postgres and the real OrgLimiter and
// SessionGateway objects: what it finishes, what it leaves alone.

const workerEnv = env as unknown as Env;
const config = configFromWorkerEnv(workerEnv);

async function seed(db: ReturnType<typeof openDb>['db'], orgId: string, userId: string) {
  const profileId = newId('profile');
  const versionId = newId('profileVersion');
  await db.insert(sandboxProfiles).values({ id: profileId, orgId, name: `p-${profileId}` });
  await db.insert(profileVersions).values({
    id: versionId,
    profileId,
    orgId,
    number: 1,
    status: 'published',
    publishedAt: new Date(),
  });
  return async (status: 'running' | 'stopping', createdAt: Date) => {
    const id = newId('session');
    await db.insert(sessions).values({
      id,
      orgId,
      profileId,
      profileVersionId: versionId,
      status,
      startedBy: userId,
      provider: 'docker',
      createdAt,
    });
    return id;
  };
}

describe('session sweep', () => {
  it('finishes stuck sessions with a reason and releases their quota, leaving live ones alone', async () => {
    const handle = openDb(config);
    const db = handle.db;
    try {
      const orgId = newId('org');
      const userId = newId('user');
      await db
        .insert(orgs)
        .values({ id: orgId, name: 'Sweep', slug: `sw-${orgId.slice(-12).toLowerCase()}` });
      await db.insert(users).values({ id: userId, email: `${userId.toLowerCase()}@example.test` });
      const session = await seed(db, orgId, userId);
      const now = new Date();
      const ttlMs = config.limits.session_ttl_seconds * 1000;
      // Stopping for ten minutes with no workflow instance behind it.
      const orphanedStop = await session('stopping', new Date(now.getTime() - 10 * 60_000));
      // Live long past its TTL.
      const overdue = await session('running', new Date(now.getTime() - ttlMs - 60 * 60_000));
      // Live and young: not the sweep's business.
      const healthy = await session('running', new Date(now.getTime() - 60_000));
      const limiter = workerEnv.ORG_LIMITER.get(workerEnv.ORG_LIMITER.idFromName(orgId));
      for (const id of [orphanedStop, overdue, healthy])
        expect(await limiter.acquire({ sessionId: id, limit: 10, ttlMs: 3600_000 })).toMatchObject({
          ok: true,
        });

      const { finished } = await sweepSessions({ env: workerEnv, db, config }, now);
      expect(finished).toEqual(expect.arrayContaining([orphanedStop, overdue]));
      expect(finished).not.toContain(healthy);

      const rows = Object.fromEntries(
        (await db.select().from(sessions).where(eq(sessions.orgId, orgId))).map((r) => [r.id, r]),
      );
      expect(rows[orphanedStop]).toMatchObject({ status: 'stopped', failureReason: null });
      expect(rows[overdue]).toMatchObject({ status: 'failed', failureReason: expect.stringMatching(/TTL/) });
      expect(rows[healthy]).toMatchObject({ status: 'running' });
      const events = await db
        .select()
        .from(sessionEvents)
        .where(eq(sessionEvents.sessionId, overdue))
        .orderBy(asc(sessionEvents.id));
      expect(events.at(-1)).toMatchObject({ fromStatus: 'running', toStatus: 'failed' });
      expect((await limiter.leases()).map((l) => l.sessionId)).toEqual([healthy]);
      // Their gateways are ended: a sandbox that comes back is not let in.
      const gateway = workerEnv.SESSION_GATEWAY.get(workerEnv.SESSION_GATEWAY.idFromName(overdue));
      expect((await gateway.tunnelState()).state).toBe('ended');

      // A second tick changes nothing.
      expect((await sweepSessions({ env: workerEnv, db, config }, now)).finished).not.toContain(overdue);
    } finally {
      await handle.end();
    }
  });
});
