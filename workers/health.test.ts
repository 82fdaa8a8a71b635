import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.ts';

// /healthz reports each dependency; the body must name what is broken.

interface HealthBody {
  status: string;
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
}

function context(): ExecutionContext {
  return {
    waitUntil: () => {},
    passThroughOnException: () => {},
    props: {},
    exports: {},
  } as unknown as ExecutionContext;
}

describe('GET /healthz', () => {
  it('is green when Postgres and Redis answer', async () => {
    const response = await exports.default.fetch('http://airlock.test/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    const body = (await response.json()) as HealthBody;
    expect(body.status).toBe('ok');
    expect(body.checks.postgres?.ok).toBe(true);
    expect(body.checks.redis?.ok).toBe(true);
  });

  it('answers 503 naming Redis when the Redis endpoint fails', async () => {
    // Any HTTP server that is not a Redis REST endpoint will do: the Postgres proxy answers 426.
    const broken = { ...env, AIRLOCK_KV_REST_URL: `http://${env.AIRLOCK_DATABASE_WS_PROXY}` };
    const response = await createApp().fetch(new Request('http://airlock.test/healthz'), broken, context());
    expect(response.status).toBe(503);
    const body = (await response.json()) as HealthBody;
    expect(body.status).toBe('degraded');
    expect(body.checks.postgres?.ok).toBe(true);
    expect(body.checks.redis?.ok).toBe(false);
    expect(body.checks.redis?.error).toBeTruthy();
  });

  it('answers 500 problem+json listing configuration problems without leaking secrets', async () => {
    const broken = { ...env, AIRLOCK_AUTH_PEPPER: 'short-secret', AIRLOCK_SANDBOX_PROVIDER: 'k8s' };
    const response = await createApp().fetch(new Request('http://airlock.test/healthz'), broken, context());
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const text = await response.text();
    expect(text).not.toContain('short-secret');
    const body = JSON.parse(text) as { code: string; problems: string[] };
    expect(body.code).toBe('misconfigured');
    expect(body.problems).toEqual([
      'auth.pepper: expected at least 32 characters, got a hidden value of 12 characters (from env AIRLOCK_AUTH_PEPPER)',
      'sandbox.provider: expected one of "docker" | "e2b" | "modal", got "k8s" (from env AIRLOCK_SANDBOX_PROVIDER)',
    ]);
  });
});

describe('routing', () => {
  it('answers unknown API paths with problem+json and the request id', async () => {
    const response = await exports.default.fetch('http://airlock.test/api/nope', {
      headers: { 'x-request-id': 'test-request-0001' },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({
      code: 'not_found',
      status: 404,
      requestId: 'test-request-0001',
      instance: '/api/nope',
    });
  });

  it('asks for a WebSocket upgrade on tunnel paths', async () => {
    const response = await exports.default.fetch('http://airlock.test/tunnel/ses_x');
    expect(response.status).toBe(426);
    expect(response.headers.get('upgrade')).toBe('websocket');
  });

  it('serves the OpenAPI document', async () => {
    const response = await exports.default.fetch('http://airlock.test/api/openapi.json');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ openapi: '3.1.0', info: { title: 'Airlock API' } });
  });
});
