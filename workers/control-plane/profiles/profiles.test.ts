import { profileVersions, snapshots } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Profiles: one draft at a time, publish freezes a version (the database
// refuses later writes; the API maps that to 409), creates a pending
// snapshot, and opens the next draft. Draft mistakes are 422s that name the
// field at fault.

const h = new Harness();
let w: World;
let anthropicId: string;
let githubId: string;
beforeAll(async () => {
  w = await createWorld(h);
  const create = async (body: unknown) =>
    (
      await h.call<{ id: string }>('POST', `/orgs/${w.orgId}/connections`, {
        cookie: w.people.owner.cookie,
        body,
      })
    ).json.id;
  anthropicId = await create({
    integration: 'anthropic',
    name: 'Claude',
    credentials: { api_key: h.secret('sk-ant-profile-test-1') },
  });
  githubId = await create({
    integration: 'github_pat',
    name: 'GitHub',
    credentials: { token: h.secret('ghp_profileTestToken0123456789') },
  });
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

interface Version {
  id: string;
  number: number;
  status: string;
}
interface Problem {
  code: string;
  detail: string;
  errors: { path: string; code: string; message: string }[];
}

describe('profiles', () => {
  it('create with a draft, reject inconsistent drafts with field errors, publish, and freeze', async () => {
    const cookie = w.people.admin.cookie;
    const profile = await h.call<{ id: string; draftVersionId: string }>(
      'POST',
      `/orgs/${w.orgId}/profiles`,
      {
        cookie,
        body: { name: 'API', description: 'backend' },
      },
    );
    expect(profile.status).toBe(201);
    const base = `/orgs/${w.orgId}/profiles/${profile.json.id}`;
    const draft = `${base}/versions/${profile.json.draftVersionId}`;

    const wrongModel = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { agentRuntime: 'codex', modelConnectionId: anthropicId },
    });
    expect(wrongModel.status).toBe(422);
    expect(wrongModel.json.errors).toEqual([
      expect.objectContaining({ path: 'modelConnectionId', code: 'RUNTIME_INCOMPATIBLE' }),
    ]);
    const reposWithoutGit = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { repositories: [{ repository: 'acme/api' }] },
    });
    expect(reposWithoutGit.json.errors).toEqual([
      expect.objectContaining({ path: 'gitConnectionId', code: 'GIT_CONNECTION_REQUIRED' }),
    ]);
    const foreignConnection = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { gitConnectionId: 'con_01JD0000000000000000000000' },
    });
    expect(foreignConnection.json.errors).toEqual([
      expect.objectContaining({ path: 'gitConnectionId', code: 'CONNECTION_MISSING' }),
    ]);
    const badHost = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { egressAllowlist: ['Not A Host'] },
    });
    expect(badHost.status).toBe(422);
    expect(badHost.json.errors[0]?.path).toBe('egressAllowlist.0');
    const brokered = await h.call<Problem>('PATCH', draft, {
      cookie,
      body: { modelConnectionId: w.connectionId, egressAllowlist: ['api.openai.com'] },
    });
    expect(brokered.json.errors).toEqual([
      expect.objectContaining({ path: 'egressAllowlist.0', code: 'PASSTHROUGH_CONFLICT' }),
    ]);

    const incomplete = await h.call<Problem>('POST', `${draft}/publish`, { cookie });
    expect(incomplete.status).toBe(422);
    expect(incomplete.json.errors).toEqual([
      expect.objectContaining({ path: 'modelConnectionId', code: 'MODEL_CONNECTION_REQUIRED' }),
    ]);

    const edited = await h.call<Version>('PATCH', draft, {
      cookie,
      body: {
        agentRuntime: 'claude-code',
        modelConnectionId: anthropicId,
        gitConnectionId: githubId,
        repositories: [{ repository: 'acme/api' }],
        egressAllowlist: ['packages.example.com'],
        setupScript: 'npm ci',
        stopSessionOnLeak: true,
      },
    });
    expect(edited.status, edited.text).toBe(200);

    const published = await h.call<{
      published: Version;
      snapshot: { id: string; status: string; profileVersionId: string };
      draft: Version;
    }>('POST', `${draft}/publish`, { cookie });
    expect(published.status, published.text).toBe(201);
    expect(published.json.published).toMatchObject({
      status: 'published',
      number: 1,
      stopSessionOnLeak: true,
    });
    expect(published.json.draft).toMatchObject({ status: 'draft', number: 2, stopSessionOnLeak: true });
    expect(published.json.snapshot.profileVersionId).toBe(published.json.published.id);
    expect(['pending', 'failed']).toContain(published.json.snapshot.status);

    // Frozen: the database trigger refuses the write, the API answers 409.
    const frozen = await h.call<Problem>('PATCH', draft, { cookie, body: { setupScript: 'rm -rf /' } });
    expect(frozen.status).toBe(409);
    expect(frozen.json.detail).toContain('immutable');
    expect((await h.call('POST', `${draft}/publish`, { cookie })).status).toBe(409);
    const [row] = await h
      .db()
      .select()
      .from(profileVersions)
      .where(eq(profileVersions.id, published.json.published.id));
    expect(row?.setupScript).toBe('npm ci');

    // Exactly one draft, enforced by the database.
    const drafts = await h
      .db()
      .select()
      .from(profileVersions)
      .where(and(eq(profileVersions.profileId, profile.json.id), eq(profileVersions.status, 'draft')));
    expect(drafts).toHaveLength(1);

    const plan = await h.call<{
      egressRoutes: { integration: string; credential: { connectionId: string } }[];
      env: Record<string, string>;
      stopSessionOnLeak: boolean;
    }>('GET', `${base}/versions/${published.json.published.id}/plan`, { cookie: w.people.member.cookie });
    expect(plan.status, plan.text).toBe(200);
    expect(plan.json.egressRoutes.map((r) => r.integration).sort()).toEqual([
      'anthropic',
      'github_pat',
      'github_pat',
      'github_pat',
    ]);
    expect(plan.json.env.ANTHROPIC_API_KEY).toBe('airlock-brokered');
    expect(plan.json.stopSessionOnLeak).toBe(true);

    const versions = await h.call<{ items: Version[] }>('GET', `${base}/versions`, {
      cookie: w.people.member.cookie,
    });
    expect(versions.json.items.map((v) => [v.number, v.status])).toEqual([
      [2, 'draft'],
      [1, 'published'],
    ]);
  });

  it('serve snapshot status and logs with a cursor', async () => {
    const db = h.db();
    await db.update(snapshots).set({ status: 'building' }).where(eq(snapshots.id, w.snapshotId));
    const { snapshotLogs } = await import('@airlock/schema/db');
    await db.insert(snapshotLogs).values(
      Array.from({ length: 5 }, (_, i) => ({
        snapshotId: w.snapshotId,
        seq: i + 1,
        stream: 'stdout' as const,
        text: `line ${i + 1}`,
      })),
    );
    const first = await h.call<{ lines: { seq: number; text: string }[]; nextAfter: number; done: boolean }>(
      'GET',
      `/orgs/${w.orgId}/snapshots/${w.snapshotId}/logs?limit=3`,
      { cookie: w.people.member.cookie },
    );
    expect(first.json.lines.map((l) => l.text)).toEqual(['line 1', 'line 2', 'line 3']);
    expect(first.json.done).toBe(false);
    const rest = await h.call<{ lines: { seq: number }[]; nextAfter: number; done: boolean }>(
      'GET',
      `/orgs/${w.orgId}/snapshots/${w.snapshotId}/logs?after=${first.json.nextAfter}`,
      { cookie: w.people.member.cookie },
    );
    expect(rest.json.lines.map((l) => l.seq)).toEqual([4, 5]);
    expect(rest.json.done).toBe(false);
    await db.update(snapshots).set({ status: 'ready' }).where(eq(snapshots.id, w.snapshotId));
    const done = await h.call<{ done: boolean }>(
      'GET',
      `/orgs/${w.orgId}/snapshots/${w.snapshotId}/logs?after=5`,
      {
        cookie: w.people.member.cookie,
      },
    );
    expect(done.json.done).toBe(true);
    const snapshot = await h.call<{ status: string }>('GET', `/orgs/${w.orgId}/snapshots/${w.snapshotId}`, {
      cookie: w.people.member.cookie,
    });
    expect(snapshot.json.status).toBe('ready');
  });
});
