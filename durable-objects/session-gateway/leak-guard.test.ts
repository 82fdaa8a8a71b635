import { evictDurableObject } from 'cloudflare:test';
import { PLACEHOLDER_SECRET } from '@airlock/schema/plan';
import { DEFAULT_WINDOW } from '@airlock/schema/tunnel';
import { describe, expect, inject, it } from 'vitest';
import { auditRows, createConnection, route, startSession } from './test-support/fixtures.ts';
import { httpMeta, type SandboxPeer } from './test-support/sandbox-peer.ts';

// The tripwire inside the gateway, driven by the scripted sandbox (the real
// codec, frame by frame): what it knows survives an eviction, and a body is
// held back from the upstream until its first 64 KiB have been inspected,
// however the sandbox splits and paces it.

const { upstreamHttp } = inject('standIns');
const allowlisted = new URL(upstreamHttp).host;
const encoder = new TextEncoder();

async function recorded(tag: string): Promise<unknown[]> {
  return (await (await fetch(`${upstreamHttp}/__requests/${tag}`)).json()) as unknown[];
}

async function session() {
  const secret = `sk-guard-${crypto.randomUUID()}`;
  const started = await startSession(
    async (w) => [
      route({
        upstream: { baseUrl: upstreamHttp },
        credential: {
          source: 'secret',
          connectionId: await createConnection(w.orgId, 'openai', { api_key: secret }),
          field: 'api_key',
        },
      }),
    ],
    { passthrough: [allowlisted] },
  );
  return { ...started, secret };
}

/**
 * An upload to the allowlisted host whose body the test sends piece by piece. Resolves once the
 * gateway's credit granted ahead has arrived: from then on, credit coming back means the gateway
 * handed body bytes to fetch (forwarding started), and credit not coming back means it held them.
 */
async function openUpload(peer: SandboxPeer, tag: string): Promise<{ id: number; full: number }> {
  const meta = httpMeta({
    method: 'POST',
    scheme: 'http',
    authority: allowlisted,
    path: '/upload',
    headers: [['x-test-tag', tag]],
  });
  // (`upgrade` only keeps the sandbox's side open: the body follows in separate writes.)
  const id = await peer.open('http', meta, undefined, { upgrade: true });
  const stream = peer.streams.get(id);
  await peer.until('credit granted ahead', () => (stream?.credit ?? 0) > DEFAULT_WINDOW);
  return { id, full: stream?.credit ?? 0 };
}

describe('the leak guard in the gateway', () => {
  it('still knows a key the sandbox learned before the gateway was evicted', async () => {
    const { peer, stub, secret } = await session();
    const echoed = await peer.request({
      method: 'GET',
      scheme: 'http',
      authority: 'api.example.com',
      path: '/echo-body',
      headers: [['authorization', `Bearer ${PLACEHOLDER_SECRET}`]],
    });
    expect(echoed.text).toBe(`Bearer ${secret}`);

    await evictDurableObject(stub, { webSockets: 'close' });
    await peer.until('tunnel closed', () => peer.ws === null);
    await peer.dial(peer.resumeToken);
    const tag = `guard-${crypto.randomUUID()}`;
    const response = await peer.request({
      method: 'POST',
      scheme: 'http',
      authority: allowlisted,
      path: '/upload',
      headers: [['x-test-tag', tag]],
      body: encoder.encode(JSON.stringify({ stolen: secret })),
    });
    expect(response.status).toBe(403);
    expect(response.header('x-airlock-decision')).toBe('leak_blocked');
    expect(response.text).not.toContain(secret);
    expect(await recorded(tag)).toEqual([]);
  });

  it('holds a trickling body until the key arrives, across a frame boundary, and forwards nothing', async () => {
    const { peer, secret, world, stub } = await session();
    // The gateway knows the keys it has resolved: the sandbox has used its route.
    await peer.request({ method: 'GET', scheme: 'http', authority: 'api.example.com', path: '/ok' });
    const tag = `guard-${crypto.randomUUID()}`;
    const { id, full } = await openUpload(peer, tag);
    const before = `{"pad":"${'x'.repeat(30_000)}","k":"`;
    const first = encoder.encode(`${before}${secret.slice(0, 10)}`);
    await peer.write(id, first);
    await new Promise((r) => setTimeout(r, 300));
    // Nothing was handed to fetch while the first 64 KiB were incomplete: no credit came back.
    expect(peer.streams.get(id)?.credit).toBe(full - first.length);
    expect(peer.streams.get(id)?.head).toBeNull();
    await peer.write(id, encoder.encode(`${secret.slice(10)}"}`), { fin: true });
    const response = await peer.response(id);
    expect(response.status).toBe(403);
    expect(response.text).toContain(`in the body (at byte ${before.length})`);
    expect(await recorded(tag)).toEqual([]);
    await stub.flushAudit();
    const [row] = (await auditRows(world.sessionId)).filter((r) => r.decision === 'leak_blocked');
    expect(row?.detail).toMatchObject({
      leak: 'credential',
      where: 'body',
      offset: before.length,
      form: 'raw',
    });
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('forwards a clean body once its first 64 KiB are in, without waiting for the rest', async () => {
    const { peer } = await session();
    const tag = `guard-${crypto.randomUUID()}`;
    const { id, full } = await openUpload(peer, tag);
    await peer.write(id, new Uint8Array(64 * 1024).fill(0x61));
    // Inspected and handed to fetch while the sandbox still holds the rest: the credit comes back.
    await peer.until('credit returned', () => peer.streams.get(id)?.credit === full, 5_000);
    await peer.write(id, new Uint8Array(100_000).fill(0x62), { fin: true });
    const response = await peer.response(id);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ bytes: 64 * 1024 + 100_000 });
  });
});
