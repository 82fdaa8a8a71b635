import { profileVersions, sandboxProfiles, triggerDeliveries, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { sign } from '@octokit/webhooks-methods';
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, PUBLIC_ORIGIN } from '../../control-plane/testing/harness.ts';
import { createWorld, type World } from '../../control-plane/testing/world.ts';
import worker from '../../index.ts';
import { githubSample } from '../sources/samples.ts';

// POST /hooks/{triggerId} for a GitHub webhook, on the real Worker app in
// workerd against real Postgres and Redis: the answers the issue asks for
// (202 / 401 / 404 / 413 / 400 / 202 ignored), a row for every request, no
// body kept when the signature fails, and a run that says why it could not
// start (the profile has no published version).

const h = new Harness();
let w: World;
let triggerId = '';
let secret = '';
let bareProfileId = '';

async function bareProfile(orgId: string): Promise<string> {
  const db = h.db();
  const id = newId('profile');
  await db.insert(sandboxProfiles).values({ id, orgId, name: `Bare ${id.slice(-6)}` });
  await db.insert(profileVersions).values({ id: newId('profileVersion'), profileId: id, orgId, number: 1 });
  return id;
}

beforeAll(async () => {
  w = await createWorld(h);
  bareProfileId = await bareProfile(w.orgId);
  const created = h.disclosure(
    await h.call<{ trigger: { id: string }; signingSecret: string }>('POST', `/orgs/${w.orgId}/triggers`, {
      cookie: w.people.owner.cookie,
      body: {
        kind: 'webhook',
        name: 'labelled issues',
        profileId: bareProfileId,
        config: {
          source: 'github',
          events: ['issues.labeled'],
          repositories: ['acme/widgets'],
          labels: ['airlock'],
          promptTemplate: 'Reproduce and fix: {{ issue.title }}\n\n{{ issue.body }}',
        },
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

const labelled = () =>
  githubSample('issues.labeled', { repository: 'acme/widgets', label: 'airlock' })?.payload ?? {};

async function deliver(
  body: string,
  headers: Record<string, string>,
  id = triggerId,
): Promise<Awaited<ReturnType<Harness['raw']>>> {
  return h.raw(
    new Request(`${PUBLIC_ORIGIN}/hooks/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/044aadd', ...headers },
      body,
    }),
  );
}

async function github(
  payload: unknown,
  options: { event?: string; delivery?: string; secret?: string } = {},
) {
  const body = JSON.stringify(payload);
  return deliver(body, {
    'x-github-event': options.event ?? 'issues',
    'x-github-delivery': options.delivery ?? crypto.randomUUID(),
    'x-hub-signature-256': await sign(options.secret ?? secret, body),
  });
}

async function rowOf(reply: { json: unknown }) {
  const id = (reply.json as { delivery: string }).delivery;
  const [row] = await h.db().select().from(triggerDeliveries).where(eq(triggerDeliveries.id, id));
  return row;
}

async function rowsOf(id = triggerId) {
  return h
    .db()
    .select()
    .from(triggerDeliveries)
    .where(eq(triggerDeliveries.triggerId, id))
    .orderBy(desc(triggerDeliveries.createdAt));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a GitHub webhook', () => {
  it('is answered 202 at once and recorded with its parsed event; its run says why no session started', async () => {
    const delivery = crypto.randomUUID();
    const reply = await github(labelled(), { delivery });
    expect(reply.status, reply.text).toBe(202);
    const answer = reply.json as { delivery: string; status: string };
    expect(answer.status).toBe('received');
    // The row is the run's first step (the answer did not wait for Postgres).
    const row = await until('the delivery row', () => rowOf(reply));
    expect(row).toMatchObject({ source: 'github', deliveryId: delivery, event: 'issues.labeled' });
    expect(row?.summary).toContain('acme/widgets#1 labeled airlock');
    expect((row?.payload as { name?: string } | null)?.name).toBe('issues.labeled');
    // The TriggerRun workflow takes it from there: the profile has nothing published.
    const failed = await until('the run to fail', async () => {
      const [r] = (await rowsOf()).filter((x) => x.id === answer.delivery && x.status !== 'received');
      return r;
    });
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/no published version/);
    expect(failed.renderedPrompt).toBe(
      "Reproduce and fix: Spelling error in the README file\n\nIt looks like you accidently spelled 'commit' with two 't's.",
    );
    // Nowhere to comment (no GitHub connection): the report is skipped, and the failure counted.
    const counted = await until('the failure to be counted', async () => {
      const [t] = await h.db().select().from(triggers).where(eq(triggers.id, triggerId));
      return (t?.consecutiveFailures ?? 0) >= 1 ? t : undefined;
    });
    expect(counted.enabled).toBe(true);
    expect((await rowOf(reply))?.reportStatus).toBe('skipped');
  });

  it('filters what the trigger does not want, and says why', async () => {
    const other = githubSample('issues.labeled', { repository: 'acme/widgets', label: 'question' })?.payload;
    const reply = await github(other);
    expect(reply.status).toBe(202);
    expect(reply.json).toMatchObject({ status: 'filtered' });
    expect((await rowOf(reply))?.reason).toBe('label question is not one of airlock');
    const ping = await github({ zen: 'Design for failure.', hook_id: 1 }, { event: 'ping' });
    expect(ping.json).toMatchObject({ status: 'filtered' });
    expect((await rowOf(ping))?.reason).toBe('ping: the webhook reaches this trigger');
  });

  it('refuses missing, wrong, malformed and foreign signatures with 401, keeping no body', async () => {
    const body = JSON.stringify(labelled());
    const missing = await deliver(body, {
      'x-github-event': 'issues',
      'x-github-delivery': crypto.randomUUID(),
    });
    expect(missing.status).toBe(401);
    expect((missing.json as { detail: string }).detail).toMatch(/X-Hub-Signature-256 is missing/);
    const malformed = await deliver(body, {
      'x-github-event': 'issues',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': 'sha256=zz',
    });
    expect(malformed.status).toBe(401);
    const wrong = await github(labelled(), { secret: 'not-the-secret-at-all-0123456789' });
    expect(wrong.status).toBe(401);
    expect((wrong.json as { detail: string }).detail).toMatch(/does not match/);
    // One byte changed after signing.
    const signed = await sign(secret, body);
    const tampered = await deliver(body.replace('Spelling', 'Spelunking'), {
      'x-github-event': 'issues',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': signed,
    });
    expect(tampered.status).toBe(401);
    const rejected = await until('rejected rows', async () => {
      const rows = (await rowsOf()).filter((r) => r.status === 'rejected');
      return rows.length >= 4 ? rows : undefined;
    });
    for (const row of rejected) {
      expect(row.payload).toBeNull();
      expect(row.summary).toBeNull();
      expect(row.renderedPrompt).toBeNull();
      expect(row.reason).toMatch(/^bad signature: /);
    }
  });

  it('answers 404 for unknown and deleted triggers and 405 for other methods', async () => {
    const unknown = await github(labelled(), {}).then(() => deliver('{}', {}, newId('trigger')));
    expect(unknown.status).toBe(404);
    expect((await deliver('{}', {}, 'not-an-id')).status).toBe(404);
    const gone = h.disclosure(
      await h.call<{ trigger: { id: string }; signingSecret: string }>('POST', `/orgs/${w.orgId}/triggers`, {
        cookie: w.people.owner.cookie,
        body: {
          kind: 'webhook',
          name: 'short-lived',
          profileId: bareProfileId,
          config: { source: 'github', events: ['*'], promptTemplate: 'x' },
        },
      }),
    );
    h.secret(gone.json.signingSecret);
    await h.call('DELETE', `/orgs/${w.orgId}/triggers/${gone.json.trigger.id}`, {
      cookie: w.people.owner.cookie,
    });
    const deleted = await github(labelled(), { secret: gone.json.signingSecret }).then(() =>
      deliver('{}', { 'x-github-event': 'issues' }, gone.json.trigger.id),
    );
    expect(deleted.status).toBe(404);
    const get = await h.raw(new Request(`${PUBLIC_ORIGIN}/hooks/${triggerId}`));
    expect(get.status).toBe(405);
  });

  it("records a disabled trigger's delivery as ignored (202), and answers 413 and 400 as asked", async () => {
    const toggle = (enabled: boolean) =>
      h.call('PATCH', `/orgs/${w.orgId}/triggers/${triggerId}`, {
        cookie: w.people.owner.cookie,
        body: { enabled },
      });
    expect((await toggle(false)).status).toBe(200);
    try {
      const reply = await github(labelled());
      expect(reply.status).toBe(202);
      expect(reply.json).toMatchObject({ status: 'ignored' });
      expect(await rowOf(reply)).toMatchObject({ status: 'ignored', reason: 'disabled' });
    } finally {
      await toggle(true);
    }
    const before = (await rowsOf()).length;
    const huge = JSON.stringify({ ...labelled(), padding: 'x'.repeat(1024 * 1024) });
    const tooLarge = await deliver(huge, {
      'x-github-event': 'issues',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': await sign(secret, huge),
    });
    expect(tooLarge.status).toBe(413);
    expect((await rowsOf()).length).toBe(before);
    const notJson = '{"action": "labeled",';
    const malformed = await deliver(notJson, {
      'x-github-event': 'issues',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': await sign(secret, notJson),
    });
    expect(malformed.status).toBe(400);
    const failed = (await rowsOf()).filter((r) => r.reason === 'malformed JSON');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'failed', payload: null });
  });

  it('accepts the form-encoded content type GitHub can be set to', async () => {
    const form = `payload=${encodeURIComponent(JSON.stringify(labelled()))}`;
    const reply = await deliver(form, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-github-event': 'issues',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': await sign(secret, form),
    });
    expect(reply.status, reply.text).toBe(202);
    expect(reply.json).toMatchObject({ status: 'received' });
  });

  it('dedupes a redelivered id: the second copy is recorded as deduped, pointing at the first', async () => {
    const delivery = crypto.randomUUID();
    const first = await github(labelled(), { delivery });
    const again = await github(labelled(), { delivery });
    expect(first.json).toMatchObject({ status: 'received' });
    expect(again.json).toMatchObject({
      status: 'deduped',
      duplicateOf: (first.json as { delivery: string }).delivery,
    });
    // The copy's row is written in bulk, by the next run or the minute's cron: run the cron.
    await worker.scheduled({ cron: '* * * * *', scheduledTime: Date.now(), noRetry: () => {} }, h.env);
    const rows = await until('both rows', async () => {
      const found = await h
        .db()
        .select()
        .from(triggerDeliveries)
        .where(and(eq(triggerDeliveries.triggerId, triggerId), eq(triggerDeliveries.deliveryId, delivery)));
      return found.length === 2 ? found : undefined;
    });
    expect(rows.filter((r) => r.status === 'deduped')).toHaveLength(1);
    expect(rows.find((r) => r.status === 'deduped')?.duplicateOf).toBe(
      (first.json as { delivery: string }).delivery,
    );
  });
});
