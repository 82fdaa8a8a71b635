import { env } from 'cloudflare:workers';
import { newId } from '@airlock/schema/ids';
import type { HubMessage, RunnerMessage, SandboxReport } from '@airlock/schema/runner';
import type { RunnerHub } from './index.ts';

// For the hub's tests: the runner's side of the protocol over a real
// WebSocket to the real Durable Object (the Node runner itself is exercised
// end to end in runner/e2e against `wrangler dev`).

export interface Peer {
  readonly ws: WebSocket;
  send(message: RunnerMessage): void;
  /** The next hub message of `type` (earlier ones of other types are kept). */
  next<T extends HubMessage['type']>(type: T, timeoutMs?: number): Promise<Extract<HubMessage, { type: T }>>;
  /** Every message of `type` received so far, oldest first, removed from the queue. */
  drain<T extends HubMessage['type']>(type: T): Array<Extract<HubMessage, { type: T }>>;
  closed: Promise<{ code: number; reason: string }>;
}

export function hubFor(runnerId: string): DurableObjectStub<RunnerHub> {
  return env.RUNNER_HUB.get(env.RUNNER_HUB.idFromName(runnerId));
}

export function ids() {
  return { runnerId: newId('runner'), orgId: newId('org') };
}

export const HOST = {
  hostname: 'test-host',
  platform: 'linux',
  arch: 'x64',
  kernel: '6.1',
  cpus: 2,
  memoryMb: 4096,
  dockerVersion: '20.10',
} as const;

export async function connect(
  stub: DurableObjectStub<RunnerHub>,
  who: { runnerId: string; orgId: string },
  timing: { heartbeatMs?: number; graceMs?: number } = {},
): Promise<Peer> {
  const response = await stub.fetch('http://hub/connect', {
    headers: {
      upgrade: 'websocket',
      'x-airlock-runner-id': who.runnerId,
      'x-airlock-org-id': who.orgId,
      'x-airlock-heartbeat-ms': String(timing.heartbeatMs ?? 15_000),
      'x-airlock-grace-ms': String(timing.graceMs ?? 60_000),
    },
  });
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) throw new Error(`upgrade failed: ${response.status}`);
  ws.accept();
  const queue: HubMessage[] = [];
  const waiting = new Set<() => void>();
  ws.addEventListener('message', (event) => {
    if (typeof event.data !== 'string' || event.data === '{"type":"pong"}') return;
    queue.push(JSON.parse(event.data) as HubMessage);
    for (const wake of waiting) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })),
  );
  const take = <T extends HubMessage['type']>(type: T) => {
    const index = queue.findIndex((m) => m.type === type);
    return index === -1 ? undefined : (queue.splice(index, 1)[0] as Extract<HubMessage, { type: T }>);
  };
  return {
    ws,
    closed,
    send: (message) => ws.send(JSON.stringify(message)),
    next: (type, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const found = take(type);
        if (found) return resolve(found);
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`no ${type} message within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          const message = take(type);
          if (!message) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve(message);
        };
        waiting.add(check);
      }),
    drain: (type) => {
      const out: Array<Extract<HubMessage, { type: typeof type }>> = [];
      for (let m = take(type); m; m = take(type)) out.push(m);
      return out;
    },
  };
}

export function hello(
  peer: Peer,
  report: { sandboxes?: SandboxReport[]; inFlight?: string[]; capacity?: number } = {},
): Promise<Extract<HubMessage, { type: 'welcome' }>> {
  peer.send({
    type: 'hello',
    protocol: 1,
    version: '0.1.0-test',
    capacity: report.capacity ?? 4,
    host: HOST,
    sandboxes: report.sandboxes ?? [],
    inFlight: report.inFlight ?? [],
  });
  return peer.next('welcome');
}

export const RESOURCES = { cpus: 1, memoryMb: 256, pids: 128, diskMb: 1024 } as const;

/** A runner that connected and said hello. */
export async function welcomed(
  options: { capacity?: number; heartbeatMs?: number; graceMs?: number } = {},
): Promise<{ who: { runnerId: string; orgId: string }; hub: DurableObjectStub<RunnerHub>; peer: Peer }> {
  const who = ids();
  const hub = hubFor(who.runnerId);
  const peer = await connect(hub, who, options);
  await hello(peer, options.capacity === undefined ? {} : { capacity: options.capacity });
  return { who, hub, peer };
}

/** A sandbox whose create the runner answered (the assign message is consumed). */
export async function created(
  hub: DurableObjectStub<RunnerHub>,
  peer: Peer,
  orgId: string,
  result: { containerId: string; state: 'created' | 'running' },
): Promise<{ id: string; sandboxId: string }> {
  const sandboxId = newId('session');
  const id = `${sandboxId}:create`;
  await hub.submit({
    id,
    kind: 'create',
    sandboxId,
    orgId,
    image: 'airlock/sandbox-base:latest',
    resources: RESOURCES,
  });
  await peer.next('assign');
  peer.send({ type: 'result', id, outcome: { ok: true, result: { kind: 'create', ...result } } });
  await hub.wait(id, 5000);
  return { id, sandboxId };
}
