import {
  type AssignmentErrorCode,
  type AssignmentResult,
  type CreateAssignment,
  type DestroyAssignment,
  SANDBOX_GATEWAY_DIR,
  SANDBOX_WORKSPACE,
  type SnapshotAssignment,
  type StartAssignment,
  type StopAssignment,
} from '@airlock/schema/runner';
import type Docker from 'dockerode';
import type { RelayManager } from '../relay.ts';
import { containerName, LABEL, normaliseState } from './labels.ts';

// Create, start, stop, destroy and snapshot a sandbox's container. Each step
// first looks at what exists, so running it again after a crash converges
// instead of duplicating: a create finds its own container by name and label,
// a snapshot finds its image by the assignment label (ADR 0031).

export class AssignmentFailure extends Error {
  readonly code: AssignmentErrorCode;
  constructor(code: AssignmentErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Capabilities a sandbox keeps (all others dropped): sandboxd starts as root to install its CA
 * and prepare the workspace, then runs every child as the `sandbox` user — SETUID/SETGID to
 * switch, CHOWN/FOWNER/DAC_OVERRIDE to hand files to that user, KILL to signal its children.
 */
export const SANDBOX_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'KILL'] as const;

export const SNAPSHOT_REPOSITORY = 'airlock/snapshot';

export interface SandboxContext {
  readonly docker: Docker;
  readonly runnerId: string;
  readonly relays: RelayManager;
  /** Test hook: never return from a create once the container exists. */
  readonly holdAfterCreate: boolean;
}

type Result<K extends AssignmentResult['kind']> = Extract<AssignmentResult, { kind: K }>;

export async function inspectByName(docker: Docker, sandboxId: string) {
  try {
    return await docker.getContainer(containerName(sandboxId)).inspect();
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

export async function createSandbox(ctx: SandboxContext, a: CreateAssignment): Promise<Result<'create'>> {
  const existing = await inspectByName(ctx.docker, a.sandboxId);
  if (existing !== null) {
    const labels = existing.Config.Labels ?? {};
    if (labels[LABEL.assignment] !== a.id || labels[LABEL.runner] !== ctx.runnerId)
      throw new AssignmentFailure(
        'conflict',
        `sandbox ${a.sandboxId} already has a container from another assignment`,
      );
    if (a.tunnelSessionId !== undefined) await ctx.relays.open(a.sandboxId, a.tunnelSessionId);
    return { kind: 'create', containerId: existing.Id, state: normaliseState(existing.State.Status) };
  }
  const mounts =
    a.tunnelSessionId === undefined
      ? []
      : [
          {
            Type: 'bind' as const,
            Source: await ctx.relays.open(a.sandboxId, a.tunnelSessionId),
            Target: SANDBOX_GATEWAY_DIR,
            ReadOnly: true,
          },
        ];
  const memory = a.resources.memoryMb * 1024 * 1024;
  try {
    const container = await ctx.docker.createContainer({
      name: containerName(a.sandboxId),
      Image: a.image,
      ...(a.command === undefined ? {} : { Cmd: a.command }),
      Env: Object.entries({ ...a.env, AIRLOCK_SANDBOX_ID: a.sandboxId }).map(([k, v]) => `${k}=${v}`),
      Labels: {
        [LABEL.runner]: ctx.runnerId,
        [LABEL.sandbox]: a.sandboxId,
        [LABEL.tunnel]: a.tunnelSessionId ?? '',
        [LABEL.assignment]: a.id,
        [LABEL.org]: a.orgId,
        [LABEL.snapshot]: '',
      },
      Hostname: 'sandbox',
      WorkingDir: SANDBOX_WORKSPACE,
      // sandboxd reads its startup input from stdin, written once per start.
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      Tty: false,
      HostConfig: {
        NetworkMode: 'none',
        Privileged: false,
        CapDrop: ['ALL'],
        CapAdd: [...SANDBOX_CAPABILITIES],
        SecurityOpt: ['no-new-privileges:true'],
        NanoCpus: Math.round(a.resources.cpus * 1e9),
        Memory: memory,
        MemorySwap: memory,
        PidsLimit: a.resources.pids,
        Mounts: mounts,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
        RestartPolicy: { Name: 'no' },
      },
    });
    if (ctx.holdAfterCreate) await new Promise<never>(() => {});
    return { kind: 'create', containerId: container.id, state: 'created' };
  } catch (error) {
    if (a.tunnelSessionId !== undefined) await ctx.relays.close(a.sandboxId);
    throw dockerFailure(error, 'create');
  }
}

export async function startSandbox(ctx: SandboxContext, a: StartAssignment): Promise<Result<'start'>> {
  const info = await inspectByName(ctx.docker, a.sandboxId);
  if (info === null) throw new AssignmentFailure('not_found', `sandbox ${a.sandboxId} has no container`);
  if (info.State.Running) return { kind: 'start', state: 'running' };
  const tunnel = info.Config.Labels?.[LABEL.tunnel];
  if (tunnel) await ctx.relays.open(a.sandboxId, tunnel);
  const container = ctx.docker.getContainer(info.Id);
  try {
    const stdin = await container.attach({ stream: true, stdin: true, hijack: true });
    await container.start();
    await new Promise<void>((resolve, reject) => {
      stdin.on('error', reject);
      stdin.end(a.startup === undefined ? '' : `${JSON.stringify(a.startup)}\n`, () => resolve());
    });
  } catch (error) {
    throw dockerFailure(error, 'start');
  }
  const after = await container.inspect();
  return { kind: 'start', state: normaliseState(after.State.Status) };
}

export async function stopSandbox(ctx: SandboxContext, a: StopAssignment): Promise<Result<'stop'>> {
  const info = await inspectByName(ctx.docker, a.sandboxId);
  if (info === null) throw new AssignmentFailure('not_found', `sandbox ${a.sandboxId} has no container`);
  const container = ctx.docker.getContainer(info.Id);
  if (info.State.Running) {
    try {
      await container.stop({ t: a.graceSeconds });
    } catch (error) {
      if (statusOf(error) !== 304) throw dockerFailure(error, 'stop');
    }
  }
  const after = await container.inspect();
  return { kind: 'stop', exitCode: after.State.Running ? null : after.State.ExitCode };
}

export async function destroySandbox(ctx: SandboxContext, a: DestroyAssignment): Promise<Result<'destroy'>> {
  let existed = false;
  const target =
    a.containerId === undefined
      ? await inspectByName(ctx.docker, a.sandboxId)
      : await ctx.docker
          .getContainer(a.containerId)
          .inspect()
          .catch((error: unknown) => {
            if (statusOf(error) === 404) return null;
            throw error;
          });
  if (target !== null) {
    if (target.Config.Labels?.[LABEL.runner] !== ctx.runnerId)
      throw new AssignmentFailure('conflict', 'that container belongs to another runner');
    try {
      await ctx.docker.getContainer(target.Id).remove({ force: true, v: true });
      existed = true;
    } catch (error) {
      if (statusOf(error) !== 404) throw dockerFailure(error, 'remove');
    }
  }
  // An orphan clean-up of an old container must not cut the tunnel of a newer one.
  const current = a.containerId === undefined ? null : await inspectByName(ctx.docker, a.sandboxId);
  if (current === null) await ctx.relays.close(a.sandboxId);
  return { kind: 'destroy', existed };
}

export async function snapshotSandbox(
  ctx: SandboxContext,
  a: SnapshotAssignment,
): Promise<Result<'snapshot'>> {
  const tag = a.snapshotId;
  const images = await ctx.docker.listImages({ filters: { label: [`${LABEL.assignment}=${a.id}`] } });
  const done = images[0];
  if (done !== undefined)
    return { kind: 'snapshot', imageRef: done.Id, tag: `${SNAPSHOT_REPOSITORY}:${tag}` };
  const info = await inspectByName(ctx.docker, a.sandboxId);
  if (info === null) throw new AssignmentFailure('not_found', `sandbox ${a.sandboxId} has no container`);
  try {
    const committed = (await ctx.docker.getContainer(info.Id).commit({
      repo: SNAPSHOT_REPOSITORY,
      tag,
      pause: true,
      // Sessions start the image's default command (sandboxd), whatever this container ran;
      // the sandbox's own labels are cleared so a container made from it is not mistaken for it.
      changes: [
        'CMD []',
        `LABEL ${LABEL.snapshot}=${a.snapshotId} ${LABEL.assignment}=${a.id} ${LABEL.runner}=${ctx.runnerId} ${LABEL.sandbox}="" ${LABEL.tunnel}=""`,
      ],
    })) as { Id?: string };
    if (committed.Id === undefined) throw new Error('docker commit returned no image id');
    return { kind: 'snapshot', imageRef: committed.Id, tag: `${SNAPSHOT_REPOSITORY}:${tag}` };
  } catch (error) {
    throw dockerFailure(error, 'commit');
  }
}

export function statusOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export function dockerFailure(error: unknown, step: string): AssignmentFailure {
  if (error instanceof AssignmentFailure) return error;
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (status === 404) return new AssignmentFailure('invalid', `docker ${step}: ${message}`);
  if (status === 409) return new AssignmentFailure('conflict', `docker ${step}: ${message}`);
  return new AssignmentFailure('docker', `docker ${step}: ${message}`.slice(0, 4000));
}
