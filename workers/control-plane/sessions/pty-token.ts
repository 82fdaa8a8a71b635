import { CreatePtyToken, PtyToken } from '@airlock/schema/api';
import { mintToken } from '../../lib/tokens.ts';
import { recordAudit } from '../audit/record.ts';
import { body, createRoute, defineRoute, json } from '../route.ts';
import { SessionParams } from './routes.ts';
import { grantTerminal } from './terminal-access.ts';

// POST /orgs/{orgId}/sessions/{sessionId}/pty-token: a seconds-lived,
// single-use token to attach to one of the session's terminals.

export const ptyTokenRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'sessions.read' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/sessions/{sessionId}/pty-token',
      tags: ['sessions'],
      summary: 'A short-lived token to attach to a session terminal',
      description:
        'Read-write for the person who started the session and for owners and admins, read-only for other ' +
        'members. Open `url` as a WebSocket within the lifetime; the token works once. Protocol: ' +
        'schema/pty/PROTOCOL.md.',
      request: { params: SessionParams, body: body(CreatePtyToken) },
      responses: { 201: json(PtyToken, 'The token and the WebSocket URL') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const { sessionId } = c.req.valid('param');
      const db = scope.db();
      const grant = await grantTerminal(db, {
        sessionId,
        userId: principal.userId,
        orgId: member.orgId,
        ...(input.mode === undefined ? {} : { requested: input.mode }),
      });
      const config = scope.config();
      const minted = await mintToken(config, 'pty', {
        sub: sessionId,
        org: member.orgId,
        uid: principal.userId,
        mode: grant.mode,
      });
      const url = new URL(`/pty/${sessionId}`, config.services.public_url);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('terminal', input.terminal);
      url.searchParams.set('token', minted.token);
      const now = scope.now();
      await recordAudit(
        db,
        {
          orgId: member.orgId,
          action: 'session.terminal_token',
          principal,
          sessionId,
          targetId: sessionId,
          detail: { mode: grant.mode, terminal: input.terminal },
        },
        now,
      );
      return c.json(
        {
          token: minted.token,
          mode: grant.mode,
          expiresAt: new Date(minted.expiresAt * 1000).toISOString(),
          url: url.href,
        },
        201,
      );
    },
  }),
];
