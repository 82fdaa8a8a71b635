import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { auditEvents } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  applyPlan,
  bootstrapToken,
  createConnection,
  createSessionRows,
  type GatewayWorld,
  type Sandbox,
  type SessionRows,
  startGatewayWorld,
  startSandboxd,
} from '../gateway-world.ts';
import { startCanary, viaProxy } from './proxy-client.ts';
import { RawTunnel } from './raw-tunnel.ts';

// Egress authority attacks (ADR 0105), on the real sandboxd binary and the
// real gateway under `wrangler dev`. The profile allowlists `*.pkgs.example.org`;
// a loopback "canary" listener stands for everything the sandbox must not
// reach (the gateway's own network: loopback, metadata, internal services).
// Every attack must be refused with a 4xx and audited as denied, and the
// canary must never see a connection.

const run = promisify(execFile);
const WILDCARD = '*.pkgs.example.org';
let world: GatewayWorld;
let canary: Awaited<ReturnType<typeof startCanary>>;
let rows: SessionRows;
let sandbox: Sandbox;
let rawRows: SessionRows;
let raw: RawTunnel;
let c: number;

beforeAll(async () => {
  world = await startGatewayWorld(inject('airlock'));
  canary = await startCanary();
  c = canary.port;
  rows = await createSessionRows(world);
  const apiKey = await createConnection(world, rows.orgId, 'openai', {
    api_key: `sk-${crypto.randomUUID()}`,
  });
  await applyPlan(
    world,
    rows,
    [
      {
        id: 'rt_attack_api',
        match: { hosts: ['api.example.com'], pathPrefixes: [], methods: [] },
        upstream: { baseUrl: world.upstream.httpsUrl },
        inject: { kind: 'bearer', target: 'authorization' },
        credential: { source: 'secret', connectionId: apiKey, field: 'api_key' },
        integration: 'openai',
      },
    ],
    [WILDCARD],
  );
  sandbox = await startSandboxd(world, rows);
  // A second session whose tunnel an attacker speaks by hand (root in the sandbox).
  rawRows = await createSessionRows(world);
  await applyPlan(world, rawRows, [], [WILDCARD]);
  raw = await RawTunnel.dial(world.workerUrl, rawRows.sessionId, await bootstrapToken(world, rawRows));
}, 240_000);

afterAll(async () => {
  raw?.close();
  await sandbox?.stop();
  await canary?.close();
  await world?.stop();
});

async function curl(url: string, extra: string[] = []) {
  const { stdout } = await run(
    'curl',
    // (curl reads only the lower-case http_proxy for http://, so the proxy is named outright.)
    ['-sS', '--max-time', '30', '-x', sandbox.proxy, '-o', '-', '-w', '\n%{http_code}', ...extra, url],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CURL_CA_BUNDLE: sandbox.caFile } },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '\n0' }));
  const split = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, split), status: Number(stdout.slice(split + 1)) };
}

async function trail(sessionId: string) {
  await world.harness(sessionId, 'flush-audit');
  return world.db.select().from(auditEvents).where(eq(auditEvents.sessionId, sessionId));
}

