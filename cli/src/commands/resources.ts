import {
  Connection,
  ConnectionList,
  Me,
  Org,
  Profile,
  ProfileList,
  SESSION_STATUSES,
  Session,
  SessionEventList,
  SessionPage,
  Snapshot,
  SnapshotList,
  Trigger,
  TriggerList,
} from '@airlock/schema/api';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { CliError, when } from '../output.ts';

// `airlock <resource> list|show`: one table or record per resource, the API's
// JSON with --json. Profiles can be named by name as well as by id.

const segment = (value: string) => encodeURIComponent(value);

export async function listOrgs(ctx: Context): Promise<void> {
  const me = await ctx.api.request('GET', '/me', Me);
  ctx.out.list(
    me.memberships,
    me.memberships,
    [
      { header: 'ID', value: (m) => m.orgId },
      { header: 'NAME', value: (m) => m.orgName },
      { header: 'SLUG', value: (m) => m.orgSlug },
      { header: 'ROLE', value: (m) => m.role },
    ],
    'No orgs.',
  );
}

export async function showOrg(ctx: Context, id: string | undefined): Promise<void> {
  const org = await ctx.api.request('GET', `/orgs/${segment(id ?? (await ctx.orgId()))}`, Org);
  ctx.out.record(org, [
    ['id', org.id],
    ['name', org.name],
    ['slug', org.slug],
    ['your role', org.role],
    ['created', when(org.createdAt)],
  ]);
}

export async function listProfiles(ctx: Context): Promise<void> {
  const page = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/profiles`, ProfileList);
  ctx.out.list(
    page,
    page.items,
    [
      { header: 'ID', value: (p) => p.id },
      { header: 'NAME', value: (p) => p.name },
      {
        header: 'PUBLISHED',
        value: (p) => (p.latestPublished === null ? null : `v${p.latestPublished.number}`),
      },
      { header: 'UPDATED', value: (p) => when(p.updatedAt) },
    ],
    'No profiles yet: create one in the dashboard.',
  );
}

/** A profile by id (`prf_…`) or by its name. */
export async function findProfile(ctx: Context, ref: string): Promise<Profile> {
  const org = await ctx.orgId();
  if (/^prf_/.test(ref)) return ctx.api.request('GET', `/orgs/${org}/profiles/${segment(ref)}`, Profile);
  const page = await ctx.api.request('GET', `/orgs/${org}/profiles`, ProfileList);
  const matches = page.items.filter((p) => p.name.toLowerCase() === ref.toLowerCase());
  const [only] = matches;
  if (only === undefined || matches.length > 1)
    throw new CliError(
      matches.length > 1
        ? `${matches.length} profiles are named "${ref}"; use the id (airlock profiles list).`
        : `No profile named "${ref}" (airlock profiles list shows them).`,
    );
  return only;
}

export async function showProfile(ctx: Context, ref: string): Promise<void> {
  const p = await findProfile(ctx, ref);
  ctx.out.record(p, [
    ['id', p.id],
    ['name', p.name],
    ['description', p.description],
    [
      'published',
      p.latestPublished === null ? null : `v${p.latestPublished.number} (${p.latestPublished.id})`,
    ],
    ['draft', p.draftVersionId],
    ['created', when(p.createdAt)],
    ['updated', when(p.updatedAt)],
    ['archived', when(p.archivedAt)],
  ]);
}

const snapshotColumns = [
  { header: 'ID', value: (s: Snapshot) => s.id },
  { header: 'STATUS', value: (s: Snapshot) => s.status },
  { header: 'VERSION', value: (s: Snapshot) => s.profileVersionId },
  { header: 'PROVIDER', value: (s: Snapshot) => s.provider },
  { header: 'CREATED', value: (s: Snapshot) => when(s.createdAt) },
  { header: 'FAILURE', value: (s: Snapshot) => s.failureReason },
];

export async function listSnapshots(ctx: Context): Promise<void> {
  const page = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/snapshots`, SnapshotList);
  ctx.out.list(page, page.items, snapshotColumns, 'No snapshots yet: publish a profile version.');
}

