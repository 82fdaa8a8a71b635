import { DEFAULT_SESSION_SETTINGS } from '@airlock/schema/gateway';
import { PLACEHOLDER_SECRET } from '@airlock/schema/plan';
import { CloseCode, DEFAULT_WINDOW } from '@airlock/schema/tunnel';
import { describe, expect, inject, it } from 'vitest';
import { MAX_HOSTS } from './audit-windows.ts';
import { RECEIVE_BUFFER } from './stream.ts';
import { auditRows, startSession } from './test-support/fixtures.ts';
import { httpMeta } from './test-support/sandbox-peer.ts';

// What one sandbox can make its gateway hold or write (ADR 0115), with small
// limits handed in through the plan's settings: open streams, and denied
// requests in the audit trail. A scripted sandbox over the real edge route;
// audit rows read back from Postgres. (The attacks at default limits, from a
// real sandboxd under `wrangler dev`, are in local-dev/e2e/adversarial.)

const { upstreamHttp } = inject('standIns');
const host = new URL(upstreamHttp).host;
/** Granting ahead gets half of the tunnel's buffer budget (ADR 0060, 0115). */
const GRANT_AHEAD_BUDGET = DEFAULT_SESSION_SETTINGS.tunnelBufferBytes / 2;
const get = (path: string, authority = host) => ({
  method: 'GET',
  scheme: 'http' as const,
  authority,
  path,
  headers: [] as [string, string][],
});

describe('open streams', () => {
  it('past tunnelMaxStreams a request gets 429 naming the setting; gateway-opened streams do not count', async () => {
    const { peer, stub } = await startSession(() => [], {
      passthrough: [host],
      settings: { tunnelMaxStreams: 2 },
    });
    // Two downloads the sandbox stops reading: they stay open.
    const held: number[] = [];
    for (let i = 0; i < 2; i++) {
      const id = await peer.open('http', httpMeta(get(`/bytes/${4 << 20}`)));
      peer.stall(id, true);
      held.push(id);
    }
    await peer.until('both to start', () => held.every((id) => peer.streams.get(id)?.head !== null));
    const refused = await peer.request(get('/ok'));
    expect(refused.status).toBe(429);
    expect(refused.header('retry-after')).toBe('1');
    expect(refused.text).toContain('limits.tunnel_max_streams');
    // An upload past the limit is answered, then ended: its body is not wanted.
    const upload = await peer.open('http', httpMeta({ ...get('/upload'), method: 'POST' }), undefined, {
      upgrade: true,
    });
    await peer.until('the upload refused', () => peer.streams.get(upload)?.reset != null);
    expect(peer.streams.get(upload)?.head?.status).toBe(429);
    expect(peer.streams.get(upload)?.reset?.code).toBe(CloseCode.LIMIT);
    const sign = await peer.open('sign', { namespace: 'git', format: 'ssh' });
    await peer.until('the signature refused', () => peer.streams.get(sign)?.reset != null);
    expect(peer.streams.get(sign)?.reset?.code).toBe(CloseCode.LIMIT);
    // The gateway still runs commands in the sandbox (it opens those streams, not the sandbox).
    const events = await new Response(await stub.exec({ command: ['echo', 'hi'] })).text();
    expect(events).toContain('"type":"exit"');
    // One download ends: a request fits again.
    // (Frames are handled in order: the RESET frees the slot before the next OPEN is seen.)
    peer.send({ type: 'reset', stream: held[0] as number, flags: 0, code: CloseCode.CANCEL, message: '' });
    const again = await peer.request(get('/ok'));
    expect([again.status, again.text]).toEqual([200, 'ok']);
  });
});

describe('the buffer budget', () => {
  it('grants request bodies a receive buffer ahead, within half the tunnel buffer budget', async () => {
    const host = new URL(upstreamHttp).host;
    const { peer } = await startSession(() => [], { passthrough: [host] });
    const post = (length: number) =>
      httpMeta({
        method: 'POST',
        scheme: 'http',
        authority: host,
        path: '/upload',
        headers: [['content-length', String(length)]],
      });
    const big = crypto.getRandomValues(new Uint8Array(65_536));
    // (`upgrade` only keeps the stream's direction open so the body can follow.)
    const open = () => peer.open('http', post(big.length), undefined, { upgrade: true });
    const granted = (id: number) => (peer.streams.get(id)?.credit ?? 0) - DEFAULT_WINDOW;
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(await open());
    const total = () => ids.reduce((n, id) => n + granted(id), 0);
    await peer.until('the budget to be granted', () => total() >= GRANT_AHEAD_BUDGET);
    await peer.request({ method: 'GET', scheme: 'http', authority: host, path: '/ok' });
    expect(total()).toBe(GRANT_AHEAD_BUDGET);
    expect(ids.map(granted).every((g) => g <= RECEIVE_BUFFER - DEFAULT_WINDOW)).toBe(true);
    expect(granted(ids[0] as number)).toBe(RECEIVE_BUFFER - DEFAULT_WINDOW);
    expect(granted(ids[19] as number)).toBe(0);
    // Each upload arrives byte for byte, granted or not.
    const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', big))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    await Promise.all(ids.map((id) => peer.write(id, big, { fin: true })));
    for (const id of ids)
      expect(JSON.parse((await peer.response(id)).text)).toEqual({ bytes: big.length, sha256: digest });
    // Finished streams give their share back.
    const next = await open();
    await peer.until('a grant for the next stream', () => granted(next) > 0);
    expect(granted(next)).toBe(RECEIVE_BUFFER - DEFAULT_WINDOW);
    await peer.write(next, big, { fin: true });
    expect(JSON.parse((await peer.response(next)).text)).toEqual({ bytes: big.length, sha256: digest });
    expect([...peer.streams.values()].some((s) => s.overrun)).toBe(false);
  });
});

