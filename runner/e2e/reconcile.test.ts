import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newId } from '@airlock/schema/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RegisteredRunner, seedRunningSession, sessionRow } from '../../local-dev/runners.ts';
import {
  baseImage,
  cleanUp,
  containersOf,
  docker,
  e2e,
  hubStatus,
  must,
  newRunner,
  type ProviderReply,
  provider,
  type Ref,
  type RunnerProcess,
  startRunner,
  waitUntil,
} from './fixture.ts';

// A runner that crashes (SIGKILL) in the middle of creating a sandbox, while
// Docker changes behind its back. After it restarts, its hub and it agree
// again: the interrupted create finishes without a second container, a
// container nobody asked for is destroyed, and a sandbox whose container
// vanished is reported — its session fails.

const RESOURCES = { cpus: 0.25, memoryMb: 128, pids: 64, diskMb: 256 };

let image: string;
let runner: RegisteredRunner;
const processes: RunnerProcess[] = [];
const stateDir = () => processes[0]?.stateDir;

function create(sandboxId: string): Promise<ProviderReply<Ref>> {
  return provider<Ref>('create', {
    input: {
      operationId: 'create',
      orgId: runner.orgId,
      sandboxId,
      image,
      resources: RESOURCES,
      tunnelSessionId: sandboxId,
      command: ['sleep', 'infinity'],
    },
  });
}

async function start(options: { hold?: 'create' } = {}): Promise<RunnerProcess> {
  const dir = stateDir();
  const proc = startRunner(runner, { ...options, ...(dir === undefined ? {} : { stateDir: dir }) });
  processes.push(proc);
  await waitUntil('the runner to say hello', async () => {
    const s = await hubStatus(runner.runnerId);
    return s.connected === 1 && proc.lines.some((l) => l.includes('"welcomed"'));
  });
  return proc;
}

async function containersFor(sandboxId: string) {
  return docker.listContainers({ all: true, filters: { label: [`airlock.sandbox=${sandboxId}`] } });
}

beforeAll(async () => {
  image = await baseImage();
  runner = await newRunner();
});

afterAll(async () => {
  for (const p of processes) await p.kill();
  if (runner) await cleanUp(runner.runnerId, [...new Set(processes.map((p) => p.stateDir))]);
});

describe('runner crash and restart', () => {
  it('reconciles: the interrupted create completes once, orphans go, the missing are reported failed', async () => {
    // Two sandboxes made normally: one will survive, one will vanish while the runner is down.
    const first = await start();
    const kept = newId('session');
    const vanishing = await seedRunningSession(e2e().databaseUrl, runner.orgId);
    const keptRef = await must(create(kept));
    const vanishingRef = await must(create(vanishing));
    await must(provider('start', { ref: keptRef, input: { operationId: 'start' } }));
    await first.kill();

    // Behind the runner's back: one container removed, one stray container with its labels.
    await docker.getContainer(vanishingRef.externalId ?? '').remove({ force: true });
    const stray = newId('session');
    const strayContainer = await docker.createContainer({
      Image: image,
      Cmd: ['sleep', 'infinity'],
      Labels: {
        'airlock.runner': runner.runnerId,
        'airlock.sandbox': stray,
        'airlock.assignment': `${stray}:create`,
        'airlock.tunnel': '',
      },
      HostConfig: { NetworkMode: 'none' },
    });

    // Restarted, the runner crashes again right after `docker create` of a new sandbox.
    const second = await start({ hold: 'create' });
    const interrupted = newId('session');
    const pending = create(interrupted);
    const made = await waitUntil(
      'the container of the interrupted create',
      async () => (await containersFor(interrupted))[0],
    );
    await second.kill();

    // Third start: everything converges.
    await start();
    const ref = await must(pending);
    expect(ref.externalId).toBe(made.Id);
    expect(await containersFor(interrupted)).toHaveLength(1);

    await waitUntil(
      'the stray container to be destroyed',
      async () => (await containersFor(stray)).length === 0,
    );
    await expect(docker.getContainer(strayContainer.id).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const hub = await hubStatus(runner.runnerId);
    const states = Object.fromEntries(hub.sandboxes.map((s) => [s.sandboxId, s.state]));
    expect(states).toMatchObject({ [kept]: 'running', [vanishing]: 'lost', [interrupted]: 'created' });
    expect(states[stray]).toBeUndefined();

    const session = await waitUntil('the vanished sandbox’s session to fail', async () => {
      const row = await sessionRow(e2e().databaseUrl, vanishing);
      return row?.status === 'failed' ? row : undefined;
    });
    expect(session.failureReason).toMatch(/disappeared while its runner was away/);

    // The vanished sandbox's disk and volumes went with it; the others' are still mounted.
    const disks = join(stateDir() ?? '', 'disks');
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(existsSync(join(disks, `${vanishing}.img`))).toBe(false);
    expect(mounted).not.toContain(join(disks, vanishing));
    expect(
      (await docker.listVolumes({ filters: { label: [`airlock.sandbox=${vanishing}`] } })).Volumes,
    ).toEqual([]);
    for (const alive of [kept, interrupted]) expect(mounted).toContain(` ${join(disks, alive)} `);

    // The survivor still has its tunnel socket after all the restarts.
    const survivor = (await containersOf(runner.runnerId)).find((c) => c.Labels['airlock.sandbox'] === kept);
    expect(survivor?.State).toBe('running');
    expect(
      processes.at(-1)?.lines.some((l) => l.includes('"assignment"') && l.includes(`${interrupted}:create`)),
    ).toBe(true);
  });

  it('refuses to run with a token the hub will not accept, and says why', async () => {
    const bogus = startRunner(runner, { token: `${runner.token.split('.').slice(0, 2).join('.')}.AAAA` });
    processes.push(bogus);
    expect(await bogus.exited).toBe(3);
    expect(bogus.lines.join('\n')).toMatch(/refused this runner \(401\)/);
  });
});
