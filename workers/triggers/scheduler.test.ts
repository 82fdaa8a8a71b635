import { profileVersions, sandboxProfiles, triggerDeliveries, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../control-plane/testing/harness.ts';
import { createWorld, type World } from '../control-plane/testing/world.ts';
import worker from '../index.ts';
import { claimDueTicks } from './scheduler.ts';

// Schedules on real Postgres: the Worker's scheduled() handler, twice at once,
// claims a due tick exactly once; after downtime only the latest missed tick
// runs; the API lists the next five runs in the trigger's time zone.

const h = new Harness();
let w: World;
let profileId = '';

beforeAll(async () => {
  w = await createWorld(h);
  const db = h.db();
  profileId = newId('profile');
  await db.insert(sandboxProfiles).values({ id: profileId, orgId: w.orgId, name: 'Scheduled' });
  await db
    .insert(profileVersions)
    .values({ id: newId('profileVersion'), profileId, orgId: w.orgId, number: 1 });
});

afterAll(async () => {
  await h.close();
});

async function schedule(name: string, cron: string, timezone = 'UTC') {
  const created = await h.call<{ trigger: { id: string; nextRuns: string[] } }>(
    'POST',
    `/orgs/${w.orgId}/triggers`,
    {
      cookie: w.people.owner.cookie,
      body: {
        kind: 'schedule',
        name,
        profileId,
        config: { cron, timezone, promptTemplate: 'Tick at {{ schedule.time }}' },
      },
    },
  );
  expect(created.status, created.text).toBe(201);
  return created.json.trigger;
}

const ticksOf = (triggerId: string) =>
  h
    .db()
    .select()
    .from(triggerDeliveries)
    .where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.source, 'schedule')));

describe('schedules', () => {
  it('show their next five runs in their time zone', async () => {
    const trigger = await schedule('weekly', '0 9 * * MON', 'Europe/Berlin');
    expect(trigger.nextRuns).toHaveLength(5);
    for (const run of trigger.nextRuns) {
      const at = new Date(run);
      expect(at.getUTCDay()).toBe(1);
      expect([7, 8]).toContain(at.getUTCHours()); // 09:00 in Berlin, summer or winter
    }
    const listed = await h.call<{ items: string[]; timezone: string }>(
      'GET',
      `/orgs/${w.orgId}/triggers/${trigger.id}/next-runs?count=3`,
      { cookie: w.people.member.cookie },
    );
    expect(listed.json).toEqual({ timezone: 'Europe/Berlin', items: trigger.nextRuns.slice(0, 3) });
  });

  it('fire exactly once per tick when two scheduler invocations race', async () => {
    const trigger = await schedule('every minute', '* * * * *');
    const due = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    await h.db().update(triggers).set({ nextRunAt: due }).where(eq(triggers.id, trigger.id));
    const controller = { cron: '* * * * *', scheduledTime: due.getTime(), noRetry: () => {} };
    await Promise.all([worker.scheduled(controller, h.env), worker.scheduled(controller, h.env)]);
    const ticks = await ticksOf(trigger.id);
    expect(ticks.map((t) => t.deliveryId)).toEqual([`schedule:${due.toISOString()}`]);
    const [after] = await h.db().select().from(triggers).where(eq(triggers.id, trigger.id));
    expect(after?.nextRunAt?.getTime()).toBe(due.getTime() + 60_000);
    // A late third invocation for the same minute finds nothing due.
    await worker.scheduled(controller, h.env);
    expect(await ticksOf(trigger.id)).toHaveLength(1);
  });

  it('run a missed tick once after downtime, not once per missed minute', async () => {
    const trigger = await schedule('every five', '*/5 * * * *');
    const now = new Date('2026-06-01T12:02:30Z');
    await h
      .db()
      .update(triggers)
      .set({ nextRunAt: new Date('2026-06-01T10:00:00Z') })
      .where(eq(triggers.id, trigger.id));
    // Racing claims in one go, as overlapping invocations after an outage would.
    const claimed = (
      await Promise.all([claimDueTicks(h.db(), now), claimDueTicks(h.db(), now), claimDueTicks(h.db(), now)])
    ).flat();
    const ticks = (await ticksOf(trigger.id)).filter((t) => claimed.includes(t.id));
    expect(ticks).toHaveLength(1);
    expect(ticks[0]?.deliveryId).toBe('schedule:2026-06-01T12:00:00.000Z');
    // 10:00 … 11:55 were missed: 24 ticks skipped, the 12:00 one runs.
    expect(ticks[0]?.summary).toContain('24 earlier missed ticks not run');
    const [after] = await h.db().select().from(triggers).where(eq(triggers.id, trigger.id));
    expect(after?.nextRunAt?.toISOString()).toBe('2026-06-01T12:05:00.000Z');
    expect(await claimDueTicks(h.db(), now)).toEqual([]);
  });

  it('stop when disabled and plan the next run when enabled again', async () => {
    const trigger = await schedule('at three', '0 3 * * *');
    const patch = (enabled: boolean) =>
      h.call('PATCH', `/orgs/${w.orgId}/triggers/${trigger.id}`, {
        cookie: w.people.owner.cookie,
        body: { enabled },
      });
    await patch(false);
    const [off] = await h.db().select().from(triggers).where(eq(triggers.id, trigger.id));
    expect(off?.nextRunAt).toBeNull();
    await patch(true);
    const [on] = await h.db().select().from(triggers).where(eq(triggers.id, trigger.id));
    expect(on?.nextRunAt?.getUTCHours()).toBe(3);
  });
});
