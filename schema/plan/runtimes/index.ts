import type { AgentRuntime } from '../agents.ts';
import { claudeCodeConfig } from './claude-code.ts';
import { codexConfig } from './codex.ts';
import { OPENCODE_BUILD_PREPARE, opencodeConfig } from './opencode.ts';
import type { RuntimeConfig, RuntimeConfigInput } from './types.ts';

export { CLAUDE_HOME } from './claude-code.ts';
export { CODEX_HOME, CODEX_PROVIDER } from './codex.ts';
export { OPENCODE_CONFIG_DIR } from './opencode.ts';
export type { RuntimeConfig, RuntimeConfigInput } from './types.ts';

/** Each runtime's environment and files, for the compiler. */
export function runtimeConfig(runtime: AgentRuntime, input: RuntimeConfigInput): RuntimeConfig {
  switch (runtime) {
    case 'codex':
      return codexConfig(input);
    case 'claude-code':
      return claudeCodeConfig(input);
    case 'opencode':
      return opencodeConfig(input);
  }
}

/** A shell script the snapshot build runs as `sandbox` after installing the CLI (registry URL in $1), if any. */
export const AGENT_BUILD_PREPARE: Readonly<Record<AgentRuntime, string | null>> = {
  codex: null,
  'claude-code': null,
  opencode: OPENCODE_BUILD_PREPARE,
};
