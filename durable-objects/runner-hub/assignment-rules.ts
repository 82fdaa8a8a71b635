import type { Assignment, AssignmentOutcome } from '@airlock/schema/runner';
import type { SandboxState } from './reconcile.ts';
import type { PresenceRow, SandboxRow } from './store.ts';
import type { SubmitResult } from './views.ts';

// Small pure rules about assignments: which new ones the hub takes, how long
// each kind may take, what a settled one means for its sandbox, and the
// content fingerprint that makes a resubmission with the same id either the
// same assignment or a conflict.

const MINUTE = 60_000;

type Refusal = Extract<SubmitResult, { ok: false }>;

/** Null when the hub takes a new assignment; otherwise why not. */
export function admit(
  assignment: Assignment,
  presence: PresenceRow,
  sandbox: SandboxRow | null,
  liveSandboxes: number,
): Refusal | null {
  if (presence.status !== 'online')
    return { ok: false, code: 'runner_offline', message: 'the runner is not connected' };
  const live = sandbox !== null && sandbox.state !== 'destroyed' && sandbox.state !== 'lost';
  if (assignment.kind === 'create') {
    if (assignment.orgId !== presence.orgId)
      return { ok: false, code: 'wrong_org', message: 'this runner belongs to another org' };
    if (live)
      return { ok: false, code: 'conflict', message: `sandbox ${assignment.sandboxId} already exists` };
    if (liveSandboxes >= (presence.capacity ?? 0))
      return { ok: false, code: 'at_capacity', message: 'the runner has no free capacity' };
    return null;
  }
  // A destroy is always taken: clean-up must never be blocked by what the hub believes.
  if (assignment.kind !== 'destroy' && !live)
    return {
      ok: false,
      code: 'unknown_sandbox',
      message: `no sandbox ${assignment.sandboxId} on this runner`,
    };
  return null;
}

export function defaultTimeoutMs(assignment: Assignment): number {
  switch (assignment.kind) {
    case 'create':
      return 5 * MINUTE;
    case 'start':
    case 'destroy':
      return 2 * MINUTE;
    case 'stop':
      return assignment.graceSeconds * 1000 + MINUTE;
    case 'snapshot':
      return 30 * MINUTE;
    case 'exec':
      return assignment.timeoutSeconds * 1000 + 2 * MINUTE;
  }
}

export interface SandboxChange {
  readonly state: SandboxState;
  readonly details: { containerId?: string; exitCode?: number | null };
}

/** The sandbox's new state once `assignment` settled with `outcome`; null when it does not change. */
export function applyOutcome(assignment: Assignment, outcome: AssignmentOutcome): SandboxChange | null {
  if (!outcome.ok) {
    // A create that failed (or timed out) never produced a sandbox; a container that shows up
    // later is an orphan and is destroyed.
    return assignment.kind === 'create' ? { state: 'destroyed', details: {} } : null;
  }
  const result = outcome.result;
  switch (result.kind) {
    case 'create':
      return {
        state: result.state === 'running' ? 'running' : 'created',
        details: { containerId: result.containerId },
      };
    case 'start':
      return { state: 'running', details: {} };
    case 'stop':
      return { state: 'exited', details: { exitCode: result.exitCode } };
    case 'destroy':
      // Orphan clean-up targets a container the hub never tracked; leave real sandboxes alone.
      return assignment.kind === 'destroy' && assignment.containerId === undefined
        ? { state: 'destroyed', details: {} }
        : null;
    case 'snapshot':
    case 'exec':
      return null;
  }
}

/** SHA-256 of the assignment's canonical JSON (zod output has a fixed key order). */
export async function fingerprint(assignment: Assignment): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(assignment)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
