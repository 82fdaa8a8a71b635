import type { Snapshot } from '@airlock/schema/api';
import { snapshots } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import type { RequestScope } from '../../lib/context.ts';
import type { Env } from '../../lib/env.ts';
import { safeErrorMessage } from '../../lib/log.ts';
import { iso } from '../env.ts';

export type SnapshotRow = typeof snapshots.$inferSelect;

export function snapshotOut(row: SnapshotRow): Snapshot {
  return {
    id: row.id,
    profileVersionId: row.profileVersionId,
    kind: row.kind,
    status: row.status,
    provider: row.provider,
    imageRef: row.imageRef,
    failureReason: row.failureReason,
    createdAt: iso(row.createdAt),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
  };
}

/**
 * Start the SnapshotBuild workflow for a pending snapshot. The API does not
 * depend on it: if the workflow cannot be created the snapshot is marked
 * failed with the reason, and the caller's request still succeeds.
 */
export async function startSnapshotBuild(
  env: Env,
  scope: RequestScope,
  row: SnapshotRow,
): Promise<SnapshotRow> {
  try {
    await env.SNAPSHOT_BUILD.create({ id: row.id, params: { snapshotId: row.id } });
    return row;
  } catch (error) {
    const reason = `could not start the snapshot build: ${safeErrorMessage(error)}`.slice(0, 500);
    scope.log.warn('snapshot build not started', { snapshotId: row.id, reason });
    const now = scope.now();
    const [failed] = await scope
      .db()
      .update(snapshots)
      .set({ status: 'failed', failureReason: reason, finishedAt: now })
      .where(eq(snapshots.id, row.id))
      .returning();
    return failed ?? row;
  }
}
