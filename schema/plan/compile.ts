import { AGENT_NAMES, AGENTS, agentVersionOf, WORKSPACE_ROOT } from './agents.ts';
import { CATALOG, type IntegrationDefinition } from './catalog.ts';
import { type BoundConnection, checkVersion, type PlanVersion } from './check.ts';
import { assembleEnv } from './env.ts';
import { PlanCompileError, type PlanIssue } from './errors.ts';
import { hostMatches, hostsOverlap } from './match.ts';
import { type PlanConnection, serviceAddress } from './routes.ts';
import { runtimeConfig } from './runtimes/index.ts';
import type { RuntimePlan, WorkspaceRepo } from './types.ts';

// The runtime plan compiler: a pure, deterministic function from a published
// profile version and the connections it names (non-secret fields only) to
// the plan a session's gateway enforces. Same input, same bytes out: every
// list is sorted and every id derives from the input. Anything ambiguous
// (overlapping routes, a brokered host also listed as passthrough, two
// values for one env var) is an error, never a silent precedence.

export interface CompileInput {
  readonly version: PlanVersion;
  readonly connections: readonly PlanConnection[];
  readonly catalog?: readonly IntegrationDefinition[];
  /** A setup test runs a draft once in a throwaway sandbox; sessions only ever run published versions. */
  readonly allowDraft?: boolean;
  /** Routes may forward over plain http:// (a `local` deployment's stand-ins only, ADR 0120). */
  readonly allowPlainHttp?: boolean;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function fail(issues: readonly PlanIssue[]): never {
  const [first, ...rest] = issues;
  if (first === undefined) throw new Error('fail() needs at least one issue');
  throw new PlanCompileError([first, ...rest]);
}

function workspace(version: PlanVersion, git: BoundConnection | undefined): WorkspaceRepo[] {
  if (git === undefined) return [];
  const address = serviceAddress(git.def, git.connection);
  const base = address?.url ?? git.def.cloneUrl?.base;
  if (base === undefined) return [];
  return version.repositories
    .map((repo) => ({
      repository: repo.repository,
      cloneUrl: `${base}/${repo.repository}.git`,
      ...(repo.ref === undefined ? {} : { ref: repo.ref }),
      path: `${WORKSPACE_ROOT}/${repo.path ?? repo.repository.split('/')[1] ?? repo.repository}`,
    }))
    .sort((a, b) => byString(a.path, b.path));
}

export function compileRuntimePlan(input: CompileInput): RuntimePlan {
  const { version } = input;
  if (version.status !== 'published' && input.allowDraft !== true)
    fail([
      {
        code: 'VERSION_NOT_PUBLISHED',
        path: 'status',
        message: `version ${version.id} is a draft; only published versions compile`,
      },
    ]);
  const checked = checkVersion(version, input.connections, {
    completeness: true,
    catalog: input.catalog ?? CATALOG,
    allowPlainHttp: input.allowPlainHttp === true,
  });
  if (checked.issues.length > 0) fail(checked.issues);
  const bound = [...checked.bound].sort((a, b) => byString(a.connection.id, b.connection.id));
  const routes = checked.routes;
  const issues: PlanIssue[] = [];

  // Passthrough: the profile's allowlist plus what bound integrations need.
  const passthrough = new Set(version.egressAllowlist.map((h) => h.toLowerCase()));
  for (const entry of bound)
    for (const host of entry.def.passthrough) {
      const clash = routes.find((r) => r.match.hosts.some((h) => hostsOverlap(h, host)));
      if (clash === undefined) passthrough.add(host);
      else
        issues.push({
          code: 'PASSTHROUGH_CONFLICT',
          path: entry.path,
          message: `${entry.def.displayName} needs "${host}" unauthenticated, but route ${clash.id} brokers it`,
        });
    }

  if (issues.length > 0) fail(issues);

  const repos = workspace(
    version,
    bound.find((b) => b.role === 'git'),
  );
  const reachable = [...passthrough, ...routes.flatMap((r) => r.match.hosts)];
  const runtime = runtimeConfig(version.agentRuntime, {
    trustedPaths: [WORKSPACE_ROOT, ...repos.map((r) => r.path)],
    modelApi: bound.find((b) => b.role === 'model')?.def.modelApi ?? null,
    instructions: version.agentInstructions ?? '',
    reaches: (host) => reachable.some((pattern) => hostMatches(pattern, host)),
  });

  // Environment: integration placeholders, the runtime's own settings, the profile's plain variables.
  const vars = version.envVars ?? [];
  const assembled = assembleEnv({
    connections: bound,
    runtime: { name: AGENT_NAMES[version.agentRuntime], env: runtime.env },
    vars,
  });
  if (assembled.issues.length > 0) fail(assembled.issues);
  const env = assembled.env;
  const secretsInSandbox = vars
    .flatMap((v) => (v.kind === 'secret_in_sandbox' ? [{ name: v.name, secretId: v.secretId }] : []))
    .sort((a, b) => byString(a.name, b.name));

  const agent = AGENTS[version.agentRuntime];
  const sortedEnv = Object.fromEntries(Object.entries(env).sort(([a], [b]) => byString(a, b)));
  const agentEnv = Object.fromEntries(Object.entries(runtime.agentEnv).sort(([a], [b]) => byString(a, b)));
  return {
    schemaVersion: 1,
    orgId: version.orgId,
    profileId: version.profileId,
    profileVersionId: version.id,
    versionNumber: version.number,
    egressRoutes: routes,
    passthrough: [...passthrough].sort(byString),
    files: [...runtime.files].sort((a, b) => byString(a.path, b.path)),
    processes: [
      {
        key: 'agent',
        command: [...agent.interactive],
        env: agentEnv,
        cwd: repos.length === 1 && repos[0] !== undefined ? repos[0].path : WORKSPACE_ROOT,
        pty: true,
        readiness: { kind: 'none' },
      },
    ],
    workspace: repos,
    env: sortedEnv,
    agent: {
      runtime: agent.runtime,
      version: agentVersionOf(version.agentRuntime, version.agentVersion),
      interactive: [...agent.interactive],
      headless: [...agent.headless],
      ...(agent.followUp === undefined ? {} : { followUp: [...agent.followUp] }),
    },
    ...(secretsInSandbox.length === 0 ? {} : { secretsInSandbox }),
    stopSessionOnLeak: version.stopSessionOnLeak === true,
  };
}
