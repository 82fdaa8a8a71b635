import {
  type Authority,
  type EgressRoute,
  exactOnly,
  type HostPattern,
  parseHost,
  portsOverlap,
  unspecified,
} from '@airlock/schema/plan';

// The runtime plan's egress routes compiled for lookup: one map lookup per
// host candidate and one step per path segment, whatever the number of routes.
//
// Matching rules (the compiler's, schema/plan): a host pattern is exact or
// `*.suffix` (subdomains only); a pattern without a port matches the default
// ports (none, 80, 443); IP literals and localhost names match only a pattern
// that names them exactly, never a wildcard, and 0.0.0.0/8 and [::] nothing
// (ADR 0105); a path prefix is segment-aware (`/v1` matches `/v1`
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
  /** The request's authority, parsed once with the one grammar (request-target.ts). */
  readonly authority: Authority;
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
  readonly port: number | null;
  /** Upper-case methods (a handful at most), or null for every method. */
  readonly methods: readonly string[] | null;
  readonly order: number;
}

interface PathNode {
  /** Created on first use: most nodes are leaves. */
  children: Map<string, PathNode> | null;
  /** Method-specific entries first, then by plan order. */
  readonly entries: Entry[];
}

interface Passthrough {
  readonly pattern: string;
  readonly port: number | null;
}

interface HostIndex {
  readonly root: PathNode;
  readonly routes: EgressRoute[];
}

function newNode(): PathNode {
  return { children: null, entries: [] };
}

function segments(path: string): string[] {
  return path === '/' || path === '' ? [] : path.slice(1).split('/');
}

function insert(index: HostIndex, prefix: string, entry: Entry): void {
  let node = index.root;
  for (const segment of segments(prefix)) {
    node.children ??= new Map();
    let child = node.children.get(segment);
    if (child === undefined) {
      child = newNode();
      node.children.set(segment, child);
    }
    node = child;
  }
  // Entries arrive in plan order: a method-specific one goes before the first catch-all.
  const firstCatchAll = entry.methods === null ? -1 : node.entries.findIndex((e) => e.methods === null);
  if (firstCatchAll === -1) node.entries.push(entry);
  else node.entries.splice(firstCatchAll, 0, entry);
}

function entryMatches(entry: Entry, port: number | null, method: string): boolean {
  return portsOverlap(entry.port, port) && (entry.methods === null || entry.methods.includes(method));
}

/** The deepest path node with an entry for this port and method. */
function lookupPath(index: HostIndex, path: string, port: number | null, method: string): Entry | null {
  const trail: PathNode[] = [index.root];
  let node = index.root;
  let start = 1;
  // Walk the segments without allocating an array (this runs per request).
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    const child = node.children?.get(path.slice(start, end));
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
  readonly #passExact = new Map<string, Passthrough[]>();
  readonly #passWildcard = new Map<string, Passthrough[]>();
  readonly size: number;

  private constructor(routes: readonly EgressRoute[], passthrough: readonly HostPattern[]) {
    this.size = routes.length;
    routes.forEach((route, order) => {
      const methods = route.match.methods.length === 0 ? null : route.match.methods;
      const prefixes = route.match.pathPrefixes.length === 0 ? ['/'] : route.match.pathPrefixes;
      route.match.hosts.forEach((pattern, h) => {
        if (route.match.hosts.indexOf(pattern) !== h) return;
        const host = parseHost(pattern);
        const map = host.wildcard ? this.#wildcard : this.#exact;
        let index = map.get(host.host);
        if (index === undefined) {
          index = { root: newNode(), routes: [] };
          map.set(host.host, index);
        }
        if (index.routes[index.routes.length - 1] !== route) index.routes.push(route);
        const entry: Entry = { route, port: host.port, methods, order };
        prefixes.forEach((prefix, p) => {
          if (prefixes.indexOf(prefix) === p) insert(index, prefix, entry);
        });
      });
    });
    for (const pattern of passthrough) {
      const host = parseHost(pattern);
      const map = host.wildcard ? this.#passWildcard : this.#passExact;
      const list = map.get(host.host) ?? [];
      list.push({ pattern, port: host.port });
      map.set(host.host, list);
    }
  }

  static compile(routes: readonly EgressRoute[], passthrough: readonly HostPattern[]): RouteMatcher {
    return new RouteMatcher(routes, passthrough);
  }

  match(target: RequestTarget): MatchResult {
    const { host, port } = target.authority;
    const method = target.method.toUpperCase();
    const path = target.path === '' ? '/' : target.path;
    const sameHost: EgressRoute[] = [];
    if (unspecified(target.authority)) return { kind: 'deny', sameHost };
    const wildcards = !exactOnly(target.authority);
    const exact = this.#exact.get(host);
    if (exact !== undefined) {
      const entry = lookupPath(exact, path, port, method);
      if (entry !== null) return { kind: 'route', route: entry.route };
      sameHost.push(...exact.routes);
    }
    // Wildcards from the longest suffix (most specific) to the shortest.
    for (let dot = wildcards ? host.indexOf('.') : -1; dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const index = this.#wildcard.get(host.slice(dot + 1));
      if (index === undefined) continue;
      const entry = lookupPath(index, path, port, method);
      if (entry !== null) return { kind: 'route', route: entry.route };
      sameHost.push(...index.routes);
    }
    const pass = this.#passthrough(host, port, wildcards);
    if (pass !== null) return { kind: 'passthrough', pattern: pass };
    return { kind: 'deny', sameHost };
  }

  #passthrough(host: string, port: number | null, wildcards: boolean): string | null {
    const hit = (entries: Passthrough[] | undefined) =>
      entries?.find((p) => portsOverlap(p.port, port))?.pattern ?? null;
    const exact = hit(this.#passExact.get(host));
    if (exact !== null) return exact;
    for (let dot = wildcards ? host.indexOf('.') : -1; dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const found = hit(this.#passWildcard.get(host.slice(dot + 1)));
      if (found !== null) return found;
    }
    return null;
  }
}
