import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '../../../runner/images/build.ts';
import { ROUTES } from './control-api.ts';
import { type E2bStandIn, startE2bStandIn } from './index.ts';
import { loadOpenApiShapes, type OpenApiShapes } from './openapi-shapes.ts';

// The stand-in's control API against E2B's OpenAPI document as the installed
// e2b package ships it: every route it serves exists there with that method,
// every status it answers is one the operation declares, and every JSON body
// has the schema's required fields and no field the schema lacks. A route
// E2B drops or renames, or a field it makes required, fails this test.

let standIn: E2bStandIn;
let spec: OpenApiShapes;

beforeAll(async () => {
  await ensureBaseImage({ progress: () => {} });
  spec = loadOpenApiShapes();
  standIn = await startE2bStandIn({ tag: 'oas' });
}, 120_000);
afterAll(() => standIn?.close());

/** Call the API raw, then check the answer against the operation the route names. */
async function call(
  route: (typeof ROUTES)[number],
  path: string,
  init: RequestInit = {},
  apiKey = standIn.apiKey,
) {
  const response = await fetch(`${standIn.apiUrl}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, ...init.headers },
  });
  const text = await response.text();
  const body: unknown = text === '' ? undefined : JSON.parse(text);
  const operation = spec.operations.get(route);
  expect(operation, `${route} is in E2B's OpenAPI document`).toBeDefined();
  expect([...(operation?.statuses ?? [])], `${route} declares ${response.status}`).toContain(response.status);
  const schemaName = response.ok ? operation?.body : { schema: 'Error', array: false };
  if (schemaName != null && body !== undefined) {
    const schema = spec.schemas.get(schemaName.schema);
    expect(schema, `schema ${schemaName.schema}`).toBeDefined();
    const items = schemaName.array ? (body as unknown[]) : [body];
    for (const item of items) {
      const keys = Object.keys(item as object);
      for (const required of schema?.required ?? [])
        expect(keys, `${route}: ${schemaName.schema}.${required}`).toContain(required);
      for (const key of keys)
        expect([...(schema?.properties ?? [])], `${route}: ${schemaName.schema} has ${key}`).toContain(key);
    }
  }
  return { status: response.status, body: body as Record<string, unknown> };
}

describe(`E2B stand-in conformance to the OpenAPI document in the e2b package`, () => {
  it('serves only routes and methods the document has', () => {
    expect(spec.operations.size).toBeGreaterThan(20);
    for (const route of ROUTES) expect(spec.operations.has(route), route).toBe(true);
  });

  it('answers every route with declared statuses and schema-conformant bodies', async () => {
    expect(
      (
        await call(
          'POST /v2/sandboxes',
          '/v2/sandboxes',
          { method: 'POST', body: '{"templateID":"airlock-base"}' },
          'e2b_wrong',
        )
      ).status,
    ).toBe(401);
    expect(
      (await call('POST /v2/sandboxes', '/v2/sandboxes', { method: 'POST', body: '{"templateID":"nope"}' }))
        .status,
    ).toBe(400);
    const created = await call('POST /v2/sandboxes', '/v2/sandboxes', {
      method: 'POST',
      body: JSON.stringify({
        templateID: 'airlock-base',
        timeout: 60,
        metadata: { conformance: '1' },
        network: { allowOut: ['gateway.example'], denyOut: ['0.0.0.0/0'] },
      }),
    });
    expect(created.status).toBe(201);
    const id = String(created.body.sandboxID);
    await call('GET /v2/sandboxes', '/v2/sandboxes?metadata=conformance%3D1');
    await call('GET /sandboxes', '/sandboxes');
    await call('GET /sandboxes/{sandboxID}', `/sandboxes/${id}`);
    expect((await call('GET /sandboxes/{sandboxID}', '/sandboxes/nope')).status).toBe(404);
    await call('POST /sandboxes/{sandboxID}/timeout', `/sandboxes/${id}/timeout`, {
      method: 'POST',
      body: '{"timeout":120}',
    });
    await call('POST /sandboxes/{sandboxID}/pause', `/sandboxes/${id}/pause`, { method: 'POST' });
    await call('POST /sandboxes/{sandboxID}/resume', `/sandboxes/${id}/resume`, {
      method: 'POST',
      body: '{}',
    });
    await call('POST /sandboxes/{sandboxID}/connect', `/sandboxes/${id}/connect`, {
      method: 'POST',
      body: '{"timeout":60}',
    });
    await call('POST /v2/sandboxes/{sandboxID}/connect', `/v2/sandboxes/${id}/connect`, {
      method: 'POST',
      body: '{}',
    });
    const snapshot = await call('POST /sandboxes/{sandboxID}/snapshots', `/sandboxes/${id}/snapshots`, {
      method: 'POST',
      body: '{}',
    });
    await call('GET /templates', '/templates');
    const template = String(snapshot.body.snapshotID).split(':')[0];
    await call('GET /templates/{templateID}', `/templates/${template}`);
    expect(
      (await call('DELETE /templates/{templateID}', `/templates/${template}`, { method: 'DELETE' })).status,
    ).toBe(204);
    expect(
      (await call('DELETE /sandboxes/{sandboxID}', `/sandboxes/${id}`, { method: 'DELETE' })).status,
    ).toBe(204);
    expect(
      (await call('DELETE /sandboxes/{sandboxID}', `/sandboxes/${id}`, { method: 'DELETE' })).status,
    ).toBe(404);
    expect(await standIn.containers()).toEqual([]);
  });
});
