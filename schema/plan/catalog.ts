import type { z } from 'zod';
import type { CredentialSource, HttpMethod, InjectKind } from './types.ts';

// The integration catalog: pure data, shared by the plan compiler, the API
// (which serves it at GET /api/integrations and validates connections with
// it) and the dashboard (which renders connection forms from it).
//
// An integration declares the credential fields it stores (sealed, write-only),
// the non-secret settings a connection carries, the hosts it brokers and how
// the credential is placed on the wire. How a base-URL override changes the
// hosts the sandbox sees is decided per integration (`override`, ADR 0020).

export type IntegrationKey =
  | 'github_app'
  | 'github_pat'
  | 'openai'
  | 'anthropic'
  | 'slack'
  | 'jira'
  | 'signoz'
  | 'http_api_key'
  | 'e2b'
  | 'modal';

/**
 * model: an agent's model API; git: repositories; connector: tools the agent may call;
 * sandbox_provider: the account remote sandboxes run in (E2B, Modal) — used by the control plane
 * only, never bound into a plan, so its credential can reach no sandbox (ADR 0163).
 */
export type IntegrationKind = 'model' | 'git' | 'connector' | 'sandbox_provider';

/** Wire protocol of a model API; agent runtimes declare which they speak. */
export type ModelApi = 'openai' | 'anthropic';

export interface FieldSpec {
  readonly name: string;
  readonly label: string;
  /** Secret fields are sealed at rest and never returned by the API. */
  readonly secret: boolean;
  readonly required: boolean;
  /** A JavaScript regular expression (source) the value must match. */
  readonly pattern?: string;
  /** What `pattern` means, for error messages. */
  readonly patternHint?: string;
  readonly minLength?: number;
  readonly maxLength: number;
  /** Rendered as a textarea (PEM keys). */
  readonly multiline?: boolean;
  /** Closed set of values (rendered as a select). */
  readonly options?: readonly string[];
  readonly help?: string;
  /**
   * The value decides where the credential is sent (a base URL, a token endpoint): moving it
   * needs the credential re-entered, and it must be https:// outside `env = "local"` (ADR 0120).
   */
  readonly destination?: boolean;
}

/** A value taken from the catalog as is, or from a connection's non-secret config. */
export type ValueOrConfig = string | { readonly config: string };

export interface RouteTemplate {
  /** Part of the route id: `rt_<integration>_<key>_<connection>`. */
  readonly key: string;
  /** Hosts the sandbox calls (without an override; see `override`). */
  readonly hosts: readonly string[];
  readonly pathPrefixes: readonly string[];
  readonly methods: readonly z.infer<typeof HttpMethod>[];
  /** Where the request goes without an override. */
  readonly upstream: string;
  readonly inject: {
    readonly kind: z.infer<typeof InjectKind> | { readonly config: string };
    readonly target: ValueOrConfig;
    readonly username?: ValueOrConfig;
    readonly scheme?: string;
  };
  /** For `secret`: the credential field placed on the wire. */
  readonly field?: string;
}

/**
 * How a connection's `base_url` override applies:
 * - `upstream`: the sandbox keeps calling the catalog hosts (its SDKs need no
 *   change); only where the gateway forwards them moves (Azure-style OpenAI,
 *   local stand-ins).
 * - `service`: the override *is* the service (GitHub Enterprise, a Jira site):
 *   the sandbox calls the override's host, and `serviceRoutes` replace `routes`.
 * - `required`: like `service`, and there is no default (self-hosted tools).
 */
export type OverrideMode = 'upstream' | 'service' | 'required';

export type EnvValue =
  | string
  | { readonly placeholder: true }
  /** The sandbox-visible base URL (`https://host[/path]`), e.g. JIRA_BASE_URL. */
  | { readonly serviceUrl: true }
  /** The sandbox-visible host, e.g. GH_HOST for GitHub Enterprise. */
  | { readonly serviceHost: true; readonly onlyWithOverride?: boolean };

/**
 * A cheap authenticated call that proves a connection works (the dashboard's
 * "Test connection"): sent as the sandbox's request would be brokered, through
 * the connection's own route, with the credential the broker resolves.
 */
