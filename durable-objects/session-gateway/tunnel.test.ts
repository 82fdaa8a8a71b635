import { runInDurableObject } from 'cloudflare:test';
import { DEFAULT_SESSION_SETTINGS } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';
import { CloseCode, decodeFrame, encodeFrame } from '@airlock/schema/tunnel';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../workers/lib/tokens.ts';
import type { SessionGateway } from './index.ts';
import {
  bootstrapToken,
  config,
  createWorld,
  gateway,
  grantedBootstrapToken,
  plan,
  ptyToken,
  type World,
} from './test-support/fixtures.ts';
import { openTunnel, SandboxPeer } from './test-support/sandbox-peer.ts';

// Tunnel admission (PROTOCOL.md §1, §4): bootstrap tokens are verified at the
// edge and single-use at the gateway, which admits only the jti the lifecycle
// handed it (bootstrap-grants.test.ts); later connections use rotating resume
// tokens; anything else is refused with 401 before the gateway changes any
// state.

/** Every row of every table of the gateway: what "no state change" is compared against. */
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

/** Drop the connection and wait until the gateway has seen it go. */
async function dropped(peer: SandboxPeer, stub: DurableObjectStub<SessionGateway>): Promise<void> {
  peer.drop();
  for (let i = 0; i < 100 && (await stub.tunnelState()).state !== 'disconnected'; i++)
    await new Promise((r) => setTimeout(r, 20));
}

async function refused(
  world: World,
  token: string,
): Promise<{ status: number; body: { code?: string; detail?: string } }> {
  const response = await openTunnel(world.sessionId, token);
  expect(response.webSocket).toBeNull();
  return { status: response.status, body: (await response.json()) as { code?: string; detail?: string } };
}

