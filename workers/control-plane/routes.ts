import { auditRoutes } from './audit/routes.ts';
import { deviceRoutes } from './auth/device-routes.ts';
import { authRoutes } from './auth/routes.ts';
import { connectionRoutes } from './connections/routes.ts';
import { connectionTestRoutes } from './connections/test-connection.ts';
import { integrationRoutes } from './integrations/routes.ts';
import { quotaRoutes } from './orgs/quota.ts';
import { orgRoutes } from './orgs/routes.ts';
import { profileRoutes } from './profiles/routes.ts';
import { setupTestRoutes } from './profiles/setup-test.ts';
import type { ApiRoute } from './route.ts';
import { runnerRoutes } from './runners/routes.ts';
import { ptyTokenRoutes } from './sessions/pty-token.ts';
import { sessionRoutes } from './sessions/routes.ts';
import { terminalRoutes } from './sessions/terminals.ts';
import { turnRoutes } from './sessions/turns.ts';
import { snapshotRoutes } from './snapshots/routes.ts';
import { triggerDeliveryRoutes } from './triggers/deliveries.ts';
import { triggerRoutes } from './triggers/routes.ts';

// The one table of control-plane routes. The app registers these (with their
// access rules), the OpenAPI document lists them, and the authorization
// matrix test iterates them — a route cannot be added without all three.

export const API_ROUTES: readonly ApiRoute[] = [
  ...authRoutes,
  ...deviceRoutes,
  ...integrationRoutes,
  ...orgRoutes,
  ...connectionRoutes,
  ...connectionTestRoutes,
  ...profileRoutes,
  ...setupTestRoutes,
  ...snapshotRoutes,
  ...sessionRoutes,
  ...ptyTokenRoutes,
  ...terminalRoutes,
  ...turnRoutes,
  ...runnerRoutes,
  ...quotaRoutes,
  ...triggerRoutes,
  ...triggerDeliveryRoutes,
  ...auditRoutes,
];
