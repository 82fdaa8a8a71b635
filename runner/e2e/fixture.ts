import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { configFromWorkerEnv } from '@airlock/config';
import Docker from 'dockerode';
import { afterAll, beforeAll, inject } from 'vitest';
import { ROOT } from '../../local-dev/paths.ts';
import { createOrg, type RegisteredRunner, registerRunner, runnerStatus } from '../../local-dev/runners.ts';
import { waitUntil } from '../../local-dev/wait.ts';
import { ensureBaseImage } from '../images/build.ts';
import { LABEL } from '../src/docker/labels.ts';
import { removeRunnerResources, removeRunnerState } from './cleanup.ts';
import { type RunnerE2EInfo, type RunnerHarness, startRunnerHarness } from './harness.ts';

// What the runner's end-to-end tests share: a registered runner (row + token
// made directly in Postgres), the runner as a real child process, the Docker
// provider called through the harness Worker, and clean-up by label.

export const docker = new Docker();
/** Set by useRunnerHarness() where no global setup provides the harness Worker. */
let ownHarness: RunnerE2EInfo | undefined;
export const e2e = (): RunnerE2EInfo => ownHarness ?? inject('runnerE2E');

/**
 * For a test file outside the runner project (the adversarial suite): start the harness Worker
 * before the file's other hooks, stop it after them. Call it before useRunner().
 */
export function useRunnerHarness(): void {
  let harness: RunnerHarness | undefined;
  beforeAll(async () => {
    harness = await startRunnerHarness(inject('airlock'));
    ownHarness = harness.info;
  }, 120_000);
  afterAll(async () => {
    ownHarness = undefined;
    await harness?.stop();
  });
}

/** The base image's id: immutable, so a rebuild from another checkout sharing the engine cannot swap it. */
export async function baseImage(): Promise<string> {
  return (await ensureBaseImage({ progress: (line) => process.stdout.write(`image   │ ${line}\n`) })).imageId;
}

export async function newRunner(capacity = 4): Promise<RegisteredRunner> {
  const { databaseUrl, vars } = e2e();
  const orgId = await createOrg(databaseUrl, 'runner e2e');
  return registerRunner(databaseUrl, configFromWorkerEnv(vars), { orgId, name: 'e2e', capacity });
}

export interface RunnerProcess {
  readonly child: ChildProcess;
  readonly stateDir: string;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** SIGKILL: a crash, not a shutdown. */
  kill(): Promise<void>;
}

export function startRunner(
  runner: RegisteredRunner,
  options: { stateDir?: string; hold?: 'create'; token?: string; url?: string } = {},
): RunnerProcess {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'airlock-runner-'));
  const child = spawn(process.execPath, [join(ROOT, 'runner/main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      AIRLOCK_RUNNER_URL: options.url ?? e2e().workerUrl,
      AIRLOCK_RUNNER_TOKEN: options.token ?? runner.token,
      AIRLOCK_RUNNER_STATE_DIR: stateDir,
      AIRLOCK_RUNNER_CAPACITY: '4',
      ...(options.hold === undefined ? {} : { AIRLOCK_RUNNER_TEST_HOLD: options.hold }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stateDir,
    lines,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A SandboxRef as the provider returns it (workers/providers/types.ts). */
export interface Ref {
  provider: 'docker';
  sandboxId: string;
  runnerId: string | null;
  externalId: string | null;
}

export type ProviderReply<T> =
  | { ok: true; value: T }
  | { ok: false; error: { code: string; underlying?: string; message: string } };

/** A provider call as the workflows will make it, through the harness Worker. */
export async function provider<T>(
  op: string,
  body: { ref?: unknown; input?: unknown },
): Promise<ProviderReply<T>> {
  const response = await fetch(`${e2e().workerUrl}/runner/__test/provider/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`harness ${op}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as ProviderReply<T>;
}

export async function must<T>(reply: Promise<ProviderReply<T>>): Promise<T> {
  const r = await reply;
  if (!r.ok) throw new Error(`provider failed: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

export interface HubStatusView {
  status: string;
  connected: number;
  version: string | null;
  lastSeenAt: number | null;
  messages: number;
  sandboxes: Array<{ sandboxId: string; state: string; containerId: string | null }>;
  unsettled: number;
}

export { waitUntil };

export async function hubStatus(runnerId: string): Promise<HubStatusView> {
  const response = await fetch(`${e2e().workerUrl}/runner/__test/hub/${runnerId}`);
  return (await response.json()) as HubStatusView;
}

export async function containersOf(runnerId: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.runner}=${runnerId}`] } });
}

/** Remove every container and image the runner made. */
export async function cleanUp(runnerId: string, stateDirs: readonly string[] = []): Promise<void> {
  await removeRunnerResources(docker, runnerId);
  for (const dir of stateDirs) await removeRunnerState(dir);
}

/** `docker exec` outside the runner, to look inside a sandbox. */
export async function dockerExec(
  containerId: string,
  cmd: string[],
  options: { user?: string; env?: string[] } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    User: options.user ?? 'root',
    Env: options.env ?? [],
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const err = new PassThrough().on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  docker.modem.demuxStream(stream, out, err);
  await new Promise((resolve) => stream.on('end', resolve));
  return { exitCode: (await exec.inspect()).ExitCode ?? -1, stdout, stderr };
}

export interface RunnerUnderTest {
  readonly image: string;
  readonly runner: RegisteredRunner;
  readonly proc: RunnerProcess;
}

/** For a whole test file: the base image, a registered runner and its process; cleaned up after. */
export function useRunner(): RunnerUnderTest {
  let state: RunnerUnderTest | undefined;
  beforeAll(async () => {
    const image = await baseImage();
    const runner = await newRunner();
    state = { image, runner, proc: startRunner(runner) };
    // New work goes to runners the database lists as online; the hub records that
    // after the runner's hello, asynchronously. Tests start once it is visible.
    await waitUntil('the runner to be listed online', async () =>
      (await runnerStatus(e2e().databaseUrl, runner.runnerId)) === 'online' ? true : undefined,
    );
    // The first suite to need the base image may build it (about a minute from a cold cache).
  }, 600_000);
  afterAll(async () => {
    if (state === undefined) return;
    await state.proc.kill();
    await cleanUp(state.runner.runnerId, [state.proc.stateDir]);
  });
  const get = (): RunnerUnderTest => {
    if (state === undefined) throw new Error('useRunner(): used before beforeAll ran');
    return state;
  };
  return {
    get image() {
      return get().image;
    },
    get runner() {
      return get().runner;
    },
    get proc() {
      return get().proc;
    },
  };
}
