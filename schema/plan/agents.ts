import type { z } from 'zod';
import type { AgentSpec } from './types.ts';

// The agent runtimes Airlock runs: how each is started (interactive in a PTY
// the browser attaches to; headless with the prompt as its last argument, and a
// conversation's follow-ups resume the last run with the next prompt), the npm
// package its CLI comes from, and the CLI version Airlock last verified end to
// end (ADR 0150). What each runtime is configured with lives in `runtimes/`.

export type AgentRuntime = 'codex' | 'opencode' | 'claude-code';

export const AGENT_RUNTIMES: readonly AgentRuntime[] = ['codex', 'opencode', 'claude-code'];

export const SANDBOX_HOME = '/home/sandbox';
export const WORKSPACE_ROOT = '/home/sandbox/workspace';

export const AGENTS: Readonly<Record<AgentRuntime, Omit<z.infer<typeof AgentSpec>, 'version'>>> = {
  codex: {
    runtime: 'codex',
    interactive: ['codex'],
    // The sandbox is the container itself: Codex's own sandbox (bubblewrap) has nothing to add.
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
  // Headless runs have no one to approve a tool call; the container is the boundary.
  'claude-code': {
    runtime: 'claude-code',
    interactive: ['claude'],
    headless: ['claude', '-p', '--dangerously-skip-permissions'],
    followUp: ['claude', '-p', '--dangerously-skip-permissions', '--continue'],
  },
};

/** Display names, for messages and the dashboard. */
export const AGENT_NAMES: Readonly<Record<AgentRuntime, string>> = {
  codex: 'Codex',
  opencode: 'OpenCode',
  'claude-code': 'Claude Code',
};

/** The npm package each runtime's CLI is installed from when a snapshot is built. */
export const AGENT_PACKAGES: Readonly<Record<AgentRuntime, string>> = {
  codex: '@openai/codex',
  opencode: 'opencode-ai',
  'claude-code': '@anthropic-ai/claude-code',
};

/**
 * The CLI version of each runtime that Airlock last verified end to end (the stand-ins speak
 * its protocol; its quiet settings were measured against it). The one place these live: a new
 * profile version records the verified version of its runtime, the tests install exactly these,
 * and `./dev agents check` reports when the registry has something newer.
 */
export const VERIFIED_AGENT_VERSIONS: Readonly<Record<AgentRuntime, string>> = {
  codex: '0.169.0',
  opencode: '1.18.33',
  'claude-code': '2.1.328',
};

/** Opt-in: whatever the registry calls latest on the day the snapshot is built. */
export const LATEST_AGENT_VERSION = 'latest';

const EXACT_VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}(-[0-9A-Za-z][0-9A-Za-z.-]{0,63})?$/;

/** An exact semver version (`0.169.0`, `1.2.3-beta.1`) or `latest`. */
export function isAgentVersion(value: string): boolean {
  return value === LATEST_AGENT_VERSION || EXACT_VERSION.test(value);
}

/** The version a profile version installs: its own, or (rows written before versions were recorded) the verified one. */
export function agentVersionOf(runtime: AgentRuntime, recorded: string | undefined): string {
  return recorded === undefined || recorded === '' ? VERIFIED_AGENT_VERSIONS[runtime] : recorded;
}

/** `@openai/codex@0.169.0`: the install spec (never a range: exact, or the `latest` tag). */
export function agentInstallSpec(runtime: AgentRuntime, version: string): string {
  if (!isAgentVersion(version)) throw new Error(`not an agent version: ${JSON.stringify(version)}`);
  return `${AGENT_PACKAGES[runtime]}@${version}`;
}
