import { CreateTerminalToken, can, PathId, TerminalToken } from '@airlock/schema/api';
import { ProblemError } from '../../lib/problem.ts';
import { mintToken } from '../../lib/tokens.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { findSession } from './routes.ts';

// A terminal viewer's ticket: a single-use pty token (schema/tokens, seconds
// lived) for the session's gateway at /pty/{sessionId}. The dashboard asks for
// a fresh one on every (re)connect. Anyone who may see the session may watch;
// typing (`rw`) needs `sessions.start`, and the gateway still lets only one
// read-write viewer write at a time.

const ENDED = new Set(['stopping', 'stopped', 'failed']);

export const terminalTokenRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'sessions.read' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/sessions/{sessionId}/terminal-token',
      tags: ['sessions'],
      summary: "A single-use token to attach to the session's terminal (WebSocket /pty/{sessionId})",
      description:
        'A role without `sessions.start` gets a read-only token whatever it asks for; an ended session answers 409.',
      request: { params: OrgParams.extend({ sessionId: PathId }), body: body(CreateTerminalToken) },
      responses: { 201: json(TerminalToken, 'The token and the WebSocket path to open with it') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const session = await findSession(scope.db(), member.orgId, c.req.valid('param').sessionId);
      if (ENDED.has(session.status))
        throw new ProblemError('conflict', `The session is ${session.status}; its terminal has closed.`, {
          extensions: { status: session.status },
        });
      const mode = c.req.valid('json').mode === 'rw' && can(member.role, 'sessions.start') ? 'rw' : 'ro';
      const minted = await mintToken(
        scope.config(),
        'pty',
        { sub: session.id, org: member.orgId, uid: c.get('principal').userId, mode },
        { now: Math.floor(scope.now().getTime() / 1000) },
      );
      return c.json(
        {
          token: minted.token,
          mode,
          url: `/pty/${session.id}?terminal=agent&token=${encodeURIComponent(minted.token)}`,
          expiresAt: new Date(minted.expiresAt * 1000).toISOString(),
        },
        201,
      );
    },
  }),
];
