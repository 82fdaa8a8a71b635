import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { connections } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Broker } from '../../broker/index.ts';
import { Sealer } from '../../lib/crypto.ts';
import type { Env } from '../../lib/env.ts';
import { Harness } from '../testing/harness.ts';
import type { AttackerSighting } from '../testing/standins-setup.ts';
import { createWorld, type World } from '../testing/world.ts';

// Attack: send a credential over plain http:// (readable and rewritable by
// anyone on the path). Only a deployment configured `env = "local"` (loopback
// stand-ins) accepts http:// destinations (ADR 0120); anywhere else the API
// refuses them, a stored one stops the plan from compiling, "Test connection"
// does not call it, and the broker does not mint through it.

const standIn = inject('controlPlaneStandIns');
const production = new Harness({ AIRLOCK_ENV: 'production' });
const local = new Harness({ AIRLOCK_ENV: 'local' });
let prod: World;
let loc: World;
beforeAll(async () => {
  prod = await createWorld(production);
  loc = await createWorld(local);
});
afterAll(async () => {
  expect(production.leaks()).toEqual([]);
  expect(local.leaks()).toEqual([]);
  await production.close();
  await local.close();
});

interface Problem {
  code: string;
  detail: string;
  errors?: { path: string; code: string; message: string }[];
}

const seen = async () => (await (await fetch(`${standIn.attackerUrl}/__seen`)).json()) as AttackerSighting[];
const insecure = () => `${standIn.attackerUrl}/plain-${crypto.randomUUID().slice(0, 8)}`;

/** Point the world's model connection (bound by its published version) at `baseUrl`, as an old row might. */
async function moveWorldConnection(h: Harness, w: World, baseUrl: string) {
  await h
    .db()
    .update(connections)
    .set({ config: { base_url: baseUrl } })
    .where(eq(connections.id, w.connectionId));
}

async function seedConnection(
  h: Harness,
  w: World,
  integration: string,
  config: Record<string, string>,
  credential: Record<string, string>,
): Promise<string> {
  const id = newId('connection');
  const sealed = await new Sealer(h.config.integrations).seal(JSON.stringify(credential), id);
  await h
    .db()
    .insert(connections)
    .values({
      id,
      orgId: w.orgId,
      integration,
      name: `${integration} ${id.slice(-6)}`,
      config,
      credentialCiphertext: sealed.ciphertext,
      credentialNonce: sealed.nonce,
      credentialKeyVersion: sealed.keyVersion,
    });
  return id;
}

