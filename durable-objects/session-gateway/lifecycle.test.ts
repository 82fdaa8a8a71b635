import { evictDurableObject, runDurableObjectAlarm } from 'cloudflare:test';
import { sessionEvents, sessions } from '@airlock/schema/db';
import { DEFAULT_SESSION_SETTINGS, type ExecEvent } from '@airlock/schema/gateway';
import { CloseCode } from '@airlock/schema/tunnel';
import { desc, eq } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import {
  auditRows,
  createConnection,
  createWorld,
  gateway,
  plan,
  route,
  startSession,
  withDb,
} from './test-support/fixtures.ts';

// What the session lifecycle (issue 7) drives over RPC, and the timers the
// gateway keeps on its alarm: plan revisions, commands with streamed output,
// the agent terminal, the tunnel's grace period, the idle timeout, and audit
// batches that reach Postgres without anyone asking.

const { upstreamHttp } = inject('standIns');

async function readEvents(stream: ReadableStream<Uint8Array>): Promise<ExecEvent[]> {
  const text = await new Response(stream).text();
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ExecEvent);
}

async function sessionRow(sessionId: string) {
  return withDb(async (db) => {
    const row = (await db.select().from(sessions).where(eq(sessions.id, sessionId)))[0];
    const events = await db
      .select()
      .from(sessionEvents)
      .where(eq(sessionEvents.sessionId, sessionId))
      .orderBy(desc(sessionEvents.id));
    return { status: row?.status, reason: events[0]?.reason ?? null, from: events[0]?.fromStatus ?? null };
  });
}

async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('plan revisions', () => {
  it('only moves forward, and a new revision takes effect on the next request', async () => {
    const { world, stub, peer } = await startSession(() => []);
    const denied = await peer.request({ method: 'GET', authority: 'api.example.com', path: '/ok' });
    expect(denied.status).toBe(403);
    const connectionId = await createConnection(world.orgId, 'openai', { api_key: 'sk-rev-2-xxxxxxx' });
    const next = plan(world, [
      route({
        upstream: { baseUrl: upstreamHttp },
        credential: { source: 'secret', connectionId, field: 'api_key' },
      }),
    ]);
    const attribution = { startedBy: world.userId, triggerId: null, triggerDeliveryId: null };
    const apply = (revision: number, sessionId = world.sessionId) =>
      stub.applyPlan({ sessionId, revision, plan: next, attribution, settings: DEFAULT_SESSION_SETTINGS });
    expect(await apply(2)).toEqual({ ok: true, revision: 2, changed: true });
    expect(await apply(2)).toEqual({ ok: true, revision: 2, changed: false });
    expect(await apply(1)).toMatchObject({ ok: false, code: 'STALE_REVISION', revision: 2 });
    expect(await apply(3, (await createWorld()).sessionId)).toMatchObject({
      ok: false,
      code: 'SESSION_MISMATCH',
    });
    expect(
      await stub.applyPlan({
        sessionId: world.sessionId,
        revision: 0,
        plan: next,
        attribution,
        settings: DEFAULT_SESSION_SETTINGS,
      }),
    ).toMatchObject({
      ok: false,
      code: 'INVALID_INPUT',
    });
    const allowed = await peer.request({ method: 'GET', authority: 'api.example.com', path: '/ok' });
    expect(allowed.status).toBe(200);
    expect((await stub.tunnelState()).revision).toBe(2);
  });
});

describe('commands and the agent terminal', () => {
  it('runs a command in the sandbox and streams its output and exit status', async () => {
    const { stub, peer } = await startSession(() => []);
    peer.onExec = (meta, stdin) => ({
      stdout: `ran ${JSON.stringify(meta.command)} with ${stdin}\n`,
      stderr: 'warn\n',
      code: 3,
    });
    const events = await readEvents(
      await stub.exec({ command: ['sh', '-c', 'setup'], stdin: 'input-bytes', timeoutMs: 5_000 }),
    );
    expect(events[0]).toMatchObject({ type: 'started' });
    expect(events).toContainEqual({ type: 'stdout', data: 'ran ["sh","-c","setup"] with input-bytes\n' });
    expect(events).toContainEqual({ type: 'stderr', data: 'warn\n' });
    expect(events.at(-1)).toEqual({ type: 'exit', code: 3, signal: 0, timedOut: false });
    const started = events[0];
    const id = started?.type === 'started' ? started.streamId : -1;
    expect(id % 2).toBe(0);
    expect(peer.streams.get(id)?.meta).toMatchObject({ command: ['sh', '-c', 'setup'], timeoutMs: 5_000 });
    expect(await stub.execResult(id)).toEqual({
      stdout: 'ran ["sh","-c","setup"] with input-bytes\n',
      stderr: 'warn\n',
      exit: { code: 3, signal: 0, timedOut: false },
    });
  });

  it('refuses to run without a tunnel, and opens the agent from the plan', async () => {
    const world = await createWorld();
    const stub = gateway(world.sessionId);
    expect(await readEvents(await stub.exec({ command: ['true'] }))).toEqual([
      { type: 'error', code: 'TUNNEL_DOWN', message: 'the sandbox is not connected' },
    ]);
    const { stub: live, peer } = await startSession(() => []);
    const opened = await live.openAgentTerminal({ cols: 90, rows: 20 });
    expect(opened.ok).toBe(true);
    const id = opened.ok ? opened.streamId : -1;
    await peer.until('agent pty', () => peer.streams.has(id));
    expect(peer.streams.get(id)?.meta).toMatchObject({
      command: ['codex'],
      cols: 90,
      rows: 20,
      env: { OPENAI_API_KEY: 'airlock-brokered' },
    });
    expect(await live.openAgentTerminal()).toMatchObject({ ok: false, code: 'TERMINAL_RUNNING' });
    expect((await live.tunnelState()).terminals).toMatchObject([
      { key: 'agent', streamId: id, status: 'running' },
    ]);
  });

  it('opens a login shell next to the agent, in its directory with its placeholders; never as `agent`', async () => {
    const { stub: live, peer } = await startSession(() => []);
    expect(await live.openShellTerminal({ key: 'agent' })).toMatchObject({
      ok: false,
      code: 'INVALID_INPUT',
    });
    expect(await live.openShellTerminal({ key: 'Bad Name' })).toMatchObject({
      ok: false,
      code: 'INVALID_INPUT',
    });
    const opened = await live.openShellTerminal({ key: 'shell', cols: 100, rows: 30 });
    expect(opened.ok).toBe(true);
    const id = opened.ok ? opened.streamId : -1;
    await peer.until('shell pty', () => peer.streams.has(id));
    expect(peer.streams.get(id)?.meta).toMatchObject({
      command: ['bash', '-l'],
      cols: 100,
      rows: 30,
      env: { OPENAI_API_KEY: 'airlock-brokered' },
    });
    expect(await live.openShellTerminal({ key: 'shell' })).toMatchObject({
      ok: false,
      code: 'TERMINAL_RUNNING',
    });
  });
});

