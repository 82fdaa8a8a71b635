import { listDurableObjectIds } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { runners } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../control-plane/testing/harness.ts';
import { createWorld, type World } from '../control-plane/testing/world.ts';
import type { DbHandle } from '../lib/db.ts';
import { mintToken } from '../lib/tokens.ts';
import { config, database, seedOrg, seedRunner } from '../runners/test-fixtures.ts';
import { answerOf, answers, badTokens, type MatrixCase, refusedAll } from '../testing/token-matrix.ts';

// GET /runner/connect checks the runner token completely before the RunnerHub
// is touched: a refused runner leaves its hub exactly as it was (never seen).
// Every bad token is 401 problem+json, whatever is wrong with it (ADR 0100).

let handle: DbHandle;
let orgId: string;
beforeAll(async () => {
  handle = database();
  ({ orgId } = await seedOrg(handle.db));
});
afterAll(() => handle.end());

function connect(token: string | null, upgrade = true): Promise<Response> {
  const headers: Record<string, string> = upgrade ? { upgrade: 'websocket' } : {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return exports.default.fetch('http://airlock.test/runner/connect', { headers });
}

/** The hub was never reached: it does not exist (asked first), and it has seen nothing. */
async function untouched(runnerId: string): Promise<void> {
  const wanted = env.RUNNER_HUB.idFromName(runnerId);
  expect((await listDurableObjectIds(env.RUNNER_HUB)).some((id) => id.equals(wanted))).toBe(false);
  const hub = env.RUNNER_HUB.get(wanted);
  expect(await hub.status()).toMatchObject({ status: 'never', runnerId: null, connected: 0, messages: 0 });
}

async function refusal(response: Response): Promise<{ status: number; code: string; detail: string }> {
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  const body = (await response.json()) as { code: string; detail: string };
  return { status: response.status, code: body.code, detail: body.detail };
}

describe('GET /runner/connect', () => {
  it('upgrades a registered runner with its current token and reaches its hub', async () => {
    const { runnerId, token } = await seedRunner(handle.db, orgId);
    const response = await connect(token);
    expect(response.status).toBe(101);
    const ws = response.webSocket;
    if (!ws) throw new Error('no WebSocket');
    ws.accept();
    const hub = env.RUNNER_HUB.get(env.RUNNER_HUB.idFromName(runnerId));
    expect(await hub.status()).toMatchObject({ runnerId, orgId, connected: 1 });
    ws.close(1000, 'done');
  });

  it('answers 401 without a usable token, before touching the hub', async () => {
    const { runnerId, token } = await seedRunner(handle.db, orgId);
    expect(await refusal(await connect(null))).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(await refusal(await connect('not-a-jwt'))).toMatchObject({ status: 401 });
    const [h, p] = token.split('.');
    expect(await refusal(await connect(`${h}.${p}.AAAA`))).toMatchObject({
      status: 401,
      detail: /signature/,
    });
    const expired = await mintToken(
      config,
      'runner',
      { sub: runnerId, org: orgId },
      { ttlSeconds: 60, now: 1_000_000 },
    );
    expect(await refusal(await connect(expired.token))).toMatchObject({ status: 401, detail: /expired/ });
    // A token of another purpose is signed with another key.
    const bootstrap = await mintToken(config, 'bootstrap', { sub: newId('session'), org: orgId });
    expect((await connect(bootstrap.token)).status).toBe(401);
    await untouched(runnerId);
  });

  it('answers 401 for a token meant for another audience, before touching the hub', async () => {
    const { runnerId } = await seedRunner(handle.db, orgId);
    const elsewhere = {
      ...config,
      tokens: { ...config.tokens, runner: { ...config.tokens.runner, audience: 'other' } },
    };
    const token = await mintToken(elsewhere, 'runner', { sub: runnerId, org: orgId });
    expect(await refusal(await connect(token.token))).toMatchObject({ status: 401, code: 'unauthenticated' });
    await untouched(runnerId);
  });

  it('answers 401 for a revoked runner, a replaced token, an unknown runner or a foreign org', async () => {
    const revoked = await seedRunner(handle.db, orgId, { revokedAt: new Date(), status: 'revoked' });
    expect(await refusal(await connect(revoked.token))).toMatchObject({ status: 401, detail: /revoked/ });
    await untouched(revoked.runnerId);

    const replaced = await seedRunner(handle.db, orgId);
    await handle.db
      .update(runners)
      .set({ tokenHash: 'f'.repeat(64) })
      .where(eq(runners.id, replaced.runnerId));
    expect(await refusal(await connect(replaced.token))).toMatchObject({ status: 401, detail: /replaced/ });
    await untouched(replaced.runnerId);

    const ghost = newId('runner');
    const ghostToken = await mintToken(config, 'runner', { sub: ghost, org: orgId });
    expect(await refusal(await connect(ghostToken.token))).toMatchObject({
      status: 401,
      detail: /not registered/,
    });
    await untouched(ghost);

    const mine = await seedRunner(handle.db, orgId);
    const other = await mintToken(config, 'runner', { sub: mine.runnerId, org: newId('org') });
    expect(await refusal(await connect(other.token))).toMatchObject({ status: 401 });
    await untouched(mine.runnerId);
  });

  it('answers 401 problem+json to the whole bad-token matrix, and no hub is ever reached', async () => {
    const { runnerId, token } = await seedRunner(handle.db, orgId);
    const neighbour = await seedRunner(handle.db, orgId);
    const cases: MatrixCase[] = [
      ...(await badTokens({
        config,
        purpose: 'runner',
        claims: { sub: runnerId, org: orgId },
        otherSub: neighbour.runnerId,
        otherOrg: newId('org'),
      })),
      // Well signed for this runner, but not the token its row holds (a replayed or superseded jti).
      {
        name: 'a jti the runner row does not hold',
        token: (await mintToken(config, 'runner', { sub: runnerId, org: orgId })).token,
      },
    ];
    expect(await answers(cases, async (t) => answerOf(await connect(t)))).toEqual(refusedAll(cases));
    await untouched(runnerId);
    await untouched(neighbour.runnerId);
    // The runner's own token still connects: the matrix was refused for what it is.
    const response = await connect(token);
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    response.webSocket?.close(1000, 'done');
  });

  it('answers 426 to plain HTTP', async () => {
    const { token } = await seedRunner(handle.db, orgId);
    expect((await connect(token, false)).status).toBe(426);
  });
});

describe('GET /runner/connect with runners registered through the API', () => {
  const h = new Harness();
  let w: World;
  beforeAll(async () => {
    w = await createWorld(h);
  });
  afterAll(() => h.close());

  it('accepts the token the API showed, refuses it once re-keyed, and refuses everything once revoked', async () => {
    const cookie = w.people.admin.cookie;
    const created = await h.call<{ runner: { id: string }; token: string }>(
      'POST',
      `/orgs/${w.orgId}/runners`,
      {
        cookie,
        body: { name: 'edge-check' },
      },
    );
    expect(created.status, created.text).toBe(201);
    const first = await connect(created.json.token);
    expect(first.status).toBe(101);
    first.webSocket?.accept();
    first.webSocket?.close(1000, 'done');

    const rekeyed = await h.call<{ token: string }>(
      'POST',
      `/orgs/${w.orgId}/runners/${created.json.runner.id}/token`,
      {
        cookie,
      },
    );
    expect(rekeyed.status, rekeyed.text).toBeLessThan(300);
    expect(await refusal(await connect(created.json.token))).toMatchObject({
      status: 401,
      detail: /replaced/,
    });
    const second = await connect(rekeyed.json.token);
    expect(second.status).toBe(101);
    second.webSocket?.accept();
    second.webSocket?.close(1000, 'done');

    const revoked = await h.call('DELETE', `/orgs/${w.orgId}/runners/${created.json.runner.id}`, { cookie });
    expect(revoked.status, revoked.text).toBeLessThan(300);
    expect(await refusal(await connect(rekeyed.json.token))).toMatchObject({
      status: 401,
      detail: /revoked/,
    });
  });
});
