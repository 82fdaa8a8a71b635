import { describeCatalog, IntegrationList } from '@airlock/schema/api';
import { createRoute, defineRoute, json } from '../route.ts';

export const integrationRoutes = [
  defineRoute({
    access: { kind: 'user' },
    route: createRoute({
      method: 'get',
      path: '/integrations',
      tags: ['integrations'],
      summary: 'The integration catalog: credential fields, brokered hosts, injection',
      responses: { 200: json(IntegrationList, 'Every integration a connection can use') },
    }),
    handler: async (c) => c.json({ items: describeCatalog() }, 200),
  }),
];
