import { z } from 'zod';
import { checkHostPattern } from './match.ts';

// The runtime plan: pure data compiled from (published profile version,
// connections) and handed to the session's gateway. It holds connection ids,
// never secret material. Everything a sandbox may reach is listed here;
// anything else is denied.

/**
 * `api.openai.com`, `127.0.0.1:9000`, or `*.githubusercontent.com` (any subdomain, not the apex):
 * the authority grammar of ADR 0105 in canonical form (match.ts `checkHostPattern`).
 */
export const HostPattern = z
  .string()
  .max(300)
  .superRefine((value, ctx) => {
    const checked = checkHostPattern(value);
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: `not a host pattern: ${checked.message}` });
  });

/** Segment-aware prefix: `/v1` matches `/v1` and `/v1/...`, not `/v10`. `/` matches everything. */
export const PathPrefix = z
  .string()
  .regex(/^\/[^?#\s]*$/, 'a path starting with / (no query)')
  .refine((p) => p === '/' || !p.endsWith('/'), 'no trailing slash except the root');

export const HttpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Where the credential goes on the wire. */
export const InjectKind = z.enum(['header', 'bearer', 'basic', 'query']);
/** How the credential is obtained: a stored secret, a minted GitHub App installation token, or an OAuth2 access token. */
export const CredentialSource = z.enum(['secret', 'github_app', 'oauth2']);

export const EgressRoute = z.strictObject({
  id: z.string().regex(/^rt_[a-z0-9_]+$/),
  match: z.strictObject({
    hosts: z.array(HostPattern).min(1),
    /** Empty means every path. */
    pathPrefixes: z.array(PathPrefix),
    /** Empty means every method. */
    methods: z.array(HttpMethod),
  }),
  /** The request goes here, whatever Host or SNI the sandbox sent (host pinning). */
  upstream: z.strictObject({ baseUrl: z.url({ protocol: /^(https?|wss?)$/ }) }),
  inject: z.strictObject({
    kind: InjectKind,
    /** Header name (header, bearer, basic) or query parameter name (query). */
    target: z.string().min(1),
    /** basic: the user name; the credential is the password (e.g. `x-access-token` for GitHub). */
    username: z.string().optional(),
    /** bearer: the scheme word, `Bearer` unless an API wants e.g. `token`. */
    scheme: z.string().optional(),
  }),
  credential: z.strictObject({
    source: CredentialSource,
    connectionId: z.string().regex(/^con_/),
    /** For `secret`: which credential field (e.g. `api_key`). */
    field: z.string().optional(),
    /** For `github_app`: repositories the minted token is scoped to. */
    repositories: z.array(z.string()).optional(),
  }),
  /** Catalog key of the integration the route comes from, for audit and deny messages. */
  integration: z.string().min(1),
});

export const PlanFile = z.strictObject({
  path: z.string().regex(/^\//, 'an absolute path'),
  mode: z.number().int().min(0).max(0o7777),
  content: z.string(),
  /** Never overwrite a file the user has changed (e.g. agent config after first start). */
  ifAbsent: z.boolean(),
});

export const Readiness = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({
    kind: z.literal('tcp'),
    port: z.number().int().min(1).max(65535),
    timeoutMs: z.number().int().positive(),
  }),
  z.strictObject({
    kind: z.literal('http'),
    port: z.number().int().min(1).max(65535),
    path: z.string().startsWith('/'),
    timeoutMs: z.number().int().positive(),
  }),
]);

export const PlanProcess = z.strictObject({
  key: z.string().regex(/^[a-z0-9_-]+$/),
  command: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()),
  cwd: z.string().regex(/^\//),
  /** Interactive agents run in a PTY the browser attaches to. */
  pty: z.boolean(),
  readiness: Readiness,
});

export const WorkspaceRepo = z.strictObject({
  /** `owner/name`. */
  repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/),
  /** HTTPS clone URL as the sandbox sees it (its host is brokered by a route). */
  cloneUrl: z.url({ protocol: /^https?$/ }),
  ref: z.string().optional(),
  /** Absolute path in the sandbox. */
  path: z.string().regex(/^\//),
});

export const AgentSpec = z.strictObject({
  runtime: z.enum(['codex', 'opencode', 'claude-code']),
  /** The CLI version the snapshot installs: exact, or `latest` (absent in plans compiled before versions were pinned). */
  version: z
    .string()
    .regex(/^(latest|\d{1,6}\.\d{1,6}\.\d{1,6}(-[0-9A-Za-z][0-9A-Za-z.-]{0,63})?)$/)
    .optional(),
  /** Interactive command (run in a PTY). */
  interactive: z.array(z.string()).min(1),
  /** Headless command; the prompt is appended as the last argument. */
  headless: z.array(z.string()).min(1),
  /** A follow-up turn in the same conversation (headless, resuming the last run); the prompt last. */
  followUp: z.array(z.string()).min(1).optional(),
});

export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

export const SecretInSandbox = z.strictObject({
  name: EnvName,
  secretId: z.string().regex(/^sec_[0-9A-Z]{26}$/),
});

export const RuntimePlan = z.strictObject({
  schemaVersion: z.literal(1),
  orgId: z.string().regex(/^org_/),
  profileId: z.string().regex(/^prf_/),
  profileVersionId: z.string().regex(/^prv_/),
  versionNumber: z.number().int().positive(),
  egressRoutes: z.array(EgressRoute),
  /** Hosts reachable without credentials (exact or *.suffix). */
  passthrough: z.array(HostPattern),
  files: z.array(PlanFile),
  processes: z.array(PlanProcess),
  workspace: z.array(WorkspaceRepo),
  /** Non-secret environment, including placeholders such as OPENAI_API_KEY=airlock-brokered. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()),
  agent: AgentSpec,
  /**
   * Variables a team chose to hold a real secret inside the sandbox (ADR 0152): names and
   * sealed-secret ids only. The values are opened when a process starts and handed to it
   * directly; they are never part of a plan, its storage, or the sandbox's container config.
   */
  secretsInSandbox: z.array(SecretInSandbox).optional(),
  /** The profile version asks for the session to stop when the leak tripwire blocks a request (ADR 0125). */
  stopSessionOnLeak: z.boolean().default(false),
});

export type HostPattern = z.infer<typeof HostPattern>;
export type EgressRoute = z.infer<typeof EgressRoute>;
export type PlanFile = z.infer<typeof PlanFile>;
export type PlanProcess = z.infer<typeof PlanProcess>;
export type WorkspaceRepo = z.infer<typeof WorkspaceRepo>;
export type RuntimePlan = z.infer<typeof RuntimePlan>;
export type SecretInSandbox = z.infer<typeof SecretInSandbox>;

/** The value the sandbox sees where an agent CLI insists on a key; the gateway replaces it on the wire. */
export const PLACEHOLDER_SECRET = 'airlock-brokered';
