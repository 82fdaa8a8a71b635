import { triggerDeliveries } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, PUBLIC_ORIGIN } from '../../control-plane/testing/harness.ts';
import { createWorld, type World } from '../../control-plane/testing/world.ts';
import { slackSample } from '../sources/samples.ts';

// Slack's Events API and Standard Webhooks senders at /hooks/{triggerId}, on
// the real app: the url_verification handshake, v0 signatures with their
// 5-minute window, bot posts never taken as instructions; Standard Webhooks
// signatures and timestamps, and a rotated secret that keeps verifying for its
// grace period only.

const h = new Harness();
let w: World;
const slackSecret = h.secret('8f742231b10e8888abcd99yyyzzz85a5');

beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const encoder = new TextEncoder();
async function slackSignature(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', key, encoder.encode(`v0:${timestamp}:${body}`)),
  );
  return `v0=${[...mac].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function post(triggerId: string, body: string, headers: Record<string, string>) {
  h.now = Date.now(); // the app's clock is the harness's: keep it on the wall clock senders sign with
  return h.raw(
    new Request(`${PUBLIC_ORIGIN}/hooks/${triggerId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    }),
  );
}

async function slack(
  triggerId: string,
  payload: unknown,
  options: { timestamp?: number; secret?: string } = {},
) {
  const body = JSON.stringify(payload);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return post(triggerId, body, {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': await slackSignature(options.secret ?? slackSecret, timestamp, body),
  });
}

async function createTrigger(body: Record<string, unknown>) {
  const reply = h.disclosure(
    await h.call<{ trigger: { id: string }; signingSecret: string | null }>(
      'POST',
      `/orgs/${w.orgId}/triggers`,
      {
        cookie: w.people.owner.cookie,
        body,
      },
    ),
  );
  expect(reply.status, reply.text).toBe(201);
  if (reply.json.signingSecret !== null) h.secret(reply.json.signingSecret);
  return reply.json;
}

describe('Slack Events API', () => {
  let triggerId = '';
  beforeAll(async () => {
    const created = await createTrigger({
      kind: 'webhook',
      name: 'slack mentions',
      profileId: w.profileId,
      enabled: false,
      signingSecret: slackSecret,
      config: { source: 'slack', events: ['app_mention'], promptTemplate: 'Help with: {{ text }}' },
    });
    triggerId = created.trigger.id;
  });

  it('answers url_verification with the challenge, once the signature holds', async () => {
    const handshake = {
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    };
    const reply = await slack(triggerId, handshake);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ challenge: handshake.challenge });
    const forged = await slack(triggerId, handshake, { secret: 'another-apps-secret-0123456789ab' });
    expect(forged.status).toBe(401);
  });

  it('refuses a request signed more than 5 minutes ago (a replay), whatever its signature', async () => {
    const stale = await slack(triggerId, slackSample('app_mention', new Date()), {
      timestamp: Math.floor(Date.now() / 1000) - 301,
    });
    expect(stale.status).toBe(401);
    expect((stale.json as { detail: string }).detail).toMatch(/^Stale request: the timestamp is 30\d s away/);
    const future = await slack(triggerId, slackSample('app_mention', new Date()), {
      timestamp: Math.floor(Date.now() / 1000) + 400,
    });
    expect(future.status).toBe(401);
  });

  it("records a disabled trigger's events as ignored, and never takes a bot post for an instruction", async () => {
    const mention = await slack(triggerId, slackSample('app_mention', new Date()));
    expect(mention.status).toBe(202);
    expect(mention.json).toMatchObject({ status: 'ignored' });
    await h.call('PATCH', `/orgs/${w.orgId}/triggers/${triggerId}`, {
      cookie: w.people.owner.cookie,
      body: { enabled: true },
    });
    const envelope = slackSample('app_mention', new Date()) as { event: Record<string, unknown> };
    envelope.event.bot_id = 'B0OTHERBOT';
    const bot = await slack(triggerId, envelope);
    expect(bot.json).toMatchObject({ status: 'filtered' });
    const [row] = await h
      .db()
      .select()
      .from(triggerDeliveries)
      .where(eq(triggerDeliveries.id, (bot.json as { delivery: string }).delivery));
    expect(row?.reason).toMatch(/^sent by a bot/);
    expect(row?.event).toBe('app_mention');
    expect(row?.deliveryId).toMatch(/^Ev/);
  });
});

describe('Standard Webhooks', () => {
  let triggerId = '';
  let secret = '';
  beforeAll(async () => {
    const created = await createTrigger({
      kind: 'webhook',
      name: 'billing events',
      profileId: w.profileId,
      enabled: false,
      config: {
        source: 'generic',
        events: ['invoice.paid'],
        promptTemplate: 'Invoice {{ payload.data.id }} was paid',
      },
    });
    triggerId = created.trigger.id;
    secret = created.signingSecret ?? '';
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  });

  const send = (payload: unknown, key: string, at = new Date()) => {
    const body = JSON.stringify(payload);
    const id = `msg_${crypto.randomUUID()}`;
    return post(triggerId, body, {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(key).sign(id, at, body),
    });
  };

  it('verifies the scheme and its timestamp window', async () => {
    const ok = await send({ type: 'invoice.paid', data: { id: 'inv_1' } }, secret);
    expect(ok.status, ok.text).toBe(202);
    expect(ok.json).toMatchObject({ status: 'ignored' }); // created disabled
    const stale = await send({ type: 'invoice.paid' }, secret, new Date(Date.now() - 10 * 60_000));
    expect(stale.status).toBe(401);
    const wrong = await send({ type: 'invoice.paid' }, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(wrong.status).toBe(401);
    const missing = await post(triggerId, '{}', {});
    expect(missing.status).toBe(401);
  });

  it('rotates the secret: both verify during the grace period, then only the new one', async () => {
    const rotated = h.disclosure(
      await h.call<{ signingSecret: string; trigger: { previousSecretValidUntil: string | null } }>(
        'POST',
        `/orgs/${w.orgId}/triggers/${triggerId}/secret`,
        { cookie: w.people.admin.cookie, body: { graceSeconds: 3600 } },
      ),
    );
    expect(rotated.status, rotated.text).toBe(200);
    const fresh = h.secret(rotated.json.signingSecret);
    expect(fresh).not.toBe(secret);
    expect(rotated.json.trigger.previousSecretValidUntil).not.toBeNull();
    expect((await send({ type: 'invoice.paid' }, secret)).status).toBe(202);
    expect((await send({ type: 'invoice.paid' }, fresh)).status).toBe(202);
    const shown = await h.call<Record<string, unknown>>('GET', `/orgs/${w.orgId}/triggers/${triggerId}`, {
      cookie: w.people.owner.cookie,
    });
    expect(JSON.stringify(shown.json)).not.toContain(fresh.slice(6, 20));
    const ended = h.disclosure(
      await h.call<{ signingSecret: string }>('POST', `/orgs/${w.orgId}/triggers/${triggerId}/secret`, {
        cookie: w.people.owner.cookie,
        body: { graceSeconds: 0 },
      }),
    );
    h.secret(ended.json.signingSecret);
    expect((await send({ type: 'invoice.paid' }, fresh)).status).toBe(401);
    expect((await send({ type: 'invoice.paid' }, ended.json.signingSecret)).status).toBe(202);
  });
});
