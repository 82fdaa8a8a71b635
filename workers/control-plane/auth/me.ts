import type { Me } from '@airlock/schema/api';
import { memberships, orgs, users } from '@airlock/schema/db';
import { asc, eq } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import { iso, type Principal } from '../env.ts';

export async function loadMe(db: Database, principal: Principal): Promise<Me> {
  const [user] = await db.select().from(users).where(eq(users.id, principal.userId));
  if (user === undefined) throw new Error('authenticated user has no row');
  const rows = await db
    .select({ orgId: orgs.id, orgName: orgs.name, orgSlug: orgs.slug, role: memberships.role })
    .from(memberships)
    .innerJoin(orgs, eq(orgs.id, memberships.orgId))
    .where(eq(memberships.userId, user.id))
    .orderBy(asc(orgs.name), asc(orgs.id));
  return {
    user: { id: user.id, email: user.email, name: user.name, createdAt: iso(user.createdAt) },
    memberships: principal.tokenOrgId === null ? rows : rows.filter((r) => r.orgId === principal.tokenOrgId),
    via: principal.via,
    tokenOrgId: principal.tokenOrgId,
  };
}
