import { Quota } from '@airlock/schema/api';
import { sessions } from '@airlock/schema/db';
import { and, count, eq, notInArray } from 'drizzle-orm';
import { createRoute, defineRoute, json, OrgParams } from '../route.ts';

// The org's limits as the dashboard shows them next to its runners: how many
// sessions may run at once (the OrgLimiter enforces it) and how many do.

export const quotaRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'runners.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/quota',
      tags: ['runners'],
      summary: 'Session quota and current use',
      request: { params: OrgParams },
      responses: { 200: json(Quota, 'The quota') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const limits = scope.config().limits;
      const [row] = await scope
        .db()
        .select({ active: count() })
        .from(sessions)
        .where(
          and(eq(sessions.orgId, c.get('member').orgId), notInArray(sessions.status, ['stopped', 'failed'])),
        );
      return c.json(
        {
          maxConcurrentSessions: limits.max_concurrent_sessions_per_org,
          activeSessions: row?.active ?? 0,
          sessionStartsPerMinute: limits.session_starts_per_minute,
          sessionTtlSeconds: limits.session_ttl_seconds,
          idleTimeoutSeconds: limits.idle_timeout_seconds,
        },
        200,
      );
    },
  }),
];
