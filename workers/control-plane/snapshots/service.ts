import type { Snapshot } from '@airlock/schema/api';
import { snapshots } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, desc, eq } from 'drizzle-orm';
import type { RequestScope } from '../../lib/context.ts';
import type { Database } from '../../lib/db.ts';
import type { Env } from '../../lib/env.ts';
import { safeErrorMessage } from '../../lib/log.ts';
import { ProblemError } from '../../lib/problem.ts';
import { recordAudit } from '../audit/record.ts';
import { iso, type Principal } from '../env.ts';

export type SnapshotRow = typeof snapshots.$inferSelect;

export function snapshotOut(row: SnapshotRow): Snapshot {
  return {
    id: row.id,
    profileVersionId: row.profileVersionId,
    kind: row.kind,
    status: row.status,
    provider: row.provider,
    imageRef: row.imageRef,
    agentVersion: row.agentVersion,
    exitCode: row.exitCode,
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

/**
 * A new pending snapshot (or setup test) of a version, audited as `action`
 * in the same transaction; 409 while the previous one of that kind is still
 * pending or building. The caller starts the build.
 */
export async function requestSnapshot(
  db: Database,
  input: {
    readonly orgId: string;
    readonly version: { readonly id: string; readonly sandboxProvider: SnapshotRow['provider'] };
    readonly kind: SnapshotRow['kind'];
    readonly principal: Principal;
    readonly action: string;
    readonly detail: Record<string, unknown>;
    readonly now: Date;
  },
): Promise<SnapshotRow> {
  const [latest] = await db
    .select({ id: snapshots.id, status: snapshots.status })
    .from(snapshots)
    .where(and(eq(snapshots.profileVersionId, input.version.id), eq(snapshots.kind, input.kind)))
    .orderBy(desc(snapshots.createdAt))
    .limit(1);
  if (latest !== undefined && (latest.status === 'pending' || latest.status === 'building'))
    throw new ProblemError(
      'conflict',
      `${input.kind === 'setup_test' ? 'Setup test' : 'Snapshot'} ${latest.id} is still ${latest.status}.`,
      { extensions: { snapshotId: latest.id } },
    );
  const row = await db.transaction(async (tx) => {
    const [created] = await tx
      .insert(snapshots)
      .values({
        id: newId('snapshot', input.now.getTime()),
        orgId: input.orgId,
        profileVersionId: input.version.id,
        kind: input.kind,
        provider: input.version.sandboxProvider,
        createdBy: input.principal.userId,
        createdAt: input.now,
      })
      .returning();
    await recordAudit(
      tx,
      {
        orgId: input.orgId,
        action: input.action,
        principal: input.principal,
        targetId: created?.id,
        detail: input.detail,
      },
      input.now,
    );
    return created;
  });
  if (row === undefined) throw new Error('snapshot insert returned nothing');
  return row;
}
