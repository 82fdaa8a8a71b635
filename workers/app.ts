import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { controlPlane } from './control-plane/app.ts';
import { edge } from './edge/routes.ts';
import { health } from './health.ts';
import { type AppEnv, requestScope, type ScopeOptions } from './lib/context.ts';
import { safeErrorMessage } from './lib/log.ts';
import { ProblemError, problemBody, problemResponse } from './lib/problem.ts';
import { receiveHook } from './triggers/ingress/hook.ts';

// Routing by path. Everything not listed in wrangler.toml's
// assets.run_worker_first is served from the dashboard's static assets
// before this code runs.

export type AppOptions = ScopeOptions;

export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestScope(options));
  app.get('/healthz', health);
  app.route('/api', controlPlane());
  app.route('/', edge());
  // Webhook ingress (workers/triggers): public, signed by the sender, answered before any work.
  app.post('/hooks/:triggerId', receiveHook);
  app.all('/hooks/:triggerId', () => {
    throw new ProblemError('method_not_allowed', 'Webhooks are POSTed.', { headers: { allow: 'POST' } });
  });

  app.notFound((c) => {
    const scope = c.get('scope');
    const path = new URL(c.req.url).pathname;
    return problemResponse(
      problemBody('not_found', `Nothing is served at ${path}.`, {
        instance: path,
        requestId: scope.requestId,
      }),
    );
  });

  app.onError((error, c) => {
    const scope = c.get('scope');
    const path = new URL(c.req.url).pathname;
    if (error instanceof ProblemError) {
      return problemResponse(
        problemBody(error.code, error.message, {
          instance: path,
          requestId: scope.requestId,
          extensions: { ...error.extensions },
        }),
        { ...error.headers },
      );
    }
    if (error instanceof HTTPException && error.status < 500) {
      // Hono's own refusals (e.g. 415 from the OpenAPI validators).
      return problemResponse({
        ...problemBody('bad_request', error.message || 'The request was refused.', {
          instance: path,
          requestId: scope.requestId,
        }),
        status: error.status,
      });
    }
    scope.log.error('unhandled error', { error: safeErrorMessage(error), path });
    return problemResponse(
      problemBody('internal', 'Something went wrong on our side; the request id identifies it in the logs.', {
        instance: path,
        requestId: scope.requestId,
      }),
    );
  });
  return app;
}
