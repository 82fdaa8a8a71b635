import { allowsPlainHttp, type Config } from '@airlock/config';
import { profileVersions, type SandboxResources, snapshots } from '@airlock/schema/db';
import type { RuntimePlan } from '@airlock/schema/plan';
import { and, eq, inArray } from 'drizzle-orm';
import { recordAudit } from '../control-plane/audit/record.ts';
import { loadRuntimePlan } from '../control-plane/profiles/compile-plan.ts';
import { refusalSummary, roleOf, setupTestRefusals } from '../control-plane/profiles/setup-test-access.ts';
import type { Database } from '../lib/db.ts';
import type { ProviderKind, SandboxRef } from '../providers/types.ts';

// The snapshots row as the build moves it: pending → building → ready | failed,
// each move guarded by the current status (a retried step changes nothing
// twice) and audited. Also what the build needs to know up front, as plain
// data a workflow step can return.

export interface BuildContext {
  readonly snapshotId: string;
  readonly orgId: string;
  readonly kind: 'snapshot' | 'setup_test';
  readonly provider: ProviderKind;
  /** E2B/Modal: the version's sandbox-provider connection (null: Docker, or the deployment's keys). */
  readonly providerConnectionId: string | null;
  readonly createdBy: string;
  readonly setupScript: string;
  readonly resources: SandboxResources;
  readonly image: string;
  readonly npmRegistry: string;
  /** The version's plan plus the npm registry as passthrough. */
  readonly plan: RuntimePlan;
}

export type BeginOutcome =
  | { readonly ok: true; readonly context: BuildContext }
  | { readonly ok: false; readonly finished: true }
  | { readonly ok: false; readonly finished: false; readonly reason: string };

/** Load and check everything; move pending → building. */
export async function beginBuild(db: Database, config: Config, snapshotId: string): Promise<BeginOutcome> {
  const [row] = await db.select().from(snapshots).where(eq(snapshots.id, snapshotId));
  if (row === undefined || row.status === 'ready' || row.status === 'failed')
    return { ok: false, finished: true };
  const [version] = await db
    .select()
    .from(profileVersions)
    .where(eq(profileVersions.id, row.profileVersionId));
  if (version === undefined) return { ok: false, finished: true };
  const now = new Date();
  if (row.status === 'pending') {
    await db.transaction(async (tx) => {
      const moved = await tx
        .update(snapshots)
        .set({ status: 'building', startedAt: now })
        .where(and(eq(snapshots.id, snapshotId), eq(snapshots.status, 'pending')))
        .returning({ id: snapshots.id });
      if (moved.length > 0)
        await recordAudit(
          tx,
          {
            orgId: row.orgId,
            action: row.kind === 'setup_test' ? 'setup_test.started' : 'snapshot.build_started',
            principal: null,
            targetId: snapshotId,
            detail: { profileVersionId: row.profileVersionId },
          },
          now,
        );
    });
  }
  if (row.createdBy === null)
    return { ok: false, finished: false, reason: 'The user who requested this build no longer exists.' };
  if (row.kind === 'setup_test') {
    const refused = await setupTestRecheck(db, row, row.createdBy, version);
    if (refused !== null) return { ok: false, finished: false, reason: refused };
  }
  const registry = config.sandbox.npm_registry;
  if (registry === undefined)
    return {
      ok: false,
      finished: false,
      reason: 'No npm registry is configured (sandbox.npm_registry): the agent CLI cannot be installed.',
    };
  const outcome = await loadRuntimePlan(db, {
    orgId: row.orgId,
    versionId: version.id,
    allowDraft: row.kind === 'setup_test',
    allowPlainHttp: allowsPlainHttp(config),
  });
  if (!outcome.ok)
    return {
      ok: false,
      finished: false,
      reason:
        outcome.reason === 'not_found'
          ? `Version ${version.id} no longer exists.`
          : `The version's plan does not compile: ${outcome.issues.map((i) => i.message).join('; ')}`,
    };
  const registryHost = new URL(registry).host.toLowerCase();
  const passthrough = [...new Set([...outcome.plan.passthrough, registryHost])].sort();
  return {
    ok: true,
    context: {
      snapshotId,
      orgId: row.orgId,
      kind: row.kind,
      provider: row.provider,
      providerConnectionId: version.providerConnectionId,
      createdBy: row.createdBy,
      setupScript: version.setupScript,
      resources: version.resources,
      image: baseImage(config, row.provider),
      npmRegistry: registry,
      plan: { ...outcome.plan, passthrough },
    },
  };
}

