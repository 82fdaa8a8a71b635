import { runners, triggers } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '../../lib/crypto.ts';
import { runnerTokenHash } from '../../lib/secret-hash.ts';
import { verifyToken } from '../../lib/tokens.ts';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Runner tokens and webhook signing secrets are shown once, stored as a hash
// or sealed, and never appear again in any response or log line.

const h = new Harness();
let w: World;
beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  // Every body and log line of this file, scanned for every seeded secret.
  expect(h.secrets.size).toBeGreaterThan(8);
  expect(h.leaks()).toEqual([]);
  await h.close();
});

describe('runners', () => {
  it('register with a one-time token whose jti hash the row keeps; re-key and revoke replace it', async () => {
    const cookie = w.people.admin.cookie;
    const created = h.disclosure(
      await h.call<{ runner: { id: string; status: string; healthy: boolean }; token: string }>(
        'POST',
        `/orgs/${w.orgId}/runners`,
        {
          cookie,
          body: { name: 'docker-1', labels: { zone: 'eu' } },
        },
      ),
    );
    expect(created.status, created.text).toBe(201);
    const token = h.secret(created.json.token);
    const claims = await verifyToken(h.config, 'runner', token);
    expect(claims).toMatchObject({ sub: created.json.runner.id, org: w.orgId, purpose: 'runner' });
    const [row] = await h.db().select().from(runners).where(eq(runners.id, created.json.runner.id));
    expect(row?.tokenHash).toBe(await runnerTokenHash(h.config.auth.pepper, claims.jti));
    expect(created.json.runner).toMatchObject({ status: 'pending', healthy: false });

    // Health: online and heard from recently.
    await h
      .db()
      .update(runners)
      .set({ status: 'online', lastHeartbeatAt: new Date(h.now - 30_000) })
      .where(eq(runners.id, created.json.runner.id));
    const listed = await h.call<{ items: { id: string; healthy: boolean }[] }>(
      'GET',
      `/orgs/${w.orgId}/runners`,
      { cookie: w.people.member.cookie },
    );
    expect(listed.json.items.find((r) => r.id === created.json.runner.id)?.healthy).toBe(true);
    h.advance(600);
    const stale = await h.call<{ healthy: boolean }>(
      'GET',
      `/orgs/${w.orgId}/runners/${created.json.runner.id}`,
      { cookie },
    );
    expect(stale.json.healthy).toBe(false);
    h.advance(-600);

    const rekeyed = h.disclosure(
      await h.call<{ token: string }>('POST', `/orgs/${w.orgId}/runners/${created.json.runner.id}/token`, {
        cookie,
      }),
    );
    const second = h.secret(rekeyed.json.token);
    const [after] = await h.db().select().from(runners).where(eq(runners.id, created.json.runner.id));
    expect(after?.tokenHash).toBe(
      await runnerTokenHash(h.config.auth.pepper, (await verifyToken(h.config, 'runner', second)).jti),
    );

    const revoked = await h.call<{ status: string; revokedAt: string }>(
      'DELETE',
      `/orgs/${w.orgId}/runners/${created.json.runner.id}`,
      { cookie },
    );
    expect(revoked.json.status).toBe('revoked');
    const [gone] = await h.db().select().from(runners).where(eq(runners.id, created.json.runner.id));
    expect(gone?.tokenHash).toBeNull();
    expect(
      (await h.call('POST', `/orgs/${w.orgId}/runners/${created.json.runner.id}/token`, { cookie })).status,
    ).toBe(409);
  });
});

