import type { Session } from '@airlock/schema/api';
import { profileVersions, sandboxProfiles, type sessions, snapshots } from '@airlock/schema/db';
import { agentVersionOf } from '@airlock/schema/plan';
import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { iso } from '../env.ts';
import { loadRuntimePlan } from '../profiles/compile-plan.ts';

export type SessionRow = typeof sessions.$inferSelect;

export function sessionOut(row: SessionRow): Session {
  return {
    id: row.id,
    profileId: row.profileId,
    profileVersionId: row.profileVersionId,
    snapshotId: row.snapshotId,
    status: row.status,
    mode: row.mode,
    prompt: row.prompt,
    startedBy: row.startedBy,
    startedByTokenId: row.startedByTokenId,
    triggerId: row.triggerId,
    provider: row.provider,
    agentRuntime: row.agentRuntime,
    agentVersion: row.agentVersion,
    runnerId: row.runnerId,
    failureReason: row.failureReason,
    createdAt: iso(row.createdAt),
    startedAt: iso(row.startedAt),
    stoppedAt: iso(row.stoppedAt),
    lastActivityAt: iso(row.lastActivityAt),
    leakBlockedAt: iso(row.leakBlockedAt),
  };
}

export interface StartTarget {
  readonly profileId: string;
  readonly version: typeof profileVersions.$inferSelect;
  readonly snapshotId: string;
  /** The CLI version the snapshot installed (or, for snapshots built before it was recorded, the version's). */
  readonly agentVersion: string;
}

function notStartable(
  reason: string,
  detail: string,
  extensions: Record<string, unknown> = {},
): ProblemError {
  return new ProblemError('conflict', detail, { extensions: { reason, ...extensions } });
}

/**
 * What a new session of this profile runs: a published version (the given
 * one, or the latest) whose latest snapshot is ready and whose plan compiles.
 * Anything else is a 409 whose `reason` and detail say what to fix.
 */
export async function resolveStartTarget(
  db: Database,
  orgId: string,
  profileId: string,
  versionId: string | undefined,
  allowPlainHttp: boolean,
): Promise<StartTarget> {
  const [profile] = await db
    .select()
    .from(sandboxProfiles)
    .where(and(eq(sandboxProfiles.id, profileId), eq(sandboxProfiles.orgId, orgId)));
  if (profile === undefined) throw new ProblemError('not_found', `No profile ${profileId} in this org.`);
  if (profile.archivedAt !== null)
    throw notStartable('profile_archived', `Profile ${profile.name} is archived.`);
  const [version] = await db
    .select()
    .from(profileVersions)
    .where(
      and(
        eq(profileVersions.profileId, profile.id),
        versionId === undefined ? eq(profileVersions.status, 'published') : eq(profileVersions.id, versionId),
      ),
    )
    .orderBy(desc(profileVersions.number))
    .limit(1);
  if (version === undefined)
    throw versionId === undefined
      ? notStartable(
          'no_published_version',
          `Profile ${profile.name} has no published version; publish its draft first.`,
        )
      : new ProblemError('not_found', `No version ${versionId} of profile ${profile.name}.`);
  if (version.status !== 'published')
    throw notStartable(
      'version_not_published',
      `Version ${version.number} is a draft; sessions start from published versions.`,
    );
  const [snapshot] = await db
    .select()
    .from(snapshots)
    .where(and(eq(snapshots.profileVersionId, version.id), eq(snapshots.kind, 'snapshot')))
    .orderBy(desc(snapshots.createdAt), desc(snapshots.id))
    .limit(1);
  const ext = {
    versionId: version.id,
    snapshotId: snapshot?.id ?? null,
    snapshotStatus: snapshot?.status ?? null,
  };
  if (snapshot === undefined)
    throw notStartable('snapshot_missing', `Version ${version.number} has no snapshot; rebuild it.`, ext);
  if (snapshot.status === 'failed')
    throw notStartable(
      'snapshot_failed',
      `The snapshot of version ${version.number} failed (${snapshot.failureReason ?? 'no reason recorded'}); fix the setup and rebuild it.`,
      ext,
    );
  if (snapshot.status !== 'ready')
    throw notStartable(
      'snapshot_not_ready',
      `The snapshot of version ${version.number} is ${snapshot.status}; sessions can start once it is ready.`,
      ext,
    );
  const plan = await loadRuntimePlan(db, { orgId, versionId: version.id, allowPlainHttp });
  if (!plan.ok)
    throw notStartable(
      'plan_invalid',
      `Version ${version.number} cannot run: ${plan.reason === 'invalid' ? plan.issues.map((i) => i.message).join('; ') : 'not found'}`,
      { ...ext, errors: plan.reason === 'invalid' ? plan.issues : [] },
    );
  return {
    profileId: profile.id,
    version,
    snapshotId: snapshot.id,
    agentVersion: snapshot.agentVersion ?? agentVersionOf(version.agentRuntime, version.agentVersion),
  };
}
