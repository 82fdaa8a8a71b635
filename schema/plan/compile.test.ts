import { describe, expect, it } from 'vitest';
import { VERIFIED_AGENT_VERSIONS } from './agents.ts';
import type { PlanVersion } from './check.ts';
import { compileRuntimePlan } from './compile.ts';
import { PlanCompileError } from './errors.ts';
import { findRoute } from './match.ts';
import type { PlanConnection } from './routes.ts';
import { PLACEHOLDER_SECRET, RuntimePlan } from './types.ts';

const ids = {
  org: 'org_01JD0000000000000000000000',
  profile: 'prf_01JD0000000000000000000000',
  version: 'prv_01JD0000000000000000000000',
  openai: 'con_01JD00000000000000000000OA',
  anthropic: 'con_01JD00000000000000000000AN',
  github: 'con_01JD00000000000000000000GH',
  ghe: 'con_01JD00000000000000000000GE',
  jira: 'con_01JD00000000000000000000JI',
  slack: 'con_01JD00000000000000000000SL',
  openai2: 'con_01JD00000000000000000000O2',
  plain: 'con_01JD00000000000000000000PL',
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
  {
    id: ids.ghe,
    integration: 'github_pat',
    status: 'active',
    config: { base_url: 'https://ghe.example.com' },
  },
  {
    id: ids.jira,
    integration: 'jira',
    status: 'active',
    config: { base_url: 'https://acme.atlassian.net', email: 'bot@acme.test' },
  },
  { id: ids.slack, integration: 'slack', status: 'revoked', config: {} },
  {
    id: ids.openai2,
    integration: 'openai',
    status: 'active',
    config: { base_url: 'https://r.openai.azure.com/openai' },
  },
  {
    id: ids.plain,
    integration: 'openai',
    status: 'active',
    config: { base_url: 'http://127.0.0.1:9999/openai' },
  },
];

const version = (over: Partial<PlanVersion> = {}): PlanVersion => ({
  id: ids.version,
  orgId: ids.org,
  profileId: ids.profile,
  number: 3,
  status: 'published',
  agentRuntime: 'codex',
  modelConnectionId: ids.openai,
  gitConnectionId: ids.github,
  repositories: [{ repository: 'acme/web' }, { repository: 'acme/api', ref: 'main', path: 'backend' }],
  connectorBindings: [{ connectionId: ids.jira }],
  egressAllowlist: ['packages.example.com', '*.cdn.example.net'],
  ...over,
});

function compileError(v: PlanVersion): PlanCompileError {
  try {
    compileRuntimePlan({ version: v, connections });
  } catch (error) {
    if (error instanceof PlanCompileError) return error;
    throw error;
  }
  throw new Error('expected the compile to fail');
}

