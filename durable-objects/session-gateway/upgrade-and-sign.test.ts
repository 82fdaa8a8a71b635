import { CloseCode } from '@airlock/schema/tunnel';
import { describe, expect, inject, it } from 'vitest';
import { auditRows, createConnection, route, startSession } from './test-support/fixtures.ts';
import { httpMeta } from './test-support/sandbox-peer.ts';
import { acceptKey, closePayload, encodeWsFrame, Opcode, WsFrameParser } from './ws-frames.ts';

// WebSocket upgrades through the tunnel (HEAD 101, then raw RFC 6455 bytes),
// brokered like any request; and commit signing with the org's key held by the
// broker, checked here against the SSHSIG format with WebCrypto (sandboxd's
// end-to-end test checks the same signatures with ssh-keygen).

const { upstreamHttp } = inject('standIns');

describe('WebSocket upgrades', () => {
  it('bridges a client WebSocket to the pinned upstream with the credential injected', async () => {
    const secret = `sk-ws-${crypto.randomUUID()}`;
    const { peer, stub, world } = await startSession(async (w) => {
      const connectionId = await createConnection(w.orgId, 'openai', { api_key: secret });
      return [
        route({
          match: { hosts: ['realtime.example.com'], pathPrefixes: [], methods: [] },
          upstream: { baseUrl: upstreamHttp.replace('http', 'ws') },
          credential: { source: 'secret', connectionId, field: 'api_key' },
        }),
      ];
    });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const tag = `ws-${crypto.randomUUID()}`;
    const id = await peer.open(
      'http',
      httpMeta({
        method: 'GET',
        scheme: 'https',
        authority: 'realtime.example.com',
        path: '/ws?model=x',
        headers: [
          ['upgrade', 'websocket'],
          ['sec-websocket-key', key],
          ['sec-websocket-version', '13'],
          ['sec-websocket-protocol', 'realtime'],
          ['sec-websocket-extensions', 'permessage-deflate'],
          ['x-test-tag', tag],
        ],
      }),
      undefined,
      { upgrade: true },
    );
    const stream = peer.streams.get(id);
    if (stream === undefined) throw new Error('no stream');
    await peer.until('101', () => stream.head !== null);
    expect(stream.head).toMatchObject({ status: 101 });
    const headers = Object.fromEntries(stream.head?.headers as [string, string][]);
    expect(headers['sec-websocket-accept']).toBe(await acceptKey(key));
    expect(headers['sec-websocket-protocol']).toBe('realtime');
    const seen = (await (await fetch(`${upstreamHttp}/__requests/${tag}`)).json()) as {
      headers: Record<string, string>;
    }[];
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${secret}`);

    await peer.write(id, encodeWsFrame(Opcode.text, new TextEncoder().encode('hello upstream'), true));
    const big = crypto.getRandomValues(new Uint8Array(60_000)).slice();
    // A fragmented binary message: two frames, one message upstream.
    await peer.write(id, encodeWsFrame(Opcode.binary, big.subarray(0, 30_000), true, false));
    await peer.write(id, encodeWsFrame(Opcode.continuation, big.subarray(30_000), true, true));
    const parser = new WsFrameParser(false);
    const frames: { opcode: number; payload: Uint8Array }[] = [];
    let consumed = 0;
    await peer.until('two echoes', () => {
      for (const chunk of stream.chunks.slice(consumed)) frames.push(...parser.push(chunk));
      consumed = stream.chunks.length;
      return frames.length >= 2;
    });
    expect(new TextDecoder().decode(frames[0]?.payload)).toBe('hello upstream');
    expect(frames[1]?.opcode).toBe(Opcode.binary);
    expect(frames[1]?.payload).toEqual(big);
    await peer.write(id, encodeWsFrame(Opcode.close, closePayload(1000, 'done'), true));
    await peer.until('close and FIN', () => stream.fin);
    await stub.flushAudit();
    const [row] = await auditRows(world.sessionId);
    expect(row).toMatchObject({
      decision: 'brokered',
      status: 101,
      host: 'realtime.example.com',
      bytesOut: 60_000 + 14,
      bytesIn: 60_000 + 14,
    });
  });
});

function unarmor(armored: string): Uint8Array {
  const body = armored
    .replace('-----BEGIN SSH SIGNATURE-----', '')
    .replace('-----END SSH SIGNATURE-----', '')
    .replace(/\s+/g, '');
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

function readString(bytes: Uint8Array, at: number): [Uint8Array, number] {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at);
  return [bytes.subarray(at + 4, at + 4 + length), at + 4 + length];
}

function sshString(value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

describe('commit signing', () => {
  it('signs with the org key in the SSHSIG format and attributes the signature to the session', async () => {
    const { peer, stub, world } = await startSession(() => []);
    const key = await stub.signingPublicKey();
    expect(key?.publicKey).toMatch(
      new RegExp(`^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/=]+ airlock:${world.orgId}$`),
    );
    const payload = new TextEncoder().encode(
      'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor Dev <dev@example.test> 0 +0000\ncommitter Dev <dev@example.test> 0 +0000\n\nsigned\n',
    );
    const id = await peer.open(
      'sign',
      { namespace: 'git', format: 'ssh', publicKey: key?.publicKey ?? '' },
      payload,
    );
    const response = await peer.response(id);
    expect(response.text).toMatch(/^-----BEGIN SSH SIGNATURE-----\n[\s\S]+\n-----END SSH SIGNATURE-----\n$/);

    const blob = unarmor(response.text);
    expect(new TextDecoder().decode(blob.subarray(0, 6))).toBe('SSHSIG');
    let at = 10;
    const [publicBlob, a1] = readString(blob, at);
    const [namespace, a2] = readString(blob, a1);
    const [, a3] = readString(blob, a2);
    const [hashAlgorithm, a4] = readString(blob, a3);
    const [signatureBlob] = readString(blob, a4);
    at = 0;
    expect(new TextDecoder().decode(namespace)).toBe('git');
    expect(new TextDecoder().decode(hashAlgorithm)).toBe('sha512');
    expect(`ssh-ed25519 ${btoa(String.fromCharCode(...publicBlob))}`).toBe(
      key?.publicKey.split(' ').slice(0, 2).join(' '),
    );
    const [, s1] = readString(signatureBlob, at);
    const [signature] = readString(signatureBlob, s1);
    const [, p1] = readString(publicBlob, 0);
    const [raw] = readString(publicBlob, p1);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-512', payload));
    const signed = new Uint8Array([
      ...new TextEncoder().encode('SSHSIG'),
      ...sshString('git'),
      ...sshString(''),
      ...sshString('sha512'),
      ...sshString(digest),
    ]);
    const publicKey = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    expect(await crypto.subtle.verify('Ed25519', publicKey, signature, signed)).toBe(true);

    // Another key than the org's is refused, not silently replaced.
    const other = await peer.open(
      'sign',
      { namespace: 'git', format: 'ssh', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther' },
      payload,
    );
    await expect(peer.response(other)).rejects.toThrow(new RegExp(`\\(${CloseCode.DENIED}\\).*org key`));
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.map((r) => [r.action, r.decision, r.actorUserId, r.bytesOut])).toEqual([
      ['commit.signed', 'brokered', world.userId, payload.length],
      ['commit.signed', 'denied', world.userId, payload.length],
    ]);
  });
});
