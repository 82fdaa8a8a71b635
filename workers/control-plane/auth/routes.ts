import { LoginSession, Me, Ok, OtpRequest, OtpRequested, OtpVerify, PathId } from '@airlock/schema/api';
import { loginSessions, users } from '@airlock/schema/db';
import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { ProblemError } from '../../lib/problem.ts';
import { iso } from '../env.ts';
import { body, createRoute, defineRoute, json } from '../route.ts';
import { loadMe } from './me.ts';
import { requestCode, verifyCode } from './otp.ts';

const tags = ['auth'];

export const authRoutes = [
  defineRoute({
    access: { kind: 'public' },
    problems: ['rate_limited', 'unavailable'],
    route: createRoute({
      method: 'post',
      path: '/auth/otp/request',
      tags,
      summary: 'Email a login code',
      description: 'Always answers the same, whether or not the address has an account.',
      request: { body: body(OtpRequest) },
      responses: { 202: json(OtpRequested, 'The code is on its way (if the address may log in)') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const { email } = c.req.valid('json');
      await requestCode(scope, email, c.req.raw.headers);
      const otp = scope.config().auth.otp;
      return c.json(
        { sent: true as const, codeLength: otp.length, expiresInSeconds: otp.expires_in_seconds },
        202,
      );
    },
  }),
  defineRoute({
    access: { kind: 'public' },
    problems: ['unauthenticated', 'rate_limited'],
    route: createRoute({
      method: 'post',
      path: '/auth/otp/verify',
      tags,
      summary: 'Log in with the emailed code',
      description:
        'Sets the HttpOnly session cookie. Wrong, expired and exhausted codes answer 401 with a `reason`.',
      request: { body: body(OtpVerify) },
      responses: { 200: json(Me, 'Logged in') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const { email, code } = c.req.valid('json');
      const outcome = await verifyCode(scope, email, code, c.req.raw.headers);
      const config = scope.config();
      setCookie(c, config.auth.session.cookie_name, outcome.cookie, {
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
        path: '/',
        expires: outcome.expiresAt,
      });
      const [user] = await scope
        .db()
        .select({ email: users.email })
        .from(users)
        .where(eq(users.id, outcome.userId));
      const me = await loadMe(scope.db(), {
        userId: outcome.userId,
        email: user?.email ?? email,
        via: 'session',
        loginSessionId: outcome.loginSessionId,
        tokenId: null,
        tokenOrgId: null,
      });
      return c.json(me, 200);
    },
  }),
  defineRoute({
    access: { kind: 'user', sessionOnly: true },
    route: createRoute({
      method: 'post',
      path: '/auth/logout',
      tags,
      summary: 'Log out (revokes this login session)',
      responses: { 200: json(Ok, 'Logged out') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const principal = c.get('principal');
      if (principal.loginSessionId !== null)
        await scope
          .db()
          .update(loginSessions)
          .set({ revokedAt: scope.now() })
          .where(eq(loginSessions.id, principal.loginSessionId));
      deleteCookie(c, scope.config().auth.session.cookie_name, { path: '/', secure: true });
      return c.json({ ok: true as const }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'user' },
    route: createRoute({
      method: 'get',
      path: '/me',
      tags,
      summary: 'Who am I: the user, their orgs and how this request is authenticated',
      responses: { 200: json(Me, 'The caller') },
    }),
    handler: async (c) => c.json(await loadMe(c.get('scope').db(), c.get('principal')), 200),
  }),
  defineRoute({
    access: { kind: 'user', sessionOnly: true },
    route: createRoute({
      method: 'get',
      path: '/auth/sessions',
      tags,
      summary: "The caller's active login sessions",
      responses: {
        200: json(z.object({ items: z.array(LoginSession) }).meta({ id: 'LoginSessionList' }), 'Sessions'),
      },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const principal = c.get('principal');
      const rows = await scope
        .db()
        .select()
        .from(loginSessions)
        .where(
          and(
            eq(loginSessions.userId, principal.userId),
            isNull(loginSessions.revokedAt),
            gt(loginSessions.expiresAt, scope.now()),
          ),
        )
        .orderBy(desc(loginSessions.createdAt));
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            createdAt: iso(r.createdAt),
            lastSeenAt: iso(r.lastSeenAt),
            expiresAt: iso(r.expiresAt),
            userAgent: r.userAgent,
            ip: r.ip,
            current: r.id === principal.loginSessionId,
          })),
        },
        200,
      );
    },
  }),
  defineRoute({
    access: { kind: 'user', sessionOnly: true },
    route: createRoute({
      method: 'delete',
      path: '/auth/sessions/{loginSessionId}',
      tags,
      summary: 'Revoke one of your login sessions (e.g. a lost laptop)',
      request: { params: z.object({ loginSessionId: PathId }) },
      responses: { 200: json(Ok, 'Revoked') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const { loginSessionId } = c.req.valid('param');
      const [row] = await scope
        .db()
        .update(loginSessions)
        .set({ revokedAt: scope.now() })
        .where(
          and(
            eq(loginSessions.id, loginSessionId),
            eq(loginSessions.userId, c.get('principal').userId),
            isNull(loginSessions.revokedAt),
          ),
        )
        .returning({ id: loginSessions.id });
      if (row === undefined)
        throw new ProblemError('not_found', `No active login session ${loginSessionId} of yours.`);
      return c.json({ ok: true as const }, 200);
    },
  }),
];
