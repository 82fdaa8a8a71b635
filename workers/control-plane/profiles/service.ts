import type { EnvVarView, FieldError, Profile, ProfileVersion, UpdateDraft } from '@airlock/schema/api';
import { connections, type ProfileEnvVar, profileVersions, sandboxProfiles } from '@airlock/schema/db';
import {
  agentVersionOf,
  checkVersion,
  type PlanConnection,
  type PlanVersion,
  VERIFIED_AGENT_VERSIONS,
} from '@airlock/schema/plan';
import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { iso } from '../env.ts';

// Profile and version rows, and the version checks in the API's terms.

export type VersionRow = typeof profileVersions.$inferSelect;
export type ProfileRow = typeof sandboxProfiles.$inferSelect;

export function versionOut(row: VersionRow): ProfileVersion {
  return {
    id: row.id,
    profileId: row.profileId,
    number: row.number,
    status: row.status,
    agentRuntime: row.agentRuntime,
    agentVersion: agentVersionOf(row.agentRuntime, row.agentVersion),
    agentInstructions: row.agentInstructions,
    envVars: row.envVars.map(envVarOut),
    sandboxProvider: row.sandboxProvider,
    modelConnectionId: row.modelConnectionId,
    gitConnectionId: row.gitConnectionId,
    providerConnectionId: row.providerConnectionId,
    repositories: row.repositories.map((r) => ({ ...r })),
    connectorBindings: row.connectorBindings.map((b) => ({ ...b })),
    setupScript: row.setupScript,
    egressAllowlist: [...row.egressAllowlist],
    resources: { ...row.resources },
    stopSessionOnLeak: row.stopSessionOnLeak,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    publishedAt: iso(row.publishedAt),
    publishedBy: row.publishedBy,
  };
}

/** A secret in the sandbox shows its name and kind only: never its value, nor where it is kept. */
export function envVarOut(v: ProfileEnvVar): EnvVarView {
  return v.kind === 'plain'
    ? { name: v.name, kind: 'plain', value: v.value }
    : { name: v.name, kind: 'secret_in_sandbox' };
}

export function profileOut(row: ProfileRow, versions: readonly VersionRow[]): Profile {
  const draft = versions.find((v) => v.status === 'draft');
  const latest = versions
    .filter((v) => v.status === 'published')
    .reduce<VersionRow | undefined>(
      (best, v) => (best === undefined || v.number > best.number ? v : best),
      undefined,
    );
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    archivedAt: iso(row.archivedAt),
    draftVersionId: draft?.id ?? null,
    latestPublished:
      latest === undefined || latest.publishedAt === null
        ? null
        : { id: latest.id, number: latest.number, publishedAt: iso(latest.publishedAt) },
  };
}

/** A profile as the API shows it (its draft and latest published version). */
export async function profileView(db: Database, row: ProfileRow): Promise<Profile> {
  const versions = await db.select().from(profileVersions).where(eq(profileVersions.profileId, row.id));
  return profileOut(row, versions);
}

export async function findProfile(db: Database, orgId: string, profileId: string): Promise<ProfileRow> {
  const [row] = await db
    .select()
    .from(sandboxProfiles)
    .where(and(eq(sandboxProfiles.id, profileId), eq(sandboxProfiles.orgId, orgId)));
  if (row === undefined) throw new ProblemError('not_found', `No profile ${profileId} in this org.`);
  return row;
}

export async function findVersion(
  db: Database,
  orgId: string,
  profileId: string,
  versionId: string,
): Promise<VersionRow> {
  const [row] = await db
    .select()
    .from(profileVersions)
    .where(
      and(
        eq(profileVersions.id, versionId),
        eq(profileVersions.profileId, profileId),
        eq(profileVersions.orgId, orgId),
      ),
    );
  if (row === undefined)
    throw new ProblemError('not_found', `No version ${versionId} of profile ${profileId}.`);
  return row;
}

export function planVersionOf(row: VersionRow): PlanVersion {
  return {
    id: row.id,
    orgId: row.orgId,
    profileId: row.profileId,
    number: row.number,
    status: row.status,
    agentRuntime: row.agentRuntime,
    modelConnectionId: row.modelConnectionId,
    gitConnectionId: row.gitConnectionId,
    repositories: row.repositories,
    connectorBindings: row.connectorBindings,
    egressAllowlist: row.egressAllowlist,
    agentVersion: row.agentVersion,
    agentInstructions: row.agentInstructions,
    envVars: row.envVars,
    stopSessionOnLeak: row.stopSessionOnLeak,
  };
}

/** The org's connections a version names (other orgs' ids simply are not found). */
export async function connectionsOf(
  db: Database,
  orgId: string,
  version: PlanVersion,
): Promise<PlanConnection[]> {
  const ids = [
    version.modelConnectionId,
    version.gitConnectionId,
    ...version.connectorBindings.map((b) => b.connectionId),
  ].filter((id): id is string => id !== null);
  if (ids.length === 0) return [];
  const rows = await db
    .select({
      id: connections.id,
      integration: connections.integration,
      status: connections.status,
      config: connections.config,
    })
    .from(connections)
    .where(and(eq(connections.orgId, orgId), inArray(connections.id, ids)));
  return rows;
}

