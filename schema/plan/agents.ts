import type { z } from 'zod';
import type { AgentSpec } from './types.ts';

// How each agent runtime is started. Interactive commands run in a PTY the
// browser attaches to; headless ones get the prompt as their last argument.

export type AgentRuntime = 'codex' | 'opencode' | 'claude-code';

export const SANDBOX_HOME = '/home/sandbox';
export const WORKSPACE_ROOT = '/home/sandbox/workspace';

export const AGENTS: Readonly<Record<AgentRuntime, z.infer<typeof AgentSpec>>> = {
  codex: {
    runtime: 'codex',
    interactive: ['codex'],
    headless: ['codex', 'exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox'],
  },
  opencode: { runtime: 'opencode', interactive: ['opencode'], headless: ['opencode', 'run'] },
  'claude-code': { runtime: 'claude-code', interactive: ['claude'], headless: ['claude', '-p'] },
};

/** Non-secret environment each runtime needs besides its model placeholders. */
export const AGENT_ENV: Readonly<Record<AgentRuntime, Readonly<Record<string, string>>>> = {
  codex: { CODEX_HOME: `${SANDBOX_HOME}/.codex` },
  opencode: {},
  'claude-code': { DISABLE_AUTOUPDATER: '1' },
};

/** The npm package each runtime's CLI is installed from when a snapshot is built. */
export const AGENT_PACKAGES: Readonly<Record<AgentRuntime, string>> = {
  codex: '@openai/codex',
  opencode: 'opencode-ai',
  'claude-code': '@anthropic-ai/claude-code',
};