/** The CLI version npm installed (what `latest` meant that day; the pinned version otherwise). */
export async function recordAgentVersion(db: Database, snapshotId: string, version: string): Promise<void> {
  await db.update(snapshots).set({ agentVersion: version }).where(eq(snapshots.id, snapshotId));
}

/**
 * A setup test runs the draft as it was when it was requested, by someone who may still run it
 * (ADR 0120): a draft edited since, or a requester who lost the authority, fails the test.
 */
async function setupTestRecheck(
  db: Database,
  row: typeof snapshots.$inferSelect,
  requester: string,
  version: typeof profileVersions.$inferSelect,
): Promise<string | null> {
  if (version.updatedAt.getTime() > row.createdAt.getTime())
    return 'The draft changed after this setup test was requested; run the test again to test what it is now.';
  const role = await roleOf(db, row.orgId, requester);
  if (role === null) return 'The user who requested this setup test is no longer a member of the org.';
  const refusals = await setupTestRefusals(db, { orgId: row.orgId, role, version });
  return refusals.length === 0 ? null : refusalSummary(role, refusals);
}

/** What a build starts from: the Docker base image, E2B's base template, Modal's base image. */
export function baseImage(config: Config, provider: ProviderKind): string {
  switch (provider) {
    case 'docker':
      return config.sandbox.docker.base_image;
    case 'e2b':
      return config.sandbox.e2b?.template ?? 'airlock-base';
    case 'modal':
      return config.sandbox.modal?.image ?? config.sandbox.docker.base_image;
  }
}

/** The sandbox exists (on this runner, at this provider): teardown can find it even if the workflow lost its ref. */
export async function recordSandbox(db: Database, snapshotId: string, ref: SandboxRef): Promise<void> {
  await db
    .update(snapshots)
    .set({ runnerId: ref.runnerId, sandboxRef: JSON.stringify(ref) })
    .where(eq(snapshots.id, snapshotId));
}

export async function sandboxOf(db: Database, snapshotId: string): Promise<SandboxRef | null> {
  const [row] = await db
    .select({ sandboxRef: snapshots.sandboxRef })
    .from(snapshots)
    .where(eq(snapshots.id, snapshotId));
  if (row?.sandboxRef == null) return null;
  try {
    const ref = JSON.parse(row.sandboxRef) as SandboxRef;
    return typeof ref.sandboxId === 'string' && typeof ref.provider === 'string' ? ref : null;
  } catch {
    return null;
  }
}

/** building → ready (a snapshot with its image; a setup test without). */
export async function finishBuild(
  db: Database,
  input: { snapshotId: string; orgId: string; kind: BuildContext['kind']; imageRef: string | null },
): Promise<void> {
  const now = new Date();
  await db.transaction(async (tx) => {
    const moved = await tx
      .update(snapshots)
      .set({ status: 'ready', imageRef: input.imageRef, exitCode: 0, finishedAt: now })
      .where(and(eq(snapshots.id, input.snapshotId), inArray(snapshots.status, ['pending', 'building'])))
      .returning({ id: snapshots.id });
    if (moved.length > 0)
      await recordAudit(
        tx,
        {
          orgId: input.orgId,
          action: input.kind === 'setup_test' ? 'setup_test.passed' : 'snapshot.ready',
          principal: null,
          targetId: input.snapshotId,
          detail: input.imageRef === null ? {} : { imageRef: input.imageRef },
        },
        now,
      );
  });
}

/** pending | building → failed, with the reason (step, exit code, output tail). */
export async function failBuild(
  db: Database,
  input: { snapshotId: string; reason: string; exitCode: number | null },
): Promise<void> {
  const now = new Date();
  const reason = input.reason.length > 4000 ? `…${input.reason.slice(-3999)}` : input.reason;
  await db.transaction(async (tx) => {
    const moved = await tx
      .update(snapshots)
      .set({ status: 'failed', failureReason: reason, exitCode: input.exitCode, finishedAt: now })
      .where(and(eq(snapshots.id, input.snapshotId), inArray(snapshots.status, ['pending', 'building'])))
      .returning({ id: snapshots.id, orgId: snapshots.orgId, kind: snapshots.kind });
    const row = moved[0];
    if (row !== undefined)
      await recordAudit(
        tx,
        {
          orgId: row.orgId,
          action: row.kind === 'setup_test' ? 'setup_test.failed' : 'snapshot.failed',
          principal: null,
          targetId: input.snapshotId,
          detail: { exitCode: input.exitCode },
        },
        now,
      );
  });
}
