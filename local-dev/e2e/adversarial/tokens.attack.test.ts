import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { newId } from '@airlock/schema/ids';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { mintToken } from '../../../workers/lib/tokens.ts';
import {
  type Answer,
  answers,
  badTokens,
  forgeWithInheritedKid,
  type MatrixCase,
  refusedAll,
} from '../../../workers/testing/token-matrix.ts';
import {
  applyPlan,
  createConnection,
  createSessionRows,
  type GatewayWorld,
  type Sandbox,
  type SessionRows,
  startGatewayWorld,
  startSandboxd,
} from '../gateway-world.ts';

// Attack: forged and misdirected tokens against a live session's gateway,
// end to end — the real Worker under `wrangler dev`, the real sandboxd
// connected through `/tunnel`, the agent's terminal open. The attacker knows
// the session id and the org id, nothing else (ADR 0100):
// - a JWT with `kid: constructor`, signed with `function Object() { [native code] }`
//   (what `keys[kid]` on a plain object returned), for `/tunnel` and for `/pty` rw;
// - a real, well-signed bootstrap token the lifecycle never handed this gateway;
// - the whole bad-token matrix at both doors.
// Every attempt gets 401 problem+json; the sandbox keeps its tunnel (same
// connection, still brokering), and no viewer is attached.

const run = promisify(execFile);
let world: GatewayWorld;
let rows: SessionRows;
let sandbox: Sandbox;
const secret = `sk-attack-${crypto.randomUUID()}`;

beforeAll(async () => {
  world = await startGatewayWorld(inject('airlock'));
  rows = await createSessionRows(world);
  const apiKey = await createConnection(world, rows.orgId, 'openai', { api_key: secret });
  await applyPlan(world, rows, [
    {
      id: 'rt_attack_api',
      match: { hosts: ['api.example.com'], pathPrefixes: [], methods: ['GET'] },
      upstream: { baseUrl: world.upstream.httpsUrl },
      inject: { kind: 'bearer', target: 'authorization' },
      credential: { source: 'secret', connectionId: apiKey, field: 'api_key' },
      integration: 'openai',
    },
  ]);
  sandbox = await startSandboxd(world, rows);
  const opened = await world.harness<{ ok: boolean }>(rows.sessionId, 'open-terminal', {
    key: 'agent',
    command: ['sh'],
    cols: 80,
    rows: 24,
  });
  if (!opened.ok) throw new Error('the agent terminal did not open');
}, 240_000);

afterAll(async () => {
  await sandbox?.stop();
  await world?.stop();
});

/** A WebSocket upgrade as any client on the internet would send it; 101 is closed at once. */
function upgrade(path: string, token: string, via: 'bearer' | 'query'): Promise<Answer> {
  const url = `${world.workerUrl.replace(/^http/, 'ws')}${path}${via === 'query' ? `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : ''}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, via === 'bearer' ? { headers: { authorization: `Bearer ${token}` } } : {});
    const timer = setTimeout(() => reject(new Error(`no answer from ${path}`)), 15_000);
    ws.once('open', () => {
      clearTimeout(timer);
      ws.close();
      resolve({ status: 101, contentType: null, body: '' });
    });
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'] ?? null,
          body,
        });
      });
    });
    ws.once('error', () => {});
  });
}

const tunnel = (token: string) => upgrade(`/tunnel/${rows.sessionId}`, token, 'bearer');
const pty = (token: string) => upgrade(`/pty/${rows.sessionId}?terminal=agent`, token, 'query');

/** `kid: constructor`, signed with what `keys['constructor']` used to hand the verifier. */
function forged(purpose: 'bootstrap' | 'pty'): Promise<string> {
  return forgeWithInheritedKid({
    config: world.config,
    purpose,
    claims:
      purpose === 'bootstrap'
        ? { sub: rows.sessionId, org: rows.orgId }
        : { sub: rows.sessionId, org: rows.orgId, uid: newId('user'), mode: 'rw' },
  });
}

/** What the live session looks like from outside: its tunnel, and the sandbox still brokering. */
async function live() {
  const state = await world.harness<{ state: string; connectedAt: number | null; terminals: unknown[] }>(
    rows.sessionId,
    'state',
  );
  const { stdout } = await run(
    'curl',
    ['-sS', '-o', '-', '-w', ' %{http_code}', 'https://api.example.com/ok'],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HTTPS_PROXY: sandbox.proxy,
        CURL_CA_BUNDLE: sandbox.caFile,
      },
    },
  );
  return { state: state.state, connectedAt: state.connectedAt, terminals: state.terminals, ok: stdout };
}

describe('attack: forged tokens against a live gateway', () => {
  it('refuses a kid:constructor bootstrap token at /tunnel with 401 problem+json; the sandbox keeps its tunnel', async () => {
    const before = await live();
    expect(before).toMatchObject({ state: 'connected', ok: 'ok 200' });
    const answer = await tunnel(await forged('bootstrap'));
    expect(answer.status).toBe(401);
    expect(answer.contentType).toContain('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(await live()).toEqual(before);
    expect(sandbox.child.exitCode).toBeNull();
  });

  it('refuses a kid:constructor rw pty token at /pty with 401 problem+json; nobody attaches', async () => {
    const before = await live();
    const answer = await pty(await forged('pty'));
    expect(answer.status).toBe(401);
    expect(answer.contentType).toContain('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(await live()).toEqual(before);
  });

  it('refuses a well-signed bootstrap token the lifecycle never handed this gateway; the live tunnel stays', async () => {
    const before = await live();
    const stray = await mintToken(world.config, 'bootstrap', { sub: rows.sessionId, org: rows.orgId });
    const answer = await tunnel(stray.token);
    expect(answer).toMatchObject({ status: 401 });
    expect(answer.contentType).toContain('application/problem+json');
    expect(await live()).toEqual(before);
  });

  it('answers the whole bad-token matrix at /tunnel and /pty with 401 problem+json, changing nothing', async () => {
    const matrix = async (purpose: 'bootstrap' | 'pty'): Promise<MatrixCase[]> =>
      badTokens({
        config: world.config,
        purpose,
        claims:
          purpose === 'bootstrap'
            ? { sub: rows.sessionId, org: rows.orgId }
            : { sub: rows.sessionId, org: rows.orgId, uid: rows.userId, mode: 'rw' },
        otherSub: newId('session'),
        otherOrg: newId('org'),
      });
    const before = await live();
    const atTunnel = await matrix('bootstrap');
    expect(await answers(atTunnel, tunnel)).toEqual(refusedAll(atTunnel));
    const atPty = await matrix('pty');
    expect(await answers(atPty, pty)).toEqual(refusedAll(atPty));
    expect(await live()).toEqual(before);
    // A good pty token still attaches: the refusals were for the tokens, not a broken door.
    const good = await mintToken(world.config, 'pty', {
      sub: rows.sessionId,
      org: rows.orgId,
      uid: rows.userId,
      mode: 'ro',
    });
    expect((await pty(good.token)).status).toBe(101);
  });
});
