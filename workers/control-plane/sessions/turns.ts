import { SessionTurnList } from '@airlock/schema/api';
import { sessionTurns } from '@airlock/schema/db';
import { asc, eq } from 'drizzle-orm';
import { turnOut } from '../../triggers/views.ts';
import { createRoute, defineRoute, json } from '../route.ts';
import { findSession, SessionParams } from './routes.ts';

// A headless session's turns for its page: each prompt (the first, then a
// conversation's follow-ups), the live output tail while it runs, the agent's
// final answer once done. Poll it while the session runs.

export const turnRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'sessions.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/sessions/{sessionId}/turns',
      tags: ['sessions'],
      summary: "A headless session's prompts, live output and final answers, turn by turn",
      request: { params: SessionParams },
      responses: { 200: json(SessionTurnList, 'Turns, first first') },
    }),
    handler: async (c) => {
      const db = c.get('scope').db();
      const session = await findSession(db, c.get('member').orgId, c.req.valid('param').sessionId);
      const rows = await db
        .select()
        .from(sessionTurns)
        .where(eq(sessionTurns.sessionId, session.id))
        .orderBy(asc(sessionTurns.n));
      return c.json({ items: rows.map(turnOut) }, 200);
    },
  }),
];
