import { z } from 'zod';
import { HostPattern } from '../plan/types.ts';
import { IdOf, Name, Timestamp } from './common.ts';
import { AGENT_RUNTIMES, SANDBOX_PROVIDERS, VERSION_STATUSES } from './enums.ts';
import { Snapshot } from './snapshots.ts';

export { AGENT_NAMES, LATEST_AGENT_VERSION, VERIFIED_AGENT_VERSIONS } from '../plan/agents.ts';

// Sandbox profiles: a name plus versions. Exactly one draft is editable; a
// published version is frozen (writes answer 409) and gets a snapshot.

export const RepositoryRef = z
  .strictObject({
    repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name'),
    ref: z.string().min(1).max(255).optional(),
    /** Relative to the workspace root; defaults to the repository name. */
    path: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'a relative path without ..')
      .refine((p) => !p.split('/').includes('..'), 'a relative path without ..')
      .optional(),
  })
  .meta({ id: 'RepositoryRef' });

export const ConnectorBinding = z
  .strictObject({
    connectionId: z.string().min(1).max(64),
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'ConnectorBinding' });

export const SandboxResources = z
  .strictObject({
    cpus: z.number().min(0.25).max(64),
    memoryMb: z.number().int().min(256).max(262144),
    pids: z.number().int().min(64).max(65536),
    diskMb: z.number().int().min(512).max(1048576).optional(),
  })
  .meta({ id: 'SandboxResources' });

const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name (letters, digits, _)');

/**
 * The words a client must send with a `secret_in_sandbox` variable: the kind alone is not
 * enough, so no script or form can put a secret inside the sandbox by accident (ADR 0152).
 */
export const SECRET_IN_SANDBOX_ACKNOWLEDGEMENT = 'readable-inside-the-sandbox';

/** A profile variable as the API shows it: a secret's value is never returned once set. */
export const EnvVarView = z
  .discriminatedUnion('kind', [
    z.object({ name: z.string(), kind: z.literal('plain'), value: z.string() }),
    z.object({ name: z.string(), kind: z.literal('secret_in_sandbox') }),
  ])
  .meta({ id: 'EnvVar' });

/**
 * A profile variable to set. `plain`: the value goes into the plan (no secrets: the checks
 * refuse credential-looking values). `secret_in_sandbox`: a real secret the team chooses to put
 * inside the sandbox, breaking the credentialless promise for it; sealed at rest, never
 * returned, only for owners and admins, and only with the acknowledgement. Without `value` it
 * keeps the draft's current secret of that name.
 */
export const EnvVarInput = z
  .discriminatedUnion('kind', [
    z.strictObject({ name: EnvName, kind: z.literal('plain'), value: z.string().max(32768) }),
    z.strictObject({
      name: EnvName,
      kind: z.literal('secret_in_sandbox'),
      value: z.string().min(1).max(32768).optional(),
      acknowledge: z.literal(SECRET_IN_SANDBOX_ACKNOWLEDGEMENT, {
        error: `a secret_in_sandbox variable needs "acknowledge": "${SECRET_IN_SANDBOX_ACKNOWLEDGEMENT}"`,
      }),
    }),
  ])
  .meta({ id: 'EnvVarInput' });

/** Exact (`0.169.0`) or `latest`. */
export const AgentVersion = z
  .string()
  .regex(
    /^(latest|\d{1,6}\.\d{1,6}\.\d{1,6}(-[0-9A-Za-z][0-9A-Za-z.-]{0,63})?)$/,
    'an exact version such as 1.2.3, or "latest"',
  );

