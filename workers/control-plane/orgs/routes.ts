import {
  CreateInvite,
  CreateOrg,
  canAssignRole,
  Invite,
  Member,
  Ok,
  Org,
  PathId,
  UpdateMember,
  UpdateOrg,
} from '@airlock/schema/api';
import { invites, memberships, orgs, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { z } from 'zod';
import { createMailer } from '../../lib/mail.ts';
import { ProblemError } from '../../lib/problem.ts';
import { recordAudit } from '../audit/record.ts';
import { guarded } from '../db-errors.ts';
import { type ApiEnv, iso } from '../env.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { tokenRoutes } from './tokens.ts';

const tags = ['orgs'];

const orgOut = (row: typeof orgs.$inferSelect, role: Org['role']): Org => ({
  id: row.id,
  name: row.name,
  slug: row.slug,
  createdAt: iso(row.createdAt),
  role,
});

export const orgRoutes = [
  defineRoute({
    access: { kind: 'user' },
    route: createRoute({
      method: 'get',
      path: '/orgs',
      tags,
      summary: 'Orgs the caller belongs to',
      responses: { 200: json(z.object({ items: z.array(Org) }).meta({ id: 'OrgList' }), 'Orgs') },
    }),
    handler: async (c) => {
      const principal = c.get('principal');
      const rows = await c
        .get('scope')
        .db()
        .select({ org: orgs, role: memberships.role })
        .from(memberships)
        .innerJoin(orgs, eq(orgs.id, memberships.orgId))
        .where(eq(memberships.userId, principal.userId))
        .orderBy(asc(orgs.name), asc(orgs.id));
      const visible = rows.filter((r) => principal.tokenOrgId === null || r.org.id === principal.tokenOrgId);
      return c.json({ items: visible.map((r) => orgOut(r.org, r.role)) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'user', sessionOnly: true },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs',
      tags,
      summary: 'Create an org; the caller becomes its owner',
      request: { body: body(CreateOrg) },
      responses: { 201: json(Org, 'Created') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const now = scope.now();
      const id = newId('org', now.getTime());
      const row = await guarded(
        () =>
          scope.db().transaction(async (tx) => {
            const [org] = await tx
              .insert(orgs)
              .values({ id, name: input.name, slug: input.slug, createdAt: now })
              .returning();
            await tx.insert(memberships).values({
              id: newId('membership', now.getTime()),
              orgId: id,
              userId: principal.userId,
              role: 'owner',
              createdAt: now,
            });
            await recordAudit(tx, { orgId: id, action: 'org.created', principal, targetId: id }, now);
            return org;
          }),
        { orgs_slug_key: `The slug "${input.slug}" is taken.` },
      );
      if (row === undefined) throw new Error('org insert returned nothing');
      return c.json(orgOut(row, 'owner'), 201);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'org.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}',
      tags,
      summary: 'An org',
      request: { params: OrgParams },
      responses: { 200: json(Org, 'The org') },
    }),
    handler: async (c) => {
      const member = c.get('member');
      const [row] = await c.get('scope').db().select().from(orgs).where(eq(orgs.id, member.orgId));
      if (row === undefined) throw new ProblemError('not_found', 'No such org.');
      return c.json(orgOut(row, member.role), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'org.manage' },
    route: createRoute({
      method: 'patch',
      path: '/orgs/{orgId}',
      tags,
      summary: 'Rename an org',
      request: { params: OrgParams, body: body(UpdateOrg) },
      responses: { 200: json(Org, 'Updated') },
    }),
    handler: async (c) => {
      const member = c.get('member');
      const [row] = await c
        .get('scope')
        .db()
        .update(orgs)
        .set({ name: c.req.valid('json').name })
        .where(eq(orgs.id, member.orgId))
        .returning();
      if (row === undefined) throw new ProblemError('not_found', 'No such org.');
      return c.json(orgOut(row, member.role), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'org.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/members',
      tags,
      summary: 'Members of an org',
      request: { params: OrgParams },
      responses: { 200: json(z.object({ items: z.array(Member) }).meta({ id: 'MemberList' }), 'Members') },
    }),
    handler: async (c) => {
      const rows = await c
        .get('scope')
        .db()
        .select({ m: memberships, email: users.email, name: users.name })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .where(eq(memberships.orgId, c.get('member').orgId))
        .orderBy(asc(users.email));
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.m.id,
            userId: r.m.userId,
            email: r.email,
            name: r.name,
            role: r.m.role,
            createdAt: iso(r.m.createdAt),
          })),
        },
        200,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'members.manage' },
    problems: ['conflict'],
    route: createRoute({
      method: 'patch',
      path: '/orgs/{orgId}/members/{memberId}',
      tags,
      summary: "Change a member's role",
      description: 'Only owners grant or take away the owner role; an org keeps at least one owner.',
      request: { params: OrgParams.extend({ memberId: PathId }), body: body(UpdateMember) },
      responses: { 200: json(Ok, 'Changed') },
    }),
    handler: async (c) => changeMember(c, c.req.valid('param').memberId, c.req.valid('json').role),
  }),
  defineRoute({
    access: { kind: 'org', permission: 'members.manage' },
    problems: ['conflict'],
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/members/{memberId}',
      tags,
      summary: 'Remove a member',
      request: { params: OrgParams.extend({ memberId: PathId }) },
      responses: { 200: json(Ok, 'Removed') },
    }),
    handler: async (c) => changeMember(c, c.req.valid('param').memberId, undefined),
  }),
  defineRoute({
    access: { kind: 'org', permission: 'org.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/invites',
      tags,
      summary: 'Open invites',
      request: { params: OrgParams },
      responses: {
        200: json(z.object({ items: z.array(Invite) }).meta({ id: 'InviteList' }), 'Open invites'),
      },
    }),
    handler: async (c) => {
      const rows = await c
        .get('scope')
        .db()
        .select()
        .from(invites)
        .where(
          and(
            eq(invites.orgId, c.get('member').orgId),
            isNull(invites.acceptedAt),
            isNull(invites.revokedAt),
          ),
        )
        .orderBy(asc(invites.email));
      return c.json({ items: rows.map(inviteOut) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'members.manage' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/invites',
      tags,
      summary: 'Invite someone by email; accepted when they next log in',
      request: { params: OrgParams, body: body(CreateInvite) },
      responses: { 201: json(Invite, 'Invited') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      if (!canAssignRole(member.role, undefined, input.role))
        throw new ProblemError('forbidden', 'Only owners can invite owners.');
      const db = scope.db();
      const [existing] = await db
        .select({ id: memberships.id })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .where(and(eq(memberships.orgId, member.orgId), eq(users.email, input.email)));
      if (existing !== undefined) throw new ProblemError('conflict', `${input.email} is already a member.`);
      const now = scope.now();
      const row = await guarded(
        () =>
          db.transaction(async (tx) => {
            const [invite] = await tx
              .insert(invites)
              .values({
                id: newId('invite', now.getTime()),
                orgId: member.orgId,
                email: input.email,
                role: input.role,
                invitedBy: principal.userId,
                createdAt: now,
              })
              .returning();
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'member.invited',
                principal,
                targetId: invite?.id,
                detail: { email: input.email, role: input.role },
              },
              now,
            );
            return invite;
          }),
        { invites_open_key: `${input.email} already has an open invite.` },
      );
      if (row === undefined) throw new Error('invite insert returned nothing');
      const [org] = await db.select({ name: orgs.name }).from(orgs).where(eq(orgs.id, member.orgId));
      try {
        await createMailer(scope.config(), scope.log).send({
          to: input.email,
          subject: `You are invited to ${org?.name ?? 'an org'} on Airlock`,
          text: `${principal.email} invited you to ${org?.name ?? 'their org'} as ${input.role}.\nLog in at ${scope.config().services.public_url} with this address to join.\n`,
        });
      } catch {
        scope.log.warn('invite mail not sent', { inviteId: row.id });
      }
      return c.json(inviteOut(row), 201);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'members.manage' },
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/invites/{inviteId}',
      tags,
      summary: 'Withdraw an open invite',
      request: { params: OrgParams.extend({ inviteId: PathId }) },
      responses: { 200: json(Ok, 'Withdrawn') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const [row] = await scope
        .db()
        .update(invites)
        .set({ revokedAt: scope.now() })
        .where(
          and(
            eq(invites.id, c.req.valid('param').inviteId),
            eq(invites.orgId, c.get('member').orgId),
            isNull(invites.acceptedAt),
            isNull(invites.revokedAt),
          ),
        )
        .returning({ id: invites.id });
      if (row === undefined) throw new ProblemError('not_found', 'No such open invite.');
      return c.json({ ok: true as const }, 200);
    },
  }),
  ...tokenRoutes,
];