export interface Probe {
  readonly method: 'GET' | 'POST';
  /** Host the sandbox would call without an override (ignored for `service`/`required` overrides). */
  readonly host?: string;
  /** Path (and query) on that host. */
  readonly path: string;
  /** Path on an overridden service, after its base path (GitHub Enterprise serves the API under /api/v3). */
  readonly servicePath?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Besides a 2xx, the JSON body's `ok` must be true (Slack answers 200 `{"ok":false}` to a bad token). */
  readonly expectJsonOk?: boolean;
}

export interface IntegrationDefinition {
  readonly key: IntegrationKey;
  /** Integrations of one family are alternatives (GitHub via App or via PAT). */
  readonly family: string;
  readonly displayName: string;
  readonly description: string;
  readonly kind: IntegrationKind;
  readonly modelApi?: ModelApi;
  readonly credentialSource: z.infer<typeof CredentialSource>;
  readonly credentialFields: readonly FieldSpec[];
  readonly configFields: readonly FieldSpec[];
  readonly defaultBaseUrl?: string;
  readonly override: OverrideMode;
  readonly routes: readonly RouteTemplate[];
  /** For `service`/`required`: routes on the override's host (hosts are filled in from it). */
  readonly serviceRoutes?: readonly Omit<RouteTemplate, 'hosts' | 'upstream'>[];
  /** Hosts reachable without credentials whenever this integration is bound. */
  readonly passthrough: readonly string[];
  /** Non-secret environment for the sandbox; placeholders stand in for keys. */
  readonly env: Readonly<Record<string, EnvValue>>;
  /** git: how a repository's clone URL is formed from the service base URL. */
  readonly cloneUrl?: { readonly base: string };
  /** How to test a connection; integrations without one cannot be tested. */
  readonly probe?: Probe;
}

const BASE_URL: FieldSpec = {
  name: 'base_url',
  label: 'Base URL override',
  secret: false,
  required: false,
  pattern: '^https?://[^\\s?#]+$',
  patternHint: 'an http(s) URL without query',
  maxLength: 500,
  destination: true,
};

const requiredBaseUrl = (label: string, help: string): FieldSpec => ({
  ...BASE_URL,
  label,
  required: true,
  help,
});

const apiKey = (name: string, label: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  label,
  secret: true,
  required: true,
  minLength: 8,
  maxLength: 4096,
  ...extra,
});

const PLACEHOLDER = { placeholder: true } as const;

const GITHUB_ROUTES: readonly RouteTemplate[] = [
  {
    key: 'api',
    hosts: ['api.github.com'],
    pathPrefixes: [],
    methods: [],
    upstream: 'https://api.github.com',
    inject: { kind: 'bearer', target: 'authorization' },
  },
  {
    key: 'uploads',
    hosts: ['uploads.github.com'],
    pathPrefixes: [],
    methods: [],
    upstream: 'https://uploads.github.com',
    inject: { kind: 'bearer', target: 'authorization' },
  },
  {
    // git over HTTPS: installation tokens and PATs go in Basic auth.
    key: 'git',
    hosts: ['github.com'],
    pathPrefixes: [],
    methods: [],
    upstream: 'https://github.com',
    inject: { kind: 'basic', target: 'authorization', username: 'x-access-token' },
  },
];

// GitHub Enterprise serves the API (/api/v3) and git on one host; prefixes
// cannot split them without overlap, and both accept Basic with a token.
const GITHUB_SERVICE_ROUTES: IntegrationDefinition['serviceRoutes'] = [
  {
    key: 'ghe',
    pathPrefixes: [],
    methods: [],
    inject: { kind: 'basic', target: 'authorization', username: 'x-access-token' },
  },
];

const GITHUB_ENV: Readonly<Record<string, EnvValue>> = {
  GH_TOKEN: PLACEHOLDER,
  GITHUB_TOKEN: PLACEHOLDER,
  GH_HOST: { serviceHost: true, onlyWithOverride: true },
};

