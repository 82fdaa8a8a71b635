import { env } from 'cloudflare:workers';
import { newId } from '@airlock/schema/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, hello, hubFor, type Peer, RESOURCES } from '../../durable-objects/runner-hub/test-peer.ts';
import type { DbHandle } from '../lib/db.ts';
import { database, seedOrg, seedRunner } from '../runners/test-fixtures.ts';
import { DockerRunnerProvider } from './docker.ts';
import { ProviderError } from './types.ts';

// The Docker provider as the workflows will call it: runner choice from
// Postgres, assignments through the real RunnerHub; here the runner's side is
// played over the hub's WebSocket (runner/e2e runs the real runner + Docker).

let handle: DbHandle;
beforeAll(() => {
  handle = database();
});
afterAll(() => handle.end());

function provider(): DockerRunnerProvider {
  return new DockerRunnerProvider({ hubs: env.RUNNER_HUB, db: handle.db });
}

async function onlineRunner(
  org: string,
  capacity: number,
  activeSandboxes = 0,
): Promise<{ runnerId: string; peer: Peer }> {
  const { runnerId } = await seedRunner(handle.db, org, { status: 'online', activeSandboxes, capacity: 10 });
  const peer = await connect(hubFor(runnerId), { runnerId, orgId: org });
  await hello(peer, { capacity });
  return { runnerId, peer };
}

/** Answer the next assignment the way a runner would. */
async function answer(
  peer: Peer,
  result: Record<string, unknown> | { error: { code: string; message: string } },
) {
  const { assignment } = await peer.next('assign');
  peer.send({ type: 'accepted', id: assignment.id });
  const outcome = 'error' in result ? { ok: false, error: result.error } : { ok: true, result };
  peer.send({ type: 'result', id: assignment.id, outcome: outcome as never });
  return assignment;
}

const input = (org: string, sandboxId = newId('session')) => ({
  operationId: 'create',
  orgId: org,
  sandboxId,
  image: 'airlock/sandbox-base:latest',
  resources: RESOURCES,
  tunnelSessionId: sandboxId,
});

describe('DockerRunnerProvider', () => {
  it('creates on an online runner of the org and reaches the sandbox through that runner afterwards', async () => {
    const { orgId: org } = await seedOrg(handle.db);
    const { runnerId, peer } = await onlineRunner(org, 4);
    const request = input(org);
    const creating = provider().create(request);
    const assignment = await answer(peer, { kind: 'create', containerId: 'c-1', state: 'created' });
    expect(assignment).toMatchObject({
      id: `${request.sandboxId}:create`,
      tunnelSessionId: request.sandboxId,
    });
    const ref = await creating;
    expect(ref).toEqual({ provider: 'docker', sandboxId: request.sandboxId, runnerId, externalId: 'c-1' });

    const starting = provider().start(ref, { operationId: 'start-1' });
    expect(await answer(peer, { kind: 'start', state: 'running' })).toMatchObject({ kind: 'start' });
    await starting;
    expect(await provider().status(ref)).toEqual({ state: 'running', exitCode: null, externalId: 'c-1' });

    const failing = provider().snapshot(ref, { operationId: 'snap-1', snapshotId: newId('snapshot') });
    await answer(peer, { error: { code: 'docker', message: 'docker commit: no space left on device' } });
    await expect(failing).rejects.toMatchObject({
      code: 'failed',
      underlying: 'docker',
      message: /no space/,
    });
    peer.ws.close(1000, 'done');
  });

  it('passes over a full runner, and says so when no runner can take the sandbox', async () => {
    const { orgId: org } = await seedOrg(handle.db);
    const full = await onlineRunner(org, 0);
    const roomy = await onlineRunner(org, 2, 1);
    const creating = provider().create(input(org));
    await answer(roomy.peer, { kind: 'create', containerId: 'c-2', state: 'created' });
    expect((await creating).runnerId).toBe(roomy.runnerId);
    expect(full.peer.drain('assign')).toEqual([]);

    const { orgId: empty } = await seedOrg(handle.db);
    await expect(provider().create(input(empty))).rejects.toEqual(
      new ProviderError('no_capacity', 'No runner of this org is online.'),
    );
    full.peer.ws.close(1000, 'done');
    roomy.peer.ws.close(1000, 'done');
  });

  it('finishes a retried create where the first attempt landed', async () => {
    const { orgId: org } = await seedOrg(handle.db);
    const first = await onlineRunner(org, 4, 3);
    const request = input(org);
    const creating = provider().create(request);
    await answer(first.peer, { kind: 'create', containerId: 'c-3', state: 'created' });
    await creating;
    // Another runner now has more room; the retry must not create a second sandbox there.
    const second = await onlineRunner(org, 4, 0);
    expect((await provider().create(request)).runnerId).toBe(first.runnerId);
    expect(second.peer.drain('assign')).toEqual([]);
    first.peer.ws.close(1000, 'done');
    second.peer.ws.close(1000, 'done');
  });

  it('tells a Docker sandbox to dial the runner’s socket', () => {
    const sessionId = newId('session');
    expect(provider().tunnelFor(sessionId)).toEqual({
      kind: 'unix-socket',
      socketPath: '/run/airlock/gateway/gateway.sock',
      path: `/tunnel/${sessionId}`,
    });
  });
});
