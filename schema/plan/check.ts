import { AGENT_NAMES, type AgentRuntime, isAgentVersion } from './agents.ts';
import { quoteUntrusted } from './authority.ts';
import { CATALOG, type IntegrationDefinition, integrationByKey, RUNTIME_MODEL_APIS } from './catalog.ts';
import { isEncryptedUrl } from './destinations.ts';
import { assembleEnv, checkEnvVars, type PlanEnvVar } from './env.ts';
import type { PlanErrorCode, PlanIssue } from './errors.ts';
import { checkFields } from './fields.ts';
import { checkHostPattern, hostsOverlap, matchOverlaps } from './match.ts';
import { connectionRoutes, type PlanConnection, RouteBuildError } from './routes.ts';
import { runtimeConfig } from './runtimes/index.ts';
import type { EgressRoute } from './types.ts';

// What a profile version must satisfy, as a list of issues with the field at
// fault. The API reports them as 422 `errors` when a draft is saved or
// published; the compiler refuses to compile while any remain.

export interface PlanRepository {
  /** `owner/name`. */
  readonly repository: string;
  readonly ref?: string;
  /** Relative to the workspace root; defaults to the repository name. */
  readonly path?: string;
}

export interface PlanBinding {
  readonly connectionId: string;
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface PlanVersion {
  readonly id: string;
  readonly orgId: string;
  readonly profileId: string;
  readonly number: number;
  readonly status: 'draft' | 'published';
  readonly agentRuntime: AgentRuntime;
  readonly modelConnectionId: string | null;
  readonly gitConnectionId: string | null;
  readonly repositories: readonly PlanRepository[];
  readonly connectorBindings: readonly PlanBinding[];
  readonly egressAllowlist: readonly string[];
  /** The CLI version to install: exact or `latest`; absent or '' means the verified one. */
  readonly agentVersion?: string;
  /** Instructions for the agent (house rules), written where each runtime reads them. */
  readonly agentInstructions?: string;
  /** The profile's own environment variables (ADR 0152). */
  readonly envVars?: readonly PlanEnvVar[];
  /** Stop the session when the gateway blocks a credential leak (default false). */
  readonly stopSessionOnLeak?: boolean;
}

export interface BoundConnection {
  readonly path: string;
  readonly connection: PlanConnection;
  readonly def: IntegrationDefinition;
  readonly role: 'model' | 'git' | 'connector';
}

export interface CheckResult {
  readonly issues: PlanIssue[];
  /** Connections in use, one entry per (field, connection); resolvable ones only. */
  readonly bound: BoundConnection[];
  readonly routes: EgressRoute[];
}

const issue = (code: PlanErrorCode, path: string, message: string): PlanIssue => ({ code, path, message });

export interface CheckOptions {
  /** Require what publishing needs (a model connection), not just consistency. */
  readonly completeness: boolean;
  readonly catalog?: readonly IntegrationDefinition[];
  /** Let routes forward over plain http:// or ws:// (only a `local` deployment does, ADR 0120). */
  readonly allowPlainHttp?: boolean;
}

export function checkVersion(
  version: PlanVersion,
  connections: readonly PlanConnection[],
  options: CheckOptions = { completeness: true },
): CheckResult {
  const catalog = options.catalog ?? CATALOG;
  const find = (key: string) =>
    catalog === CATALOG ? integrationByKey(key) : catalog.find((d) => d.key === key);
  const byId = new Map(connections.map((c) => [c.id, c]));
  const issues: PlanIssue[] = [];
  const bound: BoundConnection[] = [];

  const bind = (path: string, id: string, role: BoundConnection['role']): BoundConnection | undefined => {
    const connection = byId.get(id);
    if (connection === undefined) {
      issues.push(issue('CONNECTION_MISSING', path, `connection ${id} does not exist in this org`));
      return undefined;
    }
    if (connection.status !== 'active') {
      issues.push(
        issue('CONNECTION_NOT_ACTIVE', path, `connection ${id} is ${connection.status}, not active`),
      );
      return undefined;
    }
    const def = find(connection.integration);
    if (def === undefined) {
      issues.push(
        issue(
          'UNKNOWN_INTEGRATION',
          path,
          `connection ${id} uses unknown integration "${connection.integration}"`,
        ),
      );
      return undefined;
    }
    // A sandbox provider's account key is the control plane's: it is never bound into a plan,
    // so neither its credential nor a route to use it can reach a sandbox (ADR 0163).
    if (def.kind === 'sandbox_provider') {
      issues.push(
        issue(
          'KIND_MISMATCH',
          path,
          `${def.displayName} is a sandbox provider; choose it as the profile's provider connection, not here`,
        ),
      );
      return undefined;
    }
    const configIssues = checkFields(def.configFields, connection.config);
    if (configIssues.length > 0) {
      const first = configIssues[0];
      issues.push(
        issue('INVALID_CONNECTION_CONFIG', path, `connection ${id}: ${first?.field}: ${first?.message}`),
      );
      return undefined;
    }
    const entry = { path, connection, def, role };
    bound.push(entry);
    return entry;
  };

  // Model connection: present for publishing, and a model API this runtime speaks (the catalog's
  // RUNTIME_MODEL_APIS: Codex OpenAI-compatible, Claude Code Anthropic, OpenCode either).
  const runtimeName = AGENT_NAMES[version.agentRuntime];
  const apis = RUNTIME_MODEL_APIS[version.agentRuntime];
  const allowed = apis.map((api) => `${api}-compatible`).join(' or ');
  if (version.modelConnectionId !== null) {
    const model = bind('modelConnectionId', version.modelConnectionId, 'model');
    if (model !== undefined) {
      if (model.def.kind !== 'model' || model.def.modelApi === undefined)
        issues.push(
          issue(
            'KIND_MISMATCH',
            'modelConnectionId',
            `${model.def.displayName} is not a model provider; ${runtimeName} needs an ${allowed} model connection`,
          ),
        );
      else if (!apis.includes(model.def.modelApi))
        issues.push(
          issue(
            'RUNTIME_INCOMPATIBLE',
            'modelConnectionId',
            `${runtimeName} needs an ${allowed} model connection; ${model.def.displayName} is ${model.def.modelApi}-compatible`,
          ),
        );
    }
  } else if (options.completeness) {
    issues.push(
      issue(
        'MODEL_CONNECTION_REQUIRED',
        'modelConnectionId',
        `${runtimeName} needs an ${allowed} model connection`,
      ),
    );
  }

  if (
    version.agentVersion !== undefined &&
    version.agentVersion !== '' &&
    !isAgentVersion(version.agentVersion)
  )
    issues.push(
      issue(
        'INVALID_AGENT_VERSION',
        'agentVersion',
        `"${version.agentVersion.slice(0, 40)}" is not an exact version (e.g. 1.2.3) or "latest"`,
      ),
    );
  issues.push(...checkEnvVars(version.envVars ?? []));

  if (version.gitConnectionId !== null) {
    const git = bind('gitConnectionId', version.gitConnectionId, 'git');
    if (git !== undefined && git.def.kind !== 'git')
      issues.push(issue('KIND_MISMATCH', 'gitConnectionId', `${git.def.displayName} is not a git provider`));
  } else if (version.repositories.length > 0) {
    issues.push(
      issue(
        'GIT_CONNECTION_REQUIRED',
        'gitConnectionId',
        'repositories are listed but no git connection is chosen',
      ),
    );
  }

  const seen = new Set([version.modelConnectionId, version.gitConnectionId].filter((x) => x !== null));
  version.connectorBindings.forEach((binding, i) => {
    const path = `connectorBindings.${i}.connectionId`;
    if (seen.has(binding.connectionId)) {
      issues.push(issue('DUPLICATE_BINDING', path, `connection ${binding.connectionId} is already bound`));
      return;
    }
    seen.add(binding.connectionId);
    bind(path, binding.connectionId, 'connector');
  });

  const paths = new Map<string, number>();
  version.repositories.forEach((repo, i) => {
    const path = repo.path ?? repo.repository.split('/')[1] ?? repo.repository;
    const other = paths.get(path);
    if (other !== undefined)
      issues.push(
        issue(
          'WORKSPACE_CONFLICT',
          `repositories.${i}.path`,
          `workspace path "${path}" is used by repositories.${other}`,
        ),
      );
    else paths.set(path, i);
  });

  // Routes of every bound connection, then pairwise overlap.
  const routes: EgressRoute[] = [];
  const routeOwner = new Map<string, number>();
  for (const [index, entry] of bound.entries()) {
    try {
      const repos = entry.role === 'git' ? version.repositories.map((r) => r.repository) : undefined;
      const built = connectionRoutes(entry.def, entry.connection, repos);
      const plain = built.find((r) => !isEncryptedUrl(r.upstream.baseUrl));
      if (plain !== undefined && options.allowPlainHttp !== true) {
        issues.push(
          issue(
            'INSECURE_UPSTREAM',
            entry.path,
            `connection ${entry.connection.id} would send its credential unencrypted to ${new URL(plain.upstream.baseUrl).origin}; its base URL must be https:// unless the deployment's env is "local"`,
          ),
        );
        continue;
      }
      for (const route of built) {
        routes.push(route);
        routeOwner.set(route.id, index);
      }
    } catch (error) {
      if (!(error instanceof RouteBuildError)) throw error;
      issues.push(issue('INVALID_CONNECTION_CONFIG', entry.path, error.message));
    }
  }
  routes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 0; i < routes.length; i++)
    for (let j = i + 1; j < routes.length; j++) {
      const a = routes[i];
      const b = routes[j];
      if (a === undefined || b === undefined) continue;
      if (!matchOverlaps(a.match, b.match)) continue;
      // Blame the binding listed later in the version: the earlier one was there first.
      const [first, second] = (routeOwner.get(a.id) ?? 0) <= (routeOwner.get(b.id) ?? 0) ? [a, b] : [b, a];
      issues.push(
        issue(
          'ROUTE_CONFLICT',
          bound[routeOwner.get(second.id) ?? 0]?.path ?? '',
          `route ${second.id} (${second.match.hosts.join(', ')}) overlaps route ${first.id}: two connections broker the same requests`,
        ),
      );
    }

