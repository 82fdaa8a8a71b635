import { pgEnum } from 'drizzle-orm/pg-core';
import {
  AGENT_RUNTIMES,
  AUDIT_KINDS,
  CONNECTION_STATUSES,
  DELIVERY_SOURCES,
  DELIVERY_STATUSES,
  EGRESS_DECISIONS,
  LOG_STREAMS,
  REPORT_STATUSES,
  ROLES,
  RUNNER_STATUSES,
  SANDBOX_PROVIDERS,
  SESSION_MODES,
  SESSION_STATUSES,
  SNAPSHOT_KINDS,
  SNAPSHOT_STATUSES,
  TRIGGER_KINDS,
  TURN_STATUSES,
  VERSION_STATUSES,
} from '../../api/enums.ts';

// The database's enums, made from the state names in schema/api/enums.ts (written once, there).
export {
  AGENT_RUNTIMES,
  AUDIT_KINDS,
  CONNECTION_STATUSES,
  DELIVERY_SOURCES,
  DELIVERY_STATUSES,
  EGRESS_DECISIONS,
  LOG_STREAMS,
  REPORT_STATUSES,
  ROLES,
  RUNNER_STATUSES,
  SANDBOX_PROVIDERS,
  SESSION_MODES,
  SESSION_STATUSES,
  SNAPSHOT_KINDS,
  SNAPSHOT_STATUSES,
  TRIGGER_KINDS,
  TURN_STATUSES,
  VERSION_STATUSES,
};

export const roleEnum = pgEnum('role', ROLES);
export const connectionStatusEnum = pgEnum('connection_status', CONNECTION_STATUSES);
export const agentRuntimeEnum = pgEnum('agent_runtime', AGENT_RUNTIMES);
export const sandboxProviderEnum = pgEnum('sandbox_provider', SANDBOX_PROVIDERS);
export const versionStatusEnum = pgEnum('version_status', VERSION_STATUSES);
export const snapshotKindEnum = pgEnum('snapshot_kind', SNAPSHOT_KINDS);
export const snapshotStatusEnum = pgEnum('snapshot_status', SNAPSHOT_STATUSES);
export const logStreamEnum = pgEnum('log_stream', LOG_STREAMS);
export const sessionStatusEnum = pgEnum('session_status', SESSION_STATUSES);
export const sessionModeEnum = pgEnum('session_mode', SESSION_MODES);
export const triggerKindEnum = pgEnum('trigger_kind', TRIGGER_KINDS);
export const deliveryStatusEnum = pgEnum('delivery_status', DELIVERY_STATUSES);
export const deliverySourceEnum = pgEnum('delivery_source', DELIVERY_SOURCES);
export const reportStatusEnum = pgEnum('report_status', REPORT_STATUSES);
export const turnStatusEnum = pgEnum('turn_status', TURN_STATUSES);
export const runnerStatusEnum = pgEnum('runner_status', RUNNER_STATUSES);
export const auditKindEnum = pgEnum('audit_kind', AUDIT_KINDS);
export const egressDecisionEnum = pgEnum('egress_decision', EGRESS_DECISIONS);
