import { auditEvents, profileVersions, sandboxProfiles, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { sign } from '@octokit/webhooks-methods';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, PUBLIC_ORIGIN } from '../control-plane/testing/harness.ts';
import { createWorld, type World } from '../control-plane/testing/world.ts';
import { githubSample } from './sources/samples.ts';

// A trigger whose runs keep failing (its profile has nothing published)
// disables itself after `autoPauseAfter` failures in a row and says why;
// enabling it again clears the pause. Redelivering a delivery runs its event
// again as a new delivery pointing at the old one; a test event goes through
// the same filters and run.

const h = new Harness();
let w: World;
let triggerId = '';
let secret = '';

beforeAll(async () => {
  w = await createWorld(h);
  const db = h.db();
  const profileId = newId('profile');
  await db.insert(sandboxProfiles).values({ id: profileId, orgId: w.orgId, name: 'Unpublished' });
  await db
    .insert(profileVersions)
    .values({ id: newId('profileVersion'), profileId, orgId: w.orgId, number: 1 });
  const created = h.disclosure(
    await h.call<{ trigger: { id: string }; signingSecret: string }>('POST', `/orgs/${w.orgId}/triggers`, {
      cookie: w.people.owner.cookie,
      body: {
        kind: 'webhook',
        name: 'fragile',
        profileId,
        config: {
          source: 'github',
          events: ['issues'],
          autoPauseAfter: 2,
          promptTemplate: 'Fix {{ issue.title }}',
        },
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

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Delivery = {
  id: string;
  status: string;
  reason: string | null;
  redeliveryOf: string | null;
  source: string;
};
const delivery = (id: string) =>
  h.call<Delivery>('GET', `/orgs/${w.orgId}/triggers/${triggerId}/deliveries/${id}`, {
    cookie: w.people.member.cookie,
  });

async function send(): Promise<string> {
  const body = JSON.stringify(githubSample('issues.opened', {})?.payload);
  const reply = await h.raw(
    new Request(`${PUBLIC_ORIGIN}/hooks/${triggerId}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': crypto.randomUUID(),
        'x-hub-signature-256': await sign(secret, body),
      },
      body,
    }),
  );
  expect(reply.status, reply.text).toBe(202);
  return (reply.json as { delivery: string }).delivery;
}

describe('a trigger that keeps failing', () => {
  it('redelivers a delivery as a new one, which runs (and fails) again', async () => {
    const first = await send();
    const failed = await until('the first run to fail', async () => {
      const r = await delivery(first);
      return r.status === 200 && r.json.status === 'failed' ? r.json : undefined;
    });
    expect(failed.reason).toMatch(/no published version/);
    const again = await h.call<Delivery>(
      'POST',
      `/orgs/${w.orgId}/triggers/${triggerId}/deliveries/${first}/redeliver`,
      {
        cookie: w.people.admin.cookie,
      },
    );
    expect(again.status, again.text).toBe(202);
    expect(again.json).toMatchObject({ source: 'redelivery', redeliveryOf: first, status: 'received' });
    const member = await h.call(
      'POST',
      `/orgs/${w.orgId}/triggers/${triggerId}/deliveries/${first}/redeliver`,
      {
        cookie: w.people.member.cookie,
      },
    );
    expect(member.status).toBe(403);
  });

  it('pauses itself after two failures in a row and says why; enabling clears it', async () => {
    const paused = await until('the pause', async () => {
      const [row] = await h.db().select().from(triggers).where(eq(triggers.id, triggerId));
      return row?.enabled === false ? row : undefined;
    });
    expect(paused.pausedReason).toMatch(
      /^paused after 2 failed runs in a row; the last: .*no published version/,
    );
    const [audit] = await h
      .db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.triggerId, triggerId), eq(auditEvents.action, 'trigger.paused')));
    expect(audit?.actorUserId).toBeNull();
    // While paused, deliveries are recorded as ignored.
    const ignored = await send();
    expect((await delivery(ignored)).json.status).toBe('ignored');
    const shown = await h.call<{
      pausedReason: string | null;
      consecutiveFailures: number;
      enabled: boolean;
    }>('PATCH', `/orgs/${w.orgId}/triggers/${triggerId}`, {
      cookie: w.people.owner.cookie,
      body: { enabled: true },
    });
    expect(shown.json).toMatchObject({ enabled: true, pausedReason: null, consecutiveFailures: 0 });
  });

  it('runs a test event through its filters, fitted to them by default', async () => {
    const test = await h.call<Delivery>('POST', `/orgs/${w.orgId}/triggers/${triggerId}/test-event`, {
      cookie: w.people.owner.cookie,
      body: {},
    });
    expect(test.status, test.text).toBe(202);
    expect(test.json).toMatchObject({ source: 'test', status: 'received' });
    const preview = await h.call<{ matched: boolean; prompt: string; event: string }>(
      'POST',
      `/orgs/${w.orgId}/triggers/${triggerId}/preview`,
      { cookie: w.people.member.cookie, body: { event: 'push' } },
    );
    expect(preview.json).toMatchObject({ matched: false, event: 'push' });
    const fits = await h.call<{ matched: boolean; prompt: string }>(
      'POST',
      `/orgs/${w.orgId}/triggers/${triggerId}/preview`,
      {
        cookie: w.people.member.cookie,
        body: {},
      },
    );
    expect(fits.json).toMatchObject({ matched: true, prompt: 'Fix Spelling error in the README file' });
  });
});

describe('previews of a trigger not saved yet', () => {
  it('render a draft against a fitted sample', async () => {
    const reply = await h.call<{ matched: boolean; prompt: string | null; event: string }>(
      'POST',
      `/orgs/${w.orgId}/trigger-preview`,
      {
        cookie: w.people.member.cookie,
        body: {
          kind: 'webhook',
          config: {
            source: 'github',
            events: ['pull_request.opened'],
            promptTemplate: 'Review {{ pull_request.diff_url }} ({{ pull_request.base.ref }})',
          },
        },
      },
    );
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      matched: true,
      event: 'pull_request.opened',
      prompt: 'Review https://github.com/Codertocat/Hello-World/pull/2.diff (main)',
    });
  });
});
