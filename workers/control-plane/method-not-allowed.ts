import type { OpenAPIHono } from '@hono/zod-openapi';
import { ProblemError } from '../lib/problem.ts';
import type { ApiEnv } from './env.ts';
import type { ApiRoute } from './route.ts';

// A known path asked with a method it does not serve answers 405 with `Allow`
// (RFC 9110 §15.5.6), not 404: a client can tell "wrong method" from "wrong
// path". Registered after every route, so a served method always wins; the
// methods come from the same registry as the routes and the OpenAPI document.

/** `/orgs/{orgId}` → `/orgs/:orgId`, as Hono spells path parameters. */
const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

export function allowedMethods(routes: readonly ApiRoute[]): Map<string, string[]> {
  const byPath = new Map<string, Set<string>>();
  for (const { route } of routes) {
    const methods = byPath.get(route.path) ?? new Set<string>();
    methods.add(route.method.toUpperCase());
    // Hono answers HEAD with the GET handler.
    if (route.method === 'get') methods.add('HEAD');
    byPath.set(route.path, methods);
  }
  return new Map([...byPath].map(([path, methods]) => [path, [...methods].sort()]));
}

export function methodNotAllowed(api: OpenAPIHono<ApiEnv>, routes: readonly ApiRoute[]): void {
  for (const [path, methods] of allowedMethods(routes)) {
    const allow = methods.join(', ');
    api.all(honoPath(path), (c) => {
      throw new ProblemError('method_not_allowed', `${c.req.method} is not served here; use ${allow}.`, {
        headers: { allow },
        extensions: { allow: methods },
      });
    });
  }
}
