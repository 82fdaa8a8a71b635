import type { ConnectionTokens } from '@airlock/durable-objects/connection-tokens';
import type { OrgLimiter } from '@airlock/durable-objects/org-limiter';
import type { RunnerHub } from '@airlock/durable-objects/runner-hub';
import type { SessionGateway } from '@airlock/durable-objects/session-gateway';
import type { BrokerRpc, ControlPlaneInternalRpc } from '@airlock/schema/gateway';
import type { RunnerEventSink } from '@airlock/schema/runner';

/** Bindings from wrangler.toml plus AIRLOCK_* vars and secrets (read through configFromWorkerEnv). */
export interface Env {
  readonly SESSION_GATEWAY: DurableObjectNamespace<SessionGateway>;
  readonly RUNNER_HUB: DurableObjectNamespace<RunnerHub>;
  readonly ORG_LIMITER: DurableObjectNamespace<OrgLimiter>;
  /** One per connection: single-flight minting of GitHub App / OAuth2 tokens. */
  readonly CONNECTION_TOKENS: DurableObjectNamespace<ConnectionTokens>;
  /** The credential broker: this Worker's `Broker` entrypoint, reachable only by binding. */
  // Typed by their contracts in schema/ (which the entrypoints implement), not by the entrypoint
  // classes: the ground floor does not import the building (no import circle).
  readonly BROKER: Fetcher & BrokerRpc;
  /** This Worker's internal RPC entrypoint, for Durable Objects (ADR 0030). */
  readonly CONTROL: Fetcher & ControlPlaneInternalRpc & RunnerEventSink;
  readonly SNAPSHOT_BUILD: Workflow;
  readonly SESSION_LIFECYCLE: Workflow;
  /** One instance per trigger delivery (named by its id): start, wait, report. */
  readonly TRIGGER_RUN: Workflow;
  readonly ASSETS: Fetcher;
  readonly [name: `AIRLOCK_${string}`]: string | undefined;
}
