import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOG, type IntegrationDefinition } from './catalog.ts';
import type { PlanVersion } from './check.ts';
import { compileRuntimePlan } from './compile.ts';
import { PlanCompileError } from './errors.ts';
import { hostMatches, matchOverlaps } from './match.ts';
import { type PlanConnection, serviceAddress } from './routes.ts';
import { RuntimePlan } from './types.ts';

// Properties over random profiles: the compiler is deterministic, never
// emits two routes one request could match, and covers every host each bound
// connection brokers — or refuses with a coded error.

const BASE_URLS = [
  'https://a.example',
  'https://a.example/x',
  'https://a.example:8443',
  'https://b.example/api',
  'https://api.openai.com',
  'http://127.0.0.1:9000',
];

const configFor = (def: IntegrationDefinition, baseUrl: string | undefined): Record<string, string> => {
  const config: Record<string, string> = {};
  for (const field of def.configFields) {
    if (field.name === 'base_url') {
      if (baseUrl !== undefined) config.base_url = baseUrl;
    } else if (field.options !== undefined) config[field.name] = field.options[0] ?? '';
    else if (field.name === 'email') config.email = 'bot@example.com';
    else if (field.name === 'target') config.target = 'X-Api-Key';
    else config[field.name] = '42';
  }
  if (def.override === 'required' && config.base_url === undefined) config.base_url = 'https://c.example';
  return config;
};

const connectionArb = (index: number, defs: readonly IntegrationDefinition[] = CATALOG) =>
  fc
    .record({
      def: fc.constantFrom(...defs),
      baseUrl: fc.option(fc.constantFrom(...BASE_URLS), { nil: undefined }),
    })
    .map(
      ({ def, baseUrl }): PlanConnection => ({
        id: `con_01JD0000000000000000000${String(index).padStart(3, '0')}`,
        integration: def.key,
        status: 'active',
        config: configFor(def, baseUrl),
      }),
    );

const MODELS = CATALOG.filter((d) => d.kind === 'model');
const GITS = CATALOG.filter((d) => d.kind === 'git');

// Mostly valid profiles (a model connection first, git connections offered),
// with enough shared hosts that conflicts happen too.
const inputArb = fc
  .integer({ min: 0, max: 5 })
  .chain((n) =>
    fc.tuple(
      connectionArb(900, MODELS),
      fc.option(connectionArb(901, GITS), { nil: undefined }),
      fc.tuple(...Array.from({ length: n }, (_, i) => connectionArb(i))),
    ),
  )
  .chain(([model, git, others]) => {
    const connections = [model, ...(git === undefined ? [] : [git]), ...others];
    const modelApi = MODELS.find((d) => d.key === model.integration)?.modelApi;
    return fc
      .record({
        runtime: fc.constantFrom(
          ...(modelApi === 'openai'
            ? (['codex', 'opencode'] as const)
            : (['claude-code', 'opencode'] as const)),
        ),
        connectors: fc.subarray(others),
        allow: fc.subarray(['packages.example.com', '*.cdn.example.net', 'c.example', '*.example']),
        repos: fc.subarray(['acme/web', 'acme/api', 'other/tool']),
      })
      .map(({ runtime, connectors, allow, repos }) => {
        const version: PlanVersion = {
          id: 'prv_01JD0000000000000000000000',
          orgId: 'org_01JD0000000000000000000000',
          profileId: 'prf_01JD0000000000000000000000',
          number: 1,
          status: 'published',
          agentRuntime: runtime,
          modelConnectionId: model.id,
          gitConnectionId: git?.id ?? null,
          repositories: git === undefined ? [] : repos.map((repository) => ({ repository })),
          connectorBindings: connectors.map((c) => ({ connectionId: c.id })),
          egressAllowlist: allow,
        };
        return { version, connections };
      });
  });

function outcome(run: () => unknown): unknown {
  try {
    return { ok: JSON.stringify(run()) };
  } catch (error) {
    if (error instanceof PlanCompileError) return { error: error.code, issues: error.issues };
    throw error;
  }
}

/** Hosts a bound connection brokers, computed from the catalog independently of the compiler. */
function brokeredHosts(connection: PlanConnection): string[] {
  const def = CATALOG.find((d) => d.key === connection.integration);
  if (def === undefined) return [];
  const address = serviceAddress(def, connection);
  if (def.override === 'upstream' || address?.overridden !== true) return def.routes.flatMap((r) => r.hosts);
  return [address.host];
}

describe('compileRuntimePlan properties', () => {
  it('gives the same plan (or the same error) whatever the input order', () => {
    fc.assert(
      fc.property(inputArb, ({ version, connections }) => {
        const a = outcome(() => compileRuntimePlan({ version, connections, allowPlainHttp: true }));
        const b = outcome(() =>
          compileRuntimePlan({ version, connections: [...connections].reverse(), allowPlainHttp: true }),
        );
        expect(b).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });

  it('never emits overlapping routes, and covers every brokered host of every binding', () => {
    let compiled = 0;
    let conflicts = 0;
    fc.assert(
      fc.property(inputArb, ({ version, connections }) => {
        let plan: RuntimePlan;
        try {
          plan = compileRuntimePlan({ version, connections, allowPlainHttp: true });
        } catch (error) {
          if (!(error instanceof PlanCompileError)) throw error;
          if (error.code === 'ROUTE_CONFLICT') conflicts++;
          expect(error.issues.length).toBeGreaterThan(0);
          return;
        }
        compiled++;
        expect(RuntimePlan.safeParse(plan).success).toBe(true);
        const routes = plan.egressRoutes;
        for (let i = 0; i < routes.length; i++)
          for (let j = i + 1; j < routes.length; j++) {
            const [a, b] = [routes[i], routes[j]];
            if (a && b) expect(matchOverlaps(a.match, b.match), `${a.id} vs ${b.id}`).toBe(false);
          }
        const bound = [
          version.modelConnectionId,
          version.gitConnectionId,
          ...version.connectorBindings.map((b) => b.connectionId),
        ].filter((id): id is string => id !== null);
        for (const id of bound) {
          const connection = connections.find((c) => c.id === id);
          if (connection === undefined) continue;
          for (const host of brokeredHosts(connection)) {
            const covering = routes.filter(
              (r) => r.credential.connectionId === id && r.match.hosts.some((h) => hostMatches(h, host)),
            );
            expect(covering.length, `${host} of ${id}`).toBeGreaterThan(0);
          }
        }
        for (const host of plan.passthrough)
          for (const route of routes)
            expect(route.match.hosts.some((h) => hostMatches(h, host.replace(/^\*\./, 'x.')))).toBe(false);
      }),
      { numRuns: 400 },
    );
    // The generator must exercise both outcomes, or the property proves little.
    expect(compiled).toBeGreaterThan(20);
    expect(conflicts).toBeGreaterThan(5);
  });
});