async function rsaPem(): Promise<string> {
  const pair = (await crypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

describe('http:// destinations outside env = "local"', () => {
  it('are refused when a connection is created or moved, naming the field and the setting', async () => {
    const created = await production.call<Problem>('POST', `/orgs/${prod.orgId}/connections`, {
      cookie: prod.people.admin.cookie,
      body: {
        integration: 'openai',
        name: 'plain',
        config: { base_url: insecure() },
        credentials: { api_key: production.secret(`sk-plain-${crypto.randomUUID()}`) },
      },
    });
    expect(created.status, created.text).toBe(422);
    expect(created.headers.get('content-type')).toBe('application/problem+json');
    expect(created.json.errors).toEqual([
      expect.objectContaining({ path: 'config.base_url', code: 'insecure_url' }),
    ]);
    expect(created.json.detail).toContain('env');

    const moved = await production.call<Problem>(
      'PATCH',
      `/orgs/${prod.orgId}/connections/${prod.connectionId}`,
      {
        cookie: prod.people.owner.cookie,
        body: {
          config: { base_url: insecure() },
          credentials: { api_key: production.secret(`sk-plain-${crypto.randomUUID()}`) },
        },
      },
    );
    expect(moved.status, moved.text).toBe(422);
    expect(moved.json.errors).toContainEqual(
      expect.objectContaining({ path: 'config.base_url', code: 'insecure_url' }),
    );

    const https = await production.call('POST', `/orgs/${prod.orgId}/connections`, {
      cookie: prod.people.admin.cookie,
      body: {
        integration: 'openai',
        name: 'tls',
        config: { base_url: 'https://llm.example.com' },
        credentials: { api_key: production.secret(`sk-tls-${crypto.randomUUID()}`) },
      },
    });
    expect(https.status, https.text).toBe(201);
  });

  it('stop a stored http:// connection from compiling or being tested, and nothing reaches it', async () => {
    const target = insecure();
    await moveWorldConnection(production, prod, target);
    const plan = await production.call<Problem>(
      'GET',
      `/orgs/${prod.orgId}/profiles/${prod.profileId}/versions/${prod.publishedVersionId}/plan`,
      { cookie: prod.people.member.cookie },
    );
    expect(plan.status, plan.text).toBe(409);
    expect(plan.json.errors).toContainEqual(
      expect.objectContaining({ code: 'INSECURE_UPSTREAM', path: 'modelConnectionId' }),
    );
    const start = await production.call<Problem & { reason: string }>(
      'POST',
      `/orgs/${prod.orgId}/sessions`,
      {
        cookie: prod.people.member.cookie,
        body: { profileId: prod.profileId },
      },
    );
    expect(start.status).toBe(409);
    expect(start.json.reason).toBe('plan_invalid');
    const probe = await production.call<{ ok: boolean; detail: string }>(
      'POST',
      `/orgs/${prod.orgId}/connections/${prod.connectionId}/test`,
      { cookie: prod.people.admin.cookie },
    );
    expect(probe.json.ok).toBe(false);
    expect(probe.json.detail).toContain('http://');
    const sightings = await seen();
    expect(sightings.filter((s) => s.path.startsWith(new URL(target).pathname))).toEqual([]);
    expect(JSON.stringify(sightings)).not.toContain(prod.apiKey);
  });

  it('are not used by the broker to mint GitHub App or OAuth2 tokens', async () => {
    const broker = new Broker(createExecutionContext(), { ...env, AIRLOCK_ENV: 'production' } as Env);
    const base = insecure();
    const app = await seedConnection(
      production,
      prod,
      'github_app',
      { app_id: '7', installation_id: '8', base_url: base },
      { private_key: await rsaPem() },
    );
    const minted = await broker.mint({ orgId: prod.orgId, connectionId: app, source: 'github_app' });
    expect(minted).toMatchObject({ ok: false, code: 'MISCONFIGURED' });
    expect(minted.ok ? '' : minted.message).toContain('http://');

    const refreshToken = production.secret(`rt-${crypto.randomUUID()}`);
    const clientSecret = production.secret(`cs-${crypto.randomUUID()}`);
    const oauth = await seedConnection(
      production,
      prod,
      'oauth2',
      { token_url: `${insecure()}/token`, client_id: 'client' },
      { refresh_token: refreshToken, client_secret: clientSecret },
    );
    const refreshed = await broker.mint({ orgId: prod.orgId, connectionId: oauth, source: 'oauth2' });
    expect(refreshed).toMatchObject({ ok: false, code: 'MISCONFIGURED' });
    const sightings = JSON.stringify(await seen());
    expect(sightings).not.toContain(new URL(base).pathname);
    expect(sightings).not.toContain(refreshToken);
    expect(sightings).not.toContain(clientSecret);
  });
});

describe('http:// destinations with env = "local"', () => {
  it('are accepted for loopback stand-ins, and the plan compiles', async () => {
    const created = await local.call('POST', `/orgs/${loc.orgId}/connections`, {
      cookie: loc.people.admin.cookie,
      body: {
        integration: 'openai',
        name: 'stand-in',
        config: { base_url: standIn.openaiUrl },
        credentials: { api_key: local.secret(`sk-local-${crypto.randomUUID()}`) },
      },
    });
    expect(created.status, created.text).toBe(201);
    await moveWorldConnection(local, loc, standIn.openaiUrl);
    const plan = await local.call<{ egressRoutes: { upstream: { baseUrl: string } }[] }>(
      'GET',
      `/orgs/${loc.orgId}/profiles/${loc.profileId}/versions/${loc.publishedVersionId}/plan`,
      { cookie: loc.people.member.cookie },
    );
    expect(plan.status, plan.text).toBe(200);
    expect(plan.json.egressRoutes.map((r) => r.upstream.baseUrl)).toEqual([standIn.openaiUrl]);
  });
});
