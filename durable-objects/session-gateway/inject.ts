import { type EgressRoute, PLACEHOLDER_SECRET } from '@airlock/schema/plan';
import type { HeaderList } from '@airlock/schema/tunnel';
import { carriesValue } from './leak-tripwire.ts';

// Turning a sandbox's request head into the upstream request head: the
// security-critical middle of the gateway, kept pure so a reviewer can read it
// in one sitting (and tests can pin it down).
//
// Host pinning: the upstream URL is built from the route's `upstream.baseUrl`
// (brokered) or from the parsed, matched authority (passthrough); the sandbox's
// Host header never travels, so no Host or SNI trick can redirect a request.
//
// A brokered request loses every credential the sandbox supplied (Authorization,
// Proxy-Authorization, Cookie, the route's own header or query parameter, and
// any header or parameter carrying the placeholder) before the broker's
// credential is placed: what reaches the upstream is exactly one credential, ours.

/** Never forwarded in either direction (RFC 9110 §7.6.1, plus proxy leftovers). */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/** Credentials a sandbox may try to send on a brokered route; the route's own target is added per route. */
const SANDBOX_CREDENTIALS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** Headers upstreams use to say who the client is; the gateway is the client. */
const FORWARDING: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'cf-connecting-ip',
]);

function connectionListed(headers: HeaderList): Set<string> {
  const listed = new Set<string>();
  for (const [name, value] of headers)
    if (name.toLowerCase() === 'connection')
      for (const token of value.split(',')) listed.add(token.trim().toLowerCase());
  return listed;
}

/**
 * The upstream URL: the base URL's origin and path, then the request's path and query.
 * `path` is origin-form (`/v1/x?y=1`) as the sandbox sent it.
 */
export function joinUpstreamUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl);
  const basePath = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const target = new URL(path.startsWith('/') ? path : `/${path}`, 'http://x');
  const url = new URL(base.origin);
  url.pathname = `${basePath}${target.pathname}`;
  url.search = target.search;
  return url;
}

export interface UpstreamHead {
  readonly url: URL;
  readonly headers: Headers;
}

function copyHeaders(headers: HeaderList, drop: (name: string, value: string) => boolean): Headers {
  const listed = connectionListed(headers);
  const out = new Headers();
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name) || FORWARDING.has(name) || listed.has(name) || drop(name, value)) continue;
    try {
      out.append(name, value);
    } catch {
      // A header the platform refuses (invalid bytes) is dropped rather than failing the request.
    }
  }
  return out;
}

const carriesPlaceholder = (value: string) => value.includes(PLACEHOLDER_SECRET);

function encodeBasic(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Brokered: strip whatever the sandbox supplied as credentials, then place ours. */
export function brokeredHead(
  route: EgressRoute,
  path: string,
  headers: HeaderList,
  credential: string,
): UpstreamHead {
  const url = joinUpstreamUrl(route.upstream.baseUrl, path);
  const target = route.inject.target.toLowerCase();
  const out = copyHeaders(
    headers,
    (name, value) =>
      SANDBOX_CREDENTIALS.has(name) ||
      (route.inject.kind !== 'query' && name === target) ||
      carriesPlaceholder(value),
  );
  const params = [...url.searchParams];
  const kept = params.filter(
    ([key, value]) =>
      !((route.inject.kind === 'query' && key === route.inject.target) || carriesPlaceholder(value)),
  );
  // Rewrite the query only when something goes, so an untouched query keeps its exact encoding.
  if (kept.length !== params.length) url.search = new URLSearchParams(kept).toString();
  switch (route.inject.kind) {
    case 'header':
      out.set(target, credential);
      break;
    case 'bearer':
      out.set(target, `${route.inject.scheme ?? 'Bearer'} ${credential}`);
      break;
    case 'basic':
      // Without a user name the credential is the user (the `key:` convention of many APIs).
      out.set(
        target,
        `Basic ${route.inject.username === undefined ? encodeBasic(credential, '') : encodeBasic(route.inject.username, credential)}`,
      );
      break;
    case 'query':
      url.searchParams.set(route.inject.target, credential);
      break;
  }
  return { url, headers: out };
}

/**
 * Passthrough: no credentials added; the sandbox's own headers minus hop-by-hop ones. The URL is
 * built from the parsed, matched authority (ADR 0105), never from a string the sandbox sent.
 */
export function passthroughHead(
  scheme: 'http' | 'https',
  authority: { readonly host: string; readonly port: number },
  path: string,
  headers: HeaderList,
): UpstreamHead {
  const url = joinUpstreamUrl(`${scheme}://${authority.host}:${authority.port}`, path);
  return { url, headers: copyHeaders(headers, () => false) };
}

/** Shorter credentials are not scrubbed from responses (too many innocent matches). */
const MIN_SCRUBBED_LENGTH = 8;

/**
 * Response headers for the sandbox: hop-by-hop removed, and never a credential echoed back. A
 * header carrying the injected credential in any form the leak tripwire knows (raw, URL-encoded,
 * base64 at any alignment; in its name or value) is dropped whole, never redacted: a redirect whose
 * `Location` held the key is better unfollowable than followed with a mangled URL, and a cookie
 * with a hole in it is not one. `x-airlock-scrubbed` names what was dropped, so the agent can tell.
 */
export function responseHeaders(headers: Headers, credential: string | null): HeaderList {
  const out: HeaderList = [];
  const scrubbed: string[] = [];
  const listed = new Set((headers.get('connection') ?? '').split(',').map((t) => t.trim().toLowerCase()));
  // Names arrive lowercased, so a credential in a name can only be found lowercased.
  const lowered = credential?.toLowerCase() ?? null;
  const inName = (name: string) =>
    lowered !== null && lowered.length >= MIN_SCRUBBED_LENGTH && name.includes(lowered);
  // Each Set-Cookie is its own entry (iterating a Headers object yields them one by one).
  for (const [name, value] of headers) {
    if ((HOP_BY_HOP.has(name) && name !== 'content-length') || listed.has(name) || inName(name)) continue;
    if (credential !== null && carriesValue(value, credential, MIN_SCRUBBED_LENGTH)) {
      if (!scrubbed.includes(name)) scrubbed.push(name);
      continue;
    }
    out.push([name, value]);
  }
  if (scrubbed.length > 0) out.push(['x-airlock-scrubbed', scrubbed.join(', ')]);
  return out;
}
