import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SANDBOX_AGENT_PREFIX, SANDBOX_HOME, SANDBOX_WORKSPACE, SandboxId } from '@airlock/schema/runner';
import type Docker from 'dockerode';
import { LABEL } from './labels.ts';

// Each sandbox's writable storage is one ext4 filesystem of its own, in a
// sparse image file on the runner's disk, loop-mounted by the runner (ADR
// 0111). Its directories become the sandbox's home, workspace, /tmp and
// /var/tmp (and, while a snapshot builds, the agent prefix), so everything
// the sandbox can write shares one size limit: when it is full the sandbox
// gets ENOSPC and the runner's disk is untouched. The image's content at
// those paths is copied in by Docker when the container is created (named
// volumes bound to the directories), which runs in dockerd, never through
// the runner following paths the sandbox made. The runner itself only makes
// the filesystem, mounts, unmounts and deletes it.

const run = promisify(execFile);
/** mkfs and mount live in sbin, which a service's PATH may lack. */
const TOOL_PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;

export interface VolumeSpec {
  /** Directory in the sandbox's filesystem, and the volume's name suffix. */
  readonly name: string;
  readonly target: string;
  /** Kept in the snapshot image (`docker commit` does not see volumes). */
  readonly capture: boolean;
  /** Only while a snapshot builds (sessions read it from the image, read-only). */
  readonly buildOnly: boolean;
}

/** Paths backed by the sandbox's filesystem with the image's content copied in. */
export const SANDBOX_VOLUMES: readonly VolumeSpec[] = [
  { name: 'home', target: SANDBOX_HOME, capture: true, buildOnly: false },
  { name: 'workspace', target: SANDBOX_WORKSPACE, capture: true, buildOnly: false },
  { name: 'agent', target: SANDBOX_AGENT_PREFIX, capture: true, buildOnly: true },
  // Root only (sandboxd adds its CA with update-ca-certificates); not kept: each sandbox has its own CA.
  { name: 'ssl-certs', target: '/etc/ssl/certs', capture: false, buildOnly: false },
];

/** Paths backed by empty, world-writable (sticky) directories of the sandbox's filesystem. */
export const SANDBOX_SCRATCH = [
  { name: 'tmp', target: '/tmp' },
  { name: 'var-tmp', target: '/var/tmp' },
] as const;

export const volumeName = (sandboxId: string, spec: VolumeSpec) => `airlock-${sandboxId}-${spec.name}`;

/** Mount points listed by the kernel, decoded (`\040` is a space). */
function mountPoints(): Set<string> {
  const points = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined)
      points.add(
        field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
      );
  }
  return points;
}

export class SandboxDisks {
  readonly #root: string;

