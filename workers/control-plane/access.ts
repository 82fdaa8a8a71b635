import { can } from '@airlock/schema/api';
import { memberships } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { ProblemError } from '../lib/problem.ts';
import { authenticate, isTrustedOrigin, SAFE_METHODS } from './auth/credentials.ts';
import type { ApiEnv } from './env.ts';
import type { Access } from './route.ts';

// Runs before a route's validators: authenticate, refuse cross-site writes,
// resolve the caller's membership of the path's org (none → 404, so a foreign
// org's existence is not revealed), then check the route's permission (403).

export function accessMiddleware(access: Access): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const origin = c.req.header('origin');
    const unsafe = !SAFE_METHODS.has(c.req.method);
    if (access.kind === 'public') {
      // Login CSRF: a browser posting from a foreign origin is refused; clients without Origin (CLI) are not.
      if (unsafe && origin !== undefined && !isTrustedOrigin(c, origin))
        throw new ProblemError('forbidden', `Requests from origin ${origin} are not accepted.`);
      await next();
      return;
    }
    const principal = await authenticate(c);
    if (principal.via === 'session' && unsafe && (origin === undefined || !isTrustedOrigin(c, origin)))
      throw new ProblemError(
        'forbidden',
        'Cookie-authenticated writes must come from the dashboard origin (Origin header missing or not trusted).',
      );
    if (access.sessionOnly === true && principal.via !== 'session')
      throw new ProblemError('forbidden', 'This needs a login session; API tokens cannot do it.');
    c.set('principal', principal);
    if (access.kind === 'org') {
      const orgId = c.req.param('orgId') ?? '';
      const notFound = new ProblemError('not_found', `No org ${orgId} among yours.`);
      if (principal.tokenOrgId !== null && principal.tokenOrgId !== orgId) throw notFound;
      // Runs before the validators: an id Postgres cannot hold (U+0000) names no org.
      if (orgId.includes('\u0000')) throw notFound;
      const [membership] = await c
        .get('scope')
        .db()
        .select({ id: memberships.id, role: memberships.role })
        .from(memberships)
        .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, principal.userId)));
      if (membership === undefined) throw notFound;
      if (!can(membership.role, access.permission))
        throw new ProblemError(
          'forbidden',
          `Your role (${membership.role}) may not do this (${access.permission}).`,
          {
            extensions: { permission: access.permission, role: membership.role },
          },
        );
      c.set('member', { orgId, membershipId: membership.id, role: membership.role });
    }
    await next();
  };
}
