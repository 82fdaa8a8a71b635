import { SANDBOX_HOME } from '../agents.ts';
import { PLACEHOLDER_SECRET, type PlanFile } from '../types.ts';
import { json, type RuntimeConfig, type RuntimeConfigInput } from './types.ts';

// Claude Code (2.1.328): a fresh $HOME opens onboarding (which calls
// platform.claude.com and fails behind a gateway), asks whether to use the
// API key it found, and whether to trust the workspace. `~/.claude.json`
// answers all three up front — onboarding done, the placeholder key approved
// (Claude Code remembers a key by its last 20 characters), every workspace
// directory trusted, the theme chosen — so `claude` starts at its prompt.
//
// Quiet (ADR 0151): the auto-updater, telemetry and error reporting off
// (CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC), no install of the official
// plugin marketplace from downloads.claude.ai. What is left is useful and goes
// to the brokered provider: /v1/messages, and the organization's managed
// settings and policy limits under /api/claude_code on api.anthropic.com (the
// catalog's Anthropic route brokers that prefix too).

export const CLAUDE_HOME = `${SANDBOX_HOME}/.claude`;

export function claudeCodeConfig(input: RuntimeConfigInput): RuntimeConfig {
  const projects: Record<string, unknown> = {};
  for (const path of input.trustedPaths)
    projects[path] = { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true };
  const state = {
    hasCompletedOnboarding: true,
    theme: 'dark',
    autoUpdates: false,
    customApiKeyResponses: { approved: [PLACEHOLDER_SECRET.slice(-20)], rejected: [] },
    projects,
  };
  const files: PlanFile[] = [
    { path: `${SANDBOX_HOME}/.claude.json`, mode: 0o600, content: json(state), ifAbsent: true },
  ];
  if (input.instructions.trim() !== '')
    files.push({
      path: `${CLAUDE_HOME}/CLAUDE.md`,
      mode: 0o644,
      content: input.instructions,
      ifAbsent: true,
    });
  return {
    env: {
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: '1',
    },
    agentEnv: {},
    files,
  };
}
