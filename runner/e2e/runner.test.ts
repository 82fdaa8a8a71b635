import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newId } from '@airlock/schema/ids';
import { describe, expect, it } from 'vitest';
import { runnerRow } from '../../local-dev/runners.ts';
import { SANDBOX_CAPABILITIES, SANDBOX_NOFILE } from '../src/docker/host-config.ts';
import {
  containersOf,
  docker,
  dockerExec,
  e2e,
  hubStatus,
  must,
  provider,
  type Ref,
  useRunner,
  waitUntil,
} from './fixture.ts';

// The runner as deployed: a Node process holding a WebSocket to its RunnerHub
// through the Worker's real /runner/connect (under `wrangler dev`), executing
// assignments on the real Docker engine; assignments made by the Docker
// provider exactly as the workflows will call it.

/** A WebSocket client run inside the sandbox (Node 24 is in the image): upgrade over the socket, send, print the echo. */
const WS_CLIENT = `
const http = require('node:http');
const crypto = require('node:crypto');
const out = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
const req = http.request({ socketPath: process.env.SOCK, path: process.env.TUNNEL_PATH, headers: {
  Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), Authorization: 'Bearer ' + process.env.TOKEN } });
req.on('response', (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => out({ status: res.statusCode, body: b })); });
req.on('upgrade', (res, socket, head) => {
  const payload = Buffer.from(process.env.MESSAGE);
  const mask = crypto.randomBytes(4);
  socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4])]));
  let buf = head;
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length < 2) return;
    let len = buf[1] & 0x7f, off = 2;
    if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
    if (buf.length >= off + len) out({ status: 101, message: buf.subarray(off, off + len).toString() });
  });
});
req.on('error', (e) => out({ error: e.code || e.message }));
req.end();
setTimeout(() => out({ error: 'timeout' }), 10000);
`;

const t = useRunner();
const sessionId = newId('session');
let ref: Ref;

