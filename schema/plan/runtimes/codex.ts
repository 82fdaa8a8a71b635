import { SANDBOX_HOME } from '../agents.ts';
import { PLACEHOLDER_SECRET, type PlanFile } from '../types.ts';
import { type TomlTable, toToml } from './toml.ts';
import { json, type RuntimeConfig, type RuntimeConfigInput, SANDBOX_NO_PROXY } from './types.ts';

// Codex (0.169): API-key auth holding the placeholder, every repository
// trusted (Codex asks per repository root; trust on a parent does not carry
// over), and a config that makes no call the profile did not ask for. Left to
// its defaults, each Codex session asks chatgpt.com for its model list, syncs
// plugins from GitHub, checks for a release, fetches an announcement and
// ships OTLP metrics to ab.chatgpt.com — all denied and audited behind the
// gateway. Measured call by call (ADR 0151):
// - model list: a provider of our own pointing at api.openai.com/v1 (the
//   brokered route), so models come from the brokered provider, not chatgpt.com;
// - plugins, curated plugins, apps: `[features]` off;
// - release check: `check_for_update_on_startup`;
// - metrics and logs: `[otel]` exporters `none`, `[analytics]`, `[feedback]` off;
// - the TUI's announcement fetch has no setting: its host is added to the
//   agent's NO_PROXY, so the request fails inside the sandbox (no network)
//   instead of reaching the gateway — unless the profile lets that host through.

export const CODEX_HOME = `${SANDBOX_HOME}/.codex`;
const ANNOUNCEMENT_HOST = 'raw.githubusercontent.com';
/** The provider id in config.toml; its requests carry OPENAI_API_KEY (the placeholder) as a bearer. */
export const CODEX_PROVIDER = 'airlock';

export function codexConfig(input: RuntimeConfigInput): RuntimeConfig {
  const projects: Record<string, TomlTable> = {};
  for (const path of input.trustedPaths) projects[path] = { trust_level: 'trusted' };
  const config: TomlTable = {
    model_provider: CODEX_PROVIDER,
    // The container is the sandbox (no network but the gateway, no secret); Codex's own
    // bubblewrap sandbox cannot run in it and would only block the agent's commands.
    sandbox_mode: 'danger-full-access',
    check_for_update_on_startup: false,
    model_providers: {
      [CODEX_PROVIDER]: {
        name: 'OpenAI (brokered by Airlock)',
        base_url: 'https://api.openai.com/v1',
        env_key: 'OPENAI_API_KEY',
        wire_api: 'responses',
      },
    },
    analytics: { enabled: false },
    feedback: { enabled: false },
    otel: { exporter: 'none', trace_exporter: 'none', metrics_exporter: 'none' },
    features: { plugins: false, apps: false },
    tui: { show_tooltips: false },
    projects,
  };
  const files: PlanFile[] = [
    {
      path: `${CODEX_HOME}/auth.json`,
      mode: 0o600,
      content: json({ auth_mode: 'apikey', OPENAI_API_KEY: PLACEHOLDER_SECRET }),
      ifAbsent: true,
    },
    {
      path: `${CODEX_HOME}/config.toml`,
      mode: 0o644,
      content: `# Written by Airlock when the snapshot was built: the brokered model provider, trust, quiet settings.\n${toToml(config)}`,
      ifAbsent: true,
    },
  ];
  if (input.instructions.trim() !== '')
    files.push({ path: `${CODEX_HOME}/AGENTS.md`, mode: 0o644, content: input.instructions, ifAbsent: true });
  return {
    env: { CODEX_HOME },
    agentEnv: input.reaches(ANNOUNCEMENT_HOST)
      ? {}
      : {
          NO_PROXY: `${SANDBOX_NO_PROXY},${ANNOUNCEMENT_HOST}`,
          no_proxy: `${SANDBOX_NO_PROXY},${ANNOUNCEMENT_HOST}`,
        },
    files,
  };
}
