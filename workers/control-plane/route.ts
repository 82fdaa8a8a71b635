import type { Permission } from '@airlock/schema/api';
import { PathId, Problem, ValidationProblem } from '@airlock/schema/api';
import { createRoute, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import { z } from 'zod';
import { PROBLEM_TYPES, type ProblemCode } from '../lib/problem.ts';
import type { ApiEnv } from './env.ts';

// One control-plane route: its OpenAPI description, who may call it, and the
// handler. Every route is declared through `defineRoute` and listed in
// routes.ts, so the access middleware, the OpenAPI document and the
// authorization-matrix test all see the same table.

export type Access =
  | { readonly kind: 'public' }
  /** Any logged-in user or token; `sessionOnly` refuses API tokens. */
  | { readonly kind: 'user'; readonly sessionOnly?: boolean }
  /** A member of the path's `{orgId}` holding `permission`. */
  | { readonly kind: 'org'; readonly permission: Permission; readonly sessionOnly?: boolean };

type HandlerContext<R extends RouteConfig> = Parameters<RouteHandler<R, ApiEnv>>[0];

export interface ApiRoute {
  readonly route: RouteConfig;
  readonly access: Access;
  /**
   * Problems the handler itself raises (409, 429, 503, a public route's 401, ...).
   * Those of the access rule, body parsing and validation are derived from the
   * route's shape by `problemResponses`; the contract test fails on any status
   * a route answers that its OpenAPI operation does not list.
   */
  readonly problems?: readonly ProblemCode[];
  readonly handler: (c: HandlerContext<RouteConfig>) => Promise<Response>;
}

export function defineRoute<R extends RouteConfig>(spec: {
  route: R;
  access: Access;
  problems?: readonly ProblemCode[];
  handler: (c: HandlerContext<R>) => Promise<Response>;
}): ApiRoute {
  return spec as unknown as ApiRoute;
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const body = <T extends z.ZodType>(schema: T) => ({
  content: { 'application/json': { schema } },
  required: true,
});

const problem = (description: string, schema: z.ZodType = Problem) => ({
  description,
  content: { 'application/problem+json': { schema } },
});

const DESCRIPTIONS: Partial<Record<ProblemCode, string>> = {
  bad_request: 'The body is not well-formed JSON',
  unauthenticated: 'Not logged in, or the session/token is revoked or expired',
  forbidden: 'The role lacks the permission, or the Origin is not trusted',
  not_found: 'No such resource in an org the caller belongs to',
  conflict: 'The request conflicts with the current state (see `detail`)',
  payload_too_large: 'The request body is larger than limits.max_request_body_bytes',
  unsupported_media_type: 'The body is not application/json',
  validation_failed:
    'The request does not validate; `errors` lists each field (no string may contain U+0000)',
  rate_limited: 'Rate limited; retry after the Retry-After header',
  unavailable: 'A dependency is briefly unavailable; retry shortly',
};

const SAFE = new Set(['get', 'head', 'options']);

/** Whether the route reads a JSON body (body parsing, size limit and media type apply). */
export const takesBody = (route: RouteConfig): boolean => route.request?.body !== undefined;

/**
 * Every problem a route can answer, derived from its shape (access rule, path
 * parameters, request schemas) plus the ones its handler declares. The
 * middleware that produces each status is registered from the same facts in
 * app.ts, so the document and the behaviour cannot drift apart.
 */
export function routeProblems(spec: ApiRoute): ProblemCode[] {
  const { route, access } = spec;
  const codes = new Set<ProblemCode>(spec.problems ?? []);
  const request = route.request;
  if (takesBody(route)) {
    for (const code of ['bad_request', 'payload_too_large', 'unsupported_media_type'] as const)
      codes.add(code);
  }
  if (access.kind !== 'public') codes.add('unauthenticated');
  // A public write still refuses browsers posting from a foreign origin (login CSRF).
  if (access.kind !== 'public' || !SAFE.has(route.method)) codes.add('forbidden');
  if (access.kind === 'org' || /\{\w+\}/.test(route.path)) codes.add('not_found');
  if (
    request?.params !== undefined ||
    request?.query !== undefined ||
    request?.headers !== undefined ||
    takesBody(route)
  )
    codes.add('validation_failed');
  return [...codes];
}

/** The error responses of a route's OpenAPI operation (see `routeProblems`). */
export function problemResponses(spec: ApiRoute): RouteConfig['responses'] {
  return Object.fromEntries(
    routeProblems(spec).map((code) => [
      PROBLEM_TYPES[code].status,
      problem(
        DESCRIPTIONS[code] ?? PROBLEM_TYPES[code].title,
        code === 'validation_failed' ? ValidationProblem : Problem,
      ),
    ]),
  );
}

export { createRoute };

/** Path parameters of every org route. */
export const OrgParams = z.object({ orgId: PathId });
