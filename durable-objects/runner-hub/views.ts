import type { AssignmentKind, AssignmentOutcome, HostInfo } from '@airlock/schema/runner';
import type { SandboxState } from './reconcile.ts';
import type { AssignmentRow, AssignmentState, PresenceStatus } from './store.ts';

// What the hub's RPC methods return to the Worker (the Docker provider). Plain
// data, never an assignment's payload (a start carries a bootstrap token).

export interface AssignmentView {
  readonly id: string;
  readonly kind: AssignmentKind;
  readonly sandboxId: string;
  readonly state: AssignmentState;
  readonly outcome: AssignmentOutcome | null;
  readonly submittedAt: number;
  readonly settledAt: number | null;
  readonly deadlineAt: number;
}

export const SUBMIT_ERROR_CODES = [
  'invalid',
  /** Same id, different content; or a second create for a live sandbox. */
  'conflict',
  /** No runner connected within the grace period (or never). */
  'runner_offline',
  /** The create names another org than the runner's. */
  'wrong_org',
  'at_capacity',
  /** Not a create, and the hub knows no live sandbox by that id. */
  'unknown_sandbox',
] as const;
export type SubmitErrorCode = (typeof SUBMIT_ERROR_CODES)[number];

export type SubmitResult =
  | { readonly ok: true; readonly assignment: AssignmentView }
  | { readonly ok: false; readonly code: SubmitErrorCode; readonly message: string };

export interface SandboxView {
  readonly sandboxId: string;
  readonly state: SandboxState;
  readonly containerId: string | null;
  readonly exitCode: number | null;
  readonly updatedAt: number;
}

export interface RunnerHubStatus {
  readonly runnerId: string | null;
  readonly orgId: string | null;
  readonly status: PresenceStatus;
  /** Open WebSockets (0 or 1). */
  readonly connected: number;
  readonly version: string | null;
  readonly capacity: number | null;
  readonly host: HostInfo | null;
  readonly lastSeenAt: number | null;
  readonly messages: number;
  readonly liveSandboxes: number;
  readonly sandboxes: readonly SandboxView[];
  readonly unsettled: number;
}

export interface OutputChunk {
  readonly seq: number;
  readonly stream: 'stdout' | 'stderr';
  readonly data: string;
}

/** An assignment as callers see it: never its payload. */
export function view(row: AssignmentRow): AssignmentView {
  return {
    id: row.id,
    kind: row.kind,
    sandboxId: row.sandboxId,
    state: row.state,
    outcome: row.outcome,
    submittedAt: row.submittedAt,
    settledAt: row.settledAt,
    deadlineAt: row.deadlineAt,
  };
}
