import { profileVersions } from '@airlock/schema/db';
import { compileRuntimePlan, PlanCompileError, type PlanIssue, type RuntimePlan } from '@airlock/schema/plan';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { connectionsOf, planVersionOf } from './service.ts';

// Load a version and the connections it names (non-secret columns only) and
// compile its runtime plan. Used by the API (plan preview, session start
// checks) and by the session lifecycle, which stores the result in
// session_runtime_plans and hands it to the session's gateway.

export type PlanOutcome =
  | { readonly ok: true; readonly plan: RuntimePlan }
  | { readonly ok: false; readonly reason: 'not_found' }
  | { readonly ok: false; readonly reason: 'invalid'; readonly issues: readonly PlanIssue[] };

export async function loadRuntimePlan(
  db: Database,
  input: {
    orgId: string;
    versionId: string;
    allowDraft?: boolean;
    /** `allowsPlainHttp(config)`: only a local deployment forwards credentials over http:// (ADR 0120). */
    allowPlainHttp: boolean;
  },
): Promise<PlanOutcome> {
  const [row] = await db
    .select()
    .from(profileVersions)
    .where(and(eq(profileVersions.id, input.versionId), eq(profileVersions.orgId, input.orgId)));
  if (row === undefined) return { ok: false, reason: 'not_found' };
  const version = planVersionOf(row);
  try {
    return {
      ok: true,
      plan: compileRuntimePlan({
        version,
        connections: await connectionsOf(db, input.orgId, version),
        allowDraft: input.allowDraft === true,
        allowPlainHttp: input.allowPlainHttp,
      }),
    };
  } catch (error) {
    if (error instanceof PlanCompileError) return { ok: false, reason: 'invalid', issues: error.issues };
    throw error;
  }
}

/** As loadRuntimePlan, with failures as problems (404; 409 naming each issue). */
export async function requireRuntimePlan(
  db: Database,
  input: { orgId: string; versionId: string; allowPlainHttp: boolean },
): Promise<RuntimePlan> {
  const outcome = await loadRuntimePlan(db, input);
  if (outcome.ok) return outcome.plan;
  if (outcome.reason === 'not_found')
    throw new ProblemError('not_found', `No version ${input.versionId} in this org.`);
  throw new ProblemError(
    'conflict',
    `Version ${input.versionId} cannot run: ${outcome.issues.map((i) => i.message).join('; ')}`,
    {
      extensions: { errors: outcome.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })) },
    },
  );
}
