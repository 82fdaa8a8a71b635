import { AuditPage, AuditQuery, PathId } from '@airlock/schema/api';
import { auditEvents } from '@airlock/schema/db';
import { and, desc, eq, gte, lt, or } from 'drizzle-orm';
import { z } from 'zod';
import { decodeCursor, paginate } from '../cursor.ts';
import { iso } from '../env.ts';
import { createRoute, defineRoute, json } from '../route.ts';

export const auditRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'audit.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/audit',
      tags: ['audit'],
      summary: 'Audit events, newest first, filtered; keyset-paginated on (at, id)',
      request: { params: z.object({ orgId: PathId }), query: AuditQuery },
      responses: { 200: json(AuditPage, 'A page of events') },
    }),
    handler: async (c) => {
      const q = c.req.valid('query');
      const after = decodeCursor(q.cursor);
      const t = auditEvents;
      const rows = await c
        .get('scope')
        .db()
        .select()
        .from(t)
        .where(
          and(
            eq(t.orgId, c.get('member').orgId),
            ...(q.sessionId === undefined ? [] : [eq(t.sessionId, q.sessionId)]),
            ...(q.userId === undefined ? [] : [eq(t.actorUserId, q.userId)]),
            ...(q.tokenId === undefined ? [] : [eq(t.actorTokenId, q.tokenId)]),
            ...(q.connectionId === undefined ? [] : [eq(t.connectionId, q.connectionId)]),
            ...(q.triggerId === undefined ? [] : [eq(t.triggerId, q.triggerId)]),
            ...(q.host === undefined ? [] : [eq(t.host, q.host.toLowerCase())]),
            ...(q.decision === undefined ? [] : [eq(t.decision, q.decision)]),
            ...(q.kind === undefined ? [] : [eq(t.kind, q.kind)]),
            ...(q.action === undefined ? [] : [eq(t.action, q.action)]),
            ...(q.from === undefined ? [] : [gte(t.at, new Date(q.from))]),
            ...(q.to === undefined ? [] : [lt(t.at, new Date(q.to))]),
            ...(after === undefined
              ? []
              : [or(lt(t.at, after.at), and(eq(t.at, after.at), lt(t.id, after.id)))]),
          ),
        )
        .orderBy(desc(t.at), desc(t.id))
        .limit(q.limit + 1);
      const page = paginate(rows, q.limit, (r) => ({ at: r.at, id: r.id }));
      return c.json(
        {
          items: page.items.map((r) => ({
            id: r.id,
            at: iso(r.at),
            kind: r.kind,
            action: r.action,
            actorUserId: r.actorUserId,
            actorTokenId: r.actorTokenId,
            sessionId: r.sessionId,
            triggerId: r.triggerId,
            connectionId: r.connectionId,
            routeId: r.routeId,
            decision: r.decision,
            method: r.method,
            host: r.host,
            path: r.path,
            status: r.status,
            bytesIn: r.bytesIn,
            bytesOut: r.bytesOut,
            durationMs: r.durationMs,
            targetId: r.targetId,
            detail: r.detail,
            count: r.count,
            lastAt: iso(r.lastAt),
          })),
          nextCursor: page.nextCursor,
        },
        200,
      );
    },
  }),
];
