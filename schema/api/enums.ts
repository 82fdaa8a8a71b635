// State names as the API speaks them. The same tuples as schema/db (a test
// keeps them equal); declared here so the dashboard needs no Drizzle.

export const ROLES = ['owner', 'admin', 'member'] as const;
export const CONNECTION_STATUSES = ['active', 'error', 'revoked'] as const;
export const AGENT_RUNTIMES = ['codex', 'opencode', 'claude-code'] as const;
export const SANDBOX_PROVIDERS = ['docker', 'e2b', 'modal'] as const;
export const VERSION_STATUSES = ['draft', 'published'] as const;
export const SNAPSHOT_KINDS = ['snapshot', 'setup_test'] as const;
export const SNAPSHOT_STATUSES = ['pending', 'building', 'ready', 'failed'] as const;
export const LOG_STREAMS = ['stdout', 'stderr', 'system'] as const;
export const SESSION_STATUSES = [
  'pending',
  'provisioning',
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
] as const;
export const SESSION_MODES = ['interactive', 'headless'] as const;
export const TRIGGER_KINDS = ['webhook', 'schedule', 'chat'] as const;
export const DELIVERY_STATUSES = [
  'received',
  'started',
  'deduped',
  'filtered',
  'ignored',
  'rejected',
  'failed',
] as const;
export const DELIVERY_SOURCES = ['github', 'slack', 'generic', 'schedule', 'redelivery', 'test'] as const;
export const REPORT_STATUSES = ['pending', 'sent', 'failed', 'skipped'] as const;
export const TURN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export const RUNNER_STATUSES = ['pending', 'online', 'offline', 'revoked'] as const;
export const AUDIT_KINDS = ['egress', 'control'] as const;
/** `leak_blocked`: the request carried a secret to where it does not belong (ADR 0125). */
export const EGRESS_DECISIONS = ['brokered', 'passthrough', 'denied', 'leak_blocked'] as const;

export type Role = (typeof ROLES)[number];
export type AgentRuntime = (typeof AGENT_RUNTIMES)[number];
export type SessionStatus = (typeof SESSION_STATUSES)[number];
