import { Hono } from 'hono';
import worker from '../index.ts';
import { loadConfig } from '../lib/context.ts';
import { openDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { DockerRunnerProvider } from '../providers/docker.ts';
import { ProviderError, type SandboxRef } from '../providers/types.ts';

export * from '../index.ts';

// TEST ONLY — never deployed (wrangler.toml's `main` is workers/index.ts).
// The real Worker plus two things the runner's end-to-end tests need from
// outside workerd: a way to call the Docker provider (as the workflows will),
// and a stand-in for the gateway's `/tunnel/<sessionId>` that echoes what
// reached it, so a test can see bytes cross the runner's unix-socket relay.
// Started by runner/e2e with `wrangler dev workers/testing/runner-harness.ts`.

const harness = new Hono<{ Bindings: Env }>();

async function call(provider: DockerRunnerProvider, op: string, ref: SandboxRef | undefined, input: never) {
  if (op === 'create') return provider.create(input);
  if (ref === undefined) throw new ProviderError('invalid', `${op} needs a sandbox ref`);
  switch (op) {
    case 'start':
      return provider.start(ref, input);
    case 'stop':
      return provider.stop(ref, input);
    case 'destroy':
      return provider.destroy(ref, input);
    case 'snapshot':
      return provider.snapshot(ref, input);
    case 'exec':
      return provider.exec(ref, input);
    case 'status':
      return provider.status(ref);
    case 'execOutput':
      return provider.execOutput(ref, input);
    default:
      throw new ProviderError('invalid', `no provider operation ${op}`);
  }
}

harness.post('/runner/__test/provider/:op', async (c) => {
  const { ref, input } = (await c.req.json()) as { ref?: SandboxRef; input: never };
  const db = openDb(loadConfig(c.env));
  try {
    const provider = new DockerRunnerProvider({ hubs: c.env.RUNNER_HUB, db: db.db });
    return c.json({ ok: true, value: (await call(provider, c.req.param('op'), ref, input)) ?? null });
  } catch (error) {
    if (error instanceof ProviderError)
      return c.json({
        ok: false,
        error: { code: error.code, underlying: error.underlying, message: error.message },
      });
    throw error;
  } finally {
    c.executionCtx.waitUntil(db.end());
  }
});

harness.get('/runner/__test/hub/:runnerId', async (c) => {
  const hub = c.env.RUNNER_HUB.get(c.env.RUNNER_HUB.idFromName(c.req.param('runnerId')));
  return c.json(await hub.status());
});

/** Tunnel upgrades that reached this Worker, by session (one isolate under `wrangler dev`). */
const tunnelUpgrades = new Map<string, Array<Record<string, string | null>>>();

harness.get('/runner/__test/tunnel-upgrades/:sessionId', (c) =>
  c.json(tunnelUpgrades.get(c.req.param('sessionId')) ?? []),
);

harness.get('/tunnel/:sessionId', (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return c.text('upgrade to a WebSocket', 426);
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  const seen = {
    path: new URL(c.req.url).pathname,
    host: c.req.header('host') ?? null,
    authorization: c.req.header('authorization') ?? null,
  };
  const sessionId = c.req.param('sessionId');
  tunnelUpgrades.set(sessionId, [...(tunnelUpgrades.get(sessionId) ?? []), seen].slice(-20));
  // Text is echoed with what the request carried; binary (a real sandboxd's frames) is ignored.
  server.addEventListener('message', (event) => {
    if (typeof event.data === 'string') server.send(JSON.stringify({ ...seen, echo: event.data }));
  });
  return new Response(null, { status: 101, webSocket: client });
});

export default {
  fetch: (request, env, ctx) => {
    const path = new URL(request.url).pathname;
    // Session tunnels (`ses_…`) land on the echo stand-in; snapshot builds (`snp_…`) reach the
    // real gateway, so the build e2e runs the real SnapshotBuild workflow end to end.
    if (path.startsWith('/runner/__test/') || path.startsWith('/tunnel/ses_'))
      return harness.fetch(request, env, ctx);
    return worker.fetch(request, env, ctx);
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
