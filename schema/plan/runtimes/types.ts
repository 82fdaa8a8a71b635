import type { ModelApi } from '../catalog.ts';
import type { PlanFile } from '../types.ts';

// What a runtime's config writer gets and gives. Each writer builds its CLI's
// own config files as data (JSON objects, a TOML table) with one place per
// concern — the brokered model provider, quiet settings, trust, house rules —
// so later entries (MCP servers) are one more key in the same objects.

export interface RuntimeConfigInput {
  /** Directories the agent treats as trusted: the workspace root and each repository. */
  readonly trustedPaths: readonly string[];
  /** Wire protocol of the bound model connection; null while a draft has none. */
  readonly modelApi: ModelApi | null;
  /** The profile's instructions for the agent (house rules); '' for none. */
  readonly instructions: string;
  /** Whether the plan lets the sandbox reach `host` (a brokered route or a passthrough entry). */
  readonly reaches: (host: string) => boolean;
}

export interface RuntimeConfig {
  /** Non-secret environment for every process of the session (placeholders come from connections). */
  readonly env: Readonly<Record<string, string>>;
  /** Environment for the agent's own process only. */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** Written at snapshot build, owned by the sandbox user. */
  readonly files: readonly PlanFile[];
}

/** sandboxd's NO_PROXY for its children (sandboxd/src/startup.rs); a runtime may only add to it. */
export const SANDBOX_NO_PROXY = 'localhost,127.0.0.1,::1';

export const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
