// How a request is matched against route and passthrough patterns, and when
// two patterns could both match one request. The compiler rejects overlapping
// routes with these rules and the gateway matches with the same ones, so
// "no two routes match one request" holds by construction.

export interface HostParts {
  readonly wildcard: boolean;
  /** Lowercase host name without the `*.` and without the port. */
  readonly name: string;
  /** Explicit port, or undefined for the scheme's default. */
  readonly port: string | undefined;
}

export function parseHost(pattern: string): HostParts {
  const lower = pattern.toLowerCase();
  const wildcard = lower.startsWith('*.');
  const rest = wildcard ? lower.slice(2) : lower;
  const colon = rest.lastIndexOf(':');
  const hasPort = colon > 0 && /^\d+$/.test(rest.slice(colon + 1));
  return {
    wildcard,
    name: hasPort ? rest.slice(0, colon) : rest,
    port: hasPort ? rest.slice(colon + 1) : undefined,
  };
}

const isDefaultPort = (port: string | undefined) => port === undefined || port === '443' || port === '80';

function portsOverlap(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  // A pattern without a port means the scheme's default port.
  if (a === undefined) return isDefaultPort(b);
  if (b === undefined) return isDefaultPort(a);
  return false;
}

const isSubdomain = (name: string, suffix: string) => name.endsWith(`.${suffix}`);

/** Does host pattern `pattern` match the request host `host` (`name[:port]`)? */
export function hostMatches(pattern: string, host: string): boolean {
  const p = parseHost(pattern);
  const h = parseHost(host);
  if (!portsOverlap(p.port, h.port)) return false;
  return p.wildcard ? isSubdomain(h.name, p.name) : h.name === p.name;
}

/** Could one request host match both patterns? */
export function hostsOverlap(a: string, b: string): boolean {
  const x = parseHost(a);
  const y = parseHost(b);
  if (!portsOverlap(x.port, y.port)) return false;
  if (!x.wildcard && !y.wildcard) return x.name === y.name;
  if (x.wildcard && y.wildcard)
    return x.name === y.name || isSubdomain(x.name, y.name) || isSubdomain(y.name, x.name);
  const [wild, exact] = x.wildcard ? [x, y] : [y, x];
  return isSubdomain(exact.name, wild.name);
}

/** Segment-aware: `/v1` matches `/v1` and `/v1/x`, not `/v10`; `/` matches every path. */
export function pathMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

export interface RouteMatch {
  readonly hosts: readonly string[];
  /** Empty: every path. */
  readonly pathPrefixes: readonly string[];
  /** Empty: every method. */
  readonly methods: readonly string[];
}

export function matchOverlaps(a: RouteMatch, b: RouteMatch): boolean {
  const hosts = a.hosts.some((x) => b.hosts.some((y) => hostsOverlap(x, y)));
  if (!hosts) return false;
  const paths =
    a.pathPrefixes.length === 0 ||
    b.pathPrefixes.length === 0 ||
    a.pathPrefixes.some((x) => b.pathPrefixes.some((y) => pathMatches(x, y) || pathMatches(y, x)));
  if (!paths) return false;
  return a.methods.length === 0 || b.methods.length === 0 || a.methods.some((m) => b.methods.includes(m));
}

export interface RequestTarget {
  /** `name[:port]` as the sandbox addressed it. */
  readonly host: string;
  /** Path without the query. */
  readonly path: string;
  readonly method: string;
}

export function requestMatches(match: RouteMatch, request: RequestTarget): boolean {
  return (
    match.hosts.some((h) => hostMatches(h, request.host)) &&
    (match.pathPrefixes.length === 0 || match.pathPrefixes.some((p) => pathMatches(p, request.path))) &&
    (match.methods.length === 0 || match.methods.includes(request.method.toUpperCase()))
  );
}

/** The one route a request matches (routes never overlap), or undefined. */
export function findRoute<R extends { readonly match: RouteMatch }>(
  routes: readonly R[],
  request: RequestTarget,
): R | undefined {
  return routes.find((r) => requestMatches(r.match, request));
}
