import type { EgressRoute, HostPattern } from '@airlock/schema/plan';

// The runtime plan's egress routes compiled for lookup: one map lookup per
// host candidate and one step per path segment, whatever the number of routes.
//
// Matching rules (the compiler's, schema/plan): a host pattern is exact or
// `*.suffix` (subdomains only); a pattern without a port matches the default
// ports (none, 80, 443); a path prefix is segment-aware (`/v1` matches `/v1`
// and `/v1/x`, not `/v10`; `/` or no prefix matches every path); no methods
// means every method.
//
// The compiler rejects overlapping routes, but the order is defined anyway so a
// lookup is deterministic even for a plan that slipped through: an exact host
// before any wildcard, a longer wildcard suffix before a shorter one, then the
// longest path prefix, then a route that names the method before one that
// allows every method, then plan order. Routes are tried before passthrough
// hosts; a host in both is brokered.

export interface RequestTarget {
  /** `name[:port]` as the sandbox addressed it. */
  readonly host: string;
  /** Normalised path without the query. */
  readonly path: string;
  readonly method: string;
}

export type MatchResult =
  | { readonly kind: 'route'; readonly route: EgressRoute }
  | { readonly kind: 'passthrough'; readonly pattern: string }
  /** `sameHost`: routes for this host whose path or method did not match (for the deny message). */
  | { readonly kind: 'deny'; readonly sameHost: readonly EgressRoute[] };

interface Entry {
  readonly route: EgressRoute;
  readonly port: string | undefined;
  /** Upper-case methods, or null for every method. */
  readonly methods: ReadonlySet<string> | null;
  readonly order: number;
}

interface PathNode {
  readonly children: Map<string, PathNode>;
  /** Method-specific entries first, then by plan order. */
  entries: Entry[];
}

interface HostIndex {
  readonly root: PathNode;
  readonly routes: EgressRoute[];
}

interface ParsedHost {
  readonly wildcard: boolean;
  readonly name: string;
  readonly port: string | undefined;
}

const DEFAULT_PORTS: ReadonlySet<string> = new Set(['80', '443']);

export function parseHost(value: string): ParsedHost {
  let rest = value.toLowerCase();
  const wildcard = rest.startsWith('*.');
  if (wildcard) rest = rest.slice(2);
  let port: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > 0 && !rest.includes(']', colon)) {
    const digits = rest.slice(colon + 1);
    if (/^\d+$/.test(digits)) {
      port = digits;
      rest = rest.slice(0, colon);
    }
  }
  if (rest.endsWith('.')) rest = rest.slice(0, -1);
  return { wildcard, name: rest, port };
}

function portMatches(pattern: string | undefined, request: string | undefined): boolean {
  if (pattern === request) return true;
  if (pattern === undefined) return request === undefined || DEFAULT_PORTS.has(request);
  if (request === undefined) return DEFAULT_PORTS.has(pattern);
  return false;
}

function newNode(): PathNode {
  return { children: new Map(), entries: [] };
}

function segments(path: string): string[] {
  return path === '/' || path === '' ? [] : path.slice(1).split('/');
}

function insert(index: HostIndex, prefix: string, entry: Entry): void {
  let node = index.root;
  for (const segment of segments(prefix)) {
    let child = node.children.get(segment);
    if (child === undefined) {
      child = newNode();
      node.children.set(segment, child);
    }
    node = child;
  }
  node.entries.push(entry);
  node.entries.sort((a, b) => Number(a.methods === null) - Number(b.methods === null) || a.order - b.order);
}

function entryMatches(entry: Entry, port: string | undefined, method: string): boolean {
  return portMatches(entry.port, port) && (entry.methods === null || entry.methods.has(method));
}

/** The deepest path node with an entry for this port and method. */
function lookupPath(index: HostIndex, path: string, port: string | undefined, method: string): Entry | null {
  const trail: PathNode[] = [index.root];
  let node = index.root;
  let start = 1;
  // Walk the segments without allocating an array (this runs per request).
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    const child = node.children.get(path.slice(start, end));
    if (child === undefined) break;
    trail.push(child);
    node = child;
    start = end + 1;
  }
  for (let i = trail.length - 1; i >= 0; i--) {
    const entries = (trail[i] as PathNode).entries;
    for (const entry of entries) if (entryMatches(entry, port, method)) return entry;
  }
  return null;
}

export class RouteMatcher {
  readonly #exact = new Map<string, HostIndex>();
  readonly #wildcard = new Map<string, HostIndex>();
  readonly #passExact = new Map<string, string[]>();
  readonly #passWildcard = new Map<string, string[]>();
  readonly size: number;

  private constructor(routes: readonly EgressRoute[], passthrough: readonly HostPattern[]) {
    this.size = routes.length;
    routes.forEach((route, order) => {
      const methods = route.match.methods.length === 0 ? null : new Set(route.match.methods);
      const prefixes = route.match.pathPrefixes.length === 0 ? ['/'] : route.match.pathPrefixes;
      for (const pattern of new Set(route.match.hosts)) {
        const host = parseHost(pattern);
        const map = host.wildcard ? this.#wildcard : this.#exact;
        let index = map.get(host.name);
        if (index === undefined) {
          index = { root: newNode(), routes: [] };
          map.set(host.name, index);
        }
        if (!index.routes.includes(route)) index.routes.push(route);
        const entry: Entry = { route, port: host.port, methods, order };
        for (const prefix of new Set(prefixes)) insert(index, prefix, entry);
      }
    });
    for (const pattern of passthrough) {
      const host = parseHost(pattern);
      const map = host.wildcard ? this.#passWildcard : this.#passExact;
      const list = map.get(host.name) ?? [];
      list.push(pattern);
      map.set(host.name, list);
    }
  }

  static compile(routes: readonly EgressRoute[], passthrough: readonly HostPattern[]): RouteMatcher {
    return new RouteMatcher(routes, passthrough);
  }

  match(target: RequestTarget): MatchResult {
    const host = parseHost(target.host);
    const method = target.method.toUpperCase();
    const path = target.path === '' ? '/' : target.path;
    const sameHost: EgressRoute[] = [];
    const exact = this.#exact.get(host.name);
    if (exact !== undefined) {
      const entry = lookupPath(exact, path, host.port, method);
      if (entry !== null) return { kind: 'route', route: entry.route };
      sameHost.push(...exact.routes);
    }
    // Wildcards from the longest suffix (most specific) to the shortest.
    for (let dot = host.name.indexOf('.'); dot !== -1; dot = host.name.indexOf('.', dot + 1)) {
      const index = this.#wildcard.get(host.name.slice(dot + 1));
      if (index === undefined) continue;
      const entry = lookupPath(index, path, host.port, method);
      if (entry !== null) return { kind: 'route', route: entry.route };
      sameHost.push(...index.routes);
    }
    const pass = this.#passthrough(host);
    if (pass !== null) return { kind: 'passthrough', pattern: pass };
    return { kind: 'deny', sameHost };
  }

  #passthrough(host: ParsedHost): string | null {
    const hit = (patterns: string[] | undefined) =>
      patterns?.find((p) => portMatches(parseHost(p).port, host.port)) ?? null;
    const exact = hit(this.#passExact.get(host.name));
    if (exact !== null) return exact;
    for (let dot = host.name.indexOf('.'); dot !== -1; dot = host.name.indexOf('.', dot + 1)) {
      const found = hit(this.#passWildcard.get(host.name.slice(dot + 1)));
      if (found !== null) return found;
    }
    return null;
  }
}