describe('tunnel admission', () => {
  it('refuses missing, malformed, expired, foreign and wrong-purpose tokens before touching state', async () => {
    const world = await createWorld();
    const other = await createWorld();
    const stub = gateway(world.sessionId);
    const before = await snapshot(stub);
    const expired = await bootstrapToken(world, {
      ttlSeconds: 60,
      now: Math.floor(Date.now() / 1000) - 3600,
    });
    const foreign = await bootstrapToken(other);
    const forged = `${(await bootstrapToken(world)).token.slice(0, -4)}AAAA`;
    const wrongPurpose = await ptyToken(world, 'rw');
    const noAuth = await (await import('cloudflare:workers')).exports.default.fetch(
      new Request(`https://airlock.test/tunnel/${world.sessionId}`, { headers: { upgrade: 'websocket' } }),
    );
    expect(noAuth.status).toBe(401);
    expect((await refused(world, 'garbage')).status).toBe(401);
    expect(await refused(world, expired.token)).toMatchObject({
      status: 401,
      body: { code: 'unauthenticated', reason: 'expired' },
    });
    expect((await refused(world, forged)).status).toBe(401);
    expect((await refused(world, wrongPurpose)).status).toBe(401);
    expect(await refused(world, foreign.token)).toMatchObject({
      status: 401,
      body: { code: 'unauthenticated' },
    });
    expect((await refused(world, 'rsm_unknown-resume-token')).status).toBe(401);
    expect(await snapshot(stub)).toBe(before);
  });

  it('refuses a bootstrap token minted for the session under another org', async () => {
    const world = await createWorld();
    const { token } = await grantedBootstrapToken(world);
    const peer = await SandboxPeer.connect(world.sessionId, token);
    const stub = gateway(world.sessionId);
    await dropped(peer, stub);
    const before = await snapshot(stub);
    const crossOrg = await mintToken(config, 'bootstrap', {
      sub: world.sessionId,
      org: (await createWorld()).orgId,
    });
    expect((await refused(world, crossOrg.token)).status).toBe(401);
    expect(await snapshot(stub)).toBe(before);
  });

  it("admits a snapshot build's sandbox to the gateway keyed by its build id, and only there (ADR 0035)", async () => {
    const world = await createWorld();
    const buildId = newId('snapshot');
    const build = { ...world, sessionId: buildId };
    const stub = gateway(buildId);
    const applied = await stub.applyPlan({
      sessionId: buildId,
      revision: 1,
      plan: plan(world, []),
      attribution: { startedBy: world.userId, triggerId: null, triggerDeliveryId: null },
      settings: DEFAULT_SESSION_SETTINGS,
    });
    expect(applied).toMatchObject({ ok: true });
    // A session's token does not open the build's gateway, nor a build's token a session's.
    const sessionToken = await bootstrapToken(world);
    expect(await refused(build, sessionToken.token)).toMatchObject({
      status: 401,
      body: { code: 'unauthenticated' },
    });
    const buildToken = await grantedBootstrapToken(build);
    expect((await refused(world, buildToken.token)).status).toBe(401);
    const peer = await SandboxPeer.connect(buildId, buildToken.token);
    expect(await stub.tunnelState()).toMatchObject({ sessionId: buildId, state: 'connected' });
    peer.drop();
    // Nothing else takes a build id: a terminal viewer, or an id of another kind.
    const pty = await (await import('cloudflare:workers')).exports.default.fetch(
      new Request(`https://airlock.test/pty/${buildId}`, { headers: { upgrade: 'websocket' } }),
    );
    expect(pty.status).toBe(404);
    expect((await openTunnel(newId('profile'), buildToken.token)).status).toBe(404);
  });

  it('makes the bootstrap token single-use once the sandbox confirmed its resume token', async () => {
    const world = await createWorld();
    const { token } = await grantedBootstrapToken(world);
    const peer = await SandboxPeer.connect(world.sessionId, token);
    expect(peer.resumeToken).toMatch(/^rsm_/);
    await peer.request({ method: 'GET', authority: 'x.example.com', path: '/' }).catch(() => {});
    const stub = gateway(world.sessionId);
    await dropped(peer, stub);
    const before = await snapshot(stub);
    expect(await refused(world, token)).toMatchObject({
      status: 401,
      body: { detail: expect.stringContaining('already used') },
    });
    expect(await snapshot(stub)).toBe(before);
    // The resume token it was handed works, once; the next one rotates in.
    const first = peer.resumeToken;
    await peer.dial(first);
    expect(peer.resumeToken).not.toBe(first);
    await peer.request({ method: 'GET', authority: 'x.example.com', path: '/' }).catch(() => {});
    peer.drop();
    expect((await refused(world, first)).status).toBe(401);
    await peer.dial(peer.resumeToken);
    peer.drop();
  });

  it('keeps the previous token valid until the sandbox confirms the new one', async () => {
    const world = await createWorld();
    const { token } = await grantedBootstrapToken(world);
    const peer = new SandboxPeer(world.sessionId);
    // WELCOME arrives, then the connection dies before the sandbox could confirm.
    await peer.dial(token, { confirm: false });
    const lost = peer.resumeToken;
    peer.drop();
    // The bootstrap token still works; the unconfirmed resume token too.
    await peer.dial(token, { confirm: false });
    peer.drop();
    await peer.dial(peer.resumeToken);
    peer.drop();
    expect((await refused(world, token)).status).toBe(401);
    expect((await refused(world, lost)).status).toBe(401);
  });

  it('closes a HELLO for another session, an unknown version and a broken frame with the right code', async () => {
    const world = await createWorld();
    /** Open a tunnel, send one message, and return the code of the CLOSE frame that comes back. */
    const closeCodeAfter = async (message: Uint8Array): Promise<number> => {
      const { token } = await grantedBootstrapToken(world);
      const ws = (await openTunnel(world.sessionId, token)).webSocket;
      if (ws === null) throw new Error('no socket');
      ws.binaryType = 'arraybuffer';
      ws.accept();
      const closed = new Promise<number>((resolve) =>
        ws.addEventListener('message', (e) => {
          const frame = decodeFrame(new Uint8Array(e.data as ArrayBuffer));
          if (frame.type === 'close') resolve(frame.code);
        }),
      );
      ws.send(message);
      return closed;
    };
    const hello = (json: Record<string, unknown>) =>
      encodeFrame({ type: 'hello', stream: 0, flags: 0, json });
    expect(await closeCodeAfter(hello({ versions: [1], sessionId: 'ses_someone_else', streams: [] }))).toBe(
      CloseCode.AUTH_FAILED,
    );
    expect(await closeCodeAfter(hello({ versions: [7], sessionId: world.sessionId, streams: [] }))).toBe(
      CloseCode.UNSUPPORTED_VERSION,
    );
    expect(await closeCodeAfter(new Uint8Array([0, 0, 0, 0, 0x7f, 0, 0, 0, 0, 0]))).toBe(
      CloseCode.UNKNOWN_TYPE,
    );
  });

  it('tells a sandbox of an ended session to stop (CLOSE SESSION_ENDED) and lets nobody back in', async () => {
    const world = await createWorld();
    const { token } = await grantedBootstrapToken(world);
    const peer = await SandboxPeer.connect(world.sessionId, token);
    const stub = gateway(world.sessionId);
    await stub.endSession('stopped by the user');
    await peer.until('CLOSE', () => peer.closeFrame !== null);
    expect(peer.closeFrame?.code).toBe(CloseCode.SESSION_ENDED);
    expect((await stub.tunnelState()).state).toBe('ended');
    expect((await refused(world, peer.resumeToken)).status).toBe(401);
  });
});