  version.egressAllowlist.forEach((host, i) => {
    const path = `egressAllowlist.${i}`;
    const checked = checkHostPattern(host);
    if (!checked.ok) {
      issues.push(
        issue('INVALID_HOST', path, `${quoteUntrusted(host)} is not a host or *.suffix: ${checked.message}`),
      );
      return;
    }
    const clash = routes.find((r) => r.match.hosts.some((h) => hostsOverlap(h, host)));
    if (clash !== undefined)
      issues.push(
        issue(
          'PASSTHROUGH_CONFLICT',
          path,
          `"${host}" is brokered by route ${clash.id}; passthrough would bypass its credential`,
        ),
      );
  });

  // The environment as the compiler will assemble it: a profile variable may not shadow a
  // connection's placeholder or the runtime's own settings.
  const model = bound.find((b) => b.role === 'model');
  const runtime = runtimeConfig(version.agentRuntime, {
    trustedPaths: [],
    modelApi: model?.def.modelApi ?? null,
    instructions: '',
    reaches: () => false,
  });
  issues.push(
    ...assembleEnv({
      connections: bound,
      runtime: { name: runtimeName, env: runtime.env },
      vars: version.envVars ?? [],
    }).issues.filter((i) => i.path.startsWith('envVars.')),
  );

  return { issues, bound, routes };
}
