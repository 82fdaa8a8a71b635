import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromWorkerEnv } from '@airlock/config';
import { newId } from '@airlock/schema/ids';
import Docker from 'dockerode';
import type { BenchResult } from '../../local-dev/bench.ts';
import { ROOT } from '../../local-dev/paths.ts';
import { createOrg, registerRunner } from '../../local-dev/runners.ts';
import { freePort, waitFor } from '../../local-dev/services/ports.ts';
import { startStack } from '../../local-dev/stack.ts';
import { startWranglerDev, waitHealthy, writeDevVars } from '../../local-dev/wrangler-dev.ts';
import { removeRunnerResources, removeRunnerState } from '../e2e/cleanup.ts';
import { ensureBaseImage } from '../images/build.ts';
import { createSandbox, releaseStorage, startSandbox } from '../src/docker/sandboxes.ts';
import { SandboxDisks } from '../src/docker/storage.ts';
import { createLogger } from '../src/log.ts';
import { RelayManager } from '../src/relay.ts';

// Sandbox create → running, measured three ways in the same run on the same
// image: through the whole path (Docker provider → RunnerHub → runner →
// Docker, as a session will), the runner's Docker step alone (with its
// isolation settings and tunnel socket), and a bare `docker run -d` baseline.

const ROUNDS = 5;
const RESOURCES = { cpus: 0.5, memoryMb: 256, pids: 128, diskMb: 1024 };

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN);
};

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function run(): Promise<BenchResult[]> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const docker = new Docker();
  const image = (await ensureBaseImage({ progress: (l) => say(`image   │ ${l}`) })).imageId;
  const work = mkdtempSync(join(tmpdir(), 'airlock-bench-runner-'));
  const stack = await startStack({ publicUrl: 'http://127.0.0.1:8787', env: {} });
  const port = await freePort();
  const workerUrl = `http://127.0.0.1:${port}`;
  const vars = { ...stack.vars, AIRLOCK_RUNNERS_HEARTBEAT_SECONDS: '2' };
  const worker = await startWranglerDev({
    script: join(ROOT, 'workers/testing/runner-harness.ts'),
    port,
    envFile: writeDevVars(join(work, 'vars.env'), vars),
    persistTo: join(work, 'wrangler'),
  });
  const orgId = await createOrg(stack.databaseUrl, 'bench');
  const runner = await registerRunner(stack.databaseUrl, configFromWorkerEnv(vars), { orgId, name: 'bench' });
  const label = `airlock.runner=${runner.runnerId}`;
  // The Docker step alone runs under its own runner id, so the live runner does not take its
  // containers for orphans.
  const directRunner = newId('runner');
  const child = spawn(process.execPath, [join(ROOT, 'runner/main.ts')], {
    env: {
      PATH: process.env.PATH,
      AIRLOCK_RUNNER_URL: workerUrl,
      AIRLOCK_RUNNER_TOKEN: runner.token,
      AIRLOCK_RUNNER_STATE_DIR: join(work, 'runner'),
    },
    stdio: 'ignore',
  });
  try {
    await waitHealthy(workerUrl, worker);
    await waitFor('the runner to be online', async () => {
      const status = (await (await fetch(`${workerUrl}/runner/__test/hub/${runner.runnerId}`)).json()) as {
        status: string;
        connected: number;
      };
      return status.status === 'online' && status.connected === 1;
    });
    const call = async (op: string, body: unknown) => {
      const response = await fetch(`${workerUrl}/runner/__test/provider/${op}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const reply = (await response.json()) as { ok: boolean; value: unknown; error?: { message: string } };
      if (!reply.ok) throw new Error(`${op}: ${reply.error?.message}`);
      return reply.value;
    };
    const viaRunner = async () => {
      const sandboxId = newId('session');
      let ref: unknown;
      const ms = await timed(async () => {
        ref = await call('create', {
          input: {
            operationId: 'create',
            orgId,
            sandboxId,
            image,
            resources: RESOURCES,
            tunnelSessionId: sandboxId,
            command: ['sleep', 'infinity'],
          },
        });
        await call('start', { ref, input: { operationId: 'start' } });
      });
      await call('destroy', { ref, input: { operationId: 'destroy' } });
      return ms;
    };
    const relays = new RelayManager({
      stateDir: join(work, 'direct'),
      target: { origin: new URL(workerUrl) },
      log: createLogger({}, () => {}),
    });
    const ctx = {
      docker,
      runnerId: directRunner,
      relays,
      disks: new SandboxDisks(join(work, 'direct')),
      capacity: 4,
      holdAfterCreate: false,
    };
    const dockerStep = async () => {
      const sandboxId = newId('session');
      const ms = await timed(async () => {
        const base = { orgId, sandboxId, image, resources: RESOURCES, env: {}, tunnelSessionId: sandboxId };
        await createSandbox(ctx, {
          ...base,
          id: `${sandboxId}:create`,
          kind: 'create',
          command: ['sleep', 'infinity'],
        });
        await startSandbox(ctx, { id: `${sandboxId}:start`, kind: 'start', sandboxId });
      });
      await docker.getContainer(`airlock-${sandboxId}`).remove({ force: true });
      await releaseStorage(ctx, sandboxId);
      return ms;
    };
    const bare = async () => {
      let id = '';
      const ms = await timed(async () => {
        const result = spawnSync(
          'docker',
          ['run', '-d', '--label', label, '--network', 'none', image, 'sleep', 'infinity'],
          {
            encoding: 'utf8',
          },
        );
        if (result.status !== 0) throw new Error(`docker run: ${result.stderr}`);
        id = result.stdout.trim();
      });
      await docker.getContainer(id).remove({ force: true });
      return ms;
    };
    for (const warm of [viaRunner, dockerStep, bare]) await warm();
    const samples = { viaRunner: [] as number[], dockerStep: [] as number[], bare: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      samples.viaRunner.push(await viaRunner());
      samples.dockerStep.push(await dockerStep());
      samples.bare.push(await bare());
    }
    const baseline = median(samples.bare);
    return [
      {
        name: `sandbox create→running via provider, hub and runner (median of ${ROUNDS})`,
        value: median(samples.viaRunner),
        unit: 'ms',
        baseline,
        baselineName: 'docker run -d',
      },
      {
        name: `sandbox create→running, the runner's Docker step alone (median of ${ROUNDS})`,
        value: median(samples.dockerStep),
        unit: 'ms',
        baseline,
        baselineName: 'docker run -d',
      },
    ];
  } finally {
    child.kill('SIGKILL');
    for (const owner of [runner.runnerId, directRunner]) await removeRunnerResources(docker, owner);
    for (const dir of ['runner', 'direct']) await removeRunnerState(join(work, dir));
    await worker.stop();
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
