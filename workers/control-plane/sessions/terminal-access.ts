import type { Role } from '@airlock/schema/api';
import { memberships, sessions } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';

// Who may watch and who may type in a session's terminals: any member of the
// session's org watches; the human who started the session, and owners and
// admins, may type. Used to mint pty tokens and by the edge for viewers that
// come with their login cookie or an API token.

const LIVE = ['pending', 'provisioning', 'starting', 'running'] as const;

export interface TerminalGrant {
  readonly sessionId: string;
  readonly orgId: string;
  readonly mode: 'rw' | 'ro';
}

export function maxMode(role: Role, userId: string, startedBy: string | null): 'rw' | 'ro' {
  return role === 'owner' || role === 'admin' || startedBy === userId ? 'rw' : 'ro';
}

/**
 * The terminal mode `userId` gets on `sessionId` (`requested` may lower it). Throws not_found for a
 * session outside the caller's orgs, forbidden for `rw` beyond the caller's right, conflict once the
 * session has ended.
 */
export async function grantTerminal(
  db: Database,
  input: { sessionId: string; userId: string; orgId?: string; requested?: 'rw' | 'ro' },
): Promise<TerminalGrant> {
  const [row] = await db
    .select({
      orgId: sessions.orgId,
      status: sessions.status,
      startedBy: sessions.startedBy,
      role: memberships.role,
    })
    .from(sessions)
    .innerJoin(memberships, and(eq(memberships.orgId, sessions.orgId), eq(memberships.userId, input.userId)))
    .where(
      and(
        eq(sessions.id, input.sessionId),
        ...(input.orgId === undefined ? [] : [eq(sessions.orgId, input.orgId)]),
      ),
    );
  if (row === undefined) throw new ProblemError('not_found', `No session ${input.sessionId} in your orgs.`);
  if (!(LIVE as readonly string[]).includes(row.status))
    throw new ProblemError('conflict', `The session is ${row.status}; its terminals are closed.`);
  const allowed = maxMode(row.role, input.userId, row.startedBy);
  if (input.requested === 'rw' && allowed !== 'rw')
    throw new ProblemError(
      'forbidden',
      'Only the person who started the session, owners and admins may type in its terminals.',
    );
  return { sessionId: input.sessionId, orgId: row.orgId, mode: input.requested ?? allowed };
}
