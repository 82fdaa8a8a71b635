import {
  CreateProfile,
  PathId,
  Profile,
  ProfileList,
  ProfileVersion,
  ProfileVersionList,
  UpdateProfile,
} from '@airlock/schema/api';
import { profileVersions, sandboxProfiles } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { VERIFIED_AGENT_VERSIONS } from '@airlock/schema/plan';
import { and, asc, desc, eq, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit/record.ts';
import { guarded } from '../db-errors.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { draftRoutes } from './draft.ts';
import { findProfile, findVersion, profileOut, profileView, versionOut } from './service.ts';

const tags = ['profiles'];
const ProfileParams = OrgParams.extend({ profileId: PathId });
const NAME_TAKEN = (name: string) => ({
  sandbox_profiles_org_name_key: `A profile named "${name}" exists already.`,
});

export const profileRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/profiles',
      tags,
      summary: 'Sandbox profiles (archived ones with ?archived=true)',
      request: {
        params: OrgParams,
        query: z.strictObject({ archived: z.enum(['true', 'false']).default('false') }),
      },
      responses: { 200: json(ProfileList, 'Profiles') },
    }),
    handler: async (c) => {
      const db = c.get('scope').db();
      const orgId = c.get('member').orgId;
      const archived = c.req.valid('query').archived === 'true';
      const rows = await db
        .select()
        .from(sandboxProfiles)
        .where(
          and(eq(sandboxProfiles.orgId, orgId), ...(archived ? [] : [isNull(sandboxProfiles.archivedAt)])),
        )
        .orderBy(asc(sandboxProfiles.name));
      const versions =
        rows.length === 0
          ? []
          : await db
              .select()
              .from(profileVersions)
              .where(
                inArray(
                  profileVersions.profileId,
                  rows.map((r) => r.id),
                ),
              );
      return c.json(
        {
          items: rows.map((r) =>
            profileOut(
              r,
              versions.filter((v) => v.profileId === r.id),
            ),
          ),
        },
        200,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.edit' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/profiles',
      tags,
      summary: 'Create a profile with an empty draft (version 1)',
      request: { params: OrgParams, body: body(CreateProfile) },
      responses: { 201: json(Profile, 'Created') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const now = scope.now();
      const id = newId('profile', now.getTime());
      const { profile, draft } = await guarded(
        () =>
          scope.db().transaction(async (tx) => {
            const [profile] = await tx
              .insert(sandboxProfiles)
              .values({
                id,
                orgId: member.orgId,
                name: input.name,
                description: input.description,
                createdBy: principal.userId,
                createdAt: now,
                updatedAt: now,
              })
              .returning();
            const [draft] = await tx
              .insert(profileVersions)
              .values({
                id: newId('profileVersion', now.getTime()),
                profileId: id,
                orgId: member.orgId,
                number: 1,
                agentVersion: VERIFIED_AGENT_VERSIONS.codex,
                createdBy: principal.userId,
                createdAt: now,
                updatedAt: now,
              })
              .returning();
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'profile.created',
                principal,
                targetId: id,
                detail: { name: input.name },
              },
              now,
            );
            return { profile, draft };
          }),
        NAME_TAKEN(input.name),
      );
      if (profile === undefined || draft === undefined) throw new Error('profile insert returned nothing');
      return c.json(profileOut(profile, [draft]), 201);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/profiles/{profileId}',
      tags,
      summary: 'A profile',
      request: { params: ProfileParams },
      responses: { 200: json(Profile, 'The profile') },
    }),
    handler: async (c) => {
      const db = c.get('scope').db();
      const profile = await findProfile(db, c.get('member').orgId, c.req.valid('param').profileId);
      return c.json(await profileView(db, profile), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.edit' },
    problems: ['conflict'],
    route: createRoute({
      method: 'patch',
      path: '/orgs/{orgId}/profiles/{profileId}',
      tags,
      summary: 'Rename a profile or change its description',
      request: { params: ProfileParams, body: body(UpdateProfile) },
      responses: { 200: json(Profile, 'Updated') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const input = c.req.valid('json');
      const profile = await findProfile(db, c.get('member').orgId, c.req.valid('param').profileId);
      const [updated] = await guarded(
        () =>
          db
            .update(sandboxProfiles)
            .set({ ...input, updatedAt: scope.now() })
            .where(eq(sandboxProfiles.id, profile.id))
            .returning(),
        NAME_TAKEN(input.name ?? ''),
      );
      return c.json(await profileView(db, updated ?? profile), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.publish' },
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/profiles/{profileId}',
      tags,
      summary: 'Archive a profile (its versions and sessions stay for the record)',
      request: { params: ProfileParams },
      responses: { 200: json(Profile, 'Archived') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const member = c.get('member');
      const profile = await findProfile(db, member.orgId, c.req.valid('param').profileId);
      const now = scope.now();
      const updated = await db.transaction(async (tx) => {
        const [row] = await tx
          .update(sandboxProfiles)
          .set({ archivedAt: profile.archivedAt ?? now, updatedAt: now })
          .where(eq(sandboxProfiles.id, profile.id))
          .returning();
        await recordAudit(
          tx,
          {
            orgId: member.orgId,
            action: 'profile.archived',
            principal: c.get('principal'),
            targetId: profile.id,
          },
          now,
        );
        return row;
      });
      return c.json(await profileView(db, updated ?? profile), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/profiles/{profileId}/versions',
      tags,
      summary: 'Versions of a profile, newest first',
      request: { params: ProfileParams },
      responses: { 200: json(ProfileVersionList, 'Versions') },
    }),
    handler: async (c) => {
      const db = c.get('scope').db();
      const profile = await findProfile(db, c.get('member').orgId, c.req.valid('param').profileId);
      const rows = await db
        .select()
        .from(profileVersions)
        .where(eq(profileVersions.profileId, profile.id))
        .orderBy(desc(profileVersions.number));
      return c.json({ items: rows.map(versionOut) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}',
      tags,
      summary: 'A profile version',
      request: { params: ProfileParams.extend({ versionId: PathId }) },
      responses: { 200: json(ProfileVersion, 'The version') },
    }),
    handler: async (c) => {
      const { profileId, versionId } = c.req.valid('param');
      const row = await findVersion(c.get('scope').db(), c.get('member').orgId, profileId, versionId);
      return c.json(versionOut(row), 200);
    },
  }),
  ...draftRoutes,
];
