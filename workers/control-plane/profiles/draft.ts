import { allowsPlainHttp } from '@airlock/config';
import { PathId, ProfileVersion, PublishResult, Snapshot, UpdateDraft } from '@airlock/schema/api';
import { profileVersions, snapshots } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { agentVersionOf, RuntimePlan } from '@airlock/schema/plan';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { Sealer } from '../../lib/crypto.ts';
import { ProblemError } from '../../lib/problem.ts';
import { recordAudit } from '../audit/record.ts';
import { guarded } from '../db-errors.ts';
import { body, createRoute, defineRoute, json } from '../route.ts';
import { requestSnapshot, snapshotOut, startSnapshotBuild } from '../snapshots/service.ts';
import { validationProblem } from '../validation.ts';
import { requireRuntimePlan } from './compile-plan.ts';
import { insertSecrets, resolveEnvVars } from './draft-env.ts';
import { draftChanges, findProfile, findVersion, versionErrors, versionOut } from './service.ts';

// Editing the draft, publishing it (freeze + snapshot + next draft),
// rebuilding a published version's snapshot, and previewing its plan.

const tags = ['profiles'];
const VersionParams = z.object({ orgId: PathId, profileId: PathId, versionId: PathId });

export const draftRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'profiles.edit' },
    problems: ['conflict'],
    route: createRoute({
      method: 'patch',
      path: '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}',
      tags,
      summary: 'Edit the draft version (a published version answers 409: it is immutable)',
      request: { params: VersionParams, body: body(UpdateDraft) },
      responses: { 200: json(ProfileVersion, 'The updated draft') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const member = c.get('member');
      const { profileId, versionId } = c.req.valid('param');
      const input = c.req.valid('json');
      const current = await findVersion(db, member.orgId, profileId, versionId);
      if (current.status !== 'draft')
        throw new ProblemError(
          'conflict',
          `Version ${current.number} is published and immutable; edit the draft.`,
        );
      const now = scope.now();
      const env =
        input.envVars === undefined
          ? undefined
          : await resolveEnvVars(input.envVars, current.envVars, {
              role: member.role,
              sealer: new Sealer(scope.config().integrations),
              now,
            });
      const changes = {
        ...draftChanges(input, current),
        ...(env === undefined ? {} : { envVars: env.vars }),
      };
      const next = { ...current, ...changes, updatedAt: now };
      // Consistency now (kinds, runtimes, conflicts); completeness is checked when publishing.
      if (current.status === 'draft') {
        const errors = await versionErrors(db, next, {
          completeness: false,
          allowPlainHttp: allowsPlainHttp(scope.config()),
          providerCredentials: scope.config().sandbox.provider_credentials,
        });
        if (errors.length > 0) throw validationProblem(errors);
      }
      const principal = c.get('principal');
      // A published version is refused by the database trigger (AL409 → 409), whoever writes.
      const [row] = await guarded(() =>
        db.transaction(async (tx) => {
          await insertSecrets(tx, member.orgId, principal.userId, env?.secrets ?? [], now);
          const updated = await tx
            .update(profileVersions)
            .set({ ...changes, updatedAt: now })
            .where(and(eq(profileVersions.id, current.id), eq(profileVersions.orgId, member.orgId)))
            .returning();
          for (const secret of env?.secrets ?? [])
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'profile.secret_in_sandbox_set',
                principal,
                targetId: profileId,
                detail: { versionId: current.id, name: secret.name },
              },
              now,
            );
          return updated;
        }),
      );
      if (row === undefined) throw new ProblemError('not_found', `No version ${versionId}.`);
      return c.json(versionOut(row), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.publish' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/publish',
      tags,
      summary: 'Publish the draft: freeze it, start its snapshot build, open the next draft',
      request: { params: VersionParams },
      responses: { 201: json(PublishResult, 'Published') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const member = c.get('member');
      const principal = c.get('principal');
      const { profileId, versionId } = c.req.valid('param');
      await findProfile(db, member.orgId, profileId);
      const draft = await findVersion(db, member.orgId, profileId, versionId);
      if (draft.status !== 'draft')
        throw new ProblemError('conflict', `Version ${draft.number} is already published.`);
      const errors = await versionErrors(db, draft, {
        completeness: true,
        allowPlainHttp: allowsPlainHttp(scope.config()),
        providerCredentials: scope.config().sandbox.provider_credentials,
      });
      if (errors.length > 0) throw validationProblem(errors);
      const now = scope.now();
      const result = await guarded(() =>
        db.transaction(async (tx) => {
          const [published] = await tx
            .update(profileVersions)
            .set({
              status: 'published',
              publishedAt: now,
              publishedBy: principal.userId,
              updatedAt: now,
              // A published version names the exact CLI its builds install.
              agentVersion: agentVersionOf(draft.agentRuntime, draft.agentVersion),
            })
            .where(and(eq(profileVersions.id, draft.id), eq(profileVersions.status, 'draft')))
            .returning();
          if (published === undefined)
            throw new ProblemError('conflict', 'Someone else published this draft just now.');
          const [snapshot] = await tx
            .insert(snapshots)
            .values({
              id: newId('snapshot', now.getTime()),
              orgId: member.orgId,
              profileVersionId: published.id,
              provider: published.sandboxProvider,
              createdBy: principal.userId,
              createdAt: now,
            })
            .returning();
          const [next] = await tx
            .insert(profileVersions)
            .values({
              id: newId('profileVersion', now.getTime()),
              profileId,
              orgId: member.orgId,
              number: published.number + 1,
              agentRuntime: published.agentRuntime,
              agentVersion: published.agentVersion,
              agentInstructions: published.agentInstructions,
              envVars: published.envVars,
              sandboxProvider: published.sandboxProvider,
              modelConnectionId: published.modelConnectionId,
              gitConnectionId: published.gitConnectionId,
              providerConnectionId: published.providerConnectionId,
              repositories: published.repositories,
              connectorBindings: published.connectorBindings,
              setupScript: published.setupScript,
              egressAllowlist: published.egressAllowlist,
              resources: published.resources,
              stopSessionOnLeak: published.stopSessionOnLeak,
              createdBy: principal.userId,
              createdAt: now,
              updatedAt: now,
            })
            .returning();
          if (snapshot === undefined || next === undefined)
            throw new Error('publish inserts returned nothing');
          await recordAudit(
            tx,
            {
              orgId: member.orgId,
              action: 'profile.published',
              principal,
              targetId: profileId,
              detail: { versionId: published.id, number: published.number, snapshotId: snapshot.id },
            },
            now,
          );
          return { published, snapshot, next };
        }),
      );
      const snapshot = await startSnapshotBuild(c.env, scope, result.snapshot);
      return c.json(
        {
          published: versionOut(result.published),
          snapshot: snapshotOut(snapshot),
          draft: versionOut(result.next),
        },
        201,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.publish' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/snapshots',
      tags,
      summary: "Rebuild a published version's snapshot (when the last one failed or is stale)",
      request: { params: VersionParams },
      responses: { 201: json(Snapshot, 'A new pending snapshot') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const member = c.get('member');
      const { profileId, versionId } = c.req.valid('param');
      const version = await findVersion(db, member.orgId, profileId, versionId);
      if (version.status !== 'published')
        throw new ProblemError(
          'conflict',
          'Only published versions have snapshots; publish the draft first.',
        );
      const row = await requestSnapshot(db, {
        orgId: member.orgId,
        version,
        kind: 'snapshot',
        principal: c.get('principal'),
        action: 'snapshot.requested',
        detail: { versionId: version.id },
        now: scope.now(),
      });
      return c.json(snapshotOut(await startSnapshotBuild(c.env, scope, row)), 201);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'profiles.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/plan',
      tags,
      summary: 'The runtime plan a session of this published version gets (no secrets, only connection ids)',
      request: { params: VersionParams },
      responses: { 200: json(RuntimePlan.meta({ id: 'RuntimePlan' }), 'The compiled plan') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const member = c.get('member');
      const { profileId, versionId } = c.req.valid('param');
      const version = await findVersion(db, member.orgId, profileId, versionId);
      return c.json(
        await requireRuntimePlan(db, {
          orgId: member.orgId,
          versionId: version.id,
          allowPlainHttp: allowsPlainHttp(scope.config()),
        }),
        200,
      );
    },
  }),
];
