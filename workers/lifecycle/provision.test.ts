import { env } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import { SandboxResources } from '@airlock/schema/runner';
import { describe, expect, it } from 'vitest';
import { sandboxResources } from './provision.ts';

// What a sandbox is given from its profile's resources: the profile's disk, or the configured
// default, and nothing a stored row might carry besides (the runner's schema is strict).

const config = configFromWorkerEnv({ ...env, AIRLOCK_SANDBOX_DEFAULT_DISK_MB: '2048' });

describe('sandboxResources', () => {
  it('takes the disk from `sandbox.default_disk_mb` when the profile sets none', () => {
    const given = sandboxResources({ cpus: 2, memoryMb: 4096, pids: 1024 }, config);
    expect(given).toEqual({ cpus: 2, memoryMb: 4096, pids: 1024, diskMb: 2048 });
    expect(SandboxResources.safeParse(given).success).toBe(true);
  });

  it('keeps the profile’s disk, and only the fields a sandbox has', () => {
    const row = { cpus: 1, memoryMb: 512, pids: 128, diskMb: 700, gpus: 1 } as const;
    expect(sandboxResources(row, config)).toEqual({ cpus: 1, memoryMb: 512, pids: 128, diskMb: 700 });
  });
});
