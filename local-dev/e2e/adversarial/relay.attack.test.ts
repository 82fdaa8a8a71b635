import { randomBytes } from 'node:crypto';
import { newId } from '@airlock/schema/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baseImage,
  cleanUp,
  dockerExec,
  e2e,
  must,
  newRunner,
  provider,
  type Ref,
  type RunnerProcess,
  startRunner,
  useRunnerHarness,
  waitUntil,
} from '../../../runner/e2e/fixture.ts';
import type { RegisteredRunner } from '../../runners.ts';
import { type RecordingOrigin, type SeenRequest, startRecordingOrigin } from './recording-origin.ts';

// Attacks on the runner's socket relay from root inside a real `--network
// none` sandbox (the real base image), through the real runner process, to a
// real HTTP/WebSocket origin that records every request it parses. The socket
// must carry exactly one thing: the WebSocket upgrade to the sandbox's own
// `/tunnel/<sessionId>`. Anything else — another path or session, a plain
// request, another method, a second request on the connection, bytes after a
// refusal — reaches nothing and closes the connection.

const GOOD_TOKEN = `bootstrap-${randomBytes(8).toString('hex')}`;
const SOCKET = '/run/airlock/gateway/gateway.sock';

/**
 * Run inside the sandbox: connect to the socket, perform the steps (base64 writes and pauses),
 * then try one more write. A connection the relay closed fails that write (EPIPE); one it only
 * half-closed takes it. Prints what came back.
 */
const CLIENT = `
const net = require('node:net');
const steps = JSON.parse(process.env.STEPS);
const s = net.createConnection({ path: process.env.SOCK, allowHalfOpen: true });
const chunks = [];
const seen = { ended: false, closed: false, error: null };
s.on('data', (d) => chunks.push(d));
s.on('end', () => { seen.ended = true; });
s.on('close', () => { seen.closed = true; });
s.on('error', (e) => { seen.error = e.code || e.message; });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = () => {
  console.log(JSON.stringify({ reply: Buffer.concat(chunks).toString('latin1'), ...seen }));
  process.exit(0);
};
s.on('connect', async () => {
  for (const step of steps) {
    if (step.write !== undefined && !s.destroyed) s.write(Buffer.from(step.write, 'base64'));
    if (step.wait !== undefined) await sleep(step.wait);
  }
  if (!s.destroyed) s.write('probe');
  await sleep(700);
  report();
});
setTimeout(report, 15000);
`;

interface ClientReport {
  reply: string;
  ended: boolean;
  closed: boolean;
  error: string | null;
}

type Step = { write: string } | { wait: number };
const send = (text: string | Buffer): Step => ({
  write: (typeof text === 'string' ? Buffer.from(text, 'latin1') : text).toString('base64'),
});
const pause = (ms: number): Step => ({ wait: ms });

let runner: RegisteredRunner;
let proc: RunnerProcess;
let origin: RecordingOrigin;
let containerId: string;
const sessionId = newId('session');

useRunnerHarness();

