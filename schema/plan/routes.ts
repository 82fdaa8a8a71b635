import { quoteUntrusted } from './authority.ts';
import type { FieldSpec, IntegrationDefinition, RouteTemplate, ValueOrConfig } from './catalog.ts';
import { checkHostPattern } from './match.ts';
import { type EgressRoute, InjectKind, PathPrefix } from './types.ts';

// One connection's share of a plan: its routes (with the base-URL override
// applied as its integration declares, ADR 0020), passthrough hosts and
// environment. Pure; the compiler assembles and checks the whole.

export interface PlanConnection {
  readonly id: string;
  readonly integration: string;
  readonly status: 'active' | 'error' | 'revoked';
  /** Non-secret settings only; credentials never reach the compiler. */
  readonly config: Readonly<Record<string, unknown>>;
}

export interface ServiceAddress {
  /** Host the sandbox calls (`name[:port]`), lowercase. */
  readonly host: string;
  /** The sandbox-visible base URL, without a trailing slash. */
  readonly url: string;
  /** Path of the base URL (`''` for the root). */
  readonly basePath: string;
  /** Origin the gateway forwards to. */
  readonly origin: string;
  readonly overridden: boolean;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

export function configString(connection: PlanConnection, name: string): string | undefined {
  const value = connection.config[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The service address of a `service`/`required` integration, or of the catalog default. */
export function serviceAddress(
  def: IntegrationDefinition,
  connection: PlanConnection,
): ServiceAddress | undefined {
  const override = configString(connection, 'base_url');
  const raw = override ?? def.defaultBaseUrl;
  if (raw === undefined) return undefined;
  const url = new URL(raw);
  const basePath = trimSlash(url.pathname);
  return {
    host: url.host.toLowerCase(),
    url: `${url.protocol}//${url.host.toLowerCase()}${basePath}`,
    basePath,
    origin: `${url.protocol}//${url.host.toLowerCase()}`,
    overridden: override !== undefined,
  };
}

function resolve(value: ValueOrConfig, connection: PlanConnection): string | undefined {
  return typeof value === 'string' ? value : configString(connection, value.config);
}

export class RouteBuildError extends Error {}

function routeId(def: IntegrationDefinition, key: string, connectionId: string): string {
  return `rt_${def.key}_${key}_${connectionId.toLowerCase()}`.replace(/[^a-z0-9_]/g, '_');
}

function build(
  def: IntegrationDefinition,
  template: Omit<RouteTemplate, 'hosts' | 'upstream'>,
  connection: PlanConnection,
  hosts: readonly string[],
  pathPrefixes: readonly string[],
  upstream: string,
  repositories: readonly string[] | undefined,
): EgressRoute {
  const kind = InjectKind.safeParse(
    typeof template.inject.kind === 'string'
      ? template.inject.kind
      : resolve(template.inject.kind, connection),
  );
  const target = resolve(template.inject.target, connection);
  const username =
    template.inject.username === undefined ? undefined : resolve(template.inject.username, connection);
  if (
    !kind.success ||
    target === undefined ||
    (template.inject.username !== undefined && username === undefined)
  )
    throw new RouteBuildError(
      `connection ${connection.id} lacks the settings its ${def.displayName} routes need`,
    );
  for (const host of hosts) {
    const checked = checkHostPattern(host);
    if (!checked.ok)
      throw new RouteBuildError(`${quoteUntrusted(host)} is not a valid host: ${checked.message}`);
  }
  for (const prefix of pathPrefixes)
    if (!PathPrefix.safeParse(prefix).success)
      throw new RouteBuildError(`"${prefix}" is not a valid path prefix`);
  const source = def.credentialSource;
  return {
    id: routeId(def, template.key, connection.id),
    match: {
      hosts: [...hosts].sort(),
      pathPrefixes: [...pathPrefixes].sort(),
      methods: [...template.methods].sort(),
    },
    upstream: { baseUrl: upstream },
    inject: {
      kind: kind.data,
      target,
      ...(username === undefined ? {} : { username }),
      ...(template.inject.scheme === undefined ? {} : { scheme: template.inject.scheme }),
    },
    credential: {
      source,
      connectionId: connection.id,
      ...(source === 'secret' && template.field !== undefined ? { field: template.field } : {}),
      ...(source === 'github_app' && repositories !== undefined
        ? { repositories: [...repositories].sort() }
        : {}),
    },
    integration: def.key,
  };
}

const joinPath = (base: string, prefix: string) => (prefix === '/' ? base || '/' : `${base}${prefix}`);

/** The routes a bound connection contributes. `repositories` scope minted GitHub tokens. */
export function connectionRoutes(
  def: IntegrationDefinition,
  connection: PlanConnection,
  repositories?: readonly string[],
): EgressRoute[] {
  const address = serviceAddress(def, connection);
  if (def.override === 'upstream' || (def.override === 'service' && address?.overridden !== true)) {
    // The sandbox calls the catalog hosts; an override only moves the upstream.
    const override = configString(connection, 'base_url');
    return def.routes.map((template) =>
      build(
        def,
        template,
        connection,
        template.hosts,
        template.pathPrefixes,
        override === undefined ? template.upstream : trimSlash(override),
        repositories,
      ),
    );
  }
  if (address === undefined) throw new RouteBuildError(`connection ${connection.id} needs a base_url`);
  return (def.serviceRoutes ?? []).map((template) => {
    const prefixes =
      template.pathPrefixes.length === 0
        ? address.basePath === ''
          ? []
          : [address.basePath]
        : template.pathPrefixes.map((p) => joinPath(address.basePath, p));
    return build(def, template, connection, [address.host], prefixes, address.origin, repositories);
  });
}

/** Environment a bound connection contributes (placeholders, service URLs). */
export function connectionEnv(
  def: IntegrationDefinition,
  connection: PlanConnection,
  placeholder: string,
): Record<string, string> {
  const address = serviceAddress(def, connection);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(def.env)) {
    if (typeof value === 'string') env[name] = value;
    else if ('placeholder' in value) env[name] = placeholder;
    else if ('serviceUrl' in value) {
      if (address !== undefined) env[name] = address.url;
    } else if (address !== undefined && (value.onlyWithOverride !== true || address.overridden))
      env[name] = address.host;
  }
  return env;
}

export function fieldNames(specs: readonly FieldSpec[], secret: boolean): string[] {
  return specs.filter((s) => s.secret === secret).map((s) => s.name);
}
