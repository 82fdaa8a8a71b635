import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../lib/context.ts';
import { ProblemError } from '../lib/problem.ts';
import { accessMiddleware } from './access.ts';
import { limitBody, refuseNul, requireBody } from './body-checks.ts';
import type { ApiEnv } from './env.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { problemResponses, takesBody } from './route.ts';
import { API_ROUTES } from './routes.ts';

// The control-plane API under /api. Every route comes from the registry in
// routes.ts, is guarded by its access rule, validated by its schemas from
// schema/api, and listed in the OpenAPI 3.1 document at /api/openapi.json.

export function controlPlane(): OpenAPIHono<AppEnv> {
  const api = new OpenAPIHono<ApiEnv>({
    // Schema failures become 422 problem+json listing every field at fault.
    defaultHook: (result) => {
      if (result.success) return;
      const prefix = result.target === 'json' ? '' : `${result.target === 'param' ? 'path' : result.target}.`;
      const errors = result.error.issues.map((issue) => ({
        path: `${prefix}${issue.path.map(String).join('.')}`.replace(/\.$/, ''),
        message: issue.message,
        code: issue.code,
      }));
      throw new ProblemError(
        'validation_failed',
        errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('; '),
        { extensions: { errors } },
      );
    },
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: 'airlock_session',
    description:
      'The login session cookie set by POST /api/auth/otp/verify (name per auth.session.cookie_name).',
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'token', {
    type: 'http',
    scheme: 'bearer',
    description: "An API token (alk_…) created in an org; it acts with its creator's role in that org only.",
  });
  for (const spec of API_ROUTES) {
    const security =
      spec.access.kind === 'public'
        ? []
        : spec.access.sessionOnly === true
          ? [{ session: [] }]
          : [{ session: [] }, { token: [] }];
    api.openapi(
      {
        ...spec.route,
        security,
        responses: { ...spec.route.responses, ...problemResponses(spec) },
        middleware: [
          ...(takesBody(spec.route) ? [limitBody] : []),
          ...(spec.route.request?.body?.required === true ? [requireBody] : []),
          accessMiddleware(spec.access),
          ...(takesBody(spec.route) ? [refuseNul] : []),
        ],
      },
      spec.handler as never,
    );
  }
  methodNotAllowed(api, API_ROUTES);
  api.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'Airlock API',
      version: '0.1.0',
      description:
        'Control plane for credentialless agent sandboxes. Errors are RFC 9457 problem+json. Org resources live under /api/orgs/{orgId}; an org you do not belong to answers 404.',
    },
    servers: [{ url: `${c.get('scope').config().services.public_url.replace(/\/$/, '')}/api` }],
  }));
  return api as unknown as OpenAPIHono<AppEnv>;
}
