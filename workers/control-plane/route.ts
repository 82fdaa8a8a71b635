import type { Permission } from '@airlock/schema/api';
import { PathId, Problem, ValidationProblem } from '@airlock/schema/api';
import { createRoute, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import { z } from 'zod';
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
  readonly handler: (c: HandlerContext<RouteConfig>) => Promise<Response>;
}

export function defineRoute<R extends RouteConfig>(spec: {
  route: R;
  access: Access;
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

/** The error responses a route can give, by its access rule (added to every route's description). */
export function problemResponses(access: Access): RouteConfig['responses'] {
  return {
    ...(access.kind === 'public'
      ? {}
      : { 401: problem('Not logged in, or the session/token is revoked or expired') }),
    ...(access.kind === 'public'
      ? {}
      : { 403: problem('The role lacks the permission, or the Origin is not trusted') }),
    ...(access.kind === 'org' ? { 404: problem('No such resource in an org the caller belongs to') } : {}),
    413: problem('The request body is larger than limits.max_request_body_bytes'),
    422: problem('The request does not validate; `errors` lists each field', ValidationProblem),
    429: problem('Rate limited; retry after the Retry-After header'),
  };
}

export { createRoute };

/** Path parameters of every org route. */
export const OrgParams = z.object({ orgId: PathId });
