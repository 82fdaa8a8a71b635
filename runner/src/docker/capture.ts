import { dirname } from 'node:path';
import type Docker from 'dockerode';
import { LABEL } from './labels.ts';
import { SANDBOX_VOLUMES } from './storage.ts';

// A snapshot of a sandbox whose writable paths are volumes on its own disk
// (ADR 0111): `docker commit` keeps the root filesystem's changes but not
// what is in volumes, so the volumes marked `capture` (home, workspace, agent
// prefix) are copied into the image. dockerd does the copying — its archive
// API reads from the sandbox and extracts into a container created (never
// started) from the commit, both inside containers' roots, links kept as
// links — and that container is committed as the snapshot.

export const captureName = (sandboxId: string) => `airlock-capture-${sandboxId}`;

/** Labels that would make an image or container pass for the sandbox, blanked. */
const BLANK = { [LABEL.sandbox]: '', [LABEL.tunnel]: '', [LABEL.assignment]: '', [LABEL.capture]: '' };

export async function removeCaptureContainer(docker: Docker, sandboxId: string): Promise<void> {
  await docker
    .getContainer(captureName(sandboxId))
    .remove({ force: true })
    .catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    });
}

/**
 * Commit `containerId` with its captured volumes' content; the image carries `labels` and runs
 * the image's default command. Returns the image id.
 */
export async function commitWithVolumes(
  docker: Docker,
  input: {
    containerId: string;
    sandboxId: string;
    runnerId: string;
    repo: string;
    tag: string;
    labels: Readonly<Record<string, string>>;
  },
): Promise<string> {
  const sandbox = docker.getContainer(input.containerId);
  const info = await sandbox.inspect();
  const captured = new Set(SANDBOX_VOLUMES.filter((v) => v.capture).map((v) => v.target));
  const paths = info.Mounts.filter((m) => m.Type === 'volume' && captured.has(m.Destination)).map(
    (m) => m.Destination,
  );
  const labelChange = (labels: Readonly<Record<string, string>>) =>
    `LABEL ${Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ')}`;
  const final = ['CMD []', labelChange({ ...BLANK, ...input.labels })];
  if (paths.length === 0)
    return idOf(await sandbox.commit({ repo: input.repo, tag: input.tag, pause: true, changes: final }));

  // The root filesystem as it is, untagged, then its volumes' content on top in a fresh container.
  const base = idOf(await sandbox.commit({ pause: true, changes: [labelChange(BLANK)] }));
  await removeCaptureContainer(docker, input.sandboxId);
  const capture = await docker.createContainer({
    name: captureName(input.sandboxId),
    Image: base,
    Labels: { ...BLANK, [LABEL.runner]: input.runnerId, [LABEL.capture]: input.sandboxId },
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    for (const path of paths) {
      const archive = await sandbox.getArchive({ path });
      await capture.putArchive(archive, { path: dirname(path) });
    }
    return idOf(await capture.commit({ repo: input.repo, tag: input.tag, changes: final }));
  } finally {
    await capture.remove({ force: true }).catch(() => {});
  }
}

function idOf(committed: unknown): string {
  const id = (committed as { Id?: unknown } | null)?.Id;
  if (typeof id !== 'string') throw new Error('docker commit returned no image id');
  return id;
}