function inviteOut(row: typeof invites.$inferSelect): Invite {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    invitedBy: row.invitedBy,
    createdAt: iso(row.createdAt),
  };
}

/** Role change (`to`) or removal (`to` undefined), keeping at least one owner. */
async function changeMember(
  c: Context<ApiEnv>,
  memberId: string,
  to: Member['role'] | undefined,
): Promise<Response> {
  const scope = c.get('scope');
  const actor = c.get('member');
  const principal = c.get('principal');
  const now = scope.now();
  await scope.db().transaction(async (tx) => {
    // Lock the org's owner rows so two demotions cannot both pass the last-owner check.
    const owners = await tx.execute(
      sql`select id from memberships where org_id = ${actor.orgId} and role = 'owner' for update`,
    );
    const [target] = await tx
      .select()
      .from(memberships)
      .where(and(eq(memberships.id, memberId), eq(memberships.orgId, actor.orgId)));
    if (target === undefined) throw new ProblemError('not_found', `No member ${memberId} in this org.`);
    if (!canAssignRole(actor.role, target.role, to))
      throw new ProblemError('forbidden', 'Only owners can change or remove owners, or make someone owner.');
    if (target.role === 'owner' && to !== 'owner' && owners.rows.length <= 1)
      throw new ProblemError('conflict', 'An org needs at least one owner; make someone else owner first.');
    if (to === undefined) await tx.delete(memberships).where(eq(memberships.id, memberId));
    else await tx.update(memberships).set({ role: to }).where(eq(memberships.id, memberId));
    await recordAudit(
      tx,
      {
        orgId: actor.orgId,
        action: to === undefined ? 'member.removed' : 'member.role_changed',
        principal,
        targetId: target.userId,
        detail: { from: target.role, ...(to === undefined ? {} : { to }) },
      },
      now,
    );
  });
  return c.json({ ok: true as const }, 200);
}