  constructor(stateDir: string) {
    this.#root = join(stateDir, 'disks');
    mkdirSync(this.#root, { recursive: true, mode: 0o700 });
  }

  imageOf(sandboxId: string): string {
    return join(this.#root, `${sandboxId}.img`);
  }

  /** Where the sandbox's filesystem is mounted on the runner. */
  mountOf(sandboxId: string): string {
    return join(this.#root, sandboxId);
  }

  isMounted(sandboxId: string): boolean {
    return mountPoints().has(this.mountOf(sandboxId));
  }

  /** Sandboxes that have a disk image or a mount directory here. */
  list(): string[] {
    const ids = new Set<string>();
    for (const entry of readdirSync(this.#root)) {
      const id = SandboxId.safeParse(entry.replace(/\.img$/, ''));
      if (id.success) ids.add(id.data);
    }
    return [...ids];
  }

  /** A new, empty filesystem of `sizeMb` for the sandbox (whatever was there before is removed). */
  async create(sandboxId: string, sizeMb: number): Promise<string> {
    await this.remove(sandboxId);
    const image = this.imageOf(sandboxId);
    const dir = this.mountOf(sandboxId);
    // Sparse: the runner's disk holds only what the sandbox writes, at most sizeMb.
    await run('truncate', ['-s', `${sizeMb}M`, image]);
    // No reserved blocks (the sandbox may use all of it), no journal (the data dies with the
    // sandbox; a journal would cost tens of MB per sandbox), root directory owned by root.
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-E', 'nodiscard', image], {
      env: { ...process.env, PATH: TOOL_PATH },
    });
    await this.#mount(sandboxId);
    for (const spec of SANDBOX_VOLUMES) mkdirSync(join(dir, spec.name), { mode: 0o755 });
    for (const scratch of SANDBOX_SCRATCH) {
      mkdirSync(join(dir, scratch.name));
      chmodSync(join(dir, scratch.name), 0o1777);
    }
    return dir;
  }

  /** After a runner restart (or a host reboot), mount the sandbox's filesystem again if it has one. */
  async ensureMounted(sandboxId: string): Promise<boolean> {
    if (!existsSync(this.imageOf(sandboxId))) return false;
    if (!this.isMounted(sandboxId)) await this.#mount(sandboxId);
    return true;
  }

  /** Unmount and delete the sandbox's filesystem (nothing in it is read or followed). */
  async remove(sandboxId: string): Promise<void> {
    const dir = this.mountOf(sandboxId);
    if (this.isMounted(sandboxId)) {
      try {
        await run('umount', [dir], { env: { ...process.env, PATH: TOOL_PATH } });
      } catch {
        // Still busy (a container being torn down): detach now, freed when the last user goes.
        await run('umount', ['-l', dir], { env: { ...process.env, PATH: TOOL_PATH } });
      }
    }
    // Only an empty mount point can be here now: rmdir, never a recursive delete of sandbox content.
    if (existsSync(dir) && !this.isMounted(sandboxId)) rmdirSync(dir);
    rmSync(this.imageOf(sandboxId), { force: true });
  }

  async #mount(sandboxId: string): Promise<void> {
    const dir = this.mountOf(sandboxId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // loop: a free loop device, released at unmount; nosuid/nodev: nothing in it is privileged;
    // discard: space the sandbox frees goes back to the runner's disk.
    await run(
      'mount',
      ['-o', 'loop,nosuid,nodev,noatime,discard', '-t', 'ext4', this.imageOf(sandboxId), dir],
      {
        env: { ...process.env, PATH: TOOL_PATH },
      },
    );
  }
}

/** The sandbox's named volumes, bound to its filesystem's directories (created before the container). */
export async function createVolumes(
  docker: Docker,
  input: { runnerId: string; sandboxId: string; dir: string; specs: readonly VolumeSpec[] },
): Promise<Array<{ spec: VolumeSpec; name: string }>> {
  const made: Array<{ spec: VolumeSpec; name: string }> = [];
  for (const spec of input.specs) {
    const name = volumeName(input.sandboxId, spec);
    await docker.createVolume({
      Name: name,
      Driver: 'local',
      DriverOpts: { type: 'none', o: 'bind', device: join(input.dir, spec.name) },
      Labels: { [LABEL.runner]: input.runnerId, [LABEL.sandbox]: input.sandboxId },
    });
    made.push({ spec, name });
  }
  return made;
}

/** Remove the sandbox's volumes (its container must be gone). */
export async function removeVolumes(docker: Docker, runnerId: string, sandboxId: string): Promise<void> {
  const { Volumes } = await docker.listVolumes({
    filters: { label: [`${LABEL.runner}=${runnerId}`, `${LABEL.sandbox}=${sandboxId}`] },
  });
  for (const volume of Volumes ?? [])
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      });
}

/** Sandboxes with volumes of this runner (to find leftovers after a crash). */
export async function sandboxesWithVolumes(docker: Docker, runnerId: string): Promise<Set<string>> {
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL.runner}=${runnerId}`] } });
  return new Set((Volumes ?? []).map((v) => v.Labels?.[LABEL.sandbox] ?? '').filter(Boolean));
}
