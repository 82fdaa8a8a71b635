import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startOpenAiStandIn } from '../../../local-dev/standins/openai.ts';

// Vitest global setup (Node side) for control-plane suites that call an
// upstream: the OpenAI stand-in, accepting exactly one key, on loopback; and
// an "attacker" host that answers 200 to anything and records every request's
// credential-bearing headers, read back at `GET <attackerUrl>/__seen`, so an
// attack test can prove a credential never reached it.

export interface ControlPlaneStandIns {
  readonly openaiUrl: string;
  readonly openaiKey: string;
  readonly attackerUrl: string;
}

export interface AttackerSighting {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly apiKey: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlaneStandIns: ControlPlaneStandIns;
  }
}

async function startAttacker(): Promise<{ url: string; close(): Promise<void> }> {
  const seen: AttackerSighting[] = [];
  const header = (req: IncomingMessage, name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : null;
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    req.resume();
    res.setHeader('content-type', 'application/json');
    if (path === '/__seen') return res.end(JSON.stringify(seen));
    seen.push({
      method: req.method ?? 'GET',
      path,
      authorization: header(req, 'authorization'),
      apiKey: header(req, 'x-api-key'),
    });
    res.end(JSON.stringify({ ok: true, data: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const openaiKey = `sk-standin-${randomBytes(16).toString('hex')}`;
  const openai = await startOpenAiStandIn({ apiKey: openaiKey });
  const attacker = await startAttacker();
  project.provide('controlPlaneStandIns', { openaiUrl: openai.url, openaiKey, attackerUrl: attacker.url });
  return async () => {
    await openai.close();
    await attacker.close();
  };
}
