import type { Config } from '@airlock/config';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { e2bAccess } from './credentials.ts';
import { DockerRunnerProvider } from './docker.ts';
import { E2bProvider } from './e2b.ts';
import {
  type ProviderAccount,
  ProviderError,
  type ProviderKind,
  type SandboxProvider,
  type SandboxRef,
} from './types.ts';

export { DockerRunnerProvider } from './docker.ts';
export { E2bProvider } from './e2b.ts';
export { startupInput } from './startup.ts';
export * from './types.ts';

// The provider for a profile version's `sandbox_provider`. Docker goes through
// the org's runners; E2B is driven from the Worker with its SDK (ADR 0160);
// Modal through a runner with the Modal backend (ADR 0161). Remote sandboxes
// dial the tunnel over public WSS (`tunnelFor` → `{ kind: 'url' }`) and run in
// the account `account` names (ADR 0163).

export interface ProviderDeps {
  readonly env: Env;
  readonly db: Database;
  readonly config: Config;
}

/** Where remote sandboxes dial: `services.tunnel_public_url`, else the public URL, as ws(s). */
export function tunnelBase(config: Config): string {
  const base = new URL(config.services.tunnel_public_url ?? config.services.public_url);
  if (base.protocol === 'https:') base.protocol = 'wss:';
  if (base.protocol === 'http:') base.protocol = 'ws:';
  if (base.protocol === 'ws:' && config.env !== 'local')
    throw new ProviderError(
      'invalid',
      `Remote sandboxes must dial the tunnel over wss://; services.tunnel_public_url is ${base.origin}.`,
    );
  return base.origin;
}

export async function sandboxProvider(
  kind: ProviderKind,
  deps: ProviderDeps,
  account?: ProviderAccount,
): Promise<SandboxProvider> {
  switch (kind) {
    case 'docker':
      return new DockerRunnerProvider({ hubs: deps.env.RUNNER_HUB, db: deps.db });
    case 'e2b': {
      if (account === undefined) throw new ProviderError('invalid', 'E2B: no account to run the sandbox in.');
      return new E2bProvider({
        access: await e2bAccess(deps, account),
        account,
        tunnelBase: tunnelBase(deps.config),
      });
    }
    case 'modal':
      throw new ProviderError('not_implemented', `The ${kind} provider is not available in this build.`);
  }
}

/** The provider that holds an existing sandbox, in the account that created it. */
export function providerFor(ref: SandboxRef, deps: ProviderDeps): Promise<SandboxProvider> {
  return sandboxProvider(
    ref.provider,
    deps,
    ref.orgId === undefined ? undefined : { orgId: ref.orgId, connectionId: ref.connectionId ?? null },
  );
}
