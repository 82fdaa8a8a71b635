import { allowsPlainHttp } from '@airlock/config';
import {
  CreateSession,
  PathId,
  SESSION_STATUSES,
  Session,
  SessionEventList,
  SessionListQuery,
  SessionPage,
} from '@airlock/schema/api';
import { sessionEvents, sessions } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, asc, desc, eq, inArray, lt, or } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../lib/db.ts';
import { safeErrorMessage } from '../../lib/log.ts';
import { ProblemError } from '../../lib/problem.ts';
import { enforceRateLimit } from '../../lib/rate-limit.ts';
import { signalStop } from '../../lifecycle/session-state.ts';
import { recordAudit } from '../audit/record.ts';
import { decodeCursor, paginate } from '../cursor.ts';
import { iso } from '../env.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { withIdempotency } from './idempotency.ts';
import { resolveStartTarget, sessionOut } from './service.ts';

const tags = ['sessions'];
export const SessionParams = OrgParams.extend({ sessionId: PathId });
const ACTIVE = SESSION_STATUSES.filter((s) => s !== 'stopping' && s !== 'stopped' && s !== 'failed');

export async function findSession(db: Database, orgId: string, id: string) {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.orgId, orgId)));
  if (row === undefined) throw new ProblemError('not_found', `No session ${id} in this org.`);
  return row;
}

