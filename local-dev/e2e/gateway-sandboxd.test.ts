import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { auditEvents } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { mintToken } from '../../workers/lib/tokens.ts';
import { PATTERN } from '../stand-ins/upstream.ts';
import {
  AIRLOCK_SIGN,
  applyPlan,
  createConnection,
  createSessionRows,
  type GatewayWorld,
  type Sandbox,
  type SessionRows,
  startGatewayWorld,
  startSandboxd,
} from './gateway-world.ts';

// The real sandboxd against the real gateway under `wrangler dev`: unmodified
// curl and git in the "sandbox" go out through sandboxd's proxy and the tunnel
// to the SessionGateway, which brokers, denies, audits, fans out a real PTY,
// runs commands and signs commits (checked by ssh-keygen).

const run = promisify(execFile);
let world: GatewayWorld;
let rows: SessionRows;
let sandbox: Sandbox;
let secret: string;

beforeAll(async () => {
  world = await startGatewayWorld(inject('airlock'));
  rows = await createSessionRows(world);
  secret = `sk-e2e-${crypto.randomUUID()}`;
  const apiKey = await createConnection(world, rows.orgId, 'openai', { api_key: secret });
  const githubApp = await createConnection(
    world,
    rows.orgId,
    'github_app',
    { private_key: world.github.privateKeyPem },
    // GitHub Enterprise form: the App API is under {base_url}/api/v3, served by the stand-in.
    { app_id: world.github.appId, installation_id: world.github.installationId, base_url: world.github.url },
  );
  await applyPlan(world, rows, [
    {
      id: 'rt_e2e_api',
      match: { hosts: ['api.example.com'], pathPrefixes: [], methods: ['GET', 'POST'] },
      upstream: { baseUrl: world.upstream.httpsUrl },
      inject: { kind: 'bearer', target: 'authorization' },
      credential: { source: 'secret', connectionId: apiKey, field: 'api_key' },
      integration: 'openai',
    },
    {
      id: 'rt_e2e_git',
      match: { hosts: ['github.com'], pathPrefixes: [], methods: [] },
      upstream: { baseUrl: world.github.url },
      inject: { kind: 'basic', target: 'authorization', username: 'x-access-token' },
      credential: { source: 'github_app', connectionId: githubApp, repositories: ['acme/widgets'] },
      integration: 'github_app',
    },
  ]);
  sandbox = await startSandboxd(world, rows);
}, 240_000);

afterAll(async () => {
  await sandbox?.stop();
  await world?.stop();
});

