import { type AssignmentKind, REDELIVERABLE_KINDS, type SandboxReport } from '@airlock/schema/runner';

// What the hub believes vs what the runner reports. Pure, so the rules read in
// one place: containers nobody expects are destroyed, sandboxes that should
// exist but do not are written off, and (when the runner says hello after a
// reconnect or a restart) unsettled work is redelivered, except an exec that
// was cut off, which fails rather than running twice.

/** The hub's view of a sandbox on this runner. */
export const SANDBOX_STATES = ['creating', 'created', 'running', 'exited', 'destroyed', 'lost'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];
export const LIVE_STATES: ReadonlySet<SandboxState> = new Set(['creating', 'created', 'running', 'exited']);

export interface KnownSandbox {
  readonly sandboxId: string;
  readonly state: SandboxState;
}

export interface UnsettledAssignment {
  readonly id: string;
  readonly kind: AssignmentKind;
  readonly sandboxId: string;
  readonly state: 'pending' | 'delivered' | 'accepted';
}

export interface RunnerReport {
  readonly sandboxes: readonly SandboxReport[];
  /** Executing, or finished with a result not yet acknowledged. */
  readonly inFlight: readonly string[];
}

export interface Reconciliation {
  /** Reported containers the hub does not expect: destroy them. */
  readonly orphans: readonly SandboxReport[];
  /** Sandboxes that should exist but were not reported: write them off. */
  readonly missing: readonly string[];
  /** Reported containers of known sandboxes, to refresh their state. */
  readonly present: readonly SandboxReport[];
  /** Unsettled assignments to send (again). Empty for a heartbeat. */
  readonly deliver: readonly string[];
  /** Execs cut off by a runner restart: fail them. Empty for a heartbeat. */
  readonly interrupted: readonly string[];
}

export function reconcile(
  mode: 'hello' | 'heartbeat',
  known: readonly KnownSandbox[],
  unsettled: readonly UnsettledAssignment[],
  report: RunnerReport,
): Reconciliation {
  const states = new Map(known.map((s) => [s.sandboxId, s.state]));
  const inFlight = new Set(report.inFlight);
  // A sandbox with unsettled work is in motion: its container may appear or vanish at any moment.
  const busy = new Set(unsettled.map((a) => a.sandboxId));
  const reported = new Set(report.sandboxes.map((s) => s.sandboxId));

  const orphans: SandboxReport[] = [];
  const present: SandboxReport[] = [];
  for (const sandbox of report.sandboxes) {
    const state = states.get(sandbox.sandboxId);
    if (state !== undefined && LIVE_STATES.has(state)) present.push(sandbox);
    else if (!busy.has(sandbox.sandboxId)) orphans.push(sandbox);
  }

  const missing = known
    .filter((s) => LIVE_STATES.has(s.state) && s.state !== 'creating')
    .filter((s) => !reported.has(s.sandboxId) && !busy.has(s.sandboxId))
    .map((s) => s.sandboxId);

  const deliver: string[] = [];
  const interrupted: string[] = [];
  if (mode === 'hello') {
    for (const assignment of unsettled) {
      if (inFlight.has(assignment.id)) continue;
      if (assignment.state === 'pending' || REDELIVERABLE_KINDS.has(assignment.kind))
        deliver.push(assignment.id);
      else interrupted.push(assignment.id);
    }
  }
  return { orphans, missing, present, deliver, interrupted };
}
