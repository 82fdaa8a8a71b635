import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  containersWith,
  type RunnerProc,
  type SessionWorld,
  startSessionWorld,
  waitUntil,
} from '../session-world.ts';

// Root in a session's sandbox (the threat model: assume the agent gets root in
// its container) against the runner's host: it cannot write the image's
// filesystem, it cannot fill the runner's disk beyond the profile's disk limit
// (it gets ENOSPC, the session keeps working), it runs under file and process
// limits, and nothing of its storage outlives the session. The production
// Worker, a real runner, real Docker, sessions through the HTTP API.

const DISK_MB = 512;
const PIDS = 256;
/** The runner's capacity in the session world; nproc is pids × capacity (ADR 0111). */
const CAPACITY = 8;
const NOFILE = 16384;

let world: SessionWorld & { agentImage: string };
let runner: RunnerProc;
let profile: string;
let sessionId: string;
let container: string;

function inSandbox(script: string, user: 'root' | 'sandbox' = 'root'): { code: number; out: string } {
  try {
    const out = execFileSync('docker', ['exec', '-u', user, container, 'sh', '-c', `exec 2>&1; ${script}`], {
      encoding: 'utf8',
    });
    return { code: 0, out };
  } catch (error) {
    const e = error as { status?: number; stdout?: string };
    return { code: e.status ?? -1, out: e.stdout ?? '' };
  }
}

async function sessionStatus(id: string): Promise<string> {
  return (await world.api<{ status: string }>('GET', `/orgs/${world.orgId}/sessions/${id}`)).body.status;
}

/** Type into a shell terminal next to the agent, as the dashboard does; resolve with what came back. */
async function shell(id: string, line: string, until: string): Promise<string> {
  await world.api('POST', `/orgs/${world.orgId}/sessions/${id}/terminals`, { terminal: 'shell' });
  const grant = await world.api<{ url: string }>('POST', `/orgs/${world.orgId}/sessions/${id}/pty-token`, {
    terminal: 'shell',
  });
  const url = new URL(grant.body.url);
  const ws = new WebSocket(`${world.workerUrl.replace('http', 'ws')}${url.pathname}${url.search}`);
  let typed = '';
  ws.on('message', (data, binary) => {
    if (binary) typed += Buffer.from(data as Buffer).toString();
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(Buffer.from(`${line}\n`));
  try {
    await waitUntil(`"${until}" in the shell`, async () => typed.includes(until), 30_000);
  } finally {
    ws.close();
  }
  return typed;
}

beforeAll(async () => {
  world = await startSessionWorld(inject('airlock'), { maxSessions: 2 });
  runner = await world.startRunner();
  profile = await world.profile({
    image: world.agentImage,
    resources: { cpus: 0.5, memoryMb: 256, pids: PIDS, diskMb: DISK_MB },
  });
  const started = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
    profileId: profile,
  });
  sessionId = started.body.id;
  await waitUntil('the session to run', async () =>
    (await sessionStatus(sessionId)) === 'running' ? true : undefined,
  );
  container = containersWith(`airlock.sandbox=${sessionId}`)[0] ?? '';
}, 900_000);

afterAll(async () => {
  await runner?.kill();
  await world?.stop();
});

describe('a session sandbox attacked from root inside it', () => {
  it('cannot write the root filesystem; home, workspace and the temporary directories are writable', () => {
    for (const path of [
      '/usr/local/bin/planted',
      '/etc/planted',
      '/opt/planted',
      '/var/lib/planted',
      '/planted',
    ]) {
      const wrote = inSandbox(`echo x > ${path}`);
      expect(wrote.code, path).not.toBe(0);
      expect(wrote.out, path).toMatch(/Read-only file system/);
    }
    for (const dir of ['/home/sandbox', '/workspace', '/tmp', '/var/tmp'])
      expect(inSandbox(`echo x > ${dir}/written && cat ${dir}/written`, 'sandbox'), dir).toEqual({
        code: 0,
        out: 'x\n',
      });
  });

  it('runs under the file and process limits', () => {
    const limits = inSandbox('cat /proc/self/limits', 'sandbox').out;
    const soft = (name: string) => new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(limits)?.[1];
    expect(soft('Max open files')).toBe(String(NOFILE));
    expect(soft('Max processes')).toBe(String(PIDS * CAPACITY));
  });

  it('fills only its own disk: ENOSPC at the profile’s limit, the runner’s disk untouched, the session healthy', async () => {
    const host = (path: string) => {
      const s = statfsSync(path);
      return (s.bavail * s.bsize) / 2 ** 20;
    };
    const freeBefore = host(world.runnerStateDir);
    const filled = inSandbox('dd if=/dev/zero of=/home/sandbox/fill bs=1M count=4096');
    expect(filled.code).not.toBe(0);
    expect(filled.out).toMatch(/No space left on device/);
    // One budget: /tmp and the workspace are full too.
    expect(inSandbox('dd if=/dev/zero of=/tmp/more bs=1M count=16', 'sandbox').out).toMatch(
      /No space left on device/,
    );
    const written = Number(inSandbox('du -sm /home/sandbox/fill | cut -f1').out.trim());
    expect(written).toBeGreaterThan(DISK_MB / 2);
    expect(written).toBeLessThanOrEqual(DISK_MB);
    expect(freeBefore - host(world.runnerStateDir)).toBeLessThan(DISK_MB + 64);
    // Nothing went to the container's own writable layer.
    const sized = JSON.parse(
      execFileSync('docker', ['inspect', '--size', '-f', '{{json .SizeRw}}', container], {
        encoding: 'utf8',
      }),
    ) as number;
    expect(sized).toBeLessThan(8 * 2 ** 20);

    // sandboxd, the tunnel and the terminals keep working on a full disk.
    expect(await sessionStatus(sessionId)).toBe('running');
    expect(await shell(sessionId, 'echo "healthy sum=$((6*7))"', 'healthy sum=42')).toContain(
      'healthy sum=42',
    );
    inSandbox('rm -f /home/sandbox/fill /tmp/more');
  });

  it('leaves no storage behind once the session stops', async () => {
    await world.api('POST', `/orgs/${world.orgId}/sessions/${sessionId}/stop`);
    await waitUntil('the session to stop', async () =>
      ['stopped', 'failed'].includes(await sessionStatus(sessionId)) ? true : undefined,
    );
    expect(containersWith(`airlock.sandbox=${sessionId}`)).toEqual([]);
    const volumes = execFileSync(
      'docker',
      ['volume', 'ls', '-q', '--filter', `label=airlock.sandbox=${sessionId}`],
      { encoding: 'utf8' },
    );
    expect(volumes.trim()).toBe('');
    const disks = join(world.runnerStateDir, 'disks');
    expect(existsSync(disks) ? readdirSync(disks).filter((e) => e.startsWith(sessionId)) : []).toEqual([]);
    expect(execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' })).not.toContain(sessionId);
  });
});
