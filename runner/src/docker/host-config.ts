import { join } from 'node:path';
import { SANDBOX_GATEWAY_DIR, type SandboxPurpose, type SandboxResources } from '@airlock/schema/runner';
import type Docker from 'dockerode';
import { SANDBOX_SCRATCH, type VolumeSpec } from './storage.ts';

// What a sandbox container may do on the runner's host (ADRs 0032, 0111): no
// network, few capabilities, CPU/memory/process limits, file and process
// ulimits, a read-only root filesystem for sessions, and writable paths only
// on the sandbox's own size-limited disk (or small root-only tmpfs).

/**
 * Capabilities a sandbox keeps (all others dropped): sandboxd starts as root to install its CA
 * and prepare the workspace, then runs every child as the `sandbox` user — SETUID/SETGID to
 * switch, CHOWN/FOWNER/DAC_OVERRIDE to hand files to that user, KILL to signal its children.
 */
export const SANDBOX_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'KILL'] as const;

/** Open files per process. Kernel memory for them is charged to the sandbox's memory limit. */
export const SANDBOX_NOFILE = 16_384;

/**
 * RLIMIT_NPROC counts a uid's processes across the whole host, and every sandbox's user is uid
 * 1000 (no user namespaces): a per-sandbox value would let one sandbox starve the others. It is
 * a runner-wide backstop — what `capacity` sandboxes at this pids limit can reach — while the
 * pids cgroup bounds each sandbox. Root (sandboxd) is exempt from it.
 */
export function nprocLimit(pids: number, capacity: number): number {
  return pids * Math.max(1, capacity);
}

/** Root-only runtime state (sandboxd's sign socket, its CA bundle, the trust store's drop-in). */
const TMPFS = [
  { target: '/run', sizeBytes: 16 * 1024 * 1024 },
  { target: '/etc/airlock', sizeBytes: 1024 * 1024 },
  { target: '/usr/local/share/ca-certificates', sizeBytes: 1024 * 1024 },
] as const;

export interface SandboxMounts {
  /** The runner's socket directory for this sandbox, if it has a tunnel. */
  readonly gatewayDir?: string;
  /** Where the sandbox's filesystem is mounted on the runner. */
  readonly diskDir: string;
  readonly volumes: ReadonlyArray<{ spec: VolumeSpec; name: string }>;
}

export function sandboxHostConfig(input: {
  purpose: SandboxPurpose;
  resources: SandboxResources;
  capacity: number;
  mounts: SandboxMounts;
}): Docker.HostConfig {
  const { resources, mounts } = input;
  const memory = resources.memoryMb * 1024 * 1024;
  const nproc = nprocLimit(resources.pids, input.capacity);
  return {
    NetworkMode: 'none',
    Privileged: false,
    CapDrop: ['ALL'],
    CapAdd: [...SANDBOX_CAPABILITIES],
    SecurityOpt: ['no-new-privileges:true'],
    NanoCpus: Math.round(resources.cpus * 1e9),
    Memory: memory,
    MemorySwap: memory,
    PidsLimit: resources.pids,
    Ulimits: [
      { Name: 'nofile', Soft: SANDBOX_NOFILE, Hard: SANDBOX_NOFILE },
      { Name: 'nproc', Soft: nproc, Hard: nproc },
    ],
    // A build's root steps write the agent's links into /usr/local/bin; a session writes nothing
    // outside its disk and the tmpfs below.
    ReadonlyRootfs: input.purpose === 'session',
    Mounts: [
      ...(mounts.gatewayDir === undefined
        ? []
        : [
            { Type: 'bind' as const, Source: mounts.gatewayDir, Target: SANDBOX_GATEWAY_DIR, ReadOnly: true },
          ]),
      ...mounts.volumes.map(({ spec, name }) => ({
        Type: 'volume' as const,
        Source: name,
        Target: spec.target,
        ReadOnly: false,
      })),
      ...SANDBOX_SCRATCH.map((s) => ({
        Type: 'bind' as const,
        Source: join(mounts.diskDir, s.name),
        Target: s.target,
        ReadOnly: false,
      })),
      ...TMPFS.map((t) => ({
        Type: 'tmpfs' as const,
        Source: '',
        Target: t.target,
        TmpfsOptions: { SizeBytes: t.sizeBytes, Mode: 0o755 },
      })),
    ],
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
    RestartPolicy: { Name: 'no' },
  };
}