export const CATALOG: readonly IntegrationDefinition[] = [
  {
    key: 'github_app',
    family: 'github',
    displayName: 'GitHub (App installation)',
    description:
      'Repositories and the GitHub API through a GitHub App installation; tokens are minted per session.',
    kind: 'git',
    credentialSource: 'github_app',
    credentialFields: [
      apiKey('private_key', 'App private key (PEM)', {
        minLength: 64,
        maxLength: 16384,
        multiline: true,
        pattern: '^-----BEGIN (RSA )?PRIVATE KEY-----[\\s\\S]+-----END (RSA )?PRIVATE KEY-----\\s*$',
        patternHint: 'a PEM private key',
      }),
      apiKey('webhook_secret', "App's webhook secret", {
        required: false,
        minLength: 16,
        maxLength: 256,
        help: 'Lets webhook triggers with secretFrom "connection" verify the App\'s deliveries',
      }),
    ],
    configFields: [
      {
        name: 'app_id',
        label: 'App ID',
        secret: false,
        required: true,
        pattern: '^[0-9]{1,20}$',
        patternHint: 'digits',
        maxLength: 20,
      },
      {
        name: 'installation_id',
        label: 'Installation ID',
        secret: false,
        required: true,
        pattern: '^[0-9]{1,20}$',
        patternHint: 'digits',
        maxLength: 20,
      },
      { ...BASE_URL, help: 'GitHub Enterprise Server, e.g. https://ghe.example.com' },
    ],
    defaultBaseUrl: 'https://github.com',
    override: 'service',
    routes: GITHUB_ROUTES,
    serviceRoutes: GITHUB_SERVICE_ROUTES,
    passthrough: ['codeload.github.com', 'objects.githubusercontent.com'],
    env: GITHUB_ENV,
    cloneUrl: { base: 'https://github.com' },
    probe: {
      method: 'GET',
      host: 'api.github.com',
      path: '/installation/repositories?per_page=1',
      servicePath: '/api/v3/installation/repositories?per_page=1',
    },
  },
  {
    key: 'github_pat',
    family: 'github',
    displayName: 'GitHub (personal access token)',
    description: 'Repositories and the GitHub API with a fine-grained or classic personal access token.',
    kind: 'git',
    credentialSource: 'secret',
    credentialFields: [
      apiKey('token', 'Personal access token', {
        minLength: 20,
        maxLength: 255,
        pattern: '^[A-Za-z0-9_]+$',
        patternHint: 'letters, digits and underscores (ghp_…, github_pat_…)',
      }),
    ],
    configFields: [{ ...BASE_URL, help: 'GitHub Enterprise Server, e.g. https://ghe.example.com' }],
    defaultBaseUrl: 'https://github.com',
    override: 'service',
    routes: GITHUB_ROUTES.map((r) => ({ ...r, field: 'token' })),
    serviceRoutes: (GITHUB_SERVICE_ROUTES ?? []).map((r) => ({ ...r, field: 'token' })),
    passthrough: ['codeload.github.com', 'objects.githubusercontent.com'],
    env: GITHUB_ENV,
    cloneUrl: { base: 'https://github.com' },
    probe: { method: 'GET', host: 'api.github.com', path: '/user', servicePath: '/api/v3/user' },
  },
  {
    key: 'openai',
    family: 'openai',
    displayName: 'OpenAI',
    description: 'The OpenAI API (Responses, Chat Completions) or an OpenAI-compatible endpoint.',
    kind: 'model',
    modelApi: 'openai',
    credentialSource: 'secret',
    credentialFields: [apiKey('api_key', 'API key')],
    configFields: [
      { ...BASE_URL, help: 'An OpenAI-compatible endpoint; the sandbox still calls api.openai.com' },
    ],
    defaultBaseUrl: 'https://api.openai.com',
    override: 'upstream',
    routes: [
      {
        key: 'api',
        hosts: ['api.openai.com'],
        pathPrefixes: ['/v1'],
        methods: [],
        upstream: 'https://api.openai.com',
        inject: { kind: 'bearer', target: 'authorization' },
        field: 'api_key',
      },
    ],
    passthrough: [],
    env: { OPENAI_API_KEY: PLACEHOLDER },
    probe: { method: 'GET', host: 'api.openai.com', path: '/v1/models' },
  },
  {
    key: 'anthropic',
    family: 'anthropic',
    displayName: 'Anthropic',
    description: 'The Anthropic Messages API.',
    kind: 'model',
    modelApi: 'anthropic',
    credentialSource: 'secret',
    credentialFields: [apiKey('api_key', 'API key')],
    configFields: [
      { ...BASE_URL, help: 'An Anthropic-compatible endpoint; the sandbox still calls api.anthropic.com' },
    ],
    defaultBaseUrl: 'https://api.anthropic.com',
    override: 'upstream',
    routes: [
      {
        key: 'api',
        hosts: ['api.anthropic.com'],
        // `/api/claude_code`: the organization's managed settings and policy limits, which
        // Claude Code fetches with the same key (ADR 0151).
        pathPrefixes: ['/v1', '/api/claude_code'],
        methods: [],
        upstream: 'https://api.anthropic.com',
        inject: { kind: 'header', target: 'x-api-key' },
        field: 'api_key',
      },
    ],
    passthrough: [],
    env: { ANTHROPIC_API_KEY: PLACEHOLDER },
    probe: {
      method: 'GET',
      host: 'api.anthropic.com',
      path: '/v1/models',
      headers: { 'anthropic-version': '2023-06-01' },
    },
  },
  {
    key: 'slack',
    family: 'slack',
    displayName: 'Slack',
    description: 'The Slack Web API with a bot token.',
    kind: 'connector',
    credentialSource: 'secret',
    credentialFields: [
      apiKey('bot_token', 'Bot token', {
        pattern: '^xox[bp]-[A-Za-z0-9-]+$',
        patternHint: 'xoxb-… or xoxp-…',
      }),
    ],
    configFields: [{ ...BASE_URL, help: 'Where slack.com/api calls are forwarded (tests)' }],
    defaultBaseUrl: 'https://slack.com',
    override: 'upstream',
    routes: [
      {
        key: 'api',
        hosts: ['slack.com'],
        pathPrefixes: ['/api'],
        methods: [],
        upstream: 'https://slack.com',
        inject: { kind: 'bearer', target: 'authorization' },
        field: 'bot_token',
      },
    ],
    passthrough: [],
    env: { SLACK_BOT_TOKEN: PLACEHOLDER },
    probe: { method: 'POST', host: 'slack.com', path: '/api/auth.test', expectJsonOk: true },
  },
  {
    key: 'jira',
    family: 'jira',
    displayName: 'Jira',
    description: 'Jira Cloud or Data Center REST API (email + API token).',
    kind: 'connector',
    credentialSource: 'secret',
    credentialFields: [apiKey('api_token', 'API token')],
    configFields: [
      requiredBaseUrl('Site URL', 'e.g. https://acme.atlassian.net'),
      {
        name: 'email',
        label: 'Account email',
        secret: false,
        required: true,
        pattern: '^[^\\s@]+@[^\\s@]+$',
        patternHint: 'an email address',
        maxLength: 320,
      },
    ],
    override: 'required',
    routes: [],
    serviceRoutes: [
      {
        key: 'rest',
        pathPrefixes: ['/rest'],
        methods: [],
        inject: { kind: 'basic', target: 'authorization', username: { config: 'email' } },
        field: 'api_token',
      },
    ],
    passthrough: [],
    env: { JIRA_API_TOKEN: PLACEHOLDER, JIRA_BASE_URL: { serviceUrl: true } },
    probe: { method: 'GET', path: '/rest/api/3/myself' },
  },
  {
    key: 'signoz',
    family: 'signoz',
    displayName: 'SigNoz',
    description: 'SigNoz query API (traces, logs, metrics) with an API key.',
    kind: 'connector',
    credentialSource: 'secret',
    credentialFields: [apiKey('api_key', 'API key')],
    configFields: [requiredBaseUrl('SigNoz URL', 'e.g. https://acme.us.signoz.cloud')],
    override: 'required',
    routes: [],
    serviceRoutes: [
      {
        key: 'api',
        pathPrefixes: ['/api'],
        methods: [],
        inject: { kind: 'header', target: 'SIGNOZ-API-KEY' },
        field: 'api_key',
      },
    ],
    passthrough: [],
    env: { SIGNOZ_API_KEY: PLACEHOLDER, SIGNOZ_URL: { serviceUrl: true } },
  },
  {
    key: 'http_api_key',
    family: 'http',
    displayName: 'HTTP API (API key)',
    description: 'Any HTTP API that takes a key in a header, as a bearer token, or in a query parameter.',
    kind: 'connector',
    credentialSource: 'secret',
    credentialFields: [apiKey('api_key', 'API key', { minLength: 1 })],
    configFields: [
      requiredBaseUrl('Base URL', 'The API the sandbox calls, e.g. https://api.example.com'),
      {
        name: 'placement',
        label: 'Key placement',
        secret: false,
        required: true,
        options: ['header', 'bearer', 'query'],
        maxLength: 10,
      },
      {
        name: 'target',
        label: 'Header or query parameter name',
        secret: false,
        required: true,
        pattern: '^[A-Za-z0-9_-]{1,64}$',
        patternHint: 'a header or parameter name',
        maxLength: 64,
        help: 'e.g. X-API-Key, Authorization, api_key',
      },
    ],
    override: 'required',
    routes: [],
    serviceRoutes: [
      {
        key: 'api',
        pathPrefixes: [],
        methods: [],
        inject: { kind: { config: 'placement' }, target: { config: 'target' } },
        field: 'api_key',
      },
    ],
    passthrough: [],
    env: {},
  },
  {
    key: 'e2b',
    family: 'sandbox',
    displayName: 'E2B (sandbox provider)',
    description:
      'Runs this org’s sandboxes and snapshot builds in its own E2B account. The key is used by the control plane only and never enters a sandbox.',
    kind: 'sandbox_provider',
    credentialSource: 'secret',
    credentialFields: [apiKey('api_key', 'E2B API key')],
    configFields: [
      {
        ...BASE_URL,
        label: 'API URL override',
        help: 'E2B’s API is https://api.e2b.app; set this only for a self-hosted E2B.',
      },
      {
        name: 'domain',
        label: 'Sandbox domain',
        secret: false,
        required: false,
        pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$',
        patternHint: 'a DNS name such as e2b.app',
        maxLength: 253,
        destination: true,
        help: 'Where envd is reached (sandbox.<domain>); e2b.app unless self-hosted.',
      },
    ],
    defaultBaseUrl: 'https://api.e2b.app',
    override: 'upstream',
    routes: [],
    passthrough: [],
    env: {},
  },
  {
    key: 'modal',
    family: 'sandbox',
    displayName: 'Modal (sandbox provider)',
    description:
      'Runs this org’s sandboxes and snapshot builds in its own Modal workspace, through a runner with the Modal backend. The token is used by the control plane and that runner only; it never enters a sandbox.',
    kind: 'sandbox_provider',
    credentialSource: 'secret',
    credentialFields: [
      apiKey('token_secret', 'Token secret', {
        pattern: '^[A-Za-z0-9_-]+$',
        patternHint: 'a Modal token secret (as-…)',
        maxLength: 256,
      }),
    ],
    configFields: [
      {
        name: 'token_id',
        label: 'Token ID',
        secret: false,
        required: true,
        pattern: '^[A-Za-z0-9_-]{1,128}$',
        patternHint: 'a Modal token id (ak-…)',
        maxLength: 128,
      },
      {
        ...BASE_URL,
        label: 'API endpoint override',
        help: 'Modal’s API is https://api.modal.com; set this only for a local stand-in.',
      },
    ],
    defaultBaseUrl: 'https://api.modal.com',
    override: 'upstream',
    routes: [],
    passthrough: [],
    env: {},
  },
];

export const INTEGRATION_KEYS = CATALOG.map((i) => i.key);

export function integrationByKey(key: string): IntegrationDefinition | undefined {
  return CATALOG.find((i) => i.key === key);
}

/** Which model APIs an agent runtime can drive. */
export const RUNTIME_MODEL_APIS: Readonly<Record<'codex' | 'opencode' | 'claude-code', readonly ModelApi[]>> =
  {
    codex: ['openai'],
    opencode: ['openai', 'anthropic'],
    'claude-code': ['anthropic'],
  };
