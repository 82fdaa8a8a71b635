import type { z } from 'zod';
import { type AgentSpec, PLACEHOLDER_SECRET, type PlanFile } from './types.ts';

// How each agent runtime is started. Interactive commands run in a PTY the
// browser attaches to; headless ones get the prompt as their last argument, and
// a conversation's follow-ups resume the last run with the next prompt.

export type AgentRuntime = 'codex' | 'opencode' | 'claude-code';

export const SANDBOX_HOME = '/home/sandbox';
export const WORKSPACE_ROOT = '/home/sandbox/workspace';
const CODEX_HOME = `${SANDBOX_HOME}/.codex`;

export const AGENTS: Readonly<Record<AgentRuntime, z.infer<typeof AgentSpec>>> = {
  codex: {
    runtime: 'codex',
    interactive: ['codex'],
    headless: ['codex', 'exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox'],
    followUp: [
      'codex',
      'exec',
      'resume',
      '--last',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
    ],
  },
  opencode: {
    runtime: 'opencode',
    interactive: ['opencode'],
    headless: ['opencode', 'run'],
    followUp: ['opencode', 'run', '--continue'],
  },
  'claude-code': {
    runtime: 'claude-code',
    interactive: ['claude'],
    headless: ['claude', '-p'],
    followUp: ['claude', '-p', '--continue'],
  },
};

/** Non-secret environment each runtime needs besides its model placeholders. */
export const AGENT_ENV: Readonly<Record<AgentRuntime, Readonly<Record<string, string>>>> = {
  codex: { CODEX_HOME },
  opencode: {},
  'claude-code': { DISABLE_AUTOUPDATER: '1' },
};

/** The npm package each runtime's CLI is installed from when a snapshot is built. */
export const AGENT_PACKAGES: Readonly<Record<AgentRuntime, string>> = {
  codex: '@openai/codex',
  opencode: 'opencode-ai',
  'claude-code': '@anthropic-ai/claude-code',
};

/**
 * Files that let each runtime start straight into its prompt: API-key auth
 * holding only the placeholder (the gateway swaps it on the wire), and the
 * workspace marked trusted so no first-run dialog stands between the user
 * and the agent. Written at snapshot build, never over a user's later edits.
 */
export function agentFiles(runtime: AgentRuntime, workspacePaths: readonly string[]): PlanFile[] {
  switch (runtime) {
    case 'codex': {
      // Codex asks per repository root; trust on a parent does not carry over.
      const trusted = [WORKSPACE_ROOT, ...workspacePaths]
        .map((path) => `[projects.${JSON.stringify(path)}]\ntrust_level = "trusted"\n`)
        .join('\n');
      return [
        {
          path: `${CODEX_HOME}/auth.json`,
          mode: 0o600,
          content: `${JSON.stringify({ auth_mode: 'apikey', OPENAI_API_KEY: PLACEHOLDER_SECRET }, null, 2)}\n`,
          ifAbsent: true,
        },
        { path: `${CODEX_HOME}/config.toml`, mode: 0o644, content: trusted, ifAbsent: true },
      ];
    }
    case 'opencode':
    case 'claude-code':
      return [];
  }
}
