import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { newId } from '@airlock/schema/ids';
import { describe, expect, it } from 'vitest';
import { connect, created, hello, hubFor, ids, RESOURCES, welcomed } from './test-peer.ts';

// The RunnerHub over its real WebSocket: the test plays the runner's side of
// schema/runner/PROTOCOL.md; the Node runner is exercised end to end in runner/e2e.

function createFor(orgId: string, sandboxId = newId('session'), id = `${sandboxId}:create`) {
  return { id, kind: 'create', sandboxId, orgId, image: 'airlock/sandbox-base:latest', resources: RESOURCES };
}

const ok = (result: unknown) => ({ ok: true, result }) as never;

describe('RunnerHub', () => {
  it('serves WebSocket upgrades only, and only with the edge’s headers', async () => {
    const hub = hubFor(newId('runner'));
    expect((await hub.fetch('http://hub/connect')).status).toBe(426);
    const bare = await hub.fetch('http://hub/connect', { headers: { upgrade: 'websocket' } });
    expect(bare.status).toBe(400);
    expect((await hub.status()).status).toBe('never');
  });

  it('welcomes a runner, delivers an assignment, and hands its result to a waiting caller', async () => {
    const who = ids();
    const hub = hubFor(who.runnerId);
    const peer = await connect(hub, who, { heartbeatMs: 5000, graceMs: 20_000 });
    expect(await hello(peer)).toMatchObject({ type: 'welcome', runnerId: who.runnerId, heartbeatMs: 5000 });

    const create = createFor(who.orgId);
    const submitted = await hub.submit(create);
    expect(submitted).toMatchObject({ ok: true, assignment: { id: create.id, state: 'delivered' } });
    const assign = await peer.next('assign');
    expect(assign.assignment).toMatchObject({ id: create.id, kind: 'create', env: {} });

    const waiting = hub.wait(create.id, 5000);
    peer.send({ type: 'accepted', id: create.id });
    peer.send({
      type: 'result',
      id: create.id,
      outcome: ok({ kind: 'create', containerId: 'c0ffee', state: 'created' }),
    });
    expect(await waiting).toMatchObject({
      state: 'succeeded',
      outcome: { ok: true, result: { containerId: 'c0ffee' } },
    });
    expect(await peer.next('ack')).toEqual({ type: 'ack', id: create.id });

    const status = await hub.status();
    expect(status).toMatchObject({
      status: 'online',
      connected: 1,
      version: '0.1.0-test',
      capacity: 4,
      liveSandboxes: 1,
    });
    expect(await hub.sandbox(create.sandboxId)).toMatchObject({ state: 'created', containerId: 'c0ffee' });
    peer.ws.close(1000, 'done');
  });

  it('treats a resubmission as the same assignment, and other content under the same id as a conflict', async () => {
    const { who, hub, peer } = await welcomed();
    const create = createFor(who.orgId);
    const first = await hub.submit(create);
    const again = await hub.submit(create);
    expect(again).toEqual(first);
    expect(peer.drain('assign')).toHaveLength(1);
    expect(await hub.submit({ ...create, image: 'other:latest' })).toMatchObject({
      ok: false,
      code: 'conflict',
    });
    peer.ws.close(1000, 'done');
  });

  it('refuses what it cannot route: no runner, another org, no capacity, an unknown sandbox, bad input', async () => {
    const who = ids();
    const hub = hubFor(who.runnerId);
    expect(await hub.submit(createFor(who.orgId))).toMatchObject({ ok: false, code: 'runner_offline' });
    const peer = await connect(hub, who);
    await hello(peer, { capacity: 1 });
    expect(await hub.submit(createFor(newId('org')))).toMatchObject({ ok: false, code: 'wrong_org' });
    expect(await hub.submit(createFor(who.orgId))).toMatchObject({ ok: true });
    expect(await hub.submit(createFor(who.orgId))).toMatchObject({ ok: false, code: 'at_capacity' });
    const stranger = newId('session');
    expect(await hub.submit({ id: `${stranger}:start`, kind: 'start', sandboxId: stranger })).toMatchObject({
      ok: false,
      code: 'unknown_sandbox',
    });
    expect(await hub.submit({ id: 'x', kind: 'create' })).toMatchObject({ ok: false, code: 'invalid' });
    peer.ws.close(1000, 'done');
  });

  it('closes on a protocol violation', async () => {
    const who = ids();
    const hub = hubFor(who.runnerId);
    const peer = await connect(hub, who);
    peer.send({ type: 'accepted', id: 'before-hello' });
    expect(await peer.next('error')).toMatchObject({ code: 'protocol' });
    expect((await peer.closed).code).toBe(1008);
  });

  it('forgets the bootstrap token of a start once it settles', async () => {
    const { who, hub, peer } = await welcomed();
    const create = await created(hub, peer, who.orgId, { containerId: 'c1', state: 'created' });
    const start = {
      id: `${create.sandboxId}:start`,
      kind: 'start',
      sandboxId: create.sandboxId,
      startup: { sessionId: create.sandboxId, bootstrapToken: 'secret-bootstrap-token' },
    };
    await hub.submit(start);
    expect((await peer.next('assign')).assignment).toMatchObject({
      startup: { bootstrapToken: 'secret-bootstrap-token' },
    });
    peer.send({ type: 'result', id: start.id, outcome: ok({ kind: 'start', state: 'running' }) });
    await hub.wait(start.id, 5000);
    const stored = await runInDurableObject(hub, (_instance, state) =>
      state.storage.sql
        .exec<{ payload: string }>('SELECT payload FROM assignments WHERE id = ?', start.id)
        .one(),
    );
    expect(stored.payload).not.toContain('secret-bootstrap-token');
    expect(await hub.sandbox(create.sandboxId)).toMatchObject({ state: 'running' });
    peer.ws.close(1000, 'done');
  });

  it('keeps streamed output for followers', async () => {
    const { who, hub, peer } = await welcomed();
    const create = await created(hub, peer, who.orgId, { containerId: 'c1', state: 'running' });
    const exec = {
      id: `${create.sandboxId}:exec`,
      kind: 'exec',
      sandboxId: create.sandboxId,
      command: ['echo'],
    };
    await hub.submit(exec);
    peer.send({ type: 'output', id: exec.id, seq: 0, stream: 'stdout', data: 'one\n' });
    peer.send({ type: 'output', id: exec.id, seq: 1, stream: 'stderr', data: 'two\n' });
    peer.send({
      type: 'result',
      id: exec.id,
      outcome: ok({
        kind: 'exec',
        exitCode: 3,
        stdout: 'one\n',
        stderr: 'two\n',
        truncated: false,
        timedOut: false,
        durationMs: 5,
      }),
    });
    expect(await hub.wait(exec.id, 5000)).toMatchObject({ outcome: { ok: true, result: { exitCode: 3 } } });
    expect(await hub.output(exec.id)).toEqual([
      { seq: 0, stream: 'stdout', data: 'one\n' },
      { seq: 1, stream: 'stderr', data: 'two\n' },
    ]);
    expect(await hub.output(exec.id, 0)).toHaveLength(1);
    peer.ws.close(1000, 'done');
  });

  it('after a reconnect: redelivers unfinished work, fails a cut-off exec, destroys orphans, writes off the missing', async () => {
    const who = ids();
    const hub = hubFor(who.runnerId);
    const first = await connect(hub, who);
    await hello(first);
    // Two sandboxes created, one more create in flight, an exec running on the first.
    const kept = createFor(who.orgId);
    const vanished = createFor(who.orgId);
    for (const c of [kept, vanished]) {
      await hub.submit(c);
      first.send({
        type: 'result',
        id: c.id,
        outcome: ok({ kind: 'create', containerId: `c-${c.sandboxId}`, state: 'running' }),
      });
      await hub.wait(c.id, 5000);
    }
    const pending = createFor(who.orgId);
    await hub.submit(pending);
    const exec = { id: `${kept.sandboxId}:exec`, kind: 'exec', sandboxId: kept.sandboxId, command: ['make'] };
    await hub.submit(exec);
    first.send({ type: 'accepted', id: pending.id });
    first.send({ type: 'accepted', id: exec.id });
    expect(first.drain('assign').map((a) => a.assignment.id)).toEqual([
      kept.id,
      vanished.id,
      pending.id,
      exec.id,
    ]);
    first.ws.close(1001, 'runner crashed');
    await first.closed;

    // The restarted runner has the kept sandbox, the pending one (made just before the crash),
    // and a stray container nobody asked for; the vanished one is gone.
    const stray = newId('session');
    const second = await connect(hub, who);
    await hello(second, {
      sandboxes: [
        {
          sandboxId: kept.sandboxId,
          containerId: `c-${kept.sandboxId}`,
          assignmentId: kept.id,
          state: 'running',
          exitCode: null,
        },
        {
          sandboxId: pending.sandboxId,
          containerId: 'c-pending',
          assignmentId: pending.id,
          state: 'created',
          exitCode: null,
        },
        {
          sandboxId: stray,
          containerId: 'c-stray-0123456789',
          assignmentId: `${stray}:create`,
          state: 'running',
          exitCode: null,
        },
      ],
    });
    const delivered = [await second.next('assign'), await second.next('assign')].map((m) => m.assignment);
    expect(delivered).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'destroy', sandboxId: stray, containerId: 'c-stray-0123456789' }),
        expect.objectContaining({ id: pending.id, kind: 'create' }),
      ]),
    );
    expect(await hub.assignment(exec.id)).toMatchObject({
      state: 'failed',
      outcome: { error: { code: 'interrupted' } },
    });
    expect(await hub.sandbox(vanished.sandboxId)).toMatchObject({ state: 'lost' });
    expect(await hub.sandbox(kept.sandboxId)).toMatchObject({ state: 'running' });
    second.ws.close(1000, 'done');
  });

  it('does not redeliver what the reconnected runner is still running', async () => {
    const who = ids();
    const hub = hubFor(who.runnerId);
    const first = await connect(hub, who);
    await hello(first);
    const create = createFor(who.orgId);
    await hub.submit(create);
    first.ws.close(1001, 'network blip');
    await first.closed;
    const second = await connect(hub, who);
    await hello(second, { inFlight: [create.id] });
    second.send({
      type: 'result',
      id: create.id,
      outcome: ok({ kind: 'create', containerId: 'c9', state: 'created' }),
    });
    expect(await hub.wait(create.id, 5000)).toMatchObject({ state: 'succeeded' });
    expect(second.drain('assign')).toEqual([]);
    second.ws.close(1000, 'done');
  });

  it('notices a sandbox that stopped on its own', async () => {
    const { who, hub, peer } = await welcomed();
    const create = await created(hub, peer, who.orgId, { containerId: 'c1', state: 'running' });
    peer.send({
      type: 'heartbeat',
      sandboxes: [
        {
          sandboxId: create.sandboxId,
          containerId: 'c1',
          assignmentId: create.id,
          state: 'exited',
          exitCode: 137,
        },
      ],
      inFlight: [],
    });
    // The control plane hears of it through ControlPlaneInternal (workers/internal tests).
    await expect.poll(() => hub.sandbox(create.sandboxId)).toMatchObject({ state: 'exited', exitCode: 137 });
    peer.ws.close(1000, 'done');
  });

  it('fails an assignment that outlives its deadline', async () => {
    const { who, hub, peer } = await welcomed();
    const create = createFor(who.orgId);
    await hub.submit(create, { timeoutMs: 1000 });
    await new Promise((r) => setTimeout(r, 1100));
    await runDurableObjectAlarm(hub);
    expect(await hub.assignment(create.id)).toMatchObject({
      state: 'failed',
      outcome: { error: { code: 'timeout' } },
    });
    // The create never produced a sandbox: a container that shows up later is an orphan.
    expect(await hub.sandbox(create.sandboxId)).toMatchObject({ state: 'destroyed' });
    peer.ws.close(1000, 'done');
  });

  it('writes a runner off after the grace period: its work fails and its sandboxes are lost', async () => {
    const who = ids();
    const hub = hubFor(who.runnerId);
    const peer = await connect(hub, who, { heartbeatMs: 100, graceMs: 400 });
    await hello(peer);
    const create = await created(hub, peer, who.orgId, { containerId: 'c1', state: 'running' });
    const stop = { id: `${create.sandboxId}:stop`, kind: 'stop', sandboxId: create.sandboxId };
    await hub.submit(stop);
    peer.ws.close(1001, 'gone');
    await peer.closed;
    await new Promise((r) => setTimeout(r, 500));
    await runDurableObjectAlarm(hub);
    expect(await hub.status()).toMatchObject({ status: 'offline', liveSandboxes: 0 });
    expect(await hub.assignment(stop.id)).toMatchObject({ outcome: { error: { code: 'runner_lost' } } });
    expect(await hub.sandbox(create.sandboxId)).toMatchObject({ state: 'lost' });
    expect(await hub.submit(createFor(who.orgId))).toMatchObject({ ok: false, code: 'runner_offline' });
  });
});
