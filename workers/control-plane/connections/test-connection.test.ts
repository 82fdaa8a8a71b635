import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// "Test connection" calls the integration's probe through the connection's
// own route: the broker's credential placed as the gateway would place it,
// sent to the (overridden) upstream — here the OpenAI stand-in, which accepts
// exactly one key. The answer never carries the credential.

const h = new Harness();
const standIn = inject('controlPlaneStandIns');
let w: World;
beforeAll(async () => {
  w = await createWorld(h);
  h.secret(standIn.openaiKey);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

interface Result {
  ok: boolean;
  status: number | null;
  request: string;
  detail: string;
  durationMs: number;
}

async function connection(
  integration: string,
  config: Record<string, string>,
  credentials: Record<string, string>,
) {
  const reply = await h.call<{ id: string }>('POST', `/orgs/${w.orgId}/connections`, {
    cookie: w.people.admin.cookie,
    body: { integration, name: `${integration} ${crypto.randomUUID().slice(0, 6)}`, config, credentials },
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json.id;
}

const test = (id: string, role: 'owner' | 'admin' | 'member' = 'admin') =>
  h.call<Result & { detail: string }>('POST', `/orgs/${w.orgId}/connections/${id}/test`, {
    cookie: w.people[role].cookie,
  });

describe('testing a connection', () => {
  it('succeeds when the upstream accepts the brokered key, and names the call', async () => {
    const id = await connection('openai', { base_url: standIn.openaiUrl }, { api_key: standIn.openaiKey });
    const reply = await test(id);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      ok: true,
      status: 200,
      request: `GET ${standIn.openaiUrl}/v1/models`,
      detail: 'OpenAI accepted the credential (HTTP 200)',
    });
    const audit = await h.call<{ items: { action: string; detail: { ok: boolean } }[] }>(
      'GET',
      `/orgs/${w.orgId}/audit?connectionId=${id}&action=connection.tested`,
      { cookie: w.people.owner.cookie },
    );
    expect(audit.json.items[0]).toMatchObject({
      action: 'connection.tested',
      detail: { ok: true, status: 200 },
    });
  });

  it('reports a refused key as ok: false with the status, not as an error', async () => {
    const wrong = h.secret(`sk-wrong-${crypto.randomUUID()}`);
    const id = await connection('openai', { base_url: standIn.openaiUrl }, { api_key: wrong });
    const reply = await test(id);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      ok: false,
      status: 401,
      detail: 'OpenAI refused the credential (HTTP 401)',
    });
  });

  it('reports an unreachable upstream without its error text', async () => {
    const id = await connection(
      'openai',
      { base_url: 'http://127.0.0.1:9' },
      { api_key: 'sk-unreachable-0000' },
    );
    const reply = await test(id);
    expect(reply.json).toMatchObject({ ok: false, status: null });
    expect(reply.json.detail).toContain('could not reach 127.0.0.1:9');
  });

  it('says why a revoked connection cannot be tested', async () => {
    const id = await connection('openai', { base_url: standIn.openaiUrl }, { api_key: standIn.openaiKey });
    await h.call('PATCH', `/orgs/${w.orgId}/connections/${id}`, {
      cookie: w.people.admin.cookie,
      body: { status: 'revoked' },
    });
    const reply = await test(id);
    expect(reply.json).toMatchObject({ ok: false, status: null });
    expect(reply.json.detail).toMatch(/^CONNECTION_NOT_ACTIVE/);
  });

  it('answers 409 for integrations without a probe, and 403 to members', async () => {
    const id = await connection(
      'http_api_key',
      { base_url: 'https://api.example.com', placement: 'header', target: 'X-Api-Key' },
      { api_key: 'k-123' },
    );
    const reply = await test(id);
    expect(reply.status).toBe(409);
    expect(reply.json.detail).toContain('cannot be tested');
    expect((await test(id, 'member')).status).toBe(403);
  });

  it('marks which integrations are testable in the catalog', async () => {
    const catalog = await h.call<{ items: { key: string; testable: boolean }[] }>('GET', '/integrations', {
      cookie: w.people.member.cookie,
    });
    const testable = Object.fromEntries(catalog.json.items.map((i) => [i.key, i.testable]));
    expect(testable).toMatchObject({ openai: true, github_pat: true, slack: true, http_api_key: false });
  });
});
