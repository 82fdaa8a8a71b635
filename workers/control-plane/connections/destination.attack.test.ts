import { connections } from '@airlock/schema/db';
import { CATALOG, checkFields } from '@airlock/schema/plan';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Harness } from '../testing/harness.ts';
import type { AttackerSighting } from '../testing/standins-setup.ts';
import { createWorld, type World } from '../testing/world.ts';

// Attack: point an existing secret at a host the attacker controls by editing
// where a connection sends it (ADR 0120). A member cannot edit connections at
// all; an owner or admin may move a connection only by re-entering its
// credentials in the same request, so a stolen admin session or token cannot
// ship the stored secret anywhere new. The attacker's stand-in records every
// credential header it receives: the stored key must never be among them.

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

interface Problem {
  code: string;
  detail: string;
  permission?: string;
  errors?: { path: string; code: string; message: string }[];
}

/** Where each integration's credential is sent, by config field. Written out, not read from the catalog. */
const DESTINATIONS: Record<string, readonly string[]> = {
  github_app: ['base_url'],
  github_pat: ['base_url'],
  openai: ['base_url'],
  anthropic: ['base_url'],
  slack: ['base_url'],
  jira: ['base_url'],
  signoz: ['base_url'],
  http_api_key: ['base_url'],
};

const PEM = `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(80)}\n-----END PRIVATE KEY-----\n`;
const SAMPLES: Record<string, { config: Record<string, string>; credentials: Record<string, string> }> = {
  github_app: { config: { app_id: '1', installation_id: '2' }, credentials: { private_key: PEM } },
  github_pat: { config: {}, credentials: { token: `ghp_${'a'.repeat(36)}` } },
  openai: { config: {}, credentials: { api_key: 'sk-sample-openai-0000' } },
  anthropic: { config: {}, credentials: { api_key: 'sk-ant-sample-0000' } },
  slack: { config: {}, credentials: { bot_token: 'xoxb-1-sample' } },
  jira: {
    config: { base_url: 'https://acme.atlassian.net', email: 'bot@acme.test' },
    credentials: { api_token: 'jira-sample-0000' },
  },
  signoz: {
    config: { base_url: 'https://acme.signoz.example' },
    credentials: { api_key: 'signoz-sample-0000' },
  },
  http_api_key: {
    config: { base_url: 'https://api.example.com', placement: 'header', target: 'X-Api-Key' },
    credentials: { api_key: 'http-sample-0000' },
  },
};

const seen = async () => (await (await fetch(`${standIn.attackerUrl}/__seen`)).json()) as AttackerSighting[];

