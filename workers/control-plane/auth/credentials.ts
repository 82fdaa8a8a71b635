import { apiTokens, loginSessions, users } from '@airlock/schema/db';
import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { ProblemError } from '../../lib/problem.ts';
import { HASH_PURPOSE, hashSecret } from '../../lib/secret-hash.ts';
import type { ApiEnv, Principal } from '../env.ts';

// Who is calling: an API token (`Authorization: Bearer alk_…`) or the login
// session cookie. Both are opaque random strings we recognise by their HMAC;
// neither is ever stored or logged as is.

export const API_TOKEN_PREFIX = 'alk_';

const TOUCH_SESSION_MS = 5 * 60 * 1000;
const TOUCH_TOKEN_MS = 60 * 1000;

function unauthenticated(detail: string): ProblemError {
  return new ProblemError('unauthenticated', detail, {
    headers: { 'www-authenticate': 'Bearer realm="airlock"' },
  });
}

async function fromToken(c: Context<ApiEnv>, token: string): Promise<Principal> {
  const scope = c.get('scope');
  const config = scope.config();
  if (!token.startsWith(API_TOKEN_PREFIX))
    throw unauthenticated('The bearer token is not an Airlock API token.');
  const hash = await hashSecret(config.auth.pepper, HASH_PURPOSE.apiToken, token);
  const now = scope.now();
  const db = scope.db();
  const [row] = await db
    .select({
      id: apiTokens.id,
      orgId: apiTokens.orgId,
      userId: apiTokens.userId,
      email: users.email,
      revokedAt: apiTokens.revokedAt,
      expiresAt: apiTokens.expiresAt,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hash));
  if (row === undefined) throw unauthenticated('The API token is not valid.');
  if (row.revokedAt !== null) throw unauthenticated('The API token has been revoked.');
  if (row.expiresAt !== null && row.expiresAt <= now) throw unauthenticated('The API token has expired.');
  await db
    .update(apiTokens)
    .set({ lastUsedAt: now })
    .where(
      and(
        eq(apiTokens.id, row.id),
        or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(now.getTime() - TOUCH_TOKEN_MS))),
      ),
    );
  return {
    userId: row.userId,
    email: row.email,
    via: 'token',
    loginSessionId: null,
    tokenId: row.id,
    tokenOrgId: row.orgId,
  };
}

async function fromSession(c: Context<ApiEnv>, cookie: string): Promise<Principal> {
  const scope = c.get('scope');
  const config = scope.config();
  const hash = await hashSecret(config.auth.pepper, HASH_PURPOSE.session, cookie);
  const now = scope.now();
  const db = scope.db();
  const [row] = await db
    .select({
      id: loginSessions.id,
      userId: loginSessions.userId,
      email: users.email,
      lastSeenAt: loginSessions.lastSeenAt,
    })
    .from(loginSessions)
    .innerJoin(users, eq(users.id, loginSessions.userId))
    .where(
      and(
        eq(loginSessions.tokenHash, hash),
        isNull(loginSessions.revokedAt),
        gt(loginSessions.expiresAt, now),
      ),
    );
  if (row === undefined) throw unauthenticated('The login session is not valid any more; log in again.');
  if (now.getTime() - row.lastSeenAt.getTime() > TOUCH_SESSION_MS)
    await db.update(loginSessions).set({ lastSeenAt: now }).where(eq(loginSessions.id, row.id));
  return {
    userId: row.userId,
    email: row.email,
    via: 'session',
    loginSessionId: row.id,
    tokenId: null,
    tokenOrgId: null,
  };
}

export async function authenticate(c: Context<ApiEnv>): Promise<Principal> {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (match?.[1] === undefined) throw unauthenticated('Authorization must be "Bearer <API token>".');
    return fromToken(c, match[1]);
  }
  const cookie = getCookie(c, c.get('scope').config().auth.session.cookie_name);
  if (cookie === undefined || cookie === '') throw unauthenticated('Log in first, or send an API token.');
  return fromSession(c, cookie);
}

/** Origins allowed to make cookie-authenticated writes (CSRF defence). */
export function isTrustedOrigin(c: Context<ApiEnv>, origin: string): boolean {
  const config = c.get('scope').config();
  const trusted = [config.services.public_url, ...config.auth.trusted_origins].map((u) => new URL(u).origin);
  return trusted.includes(origin);
}

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
