import { Hono } from 'hono';
import type { AppEnv } from '../lib/context.ts';
import { ProblemError } from '../lib/problem.ts';

// WebSocket ingress: sandbox tunnels, terminal clients and runners. Tokens are
// checked here, before any Durable Object is touched; the SessionGateway and
// RunnerHub objects own everything after the upgrade.

function requireUpgrade(header: string | undefined): void {
  if (header?.toLowerCase() !== 'websocket') {
    throw new ProblemError('upgrade_required', 'This endpoint speaks WebSocket only.', {
      headers: { upgrade: 'websocket' },
    });
  }
}

export function edge(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  for (const [path, owner] of [
    ['/tunnel/:sessionId', 'the SessionGateway tunnel'],
    ['/pty/:sessionId', 'the SessionGateway terminal'],
    ['/runner/connect', 'the RunnerHub'],
  ] as const) {
    app.all(path, (c) => {
      requireUpgrade(c.req.header('upgrade'));
      throw new ProblemError('not_implemented', `${owner} is not served by this build yet.`);
    });
  }
  return app;
}
