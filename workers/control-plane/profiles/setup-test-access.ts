import { can, type FieldError, type Role } from '@airlock/schema/api';
import { memberships, profileVersions, sandboxProfiles } from '@airlock/schema/db';
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import type { VersionRow } from './service.ts';

// Who may run a draft's setup script against the org's connections (ADR 0120).
// A setup test runs arbitrary code with the draft's bindings, so it carries
// the authority of publishing: whoever may publish (`profiles.publish`) tests
// any draft. Anyone else may test only a draft whose bindings they could
// already use by starting a session: each connection as a published version
// of a live (not archived) profile binds it. For a git connection that
// includes its repositories, since they scope the minted token and are cloned;
// a connection bound as model or connector (or as git with no repositories)
// gets a token for everything, so it covers any use of that connection.
// Checked when the test is requested and again when its build begins.

interface Usage {
  /** Bound where the credential is not scoped to repositories. */
  everything: boolean;
  /** Repositories (`owner/name`, lowercase) it is published with as the git connection. */
  readonly repositories: Set<string>;
}

async function publishedUsage(db: Database, orgId: string): Promise<Map<string, Usage>> {
  const rows = await db
    .select({
      model: profileVersions.modelConnectionId,
      git: profileVersions.gitConnectionId,
      repositories: profileVersions.repositories,
      connectors: profileVersions.connectorBindings,
    })
    .from(profileVersions)
    .innerJoin(sandboxProfiles, eq(sandboxProfiles.id, profileVersions.profileId))
    .where(
      and(
        eq(profileVersions.orgId, orgId),
        eq(profileVersions.status, 'published'),
        isNull(sandboxProfiles.archivedAt),
      ),
    );
  const usage = new Map<string, Usage>();
  const of = (id: string): Usage => {
    const found = usage.get(id);
    if (found !== undefined) return found;
    const fresh: Usage = { everything: false, repositories: new Set() };
    usage.set(id, fresh);
    return fresh;
  };
  for (const row of rows) {
    if (row.model !== null) of(row.model).everything = true;
    for (const binding of row.connectors) of(binding.connectionId).everything = true;
    if (row.git !== null) {
      const git = of(row.git);
      if (row.repositories.length === 0) git.everything = true;
      for (const repo of row.repositories) git.repositories.add(repo.repository.toLowerCase());
    }
  }
  return usage;
}

const refusal = (path: string, message: string): FieldError => ({
  path,
  message,
  code: 'connection_not_usable',
});

/** Why `role` may not run this draft's setup test, one entry per binding at fault; empty when it may. */
export async function setupTestRefusals(
  db: Database,
  input: { readonly orgId: string; readonly role: Role; readonly version: VersionRow },
): Promise<FieldError[]> {
  if (can(input.role, 'profiles.publish')) return [];
  const { version } = input;
  const usage = await publishedUsage(db, input.orgId);
  const unpublished = (id: string) => `no published profile uses connection ${id}`;
  const errors: FieldError[] = [];
  if (version.modelConnectionId !== null && usage.get(version.modelConnectionId)?.everything !== true)
    errors.push(refusal('modelConnectionId', unpublished(version.modelConnectionId)));
  version.connectorBindings.forEach((binding, i) => {
    if (usage.get(binding.connectionId)?.everything !== true)
      errors.push(refusal(`connectorBindings.${i}.connectionId`, unpublished(binding.connectionId)));
  });
  if (version.gitConnectionId !== null) {
    const git = usage.get(version.gitConnectionId);
    if (git === undefined) errors.push(refusal('gitConnectionId', unpublished(version.gitConnectionId)));
    else if (!git.everything && version.repositories.length === 0)
      errors.push(
        refusal(
          'gitConnectionId',
          `without repositories its token would cover every repository; published profiles use connection ${version.gitConnectionId} for ${[...git.repositories].sort().join(', ')} only`,
        ),
      );
    else if (!git.everything)
      version.repositories.forEach((repo, i) => {
        if (!git.repositories.has(repo.repository.toLowerCase()))
          errors.push(
            refusal(
              `repositories.${i}.repository`,
              `no published profile uses connection ${version.gitConnectionId} for ${repo.repository}`,
            ),
          );
      });
  }
  return errors;
}

/** The requester's current role in the org, or null when they are no longer a member. */
export async function roleOf(db: Database, orgId: string, userId: string): Promise<Role | null> {
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  return row?.role ?? null;
}

export function refusalSummary(role: Role, errors: readonly FieldError[]): string {
  return `A ${role} may not publish, so a setup test may bind only connections published profiles already use: ${errors
    .map((e) => `${e.path}: ${e.message}`)
    .join('; ')}.`;
}
