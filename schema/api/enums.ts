// State names shared by the API, the dashboard and the database: each is written once, here,
// as a const tuple (so the dashboard needs no Drizzle); schema/db makes its pg enums from them.

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
/**
 * What became of one request to a trigger (or one schedule tick): `received` until its run
 * decides; `started` a session (or a turn of one); `deduped` (the sender's delivery id, or the
 * same chat message, was seen before); `filtered` by the trigger's config; `ignored` (trigger
 * disabled); `rejected` (bad signature: nothing of the body is kept); `failed` with a reason.
 */
export const DELIVERY_STATUSES = [
  'received',
  'started',
  'deduped',
  'filtered',
  'ignored',
  'rejected',
  'failed',
] as const;
/** Where a delivery came from: a provider's webhook, a schedule tick, or a person in the API. */
export const DELIVERY_SOURCES = ['github', 'slack', 'generic', 'schedule', 'redelivery', 'test'] as const;
/** Reporting a run's result back where its event came from. */
export const REPORT_STATUSES = ['pending', 'sent', 'failed', 'skipped'] as const;
/** One prompt a headless session's agent works on: the first, or a follow-up in a conversation. */
export const TURN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export const RUNNER_STATUSES = ['pending', 'online', 'offline', 'revoked'] as const;
export const AUDIT_KINDS = ['egress', 'control'] as const;
/** `leak_blocked`: the request carried a secret to where it does not belong (ADR 0125). */
export const EGRESS_DECISIONS = ['brokered', 'passthrough', 'denied', 'leak_blocked'] as const;

export type Role = (typeof ROLES)[number];
export type AgentRuntime = (typeof AGENT_RUNTIMES)[number];
export type SessionStatus = (typeof SESSION_STATUSES)[number];
