import type { SandboxReport } from '@airlock/schema/runner';
import { SandboxId } from '@airlock/schema/runner';
import type Docker from 'dockerode';

// Every container and snapshot image the runner makes carries these labels;
// they are how it finds what it owns after a restart (never by name alone).

export const LABEL = {
  runner: 'airlock.runner',
  sandbox: 'airlock.sandbox',
  /** The session whose tunnel the sandbox may reach ('' when none). */
  tunnel: 'airlock.tunnel',
  assignment: 'airlock.assignment',
  org: 'airlock.org',
  snapshot: 'airlock.snapshot',
  /** A container made only to capture a sandbox's volumes into its snapshot (never started). */
  capture: 'airlock.capture',
} as const;

export const containerName = (sandboxId: string) => `airlock-${sandboxId}`;

/** The runner's containers, as the hub wants them reported. */
export async function ownedContainers(docker: Docker, runnerId: string): Promise<SandboxReport[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.runner}=${runnerId}`] },
  });
  const reports: SandboxReport[] = [];
  for (const c of list) {
    const sandboxId = SandboxId.safeParse(c.Labels[LABEL.sandbox]);
    const assignmentId = c.Labels[LABEL.assignment];
    if (!sandboxId.success || assignmentId === undefined) continue;
    const state = normaliseState(c.State);
    reports.push({
      sandboxId: sandboxId.data,
      containerId: c.Id,
      assignmentId,
      state,
      exitCode: state === 'exited' || state === 'dead' ? exitCodeFromStatus(c.Status) : null,
    });
  }
  return reports;
}

export function normaliseState(state: string): SandboxReport['state'] {
  switch (state) {
    case 'created':
    case 'running':
    case 'paused':
    case 'restarting':
    case 'exited':
    case 'dead':
    case 'removing':
      return state;
    default:
      return 'dead';
  }
}

/** `Exited (137) 2 seconds ago` → 137. */
function exitCodeFromStatus(status: string): number | null {
  const match = /Exited \((-?\d+)\)/.exec(status);
  return match?.[1] === undefined ? null : Number(match[1]);
}