describe('a runner on real Docker', () => {
  it('registers with its token, says hello, heartbeats, and shows online in Postgres', async () => {
    const online = await waitUntil('the hub to see the runner', async () => {
      const s = await hubStatus(t.runner.runnerId);
      return s.status === 'online' && s.connected === 1 ? s : undefined;
    });
    expect(online.version).toBe('0.1.0');
    // Heartbeats (every second in this stack) keep arriving.
    await waitUntil(
      'two more heartbeats',
      async () => (await hubStatus(t.runner.runnerId)).messages >= online.messages + 2,
    );
    const row = await waitUntil('the runner row to go online', async () => {
      const r = await runnerRow(e2e().databaseUrl, t.runner.runnerId);
      return r?.status === 'online' ? r : undefined;
    });
    expect(row.version).toBe('0.1.0');
    expect(row.hostInfo.dockerVersion).toMatch(/^\d+\./);
  });

  it('creates a --network none sandbox with the profile’s limits, no privileges, a read-only root and its own disk', async () => {
    ref = await must(
      provider<Ref>('create', {
        input: {
          operationId: 'create',
          orgId: t.runner.orgId,
          sandboxId: sessionId,
          image: t.image,
          resources: { cpus: 0.5, memoryMb: 256, pids: 200, diskMb: 512 },
          env: { OPENAI_API_KEY: 'airlock-brokered' },
          tunnelSessionId: sessionId,
          // sandboxd is not part of this suite: the command records its startup input and idles.
          command: ['sh', '-c', 'cat > /tmp/startup.json; exec sleep infinity'],
        },
      }),
    );
    expect(ref).toMatchObject({ provider: 'docker', sandboxId: sessionId, runnerId: t.runner.runnerId });
    const info = await docker.getContainer(ref.externalId ?? '').inspect();
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      NanoCpus: 500_000_000,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      PidsLimit: 200,
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      ReadonlyRootfs: true,
      Ulimits: [
        { Name: 'nofile', Soft: SANDBOX_NOFILE, Hard: SANDBOX_NOFILE },
        { Name: 'nproc', Soft: 200 * 4, Hard: 200 * 4 },
      ],
    });
    expect([...(info.HostConfig.CapAdd ?? [])].sort()).toEqual([...SANDBOX_CAPABILITIES].sort());
    // The socket read-only; home, workspace and the trust store on the sandbox's own disk (its
    // image content copied in), the temporary directories too; root-only runtime state in tmpfs.
    const disk = join(t.proc.stateDir, 'disks', sessionId);
    const mounts = Object.fromEntries(info.Mounts.map((m) => [m.Destination, m]));
    expect(Object.keys(mounts).sort()).toEqual(
      [
        '/etc/airlock',
        '/etc/ssl/certs',
        '/home/sandbox',
        '/run',
        '/run/airlock/gateway',
        '/tmp',
        '/usr/local/share/ca-certificates',
        '/var/tmp',
        '/workspace',
      ].sort(),
    );
    expect(mounts['/run/airlock/gateway']).toMatchObject({
      Type: 'bind',
      Source: join(t.proc.stateDir, 'sandboxes', sessionId),
      RW: false,
    });
    for (const [target, name] of [
      ['/home/sandbox', 'home'],
      ['/workspace', 'workspace'],
      ['/etc/ssl/certs', 'ssl-certs'],
    ] as const)
      expect(mounts[target]).toMatchObject({
        Type: 'volume',
        Name: `airlock-${sessionId}-${name}`,
        RW: true,
      });
    expect(mounts['/tmp']).toMatchObject({ Type: 'bind', Source: join(disk, 'tmp'), RW: true });
    expect(mounts['/var/tmp']).toMatchObject({ Type: 'bind', Source: join(disk, 'var-tmp'), RW: true });
    for (const target of ['/run', '/etc/airlock', '/usr/local/share/ca-certificates'])
      expect(mounts[target]).toMatchObject({ Type: 'tmpfs', RW: true });
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${disk} `);
    expect(info.Config.Labels).toMatchObject({
      'airlock.runner': t.runner.runnerId,
      'airlock.sandbox': sessionId,
      'airlock.tunnel': sessionId,
      'airlock.assignment': `${sessionId}:create`,
      'airlock.org': t.runner.orgId,
    });
    expect(info.Config.Env).toContain('OPENAI_API_KEY=airlock-brokered');
    expect(await must(provider('status', { ref }))).toMatchObject({ state: 'created' });
  });

  it('starts it, handing the startup input to its stdin (never to disk)', async () => {
    const startup = {
      sessionId,
      bootstrapToken: 'bootstrap-token-for-this-test',
      gateway: { unixSocket: '/run/airlock/gateway/gateway.sock', path: `/tunnel/${sessionId}` },
    };
    await must(provider('start', { ref, input: { operationId: 'start-1', startup } }));
    expect(await must(provider('status', { ref }))).toMatchObject({ state: 'running' });
    const read = await waitUntil('the sandbox to read its stdin', async () => {
      const r = await dockerExec(ref.externalId ?? '', ['cat', '/tmp/startup.json']);
      return r.stdout.length > 0 ? r : undefined;
    });
    expect(JSON.parse(read.stdout)).toEqual(startup);
  });

  it('has no network, and relays its socket to the Worker’s /tunnel/<session> with the Host rewritten', async () => {
    const id = ref.externalId ?? '';
    const offline = await dockerExec(id, ['curl', '-sS', '-m', '3', `${e2e().workerUrl}/healthz`]);
    expect(offline.exitCode).not.toBe(0);

    const env = (path: string) => [
      'SOCK=/run/airlock/gateway/gateway.sock',
      `TUNNEL_PATH=${path}`,
      'TOKEN=bootstrap-token-for-this-test',
      'MESSAGE=hello through the relay',
    ];
    const echoed = await dockerExec(id, ['node', '-e', WS_CLIENT], { env: env(`/tunnel/${sessionId}`) });
    const reply = JSON.parse(echoed.stdout) as { status: number; message: string };
    expect(reply.status).toBe(101);
    expect(JSON.parse(reply.message)).toEqual({
      path: `/tunnel/${sessionId}`,
      host: new URL(e2e().workerUrl).host,
      authorization: 'Bearer bootstrap-token-for-this-test',
      echo: 'hello through the relay',
    });

    // Another session's tunnel, or anything else on the Worker, is not relayed.
    const elsewhere = await dockerExec(id, ['node', '-e', WS_CLIENT], {
      env: env(`/tunnel/${newId('session')}`),
    });
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({ status: 403 });
    const api = await dockerExec(id, ['node', '-e', WS_CLIENT], { env: env('/api/openapi.json') });
    expect(JSON.parse(api.stdout)).toMatchObject({ status: 403 });
    // Only root in the sandbox (sandboxd) may use the socket; the agent's user may not.
    const agent = await dockerExec(id, ['node', '-e', WS_CLIENT], {
      env: env(`/tunnel/${sessionId}`),
      user: 'sandbox',
    });
    expect(JSON.parse(agent.stdout)).toEqual({ error: 'EACCES' });
  });

  it('runs execs with their exit codes, users, output and deadline', async () => {
    const ran = await must(
      provider<{ exitCode: number; stdout: string; stderr: string; timedOut: boolean }>('exec', {
        ref,
        input: { operationId: 'exec-1', command: ['sh', '-c', 'id -un; pwd; echo oops >&2; exit 7'] },
      }),
    );
    expect(ran).toMatchObject({
      exitCode: 7,
      stdout: 'sandbox\n/workspace\n',
      stderr: 'oops\n',
      timedOut: false,
    });
    const root = await must(
      provider<{ exitCode: number; stdout: string }>('exec', {
        ref,
        input: {
          operationId: 'exec-2',
          command: ['sh', '-c', 'echo "$GREETING" > /workspace/marker; id -un; cat'],
          user: 'root',
          env: { GREETING: 'kept in the snapshot' },
          stdin: 'from stdin',
        },
      }),
    );
    expect(root).toMatchObject({ exitCode: 0, stdout: 'root\nfrom stdin' });
    const slow = await must(
      provider<{ exitCode: number; timedOut: boolean }>('exec', {
        ref,
        input: { operationId: 'exec-3', command: ['sleep', '30'], timeoutSeconds: 1 },
      }),
    );
    expect(slow).toMatchObject({ exitCode: 124, timedOut: true });
    // The streamed output stays readable for followers (live build logs).
    const output = await must(
      provider<Array<{ seq: number; stream: string; data: string }>>('execOutput', {
        ref,
        input: { operationId: 'exec-1' },
      }),
    );
    expect(output.map((o) => `${o.stream}:${o.data}`).join('')).toContain('stderr:oops');
    const later = await must(
      provider<unknown[]>('execOutput', {
        ref,
        input: { operationId: 'exec-1', afterSeq: output.at(-1)?.seq },
      }),
    );
    expect(later).toEqual([]);
  });

  it('snapshots with docker commit, and a new sandbox starts from the snapshot', async () => {
    const snapshotId = newId('snapshot');
    const snap = await must(
      provider<{ imageRef: string }>('snapshot', { ref, input: { operationId: 'snap', snapshotId } }),
    );
    expect(snap.imageRef).toMatch(/^sha256:/);
    const again = await must(
      provider<{ imageRef: string }>('snapshot', { ref, input: { operationId: 'snap', snapshotId } }),
    );
    expect(again.imageRef).toBe(snap.imageRef);
    const imageInfo = await docker.getImage(snap.imageRef).inspect();
    expect(imageInfo.RepoTags).toContain(`airlock/snapshot:${snapshotId}`);
    expect(imageInfo.Config.Cmd ?? []).toEqual([]);
    expect(imageInfo.Config.Labels).toMatchObject({
      'airlock.snapshot': snapshotId,
      'airlock.runner': t.runner.runnerId,
    });

    const child = newId('session');
    const childRef = await must(
      provider<Ref>('create', {
        input: {
          operationId: 'create',
          orgId: t.runner.orgId,
          sandboxId: child,
          image: snap.imageRef,
          resources: { cpus: 0.5, memoryMb: 256, pids: 100, diskMb: 512 },
          command: ['sleep', 'infinity'],
        },
      }),
    );
    await must(provider('start', { ref: childRef, input: { operationId: 'start' } }));
    const marker = await must(
      provider<{ stdout: string }>('exec', {
        ref: childRef,
        input: { operationId: 'read', command: ['cat', '/workspace/marker'] },
      }),
    );
    expect(marker.stdout).toBe('kept in the snapshot\n');
    const childInfo = await docker.getContainer(childRef.externalId ?? '').inspect();
    // No tunnel asked for: no socket, no way out at all.
    expect(childInfo.Mounts.map((m) => m.Destination)).not.toContain('/run/airlock/gateway');
    // The captured home and workspace came back with their owner: the user can write there.
    const owner = await must(
      provider<{ stdout: string }>('exec', {
        ref: childRef,
        input: { operationId: 'owner', command: ['stat', '-c', '%U %a', '/home/sandbox', '/workspace'] },
      }),
    );
    expect(owner.stdout).toBe('sandbox 755\nsandbox 755\n');
    await must(provider('destroy', { ref: childRef, input: { operationId: 'destroy' } }));
  });

  it('stops and destroys; destroying again is harmless', async () => {
    const stopped = await must(
      provider<{ exitCode: number | null }>('stop', { ref, input: { operationId: 'stop', graceSeconds: 1 } }),
    );
    expect(stopped.exitCode).not.toBeNull();
    expect(await must(provider('status', { ref }))).toMatchObject({ state: 'exited' });
    await must(provider('destroy', { ref, input: { operationId: 'destroy' } }));
    await must(provider('destroy', { ref, input: { operationId: 'destroy-again' } }));
    expect(await containersOf(t.runner.runnerId)).toEqual([]);
    expect(existsSync(join(t.proc.stateDir, 'sandboxes', sessionId))).toBe(false);
    // Its disk is unmounted and deleted, its volumes removed.
    expect(readdirSync(join(t.proc.stateDir, 'disks'))).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(sessionId);
    expect(
      (await docker.listVolumes({ filters: { label: [`airlock.sandbox=${sessionId}`] } })).Volumes,
    ).toEqual([]);
    expect(await must(provider('status', { ref }))).toMatchObject({ state: 'destroyed' });
  });
});
