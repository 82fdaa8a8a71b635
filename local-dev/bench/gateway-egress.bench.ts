import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { BenchResult } from '../bench.ts';
import {
  applyPlan,
  createConnection,
  createSessionRows,
  startGatewayWorld,
  startSandboxd,
} from '../e2e/gateway-world.ts';
import { freePort, isListening, waitFor } from '../services/ports.ts';
import { startStack } from '../stack.ts';

// The egress path, measured against baselines in the same run on the same
// loopback upstream: a brokered request through sandboxd → tunnel → the
// SessionGateway under `wrangler dev` (credential injected) vs the upstream
// directly and vs a plain forward proxy (Debian's tinyproxy); and a 100 MB
// download through the gateway vs directly. Loops are bounded; loopback only.

const WARMUP = 20;
const REQUESTS = 300;
const DOWNLOAD_BYTES = 100 * 1024 * 1024;

interface Target {
  readonly agent: Agent;
  readonly host: string;
  readonly port: number;
  /** Origin-form for direct requests, absolute-form through a proxy. */
  readonly path: (p: string) => string;
  readonly hostHeader: string;
}

function get(target: Target, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent: target.agent,
        host: target.host,
        port: target.port,
        path: target.path(path),
        headers: { host: target.hostHeader },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve(bytes) : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function p50(target: Target): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await get(target, '/ok');
  const samples: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    await get(target, '/ok');
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return Number((samples[Math.floor(samples.length / 2)] ?? Number.NaN).toFixed(3));
}

async function throughput(target: Target): Promise<number> {
  const started = performance.now();
  const bytes = await get(target, `/bytes/${DOWNLOAD_BYTES}`);
  if (bytes !== DOWNLOAD_BYTES) throw new Error(`downloaded ${bytes} of ${DOWNLOAD_BYTES} bytes`);
  return Number((bytes / 1024 / 1024 / ((performance.now() - started) / 1000)).toFixed(1));
}

async function startTinyproxy(dir: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(
    conf,
    `Port ${port}\nListen 127.0.0.1\nTimeout 600\nMaxClients 100\nAllow 127.0.0.1\nLogLevel Error\n`,
  );
  const child = spawn('tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
  await waitFor('tinyproxy', () => isListening(port), 10_000);
  return { port, child };
}

export async function run(): Promise<BenchResult[]> {
  const stack = await startStack({ publicUrl: 'http://127.0.0.1:8787', env: {} });
  const world = await startGatewayWorld(stack).catch(async (error: unknown) => {
    await stack.stop();
    throw error;
  });
  let tinyproxy: ChildProcess | undefined;
  let sandbox: Awaited<ReturnType<typeof startSandboxd>> | undefined;
  try {
    const rows = await createSessionRows(world);
    const connectionId = await createConnection(world, rows.orgId, 'openai', {
      api_key: 'sk-bench-0000000000',
    });
    await applyPlan(world, rows, [
      {
        id: 'rt_bench',
        match: { hosts: ['api.example.com'], pathPrefixes: [], methods: [] },
        upstream: { baseUrl: world.upstream.httpUrl },
        inject: { kind: 'bearer', target: 'authorization' },
        credential: { source: 'secret', connectionId, field: 'api_key' },
        integration: 'openai',
      },
    ]);
    sandbox = await startSandboxd(world, rows);
    const proxy = await startTinyproxy(world.dir);
    tinyproxy = proxy.child;
    const upstream = new URL(world.upstream.httpUrl);
    const agent = () => new Agent({ keepAlive: true, maxSockets: 1 });
    const sandboxProxy = new URL(sandbox.proxy);
    const direct: Target = {
      agent: agent(),
      host: upstream.hostname,
      port: Number(upstream.port),
      path: (p) => p,
      hostHeader: upstream.host,
    };
    const viaTinyproxy: Target = {
      // tinyproxy closes client connections after each response; a new one per request.
      agent: new Agent({ keepAlive: false }),
      host: '127.0.0.1',
      port: proxy.port,
      path: (p) => `${world.upstream.httpUrl}${p}`,
      hostHeader: upstream.host,
    };
    const viaGateway: Target = {
      agent: agent(),
      host: sandboxProxy.hostname,
      port: Number(sandboxProxy.port),
      path: (p) => `http://api.example.com${p}`,
      hostHeader: 'api.example.com',
    };
    const directP50 = await p50(direct);
    const tinyP50 = await p50(viaTinyproxy);
    const gatewayP50 = await p50(viaGateway);
    const directMBs = await throughput(direct);
    const gatewayMBs = await throughput(viaGateway);
    return [
      {
        name: 'brokered GET through sandboxd + gateway (p50)',
        value: gatewayP50,
        unit: 'ms',
        baseline: directP50,
        baselineName: 'direct to the upstream',
      },
      {
        name: 'brokered GET through sandboxd + gateway (p50)',
        value: gatewayP50,
        unit: 'ms',
        baseline: tinyP50,
        baselineName: 'tinyproxy forward proxy',
      },
      {
        name: '100 MB download through sandboxd + gateway',
        value: gatewayMBs,
        unit: 'MB/s',
        baseline: directMBs,
        baselineName: 'direct download',
        higherIsBetter: true,
      },
    ];
  } finally {
    tinyproxy?.kill('SIGTERM');
    await sandbox?.stop();
    await world.stop();
    await stack.stop();
  }
}
