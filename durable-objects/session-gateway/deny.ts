import { DEFAULT_PORT, type EgressRoute, exactOnly } from '@airlock/schema/plan';
import type { RequestAuthority } from './request-target.ts';

// The body of a denied request (HTTP 403 to the sandbox): what was refused and
// which profile setting would allow it. The agent reads this, so it is plain
// text that says what to change.

export interface DenyInput {
  readonly method: string;
  readonly scheme: 'http' | 'https';
  readonly authority: RequestAuthority;
  readonly path: string;
  readonly hasPlan: boolean;
  /** Routes for the same host whose path or method did not match. */
  readonly sameHost: readonly EgressRoute[];
}

function describeRoute(route: EgressRoute): string {
  const paths =
    route.match.pathPrefixes.length === 0 ? 'every path' : `paths ${route.match.pathPrefixes.join(', ')}`;
  const methods =
    route.match.methods.length === 0 ? 'every method' : `methods ${route.match.methods.join(', ')}`;
  return `connection ${route.credential.connectionId} (${route.integration}) brokers ${paths} with ${methods}`;
}

/** How the request's authority is written in an allowlist entry: the port only when not the default. */
export function allowlistEntry(scheme: 'http' | 'https', authority: RequestAuthority): string {
  return authority.port === DEFAULT_PORT[scheme] ? authority.host : `${authority.host}:${authority.port}`;
}

export function denyMessage(input: DenyInput): string {
  const host = allowlistEntry(input.scheme, input.authority);
  const target = `${input.method} ${input.scheme}://${host}${input.path}`;
  const exact = exactOnly(input.authority)
    ? ` IP addresses and localhost names match only an entry that names them exactly, never a *.wildcard.`
    : '';
  if (!input.hasPlan)
    return `Airlock denied ${target}: this session has no runtime plan yet, so nothing is allowed out.\n`;
  if (input.sameHost.length > 0) {
    const routes = input.sameHost.map((r) => `  - ${describeRoute(r)}`).join('\n');
    return (
      `Airlock denied ${target}: ${host} is reachable from this session only as follows:\n${routes}\n` +
      `To allow this request, widen the path prefixes or methods of that binding in the sandbox profile, ` +
      `or add ${host} to the profile's egress allowlist (no credentials are added to allowlisted hosts).\n`
    );
  }
  return (
    `Airlock denied ${target}: ${host} is not allowed by this session's sandbox profile.\n` +
    `To allow it, add ${host} to the profile's egress allowlist (requests go out without credentials), ` +
    `or bind a connection whose integration brokers ${host} (the gateway adds the credential).${exact}\n`
  );
}
