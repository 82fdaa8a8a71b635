import { Hono } from 'hono';
import type { AppEnv } from '../lib/context.ts';
import { ProblemError } from '../lib/problem.ts';
import { ptyIngress, tunnelIngress } from './session-ingress.ts';

// WebSocket ingress: sandbox tunnels, terminal clients and runners. Tokens are
// checked here, before any Durable Object is touched; the SessionGateway and
// RunnerHub objects own everything after the upgrade.

export function edge(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/tunnel/:sessionId', tunnelIngress);
  app.get('/pty/:sessionId', ptyIngress);
  app.all('/runner/connect', (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
      throw new ProblemError('upgrade_required', 'This endpoint speaks WebSocket only.', {
        headers: { upgrade: 'websocket' },
      });
    throw new ProblemError('not_implemented', 'the RunnerHub is not served by this build yet.');
  });
  return app;
}