describe('timers', () => {
  it('asks the control plane to stop the session when the tunnel stays away past the grace period', async () => {
    const { world, stub, peer } = await startSession(() => [], {
      settings: { tunnelGraceSeconds: 1, idleTimeoutSeconds: 3600 },
    });
    peer.drop();
    const away = await eventually(
      'disconnected',
      () => stub.tunnelState(),
      (s) => s.state === 'disconnected',
    );
    expect(away.graceDeadline).toBeGreaterThan(Date.now() - 1000);
    await new Promise((r) => setTimeout(r, 1_100));
    await runDurableObjectAlarm(stub);
    expect((await stub.tunnelState()).state).toBe('lost');
    // The stop request reaches Postgres through the control plane, not within the alarm's reply.
    await eventually(
      'stop requested',
      () => sessionRow(world.sessionId),
      (s) => s.status === 'stopping',
    );
    expect(await sessionRow(world.sessionId)).toEqual({
      status: 'stopping',
      reason: 'sandbox tunnel lost',
      from: 'running',
    });
  });

  it('hangs up on a tunnel that went silent without closing, starting the grace period', async () => {
    const { stub, peer } = await startSession(() => [], {
      settings: { tunnelSilenceSeconds: 1, tunnelGraceSeconds: 600 },
    });
    // The peer stays quiet (no PINGs), as a sandbox whose VM vanished would.
    await new Promise((r) => setTimeout(r, 1_100));
    await runDurableObjectAlarm(stub);
    await peer.until('CLOSE TIMEOUT', () => peer.closeFrame !== null);
    expect(peer.closeFrame?.code).toBe(CloseCode.TIMEOUT);
    expect((await stub.tunnelState()).state).toBe('disconnected');
  });

  it('clears the grace period when the sandbox comes back in time', async () => {
    const { world, stub, peer } = await startSession(() => [], { settings: { tunnelGraceSeconds: 60 } });
    peer.drop();
    await eventually(
      'disconnected',
      () => stub.tunnelState(),
      (s) => s.state === 'disconnected',
    );
    await peer.dial(peer.resumeToken);
    expect(await stub.tunnelState()).toMatchObject({ state: 'connected', graceDeadline: null });
    expect((await sessionRow(world.sessionId)).status).toBe('running');
  });

  it('asks the control plane to stop an idle session, once', async () => {
    const { world, stub } = await startSession(() => [], { settings: { idleTimeoutSeconds: 1 } });
    await new Promise((r) => setTimeout(r, 1_100));
    await runDurableObjectAlarm(stub);
    await eventually(
      'stop requested',
      () => sessionRow(world.sessionId),
      (s) => s.status === 'stopping',
    );
    expect(await sessionRow(world.sessionId)).toEqual({
      status: 'stopping',
      reason: 'idle timeout',
      from: 'running',
    });
  });

  it('ships audit events to Postgres on its own, also after an eviction', async () => {
    const { world, stub, peer } = await startSession(() => []);
    await peer.request({ method: 'GET', authority: 'denied.example.com', path: '/a?token=secret' });
    await evictDurableObject(stub);
    const rows = await eventually(
      'audit rows',
      () => auditRows(world.sessionId),
      (r) => r.length === 1,
    );
    expect(rows[0]).toMatchObject({
      kind: 'egress',
      action: 'egress.request',
      decision: 'denied',
      host: 'denied.example.com',
      path: '/a',
    });
  });
});
