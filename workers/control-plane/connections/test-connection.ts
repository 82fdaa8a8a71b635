import { allowsPlainHttp } from '@airlock/config';
import { brokeredHead } from '@airlock/durable-objects/session-gateway/inject';
import { ConnectionTestResult, PathId } from '@airlock/schema/api';
import {
  connectionRoutes,
  findRoute,
  type IntegrationDefinition,
  integrationByKey,
  isEncryptedUrl,
  PLAIN_HTTP_REFUSED,
  type Probe,
  RouteBuildError,
  serviceAddress,
} from '@airlock/schema/plan';
import type { Env } from '../../lib/env.ts';
import { ProblemError } from '../../lib/problem.ts';
import { recordAudit } from '../audit/record.ts';
import { createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { findConnection } from './routes.ts';

// "Test connection": one cheap authenticated call (the integration's probe)
// sent exactly as a sandbox request on the connection's own route would be
// brokered — the broker resolves the credential, the gateway's pure
// `brokeredHead` places it, the route's upstream (with any base-URL override)
// receives it. The answer says what was called and how it went; it never
// carries the credential or the upstream's body.

const TIMEOUT_MS = 10_000;

type Outcome = Omit<ConnectionTestResult, 'durationMs'>;

interface Target {
  readonly host: string;
  readonly path: string;
}

/** Where the sandbox would send the probe: the catalog host, or the overridden service. */
function probeTarget(def: IntegrationDefinition, probe: Probe, config: Record<string, unknown>): Target {
  const address = serviceAddress(def, { id: 'con_probe', integration: def.key, status: 'active', config });
  const onService =
    def.override !== 'upstream' && address !== undefined && (address.overridden || !probe.host);
  if (onService) return { host: address.host, path: `${address.basePath}${probe.servicePath ?? probe.path}` };
  return { host: probe.host ?? '', path: probe.path };
}

const withoutQuery = (url: URL) => `${url.origin}${url.pathname}`;

async function runProbe(
  env: Env,
  orgId: string,
  connection: { id: string; status: 'active' | 'error' | 'revoked'; config: Record<string, unknown> },
  def: IntegrationDefinition,
  probe: Probe,
  allowPlainHttp: boolean,
): Promise<Outcome> {
  const target = probeTarget(def, probe, connection.config);
  let request = `${probe.method} https://${target.host}${target.path.split('?')[0]}`;
  let routes: ReturnType<typeof connectionRoutes>;
  try {
    routes = connectionRoutes(def, { ...connection, integration: def.key });
  } catch (error) {
    if (!(error instanceof RouteBuildError)) throw error;
    return { ok: false, status: null, request, detail: error.message };
  }
  const route = findRoute(routes, {
    host: target.host,
    path: target.path.split('?')[0] ?? '/',
    method: probe.method,
  });
  if (route === undefined)
    return { ok: false, status: null, request, detail: 'no route of this connection covers the test call' };
  // As the plan compiler would refuse it: never resolve a credential for an unencrypted destination.
  if (!allowPlainHttp && !isEncryptedUrl(route.upstream.baseUrl))
    return {
      ok: false,
      status: null,
      request,
      detail: `not sent: ${new URL(route.upstream.baseUrl).origin} is plain http://; the base URL ${PLAIN_HTTP_REFUSED}`,
    };
  const credential = await env.BROKER.resolve({
    orgId,
    connectionId: connection.id,
    source: route.credential.source,
    field: route.credential.field,
    repositories: route.credential.repositories,
  });
  if (!credential.ok)
    return { ok: false, status: null, request, detail: `${credential.code}: ${credential.message}` };
  const head = brokeredHead(route, target.path, Object.entries(probe.headers ?? {}), credential.value);
  request = `${probe.method} ${withoutQuery(head.url)}`;
  let response: Response;
  try {
    response = await fetch(head.url, {
      method: probe.method,
      headers: head.headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    // The error text can name the URL, whose query may hold the credential: say only what kind.
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      ok: false,
      status: null,
      request,
      detail: timedOut
        ? `${head.url.host} did not answer within ${TIMEOUT_MS / 1000} s`
        : `could not reach ${head.url.host} (connection refused, DNS or TLS failure)`,
    };
  }
  const status = response.status;
  if (status < 200 || status >= 300) {
    await response.body?.cancel();
    const refused = status === 401 || status === 403;
    return {
      ok: false,
      status,
      request,
      detail: refused
        ? `${def.displayName} refused the credential (HTTP ${status})`
        : `${def.displayName} answered HTTP ${status}`,
    };
  }
  if (probe.expectJsonOk === true) {
    const body = (await response.json().catch(() => null)) as { ok?: unknown; error?: unknown } | null;
    if (body?.ok !== true) {
      const reason = typeof body?.error === 'string' ? body.error.slice(0, 80) : 'no reason given';
      return { ok: false, status, request, detail: `${def.displayName} said ok: false (${reason})` };
    }
  } else await response.body?.cancel();
  return { ok: true, status, request, detail: `${def.displayName} accepted the credential (HTTP ${status})` };
}

export const connectionTestRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'connections.manage' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/connections/{connectionId}/test',
      tags: ['connections'],
      summary: "Test a connection: one authenticated call through its own route (the integration's probe)",
      description:
        'Answers 200 with `ok: false` and a reason when the upstream refuses or cannot be reached; 409 when the integration has no probe.',
      request: { params: OrgParams.extend({ connectionId: PathId }) },
      responses: { 200: json(ConnectionTestResult, 'The outcome') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const row = await findConnection(scope.db(), member.orgId, c.req.valid('param').connectionId);
      const def = integrationByKey(row.integration);
      if (def?.probe === undefined)
        throw new ProblemError(
          'conflict',
          `${def?.displayName ?? row.integration} connections cannot be tested; start a session to try them.`,
        );
      const started = Date.now();
      const outcome = await runProbe(
        c.env,
        member.orgId,
        row,
        def,
        def.probe,
        allowsPlainHttp(scope.config()),
      );
      const result = { ...outcome, durationMs: Date.now() - started };
      await recordAudit(
        scope.db(),
        {
          orgId: member.orgId,
          action: 'connection.tested',
          principal: c.get('principal'),
          connectionId: row.id,
          targetId: row.id,
          detail: { ok: result.ok, status: result.status },
        },
        scope.now(),
      );
      return c.json(result, 200);
    },
  }),
];