export const sessionRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'sessions.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/sessions',
      tags,
      summary: 'Sessions, newest first',
      request: { params: OrgParams, query: SessionListQuery },
      responses: { 200: json(SessionPage, 'A page of sessions') },
    }),
    handler: async (c) => {
      const query = c.req.valid('query');
      const after = decodeCursor(query.cursor);
      const rows = await c
        .get('scope')
        .db()
        .select()
        .from(sessions)
        .where(
          and(
            eq(sessions.orgId, c.get('member').orgId),
            ...(query.status === undefined ? [] : [eq(sessions.status, query.status)]),
            ...(query.profileId === undefined ? [] : [eq(sessions.profileId, query.profileId)]),
            ...(after === undefined
              ? []
              : [
                  or(
                    lt(sessions.createdAt, after.at),
                    and(eq(sessions.createdAt, after.at), lt(sessions.id, after.id)),
                  ),
                ]),
          ),
        )
        .orderBy(desc(sessions.createdAt), desc(sessions.id))
        .limit(query.limit + 1);
      const page = paginate(rows, query.limit, (r) => ({ at: r.createdAt, id: r.id }));
      return c.json({ items: page.items.map(sessionOut), nextCursor: page.nextCursor }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'sessions.start' },
    problems: ['conflict', 'rate_limited', 'unavailable'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/sessions',
      tags,
      summary: 'Start a session from a published version whose snapshot is ready',
      description:
        'Send an Idempotency-Key header to make retries safe: the same key and body return the first response; the same key with another body answers 422. A version that cannot start answers 409 with a `reason`.',
      request: {
        params: OrgParams,
        body: body(CreateSession),
        headers: z.object({ 'idempotency-key': z.string().max(255).optional() }),
      },
      responses: { 201: json(Session, 'Started (pending; the lifecycle takes it from here)') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const result = await withIdempotency(
        scope,
        {
          key: c.req.valid('header')['idempotency-key'],
          namespace: ['sessions', member.orgId, principal.tokenId ?? principal.userId],
          request: input,
        },
        async () => {
          await enforceRateLimit(
            scope,
            {
              name: 'session-start',
              limit: scope.config().limits.session_starts_per_minute,
              windowSeconds: 60,
            },
            member.orgId,
            'session starts in this org',
          );
          const db = scope.db();
          const target = await resolveStartTarget(
            db,
            member.orgId,
            input.profileId,
            input.versionId,
            allowsPlainHttp(scope.config()),
          );
          const now = scope.now();
          const id = newId('session', now.getTime());
          const row = await db.transaction(async (tx) => {
            const [created] = await tx
              .insert(sessions)
              .values({
                id,
                orgId: member.orgId,
                profileId: target.profileId,
                profileVersionId: target.version.id,
                snapshotId: target.snapshotId,
                mode: input.mode,
                prompt: input.prompt ?? null,
                startedBy: principal.userId,
                startedByTokenId: principal.tokenId,
                provider: target.version.sandboxProvider,
                agentRuntime: target.version.agentRuntime,
                agentVersion: target.agentVersion,
                createdAt: now,
              })
              .returning();
            await tx.insert(sessionEvents).values({
              sessionId: id,
              fromStatus: null,
              toStatus: 'pending',
              reason: `started by ${principal.email}${principal.tokenId === null ? '' : ` with token ${principal.tokenId}`}`,
              createdAt: now,
            });
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'session.started',
                principal,
                sessionId: id,
                targetId: id,
                detail: { profileId: target.profileId, versionId: target.version.id, mode: input.mode },
              },
              now,
            );
            return created;
          });
          if (row === undefined) throw new Error('session insert returned nothing');
          try {
            await c.env.SESSION_LIFECYCLE.create({ id, params: { sessionId: id } });
          } catch (error) {
            const reason = `could not start the session lifecycle: ${safeErrorMessage(error)}`.slice(0, 500);
            await db
              .update(sessions)
              .set({ status: 'failed', failureReason: reason, stoppedAt: now })
              .where(eq(sessions.id, id));
            await db
              .insert(sessionEvents)
              .values({ sessionId: id, fromStatus: 'pending', toStatus: 'failed', reason, createdAt: now });
            throw new ProblemError('unavailable', 'The session could not be started; try again shortly.', {
              extensions: { sessionId: id },
            });
          }
          return { status: 201, body: sessionOut(row) };
        },
      );
      return c.json(result.body as Session, 201, result.replayed ? { 'idempotent-replayed': 'true' } : {});
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'sessions.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/sessions/{sessionId}',
      tags,
      summary: 'A session',
      request: { params: SessionParams },
      responses: { 200: json(Session, 'The session') },
    }),
    handler: async (c) =>
      c.json(
        sessionOut(
          await findSession(c.get('scope').db(), c.get('member').orgId, c.req.valid('param').sessionId),
        ),
        200,
      ),
  }),
  defineRoute({
    access: { kind: 'org', permission: 'sessions.stop' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/sessions/{sessionId}/stop',
      tags,
      summary: 'Ask a session to stop (marks it stopping; the lifecycle stops the sandbox)',
      description:
        'Idempotent: stopping a session that is already stopping, stopped or failed changes nothing.',
      request: { params: SessionParams },
      responses: { 202: json(Session, 'Stopping (or already ended)') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const db = scope.db();
      const current = await findSession(db, member.orgId, c.req.valid('param').sessionId);
      const now = scope.now();
      const updated = await db.transaction(async (tx) => {
        const [row] = await tx
          .update(sessions)
          .set({ status: 'stopping' })
          .where(and(eq(sessions.id, current.id), inArray(sessions.status, ACTIVE)))
          .returning();
        if (row === undefined) return undefined;
        await tx.insert(sessionEvents).values({
          sessionId: row.id,
          fromStatus: current.status,
          toStatus: 'stopping',
          reason: `stopped by ${principal.email}`,
          createdAt: now,
        });
        await recordAudit(
          tx,
          { orgId: member.orgId, action: 'session.stopped', principal, sessionId: row.id, targetId: row.id },
          now,
        );
        return row;
      });
      // Wake the lifecycle now rather than at its next look at the database.
      if (updated !== undefined) await signalStop(c.env, updated, 'stopped on request');
      return c.json(sessionOut(updated ?? (await findSession(db, member.orgId, current.id))), 202);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'sessions.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/sessions/{sessionId}/events',
      tags,
      summary: "A session's status history",
      request: { params: SessionParams },
      responses: { 200: json(SessionEventList, 'Status changes, oldest first') },
    }),
    handler: async (c) => {
      const db = c.get('scope').db();
      const session = await findSession(db, c.get('member').orgId, c.req.valid('param').sessionId);
      const rows = await db
        .select()
        .from(sessionEvents)
        .where(eq(sessionEvents.sessionId, session.id))
        .orderBy(asc(sessionEvents.id));
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            fromStatus: r.fromStatus,
            toStatus: r.toStatus,
            reason: r.reason,
            at: iso(r.createdAt),
          })),
        },
        200,
      );
    },
  }),
];
