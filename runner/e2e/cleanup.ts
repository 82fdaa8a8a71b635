import { existsSync, rmSync } from 'node:fs';
import type Docker from 'dockerode';
import { LABEL } from '../src/docker/labels.ts';
import { SandboxDisks } from '../src/docker/storage.ts';

// Every container, image and volume a runner made (by its label), removed: what a test
// or benchmark leaves behind, whatever state it stopped in.
export async function removeRunnerResources(docker: Docker, runnerId: string): Promise<void> {
  const mine = { label: [`${LABEL.runner}=${runnerId}`] };
  for (const c of await docker.listContainers({ all: true, filters: mine }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const image of await docker.listImages({ filters: mine }))
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const volume of (await docker.listVolumes({ filters: mine })).Volumes ?? [])
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch(() => {});
}

/**
 * Delete a runner's state directory: first unmount the sandbox disks in it (their containers and
 * volumes must be gone), so nothing recursive ever runs inside a sandbox's filesystem.
 */
export async function removeRunnerState(stateDir: string): Promise<void> {
  if (!existsSync(stateDir)) return;
  if (existsSync(`${stateDir}/disks`)) {
    const disks = new SandboxDisks(stateDir);
    for (const sandboxId of disks.list()) await disks.remove(sandboxId);
  }
  rmSync(stateDir, { recursive: true, force: true });
}
