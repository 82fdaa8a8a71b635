import { SANDBOX_HOME } from '../agents.ts';
import type { PlanFile } from '../types.ts';
import { json, type RuntimeConfig, type RuntimeConfigInput } from './types.ts';

// OpenCode (1.18.33): its global config points it at the brokered provider
// (Anthropic or OpenAI: the sandbox calls api.anthropic.com or api.openai.com
// with the placeholder, the gateway injects the key) and enables only that
// one, so its TUI opens at the prompt with that provider's default model.
//
// Quiet (ADR 0151): no model catalogue from models.dev (the bundled one is
// used), no self-update, no default plugins (npm packages installed at run
// time), no LSP server downloads, no sharing. The TUI also installs
// `@opencode-ai/plugin` into each config directory through the npm registry;
// the snapshot build installs it up front (OPENCODE_BUILD_PREPARE), so
// sessions find it in place.

export const OPENCODE_CONFIG_DIR = `${SANDBOX_HOME}/.config/opencode`;

/**
 * Run as the sandbox user after the CLI is installed, with the registry in $1 (the build's
 * only passthrough host): the plugin package OpenCode would fetch at its first start, at the
 * installed CLI's own version.
 */
export const OPENCODE_BUILD_PREPARE =
  'v=$(opencode --version) && mkdir -p "$HOME/.config/opencode" && cd "$HOME/.config/opencode" && cache=$(mktemp -d) && npm install --save-exact --no-fund --no-audit --no-update-notifier --registry "$1" --cache "$cache" "@opencode-ai/plugin@$v"; code=$?; rm -rf "$cache"; exit $code';

export function opencodeConfig(input: RuntimeConfigInput): RuntimeConfig {
  const provider = input.modelApi ?? 'anthropic';
  const config = {
    $schema: 'https://opencode.ai/config.json',
    autoupdate: false,
    share: 'disabled',
    enabled_providers: [provider],
  };
  const files: PlanFile[] = [
    { path: `${OPENCODE_CONFIG_DIR}/opencode.json`, mode: 0o644, content: json(config), ifAbsent: true },
  ];
  if (input.instructions.trim() !== '')
    files.push({
      path: `${OPENCODE_CONFIG_DIR}/AGENTS.md`,
      mode: 0o644,
      content: input.instructions,
      ifAbsent: true,
    });
  return {
    env: {
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
      OPENCODE_DISABLE_SHARE: '1',
    },
    agentEnv: {},
    files,
  };
}
