import { connections } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '../../lib/crypto.ts';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Connections keep credentials write-only: validated against the catalog,
// sealed at rest with the row id as context, never in a response or a log.

const h = new Harness();
let w: World;
beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

interface Conn {
  id: string;
  integration: string;
  config: Record<string, unknown>;
  credentialFields: string[];
  status: string;
}

describe('connections', () => {
  it('lists the catalog with credential fields, hosts and placement', async () => {
    const reply = await h.call<{
      items: {
        key: string;
        credentialFields: { name: string; secret: boolean }[];
        routes: { hosts: string[]; inject: string }[];
      }[];
    }>('GET', '/integrations', { cookie: w.people.member.cookie });
    expect(reply.status).toBe(200);
    const keys = reply.json.items.map((i) => i.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'github_app',
        'github_pat',
        'openai',
        'anthropic',
        'slack',
        'jira',
        'signoz',
        'http_api_key',
      ]),
    );
    const openai = reply.json.items.find((i) => i.key === 'openai');
    expect(openai?.credentialFields).toEqual([expect.objectContaining({ name: 'api_key', secret: true })]);
    expect(openai?.routes[0]).toMatchObject({ hosts: ['api.openai.com'], inject: 'bearer' });
  });

  it('seals credentials, bound to the row, and never returns them', async () => {
    const key = h.secret('sk-live-connection-secret-0123456789');
    const created = await h.call<Conn>('POST', `/orgs/${w.orgId}/connections`, {
      cookie: w.people.admin.cookie,
      body: {
        integration: 'openai',
        name: 'Azure',
        config: { base_url: 'https://r.openai.azure.com/openai' },
        credentials: { api_key: key },
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({
      integration: 'openai',
      credentialFields: ['api_key'],
      status: 'active',
    });
    const [row] = await h.db().select().from(connections).where(eq(connections.id, created.json.id));
    if (row === undefined) throw new Error('no row');
    expect(JSON.stringify(row)).not.toContain(key);
    expect(row.credentialKeyVersion).toBe(h.config.integrations.active_master_key_version);
    const sealer = new Sealer(h.config.integrations);
    const sealed = {
      ciphertext: row.credentialCiphertext,
      nonce: row.credentialNonce,
      keyVersion: row.credentialKeyVersion,
    };
    expect(JSON.parse(await sealer.open(sealed, row.id))).toEqual({ api_key: key });
    await expect(sealer.open(sealed, w.connectionId)).rejects.toMatchObject({ code: 'tampered' });

    const read = await h.call('GET', `/orgs/${w.orgId}/connections/${created.json.id}`, {
      cookie: w.people.member.cookie,
    });
    expect(read.status).toBe(200);
    const replaced = h.secret('sk-live-replacement-secret-98765');
    const updated = await h.call<Conn>('PATCH', `/orgs/${w.orgId}/connections/${created.json.id}`, {
      cookie: w.people.owner.cookie,
      body: { credentials: { api_key: replaced } },
    });
    expect(updated.status).toBe(200);
    const [after] = await h.db().select().from(connections).where(eq(connections.id, created.json.id));
    expect(after?.credentialCiphertext).not.toBe(row.credentialCiphertext);
  });

  it('validates fields against the catalog without echoing secret values', async () => {
    const bad = h.secret('xoxq-not-a-slack-token');
    const reply = await h.call<{ errors: { path: string; message: string }[] }>(
      'POST',
      `/orgs/${w.orgId}/connections`,
      {
        cookie: w.people.owner.cookie,
        body: { integration: 'slack', name: 'Slack', config: { nope: 'x' }, credentials: { bot_token: bad } },
      },
    );
    expect(reply.status).toBe(422);
    expect(reply.json.errors.map((e) => e.path).sort()).toEqual(['config.nope', 'credentials.bot_token']);
    const missing = await h.call<{ errors: { path: string }[] }>('POST', `/orgs/${w.orgId}/connections`, {
      cookie: w.people.owner.cookie,
      body: { integration: 'jira', name: 'Jira', credentials: { api_token: h.secret('jira-token-123456') } },
    });
    expect(missing.json.errors.map((e) => e.path).sort()).toEqual(['config.base_url', 'config.email']);
    const unknown = await h.call<{ errors: { path: string }[] }>('POST', `/orgs/${w.orgId}/connections`, {
      cookie: w.people.owner.cookie,
      body: { integration: 'gitlab', name: 'GL', credentials: {} },
    });
    expect(unknown.json.errors).toEqual([expect.objectContaining({ path: 'integration' })]);
  });

  it('answers 409 when deleting a connection a profile version uses, and allows revoking it', async () => {
    const refused = await h.call<{ detail: string }>(
      'DELETE',
      `/orgs/${w.orgId}/connections/${w.connectionId}`,
      {
        cookie: w.people.owner.cookie,
      },
    );
    expect(refused.status).toBe(409);
    expect(refused.json.detail).toContain('revoke');
    const revoked = await h.call<Conn>('PATCH', `/orgs/${w.orgId}/connections/${w.connectionId}`, {
      cookie: w.people.owner.cookie,
      body: { status: 'revoked' },
    });
    expect(revoked.json.status).toBe('revoked');
    // The published version can no longer run: starting a session names why.
    const start = await h.call<{ reason: string; detail: string }>('POST', `/orgs/${w.orgId}/sessions`, {
      cookie: w.people.member.cookie,
      body: { profileId: w.profileId },
    });
    expect(start.status).toBe(409);
    expect(start.json.reason).toBe('plan_invalid');
    expect(start.json.detail).toContain('revoked');
  });

  it('rejects an oversized body with 413', async () => {
    const reply = await h.call('POST', `/orgs/${w.orgId}/connections`, {
      cookie: w.people.owner.cookie,
      raw: JSON.stringify({
        integration: 'openai',
        name: 'x',
        credentials: { api_key: 'a'.repeat(h.config.limits.max_request_body_bytes) },
      }),
    });
    expect(reply.status).toBe(413);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
  });
});
