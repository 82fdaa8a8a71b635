import { AGENT_ENV, AGENTS, agentFiles, WORKSPACE_ROOT } from './agents.ts';
import { CATALOG, type IntegrationDefinition } from './catalog.ts';
import { type BoundConnection, checkVersion, type PlanVersion } from './check.ts';
import { PlanCompileError, type PlanIssue } from './errors.ts';
import { hostsOverlap } from './match.ts';
import { connectionEnv, type PlanConnection, serviceAddress } from './routes.ts';
import { PLACEHOLDER_SECRET, type RuntimePlan, type WorkspaceRepo } from './types.ts';

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

  // Environment: integration placeholders, then the runtime's own settings.
  const env: Record<string, string> = {};
  const envOwner = new Map<string, string>();
  const setEnv = (name: string, value: string, owner: string, path: string) => {
    const existing = env[name];
    if (existing !== undefined && existing !== value) {
      issues.push({
        code: 'ENV_CONFLICT',
        path,
        message: `${owner} sets ${name}, which ${envOwner.get(name) ?? 'another binding'} sets to a different value`,
      });
      return;
    }
    env[name] = value;
    envOwner.set(name, owner);
  };
  for (const entry of bound)
    for (const [name, value] of Object.entries(
      connectionEnv(entry.def, entry.connection, PLACEHOLDER_SECRET),
    ))
      setEnv(name, value, `connection ${entry.connection.id}`, entry.path);
  for (const [name, value] of Object.entries(AGENT_ENV[version.agentRuntime]))
    setEnv(name, value, version.agentRuntime, 'agentRuntime');
  if (issues.length > 0) fail(issues);

  const repos = workspace(
    version,
    bound.find((b) => b.role === 'git'),
  );
  const agent = AGENTS[version.agentRuntime];
  const sortedEnv = Object.fromEntries(Object.entries(env).sort(([a], [b]) => byString(a, b)));
  return {
    schemaVersion: 1,
    orgId: version.orgId,
    profileId: version.profileId,
    profileVersionId: version.id,
    versionNumber: version.number,
    egressRoutes: routes,
    passthrough: [...passthrough].sort(byString),
    files: agentFiles(
      version.agentRuntime,
      repos.map((r) => r.path),
    ),
    processes: [
      {
        key: 'agent',
        command: [...agent.interactive],
        env: {},
        cwd: repos.length === 1 && repos[0] !== undefined ? repos[0].path : WORKSPACE_ROOT,
        pty: true,
        readiness: { kind: 'none' },
      },
    ],
    workspace: repos,
    env: sortedEnv,
    agent: {
      runtime: agent.runtime,
      interactive: [...agent.interactive],
      headless: [...agent.headless],
      ...(agent.followUp === undefined ? {} : { followUp: [...agent.followUp] }),
    },
    stopSessionOnLeak: version.stopSessionOnLeak === true,
  };
}
