import { IngressHeader, RESUME_TOKEN_PREFIX, TerminalKey } from '@airlock/schema/gateway';
import { isId } from '@airlock/schema/ids';
import type { Context } from 'hono';
import { API_TOKEN_PREFIX, authenticate, isTrustedOrigin } from '../control-plane/auth/credentials.ts';
import type { ApiEnv } from '../control-plane/env.ts';
import { grantTerminal } from '../control-plane/sessions/terminal-access.ts';
import type { AppContext } from '../lib/context.ts';
import { type ProblemCode, ProblemError } from '../lib/problem.ts';
import { TokenError, verifyToken } from '../lib/tokens.ts';

// WebSocket ingress to a session's gateway: the sandbox tunnel and terminal
// viewers. Tokens are checked here, before the Durable Object is touched; the
// request forwarded to it is built from scratch with the verified claims, so
// nothing a client sends can pose as them. Single-use ids (bootstrap, pty) and
// resume tokens are checked by the gateway itself, which rejects before it
// changes any state. A bad token is 401 problem+json whatever is wrong with it
// (ADR 0100); 403 is for a good credential asking too much (a cookie from a
// foreign origin).

const GATEWAY_STATUS: Readonly<Record<number, ProblemCode>> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  410: 'not_found',
  426: 'upgrade_required',
};

function requireUpgrade(c: AppContext): void {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
    throw new ProblemError('upgrade_required', 'This endpoint speaks WebSocket only.', {
      headers: { upgrade: 'websocket' },
    });
}

function sessionIdOf(c: AppContext): string {
  const sessionId = c.req.param('sessionId') ?? '';
  if (!isId('session', sessionId)) throw new ProblemError('not_found', 'No such session.');
  return sessionId;
}

/** A tunnel's gateway: a session's, or a snapshot build's temporary sandbox's (ADR 0035). */
function gatewayOwnerOf(c: AppContext): string {
  const owner = c.req.param('sessionId') ?? '';
  if (!isId('session', owner) && !isId('snapshot', owner))
    throw new ProblemError('not_found', 'No such session or snapshot build.');
  return owner;
}