describe('compileRuntimePlan', () => {
  it('compiles a codex profile with a GitHub App, repos and Jira into a valid, secret-free plan', () => {
    const plan = compileRuntimePlan({ version: version(), connections });
    expect(RuntimePlan.parse(plan)).toEqual(plan);
    expect(plan.egressRoutes.map((r) => r.id)).toEqual([
      `rt_github_app_api_${ids.github.toLowerCase()}`,
      `rt_github_app_git_${ids.github.toLowerCase()}`,
      `rt_github_app_uploads_${ids.github.toLowerCase()}`,
      `rt_jira_rest_${ids.jira.toLowerCase()}`,
      `rt_openai_api_${ids.openai.toLowerCase()}`,
    ]);
    const git = plan.egressRoutes.find((r) => r.id.startsWith('rt_github_app_git'));
    expect(git).toMatchObject({
      match: { hosts: ['github.com'] },
      inject: { kind: 'basic', target: 'authorization', username: 'x-access-token' },
      credential: { source: 'github_app', connectionId: ids.github, repositories: ['acme/api', 'acme/web'] },
    });
    const jira = plan.egressRoutes.find((r) => r.integration === 'jira');
    expect(jira).toMatchObject({
      match: { hosts: ['acme.atlassian.net'], pathPrefixes: ['/rest'] },
      upstream: { baseUrl: 'https://acme.atlassian.net' },
      inject: { kind: 'basic', username: 'bot@acme.test' },
      credential: { source: 'secret', field: 'api_token' },
    });
    expect(plan.env).toMatchObject({
      OPENAI_API_KEY: PLACEHOLDER_SECRET,
      GH_TOKEN: PLACEHOLDER_SECRET,
      JIRA_BASE_URL: 'https://acme.atlassian.net',
      CODEX_HOME: '/home/sandbox/.codex',
    });
    expect(plan.env.GH_HOST).toBeUndefined();
    expect(plan.passthrough).toEqual([
      '*.cdn.example.net',
      'codeload.github.com',
      'objects.githubusercontent.com',
      'packages.example.com',
    ]);
    expect(plan.workspace).toEqual([
      {
        repository: 'acme/api',
        cloneUrl: 'https://github.com/acme/api.git',
        ref: 'main',
        path: '/home/sandbox/workspace/backend',
      },
      {
        repository: 'acme/web',
        cloneUrl: 'https://github.com/acme/web.git',
        path: '/home/sandbox/workspace/web',
      },
    ]);
    expect(plan.agent.headless).toEqual([
      'codex',
      'exec',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
    ]);
    expect(plan.processes[0]).toMatchObject({ key: 'agent', command: ['codex'], pty: true });
  });

  it('routes to the matching route only, by host, segment-aware path and method', () => {
    const plan = compileRuntimePlan({ version: version(), connections });
    const match = (host: string, path: string, method = 'POST') =>
      findRoute(plan.egressRoutes, { host, path, method })?.integration;
    expect(match('api.openai.com', '/v1/responses')).toBe('openai');
    expect(match('api.openai.com', '/v10/x')).toBeUndefined();
    expect(match('api.openai.com:443', '/v1')).toBe('openai');
    expect(match('api.openai.com:8443', '/v1')).toBeUndefined();
    expect(match('acme.atlassian.net', '/rest/api/3/issue')).toBe('jira');
    expect(match('acme.atlassian.net', '/wiki')).toBeUndefined();
    expect(match('evil.example', '/v1')).toBeUndefined();
  });

  it('keeps api.openai.com for the sandbox and moves only the upstream when OpenAI is overridden', () => {
    const plan = compileRuntimePlan({ version: version({ modelConnectionId: ids.openai2 }), connections });
    expect(plan.egressRoutes.find((r) => r.integration === 'openai')).toMatchObject({
      match: { hosts: ['api.openai.com'], pathPrefixes: ['/v1'] },
      upstream: { baseUrl: 'https://r.openai.azure.com/openai' },
    });
  });

  it('refuses a plain http:// upstream unless plain http is allowed (env = "local")', () => {
    const error = compileError(version({ modelConnectionId: ids.plain }));
    expect(error.issues).toEqual([
      expect.objectContaining({ code: 'INSECURE_UPSTREAM', path: 'modelConnectionId' }),
    ]);
    expect(error.message).toContain('http://127.0.0.1:9999');
    const local = compileRuntimePlan({
      version: version({ modelConnectionId: ids.plain }),
      connections,
      allowPlainHttp: true,
    });
    expect(local.egressRoutes.find((r) => r.integration === 'openai')?.upstream).toEqual({
      baseUrl: 'http://127.0.0.1:9999/openai',
    });
  });

  it("never lets a binding's own config move where a connection's credential goes", () => {
    const plan = compileRuntimePlan({
      version: version({
        connectorBindings: [{ connectionId: ids.jira, config: { base_url: 'https://attacker.example' } }],
      }),
      connections,
    });
    const jira = plan.egressRoutes.filter((r) => r.integration === 'jira');
    expect(jira.map((r) => r.upstream.baseUrl)).toEqual(['https://acme.atlassian.net']);
    expect(JSON.stringify(plan)).not.toContain('attacker.example');
  });

  it('shows the GitHub Enterprise host to the sandbox when GitHub is overridden', () => {
    const plan = compileRuntimePlan({ version: version({ gitConnectionId: ids.ghe }), connections });
    const routes = plan.egressRoutes.filter((r) => r.integration === 'github_pat');
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({
      match: { hosts: ['ghe.example.com'], pathPrefixes: [] },
      upstream: { baseUrl: 'https://ghe.example.com' },
      credential: { source: 'secret', field: 'token' },
    });
    expect(plan.env.GH_HOST).toBe('ghe.example.com');
    expect(plan.workspace[0]?.cloneUrl).toBe('https://ghe.example.com/acme/api.git');
  });

  it('is deterministic whatever the order of connections and bindings', () => {
    const a = compileRuntimePlan({ version: version(), connections });
    const b = compileRuntimePlan({ version: version(), connections: [...connections].reverse() });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('rejects two connections brokering the same host with ROUTE_CONFLICT', () => {
    const error = compileError(version({ connectorBindings: [{ connectionId: ids.openai2 }] }));
    expect(error.code).toBe('ROUTE_CONFLICT');
    expect(error.issues[0]?.path).toBe('connectorBindings.0.connectionId');
  });

  it('rejects a passthrough host that a route brokers', () => {
    const error = compileError(version({ egressAllowlist: ['*.openai.com'] }));
    expect(error.issues).toEqual([
      expect.objectContaining({ code: 'PASSTHROUGH_CONFLICT', path: 'egressAllowlist.0' }),
    ]);
  });

  it('parses allowlist entries with the authority grammar: a bad entry is a path-qualified error', () => {
    const bad = [
      '127.0.0.1:9999#.pkgs.example.org',
      '*.pkgs.example.org/x',
      'user@files.example.com',
      '*.0.0.1',
      '127.1',
      '*.localhost',
      '*.a.localhost',
      '0.0.0.0',
      '[::]:80',
      '[::ffff:7f00:1]',
      'files.example.com:0',
      'Files.Example.com',
      'files.example.com.',
      'fil\u00e9s.example.com',
      '*.',
      '*',
    ];
    const error = compileError(version({ egressAllowlist: bad }));
    expect(error.issues.map((i) => [i.code, i.path])).toEqual(
      bad.map((_, i) => ['INVALID_HOST', `egressAllowlist.${i}`]),
    );
    expect(error.issues[0]?.message).toBe(
      '"127.0.0.1:9999#.pkgs.example.org" is not a host or *.suffix: "#" is not allowed in a host or port',
    );
    expect(error.issues[5]?.message).toContain('a wildcard never covers localhost names');
    expect(error.issues[11]?.message).toContain('write it as "files.example.com"');
    expect(error.issues[13]?.message).toContain('"fil\\xe9s.example.com"');
    // IP literals and localhost are allowed when named exactly (loopback stand-ins, ADR 0020).
    const plan = compileRuntimePlan({
      version: version({
        egressAllowlist: ['127.0.0.1:9000', '[::1]:8080', 'localhost:3000', '169.254.169.254'],
      }),
      connections,
    });
    expect(plan.passthrough).toEqual(
      expect.arrayContaining(['127.0.0.1:9000', '169.254.169.254', 'localhost:3000', '[::1]:8080']),
    );
  });

  it('refuses a base-URL override whose host is outside the grammar, naming the binding', () => {
    const odd: PlanConnection = {
      id: 'con_01JD00000000000000000000OD',
      integration: 'jira',
      status: 'active',
      config: { base_url: 'https://[::ffff:127.0.0.1]/jira', email: 'bot@acme.test' },
    };
    const error = (() => {
      try {
        compileRuntimePlan({
          version: version({ connectorBindings: [{ connectionId: odd.id }] }),
          connections: [...connections, odd],
        });
      } catch (e) {
        if (e instanceof PlanCompileError) return e;
        throw e;
      }
      throw new Error('expected the compile to fail');
    })();
    expect(error.issues).toEqual([
      expect.objectContaining({
        code: 'INVALID_CONNECTION_CONFIG',
        path: 'connectorBindings.0.connectionId',
      }),
    ]);
    expect(error.issues[0]?.message).toContain('IPv4-mapped');
  });

  it('names the field at fault for each profile mistake', () => {
    const codes = (v: PlanVersion) => compileError(v).issues.map((i) => [i.code, i.path]);
    expect(codes(version({ modelConnectionId: ids.anthropic }))).toEqual([
      ['RUNTIME_INCOMPATIBLE', 'modelConnectionId'],
    ]);
    expect(codes(version({ modelConnectionId: null }))).toEqual([
      ['MODEL_CONNECTION_REQUIRED', 'modelConnectionId'],
    ]);
    expect(codes(version({ gitConnectionId: null }))).toEqual([
      ['GIT_CONNECTION_REQUIRED', 'gitConnectionId'],
    ]);
    expect(codes(version({ gitConnectionId: ids.jira, connectorBindings: [] }))).toEqual([
      ['KIND_MISMATCH', 'gitConnectionId'],
    ]);
    expect(codes(version({ connectorBindings: [{ connectionId: ids.slack }] }))).toEqual([
      ['CONNECTION_NOT_ACTIVE', 'connectorBindings.0.connectionId'],
    ]);
    expect(codes(version({ connectorBindings: [{ connectionId: 'con_nope' }] }))).toEqual([
      ['CONNECTION_MISSING', 'connectorBindings.0.connectionId'],
    ]);
    expect(codes(version({ status: 'draft' }))).toEqual([['VERSION_NOT_PUBLISHED', 'status']]);
  });

  it('compiles a draft only for a setup test, to the same plan a published version would get', () => {
    const draft = compileRuntimePlan({
      version: version({ status: 'draft' }),
      connections,
      allowDraft: true,
    });
    expect(draft).toEqual(compileRuntimePlan({ version: version(), connections }));
  });

  it('starts each runtime with its own commands and placeholders', () => {
    const claude = compileRuntimePlan({
      version: version({ agentRuntime: 'claude-code', modelConnectionId: ids.anthropic }),
      connections,
    });
    expect(claude.agent).toEqual({
      runtime: 'claude-code',
      version: VERIFIED_AGENT_VERSIONS['claude-code'],
      interactive: ['claude'],
      headless: ['claude', '-p', '--dangerously-skip-permissions'],
      followUp: ['claude', '-p', '--dangerously-skip-permissions', '--continue'],
    });
    expect(claude.env.ANTHROPIC_API_KEY).toBe(PLACEHOLDER_SECRET);
    const opencode = compileRuntimePlan({
      version: version({ agentRuntime: 'opencode', modelConnectionId: ids.anthropic }),
      connections,
    });
    expect(opencode.agent.headless).toEqual(['opencode', 'run']);
  });

  it('gives codex API-key auth with the placeholder only, and trusts each cloned repository', () => {
    const plan = compileRuntimePlan({ version: version(), connections });
    const byPath = new Map(plan.files.map((f) => [f.path, f]));
    const auth = byPath.get('/home/sandbox/.codex/auth.json');
    expect(auth?.mode).toBe(0o600);
    expect(JSON.parse(auth?.content ?? '{}')).toEqual({
      auth_mode: 'apikey',
      OPENAI_API_KEY: PLACEHOLDER_SECRET,
    });
    const config = byPath.get('/home/sandbox/.codex/config.toml')?.content ?? '';
    for (const repo of plan.workspace)
      expect(config).toContain(`[projects.${JSON.stringify(repo.path)}]\ntrust_level = "trusted"`);
    expect(plan.files.every((f) => f.ifAbsent)).toBe(true);
    const claude = compileRuntimePlan({
      version: version({ agentRuntime: 'claude-code', modelConnectionId: ids.anthropic }),
      connections,
    });
    expect(claude.files.some((f) => f.path.includes('.codex'))).toBe(false);
  });
});