export async function showSnapshot(ctx: Context, id: string): Promise<void> {
  const s = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/snapshots/${segment(id)}`, Snapshot);
  ctx.out.record(s, [
    ['id', s.id],
    ['status', s.status],
    ['kind', s.kind],
    ['version', s.profileVersionId],
    ['provider', s.provider],
    ['image', s.imageRef],
    ['exit code', s.exitCode],
    ['failure', s.failureReason],
    ['created', when(s.createdAt)],
    ['started', when(s.startedAt)],
    ['finished', when(s.finishedAt)],
  ]);
}

export const SessionStatus = z.enum(SESSION_STATUSES);

export async function listSessions(
  ctx: Context,
  options: { status?: string; limit?: number },
): Promise<void> {
  const status = options.status === undefined ? undefined : SessionStatus.safeParse(options.status);
  if (status !== undefined && !status.success)
    throw new CliError(`--status: one of ${SESSION_STATUSES.join(', ')}`, 2);
  const page = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/sessions`, SessionPage, {
    query: { status: status?.data, limit: options.limit },
  });
  ctx.out.list(
    page,
    page.items,
    [
      { header: 'ID', value: (s) => s.id },
      { header: 'STATUS', value: (s) => s.status },
      { header: 'MODE', value: (s) => s.mode },
      { header: 'PROFILE', value: (s) => s.profileId },
      { header: 'CREATED', value: (s) => when(s.createdAt) },
      { header: 'FAILURE', value: (s) => s.failureReason },
    ],
    'No sessions yet: airlock sessions start --profile NAME',
  );
}

export async function getSession(ctx: Context, id: string): Promise<Session> {
  return ctx.api.request('GET', `/orgs/${await ctx.orgId()}/sessions/${segment(id)}`, Session);
}

export async function showSession(ctx: Context, id: string): Promise<void> {
  const s = await getSession(ctx, id);
  const events = await ctx.api.request(
    'GET',
    `/orgs/${await ctx.orgId()}/sessions/${segment(id)}/events`,
    SessionEventList,
  );
  ctx.out.record({ ...s, events: events.items }, [
    ['id', s.id],
    ['status', s.status],
    ['mode', s.mode],
    ['profile', `${s.profileId} (version ${s.profileVersionId})`],
    ['snapshot', s.snapshotId],
    ['prompt', s.prompt],
    ['started by', s.startedBy ?? (s.triggerId === null ? null : `trigger ${s.triggerId}`)],
    ['provider', s.provider],
    ['failure', s.failureReason],
    ['created', when(s.createdAt)],
    ['started', when(s.startedAt)],
    ['stopped', when(s.stoppedAt)],
    ['history', events.items.map((e) => e.toStatus).join(' → ')],
  ]);
}

export async function listTriggers(ctx: Context): Promise<void> {
  const page = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/triggers`, TriggerList);
  ctx.out.list(
    page,
    page.items,
    [
      { header: 'ID', value: (t) => t.id },
      { header: 'NAME', value: (t) => t.name },
      { header: 'KIND', value: (t) => t.kind },
      { header: 'ENABLED', value: (t) => t.enabled },
      { header: 'PROFILE', value: (t) => t.profileId },
      { header: 'LAST FIRED', value: (t) => when(t.lastFiredAt) },
    ],
    'No triggers.',
  );
}

export async function showTrigger(ctx: Context, id: string): Promise<void> {
  const t = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/triggers/${segment(id)}`, Trigger);
  ctx.out.record(t, [
    ['id', t.id],
    ['name', t.name],
    ['kind', t.kind],
    ['enabled', t.enabled],
    ['profile', t.profileId],
    ['webhook url', t.webhookUrl],
    ['config', t.config],
    ['last fired', when(t.lastFiredAt)],
  ]);
}

export async function listConnections(ctx: Context): Promise<void> {
  const page = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/connections`, ConnectionList);
  ctx.out.list(
    page,
    page.items,
    [
      { header: 'ID', value: (c) => c.id },
      { header: 'NAME', value: (c) => c.name },
      { header: 'INTEGRATION', value: (c) => c.integration },
      { header: 'STATUS', value: (c) => c.status },
      { header: 'UPDATED', value: (c) => when(c.updatedAt) },
    ],
    'No connections yet: add one in the dashboard.',
  );
}

export async function showConnection(ctx: Context, id: string): Promise<void> {
  const c = await ctx.api.request('GET', `/orgs/${await ctx.orgId()}/connections/${segment(id)}`, Connection);
  ctx.out.record(c, [
    ['id', c.id],
    ['name', c.name],
    ['integration', c.integration],
    ['status', c.status],
    ['status reason', c.statusReason],
    ['config', c.config],
    ['stored credentials', c.credentialFields.join(', ')],
    ['created', when(c.createdAt)],
  ]);
}
