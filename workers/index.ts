import { createApp } from './app.ts';
import { loadConfig } from './lib/context.ts';
import { openDb } from './lib/db.ts';
import type { Env } from './lib/env.ts';
import { createLogger, safeErrorMessage } from './lib/log.ts';
import { sweepRemoteOrphans } from './lifecycle/remote-orphans.ts';
import { sweepSessions } from './lifecycle/sweep.ts';
import { runScheduler } from './triggers/scheduler.ts';

// The one Worker: HTTP routing, the Durable Object classes, the Workflows and
// the cron entry all leave from here.

export { ConnectionTokens } from '@airlock/durable-objects/connection-tokens';
export { OrgLimiter } from '@airlock/durable-objects/org-limiter';
export { RunnerHub } from '@airlock/durable-objects/runner-hub';
export { SessionGateway } from '@airlock/durable-objects/session-gateway';
export { Broker } from './broker/index.ts';
export { ControlPlaneInternal } from './internal/control-plane-internal.ts';
export { SessionLifecycleWorkflow } from './workflows/session-lifecycle.ts';
export { SnapshotBuildWorkflow } from './workflows/snapshot-build.ts';
export { TriggerRunWorkflow } from './workflows/trigger-run.ts';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  async scheduled(controller, env) {
    createLogger({ cron: controller.cron }).debug('cron tick', { scheduledTime: controller.scheduledTime });
    const config = loadConfig(env);
    const handle = openDb(config);
    try {
      // Due schedule ticks, claimed exactly once even when invocations overlap (ADR 0142).
      await runScheduler({ env, db: handle.db, config }, new Date()).catch((error: unknown) =>
        createLogger({ cron: controller.cron }).error('scheduler failed', { error: safeErrorMessage(error) }),
      );
      // Sessions whose lifecycle died without finishing (ADR 0035).
      await sweepSessions({ env, db: handle.db, config }, new Date(controller.scheduledTime));
      // Sandboxes at remote providers whose owner is no longer live (issue 15).
      await sweepRemoteOrphans({ env, db: handle.db, config });
    } finally {
      await handle.end().catch(() => {});
    }
  },
} satisfies ExportedHandler<Env>;