describe('denied requests in the audit trail', () => {
  it('are one row per host and window with the count, shipped again as it grows; allowed ones one each', async () => {
    const { world, peer, stub } = await startSession(() => [], { passthrough: [host] });
    for (let i = 0; i < 10; i++)
      expect((await peer.request(get(`/a/${i}`, 'denied.example'))).status).toBe(403);
    await stub.flushAudit();
    for (let i = 0; i < 15; i++)
      expect((await peer.request(get(`/b/${i}`, 'denied.example'))).status).toBe(403);
    await peer.request(get('/ok'));
    await peer.request(get('/ok'));
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    const denied = rows.filter((r) => r.decision === 'denied');
    expect(denied.map((r) => [r.host, r.path, r.status, r.count])).toEqual([
      ['denied.example', '/a/0', 403, 25],
    ]);
    expect(denied[0]?.lastAt?.getTime()).toBeGreaterThan(denied[0]?.at.getTime() ?? Number.POSITIVE_INFINITY);
    expect(rows.filter((r) => r.decision === 'passthrough').map((r) => r.count)).toEqual([1, 1]);
  });

  it('open a new row when the window has passed', async () => {
    const { world, peer, stub } = await startSession(() => [], { settings: { deniedAuditWindowSeconds: 1 } });
    await peer.request(get('/one', 'denied.example'));
    await peer.request(get('/two', 'denied.example'));
    await new Promise((r) => setTimeout(r, 1_100));
    await peer.request(get('/three', 'denied.example'));
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.map((r) => [r.path, r.count])).toEqual([
      ['/one', 2],
      ['/three', 1],
    ]);
  });

  it('include signatures refused for the rate; other refusals stay one row each (they count against it)', async () => {
    const { world, peer, stub } = await startSession(() => [], { settings: { signaturesPerMinute: 2 } });
    const payload = new TextEncoder().encode('not a commit\n');
    for (let i = 0; i < 6; i++) {
      const id = await peer.open('sign', { namespace: 'file', format: 'ssh' }, payload);
      await peer.until('the refusal', () => peer.streams.get(id)?.reset != null);
    }
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.map((r) => [r.action, r.detail.error, r.count])).toEqual([
      ['commit.signed', 'NAMESPACE_NOT_ALLOWED', 1],
      ['commit.signed', 'NAMESPACE_NOT_ALLOWED', 1],
      ['commit.signed', 'RATE_LIMITED', 4],
    ]);
  });

  it('leave blocked leaks one row each: every attempt is evidence, and none is folded into a denial', async () => {
    const { world, peer, stub } = await startSession(() => [], { passthrough: [host] });
    for (let i = 0; i < 3; i++) {
      const leaked = await peer.request({ ...get(`/leak/${i}`), headers: [['x-note', PLACEHOLDER_SECRET]] });
      expect(leaked.header('x-airlock-decision')).toBe('leak_blocked');
      expect((await peer.request(get(`/denied/${i}`, 'denied.example'))).status).toBe(403);
    }
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.filter((r) => r.decision === 'leak_blocked').map((r) => [r.path, r.count])).toEqual([
      ['/leak/0', 1],
      ['/leak/1', 1],
      ['/leak/2', 1],
    ]);
    expect(rows.filter((r) => r.decision === 'denied').map((r) => [r.path, r.count])).toEqual([
      ['/denied/0', 3],
    ]);
  });

  it(`fold hosts past the ${MAX_HOSTS}th of a window into one row`, async () => {
    const { world, peer, stub } = await startSession(() => []);
    const hosts = MAX_HOSTS + 20;
    for (let i = 0; i < hosts; i++) await peer.request(get('/', `h${i}.spray.example`));
    await stub.flushAudit();
    const rows = await auditRows(world.sessionId);
    expect(rows.length).toBe(MAX_HOSTS + 1);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(hosts);
    expect(rows.find((r) => r.host === '*')).toMatchObject({ count: 20, detail: { otherHosts: true } });
  }, 60_000);
});
