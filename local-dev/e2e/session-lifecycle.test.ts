import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  containersWith,
  inspectContainer,
  type RunnerProc,
  type SessionWorld,
  startSessionWorld,
  waitUntil,
} from './session-world.ts';

// The SessionLifecycle workflow on real components: the Worker under
// `wrangler dev`, a runner process, Docker, Postgres. Sessions go through the
// HTTP API only; containers are inspected with Docker directly.

interface SessionView {
  id: string;
  status: string;
  failureReason: string | null;
}

let world: SessionWorld & { agentImage: string };
let runner: RunnerProc;
let agentProfile: string;
let bareProfile: string;

beforeAll(async () => {
  world = await startSessionWorld(inject('airlock'), { maxSessions: 1 });
  runner = await world.startRunner();
  // A snapshot whose image has an agent to show (a stand-in `codex`), and the bare base image.
  agentProfile = await world.profile({ image: world.agentImage });
  bareProfile = await world.profile({ image: world.baseImage });
}, 900_000);

afterAll(async () => {
  await world?.stop();
});

async function start(profileId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const reply = await world.api<SessionView>('POST', `/orgs/${world.orgId}/sessions`, {
    profileId,
    ...extra,
  });
  expect(reply.status).toBe(201);
  expect(reply.body.status).toBe('pending');
  return reply.body.id;
}

async function session(id: string): Promise<SessionView> {
  return (await world.api<SessionView>('GET', `/orgs/${world.orgId}/sessions/${id}`)).body;
}

async function settled(id: string, statuses: string[]): Promise<SessionView> {
  return waitUntil(`session ${id} to be ${statuses.join(' or ')}`, async () => {
    const s = await session(id);
    return statuses.includes(s.status) ? s : undefined;
  });
}

async function history(id: string): Promise<string[]> {
  const reply = await world.api<{ items: Array<{ toStatus: string }> }>(
    'GET',
    `/orgs/${world.orgId}/sessions/${id}/events`,
  );
  return reply.body.items.map((e) => e.toStatus);
}

const containersOf = async (sessionId: string) => containersWith(`airlock.sandbox=${sessionId}`);

