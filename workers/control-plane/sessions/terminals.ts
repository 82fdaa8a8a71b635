import { OpenedTerminal, OpenTerminal } from '@airlock/schema/api';
import { ProblemError } from '../../lib/problem.ts';
import { openSecretsInSandbox } from '../../lifecycle/secrets-in-sandbox.ts';
import { currentPlan } from '../../lifecycle/session-plan.ts';
import { recordAudit } from '../audit/record.ts';
import { body, createRoute, defineRoute, json } from '../route.ts';
import { findSession, SessionParams } from './routes.ts';
import { grantTerminal } from './terminal-access.ts';

// POST /orgs/{orgId}/sessions/{sessionId}/terminals: a login shell next to the
// agent (the agent's own terminal is its TUI). Whoever may type in a session's
// terminals may open one; it runs as the sandbox user with the agent's
// directory and environment — placeholders, plus any secret the team chose to
// put inside the sandbox (ADR 0152) — and its traffic
// goes through the same gateway. Attach to it with a pty token for its name.

export const terminalRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'sessions.start' },
    problems: ['conflict', 'unavailable'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/sessions/{sessionId}/terminals',
      tags: ['sessions'],
      summary: 'Open a shell terminal in a running session',
      description:
        'Starts `bash -l` as the sandbox user in the terminal named `terminal` (default `shell`), in the ' +
        "agent's directory with its environment. For the person who started the session, owners and " +
        'admins. Idempotent: a terminal already running is left as is (`opened: false`). Attach with ' +
        '`POST …/pty-token` and the same `terminal`.',
      request: { params: SessionParams, body: body(OpenTerminal) },
      responses: {
        201: json(OpenedTerminal, 'Started'),
        200: json(OpenedTerminal, 'Already running'),
      },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const { sessionId } = c.req.valid('param');
      const db = scope.db();
      await grantTerminal(db, { sessionId, userId: principal.userId, orgId: member.orgId, requested: 'rw' });
      const session = await findSession(db, member.orgId, sessionId);
      if (session.status !== 'running')
        throw new ProblemError(
          'conflict',
          `The session is ${session.status}; a shell opens once it is running.`,
        );
      const gateway = c.env.SESSION_GATEWAY.get(c.env.SESSION_GATEWAY.idFromName(sessionId));
      // The shell sees what the agent sees, secrets-in-the-sandbox included (ADR 0152).
      const plan = await currentPlan(db, sessionId);
      const secretEnv =
        plan === null ? {} : await openSecretsInSandbox(db, scope.config(), member.orgId, plan);
      const result = await gateway.openShellTerminal({
        key: input.terminal,
        secretEnv,
        ...(input.cols === undefined ? {} : { cols: input.cols }),
        ...(input.rows === undefined ? {} : { rows: input.rows }),
      });
      if (!result.ok) {
        if (result.code === 'TERMINAL_RUNNING')
          return c.json({ terminal: input.terminal, opened: false }, 200);
        if (result.code === 'TUNNEL_DOWN')
          throw new ProblemError('unavailable', 'The sandbox is not connected right now; try again shortly.');
        throw new ProblemError('conflict', `The terminal could not be opened: ${result.message}`);
      }
      await recordAudit(
        db,
        {
          orgId: member.orgId,
          action: 'session.terminal_opened',
          principal,
          sessionId,
          targetId: sessionId,
          detail: { terminal: input.terminal },
        },
        scope.now(),
      );
      return c.json({ terminal: input.terminal, opened: true }, 201);
    },
  }),
];