export const ProfileVersion = z
  .object({
    id: IdOf('prv'),
    profileId: IdOf('prf'),
    number: z.number().int(),
    status: z.enum(VERSION_STATUSES),
    agentRuntime: z.enum(AGENT_RUNTIMES),
    /** The CLI version the snapshot installs (exact, or `latest` when opted into). */
    agentVersion: z.string(),
    agentInstructions: z.string(),
    envVars: z.array(EnvVarView),
    sandboxProvider: z.enum(SANDBOX_PROVIDERS),
    modelConnectionId: z.string().nullable(),
    gitConnectionId: z.string().nullable(),
    /** E2B/Modal: the sandbox-provider connection whose account runs it; null for Docker or deployment keys. */
    providerConnectionId: z.string().nullable(),
    repositories: z.array(RepositoryRef),
    connectorBindings: z.array(ConnectorBinding),
    setupScript: z.string(),
    egressAllowlist: z.array(z.string()),
    resources: SandboxResources,
    /** Stop a session when the gateway blocks a credential leak in it (blocking is always on; ADR 0125). */
    stopSessionOnLeak: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    publishedAt: Timestamp.nullable(),
    publishedBy: z.string().nullable(),
  })
  .meta({ id: 'ProfileVersion' });

export const Profile = z
  .object({
    id: IdOf('prf'),
    name: z.string(),
    description: z.string(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    archivedAt: Timestamp.nullable(),
    draftVersionId: z.string().nullable(),
    latestPublished: z
      .object({ id: z.string(), number: z.number().int(), publishedAt: Timestamp })
      .nullable(),
  })
  .meta({ id: 'Profile' });

export const CreateProfile = z
  .strictObject({ name: Name, description: z.string().max(2000).default('') })
  .meta({ id: 'CreateProfile' });
export const UpdateProfile = z
  .strictObject({ name: Name.optional(), description: z.string().max(2000).optional() })
  .meta({ id: 'UpdateProfile' });

/** Fields of the draft; omitted ones stay as they are, null clears a connection. */
export const UpdateDraft = z
  .strictObject({
    agentRuntime: z.enum(AGENT_RUNTIMES).optional(),
    /** Omitted with a new runtime: that runtime's verified version. */
    agentVersion: AgentVersion.optional(),
    agentInstructions: z.string().max(65536).optional(),
    envVars: z.array(EnvVarInput).max(100).optional(),
    sandboxProvider: z.enum(SANDBOX_PROVIDERS).optional(),
    modelConnectionId: z.string().min(1).max(64).nullable().optional(),
    gitConnectionId: z.string().min(1).max(64).nullable().optional(),
    providerConnectionId: z.string().min(1).max(64).nullable().optional(),
    repositories: z.array(RepositoryRef).max(50).optional(),
    connectorBindings: z.array(ConnectorBinding).max(50).optional(),
    setupScript: z.string().max(65536).optional(),
    egressAllowlist: z.array(HostPattern).max(200).optional(),
    resources: SandboxResources.optional(),
    stopSessionOnLeak: z.boolean().optional(),
  })
  .meta({ id: 'UpdateDraft' });

export const PublishResult = z
  .object({ published: ProfileVersion, snapshot: Snapshot, draft: ProfileVersion })
  .meta({ id: 'PublishResult' });

export const ProfileList = z.object({ items: z.array(Profile) }).meta({ id: 'ProfileList' });
export const ProfileVersionList = z
  .object({ items: z.array(ProfileVersion) })
  .meta({ id: 'ProfileVersionList' });

export type RepositoryRef = z.infer<typeof RepositoryRef>;
export type EnvVarView = z.infer<typeof EnvVarView>;
export type EnvVarInput = z.infer<typeof EnvVarInput>;
export type ConnectorBinding = z.infer<typeof ConnectorBinding>;
export type SandboxResources = z.infer<typeof SandboxResources>;
export type ProfileVersion = z.infer<typeof ProfileVersion>;
export type Profile = z.infer<typeof Profile>;
export type CreateProfile = z.input<typeof CreateProfile>;
export type UpdateProfile = z.infer<typeof UpdateProfile>;
export type UpdateDraft = z.infer<typeof UpdateDraft>;
export type PublishResult = z.infer<typeof PublishResult>;
