// The control plane's tables (Drizzle, Postgres). Migrations in ./migrations
// are generated from these by drizzle-kit and checked in.
export * from './tables/audit.ts';
export * from './tables/enums.ts';
export * from './tables/identity.ts';
export * from './tables/integrations.ts';
export * from './tables/profiles.ts';
export * from './tables/runners.ts';
export * from './tables/sessions.ts';
export * from './tables/triggers.ts';