function upgradeHead(path: string, token: string, extra: readonly string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    'Host: localhost',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    `Authorization: Bearer ${token}`,
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** A masked client text frame, as a WebSocket client sends it. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Run the steps as root in the sandbox; return the client's report and the requests that reached the origin. */
async function attack(steps: Step[]): Promise<{ client: ClientReport; reached: SeenRequest[] }> {
  const before = origin.seen.length;
  const run = await dockerExec(containerId, ['node', '-e', CLIENT], {
    env: [`SOCK=${SOCKET}`, `STEPS=${JSON.stringify(steps)}`],
  });
  expect(run.stderr).toBe('');
  const client = JSON.parse(run.stdout) as ClientReport;
  // Anything the relay let through arrives within the client's own waits; give stragglers a moment.
  await new Promise((r) => setTimeout(r, 200));
  return { client, reached: origin.seen.slice(before) };
}

/** The relay closed the connection: the end arrived, and the next write failed. */
function expectClosed(client: ClientReport): void {
  expect(client.ended).toBe(true);
  expect(client.error ?? (client.closed ? 'closed' : null)).not.toBeNull();
}

beforeAll(async () => {
  const image = await baseImage();
  runner = await newRunner();
  origin = await startRecordingOrigin({ forward: new URL(e2e().workerUrl), token: GOOD_TOKEN });
  proc = startRunner(runner, { url: origin.url });
  await waitUntil('the runner to say hello through the recording origin', async () =>
    proc.lines.some((l) => l.includes('"welcomed"')),
  );
  const ref = await must(
    provider<Ref>('create', {
      input: {
        operationId: 'create',
        orgId: runner.orgId,
        sandboxId: sessionId,
        image,
        resources: { cpus: 0.5, memoryMb: 256, pids: 128, diskMb: 256 },
        tunnelSessionId: sessionId,
        command: ['sleep', 'infinity'],
      },
    }),
  );
  await must(provider('start', { ref, input: { operationId: 'start' } }));
  containerId = ref.externalId ?? '';
}, 600_000);

afterAll(async () => {
  await proc?.kill();
  if (runner !== undefined) await cleanUp(runner.runnerId, proc === undefined ? [] : [proc.stateDir]);
  await origin?.close();
});

describe('the relay, attacked by root in the sandbox', () => {
  it('carries the upgrade to its own tunnel, with only the WebSocket headers and the origin’s Host', async () => {
    const { client, reached } = await attack([
      send(
        upgradeHead(`/tunnel/${sessionId}`, GOOD_TOKEN, [
          'Cookie: airlock_session=stolen',
          'X-Forwarded-For: 10.0.0.1',
        ]),
      ),
      pause(500),
      send(textFrame('through the relay')),
      pause(500),
    ]);
    expect(client.reply).toMatch(/^HTTP\/1\.1 101 /);
    expect(client.reply).toContain('through the relay');
    expect(reached.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /tunnel/${sessionId}`]);
    const headers = reached[0]?.headers ?? {};
    expect(headers.host).toBe(new URL(origin.url).host);
    expect(headers.authorization).toBe(`Bearer ${GOOD_TOKEN}`);
    expect(Object.keys(headers).sort()).toEqual(
      ['authorization', 'connection', 'host', 'sec-websocket-key', 'sec-websocket-version', 'upgrade'].sort(),
    );
  });

  it.each([
    ['another path', upgradeHead('/api/orgs', GOOD_TOKEN)],
    ['another session’s tunnel', upgradeHead(`/tunnel/${newId('session')}`, GOOD_TOKEN)],
    ['a query on the tunnel path', upgradeHead(`/tunnel/${sessionId}?next=/api/orgs`, GOOD_TOKEN)],
    ['an absolute-form target', upgradeHead(`http://localhost/tunnel/${sessionId}`, GOOD_TOKEN)],
    ['a request that is not an upgrade', `GET /tunnel/${sessionId} HTTP/1.1\r\nHost: localhost\r\n\r\n`],
    ['another method', upgradeHead(`/tunnel/${sessionId}`, GOOD_TOKEN).replace(/^GET/, 'POST')],
    [
      'a body smuggled behind the head',
      upgradeHead(`/tunnel/${sessionId}`, 'wrong', ['Transfer-Encoding: chunked']),
    ],
  ])('refuses %s: nothing reaches the origin and the connection closes', async (_what, head) => {
    const { client, reached } = await attack([send(head), pause(800)]);
    expect(client.reply).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(reached).toEqual([]);
    expectClosed(client);
  });

  it('refuses a second request pipelined behind the upgrade, before anything is relayed', async () => {
    const { client, reached } = await attack([
      send(
        `${upgradeHead(`/tunnel/${sessionId}`, 'wrong')}GET /api/orgs HTTP/1.1\r\nHost: localhost\r\n\r\n`,
      ),
      pause(800),
    ]);
    expect(reached.filter((r) => r.url !== `/tunnel/${sessionId}`)).toEqual([]);
    expectClosed(client);
  });

  it('closes the connection once the origin refuses the upgrade: no second request on it', async () => {
    const { client, reached } = await attack([
      send(upgradeHead(`/tunnel/${sessionId}`, 'wrong')),
      pause(800),
      send('GET /api/orgs HTTP/1.1\r\nHost: localhost\r\n\r\n'),
      pause(800),
    ]);
    expect(client.reply).toMatch(/^HTTP\/1\.1 401 /);
    expect(reached.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /tunnel/${sessionId}`]);
    expectClosed(client);
  });

  it('relays nothing sent after a refused head, and closes', async () => {
    const { client, reached } = await attack([
      send(upgradeHead('/api/orgs', GOOD_TOKEN)),
      pause(800),
      send(upgradeHead(`/tunnel/${sessionId}`, GOOD_TOKEN)),
      pause(800),
    ]);
    expect(client.reply).toMatch(/^HTTP\/1\.1 403 /);
    expect(client.reply).not.toContain('101');
    expect(reached).toEqual([]);
    expectClosed(client);
  });

  it('refuses an oversized head and closes', async () => {
    const { client, reached } = await attack([
      send(`GET /tunnel/${sessionId} HTTP/1.1\r\nX-Fill: ${'a'.repeat(20_000)}`),
      pause(800),
    ]);
    expect(client.reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(reached).toEqual([]);
    expectClosed(client);
  });
});
