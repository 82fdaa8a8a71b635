import { triggerDeliveries } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { sign } from '@octokit/webhooks-methods';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, PUBLIC_ORIGIN } from '../../control-plane/testing/harness.ts';
import { createWorld, type World } from '../../control-plane/testing/world.ts';
import { githubSample } from '../sources/samples.ts';

// An outsider who knows (or guesses) trigger ids, and has seen a real
// delivery's id, but not the secret:
// - a forged request carrying the real delivery id must not claim it: the real
//   one, arriving later, still runs;
// - a flood of forged requests leaves at most a few rows a minute, none with a body;
// - an unknown id answers 404 in about the time a real trigger's 401 takes.

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
        name: 'target',
        profileId: w.profileId,
        enabled: false,
        config: { source: 'github', events: ['issues'], promptTemplate: 'x {{ issue.title }}' },
      },
    }),
  );
  triggerId = created.json.trigger.id;
  secret = h.secret(created.json.signingSecret);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const body = JSON.stringify(githubSample('issues.opened', {})?.payload);
const send = (id: string, delivery: string, signature: string) =>
  h.raw(
    new Request(`${PUBLIC_ORIGIN}/hooks/${id}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': delivery,
        'x-hub-signature-256': signature,
      },
      body,
    }),
  );
const forgedSignature = `sha256=${'ab'.repeat(32)}`;

describe('a forger without the secret', () => {
  it('cannot claim a real delivery id before the real delivery arrives', async () => {
    const delivery = crypto.randomUUID();
    expect((await send(triggerId, delivery, forgedSignature)).status).toBe(401);
    const real = await send(triggerId, delivery, await sign(secret, body));
    expect(real.status).toBe(202);
    expect(real.json).toMatchObject({ status: 'ignored' }); // the trigger is disabled: claimed, not deduped
    const rows = await h
      .db()
      .select()
      .from(triggerDeliveries)
      .where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.deliveryId, delivery)));
    expect(rows.map((r) => r.status).sort()).toEqual(['ignored', 'rejected']);
    expect(rows.find((r) => r.status === 'rejected')?.claimsDeliveryId).toBe(false);
  });

  it('leaves at most 20 rows a minute with a flood of forged requests, none holding the body', async () => {
    const flood = await Promise.all(
      Array.from({ length: 60 }, () => send(triggerId, crypto.randomUUID(), forgedSignature)),
    );
    expect(new Set(flood.map((r) => r.status))).toEqual(new Set([401]));
    await new Promise((r) => setTimeout(r, 1500));
    const rejected = await h
      .db()
      .select()
      .from(triggerDeliveries)
      .where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.status, 'rejected')));
    expect(rejected.length).toBeLessThanOrEqual(21);
    expect(rejected.every((r) => r.payload === null && r.summary === null)).toBe(true);
  });

  it('learns nothing from timing: an unknown id takes about as long as a wrong signature', async () => {
    const unknown = newId('trigger');
    // Time to the answer: the rejection row is written after it (waitUntil), which the caller never waits for.
    const time = async (id: string) => {
      const reply = await send(id, crypto.randomUUID(), forgedSignature);
      return { ms: reply.answeredMs, status: reply.status };
    };
    // Warm both paths (the unknown id's miss is remembered, as a real trigger is).
    await time(unknown);
    await time(triggerId);
    const known: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i < 25; i++) {
      const a = await time(triggerId);
      const b = await time(unknown);
      expect([a.status, b.status]).toEqual([401, 404]);
      known.push(a.ms);
      missing.push(b.ms);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    const [k, m] = [median(known), median(missing)];
    // Same work on both paths (a cache read, an HMAC): within a few milliseconds of each other.
    expect(Math.abs(k - m), `401 median ${k.toFixed(1)} ms, 404 median ${m.toFixed(1)} ms`).toBeLessThan(
      Math.max(8, k * 0.5),
    );
  });
});
