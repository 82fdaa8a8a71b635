import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { DockerRunnerProvider } from './docker.ts';
import { ProviderError, type ProviderKind, type SandboxProvider } from './types.ts';

export { DockerRunnerProvider } from './docker.ts';
export { startupInput } from './startup.ts';
export * from './types.ts';

// The provider for a profile version's `sandbox_provider`. E2B and Modal
// implement the same interface later; their sandboxes dial the tunnel over
// public WSS (`tunnelFor` → `{ kind: 'url' }`) instead of a runner's socket.

export function sandboxProvider(kind: ProviderKind, deps: { env: Env; db: Database }): SandboxProvider {
  switch (kind) {
    case 'docker':
      return new DockerRunnerProvider({ hubs: deps.env.RUNNER_HUB, db: deps.db });
    case 'e2b':
    case 'modal':
      throw new ProviderError('not_implemented', `The ${kind} provider is not available in this build.`);
  }
}
