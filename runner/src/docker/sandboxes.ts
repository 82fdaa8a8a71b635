import {
  type AssignmentErrorCode,
  type AssignmentResult,
  type CreateAssignment,
  type DestroyAssignment,
  SANDBOX_WORKSPACE,
  type SnapshotAssignment,
  type StartAssignment,
  type StopAssignment,
} from '@airlock/schema/runner';
import type Docker from 'dockerode';
import type { RelayManager } from '../relay.ts';
import { commitWithVolumes, removeCaptureContainer } from './capture.ts';
import { sandboxHostConfig } from './host-config.ts';
import { containerName, LABEL, normaliseState } from './labels.ts';
import { createVolumes, removeVolumes, SANDBOX_VOLUMES, type SandboxDisks } from './storage.ts';

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

export const SNAPSHOT_REPOSITORY = 'airlock/snapshot';

export interface SandboxContext {
  readonly docker: Docker;
  readonly runnerId: string;
  readonly relays: RelayManager;
  /** Each sandbox's own size-limited filesystem (ADR 0111). */
  readonly disks: SandboxDisks;
  /** Sandboxes this runner takes at most (sizes the nproc backstop). */
  readonly capacity: number;
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
    await ctx.disks.ensureMounted(a.sandboxId);
    return { kind: 'create', containerId: existing.Id, state: normaliseState(existing.State.Status) };
  }
  const purpose = a.purpose ?? 'session';
  try {
    const gatewayDir =
      a.tunnelSessionId === undefined ? undefined : await ctx.relays.open(a.sandboxId, a.tunnelSessionId);
    // Fresh storage: whatever an interrupted attempt left for this sandbox goes first.
    await removeVolumes(ctx.docker, ctx.runnerId, a.sandboxId);
    const diskDir = await ctx.disks.create(a.sandboxId, a.resources.diskMb);
    const volumes = await createVolumes(ctx.docker, {
      runnerId: ctx.runnerId,
      sandboxId: a.sandboxId,
      dir: diskDir,
      specs: SANDBOX_VOLUMES.filter((v) => purpose === 'build' || !v.buildOnly),
    });
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
        [LABEL.capture]: '',
      },
      Hostname: 'sandbox',
      WorkingDir: SANDBOX_WORKSPACE,
      // sandboxd reads its startup input from stdin, written once per start.
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      Tty: false,
      // Docker copies the image's content at each volume's path into it here, at create.
      HostConfig: sandboxHostConfig({
        purpose,
        resources: a.resources,
        capacity: ctx.capacity,
        mounts: { ...(gatewayDir === undefined ? {} : { gatewayDir }), diskDir, volumes },
      }),
    });
    if (ctx.holdAfterCreate) await new Promise<never>(() => {});
    return { kind: 'create', containerId: container.id, state: 'created' };
  } catch (error) {
    await releaseStorage(ctx, a.sandboxId).catch(() => {});
    throw dockerFailure(error, 'create');
  }
}

/** The sandbox's socket, volumes and disk, once it has no container. */
export async function releaseStorage(ctx: SandboxContext, sandboxId: string): Promise<void> {
  await ctx.relays.close(sandboxId);
  await removeCaptureContainer(ctx.docker, sandboxId);
  await removeVolumes(ctx.docker, ctx.runnerId, sandboxId);
  await ctx.disks.remove(sandboxId);
}

export async function startSandbox(ctx: SandboxContext, a: StartAssignment): Promise<Result<'start'>> {
  const info = await inspectByName(ctx.docker, a.sandboxId);
  if (info === null) throw new AssignmentFailure('not_found', `sandbox ${a.sandboxId} has no container`);
  if (info.State.Running) return { kind: 'start', state: 'running' };
  const tunnel = info.Config.Labels?.[LABEL.tunnel];
  if (tunnel) await ctx.relays.open(a.sandboxId, tunnel);
  // After a host reboot its filesystem is no longer mounted; its volumes bind into it.
  await ctx.disks.ensureMounted(a.sandboxId);
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
  // An orphan clean-up of an old container must not cut the tunnel or storage of a newer one.
  const current = a.containerId === undefined ? null : await inspectByName(ctx.docker, a.sandboxId);
  if (current === null) await releaseStorage(ctx, a.sandboxId);
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
    // Sessions start the image's default command (sandboxd), whatever this container ran; the
    // sandbox's own labels are cleared so a container made from it is not mistaken for it.
    const imageRef = await commitWithVolumes(ctx.docker, {
      containerId: info.Id,
      sandboxId: a.sandboxId,
      runnerId: ctx.runnerId,
      repo: SNAPSHOT_REPOSITORY,
      tag,
      labels: { [LABEL.snapshot]: a.snapshotId, [LABEL.assignment]: a.id, [LABEL.runner]: ctx.runnerId },
    });
    return { kind: 'snapshot', imageRef, tag: `${SNAPSHOT_REPOSITORY}:${tag}` };
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