async function create(
  integration: string,
  config: Record<string, string>,
  credentials: Record<string, string>,
) {
  const reply = await h.call<{ id: string }>('POST', `/orgs/${w.orgId}/connections`, {
    cookie: w.people.admin.cookie,
    body: { integration, name: `${integration} ${crypto.randomUUID().slice(0, 8)}`, config, credentials },
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json.id;
}

const patch = (id: string, body: unknown, who: { cookie?: string; token?: string }) =>
  h.call<Problem & { config: Record<string, string> }>('PATCH', `/orgs/${w.orgId}/connections/${id}`, {
    ...who,
    body,
  });

const storedConfig = async (id: string) =>
  (await h.db().select().from(connections).where(eq(connections.id, id)))[0]?.config;

describe('moving a connection to another host', () => {
  it('knows every config field that decides where a credential goes', () => {
    expect(Object.keys(DESTINATIONS).sort()).toEqual(CATALOG.map((d) => d.key).sort());
    for (const def of CATALOG) {
      // Any setting that accepts a URL can send the credential somewhere: it must be listed.
      const urlFields = def.configFields
        .filter((f) => checkFields([f], { [f.name]: 'https://attacker.example' }).length === 0)
        .map((f) => f.name);
      expect(urlFields, def.key).toEqual(DESTINATIONS[def.key]);
      for (const f of def.configFields)
        expect(f.destination === true, `${def.key}.${f.name}`).toBe(DESTINATIONS[def.key]?.includes(f.name));
    }
  });

  it.each(CATALOG.map((d) => d.key))(
    '%s: a member gets 403 and an admin or owner without the credentials 422, naming the field',
    async (key) => {
      const sample = SAMPLES[key];
      if (sample === undefined) throw new Error(`no sample for ${key}`);
      const id = await create(key, sample.config, sample.credentials);
      for (const field of DESTINATIONS[key] ?? []) {
        const moved = { ...sample.config, [field]: `${standIn.attackerUrl}/steal` };
        const member = await patch(id, { config: moved }, { cookie: w.people.member.cookie });
        expect(member.status, member.text).toBe(403);
        expect(member.headers.get('content-type')).toBe('application/problem+json');
        expect(member.json).toMatchObject({ code: 'forbidden', permission: 'connections.manage' });
        for (const who of [{ cookie: w.people.admin.cookie }, { token: w.people.owner.token }]) {
          const refused = await patch(id, { config: moved, name: `renamed ${key}` }, who);
          expect(refused.status, refused.text).toBe(422);
          expect(refused.headers.get('content-type')).toBe('application/problem+json');
          expect(refused.json.errors).toContainEqual(
            expect.objectContaining({ path: `config.${field}`, code: 'credentials_required' }),
          );
          expect(refused.json.detail).toContain('re-enter');
          // Each credential field the form must ask for again is named too.
          for (const name of Object.keys(sample.credentials))
            expect(refused.json.errors).toContainEqual(
              expect.objectContaining({ path: `credentials.${name}`, code: 'credentials_required' }),
            );
        }
        expect(await storedConfig(id)).toEqual(sample.config);
      }
    },
  );

  it('never sends the stored key to the new host; re-entering a credential moves only that one', async () => {
    const id = await create('openai', { base_url: standIn.openaiUrl }, { api_key: standIn.openaiKey });
    const attacker = `${standIn.attackerUrl}/openai-${crypto.randomUUID().slice(0, 8)}`;
    const dropped = await patch(id, { config: {} }, { cookie: w.people.admin.cookie });
    expect(dropped.status, dropped.text).toBe(422);
    expect(
      (await patch(id, { config: { base_url: attacker } }, { cookie: w.people.admin.cookie })).status,
    ).toBe(422);
    // Edits that keep the destination need no credentials.
    const renamed = await patch(
      id,
      { name: `kept ${crypto.randomUUID().slice(0, 6)}`, config: { base_url: standIn.openaiUrl } },
      { cookie: w.people.admin.cookie },
    );
    expect(renamed.status, renamed.text).toBe(200);

    const probe = await h.call<{ ok: boolean; request: string }>(
      'POST',
      `/orgs/${w.orgId}/connections/${id}/test`,
      { cookie: w.people.admin.cookie },
    );
    expect(probe.json).toMatchObject({ ok: true, request: `GET ${standIn.openaiUrl}/v1/models` });

    const own = h.secret(`sk-attacker-own-${crypto.randomUUID()}`);
    const moved = await patch(
      id,
      { config: { base_url: attacker }, credentials: { api_key: own } },
      { cookie: w.people.admin.cookie },
    );
    expect(moved.status, moved.text).toBe(200);
    const again = await h.call<{ request: string }>('POST', `/orgs/${w.orgId}/connections/${id}/test`, {
      cookie: w.people.admin.cookie,
    });
    expect(again.json.request).toBe(`GET ${attacker}/v1/models`);
    const sightings = await seen();
    expect(sightings.some((s) => s.authorization === `Bearer ${own}`)).toBe(true);
    expect(JSON.stringify(sightings)).not.toContain(standIn.openaiKey);

    const audit = await h.call<{ items: { action: string; detail: Record<string, unknown> }[] }>(
      'GET',
      `/orgs/${w.orgId}/audit?connectionId=${id}&action=connection.credentials_replaced`,
      { cookie: w.people.owner.cookie },
    );
    expect(audit.json.items[0]?.detail).toMatchObject({ destinationChanged: ['base_url'] });
  });

  it('lets a non-destination setting change without the credentials', async () => {
    const sample = SAMPLES.jira;
    if (sample === undefined) throw new Error('no jira sample');
    const id = await create('jira', sample.config, sample.credentials);
    const reply = await patch(
      id,
      { config: { ...sample.config, email: 'other@acme.test' } },
      { cookie: w.people.admin.cookie },
    );
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.config).toMatchObject({ email: 'other@acme.test', base_url: sample.config.base_url });
  });
});