describe('triggers', () => {
  it('generate a webhook signing secret, seal it, and show it once', async () => {
    const cookie = w.people.owner.cookie;
    const created = h.disclosure(
      await h.call<{
        trigger: { id: string; webhookUrl: string; hasSigningSecret: boolean };
        signingSecret: string;
      }>('POST', `/orgs/${w.orgId}/triggers`, {
        cookie,
        body: {
          kind: 'webhook',
          name: 'issues',
          profileId: w.profileId,
          config: { source: 'github', events: ['issues.opened'], promptTemplate: 'Triage {{issue.title}}' },
        },
      }),
    );
    expect(created.status, created.text).toBe(201);
    const secret = h.secret(created.json.signingSecret);
    expect(secret.length).toBeGreaterThanOrEqual(40);
    expect(created.json.trigger).toMatchObject({
      hasSigningSecret: true,
      webhookUrl: expect.stringMatching(/\/hooks\/trg_/),
    });
    const [row] = await h.db().select().from(triggers).where(eq(triggers.id, created.json.trigger.id));
    expect(JSON.stringify(row)).not.toContain(secret);
    const sealed = {
      ciphertext: row?.secretCiphertext ?? '',
      nonce: row?.secretNonce ?? '',
      keyVersion: row?.secretKeyVersion ?? 0,
    };
    expect(await new Sealer(h.config.integrations).open(sealed, created.json.trigger.id)).toBe(secret);
    expect(
      (await h.call('GET', `/orgs/${w.orgId}/triggers/${created.json.trigger.id}`, { cookie })).status,
    ).toBe(200);

    const slackSecret = h.secret('slack-signing-secret-0123456789abcdef');
    const slack = await h.call<{ signingSecret: string | null }>('POST', `/orgs/${w.orgId}/triggers`, {
      cookie,
      body: {
        kind: 'webhook',
        name: 'mentions',
        profileId: w.profileId,
        signingSecret: slackSecret,
        config: { source: 'slack', events: ['app_mention'], promptTemplate: '{{text}}' },
      },
    });
    expect(slack.status).toBe(201);
    expect(slack.json.signingSecret).toBeNull();
    expect((await h.call('GET', `/orgs/${w.orgId}/triggers`, { cookie })).status).toBe(200);
  });

  it('validate schedules (5-field cron, IANA zone) and references into the org', async () => {
    const cookie = w.people.owner.cookie;
    const schedule = (config: Record<string, string>, profileId = w.profileId) =>
      h.call<{ errors: { path: string; message: string }[] }>('POST', `/orgs/${w.orgId}/triggers`, {
        cookie,
        body: {
          kind: 'schedule',
          name: `s-${crypto.randomUUID().slice(0, 6)}`,
          profileId,
          config: { promptTemplate: 'x', ...config },
        },
      });
    const badCron = await schedule({ cron: '0 25 * * *', timezone: 'UTC' });
    expect(badCron.status).toBe(422);
    expect(badCron.json.errors).toEqual([
      expect.objectContaining({ path: 'config.cron', message: 'Invalid value for hour: 25' }),
    ]);
    const badZone = await schedule({ cron: '0 3 * * *', timezone: 'Atlantis/Capital' });
    expect(badZone.json.errors[0]?.path).toBe('config.timezone');
    const foreignProfile = await schedule(
      { cron: '0 3 * * *', timezone: 'Asia/Tokyo' },
      'prf_01JD0000000000000000000000',
    );
    expect(foreignProfile.json.errors[0]?.path).toBe('profileId');
    const ok = await schedule({ cron: '30 9 * * MON-FRI', timezone: 'America/New_York' });
    expect(ok.status).toBe(201);
    const chat = await h.call<{ errors: { path: string }[] }>('POST', `/orgs/${w.orgId}/triggers`, {
      cookie,
      body: {
        kind: 'chat',
        name: 'chat',
        profileId: w.profileId,
        signingSecret: 'slack-signing-secret-0123456789abcdef',
        config: { connectionId: w.connectionId, channel: 'C0123456789' },
      },
    });
    expect(chat.status).toBe(422);
    expect(chat.json.errors[0]?.path).toBe('config.connectionId');
    const patched = await h.call<{ errors: { path: string }[] }>(
      'PATCH',
      `/orgs/${w.orgId}/triggers/${w.triggerId}`,
      {
        cookie,
        body: { config: { cron: 'nope', timezone: 'UTC', promptTemplate: 'x' } },
      },
    );
    expect(patched.status).toBe(422);
    expect(patched.json.errors[0]?.path).toBe('config.cron');
  });
});