/** Issues of a version as 422 field errors; `completeness` for publishing. */
export async function versionErrors(
  db: Database,
  row: VersionRow,
  options: { completeness: boolean; allowPlainHttp: boolean; providerCredentials: 'org' | 'deployment' },
): Promise<FieldError[]> {
  const version = planVersionOf(row);
  const result = checkVersion(version, await connectionsOf(db, row.orgId, version), options);
  return [
    ...result.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })),
    ...(await providerConnectionErrors(db, row, options)),
  ];
}

/**
 * The runtime section's provider connection: E2B and Modal run in the org's own account when the
 * deployment says so (`sandbox.provider_credentials = "org"`), so publishing needs an active
 * connection of that provider's integration; Docker runs on the org's runners and takes none.
 */
async function providerConnectionErrors(
  db: Database,
  row: VersionRow,
  options: { completeness: boolean; providerCredentials: 'org' | 'deployment' },
): Promise<FieldError[]> {
  const path = 'providerConnectionId';
  const provider = row.sandboxProvider;
  if (row.providerConnectionId === null) {
    if (provider !== 'docker' && options.providerCredentials === 'org' && options.completeness)
      return [
        {
          path,
          code: 'PROVIDER_CONNECTION_REQUIRED',
          message: `${provider} sandboxes run in the org's own ${provider} account: choose a ${provider} sandbox-provider connection`,
        },
      ];
    return [];
  }
  if (provider === 'docker')
    return [
      {
        path,
        code: 'KIND_MISMATCH',
        message: 'Docker sandboxes run on the org’s runners and take no provider connection',
      },
    ];
  const [connection] = await db
    .select({ integration: connections.integration, status: connections.status })
    .from(connections)
    .where(and(eq(connections.orgId, row.orgId), eq(connections.id, row.providerConnectionId)));
  if (connection === undefined)
    return [
      {
        path,
        code: 'CONNECTION_MISSING',
        message: `connection ${row.providerConnectionId} does not exist in this org`,
      },
    ];
  if (connection.integration !== provider)
    return [
      {
        path,
        code: 'KIND_MISMATCH',
        message: `connection ${row.providerConnectionId} is a ${connection.integration} connection, not a ${provider} sandbox provider`,
      },
    ];
  if (connection.status !== 'active')
    return [
      {
        path,
        code: 'CONNECTION_NOT_ACTIVE',
        message: `connection ${row.providerConnectionId} is ${connection.status}, not active`,
      },
    ];
  return [];
}

type DraftChanges = Partial<
  Pick<
    VersionRow,
    | 'agentRuntime'
    | 'agentVersion'
    | 'agentInstructions'
    | 'sandboxProvider'
    | 'modelConnectionId'
    | 'gitConnectionId'
    | 'providerConnectionId'
    | 'repositories'
    | 'connectorBindings'
    | 'setupScript'
    | 'egressAllowlist'
    | 'resources'
    | 'stopSessionOnLeak'
  >
>;

/**
 * The draft fields a request sets (absent ones stay; optional keys without undefined). A new
 * runtime without a version gets that runtime's verified version. Environment variables are
 * resolved separately (draft-env.ts): a secret's value never passes through here.
 */
export function draftChanges(input: UpdateDraft, current: Pick<VersionRow, 'agentRuntime'>): DraftChanges {
  const out: { -readonly [K in keyof DraftChanges]: DraftChanges[K] } = {};
  if (input.agentRuntime !== undefined) out.agentRuntime = input.agentRuntime;
  if (input.agentVersion !== undefined) out.agentVersion = input.agentVersion;
  else if (input.agentRuntime !== undefined && input.agentRuntime !== current.agentRuntime)
    out.agentVersion = VERIFIED_AGENT_VERSIONS[input.agentRuntime];
  if (input.agentInstructions !== undefined) out.agentInstructions = input.agentInstructions;
  if (input.sandboxProvider !== undefined) out.sandboxProvider = input.sandboxProvider;
  if (input.modelConnectionId !== undefined) out.modelConnectionId = input.modelConnectionId;
  if (input.gitConnectionId !== undefined) out.gitConnectionId = input.gitConnectionId;
  if (input.providerConnectionId !== undefined) out.providerConnectionId = input.providerConnectionId;
  if (input.setupScript !== undefined) out.setupScript = input.setupScript;
  if (input.stopSessionOnLeak !== undefined) out.stopSessionOnLeak = input.stopSessionOnLeak;
  if (input.egressAllowlist !== undefined)
    out.egressAllowlist = input.egressAllowlist.map((h) => h.toLowerCase());
  if (input.repositories !== undefined)
    out.repositories = input.repositories.map((r) => ({
      repository: r.repository,
      ...(r.ref === undefined ? {} : { ref: r.ref }),
      ...(r.path === undefined ? {} : { path: r.path }),
    }));
  if (input.connectorBindings !== undefined)
    out.connectorBindings = input.connectorBindings.map((b) => ({
      connectionId: b.connectionId,
      ...(b.config === undefined ? {} : { config: b.config }),
    }));
  if (input.resources !== undefined)
    out.resources = {
      cpus: input.resources.cpus,
      memoryMb: input.resources.memoryMb,
      pids: input.resources.pids,
      ...(input.resources.diskMb === undefined ? {} : { diskMb: input.resources.diskMb }),
    };
  return out;
}