describe('session lifecycle', () => {
  it('runs an interactive session: running, its agent PTY through a pty token, stop → stopped, sandbox gone', async () => {
    const id = await start(agentProfile);
    const running = await settled(id, ['running', 'failed', 'stopped']);
    expect(running).toMatchObject({ status: 'running', failureReason: null });
    expect(await history(id)).toEqual(['pending', 'provisioning', 'starting', 'running']);

    // Placeholders, never secrets, in the container.
    const [container] = await containersOf(id);
    expect(container).toBeDefined();
    const inspected = inspectContainer(container ?? '');
    const env = inspected.Config.Env.join('\n');
    expect(env).toContain('OPENAI_API_KEY=airlock-brokered');
    expect(env).not.toContain(world.secret);
    expect(JSON.stringify(inspected)).not.toContain(world.secret);

    // The agent's terminal, as the dashboard reaches it.
    const grant = await world.api<{ url: string }>('POST', `/orgs/${world.orgId}/sessions/${id}/pty-token`, {
      terminal: 'agent',
    });
    expect(grant.status).toBe(201);
    const url = new URL(grant.body.url);
    const ws = new WebSocket(`${world.workerUrl.replace('http', 'ws')}${url.pathname}${url.search}`);
    let output = '';
    ws.on('message', (data, binary) => {
      if (binary) output += Buffer.from(data as Buffer).toString();
    });
    await waitUntil('the agent banner in the terminal', async () => output.includes('stand-in agent ready'));
    expect(output).toContain('key=airlock-brokered');
    ws.close();

    // A shell next to the agent: opened once (idempotent), typed into like the dashboard does,
    // with the agent's directory and placeholders.
    const opened = await world.api<{ opened: boolean }>(
      'POST',
      `/orgs/${world.orgId}/sessions/${id}/terminals`,
      {
        terminal: 'shell',
      },
    );
    expect(opened).toMatchObject({ status: 201, body: { opened: true } });
    const again = await world.api<{ opened: boolean }>(
      'POST',
      `/orgs/${world.orgId}/sessions/${id}/terminals`,
      {
        terminal: 'shell',
      },
    );
    expect(again).toMatchObject({ status: 200, body: { opened: false } });
    const shellGrant = await world.api<{ url: string }>(
      'POST',
      `/orgs/${world.orgId}/sessions/${id}/pty-token`,
      { terminal: 'shell' },
    );
    const shellUrl = new URL(shellGrant.body.url);
    const shell = new WebSocket(
      `${world.workerUrl.replace('http', 'ws')}${shellUrl.pathname}${shellUrl.search}`,
    );
    let typed = '';
    shell.on('message', (data, binary) => {
      if (binary) typed += Buffer.from(data as Buffer).toString();
    });
    await new Promise((resolve, reject) => shell.once('open', resolve).once('error', reject));
    shell.send(Buffer.from('echo "in $(id -un) key=$OPENAI_API_KEY sum=$((6*7))"\n'));
    await waitUntil('the shell to answer', async () => typed.includes('sum=42'));
    expect(typed).toContain('in sandbox key=airlock-brokered sum=42');
    shell.close();

    // One session is the org's quota: another start fails, with the reason.
    const over = await start(agentProfile);
    const refused = await settled(over, ['failed', 'running']);
    expect(refused.status).toBe('failed');
    expect(refused.failureReason).toMatch(/quota: 1 of 1 sessions/);

    const stopping = await world.api<SessionView>('POST', `/orgs/${world.orgId}/sessions/${id}/stop`);
    expect(stopping.status).toBe(202);
    const stopped = await settled(id, ['stopped', 'failed']);
    expect(stopped.status).toBe('stopped');
    expect(await history(id)).toEqual([
      'pending',
      'provisioning',
      'starting',
      'running',
      'stopping',
      'stopped',
    ]);
    expect(await containersOf(id)).toHaveLength(0);
  });

  it('fails a headless session whose image has no agent CLI, saying so, and frees its slot', async () => {
    // The quota slot of the previous test is free again, or this could not start.
    const id = await start(bareProfile, { mode: 'headless', prompt: 'say hello' });
    const failed = await settled(id, ['failed', 'stopped']);
    expect(failed.status).toBe('failed');
    expect(failed.failureReason).toMatch(/agent (could not run|exited with code)/);
    expect(failed.failureReason).toMatch(/codex/);
    // Stopping before failed: the sandbox is torn down with the session already on its way out,
    // so the runner's report of the exited container cannot bury the agent's reason.
    expect(await history(id)).toEqual([
      'pending',
      'provisioning',
      'starting',
      'running',
      'stopping',
      'failed',
    ]);
    expect(await containersOf(id)).toHaveLength(0);
  });

  it('fails a session whose runner dies mid-create; the restarted runner reconciles; the quota comes back', async () => {
    await runner.kill();
    const held = await world.startRunner({ hold: 'create' });
    const id = await start(agentProfile);
    await waitUntil('the container of the interrupted create', async () => (await containersOf(id))[0]);
    await held.kill();
    const failed = await settled(id, ['failed', 'running', 'stopped']);
    expect(failed.status).toBe('failed');
    expect(failed.failureReason).toMatch(/runner|sandbox/i);

    runner = await world.startRunner();
    await waitUntil(
      'the orphaned container to be destroyed',
      async () => (await containersOf(id)).length === 0,
    );
    // With a quota of one, a new session only starts if every slot was given back.
    const next = await start(agentProfile);
    expect((await settled(next, ['running', 'failed'])).status).toBe('running');
    await world.api('POST', `/orgs/${world.orgId}/sessions/${next}/stop`);
    expect((await settled(next, ['stopped', 'failed'])).status).toBe('stopped');
  });
});
