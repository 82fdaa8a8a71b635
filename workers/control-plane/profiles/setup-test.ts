import { PathId, Snapshot } from '@airlock/schema/api';
import { z } from 'zod';
import { ProblemError } from '../../lib/problem.ts';
import { createRoute, defineRoute, json } from '../route.ts';
import { requestSnapshot, snapshotOut, startSnapshotBuild } from '../snapshots/service.ts';
import { findVersion } from './service.ts';
import { refusalSummary, setupTestRefusals } from './setup-test-access.ts';

// "Test setup script": the draft's script run once in a temporary sandbox by
// the SnapshotBuild workflow, as a snapshot of kind `setup_test` that is never
// captured or used by sessions. Its output streams through the same log
// cursor as a build (GET /snapshots/{id}/logs). It runs arbitrary code with
// the draft's connections, so it needs the authority of publishing, or
// bindings the caller could already use (setup-test-access.ts, ADR 0120).

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
        'Drafts only, with a non-empty script; one test at a time per version (409 while one is pending or building). Callers without `profiles.publish` may test only drafts whose connections (and git repositories) published profiles already use: 403 naming each binding otherwise.',
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
      const refusals = await setupTestRefusals(db, { orgId: member.orgId, role: member.role, version });
      if (refusals.length > 0)
        throw new ProblemError('forbidden', refusalSummary(member.role, refusals), {
          extensions: { permission: 'profiles.publish', role: member.role, errors: refusals },
        });
      const row = await requestSnapshot(db, {
        orgId: member.orgId,
        version,
        kind: 'setup_test',
        principal: c.get('principal'),
        action: 'profile.setup_tested',
        detail: { profileId, versionId: version.id },
        now: scope.now(),
      });
      return c.json(snapshotOut(await startSnapshotBuild(c.env, scope, row)), 201);
    },
  }),
];
