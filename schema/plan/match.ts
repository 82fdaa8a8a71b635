// How a request is matched against route and passthrough patterns, and when
// two patterns could both match one request. The compiler rejects overlapping
// routes with these rules and the gateway matches with the same ones, so
// "no two routes match one request" holds by construction. Hosts are parsed
// with the one authority grammar (authority.ts, ADR 0105).

import {
  type Authority,
  exactOnly,
  formatAuthority,
  parseAuthority,
  quoteUntrusted,
  unspecified,
} from './authority.ts';

export interface HostParts {
  readonly wildcard: boolean;
  /** Canonical host (ADR 0105) without the `*.` and without the port. */
  readonly host: string;
  /** Explicit port, or null for the scheme's default. */
  readonly port: number | null;
  readonly authority: Authority;
}

export type HostPatternResult =
  | { readonly ok: true; readonly pattern: HostParts }
  | { readonly ok: false; readonly message: string };

/**
 * A route host or allowlist entry: an authority in the one grammar, optionally `*.` + a host
 * name (subdomains only). Wildcards never cover IP literals or localhost names, 0.0.0.0/8 and
 * `[::]` are never a destination, and a plan holds patterns in canonical form only.
 */
export function checkHostPattern(pattern: string): HostPatternResult {
  const wildcard = pattern.startsWith('*.');
  const parsed = parseAuthority(wildcard ? pattern.slice(2) : pattern);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const { authority } = parsed;
  if (wildcard && authority.kind !== 'name')
    return { ok: false, message: 'a wildcard covers subdomains of a host name, never IP addresses' };
  if (wildcard && exactOnly(authority))
    return { ok: false, message: 'a wildcard never covers localhost names: list each one exactly' };
  if (unspecified(authority)) return { ok: false, message: '0.0.0.0/8 and [::] are not destinations' };
  const canonical = `${wildcard ? '*.' : ''}${formatAuthority(authority)}`;
  if (canonical !== pattern) return { ok: false, message: `write it as "${canonical}"` };
  return { ok: true, pattern: { wildcard, host: authority.host, port: authority.port, authority } };
}

/** Parsed patterns: the same few hosts are matched over and over (the compiler's overlap checks). */
const parsedPatterns = new Map<string, HostParts>();

/** A pattern of a validated plan; an invalid one is a programming error. */
export function parseHost(pattern: string): HostParts {
  const cached = parsedPatterns.get(pattern);
  if (cached !== undefined) return cached;
  const checked = checkHostPattern(pattern);
  if (!checked.ok) throw new Error(`invalid host pattern ${quoteUntrusted(pattern)}: ${checked.message}`);
  if (parsedPatterns.size >= 10_000) parsedPatterns.clear();
  parsedPatterns.set(pattern, checked.pattern);
  return checked.pattern;
}

const isDefaultPort = (port: number | null) => port === null || port === 443 || port === 80;

/** A pattern without a port means the scheme's default ports; a request without one, too. */
export function portsOverlap(a: number | null, b: number | null): boolean {
  if (a === b) return true;
  if (a === null) return isDefaultPort(b);
  if (b === null) return isDefaultPort(a);
  return false;
}

const isSubdomain = (name: string, suffix: string) => name.endsWith(`.${suffix}`);

/** Does a parsed pattern match a parsed request authority? Wildcards cover host names only. */
export function patternMatches(pattern: HostParts, authority: Authority): boolean {
  if (unspecified(authority) || !portsOverlap(pattern.port, authority.port)) return false;
  if (pattern.wildcard) return !exactOnly(authority) && isSubdomain(authority.host, pattern.host);
  return authority.host === pattern.host;
}

/** Does host pattern `pattern` match the request host `host` (`name[:port]`, parsed strictly)? */
export function hostMatches(pattern: string, host: string): boolean {
  const parsed = parseAuthority(host);
  return parsed.ok && patternMatches(parseHost(pattern), parsed.authority);
}

/** Could one request host match both patterns? */
export function hostsOverlap(a: string, b: string): boolean {
  const x = parseHost(a);
  const y = parseHost(b);
  if (!portsOverlap(x.port, y.port)) return false;
  if (!x.wildcard && !y.wildcard) return x.host === y.host;
  if (x.wildcard && y.wildcard)
    return x.host === y.host || isSubdomain(x.host, y.host) || isSubdomain(y.host, x.host);
  const [wild, exact] = x.wildcard ? [x, y] : [y, x];
  return !exactOnly(exact.authority) && isSubdomain(exact.host, wild.host);
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
  /** `name[:port]`, from the compiler's own data (catalog probes, tests); parsed strictly here. */
  readonly host: string;
  /** Path without the query. */
  readonly path: string;
  readonly method: string;
}

function matchesParsed(match: RouteMatch, authority: Authority, request: RequestTarget): boolean {
  return (
    match.hosts.some((h) => patternMatches(parseHost(h), authority)) &&
    (match.pathPrefixes.length === 0 || match.pathPrefixes.some((p) => pathMatches(p, request.path))) &&
    (match.methods.length === 0 || match.methods.includes(request.method.toUpperCase()))
  );
}

export function requestMatches(match: RouteMatch, request: RequestTarget): boolean {
  const parsed = parseAuthority(request.host);
  return parsed.ok && matchesParsed(match, parsed.authority, request);
}

/** The one route a request matches (routes never overlap), or undefined. */
export function findRoute<R extends { readonly match: RouteMatch }>(
  routes: readonly R[],
  request: RequestTarget,
): R | undefined {
  const parsed = parseAuthority(request.host);
  if (!parsed.ok) return undefined;
  return routes.find((r) => matchesParsed(r.match, parsed.authority, request));
}
