import { sessions, triggerDeliveries } from '@airlock/schema/db';
import { sign } from '@octokit/webhooks-methods';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, PUBLIC_ORIGIN } from '../../control-plane/testing/harness.ts';
import { createWorld, type World } from '../../control-plane/testing/world.ts';
import worker from '../../index.ts';
import { githubSample } from '../sources/samples.ts';

// The attacker is the webhook sender itself (or whoever recorded one of its
// requests): one validly signed delivery, replayed 1,000 times at once. The
// trigger's profile is publishable, so a run would start a real session:
// exactly one session must come of it, with one delivery row holding the id
// and 999 recorded as deduped.

const h = new Harness();
let w: World;
let triggerId = '';
let secret = '';

beforeAll(async () => {
  w = await createWorld(h);
  const created = h.disclosure(
    await h.call<{ trigger: { id: string }; signingSecret: string }>('POST', `/orgs/${w.orgId}/triggers`, {
      cookie: w.people.owner.cookie,
      body: {
        kind: 'webhook',
        name: 'replayed',
        profileId: w.profileId,
        config: { source: 'github', events: ['issues'], promptTemplate: 'Look at {{ issue.title }}' },
      },
    }),
  );
  expect(created.status, created.text).toBe(201);
  triggerId = created.json.trigger.id;
  secret = h.secret(created.json.signingSecret);
});

afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

describe('one signed delivery replayed 1,000 times concurrently', () => {
  it('starts exactly one session; every other copy is recorded as deduped', async () => {
    const body = JSON.stringify(githubSample('issues.opened', { repository: 'acme/widgets' })?.payload);
    const delivery = crypto.randomUUID();
    const headers = {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': await sign(secret, body),
    };
    const replies = await Promise.all(
      Array.from({ length: 1000 }, () =>
        h.raw(new Request(`${PUBLIC_ORIGIN}/hooks/${triggerId}`, { method: 'POST', headers, body })),
      ),
    );
    const statuses = new Map<string, number>();
    for (const r of replies) {
      const key = `${r.status} ${(r.json as { status?: string } | undefined)?.status ?? r.text.slice(0, 80)}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    expect(
      Object.fromEntries(statuses),
      h.logs
        .filter((l) => l.includes('unhandled'))
        .slice(0, 3)
        .join('\n'),
    ).toEqual({ '202 received': 1, '202 deduped': 999 });

    // The copies' rows are written in bulk by the run and by the minute's cron: run it, as Cloudflare would.
    await worker.scheduled({ cron: '* * * * *', scheduledTime: Date.now(), noRetry: () => {} }, h.env);
    let rows: Array<typeof triggerDeliveries.$inferSelect> = [];
    for (
      const until = Date.now() + 30_000;
      Date.now() < until;
      await new Promise((r) => setTimeout(r, 250))
    ) {
      rows = await h
        .db()
        .select()
        .from(triggerDeliveries)
        .where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.deliveryId, delivery)));
      if (rows.length >= 1000) break;
    }
    expect(rows).toHaveLength(1000);
    const holders = rows.filter((r) => r.claimsDeliveryId);
    expect(holders).toHaveLength(1);
    expect(rows.filter((r) => r.status === 'deduped' && r.duplicateOf === holders[0]?.id)).toHaveLength(999);

    // The one run starts one session (it fails later for want of a runner; that is not the point).
    const deadline = Date.now() + 30_000;
    let started: Array<{ id: string }> = [];
    while (Date.now() < deadline) {
      started = await h
        .db()
        .select({ id: sessions.id })
        .from(sessions)
        .where(eq(sessions.triggerId, triggerId));
      if (started.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(started).toHaveLength(1);
    // Give any stray run time to start a second one; none may.
    await new Promise((r) => setTimeout(r, 2000));
    expect(
      await h.db().select({ id: sessions.id }).from(sessions).where(eq(sessions.triggerId, triggerId)),
    ).toHaveLength(1);
  }, 120_000);
});
