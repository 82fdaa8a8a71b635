import { createHmac } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { githubExample } from '../../standins/github-examples.ts';
import { sendGithubWebhook } from '../../standins/github-rest.ts';
import { type CredentiallessWorld, startCredentiallessWorld } from '../credentialless-world.ts';

// A malicious webhook sender against the real Worker (wrangler dev, real
// Postgres and Redis): forged and stale signatures, oversize and malformed
// bodies, unknown trigger ids. Each gets the precise answer — 401, 401, 413,
// 400, 404 — no session starts, and no body of a refused request is kept.

let world: CredentiallessWorld;
let db: pg.Client;
let profileId = '';

beforeAll(async () => {
  world = await startCredentiallessWorld(inject('airlock'));
  db = new pg.Client({ connectionString: inject('airlock').databaseUrl });
  await db.connect();
  const created = await world.api<{ id: string; draftVersionId: string }>(
    'POST',
    `/orgs/${world.orgId}/profiles`,
    {
      name: 'Attacked',
    },
  );
  profileId = created.id;
}, 600_000);

afterAll(async () => {
  await db?.end();
  await world?.stop();
});

const create = (body: Record<string, unknown>) =>
  world.api<{ trigger: { id: string; webhookUrl: string }; signingSecret: string | null }>(
    'POST',
    `/orgs/${world.orgId}/triggers`,
    { profileId, ...body },
  );

async function storedBodies(
  triggerId: string,
): Promise<Array<{ status: string; payload: unknown; reason: string | null }>> {
  const result = await db.query(
    'select status, payload, reason from trigger_deliveries where trigger_id = $1',
    [triggerId],
  );
  return result.rows as Array<{ status: string; payload: unknown; reason: string | null }>;
}

async function sessionsOf(triggerId: string): Promise<number> {
  const result = await db.query('select count(*)::int as n from sessions where trigger_id = $1', [triggerId]);
  return Number(result.rows[0]?.n ?? 0);
}

describe('a malicious webhook sender', () => {
  it('gets 401 for forged GitHub signatures, 413 for oversize bodies, 400 for malformed JSON; nothing runs, nothing is kept', async () => {
    const { trigger, signingSecret } = await create({
      kind: 'webhook',
      name: 'github',
      config: { source: 'github', events: ['*'], promptTemplate: 'x' },
    });
    const payload = githubExample('issues', 'opened', { repository: 'acme/widgets' });
    const forged = await sendGithubWebhook({
      url: trigger.webhookUrl,
      event: 'issues',
      payload,
      secret: 'guessed-secret-0123456789abcdef',
    });
    expect(forged.status).toBe(401);
    const unsigned = await fetch(trigger.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': crypto.randomUUID(),
      },
      body: JSON.stringify(payload),
    });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('content-type')).toContain('application/problem+json');
    const huge = JSON.stringify({ ...payload, padding: 'x'.repeat(1024 * 1024) });
    const oversize = await fetch(trigger.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': crypto.randomUUID(),
        'x-hub-signature-256': await sign(signingSecret ?? '', huge),
      },
      body: huge,
    });
    expect(oversize.status).toBe(413);
    const broken = '{"action":';
    const malformed = await fetch(trigger.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': crypto.randomUUID(),
        'x-hub-signature-256': await sign(signingSecret ?? '', broken),
      },
      body: broken,
    });
    expect(malformed.status).toBe(400);
    await new Promise((r) => setTimeout(r, 1500)); // rejected rows are written after the answer
    const rows = await storedBodies(trigger.id);
    expect(rows.map((r) => r.status).sort()).toEqual(['failed', 'rejected', 'rejected']);
    expect(rows.every((r) => r.payload === null)).toBe(true);
    expect(await sessionsOf(trigger.id)).toBe(0);
  });

  it('gets 401 for a replayed Slack event signed more than 5 minutes ago', async () => {
    const secret = 'e2e-slack-signing-secret-0123456789';
    const { trigger } = await create({
      kind: 'webhook',
      name: 'slack',
      signingSecret: secret,
      config: { source: 'slack', events: ['app_mention'], promptTemplate: '{{ text }}' },
    });
    const body = JSON.stringify({
      token: 'XXYYZZ',
      team_id: 'T123ABC456',
      api_app_id: 'A123ABC456',
      event: {
        type: 'app_mention',
        user: 'U061F7AUR',
        text: '<@U0LAN0Z89> run rm -rf',
        ts: '1515449522.000016',
        channel: 'C123ABC456',
        event_ts: '1515449522.000016',
      },
      type: 'event_callback',
      event_id: 'Ev123ABC456',
      event_time: 1515449522,
    });
    const old = Math.floor(Date.now() / 1000) - 600;
    const replay = await fetch(trigger.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(old),
        'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${old}:${body}`).digest('hex')}`,
      },
      body,
    });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { detail: string }).detail).toMatch(/^Stale request/);
    expect(await sessionsOf(trigger.id)).toBe(0);
  });

  it('gets 401 for a Standard Webhooks request outside its window, and 404 for an unknown trigger', async () => {
    const { trigger, signingSecret } = await create({
      kind: 'webhook',
      name: 'generic',
      config: { source: 'generic', events: ['*'], promptTemplate: '{{ payload.type }}' },
    });
    const body = JSON.stringify({ type: 'order.created' });
    const at = new Date(Date.now() - 10 * 60_000);
    const stale = await fetch(trigger.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_replayed',
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(signingSecret ?? '').sign('msg_replayed', at, body),
      },
      body,
    });
    expect(stale.status).toBe(401);
    const unknown = await fetch(
      trigger.webhookUrl.replace(/trg_[0-9A-Z]+$/, 'trg_01JD0000000000000000000000'),
      {
        method: 'POST',
        body,
      },
    );
    expect(unknown.status).toBe(404);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await storedBodies(trigger.id)).every((r) => r.payload === null)).toBe(true);
    expect(await sessionsOf(trigger.id)).toBe(0);
  });
});
