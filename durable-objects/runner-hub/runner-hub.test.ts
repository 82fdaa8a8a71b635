import { evictDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { RunnerHub } from './index.ts';

function hub(name: string): DurableObjectStub<RunnerHub> {
  return env.RUNNER_HUB.get(env.RUNNER_HUB.idFromName(name));
}

async function connect(stub: DurableObjectStub<RunnerHub>, runnerId: string): Promise<WebSocket> {
  const response = await stub.fetch('http://hub/connect', {
    headers: { upgrade: 'websocket', 'x-airlock-runner-id': runnerId },
  });
  expect(response.status).toBe(101);
  const ws = response.webSocket;
  if (!ws) throw new Error('no WebSocket in the upgrade response');
  ws.accept();
  return ws;
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
    ws.addEventListener(
      'message',
      (event) => {
        clearTimeout(timer);
        resolve(
          typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data as ArrayBuffer),
        );
      },
      { once: true },
    );
  });
}

describe('RunnerHub', () => {
  it('refuses plain HTTP', async () => {
    const response = await hub('plain').fetch('http://hub/connect');
    expect(response.status).toBe(426);
  });

  it('answers keep-alive pings without waking, and knows who is connected', async () => {
    const ws = await connect(hub('ping'), 'rnr_ping');
    const pong = nextMessage(ws);
    ws.send('{"type":"ping"}');
    expect(await pong).toBe('{"type":"pong"}');
    const who = nextMessage(ws);
    ws.send('{"type":"whoami"}');
    expect(JSON.parse(await who)).toMatchObject({ type: 'whoami', runnerId: 'rnr_ping' });
    ws.close(1000, 'done');
  });

  it('keeps the socket, its attachment and its SQLite state across hibernation', async () => {
    const stub = hub('hibernate');
    const ws = await connect(stub, 'rnr_sleepy');
    const first = nextMessage(ws);
    ws.send('{"type":"whoami"}');
    const before = JSON.parse(await first) as { connectedAt: number };
    const status = await stub.status();
    expect(status.connected).toBe(1);

    await evictDurableObject(stub, { webSockets: 'hibernate' });

    const after = nextMessage(ws);
    ws.send('{"type":"whoami"}');
    expect(JSON.parse(await after)).toEqual({
      type: 'whoami',
      runnerId: 'rnr_sleepy',
      connectedAt: before.connectedAt,
    });
    const resumed = await stub.status();
    expect(resumed.connected).toBe(1);
    expect(resumed.messages).toBe(status.messages + 1);
    expect(resumed.lastSeenAt).not.toBeNull();
    ws.close(1000, 'done');
  });
});
