import { VERIFIED_AGENT_VERSIONS } from '@airlock/schema/plan';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// The agent fields of a profile version: the CLI version (the verified one
// unless a profile pins another or opts into latest), the instructions every
// runtime reads, plain environment variables, and model connections that must
// speak the runtime's API.

const h = new Harness();
let w: World;
let anthropicId: string;
beforeAll(async () => {
  w = await createWorld(h);
  anthropicId = (
    await h.call<{ id: string }>('POST', `/orgs/${w.orgId}/connections`, {
      cookie: w.people.owner.cookie,
      body: {
        integration: 'anthropic',
        name: 'Claude',
        credentials: { api_key: h.secret('sk-ant-fields-0123456789') },
      },
    })
  ).json.id;
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

interface Version {
  id: string;
  agentRuntime: string;
  agentVersion: string;
  agentInstructions: string;
  envVars: unknown[];
}
interface Problem {
  errors: { path: string; code: string; message: string }[];
}

async function newDraft(name: string): Promise<{ base: string; draft: string }> {
  const profile = await h.call<{ id: string; draftVersionId: string }>('POST', `/orgs/${w.orgId}/profiles`, {
    cookie: w.people.member.cookie,
    body: { name },
  });
  const base = `/orgs/${w.orgId}/profiles/${profile.json.id}`;
  return { base, draft: `${base}/versions/${profile.json.draftVersionId}` };
}

describe('agent fields of a profile version', () => {
  it('records the verified CLI version, follows the runtime, keeps a pin, and freezes it on publish', async () => {
    const cookie = w.people.member.cookie;
    const { base, draft } = await newDraft('Versions');
    const created = await h.call<Version>('GET', draft, { cookie });
    expect(created.json).toMatchObject({
      agentRuntime: 'codex',
      agentVersion: VERIFIED_AGENT_VERSIONS.codex,
    });
    const claude = await h.call<Version>('PATCH', draft, {
      cookie,
      body: { agentRuntime: 'claude-code', modelConnectionId: anthropicId },
    });
    expect(claude.json.agentVersion).toBe(VERIFIED_AGENT_VERSIONS['claude-code']);
    const pinned = await h.call<Version>('PATCH', draft, { cookie, body: { agentVersion: '2.1.300' } });
    expect(pinned.json.agentVersion).toBe('2.1.300');
    const latest = await h.call<Version>('PATCH', draft, { cookie, body: { agentVersion: 'latest' } });
    expect(latest.json.agentVersion).toBe('latest');
    for (const bad of ['^2.1.0', '2.1', 'next', '2.1.0 --registry=http://evil'])
      expect((await h.call('PATCH', draft, { cookie, body: { agentVersion: bad } })).status).toBe(422);

    const published = await h.call<{ published: Version; draft: Version }>('POST', `${draft}/publish`, {
      cookie: w.people.admin.cookie,
    });
    expect(published.status, published.text).toBe(201);
    expect(published.json.published.agentVersion).toBe('latest');
    expect(published.json.draft.agentVersion).toBe('latest');
    const plan = await h.call<{ agent: { version: string } }>(
      'GET',
      `${base}/versions/${published.json.published.id}/plan`,
      { cookie },
    );
    expect(plan.json.agent.version).toBe('latest');
  });

  it('names the field and the allowed kinds when a model connection does not fit the runtime', async () => {
    const cookie = w.people.member.cookie;
    const { draft } = await newDraft('Kinds');
    const claudeWithOpenAi = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { agentRuntime: 'claude-code', modelConnectionId: w.connectionId },
    });
    expect(claudeWithOpenAi.status).toBe(422);
    expect(claudeWithOpenAi.json.errors).toEqual([
      {
        path: 'modelConnectionId',
        code: 'RUNTIME_INCOMPATIBLE',
        message: 'Claude Code needs an anthropic-compatible model connection; OpenAI is openai-compatible',
      },
    ]);
    const codexWithClaude = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { modelConnectionId: anthropicId },
    });
    expect(codexWithClaude.json.errors[0]?.message).toBe(
      'Codex needs an openai-compatible model connection; Anthropic is anthropic-compatible',
    );
    // OpenCode takes either.
    for (const model of [anthropicId, w.connectionId])
      expect(
        (
          await h.call('PATCH', draft, {
            cookie,
            body: { agentRuntime: 'opencode', modelConnectionId: model },
          })
        ).status,
      ).toBe(200);
  });

  it('writes the instructions where the runtime reads them, and takes plain variables into the plan', async () => {
    const cookie = w.people.member.cookie;
    const { base, draft } = await newDraft('Rules');
    const rules = '# House rules\nAlways run `make test` before committing.\n';
    const edited = await h.call<Version>('PATCH', draft, {
      cookie,
      body: {
        modelConnectionId: w.connectionId,
        agentInstructions: rules,
        envVars: [{ name: 'RUST_LOG', kind: 'plain', value: 'info' }],
      },
    });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.json).toMatchObject({
      agentInstructions: rules,
      envVars: [{ name: 'RUST_LOG', kind: 'plain', value: 'info' }],
    });
    const published = await h.call<{ published: Version }>('POST', `${draft}/publish`, {
      cookie: w.people.admin.cookie,
    });
    const plan = await h.call<{ env: Record<string, string>; files: { path: string; content: string }[] }>(
      'GET',
      `${base}/versions/${published.json.published.id}/plan`,
      { cookie },
    );
    expect(plan.json.env.RUST_LOG).toBe('info');
    expect(plan.json.files.find((f) => f.path === '/home/sandbox/.codex/AGENTS.md')?.content).toBe(rules);
  });

  it('refuses a plain variable that is a secret, or that takes over the way out', async () => {
    const cookie = w.people.member.cookie;
    const { draft } = await newDraft('Plain');
    const key = h.secret('sk-proj-plainEnvLeak0123456789abcdef');
    const secret = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { envVars: [{ name: 'MY_SETTING', kind: 'plain', value: key }] },
    });
    expect(secret.status).toBe(422);
    expect(secret.json.errors).toEqual([
      expect.objectContaining({ path: 'envVars.0.value', code: 'SECRET_IN_PLAIN_ENV' }),
    ]);
    const proxy = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { envVars: [{ name: 'HTTPS_PROXY', kind: 'plain', value: 'http://127.0.0.1:1' }] },
    });
    expect(proxy.json.errors).toEqual([
      expect.objectContaining({ path: 'envVars.0.name', code: 'RESERVED_ENV' }),
    ]);
  });
});
