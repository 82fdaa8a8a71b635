import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, PUBLIC_ORIGIN } from '../control-plane/testing/harness.ts';
import { createWorld, type World } from '../control-plane/testing/world.ts';
import { githubSample } from './sources/samples.ts';

// What an org admin (or a token of one) might try with a trigger's definition:
// borrow another org's connection to post or verify with, point a callback at
// the platform's own network, or read a secret back. And a GitHub App's
// webhook verified with the App connection's webhook secret, which only the
// broker opens.

const h = new Harness();
const prod = new Harness({ AIRLOCK_ENV: 'production' });
let w: World;
let foreign: World;
const webhookSecret = h.secret('app-webhook-secret-0123456789abcdef');
const pem = `-----BEGIN RSA PRIVATE KEY-----\n${'MIIEowIBAAKCAQEA'.repeat(8)}\n-----END RSA PRIVATE KEY-----\n`;

beforeAll(async () => {
  w = await createWorld(h);
  foreign = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
  await prod.close();
});

async function githubAppConnection(world: World): Promise<string> {
  const reply = await h.call<{ id: string }>('POST', `/orgs/${world.orgId}/connections`, {
    cookie: world.people.owner.cookie,
    body: {
      integration: 'github_app',
      name: `App ${crypto.randomUUID().slice(0, 6)}`,
      config: { app_id: '12345', installation_id: '67890' },
      credentials: { private_key: pem, webhook_secret: webhookSecret },
    },
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json.id;
}

const create = (world: World, body: Record<string, unknown>, harness = h) =>
  harness.call<{ trigger: { id: string }; signingSecret: string | null; errors?: Array<{ path: string }> }>(
    'POST',
    `/orgs/${world.orgId}/triggers`,
    { cookie: world.people.owner.cookie, body: { profileId: world.profileId, ...body } },
  );

describe('trigger definitions', () => {
  it("refuse another org's connection for reports or verification (422, as if it did not exist)", async () => {
    const theirs = await githubAppConnection(foreign);
    const reply = await create(w, {
      kind: 'webhook',
      name: 'borrowing',
      config: {
        source: 'github',
        events: ['*'],
        connectionId: theirs,
        secretFrom: 'connection',
        promptTemplate: 'x',
      },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.errors?.map((e) => e.path)).toEqual(['config.connectionId']);
    const chat = await create(w, {
      kind: 'chat',
      name: 'borrowing slack',
      signingSecret: 'slack-signing-secret-0123456789abcdef',
      config: { connectionId: foreign.connectionId },
    });
    expect(chat.status).toBe(422);
  });

  it("verify a GitHub App's webhook with the App connection's webhook secret, never shown", async () => {
    const ours = await githubAppConnection(w);
    const created = await create(w, {
      kind: 'webhook',
      name: 'app hook',
      enabled: false,
      config: {
        source: 'github',
        events: ['issues'],
        connectionId: ours,
        secretFrom: 'connection',
        promptTemplate: 'x',
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.signingSecret).toBeNull();
    const body = JSON.stringify(githubSample('issues.opened', {})?.payload);
    const send = async (secret: string) =>
      h.raw(
        new Request(`${PUBLIC_ORIGIN}/hooks/${created.json.trigger.id}`, {
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
    expect((await send(webhookSecret)).status).toBe(202);
    expect((await send('some-other-secret-0123456789abcdef')).status).toBe(401);
    const rotate = await h.call('POST', `/orgs/${w.orgId}/triggers/${created.json.trigger.id}/secret`, {
      cookie: w.people.owner.cookie,
      body: {},
    });
    expect(rotate.status).toBe(409);
  });

  it('refuse callbacks into private networks, loopback or plain http in production', async () => {
    const world = await createWorld(prod);
    for (const callbackUrl of [
      'https://169.254.169.254/latest/meta-data/',
      'http://hooks.example.com/x',
      'https://localhost:8787/api',
    ]) {
      const reply = await create(
        world,
        {
          kind: 'webhook',
          name: `cb ${crypto.randomUUID().slice(0, 6)}`,
          config: { source: 'generic', events: ['*'], callbackUrl, promptTemplate: 'x' },
        },
        prod,
      );
      expect(reply.status, callbackUrl).toBe(422);
      expect(reply.json.errors?.map((e) => e.path)).toEqual(['config.callbackUrl']);
    }
    const ok = await create(
      world,
      {
        kind: 'webhook',
        name: 'cb ok',
        config: {
          source: 'generic',
          events: ['*'],
          callbackUrl: 'https://hooks.example.com/airlock',
          promptTemplate: 'x',
        },
      },
      prod,
    );
    expect(ok.status, ok.text).toBe(201);
    prod.secret(ok.json.signingSecret ?? '');
  });

  it('never show a signing secret again after creation', async () => {
    const created = h.disclosure(
      await create(w, {
        kind: 'webhook',
        name: 'once',
        config: { source: 'generic', events: ['*'], promptTemplate: 'x' },
      }),
    );
    const secret = h.secret(created.json.signingSecret ?? '');
    expect(secret).toMatch(/^whsec_/);
    for (const path of [`/orgs/${w.orgId}/triggers`, `/orgs/${w.orgId}/triggers/${created.json.trigger.id}`])
      expect((await h.call('GET', path, { cookie: w.people.owner.cookie })).text).not.toContain(
        secret.slice(6),
      );
  });
});
