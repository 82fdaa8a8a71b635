import { profileVersions, sessionRuntimePlans, sessions, snapshots } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { type AgentRuntime, agentVersionOf, type RuntimePlan } from '@airlock/schema/plan';
import { and, eq, isNull } from 'drizzle-orm';
import { loadRuntimePlan } from '../control-plane/profiles/compile-plan.ts';
import type { Database } from '../lib/db.ts';
import type { ProfileResources } from './provision.ts';

// What the session lifecycle reads from Postgres: the session with its version
// and ready snapshot, and its runtime plan (compiled once, stored in
// `session_runtime_plans`, read back by later steps instead of recompiled).

/** A failure that ends the session: the message is its reason. */
export class SessionFailure extends Error {
  override readonly name = 'SessionFailure';
}

export interface Loaded {
  readonly orgId: string;
  readonly versionId: string;
  readonly mode: 'interactive' | 'headless';
  readonly prompt: string | null;
  /** Headless and staying up for follow-up turns (a chat thread). */
  readonly conversational: boolean;
  readonly provider: 'docker' | 'e2b' | 'modal';
  readonly imageRef: string;
  readonly resources: ProfileResources;
  /** E2B/Modal: the version's sandbox-provider connection (null: Docker, or the deployment's keys). */
  readonly providerConnectionId: string | null;
  readonly attribution: {
    startedBy: string | null;
    triggerId: string | null;
    triggerDeliveryId: string | null;
  };
  readonly createdAt: number;
  /** The agent and the CLI version its snapshot installed. */
  readonly agent: { readonly runtime: AgentRuntime; readonly version: string };
}

export async function load(db: Database, sessionId: string): Promise<Loaded> {
  const [row] = await db
    .select({
      session: sessions,
      resources: profileVersions.resources,
      runtime: profileVersions.agentRuntime,
      agentVersion: profileVersions.agentVersion,
      providerConnectionId: profileVersions.providerConnectionId,
      snapshot: snapshots,
    })
    .from(sessions)
    .innerJoin(profileVersions, eq(profileVersions.id, sessions.profileVersionId))
    .leftJoin(snapshots, eq(snapshots.id, sessions.snapshotId))
    .where(eq(sessions.id, sessionId));
  if (row === undefined) throw new SessionFailure(`No session ${sessionId}.`);
  const { session, snapshot } = row;
  if (snapshot === null || snapshot.status !== 'ready' || snapshot.imageRef === null)
    throw new SessionFailure(
      "The session's snapshot is not ready (or was deleted); publish the profile again.",
    );
  return {
    orgId: session.orgId,
    versionId: session.profileVersionId,
    mode: session.mode,
    prompt: session.prompt,
    conversational: session.conversational,
    provider: session.provider,
    imageRef: snapshot.imageRef,
    resources: row.resources,
    providerConnectionId: row.providerConnectionId,
    attribution: {
      startedBy: session.startedBy,
      triggerId: session.triggerId,
      triggerDeliveryId: session.triggerDeliveryId,
    },
    createdAt: session.createdAt.getTime(),
    agent: {
      runtime: row.runtime,
      version: snapshot.agentVersion ?? agentVersionOf(row.runtime, row.agentVersion),
    },
  };
}

/**
 * Compile the version's plan and store it as revision 1 (once); returns the active revision.
 * `allowPlainHttp`: whether routes may forward over http:// (a local deployment, ADR 0120).
 */
export async function storePlan(
  db: Database,
  sessionId: string,
  s: Loaded,
  allowPlainHttp: boolean,
): Promise<number> {
  const [existing] = await db
    .select({ revision: sessionRuntimePlans.revision })
    .from(sessionRuntimePlans)
    .where(and(eq(sessionRuntimePlans.sessionId, sessionId), isNull(sessionRuntimePlans.supersededAt)));
  // Sessions started by other means than the API (triggers) learn their agent here.
  await db
    .update(sessions)
    .set({ agentRuntime: s.agent.runtime, agentVersion: s.agent.version })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.agentVersion)));
  if (existing !== undefined) return existing.revision;
  const outcome = await loadRuntimePlan(db, { orgId: s.orgId, versionId: s.versionId, allowPlainHttp });
  if (!outcome.ok)
    throw new SessionFailure(
      outcome.reason === 'not_found'
        ? 'The profile version is gone.'
        : `The profile version cannot run: ${outcome.issues.map((i) => i.message).join('; ')}`,
    );
  await db
    .insert(sessionRuntimePlans)
    .values({
      id: newId('runtimePlan'),
      sessionId,
      revision: 1,
      plan: outcome.plan,
      compiledFromVersionId: s.versionId,
    })
    .onConflictDoNothing();
  return 1;
}

export async function activePlan(db: Database, sessionId: string, revision: number): Promise<RuntimePlan> {
  const [row] = await db
    .select({ plan: sessionRuntimePlans.plan })
    .from(sessionRuntimePlans)
    .where(and(eq(sessionRuntimePlans.sessionId, sessionId), eq(sessionRuntimePlans.revision, revision)));
  if (row === undefined) throw new SessionFailure(`The session's plan revision ${revision} is missing.`);
  return row.plan;
}

/** The session's active plan (the revision not superseded), or null before it has one. */
export async function currentPlan(db: Database, sessionId: string): Promise<RuntimePlan | null> {
  const [row] = await db
    .select({ plan: sessionRuntimePlans.plan })
    .from(sessionRuntimePlans)
    .where(and(eq(sessionRuntimePlans.sessionId, sessionId), isNull(sessionRuntimePlans.supersededAt)));
  return row?.plan ?? null;
}
