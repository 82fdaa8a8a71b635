import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { at, createdAt, pk, updatedAt } from './columns.ts';
import {
  agentRuntimeEnum,
  logStreamEnum,
  sandboxProviderEnum,
  snapshotKindEnum,
  snapshotStatusEnum,
  versionStatusEnum,
} from './enums.ts';
import { orgs, users } from './identity.ts';
import { connections } from './integrations.ts';

export interface RepositoryRef {
  /** `owner/name` on the git connection's host. */
  readonly repository: string;
  readonly ref?: string;
  /** Where it is cloned, relative to the workspace root. */
  readonly path?: string;
}

export interface ConnectorBinding {
  readonly connectionId: string;
  /** Integration-specific, non-secret binding settings (e.g. allowed projects). */
  readonly config?: Record<string, unknown>;
}

/**
 * A profile's own environment variable (ADR 0152): a plain value (in the plan, visible to
 * readers of the profile), or a secret the team chose to put inside the sandbox, held sealed
 * in `sandbox_secrets` and referenced here by id only.
 */
export type ProfileEnvVar =
  | { readonly name: string; readonly kind: 'plain'; readonly value: string }
  | { readonly name: string; readonly kind: 'secret_in_sandbox'; readonly secretId: string };

export interface SandboxResources {
  readonly cpus: number;
  readonly memoryMb: number;
  readonly pids: number;
  readonly diskMb?: number;
}

export const sandboxProfiles = pgTable(
  'sandbox_profiles',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    archivedAt: at('archived_at'),
  },
  (t) => [
    uniqueIndex('sandbox_profiles_org_name_key').on(t.orgId, t.name),
    index('sandbox_profiles_org_idx').on(t.orgId),
  ],
);

export const profileVersions = pgTable(
  'profile_versions',
  {
    id: pk(),
    profileId: text('profile_id')
      .notNull()
      .references(() => sandboxProfiles.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    /** 1, 2, 3… per profile; the draft holds the next number. */
    number: integer('number').notNull(),
    status: versionStatusEnum('status').notNull().default('draft'),
    agentRuntime: agentRuntimeEnum('agent_runtime').notNull().default('codex'),
    /**
     * The runtime's CLI version the snapshot installs: exact (`0.169.0`) or `latest`. The API
     * records the verified version (schema/plan/agents.ts) when a draft is made or its runtime
     * changes; '' (rows written by other means) means the verified one at compile time.
     */
    agentVersion: text('agent_version').notNull().default(''),
    /** Instructions for the agent (house rules), written as AGENTS.md / CLAUDE.md at build. */
    agentInstructions: text('agent_instructions').notNull().default(''),
    envVars: jsonb('env_vars').$type<ProfileEnvVar[]>().notNull().default([]),
    sandboxProvider: sandboxProviderEnum('sandbox_provider').notNull().default('docker'),
    modelConnectionId: text('model_connection_id').references(() => connections.id, { onDelete: 'restrict' }),
    gitConnectionId: text('git_connection_id').references(() => connections.id, { onDelete: 'restrict' }),
    /** E2B/Modal: the org's sandbox-provider connection whose account runs it (ADR 0163). */
    providerConnectionId: text('provider_connection_id').references(() => connections.id, {
      onDelete: 'restrict',
    }),
    repositories: jsonb('repositories').$type<RepositoryRef[]>().notNull().default([]),
    connectorBindings: jsonb('connector_bindings').$type<ConnectorBinding[]>().notNull().default([]),
    setupScript: text('setup_script').notNull().default(''),
    /** Extra hosts reachable without credentials (passthrough), e.g. `packages.example.com`, `*.cdn.example.net`. */
    egressAllowlist: jsonb('egress_allowlist').$type<string[]>().notNull().default([]),
    resources: jsonb('resources')
      .$type<SandboxResources>()
      .notNull()
      .default({ cpus: 2, memoryMb: 4096, pids: 1024 }),
    /** Stop a session when the gateway blocks a credential leak in it (ADR 0125); blocking is always on. */
    stopSessionOnLeak: boolean('stop_session_on_leak').notNull().default(false),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    publishedAt: at('published_at'),
    publishedBy: text('published_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    uniqueIndex('profile_versions_number_key').on(t.profileId, t.number),
    // Exactly one draft per profile at a time.
    uniqueIndex('profile_versions_one_draft').on(t.profileId).where(sql`${t.status} = 'draft'`),
    index('profile_versions_org_idx').on(t.orgId),
    check('profile_versions_number_positive', sql`${t.number} > 0`),
    check('profile_versions_published_at', sql`(${t.status} = 'published') = (${t.publishedAt} is not null)`),
  ],
);

export const snapshots = pgTable(
  'snapshots',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    profileVersionId: text('profile_version_id')
      .notNull()
      .references(() => profileVersions.id, { onDelete: 'cascade' }),
    /** `snapshot`: the image sessions start from; `setup_test`: a throwaway run of a draft's setup. */
    kind: snapshotKindEnum('kind').notNull().default('snapshot'),
    status: snapshotStatusEnum('status').notNull().default('pending'),
    provider: sandboxProviderEnum('provider').notNull(),
    /** Provider image reference once ready (docker image id, E2B snapshot id, Modal image id). */
    imageRef: text('image_ref'),
    runnerId: text('runner_id'),
    /** The agent CLI version the build installed (what `latest` meant that day). */
    agentVersion: text('agent_version'),
    /** The build sandbox's reference (JSON `SandboxRef`), so teardown finds it on any provider. */
    sandboxRef: text('sandbox_ref'),
    exitCode: integer('exit_code'),
    failureReason: text('failure_reason'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    startedAt: at('started_at'),
    finishedAt: at('finished_at'),
  },
  (t) => [
    index('snapshots_version_idx').on(t.profileVersionId, t.createdAt),
    index('snapshots_org_status_idx').on(t.orgId, t.status),
    // A ready snapshot has its image; a setup test never keeps one (its `ready` means the script passed).
    check(
      'snapshots_ready_has_image',
      sql`${t.kind} = 'setup_test' or ${t.status} <> 'ready' or ${t.imageRef} is not null`,
    ),
    check('snapshots_setup_test_no_image', sql`${t.kind} = 'snapshot' or ${t.imageRef} is null`),
  ],
);

/**
 * Secrets a team chose to put inside its sandboxes (a profile variable of kind
 * `secret_in_sandbox`, ADR 0152): AES-GCM sealed like connection credentials, never returned
 * by the API, opened only when a session's process starts. Immutable: a new value is a new
 * row, so a published version keeps the value it was published with.
 */
export const sandboxSecrets = pgTable(
  'sandbox_secrets',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    ciphertext: text('ciphertext').notNull(),
    nonce: text('nonce').notNull(),
    keyVersion: integer('key_version').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('sandbox_secrets_org_idx').on(t.orgId),
    index('sandbox_secrets_key_version_idx').on(t.keyVersion),
  ],
);

/** Build and setup-test output, line by line, so it can be followed live with a cursor. */
export const snapshotLogs = pgTable(
  'snapshot_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    snapshotId: text('snapshot_id')
      .notNull()
      .references(() => snapshots.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    stream: logStreamEnum('stream').notNull(),
    text: text('text').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('snapshot_logs_seq_key').on(t.snapshotId, t.seq)],
);
