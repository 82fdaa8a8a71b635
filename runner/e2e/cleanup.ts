import type Docker from 'dockerode';
import { LABEL } from '../src/docker/labels.ts';

// Every container and image a runner made (by its label), removed: what a test
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
}
