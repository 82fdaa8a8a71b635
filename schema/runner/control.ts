import { z } from 'zod';
import { OrgId, RunnerId, SandboxId } from './assignments.ts';
import { HostInfo } from './messages.ts';

// What a RunnerHub reports to the control plane (through the Worker's
// ControlPlaneInternal entrypoint, ADR 0001/0030), so Postgres follows the
// runner and the lifecycle can release a session's quota on every exit path.

export const RunnerPresence = z.strictObject({
  runnerId: RunnerId,
  orgId: OrgId,
  status: z.enum(['online', 'offline']),
  version: z.string().max(64).nullable(),
  capacity: z.number().int().nonnegative().nullable(),
  host: HostInfo.nullable(),
  /** Sandboxes the hub believes exist on the runner. */
  activeSandboxes: z.number().int().nonnegative(),
  /** Epoch ms of the last message from the runner. */
  lastSeenAt: z.number().int().nullable(),
});
export type RunnerPresence = z.infer<typeof RunnerPresence>;

export const SANDBOX_GONE_REASONS = [
  /** The container stopped although nobody asked it to (sandboxd or the agent died). */
  'exited',
  /** The runner came back without the container (removed while it was away). */
  'missing',
  /** The runner was away longer than the grace period; its sandboxes are written off. */
  'runner_lost',
] as const;

export const SandboxGone = z.strictObject({
  runnerId: RunnerId,
  orgId: OrgId,
  sandboxId: SandboxId,
  reason: z.enum(SANDBOX_GONE_REASONS),
  exitCode: z.number().int().nullable(),
  /** Epoch ms when the hub noticed. */
  at: z.number().int(),
});
export type SandboxGone = z.infer<typeof SandboxGone>;

/** The RPC surface a RunnerHub calls; ControlPlaneInternal implements it. */
export interface RunnerEventSink {
  runnerPresence(report: RunnerPresence): Promise<void>;
  sandboxGone(report: SandboxGone): Promise<void>;
}