function bearer(c: AppContext): string | null {
  const header = c.req.header('authorization');
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

function tokenProblem(error: unknown, what: string): ProblemError {
  if (error instanceof TokenError)
    return new ProblemError('unauthenticated', `The ${what} token is not valid (${error.code}).`, {
      extensions: { reason: error.code },
    });
  return new ProblemError('unauthenticated', `The ${what} token is not valid.`);
}

/** Forward to the session's gateway; its refusals become problem+json here. */
async function toGateway(
  c: AppContext,
  sessionId: string,
  headers: Record<string, string>,
): Promise<Response> {
  const namespace = c.env.SESSION_GATEWAY;
  const stub = namespace.get(namespace.idFromName(sessionId));
  const response = await stub.fetch('https://gateway.internal/ingress', {
    headers: { upgrade: 'websocket', [IngressHeader.session]: sessionId, ...headers },
  });
  if (response.status === 101) return response;
  const body = (await response.json().catch(() => ({}))) as { detail?: unknown };
  const detail =
    typeof body.detail === 'string' ? body.detail : 'The session gateway refused the connection.';
  throw new ProblemError(
    GATEWAY_STATUS[response.status] ?? 'internal',
    `${detail.charAt(0).toUpperCase()}${detail.slice(1)}.`,
  );
}

/**
 * `/tunnel/:sessionId` — sandboxd, with a bootstrap JWT or a resume token (PROTOCOL.md §1, §4).
 * The id may also be a snapshot build's (`snp_…`): its token's `sub` must name it all the same.
 */
export async function tunnelIngress(c: AppContext): Promise<Response> {
  requireUpgrade(c);
  const sessionId = gatewayOwnerOf(c);
  const token = bearer(c);
  if (token === null)
    throw new ProblemError('unauthenticated', 'Send the bootstrap or resume token as a Bearer token.');
  if (token.startsWith(RESUME_TOKEN_PREFIX))
    return toGateway(c, sessionId, {
      [IngressHeader.kind]: 'tunnel',
      [IngressHeader.tunnelAuth]: 'resume',
      [IngressHeader.resumeToken]: token,
    });
  const claims = await verifyToken(c.get('scope').config(), 'bootstrap', token).catch((error: unknown) => {
    throw tokenProblem(error, 'bootstrap');
  });
  if (claims.sub !== sessionId)
    throw new ProblemError('unauthenticated', 'The bootstrap token is for another session.', {
      extensions: { reason: 'wrong_subject' },
    });
  return toGateway(c, sessionId, {
    [IngressHeader.kind]: 'tunnel',
    [IngressHeader.tunnelAuth]: 'bootstrap',
    [IngressHeader.jti]: claims.jti,
    [IngressHeader.expires]: String(claims.exp),
    [IngressHeader.org]: claims.org,
  });
}

/** Who a viewer is and what it may do, from a pty token (query `token` or Bearer). */
async function ptyTokenGrant(c: AppContext, sessionId: string, token: string) {
  const claims = await verifyToken(c.get('scope').config(), 'pty', token).catch((error: unknown) => {
    throw tokenProblem(error, 'pty');
  });
  if (claims.sub !== sessionId)
    throw new ProblemError('unauthenticated', 'The pty token is for another session.', {
      extensions: { reason: 'wrong_subject' },
    });
  return {
    [IngressHeader.org]: claims.org,
    [IngressHeader.jti]: claims.jti,
    [IngressHeader.expires]: String(claims.exp),
    [IngressHeader.mode]: claims.mode,
    [IngressHeader.user]: claims.uid,
  };
}

/** …or from the login cookie (same-origin browsers) or an API token (CLI), with the org role. */
async function principalGrant(c: AppContext, sessionId: string) {
  const origin = c.req.header('origin');
  const viaCookie = c.req.header('authorization') === undefined;
  // A WebSocket carries cookies cross-site: only the dashboard's origins may use them.
  if (viaCookie && (origin === undefined || !isTrustedOrigin(c as unknown as Context<ApiEnv>, origin)))
    throw new ProblemError(
      'forbidden',
      'Terminal connections with the login cookie must come from the dashboard.',
    );
  // The edge runs in the app's request scope, which is what authenticate() reads.
  const principal = await authenticate(c as unknown as Context<ApiEnv>);
  const requested = c.req.query('mode');
  const grant = await grantTerminal(c.get('scope').db(), {
    sessionId,
    userId: principal.userId,
    ...(principal.tokenOrgId === null ? {} : { orgId: principal.tokenOrgId }),
    ...(requested === 'rw' || requested === 'ro' ? { requested } : {}),
  });
  return {
    [IngressHeader.org]: grant.orgId,
    [IngressHeader.mode]: grant.mode,
    [IngressHeader.user]: principal.userId,
  };
}

/**
 * `/pty/:sessionId?terminal=agent` — a terminal viewer: with a pty token (query `token`, as
 * browsers cannot set headers on a WebSocket, or Bearer), or with the login cookie or an API
 * token plus the org role (`mode=ro` to only watch).
 */
export async function ptyIngress(c: AppContext): Promise<Response> {
  requireUpgrade(c);
  const sessionId = sessionIdOf(c);
  const terminal = c.req.query('terminal') ?? 'agent';
  if (!TerminalKey.safeParse(terminal).success)
    throw new ProblemError('bad_request', 'Unknown terminal name.');
  const header = bearer(c);
  const token =
    c.req.query('token') ?? (header !== null && !header.startsWith(API_TOKEN_PREFIX) ? header : null);
  const grant =
    token !== null ? await ptyTokenGrant(c, sessionId, token) : await principalGrant(c, sessionId);
  return toGateway(c, sessionId, {
    [IngressHeader.kind]: 'pty',
    [IngressHeader.terminal]: terminal,
    ...grant,
  });
}
