import { pgEnum } from 'drizzle-orm/pg-core';
import * as names from '../../api/enums.ts';

// The database's enums, made from the state names in schema/api/enums.ts (written once, there).
export * from '../../api/enums.ts';

export const roleEnum = pgEnum('role', names.ROLES);
export const connectionStatusEnum = pgEnum('connection_status', names.CONNECTION_STATUSES);
export const agentRuntimeEnum = pgEnum('agent_runtime', names.AGENT_RUNTIMES);
export const sandboxProviderEnum = pgEnum('sandbox_provider', names.SANDBOX_PROVIDERS);
export const versionStatusEnum = pgEnum('version_status', names.VERSION_STATUSES);
export const snapshotKindEnum = pgEnum('snapshot_kind', names.SNAPSHOT_KINDS);
export const snapshotStatusEnum = pgEnum('snapshot_status', names.SNAPSHOT_STATUSES);
export const logStreamEnum = pgEnum('log_stream', names.LOG_STREAMS);
export const sessionStatusEnum = pgEnum('session_status', names.SESSION_STATUSES);
export const sessionModeEnum = pgEnum('session_mode', names.SESSION_MODES);
export const triggerKindEnum = pgEnum('trigger_kind', names.TRIGGER_KINDS);
export const deliveryStatusEnum = pgEnum('delivery_status', names.DELIVERY_STATUSES);
export const deliverySourceEnum = pgEnum('delivery_source', names.DELIVERY_SOURCES);
export const reportStatusEnum = pgEnum('report_status', names.REPORT_STATUSES);
export const turnStatusEnum = pgEnum('turn_status', names.TURN_STATUSES);
export const runnerStatusEnum = pgEnum('runner_status', names.RUNNER_STATUSES);
export const auditKindEnum = pgEnum('audit_kind', names.AUDIT_KINDS);
export const egressDecisionEnum = pgEnum('egress_decision', names.EGRESS_DECISIONS);
