// Request and response schemas of the control-plane API, shared by the Worker
// (which validates with them and lists them in the OpenAPI document) and the
// dashboard (which types its calls with them). Every path is under /api;
// org resources under /api/orgs/{orgId}/….
export * from './audit.ts';
export * from './auth.ts';
export * from './common.ts';
export * from './connections.ts';
export * from './cron.ts';
export * from './device.ts';
export * from './enums.ts';
export * from './integrations.ts';
export * from './orgs.ts';
export * from './permissions.ts';
export * from './problem.ts';
export * from './profiles.ts';
export * from './runners.ts';
export * from './sessions.ts';
export * from './snapshots.ts';
export * from './terminals.ts';
export * from './trigger-deliveries.ts';
export * from './triggers.ts';