/** A command in the "sandbox": its environment points at sandboxd's proxy and CA. */
async function inSandbox(command: string, args: string[], cwd = world.dir) {
  return run(command, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: cwd,
      HTTPS_PROXY: sandbox.proxy,
      HTTP_PROXY: sandbox.proxy,
      SSL_CERT_FILE: sandbox.caFile,
      CURL_CA_BUNDLE: sandbox.caFile,
      GIT_SSL_CAINFO: sandbox.caFile,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      AIRLOCK_SIGN_SOCKET: sandbox.signSocket,
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function curl(url: string, extra: string[] = []) {
  const { stdout } = await inSandbox('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...extra, url]);
  const split = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, split), status: Number(stdout.slice(split + 1)) };
}

describe('sandboxd through the gateway', () => {
  it('brokers HTTPS with the credential injected upstream and never shown to the sandbox', async () => {
    const tag = `e2e-${crypto.randomUUID()}`;
    const echoed = await curl('https://api.example.com/echo-credential', [
      '-H',
      `x-test-tag: ${tag}`,
      '-H',
      'Authorization: Bearer airlock-brokered',
      '-D',
      '-',
    ]);
    expect(echoed.status).toBe(200);
    expect(echoed.body).not.toContain(secret);
    // Dot segments are resolved before matching, the same way the upstream will see the path.
    const ok = await curl('https://api.example.com/x/../ok', ['-H', `x-test-tag: ${tag}`, '--path-as-is']);
    expect(ok).toEqual({ body: 'ok', status: 200 });
    const seen = (await (await fetch(`${world.upstream.httpUrl}/__requests/${tag}`)).json()) as {
      url: string;
      headers: Record<string, string>;
      secure: boolean;
    }[];
    expect(seen.map((r) => [r.url, r.headers.authorization, r.secure])).toEqual([
      ['/echo-credential', `Bearer ${secret}`, true],
      ['/ok', `Bearer ${secret}`, true],
    ]);
  });

  it('moves a 48 MB download and a 16 MB upload byte for byte, each stream a receive buffer deep', async () => {
    // Both ends grant 1 MiB ahead on http streams (PROTOCOL.md §5); bytes must still be exact.
    const size = 48 * 1024 * 1024 + 5;
    const file = join(world.dir, 'download.bin');
    await inSandbox('curl', ['-sS', '--fail', '-o', file, `https://api.example.com/bytes/${size}`]);
    const body = readFileSync(file);
    expect(body.length).toBe(size);
    const expected = Buffer.alloc(size);
    for (let at = 0; at < size; at += PATTERN.length) PATTERN.copy(expected, at);
    expect(body.equals(expected)).toBe(true);
    const upload = Buffer.from(crypto.getRandomValues(new Uint8Array(1 << 16)));
    const big = Buffer.concat(Array.from({ length: 256 }, () => upload));
    const source = join(world.dir, 'upload.bin');
    writeFileSync(source, big);
    const { stdout } = await inSandbox('curl', [
      '-sS',
      '--fail',
      '--data-binary',
      `@${source}`,
      'https://api.example.com/upload',
    ]);
    const digest = createHash('sha256').update(big).digest('hex');
    expect(JSON.parse(stdout)).toEqual({ bytes: big.length, sha256: digest });
  });

  it('denies what the plan does not allow, with the setting to change', async () => {
    const denied = await curl('https://exfil.example.org/upload', ['-X', 'POST', '--data', 'x']);
    expect(denied.status).toBe(403);
    expect(denied.body).toContain("add exfil.example.org to the profile's egress allowlist");
    const wrongMethod = await curl('https://api.example.com/ok', ['-X', 'DELETE']);
    expect(wrongMethod.status).toBe(403);
    expect(wrongMethod.body).toContain('methods GET, POST');
  });

  it('clones over git smart HTTP with a GitHub App installation token minted for the session', async () => {
    const target = join(world.dir, 'clone');
    await inSandbox('git', ['clone', '-q', 'https://github.com/acme/widgets.git', target]);
    expect(readFileSync(join(target, 'README.md'), 'utf8')).toBe('# widgets\n');
    const credentials = world.github.requests.map((r) => r.credential);
    expect(credentials).toContain('app_jwt');
    expect(credentials).toContain('installation_token');
    expect(credentials).not.toContain('rejected');
    const { stdout } = await inSandbox('git', ['-C', target, 'config', '--get', 'remote.origin.url']);
    for (const token of world.github.issuedTokens) expect(stdout).not.toContain(token);
  });

  it('runs a command and streams its output back to the lifecycle', async () => {
    const ndjson = await world.harness<string>(rows.sessionId, 'exec', {
      command: ['sh', '-c', 'echo out-$((6*7)); echo err >&2; exit 5'],
      timeoutMs: 10_000,
    });
    const events = ndjson
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data?: string; code?: number });
    expect(
      events
        .filter((e) => e.type === 'stdout')
        .map((e) => e.data)
        .join(''),
    ).toBe('out-42\n');
    expect(
      events
        .filter((e) => e.type === 'stderr')
        .map((e) => e.data)
        .join(''),
    ).toBe('err\n');
    expect(events.at(-1)).toMatchObject({ type: 'exit', code: 5 });
  });

  it('fans a real PTY out to two viewers, with the writer typing and a late viewer replayed', async () => {
    const opened = await world.harness<{ ok: boolean }>(rows.sessionId, 'open-terminal', {
      key: 'agent',
      command: ['sh'],
      cols: 80,
      rows: 24,
    });
    expect(opened.ok).toBe(true);
    const viewer = async (mode: 'rw' | 'ro') => {
      const { token } = await mintToken(world.config, 'pty', {
        sub: rows.sessionId,
        org: rows.orgId,
        uid: rows.userId,
        mode,
      });
      const ws = new WebSocket(
        `${world.workerUrl.replace('http', 'ws')}/pty/${rows.sessionId}?token=${token}`,
      );
      let text = '';
      const messages: { type: string }[] = [];
      ws.on('message', (data, binary) => {
        if (binary) text += data.toString();
        else messages.push(JSON.parse(data.toString()) as { type: string });
      });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      return { ws, messages, output: () => text };
    };
    const writer = await viewer('rw');
    const watcher = await viewer('ro');
    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
      if (!check()) throw new Error(`timed out waiting for ${what}`);
    };
    writer.ws.send(Buffer.from('echo hello-$((6*7))\n'), { binary: true });
    await until(
      () => writer.output().includes('hello-42') && watcher.output().includes('hello-42'),
      'echo in both viewers',
    );
    const late = await viewer('ro');
    await until(() => late.output().includes('hello-42'), 'replay to the late viewer');
    expect(late.messages[0]).toMatchObject({ type: 'attached', mode: 'ro' });
    for (const v of [writer, watcher, late]) v.ws.close();
  });

  it('signs a commit with the org key; ssh-keygen verifies it and the signer is audited', async () => {
    const key = await world.harness<{ publicKey: string }>(rows.sessionId, 'signing-key');
    const repo = join(world.dir, 'signed');
    mkdirSync(repo, { recursive: true });
    const pub = join(world.dir, 'org-key.pub');
    writeFileSync(pub, `${key.publicKey}\n`);
    const allowed = join(world.dir, 'allowed_signers');
    writeFileSync(allowed, `dev@example.test ${key.publicKey}\n`);
    const g = (...args: string[]) => inSandbox('git', args, repo);
    await g('init', '-q', '-b', 'main');
    for (const [k, v] of [
      ['user.name', 'Dev'],
      ['user.email', 'dev@example.test'],
      ['gpg.format', 'ssh'],
      ['gpg.ssh.program', AIRLOCK_SIGN],
      ['user.signingkey', pub],
      ['gpg.ssh.allowedSignersFile', allowed],
    ] as const)
      await g('config', k, v);
    await g('commit', '-q', '-S', '--allow-empty', '-m', 'signed through the gateway');
    const verified = await g('verify-commit', '-v', 'HEAD');
    expect(`${verified.stdout}${verified.stderr}`).toContain('Good "git" signature for dev@example.test');
    await world.harness(rows.sessionId, 'flush-audit');
    const trail = await world.db.select().from(auditEvents).where(eq(auditEvents.sessionId, rows.sessionId));
    expect(trail.filter((e) => e.action === 'commit.signed')).toMatchObject([
      { decision: 'brokered', actorUserId: rows.userId },
    ]);
    expect(trail.filter((e) => e.decision === 'denied').length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(trail)).not.toContain(secret);
  });

  it('ends the session: sandboxd is told so and exits cleanly', async () => {
    await world.harness(rows.sessionId, 'end');
    expect(
      await Promise.race([sandbox.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]),
    ).toBe(0);
  });
});
