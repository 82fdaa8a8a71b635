import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { auditEvents } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
import { curl } from './sandbox-client.ts';

// A sandbox that loops on denied requests must not grow the gateway's audit
// outbox or Postgres' audit_events without bound: denials are one row per
// (session, host, decision) and window, with a count and first/last seen.
// Brokered requests stay one row each; the session's other requests and a
// second session on the machine are answered meanwhile. Real sandboxd and curl
// against the real gateway under `wrangler dev`, real Postgres.

let world: GatewayWorld;
let rows: SessionRows;
let sandbox: Sandbox;
let home: string;
/** A second session on the same machine: the loop must not slow it down. */
let neighbour: { rows: SessionRows; sandbox: Sandbox; home: string };

async function session(name: string) {
  const created = await createSessionRows(world);
  const key = await createConnection(world, created.orgId, 'openai', {
    api_key: `sk-audit-${created.orgId}`,
  });
  await applyPlan(world, created, [
    {
      id: 'rt_api',
      match: { hosts: ['api.example.com'], pathPrefixes: [], methods: [] },
      upstream: { baseUrl: world.upstream.httpsUrl },
      inject: { kind: 'bearer', target: 'authorization' },
      credential: { source: 'secret', connectionId: key, field: 'api_key' },
      integration: 'openai',
    },
  ]);
  const dir = join(world.dir, name);
  mkdirSync(dir, { recursive: true });
  return { rows: created, sandbox: await startSandboxd(world, created), home: dir };
}

beforeAll(async () => {
  world = await startGatewayWorld(inject('airlock'));
  ({ rows, sandbox, home } = await session('home'));
  neighbour = await session('neighbour');
}, 240_000);

afterAll(async () => {
  await sandbox?.stop();
  await neighbour?.sandbox.stop();
  await world?.stop();
}, 60_000);

async function trail(host: string) {
  await world.harness(rows.sessionId, 'flush-audit');
  return world.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.sessionId, rows.sessionId), eq(auditEvents.host, host)));
}

/** curl's URL globbing: one process, one kept-alive connection, `n` requests. */
async function loop(url: string, n: number): Promise<void> {
  const { status } = await curl(sandbox, home, url.replace('{n}', `[1-${n}]`), [], 120_000);
  expect(status).toBeGreaterThan(0);
}

describe('a loop of denied requests', () => {
  it('is one audit row per host and window with the count; brokered requests stay one row each', async () => {
    const looping = loop('https://denied.example.org/loop/{n}', 300);
    // Meanwhile the session's other requests and its neighbour's are answered.
    for (const s of [{ rows, sandbox, home }, neighbour])
      expect(await curl(s.sandbox, s.home, 'https://api.example.com/ok?during=1')).toEqual({
        status: 200,
        body: 'ok',
      });
    await looping;
    await loop('https://api.example.com/ok?n={n}', 9);
    const denied = await trail('denied.example.org');
    // Normally one row; two if the loop straddled a window.
    expect(denied.length).toBeGreaterThanOrEqual(1);
    expect(denied.length).toBeLessThanOrEqual(2);
    expect(denied.reduce((n, r) => n + r.count, 0)).toBe(300);
    for (const row of denied) {
      expect(row.decision).toBe('denied');
      expect(row.status).toBe(403);
      expect(row.lastAt?.getTime() ?? 0).toBeGreaterThanOrEqual(row.at.getTime());
    }
    const brokered = await trail('api.example.com');
    expect(brokered.map((r) => [r.decision, r.count])).toEqual(Array(10).fill(['brokered', 1]));
    // The neighbour's trail is its own: one brokered row, none of the loop's denials.
    await world.harness(neighbour.rows.sessionId, 'flush-audit');
    const theirs = await world.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.sessionId, neighbour.rows.sessionId));
    expect(theirs.map((r) => [r.decision, r.host, r.count])).toEqual([['brokered', 'api.example.com', 1]]);
  }, 180_000);

  it('over many hosts is bounded too: past the hosts one window tracks, the rest share one row', async () => {
    for (let i = 1; i <= 300; i += 100)
      await curl(sandbox, home, `https://h[${i}-${i + 99}].spray.example.net/`, [], 120_000);
    await world.harness(rows.sessionId, 'flush-audit');
    const spray = (
      await world.db.select().from(auditEvents).where(eq(auditEvents.sessionId, rows.sessionId))
    ).filter((r) => r.host?.endsWith('spray.example.net') || r.host === '*');
    expect(spray.reduce((n, r) => n + r.count, 0)).toBe(300);
    // 100 hosts per window at most, plus the overflow row (twice that if the loop straddled one).
    expect(spray.length).toBeLessThanOrEqual(2 * 101);
    expect(spray.some((r) => r.host === '*' && r.count > 1)).toBe(true);
  }, 240_000);
});
