import type { Config } from '@airlock/config';
import type { Attribution, SessionSettings, TunnelState } from '@airlock/schema/gateway';
import { CREDENTIAL_NAME, PLACEHOLDER_SECRET, type RuntimePlan } from '@airlock/schema/plan';
import type { SandboxPurpose, SandboxResources } from '@airlock/schema/runner';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { mintToken } from '../lib/tokens.ts';
import { providerFor, sandboxProvider, startupInput } from '../providers/index.ts';
import {
  ProviderError,
  type ProviderKind,
  type SandboxProvider,
  type SandboxRef,
} from '../providers/types.ts';

// A sandbox wired to its gateway, for the SessionLifecycle and SnapshotBuild
// workflows alike (ADR 0035): hand the gateway its plan, create the sandbox,
// start it with a freshly minted single-use bootstrap token (never persisted,
// never logged: it lives in this call and in the runner's stdin write), wait
// for sandboxd's tunnel. The token's `jti` is handed to the gateway before the
// token leaves this call: the gateway admits that `jti` and no other (ADR 0100). The gateway is keyed by the sandbox's owner: a
// session (`ses_…`) or a snapshot build (`snp_…`).
//
// Every provider call carries an operation id derived from `attempt`, so a
// Workflow step retried with the same input repeats the same operations and
// never makes a second sandbox.

export interface ProvisionDeps {
  readonly env: Env;
  readonly config: Config;
  readonly db: Database;
}

/** Resources as a profile version holds them. */
export type ProfileResources = Omit<SandboxResources, 'diskMb'> & { readonly diskMb?: number | undefined };

/** Exactly the fields a sandbox gets (a stored row may carry others), the disk default filled in. */
export function sandboxResources(profile: ProfileResources, config: Config): SandboxResources {
  return {
    cpus: profile.cpus,
    memoryMb: profile.memoryMb,
    pids: profile.pids,
    diskMb: profile.diskMb ?? config.sandbox.default_disk_mb,
  };
}

export interface ProvisionInput {
  readonly orgId: string;
  /** Keys the gateway and names the sandbox: a session (`ses_…`) or a snapshot build (`snp_…`). */
  readonly gatewayId: string;
  readonly plan: RuntimePlan;
  /** The plan's revision as the gateway sees it (1 at start). */
  readonly revision?: number;
  readonly attribution: Attribution;
  readonly settings: SessionSettings;
  /** Base image or a ready snapshot's `imageRef`. */
  readonly image: string;
  /** The profile's; a disk it does not set is `sandbox.default_disk_mb`. */
  readonly resources: ProfileResources;
  /** A session (default) or a snapshot build (ADR 0111: writable root filesystem). */
  readonly purpose?: SandboxPurpose;
  readonly provider: ProviderKind;
  /** E2B/Modal: the org's sandbox-provider connection (null: the deployment's keys). */
  readonly providerConnectionId?: string | null;
  /** Remote providers: the provider's own kill timer, past which it stops billing whatever happens here. */
  readonly lifetimeSeconds?: number;
  /** Names this attempt's operations (default `p1`): the same value repeats them, a new one starts over. */
  readonly attempt?: string;
  /** How long sandboxd may take to connect its tunnel (default 60 s). */
  readonly tunnelTimeoutMs?: number;
  /** How long to keep asking while no runner has room (default 60 s): runner rows update asynchronously. */
  readonly capacityWaitMs?: number;
  /** Once the sandbox exists, before it starts: persist the ref so teardown finds it whatever happens. */
  readonly onCreated?: (ref: SandboxRef) => Promise<void>;
}

export const PROVISION_FAILURES = [
  'gateway_refused',
  'secret_in_env',
  'no_capacity',
  'create_failed',
  'start_failed',
  'tunnel_timeout',
] as const;
export type ProvisionFailure = (typeof PROVISION_FAILURES)[number];

/** Why provisioning failed, in words fit for `failure_reason`; `ref` is set once a sandbox existed. */
export class ProvisionError extends Error {
  readonly code: ProvisionFailure;
  readonly ref: SandboxRef | null;
  constructor(code: ProvisionFailure, message: string, ref: SandboxRef | null = null) {
    super(message);
    this.name = 'ProvisionError';
    this.code = code;
    this.ref = ref;
  }
}

/**
 * The environment a sandbox gets: the plan's, which is non-secret by construction (placeholders
 * like `OPENAI_API_KEY=airlock-brokered`, base URLs, runtime settings). Checked again here, as
 * the last line before a container: a credential-named variable holding anything but the
 * placeholder is refused (by name only — the value is never echoed).
 */
export function sandboxEnv(plan: RuntimePlan): Record<string, string> {
  const offending = Object.entries(plan.env)
    .filter(([name, value]) => CREDENTIAL_NAME.test(name) && value !== PLACEHOLDER_SECRET)
    .map(([name]) => name);
  if (offending.length > 0)
    throw new ProvisionError(
      'secret_in_env',
      `The plan's environment sets ${offending.join(', ')} to something other than the placeholder; refusing to put it in a sandbox.`,
    );
  return { ...plan.env };
}

