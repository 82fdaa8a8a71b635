import { Hono } from 'hono';
import type { AppEnv } from '../lib/context.ts';
import { runnerConnect } from './runner-connect.ts';
import { ptyIngress, tunnelIngress } from './session-ingress.ts';

// WebSocket ingress: sandbox tunnels, terminal clients and runners. Tokens are
// checked here, before any Durable Object is touched; the SessionGateway and
// RunnerHub objects own everything after the upgrade.

export function edge(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/runner/connect', runnerConnect);
  app.get('/tunnel/:sessionId', tunnelIngress);
  app.get('/pty/:sessionId', ptyIngress);
  return app;
}
