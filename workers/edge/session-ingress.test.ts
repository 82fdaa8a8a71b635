import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { newId } from '@airlock/schema/ids';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SessionGateway } from '../../durable-objects/session-gateway/index.ts';
import {
  bootstrapToken,
  config,
  ptyToken,
  startSession,
  type World,
} from '../../durable-objects/session-gateway/test-support/fixtures.ts';
import {
  openTunnel,
  type SandboxPeer,
} from '../../durable-objects/session-gateway/test-support/sandbox-peer.ts';
import { Viewer } from '../../durable-objects/session-gateway/test-support/viewer.ts';
import { answerOf, answers, badTokens, type MatrixCase, refusedAll } from '../testing/token-matrix.ts';

// The bad-token matrix (ADR 0100) at `/tunnel` and `/pty`, against a live
// session: a plan applied, the sandbox connected with the bootstrap token the
// lifecycle handed its gateway, the agent's terminal open with a viewer. Every
// case answers 401 problem+json, and none changes anything in the gateway:
// its storage is the same row for row, its tunnel is the same connection with
// the same resume token, its terminal has the same viewers. Cases the edge
// can refuse from the token alone never even wake a gateway.

/** Every row of every table of the gateway: what "no state change" is compared against. */
async function storage(stub: DurableObjectStub<SessionGateway>): Promise<string> {
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

const tunnelAt = (sessionId: string) => async (token: string) => answerOf(await openTunnel(sessionId, token));

const ptyAt = (sessionId: string) => async (token: string) =>
  answerOf(
    await exports.default.fetch(
      new Request(`https://airlock.test/pty/${sessionId}?terminal=agent&token=${encodeURIComponent(token)}`, {
        headers: { upgrade: 'websocket' },
      }),
    ),
  );

async function gatewayExists(sessionId: string): Promise<boolean> {
  const wanted = env.SESSION_GATEWAY.idFromName(sessionId);
  return (await listDurableObjectIds(env.SESSION_GATEWAY)).some((id) => id.equals(wanted));
}

describe('/tunnel and /pty refuse the bad-token matrix', () => {
  let world: World;
  let stub: DurableObjectStub<SessionGateway>;
  let peer: SandboxPeer;
  let bootstrap: string;
  let viewer: Viewer;
  let usedPty: string;

  beforeAll(async () => {
    ({ world, stub, peer, bootstrap } = await startSession(() => []));
    const opened = await stub.openTerminal({ key: 'agent', command: ['sh'], cols: 80, rows: 24 });
    if (!opened.ok) throw new Error(opened.message);
    await peer.until('pty open', () => peer.streams.has(opened.streamId));
    usedPty = await ptyToken(world, 'rw');
    viewer = await Viewer.attach(world.sessionId, usedPty);
    // A request through the tunnel confirms the sandbox's resume token (its bootstrap is spent).
    await peer.request({ method: 'GET', authority: 'x.example.com', path: '/' });
  });

  const matrix = (purpose: 'bootstrap' | 'pty', w: World) =>
    badTokens({
      config,
      purpose,
      claims:
        purpose === 'bootstrap'
          ? { sub: w.sessionId, org: w.orgId }
          : { sub: w.sessionId, org: w.orgId, uid: w.userId, mode: 'rw' },
      otherSub: newId('session'),
      otherOrg: newId('org'),
    });

  /** The live session as a sandbox and a viewer see it, plus the gateway's whole storage. */
  const live = async () => ({
    storage: await storage(stub),
    tunnel: await stub.tunnelState(),
    resumeToken: peer.resumeToken,
    socketOpen: peer.ws !== null,
    viewerOpen: viewer.closed === null,
  });

  it('at /tunnel: every forged, misdirected or replayed token gets 401 problem+json and changes nothing', async () => {
    const cases: MatrixCase[] = [
      ...(await matrix('bootstrap', world)),
      { name: 'replayed bootstrap jti', token: bootstrap },
      {
        name: 'a valid bootstrap token the lifecycle never handed the gateway',
        token: (await bootstrapToken(world)).token,
      },
      { name: 'a pty token', token: usedPty },
    ];
    const before = await live();
    expect(await answers(cases, tunnelAt(world.sessionId))).toEqual(refusedAll(cases));
    expect(await live()).toEqual(before);
    // The sandbox's connection is the one it had: it still carries requests.
    const response = await peer.request({ method: 'GET', authority: 'x.example.com', path: '/' });
    expect(response.status).toBe(403);
  });

  it('at /pty: every forged, misdirected or replayed token gets 401 problem+json and attaches nobody', async () => {
    const cases: MatrixCase[] = [
      ...(await matrix('pty', world)),
      { name: 'replayed pty jti', token: usedPty },
      { name: 'a bootstrap token', token: bootstrap },
    ];
    const before = await live();
    expect(await answers(cases, ptyAt(world.sessionId))).toEqual(refusedAll(cases));
    expect(await live()).toEqual(before);
    expect((await stub.tunnelState()).terminals).toMatchObject([{ key: 'agent', viewers: 1 }]);
  });

  it('refuses at the edge, without waking a gateway, every token that is wrong on its face', async () => {
    // A session nobody has touched: its gateway does not exist until something reaches it.
    const fresh = { ...world, sessionId: newId('session') };
    const onItsFace = async (purpose: 'bootstrap' | 'pty') =>
      (await matrix(purpose, fresh)).filter((c) => c.name !== 'another org');
    const tunnelCases = await onItsFace('bootstrap');
    const ptyCases = await onItsFace('pty');
    expect(await answers(tunnelCases, tunnelAt(fresh.sessionId))).toEqual(refusedAll(tunnelCases));
    expect(await answers(ptyCases, ptyAt(fresh.sessionId))).toEqual(refusedAll(ptyCases));
    expect(await gatewayExists(fresh.sessionId)).toBe(false);
    // The check can fail: a well-signed token for that session does wake its gateway (and is refused there).
    const reaching = await bootstrapToken(fresh);
    expect((await tunnelAt(fresh.sessionId)(reaching.token)).status).toBe(401);
    expect(await gatewayExists(fresh.sessionId)).toBe(true);
  });
});
