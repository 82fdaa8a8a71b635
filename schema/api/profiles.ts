import { z } from 'zod';
import { HostPattern } from '../plan/types.ts';
import { IdOf, Name, Timestamp } from './common.ts';
import { AGENT_RUNTIMES, SANDBOX_PROVIDERS, VERSION_STATUSES } from './enums.ts';
import { Snapshot } from './snapshots.ts';

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

export const ProfileVersion = z
  .object({
    id: IdOf('prv'),
    profileId: IdOf('prf'),
    number: z.number().int(),
    status: z.enum(VERSION_STATUSES),
    agentRuntime: z.enum(AGENT_RUNTIMES),
    sandboxProvider: z.enum(SANDBOX_PROVIDERS),
    modelConnectionId: z.string().nullable(),
    gitConnectionId: z.string().nullable(),
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
    sandboxProvider: z.enum(SANDBOX_PROVIDERS).optional(),
    modelConnectionId: z.string().min(1).max(64).nullable().optional(),
    gitConnectionId: z.string().min(1).max(64).nullable().optional(),
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
export type ConnectorBinding = z.infer<typeof ConnectorBinding>;
export type SandboxResources = z.infer<typeof SandboxResources>;
export type ProfileVersion = z.infer<typeof ProfileVersion>;
export type Profile = z.infer<typeof Profile>;
export type CreateProfile = z.input<typeof CreateProfile>;
export type UpdateProfile = z.infer<typeof UpdateProfile>;
export type UpdateDraft = z.infer<typeof UpdateDraft>;
export type PublishResult = z.infer<typeof PublishResult>;
