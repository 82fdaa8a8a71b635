import { describe, expect, it } from 'vitest';
import { VERIFIED_AGENT_VERSIONS } from '../agents.ts';
import type { PlanVersion } from '../check.ts';
import { compileRuntimePlan } from '../compile.ts';
import { findRoute } from '../match.ts';
import type { PlanConnection } from '../routes.ts';
import { PLACEHOLDER_SECRET, type RuntimePlan } from '../types.ts';
import { toToml } from './toml.ts';

// What each runtime's config writer puts in the plan: the files that start it
// at its prompt against the brokered provider, the settings that keep it
// quiet, the house rules, and the pinned CLI version.

const ids = {
  org: 'org_01JD0000000000000000000000',
  profile: 'prf_01JD0000000000000000000000',
  version: 'prv_01JD0000000000000000000000',
  openai: 'con_01JD00000000000000000000OA',
  anthropic: 'con_01JD00000000000000000000AN',
  github: 'con_01JD00000000000000000000GH',
};

const connections: PlanConnection[] = [
  { id: ids.openai, integration: 'openai', status: 'active', config: {} },
  { id: ids.anthropic, integration: 'anthropic', status: 'active', config: {} },
  {
    id: ids.github,
    integration: 'github_app',
    status: 'active',
    config: { app_id: '1', installation_id: '2' },
  },
];

const compile = (over: Partial<PlanVersion>): RuntimePlan =>
  compileRuntimePlan({
    version: {
      id: ids.version,
      orgId: ids.org,
      profileId: ids.profile,
      number: 1,
      status: 'published',
      agentRuntime: 'codex',
      modelConnectionId: ids.openai,
      gitConnectionId: ids.github,
      repositories: [{ repository: 'acme/web' }],
      connectorBindings: [],
      egressAllowlist: [],
      ...over,
    },
    connections,
  });

const file = (plan: RuntimePlan, path: string) => plan.files.find((f) => f.path === path)?.content;

describe('runtime config writers', () => {
  it('points Codex at the brokered provider and turns off every call the profile did not ask for', () => {
    const plan = compile({});
    const config = file(plan, '/home/sandbox/.codex/config.toml') ?? '';
    expect(config).toContain('model_provider = "airlock"');
    expect(config).toContain('[model_providers.airlock]\n');
    expect(config).toContain('base_url = "https://api.openai.com/v1"');
    expect(config).toContain('env_key = "OPENAI_API_KEY"');
    expect(config).toContain('check_for_update_on_startup = false');
    expect(config).toContain('[features]\nplugins = false\napps = false');
    expect(config).toContain('metrics_exporter = "none"');
    expect(config).toContain('[projects."/home/sandbox/workspace/web"]\ntrust_level = "trusted"');
    // The provider's base URL is a brokered host, so the model list comes through the gateway.
    expect(
      findRoute(plan.egressRoutes, { host: 'api.openai.com', path: '/v1/models', method: 'GET' }),
    ).toBeDefined();
    // The announcement fetch has no setting: it is kept inside the sandbox for the agent only.
    expect(plan.processes[0]?.env.NO_PROXY).toBe('localhost,127.0.0.1,::1,raw.githubusercontent.com');
    expect(plan.env.NO_PROXY).toBeUndefined();
  });

  it('lets Codex fetch its announcement when the profile lets that host through', () => {
    const plan = compile({ egressAllowlist: ['raw.githubusercontent.com'] });
    expect(plan.processes[0]?.env).toEqual({});
  });

  it('starts Claude Code at its prompt: onboarding done, the placeholder approved, the workspace trusted', () => {
    const plan = compile({ agentRuntime: 'claude-code', modelConnectionId: ids.anthropic });
    const state = JSON.parse(file(plan, '/home/sandbox/.claude.json') ?? '{}');
    expect(state).toMatchObject({
      hasCompletedOnboarding: true,
      theme: 'dark',
      customApiKeyResponses: { approved: [PLACEHOLDER_SECRET.slice(-20)], rejected: [] },
    });
    expect(Object.keys(state.projects)).toEqual(['/home/sandbox/workspace', '/home/sandbox/workspace/web']);
    expect(plan.env).toMatchObject({
      ANTHROPIC_API_KEY: PLACEHOLDER_SECRET,
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
    });
    // Managed settings and policy limits go to the brokered provider with the real key.
    const settings = { host: 'api.anthropic.com', path: '/api/claude_code/settings', method: 'GET' };
    expect(findRoute(plan.egressRoutes, settings)?.integration).toBe('anthropic');
    expect(findRoute(plan.egressRoutes, { ...settings, path: '/api/other' })).toBeUndefined();
  });

  it('points OpenCode at the bound provider only, and keeps it from fetching catalogues and plugins', () => {
    for (const [model, provider] of [
      [ids.anthropic, 'anthropic'],
      [ids.openai, 'openai'],
    ] as const) {
      const plan = compile({ agentRuntime: 'opencode', modelConnectionId: model });
      const config = JSON.parse(file(plan, '/home/sandbox/.config/opencode/opencode.json') ?? '{}');
      expect(config).toMatchObject({ autoupdate: false, share: 'disabled', enabled_providers: [provider] });
      expect(plan.env).toMatchObject({
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
      });
    }
  });

  it('writes the same house rules where each runtime reads them, and nothing when there are none', () => {
    const rules = '# House rules\nRun the tests before every commit.\n';
    const where = {
      codex: '/home/sandbox/.codex/AGENTS.md',
      'claude-code': '/home/sandbox/.claude/CLAUDE.md',
      opencode: '/home/sandbox/.config/opencode/AGENTS.md',
    } as const;
    for (const runtime of ['codex', 'claude-code', 'opencode'] as const) {
      const model = runtime === 'codex' ? ids.openai : ids.anthropic;
      const plan = compile({ agentRuntime: runtime, modelConnectionId: model, agentInstructions: rules });
      expect(file(plan, where[runtime])).toBe(rules);
      const bare = compile({ agentRuntime: runtime, modelConnectionId: model });
      expect(bare.files.some((f) => /AGENTS\.md|CLAUDE\.md/.test(f.path))).toBe(false);
    }
  });

  it('records the CLI version: the verified one by default, the profile’s own, or latest', () => {
    expect(compile({}).agent.version).toBe(VERIFIED_AGENT_VERSIONS.codex);
    expect(compile({ agentVersion: '' }).agent.version).toBe(VERIFIED_AGENT_VERSIONS.codex);
    expect(compile({ agentVersion: '0.171.0' }).agent.version).toBe('0.171.0');
    expect(compile({ agentVersion: 'latest' }).agent.version).toBe('latest');
  });
});

describe('toToml', () => {
  it('writes root keys before tables, quotes keys that need it, and escapes strings', () => {
    expect(
      toToml({
        b: { x: 1, 'a b': { y: true } },
        a: 'say "hi"\n',
        c: { only: { deep: 'v' } },
      }),
    ).toBe('a = "say \\"hi\\"\\n"\n\n[b]\nx = 1\n\n[b."a b"]\ny = true\n\n[c.only]\ndeep = "v"\n');
  });
});
