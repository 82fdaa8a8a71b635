import { ALL_TRAFFIC, Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from '../services/ports.ts';
import { type ScriptedReply, shellCall, type Turn } from '../standins/openai.ts';
import { runBypassAttempts } from './bypass.ts';
import { type CredentiallessWorld, GATEWAY_HOST, startCredentiallessWorld } from './credentialless-world.ts';
import { type ScanReport, scanContainer } from './secret-scanner.ts';
import {
  type PublishedProfile,
  publishCodexProfile,
  sessionHistory,
  waitForSession,
  waitForSnapshot,
} from './sessions.ts';

// E2B end to end (ADR 0160), through the public API only, with no runner: the
// Worker under `wrangler dev` drives the E2B stand-in with the e2b SDK; the
// stand-in's sandboxes are Docker containers behind E2B's egress rules, whose
// sandboxd dials the Worker's public tunnel URL by name. Publish → the build
// runs in an E2B sandbox behind its gateway → an E2B snapshot → sessions start
// from it: the real Codex CLI headless, an interactive terminal, the bypass
// attempts (stopped, or exactly the ones ADR 0160 says E2B cannot stop), and
// provider faults (the session fails naming E2B, quota back, nothing left).

let world: CredentiallessWorld;
let profile: PublishedProfile;
let ready = false;

beforeAll(async () => {
  world = await startCredentiallessWorld(inject('airlock'), {
    provider: 'e2b',
    vars: { AIRLOCK_LIMITS_TUNNEL_GRACE_SECONDS: '10' },
  });
}, 900_000);

afterAll(async () => {
  await world?.stop();
});

const e2b = () => {
  if (world.e2b === null) throw new Error('no E2B stand-in');
  return world.e2b;
};

function needsSnapshot(): void {
  if (!ready) throw new Error('the E2B snapshot did not become ready (see the first test)');
}

async function quotaIsBack(): Promise<void> {
  await waitFor(
    'the org quota to be released',
    async () =>
      (await world.api<{ activeSessions: number }>('GET', `/orgs/${world.orgId}/quota`)).activeSessions === 0,
    60_000,
  );
}

/** One tick of the Worker's cron (wrangler dev fires none by itself); answers once the handler ran. */
async function cronTick(): Promise<void> {
  const response = await fetch(
    `${world.workerUrl}/cdn-cgi/local/scheduled?cron=${encodeURIComponent('* * * * *')}`,
  );
  expect(response.ok).toBe(true);
}

async function nothingRunning(): Promise<void> {
  await waitFor('every E2B sandbox to be gone', async () => (await e2b().containers()).length === 0, 60_000);
}

describe('sessions on E2B (the stand-in, driven by the e2b SDK from the Worker)', () => {
  it('publishes a codex profile on E2B; the build runs behind its gateway and captures an E2B snapshot', async () => {
    profile = await publishCodexProfile(world);
    const snapshot = await waitForSnapshot(world, profile.snapshotId, 900_000);
    const logs = await world.api<{ lines: Array<{ text?: string }> }>(
      'GET',
      `/orgs/${world.orgId}/snapshots/${profile.snapshotId}/logs`,
    );
    expect(snapshot.failureReason ?? null, JSON.stringify(logs.lines.slice(-30))).toBeNull();
    expect(snapshot.status).toBe('ready');
    // A template of the stand-in (E2B snapshots are templates), not a Docker image id.
    const template = String(snapshot.imageRef).split(':')[0] ?? '';
    expect(e2b().registry.templates.has(template)).toBe(true);
    // The clone went through the gateway, which minted and injected the installation token.
    expect(
      world.github.requests.some(
        (r) => r.path.includes('git-upload-pack') && r.credential === 'installation_token',
      ),
    ).toBe(true);
    // The build sandbox dialled the tunnel by name, and is gone.
    expect(e2b().firewall.events.some((e) => e.hostname === GATEWAY_HOST && e.allowed)).toBe(true);
    await nothingRunning();
    ready = true;
  }, 960_000);

  let scan: ScanReport | undefined;
  it('runs the real Codex CLI headless on E2B, and the scanner finds no secret in the sandbox', async () => {
    needsSnapshot();
    let sandboxId = '';
    let scanning: Promise<void> | undefined;
    world.script(async (turn: Turn): Promise<readonly ScriptedReply[]> => {
      if (turn.toolOutputs.size === 0)
        return [shellCall(turn, 'cd /home/sandbox/workspace/widgets && git log --oneline -1')];
      scanning ??= (async () => {
        const container = await world.containerOf(sandboxId);
        if (container === undefined) throw new Error(`no E2B sandbox serves ${sandboxId}`);
        scan = await scanContainer(world.docker, container, world.secrets());
      })();
      await scanning.catch(() => {});
      return [{ kind: 'message', text: 'Looked at the repository.' }];
    });
    const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
      profileId: profile.profileId,
      mode: 'headless',
      prompt: 'Show the last commit.',
    });
    sandboxId = session.id;
    const ended = await waitForSession(world, session.id, ['stopped', 'failed'], 600_000);
    expect(ended.failureReason ?? null, await sessionHistory(world, session.id)).toBeNull();
    const calls = world.openai.requests.filter((r) => r.path === '/v1/responses');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.every((r) => r.authorized && r.bearer === world.openai.apiKey)).toBe(true);
    await scanning;
    expect(scan?.files ?? 0).toBeGreaterThan(1000);
    expect(scan?.hits).toEqual([]);
    await nothingRunning();
    await quotaIsBack();
  }, 700_000);

  it('runs an interactive session: the agent terminal, a brokered request, the bypass attempts, stop', async () => {
    needsSnapshot();
    world.script(() => [{ kind: 'message', text: 'Ready.' }]);
    const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
      profileId: profile.profileId,
      mode: 'interactive',
    });
    await waitForSession(world, session.id, ['running'], 300_000);
    try {
      const grant = await world.api<{ url: string }>(
        'POST',
        `/orgs/${world.orgId}/sessions/${session.id}/pty-token`,
        {
          terminal: 'agent',
        },
      );
      const url = new URL(grant.url);
      const ws = new WebSocket(`${world.workerUrl.replace('http', 'ws')}${url.pathname}${url.search}`);
      let output = '';
      ws.on('message', (data, binary) => {
        if (binary) output += Buffer.from(data as Buffer).toString();
      });
      await waitFor('the agent terminal to print', async () => output.length > 0, 60_000);
      ws.close();
      // The orphan sweep leaves a live session's sandbox alone.
      await cronTick();
      expect(await world.containerOf(session.id)).toBeDefined();

      const container = await world.containerOf(session.id);
      if (container === undefined) throw new Error(`no E2B sandbox for ${session.id}`);
      const before = e2b().firewall.dnsQueries.length;
      const bypass = await runBypassAttempts(world, session.id, container);
      expect(bypass.control.succeeded, bypass.control.output).toBe(true);
      for (const attempt of bypass.attempts)
        expect(attempt.succeeded, `${attempt.name}: ${attempt.output}`).toBe(false);
      expect([...bypass.audited].sort()).toEqual([...bypass.expectedAudited].sort());
      // What ADR 0160 says E2B does not stop: the DNS lookups left the sandbox for E2B's resolver.
      expect(
        e2b()
          .firewall.dnsQueries.slice(before)
          .map((q) => q.name),
      ).toContain('example.org');
    } finally {
      await world.api('POST', `/orgs/${world.orgId}/sessions/${session.id}/stop`, {});
    }
    await waitForSession(world, session.id, ['stopped'], 180_000);
    await nothingRunning();
    await quotaIsBack();
  }, 600_000);

  it('fails a session whose create E2B refuses (5xx, then the account quota), naming E2B; quota back, nothing left', async () => {
    needsSnapshot();
    for (const [fault, words] of [
      ['error500', /E2B: creating the sandbox failed \(HTTP 500\)/],
      ['quota', /E2B: creating the sandbox failed \(HTTP 429\).*concurrent/],
    ] as const) {
      e2b().faults.control.create = fault;
      try {
        const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
          profileId: profile.profileId,
          mode: 'interactive',
        });
        const failed = await waitForSession(world, session.id, ['failed'], 300_000);
        expect(failed.failureReason).toMatch(words);
      } finally {
        e2b().faults.control.create = null;
      }
      await nothingRunning();
      await quotaIsBack();
    }
  }, 700_000);

  it('ends a running session whose E2B sandbox disappears (killed at the provider) as tunnel lost; quota back', async () => {
    needsSnapshot();
    world.script(() => [{ kind: 'message', text: 'Ready.' }]);
    const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
      profileId: profile.profileId,
      mode: 'interactive',
    });
    await waitForSession(world, session.id, ['running'], 300_000);
    const sandbox = [...e2b().registry.sandboxes.values()].find(
      (s) => s.metadata.airlockSandboxId === session.id,
    );
    expect(sandbox).toBeDefined();
    await e2b().registry.kill(sandbox?.sandboxID ?? '');
    // As on Docker: the gateway's grace period ends without a reconnect and it asks for the stop
    // (ADR 0035); the session's history says why.
    const ended = await waitForSession(world, session.id, ['failed', 'stopped'], 300_000);
    expect(ended.status).toBe('stopped');
    expect(await sessionHistory(world, session.id)).toMatch(/running→stopping: sandbox tunnel lost/);
    await nothingRunning();
    await quotaIsBack();
  }, 600_000);

  it('kills, on the next cron tick, an E2B sandbox Airlock made whose owner is gone (the orphan sweep)', async () => {
    needsSnapshot();
    // What a lost workflow or a failed kill leaves behind: labelled as Airlock's, owned by no live session.
    const orphan = await Sandbox.create('airlock-base', {
      apiKey: e2b().apiKey,
      apiUrl: e2b().apiUrl,
      sandboxUrl: e2b().sandboxUrl,
      timeoutMs: 600_000,
      metadata: { airlock: '1', airlockSandboxId: 'ses_01M8ZZZZZZZZZZZZZZZZZZZZZZ', airlockOrg: world.orgId },
      network: { allowOut: [GATEWAY_HOST], denyOut: [ALL_TRAFFIC] },
    });
    expect(await e2b().containers()).toHaveLength(1);
    const before = e2b().served.length;
    await cronTick();
    await nothingRunning();
    expect(e2b().registry.sandboxes.has(orphan.sandboxId)).toBe(false);
    // Killed through E2B's API (the Worker's sweep), not by E2B's own timer.
    expect(
      e2b()
        .served.slice(before)
        .some((r) => r.route === 'DELETE /sandboxes/{sandboxID}' && r.status === 204),
    ).toBe(true);
  }, 180_000);
});
