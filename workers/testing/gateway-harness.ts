import worker from '../index.ts';
import type { Env } from '../lib/env.ts';

export * from '../index.ts';

// TEST ONLY — never deployed (wrangler.toml's `main` is workers/index.ts).
// The real Worker plus a door for the gateway's end-to-end tests and
// benchmarks (local-dev/e2e), which run a real sandboxd against `wrangler dev`
// and need to do what the session lifecycle will do over RPC: apply a plan,
// hand over the bootstrap jti, open terminals, run commands, end the session. Everything else (the tunnel,
// terminals, the API) is the production routing.
// Started with `wrangler dev workers/testing/gateway-harness.ts`.

// Under /api/ so wrangler's asset layer hands it to the Worker (run_worker_first).
const PREFIX = '/api/__test/gateway/';

async function call(env: Env, sessionId: string, op: string, input: unknown): Promise<Response> {
  const gateway = env.SESSION_GATEWAY.get(env.SESSION_GATEWAY.idFromName(sessionId));
  switch (op) {
    case 'apply-plan':
      return Response.json(await gateway.applyPlan(input as Parameters<typeof gateway.applyPlan>[0]));
    case 'expect-bootstrap':
      return Response.json(
        await gateway.expectBootstrap(input as Parameters<typeof gateway.expectBootstrap>[0]),
      );
    case 'state':
      return Response.json(await gateway.tunnelState());
    case 'await-tunnel':
      return Response.json(await gateway.awaitTunnel(30_000));
    case 'open-terminal':
      return Response.json(await gateway.openTerminal(input as Parameters<typeof gateway.openTerminal>[0]));
    case 'exec':
      return new Response(await gateway.exec(input as Parameters<typeof gateway.exec>[0]), {
        headers: { 'content-type': 'application/x-ndjson' },
      });
    case 'scrollback':
      return Response.json(await gateway.scrollback(String((input as { key?: string }).key ?? 'agent')));
    case 'signing-key':
      return Response.json(await gateway.signingPublicKey());
    case 'flush-audit':
      return Response.json(await gateway.flushAudit());
    case 'end':
      return Response.json(await gateway.endSession('ended by the test'));
    default:
      return new Response(`no operation ${op}`, { status: 404 });
  }
}

export default {
  fetch: async (request, env, ctx) => {
    const path = new URL(request.url).pathname;
    if (!path.startsWith(PREFIX)) return worker.fetch(request, env, ctx);
    const [sessionId = '', op = ''] = path.slice(PREFIX.length).split('/');
    const input = request.method === 'POST' ? await request.json() : {};
    return call(env, sessionId, op, input);
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>;
