import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../lib/context.ts';

// The control-plane API under /api. Resource routes are added per folder
// (auth/, orgs/, connections/, profiles/, sessions/, …); every route is typed
// by schemas from schema/api and listed in the OpenAPI document.

export function controlPlane(): OpenAPIHono<AppEnv> {
  const api = new OpenAPIHono<AppEnv>();
  api.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Airlock API',
      version: '0.1.0',
      description: 'Control plane for credentialless agent sandboxes.',
    },
  });
  return api;
}
