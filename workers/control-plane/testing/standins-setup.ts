import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startOpenAiStandIn } from '../../../local-dev/standins/openai.ts';
import { startSlackStandIn } from '../../../local-dev/standins/slack.ts';

// Vitest global setup (Node side) for control-plane suites that call an
// upstream: the OpenAI stand-in, accepting exactly one key, on loopback; the
// Slack stand-in (Web API) with a few workspace members; and an "attacker"
// host that answers 200 to anything and records every request's
// credential-bearing headers, read back at `GET <attackerUrl>/__seen`, so an
// attack test can prove a credential never reached it.

export interface ControlPlaneStandIns {
  readonly openaiUrl: string;
  readonly openaiKey: string;
  readonly slackUrl: string;
  readonly slackToken: string;
  readonly attackerUrl: string;
}

export interface AttackerSighting {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly apiKey: string | null;
}

/** Slack members the stand-in knows: emails are filled in by tests that need a match. */
export const SLACK_USERS = [
  { id: 'U0VERIFIED', name: 'vera', email: 'vera@world.test', emailConfirmed: true },
  { id: 'U0UNCONFIRMED', name: 'mallory', email: 'mallory@world.test', emailConfirmed: false },
  { id: 'U0OUTSIDER', name: 'olga', email: 'olga@elsewhere.test', emailConfirmed: true },
  { id: 'U0NOEMAIL', name: 'nemo' },
] as const;

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
  const slack = await startSlackStandIn({ users: [...SLACK_USERS] });
  const attacker = await startAttacker();
  project.provide('controlPlaneStandIns', {
    openaiUrl: openai.url,
    openaiKey,
    slackUrl: slack.url,
    slackToken: slack.botToken,
    attackerUrl: attacker.url,
  });
  return async () => {
    await openai.close();
    await slack.close();
    await attacker.close();
  };
}
