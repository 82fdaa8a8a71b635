import { runInDurableObject } from 'cloudflare:test';
import { DEFAULT_SESSION_SETTINGS } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';
import { describe, expect, it } from 'vitest';
import type { SessionGateway } from './index.ts';
import {
  bootstrapToken,
  createWorld,
  gateway,
  grantedBootstrapToken,
  plan,
  type World,
} from './test-support/fixtures.ts';
import { openTunnel, SandboxPeer } from './test-support/sandbox-peer.ts';

// The gateway admits only the bootstrap jti the lifecycle handed it for the
// sandbox it is starting (ADR 0100), whenever the sandbox dials: the grant
// comes before the token leaves the Worker, the plan before or after. Once a
// connection is confirmed, no bootstrap token opens the tunnel again — not a
// second one of the same assignment, not a stray well-signed one — and the live
// connection and its resume tokens stay as they are.

/** The gateway's storage, row for row. */
async function snapshot(stub: DurableObjectStub<SessionGateway>): Promise<string> {
  return runInDurableObject(stub, (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
      )
      .toArray();
    return JSON.stringify(
      tables.map(({ name }) => [name, state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray()]),
    );
  });
}

async function status(world: World, token: string): Promise<number> {
  const response = await openTunnel(world.sessionId, token);
  if (response.webSocket) {
    response.webSocket.accept();
    response.webSocket.close(1000, 'test');
  } else {
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  }
  return response.status;
}

const applyPlan = (world: World) =>
  gateway(world.sessionId).applyPlan({
    sessionId: world.sessionId,
    revision: 1,
    plan: plan(world, []),
    attribution: { startedBy: world.userId, triggerId: null, triggerDeliveryId: null },
    settings: DEFAULT_SESSION_SETTINGS,
  });

describe('bootstrap grants', () => {
  it('refuses a well-signed bootstrap token the gateway was never handed, leaving it untouched', async () => {
    const world = await createWorld();
    const stub = gateway(world.sessionId);
    expect((await applyPlan(world)).ok).toBe(true);
    const before = await snapshot(stub);
    expect(await status(world, (await bootstrapToken(world)).token)).toBe(401);
    expect(await snapshot(stub)).toBe(before);
    expect(await stub.tunnelState()).toMatchObject({ state: 'waiting', connectedAt: null });
  });

  it('admits the granted token whether the plan arrives before or after the sandbox dials', async () => {
    // Plan first (what provisioning does today).
    const first = await createWorld();
    expect((await applyPlan(first)).ok).toBe(true);
    const early = await SandboxPeer.connect(first.sessionId, (await grantedBootstrapToken(first)).token);
    expect(await gateway(first.sessionId).tunnelState()).toMatchObject({ state: 'connected', revision: 1 });
    early.drop();
    // Sandbox first (a pool sandbox, or a slow plan): the grant alone admits it; the plan follows.
    const second = await createWorld();
    const late = await SandboxPeer.connect(second.sessionId, (await grantedBootstrapToken(second)).token);
    expect(await gateway(second.sessionId).tunnelState()).toMatchObject({
      state: 'connected',
      revision: null,
    });
    expect(await applyPlan(second)).toMatchObject({ ok: true, changed: true });
    late.drop();
  });

  it('refuses any bootstrap once a connection is confirmed, and the live tunnel keeps its connection and resume token', async () => {
    const world = await createWorld();
    const stub = gateway(world.sessionId);
    expect((await applyPlan(world)).ok).toBe(true);
    const used = await grantedBootstrapToken(world);
    // A retried provisioning step mints again for the same sandbox: granted too, but not used.
    const retried = await grantedBootstrapToken(world);
    const peer = await SandboxPeer.connect(world.sessionId, used.token);
    await peer.request({ method: 'GET', authority: 'x.example.com', path: '/' });
    const live = await stub.tunnelState();
    const before = await snapshot(stub);
    const resume = peer.resumeToken;
    for (const token of [used.token, retried.token, (await bootstrapToken(world)).token])
      expect(await status(world, token)).toBe(401);
    expect(await snapshot(stub)).toBe(before);
    expect(await stub.tunnelState()).toEqual(live);
    expect(peer.ws).not.toBeNull();
    expect((await peer.request({ method: 'GET', authority: 'x.example.com', path: '/' })).status).toBe(403);
    // Its resume token still brings it back after a drop.
    peer.drop();
    for (let i = 0; i < 100 && (await stub.tunnelState()).state !== 'disconnected'; i++)
      await new Promise((r) => setTimeout(r, 20));
    await peer.dial(resume);
    expect(await stub.tunnelState()).toMatchObject({ state: 'connected' });
    peer.drop();
  });

  it("lets a retried start's sandbox in with the first token it was given", async () => {
    const world = await createWorld();
    const first = await grantedBootstrapToken(world);
    await grantedBootstrapToken(world); // the retry's token, which the running sandbox never saw
    const peer = await SandboxPeer.connect(world.sessionId, first.token);
    expect(peer.resumeToken).toMatch(/^rsm_/);
    peer.drop();
  });

  it('voids an unused grant when the lifecycle grants for another sandbox', async () => {
    const world = await createWorld();
    const old = await grantedBootstrapToken(world, { assignment: 'p1' });
    const fresh = await grantedBootstrapToken(world, { assignment: 'p2' });
    expect(await status(world, old.token)).toBe(401);
    const peer = await SandboxPeer.connect(world.sessionId, fresh.token);
    peer.drop();
  });

  it('refuses a grant for another owner or org, and any grant once the session ended', async () => {
    const world = await createWorld();
    const stub = gateway(world.sessionId);
    expect((await applyPlan(world)).ok).toBe(true);
    const minted = await bootstrapToken(world);
    const grant = {
      sessionId: world.sessionId,
      orgId: world.orgId,
      jti: minted.jti,
      expiresAt: minted.expiresAt,
      assignment: 'p1',
    };
    expect(await stub.expectBootstrap({ ...grant, orgId: newId('org') })).toMatchObject({
      ok: false,
      code: 'SESSION_MISMATCH',
    });
    expect(await stub.expectBootstrap({ ...grant, sessionId: newId('session') })).toMatchObject({
      ok: false,
      code: 'SESSION_MISMATCH',
    });
    expect(await stub.expectBootstrap({ ...grant, jti: 'short' })).toMatchObject({ code: 'INVALID_INPUT' });
    expect(await status(world, minted.token)).toBe(401);
    await stub.endSession('ended by the test');
    expect(await stub.expectBootstrap(grant)).toMatchObject({ ok: false, code: 'SESSION_ENDED' });
    expect(await status(world, minted.token)).toBe(401);
  });
});
