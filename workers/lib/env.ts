import type { OrgLimiter } from '@airlock/durable-objects/org-limiter';
import type { RunnerHub } from '@airlock/durable-objects/runner-hub';
import type { SessionGateway } from '@airlock/durable-objects/session-gateway';

/** Bindings from wrangler.toml plus AIRLOCK_* vars and secrets (read through configFromWorkerEnv). */
export interface Env {
  readonly SESSION_GATEWAY: DurableObjectNamespace<SessionGateway>;
  readonly RUNNER_HUB: DurableObjectNamespace<RunnerHub>;
  readonly ORG_LIMITER: DurableObjectNamespace<OrgLimiter>;
  readonly SNAPSHOT_BUILD: Workflow;
  readonly SESSION_LIFECYCLE: Workflow;
  readonly ASSETS: Fetcher;
  readonly [name: `AIRLOCK_${string}`]: string | undefined;
}
