import { runners } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import type { AppContext } from '../lib/context.ts';
import { ProblemError } from '../lib/problem.ts';
import { constantTimeEqual, runnerTokenHash } from '../lib/secret-hash.ts';
import { TokenError, verifyToken } from '../lib/tokens.ts';

// GET /runner/connect: a runner's WebSocket to its RunnerHub. Everything about
// the token is checked here, before the Durable Object is touched: signature,
// kid, expiry, purpose, issuer and audience, then the runner's row — registered
// in the token's org, not revoked, and the HMAC of this token's id still the
// one the row keeps (re-keying replaces it, revoking clears it). Every refusal
// is 401 problem+json: the runner treats 401 and 403 alike, and a bad token is
// a bad token whatever is wrong with it (ADR 0100).

function refused(detail: string, reason: string): ProblemError {
  return new ProblemError('unauthenticated', detail, {
    extensions: { reason },
    headers: { 'www-authenticate': 'Bearer realm="airlock-runner", error="invalid_token"' },
  });
}

function bearer(header: string | undefined): string {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header ?? '');
  if (!match?.[1])
    throw new ProblemError('unauthenticated', 'Send the runner token as `Authorization: Bearer <token>`.', {
      headers: { 'www-authenticate': 'Bearer realm="airlock-runner"' },
    });
  return match[1];
}

export async function runnerConnect(c: AppContext): Promise<Response> {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new ProblemError('upgrade_required', 'This endpoint speaks WebSocket only.', {
      headers: { upgrade: 'websocket' },
    });
  }
  const scope = c.get('scope');
  const config = scope.config();
  const token = bearer(c.req.header('authorization'));
  let claims: Awaited<ReturnType<typeof verifyToken<'runner'>>>;
  try {
    claims = await verifyToken(config, 'runner', token, { now: Math.floor(scope.now().getTime() / 1000) });
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    throw refused(`The runner token was refused: ${error.message}.`, error.code);
  }
  const [row] = await scope
    .db()
    .select({ orgId: runners.orgId, tokenHash: runners.tokenHash, revokedAt: runners.revokedAt })
    .from(runners)
    .where(eq(runners.id, claims.sub));
  if (row === undefined || row.orgId !== claims.org)
    throw refused('This runner is not registered.', 'unknown_runner');
  if (row.revokedAt !== null || row.tokenHash === null)
    throw refused('This runner has been revoked.', 'revoked');
  if (!constantTimeEqual(row.tokenHash, await runnerTokenHash(config.auth.pepper, claims.jti)))
    throw refused('This runner token has been replaced by a newer one.', 'replaced');

  const headers = new Headers(c.req.raw.headers);
  headers.delete('authorization');
  headers.set('x-airlock-runner-id', claims.sub);
  headers.set('x-airlock-org-id', claims.org);
  headers.set('x-airlock-heartbeat-ms', String(config.runners.heartbeat_seconds * 1000));
  headers.set('x-airlock-grace-ms', String(config.runners.offline_grace_seconds * 1000));
  scope.log.info('runner connecting', { runnerId: claims.sub, orgId: claims.org });
  const hub = c.env.RUNNER_HUB.get(c.env.RUNNER_HUB.idFromName(claims.sub));
  return hub.fetch(new Request(c.req.raw.url, { method: 'GET', headers }));
}
