import { arch, cpus, hostname, platform, release, totalmem } from 'node:os';
import type { HostInfo } from '@airlock/schema/runner';
import type Docker from 'dockerode';

// What the runner tells its hub about the machine it runs on.

export async function hostInfo(docker: Docker): Promise<HostInfo> {
  const version = (await docker.version()) as { Version?: string };
  return {
    hostname: hostname().slice(0, 255),
    platform: platform(),
    arch: arch(),
    kernel: release().slice(0, 255),
    cpus: cpus().length,
    memoryMb: Math.floor(totalmem() / 1024 / 1024),
    dockerVersion: (version.Version ?? 'unknown').slice(0, 64),
  };
}
