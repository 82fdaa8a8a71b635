import { PathId, Snapshot } from '@airlock/schema/api';
import { snapshots } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { ProblemError } from '../../lib/problem.ts';
import { recordAudit } from '../audit/record.ts';
import { createRoute, defineRoute, json } from '../route.ts';
import { snapshotOut, startSnapshotBuild } from '../snapshots/service.ts';
import { findVersion } from './service.ts';

// "Test setup script": the draft's script run once in a temporary sandbox by
// the SnapshotBuild workflow, as a snapshot of kind `setup_test` that is never
// captured or used by sessions. Its output streams through the same log
// cursor as a build (GET /snapshots/{id}/logs).

const VersionParams = z.object({ orgId: PathId, profileId: PathId, versionId: PathId });

export const setupTestRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'profiles.edit' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/setup-tests',
      tags: ['profiles'],
      summary: "Run the draft's setup script once in a temporary sandbox; follow its logs like a build",
      description:
        'Drafts only, with a non-empty script; one test at a time per version (409 while one is pending or building).',
      request: { params: VersionParams },
      responses: { 201: json(Snapshot, 'A pending setup test (kind setup_test)') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const member = c.get('member');
      const { profileId, versionId } = c.req.valid('param');
      const version = await findVersion(db, member.orgId, profileId, versionId);
      if (version.status !== 'draft')
        throw new ProblemError(
          'conflict',
          'Setup scripts are tested on the draft; published versions are frozen.',
        );
      if (version.setupScript.trim() === '')
        throw new ProblemError(
          'conflict',
          'The draft has no setup script to test; write one and save it first.',
        );
      const [running] = await db
        .select({ id: snapshots.id, status: snapshots.status })
        .from(snapshots)
        .where(
          and(
            eq(snapshots.profileVersionId, version.id),
            eq(snapshots.kind, 'setup_test'),
            inArray(snapshots.status, ['pending', 'building']),
          ),
        )
        .orderBy(desc(snapshots.createdAt))
        .limit(1);
      if (running !== undefined)
        throw new ProblemError('conflict', `Setup test ${running.id} is still ${running.status}.`, {
          extensions: { snapshotId: running.id },
        });
      const now = scope.now();
      const principal = c.get('principal');
      const row = await db.transaction(async (tx) => {
        const [created] = await tx
          .insert(snapshots)
          .values({
            id: newId('snapshot', now.getTime()),
            orgId: member.orgId,
            profileVersionId: version.id,
            kind: 'setup_test',
            provider: version.sandboxProvider,
            createdBy: principal.userId,
            createdAt: now,
          })
          .returning();
        await recordAudit(
          tx,
          {
            orgId: member.orgId,
            action: 'profile.setup_tested',
            principal,
            targetId: created?.id,
            detail: { profileId, versionId: version.id },
          },
          now,
        );
        return created;
      });
      if (row === undefined) throw new Error('setup test insert returned nothing');
      return c.json(snapshotOut(await startSnapshotBuild(c.env, scope, row)), 201);
    },
  }),
];