function gatewayOf(env: Env, gatewayId: string) {
  return env.SESSION_GATEWAY.get(env.SESSION_GATEWAY.idFromName(gatewayId));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function createWithBackoff(
  provider: SandboxProvider,
  input: Parameters<SandboxProvider['create']>[0],
  waitMs: number,
): Promise<SandboxRef> {
  const deadline = Date.now() + waitMs;
  let delay = 500;
  for (;;) {
    try {
      return await provider.create(input);
    } catch (error) {
      if (!(error instanceof ProviderError) || error.code !== 'no_capacity') throw error;
      if (Date.now() + delay > deadline)
        throw new ProvisionError(
          'no_capacity',
          `No sandbox capacity for ${Math.round(waitMs / 1000)} s: ${error.message}`,
        );
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/**
 * Plan → gateway, sandbox created and started with a bootstrap token, tunnel connected. On a
 * failure once the sandbox exists the error carries its `ref`: the caller tears it down (and ends
 * the gateway), as it does after a normal run.
 */
export async function provision(deps: ProvisionDeps, input: ProvisionInput): Promise<SandboxRef> {
  const attempt = input.attempt ?? 'p1';
  const env = sandboxEnv(input.plan);
  const gateway = gatewayOf(deps.env, input.gatewayId);
  const applied = await gateway.applyPlan({
    sessionId: input.gatewayId,
    revision: input.revision ?? 1,
    plan: input.plan,
    attribution: input.attribution,
    settings: input.settings,
  });
  if (!applied.ok)
    throw new ProvisionError('gateway_refused', `The gateway refused the plan: ${applied.message}`);

  let ref: SandboxRef;
  let provider: SandboxProvider;
  try {
    provider = await sandboxProvider(input.provider, deps, {
      orgId: input.orgId,
      connectionId: input.providerConnectionId ?? null,
    });
    ref = await createWithBackoff(
      provider,
      {
        operationId: `${attempt}.create`,
        orgId: input.orgId,
        sandboxId: input.gatewayId,
        image: input.image,
        resources: sandboxResources(input.resources, deps.config),
        ...(input.purpose === undefined ? {} : { purpose: input.purpose }),
        env,
        tunnelSessionId: input.gatewayId,
        ...(input.lifetimeSeconds === undefined ? {} : { lifetimeSeconds: input.lifetimeSeconds }),
      },
      input.capacityWaitMs ?? 60_000,
    );
  } catch (error) {
    if (error instanceof ProvisionError) throw error;
    throw new ProvisionError('create_failed', `Creating the sandbox failed: ${describe(error)}`);
  }
  await input.onCreated?.(ref);

  try {
    await startOnce(provider, gateway, ref, deps.config, input, attempt, env);
  } catch (error) {
    throw new ProvisionError('start_failed', `Starting the sandbox failed: ${describe(error)}`, ref);
  }

  const timeoutMs = input.tunnelTimeoutMs ?? 60_000;
  const state = await awaitTunnel(gateway, timeoutMs);
  if (state.state !== 'connected')
    throw new ProvisionError(
      'tunnel_timeout',
      `The sandbox did not connect to its gateway within ${Math.round(timeoutMs / 1000)} s (tunnel ${state.state}).`,
      ref,
    );
  return ref;
}

async function startOnce(
  provider: SandboxProvider,
  gateway: ReturnType<typeof gatewayOf>,
  ref: SandboxRef,
  config: Config,
  input: ProvisionInput,
  attempt: string,
  env: Record<string, string>,
): Promise<void> {
  const { token, jti, expiresAt } = await mintToken(config, 'bootstrap', {
    sub: input.gatewayId,
    org: input.orgId,
  });
  // Bound to this sandbox: the attempt names it (a retried step is the same sandbox, so a
  // re-minted token joins the first one's grant; a new attempt voids the old grants).
  const granted = await gateway.expectBootstrap({
    sessionId: input.gatewayId,
    orgId: input.orgId,
    jti,
    expiresAt,
    assignment: attempt,
  });
  if (!granted.ok) throw new Error(`the gateway refused the bootstrap grant: ${granted.message}`);
  try {
    await provider.start(ref, {
      operationId: `${attempt}.start`,
      startup: startupInput({
        sessionId: input.gatewayId,
        bootstrapToken: token,
        tunnel: provider.tunnelFor(input.gatewayId),
        env,
      }),
    });
  } catch (error) {
    // A retried step mints another token, so the same start is "other content": the first
    // attempt's start went through if the sandbox runs.
    if (error instanceof ProviderError && error.code === 'conflict') {
      const status = await provider.status(ref).catch(() => null);
      if (status?.state === 'running') return;
    }
    throw error;
  }
}

/** Wait for the tunnel in slices (one RPC may hold only so long). */
async function awaitTunnel(gateway: ReturnType<typeof gatewayOf>, timeoutMs: number): Promise<TunnelState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    const state = await gateway.awaitTunnel(Math.max(0, Math.min(left, 30_000)));
    if (state.state === 'connected' || state.state === 'ended' || Date.now() >= deadline) return state;
  }
}

/** End the gateway: the sandbox is told CLOSE SESSION_ENDED and nobody is let back in. */
export async function endGateway(env: Env, gatewayId: string, reason: string): Promise<void> {
  await gatewayOf(env, gatewayId).endSession(reason);
}

/**
 * Stop (gracefully, then forcibly) and destroy; a sandbox that is already gone, or whose runner
 * wrote it off, counts as torn down. Safe to repeat with the same `attempt`.
 */
export async function teardown(
  deps: ProvisionDeps,
  ref: SandboxRef,
  options: { attempt?: string; graceSeconds?: number } = {},
): Promise<{ exitCode: number | null }> {
  const attempt = options.attempt ?? 'p1';
  const provider = await providerFor(ref, deps);
  let exitCode: number | null = null;
  try {
    exitCode = (
      await provider.stop(ref, { operationId: `${attempt}.stop`, graceSeconds: options.graceSeconds ?? 10 })
    ).exitCode;
  } catch (error) {
    if (!gone(error)) throw error;
  }
  try {
    await provider.destroy(ref, { operationId: `${attempt}.destroy` });
  } catch (error) {
    if (!gone(error)) throw error;
  }
  return { exitCode };
}

function gone(error: unknown): boolean {
  return error instanceof ProviderError && ['not_found', 'runner_offline'].includes(error.code);
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 400);
}
