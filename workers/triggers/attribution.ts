import { memberships, users } from '@airlock/schema/db';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { TriggerEvent } from './event.ts';
import { type ApiDeps, slackApi } from './report/provider-api.ts';

// Whom a triggered session acts for. A Slack user whose *verified* email
// belongs to a member of the org is that member; anyone else — a guest, a
// user of another workspace, an unconfirmed address that merely claims a
// member's email — is attributed to the trigger's owner, and the note says so
// (it goes into the delivery, the session's history and the audit trail).

const UsersInfo = z.object({
  user: z.object({
    id: z.string().max(32),
    is_bot: z.boolean().optional(),
    deleted: z.boolean().optional(),
    is_email_confirmed: z.boolean().optional(),
    profile: z.object({ email: z.string().max(320).optional() }).optional(),
  }),
});

export interface Attribution {
  /** The member the session is started as (null: the trigger alone, its owner being gone). */
  readonly userId: string | null;
  readonly note: string;
}

async function memberByEmail(deps: ApiDeps, orgId: string, email: string): Promise<string | null> {
  const [row] = await deps.db
    .select({ userId: users.id })
    .from(users)
    .innerJoin(memberships, eq(memberships.userId, users.id))
    .where(and(eq(memberships.orgId, orgId), eq(sql`lower(${users.email})`, email.toLowerCase())))
    .limit(1);
  return row?.userId ?? null;
}

export async function attribute(
  deps: ApiDeps,
  trigger: { orgId: string; createdBy: string | null },
  event: TriggerEvent,
  slackConnectionId: string | null,
): Promise<Attribution> {
  const owner = (why: string): Attribution =>
    trigger.createdBy === null
      ? { userId: null, note: `${why}; the trigger's owner is gone, so the session is the trigger's alone` }
      : { userId: trigger.createdBy, note: `${why}; attributed to the trigger's owner ${trigger.createdBy}` };
  if (event.source === 'schedule') return owner('a schedule tick');
  if (event.source === 'github')
    return owner(`GitHub user ${event.actor ?? 'unknown'} (GitHub accounts are not linked to members)`);
  if (event.source === 'generic') return owner('a signed webhook');
  const slackUser = event.slack?.user;
  if (slackUser === undefined) return owner('a Slack event without a user');
  if (slackConnectionId === null)
    return owner(`Slack user ${slackUser} (no Slack connection to look them up)`);
  const info = await slackApi(deps, trigger.orgId, slackConnectionId, 'users.info', { user: slackUser });
  if (!info.ok) return owner(`Slack user ${slackUser} could not be looked up (${info.detail})`);
  const parsed = UsersInfo.safeParse(info.json);
  if (!parsed.success) return owner(`Slack user ${slackUser}: users.info answered in an unexpected shape`);
  const user = parsed.data.user;
  const email = user.profile?.email;
  if (user.deleted === true || user.is_bot === true)
    return owner(`Slack user ${slackUser} is a bot or deactivated`);
  if (email === undefined) return owner(`Slack user ${slackUser} has no email visible to the app`);
  if (user.is_email_confirmed !== true)
    return owner(`Slack user ${slackUser}'s email ${email} is not confirmed`);
  const member = await memberByEmail(deps, trigger.orgId, email);
  if (member === null) return owner(`Slack user ${slackUser} (${email}) is not a member of this org`);
  return { userId: member, note: `Slack user ${slackUser} is member ${member} by verified email ${email}` };
}