describe('one authority: what the sandbox names is what the gateway matches and dials', () => {
  it('the reported attack: a Host header inside a CONNECT tunnel cannot point a wildcard at loopback', async () => {
    for (const end of ['#', '/', '?', '\\']) {
      const hostile = `127.0.0.1:${c}${end}.pkgs.example.org`;
      const answer = await curl('https://x.pkgs.example.org/', ['-p', '-H', `Host: ${hostile}`]);
      expect(canary.connections(), `the gateway dialled loopback for ${hostile}`).toBe(0);
      expect(answer.status, hostile).toBe(400);
      expect(answer.body).toContain('Host');
    }
    expect(canary.connections()).toBe(0);
  });

  it('a brokered route and a wildcard host still work (the controls)', async () => {
    expect(await curl('https://api.example.com/ok')).toEqual({ body: 'ok', status: 200 });
    const wildcard = await curl('https://x.pkgs.example.org/');
    expect([400, 403]).not.toContain(wildcard.status);
    const rowsNow = await trail(rows.sessionId);
    expect(rowsNow.filter((r) => r.decision === 'passthrough').map((r) => r.host)).toContain(
      'x.pkgs.example.org',
    );
  });

  it('plain HTTP: the Host header must agree with the absolute-form target', async () => {
    const answer = await curl('http://x.pkgs.example.org/', ['-H', `Host: 127.0.0.1:${c}`]);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('Host');
  });

  it('absolute-form targets that URL parsers read differently never reach loopback', async () => {
    for (const target of [
      `http://127.0.0.1:${c}@x.pkgs.example.org/`,
      `http://x.pkgs.example.org@127.0.0.1:${c}/`,
      `http://127.1:${c}/`,
      `http://0x7f.0.0.1:${c}/`,
      `http://2130706433:${c}/`,
      `http://[::ffff:127.0.0.1]:${c}/`,
      `http://localhost:${c}/`,
      `http://a.localhost:${c}/`,
      `http://127.0.0.1.pkgs.example.org:${c}/`,
    ]) {
      const answer = await viaProxy(sandbox.proxy, { target, host: new URL(target).host });
      expect([400, 403], target).toContain(answer.status);
    }
    expect(canary.connections()).toBe(0);
  });

  it('the CONNECT target is the matched host: a server name that disagrees is refused', async () => {
    const sni = await viaProxy(sandbox.proxy, {
      connect: 'x.pkgs.example.org:443',
      sni: 'elsewhere.example.net',
      target: '/',
      host: 'x.pkgs.example.org',
    });
    expect(sni.status).toBe(400);
    expect(sni.body).toContain('server name');
    const moved = await viaProxy(sandbox.proxy, {
      connect: `127.0.0.1:${c}`,
      sni: 'x.pkgs.example.org',
      target: '/',
      host: 'x.pkgs.example.org',
    });
    expect(moved.status).toBe(400);
    const ip = await viaProxy(sandbox.proxy, {
      connect: `127.0.0.1:${c}`,
      sni: null,
      target: '/',
      host: `127.0.0.1:${c}`,
    });
    expect(ip.status).toBe(403);
    expect(canary.connections()).toBe(0);
  });

  it('a Host header that disagrees with the CONNECT target is refused, even one the wildcard allows', async () => {
    const answer = await viaProxy(sandbox.proxy, {
      connect: 'a.pkgs.example.org:443',
      sni: 'a.pkgs.example.org',
      target: '/',
      host: 'b.pkgs.example.org',
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('Host');
    const plain = await viaProxy(sandbox.proxy, {
      connect: 'a.pkgs.example.org:80',
      target: '/',
      host: `127.0.0.1:${c}`,
    });
    expect(plain.status).toBe(400);
  });

  it('CONNECT targets outside the grammar are refused before any tunnel opens', async () => {
    for (const target of [
      `127.1:${c}`,
      `0x7f.0.0.1:${c}`,
      `[::ffff:127.0.0.1]:${c}`,
      `[fe80::1%25eth0]:${c}`,
      'x.pkgs.example.org:0443',
      'x.pkgs.example.org:65536',
      'x.pkgs.example.org',
    ]) {
      const answer = await viaProxy(sandbox.proxy, { connect: target, target: '/', host: target });
      expect(answer.connectRefused, target).toBe(true);
      expect(answer.status, target).toBe(400);
    }
    expect(canary.connections()).toBe(0);
  });

  it('every refusal through sandboxd is audited as denied; nothing hostile is audited as allowed', async () => {
    const all = await trail(rows.sessionId);
    const allowed = all.filter((r) => r.decision !== 'denied');
    expect(new Set(allowed.map((r) => r.host))).toEqual(new Set(['api.example.com', 'x.pkgs.example.org']));
    // 4 Host tricks + 1 plain Host + 3 SNI/CONNECT + 2 Host-in-tunnel + 5 CONNECT targets that
    // reach sandboxd's parser (the %-escape is refused by the HTTP parser before it).
    // (Denials are one row per host and window with a count, ADR 0115: count requests, not rows.)
    const denied = all.filter((r) => r.decision === 'denied');
    expect(denied.reduce((n, r) => n + r.count, 0)).toBeGreaterThanOrEqual(15);
  });
});

describe('the tunnel protocol spoken by hand (root in the sandbox)', () => {
  const meta = (authority: unknown, extra: Record<string, unknown> = {}) => ({
    method: 'GET',
    scheme: 'https',
    authority,
    path: '/',
    headers: [],
    ...extra,
  });

  it('a raw authority string the matcher and the URL parser read differently is refused', async () => {
    for (const end of ['#', '/', '?', '\\']) {
      const answer = await raw.request(meta(`127.0.0.1:${c}${end}.pkgs.example.org`));
      expect(answer.status, end).toBe(400);
    }
    expect(canary.connections()).toBe(0);
  });

  it('the gateway parses every authority it is given itself, and checks that they agree', async () => {
    const cases: Array<[unknown, Record<string, unknown>?]> = [
      [{ host: 'x.pkgs.example.org', port: 443, seen: { connect: `127.0.0.1:${c}` } }],
      [{ host: `127.0.0.1:${c}#.pkgs.example.org`, port: 443, seen: { connect: 'x.pkgs.example.org:443' } }],
      [{ host: '127.1', port: c, seen: { uri: `127.1:${c}` } }, { scheme: 'http' }],
      [{ host: '[::ffff:7f00:1]', port: c, seen: { uri: `[::ffff:7f00:1]:${c}` } }, { scheme: 'http' }],
      [
        {
          host: 'x.pkgs.example.org',
          port: 443,
          seen: { connect: 'x.pkgs.example.org:443', sni: 'x.pkgs.example.org', host: `127.0.0.1:${c}` },
        },
      ],
      [{ host: 'x.pkgs.example.org', port: 443, seen: {} }],
      [{ host: 'x.pkgs.example.org', port: 0, seen: { connect: 'x.pkgs.example.org:0' } }],
      [
        { host: 'x.pkgs.example.org', port: 443, seen: { connect: 'x.pkgs.example.org:443' } },
        { method: 'CONNECT' },
      ],
    ];
    for (const [authority, extra] of cases) {
      const answer = await raw.request(meta(authority, extra));
      expect(answer.status, JSON.stringify(authority)).toBe(400);
    }
    expect(canary.connections()).toBe(0);
  });

  it('IP literals and localhost names never match a wildcard', async () => {
    for (const [host, port] of [
      ['127.0.0.1', c],
      ['localhost', c],
      ['a.localhost', c],
      ['169.254.169.254', 80],
      ['[fe80::1]', c],
      ['0.0.0.0', c],
      ['[::]', c],
    ] as const) {
      const seen = { uri: `${host}:${port}`, host: `${host}:${port}` };
      const answer = await raw.request(meta({ host, port, seen }, { scheme: 'http' }));
      expect(answer.status, host).toBe(403);
    }
    expect(canary.connections()).toBe(0);
  });

  it('audits every refused stream as denied', async () => {
    const all = await trail(rawRows.sessionId);
    expect(all.reduce((n, r) => n + r.count, 0)).toBeGreaterThanOrEqual(19);
    expect(all.every((r) => r.decision === 'denied')).toBe(true);
  });
});
