import type { Role } from '@airlock/schema/api';
import { connections, profileVersions, sandboxProfiles, snapshots } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginBuild } from '../../builds/build-record.ts';
import { Sealer } from '../../lib/crypto.ts';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Attack: a member (who may edit drafts but not publish) binds the org's
// connections to a draft and runs whatever setup script they like against
// them through "Test setup script" — the org's GitHub credential for every
// repository, a model key no published profile uses. A setup test runs with
// the authority of publishing (ADR 0120): someone who may publish runs any
// draft; anyone else only a draft whose bindings a published profile already
// gives them (they could start a session of it). The check is repeated when
// the build begins, so editing the draft after asking does not slip past it.

const h = new Harness();
let w: World;
/** github_pat bound by a published version of another profile, for acme/widgets only. */
let git: string;
/** A connector bound by that published version. */
let connector: string;
/** A model connection no published version uses. */
let unpublishedModel: string;
/** A connector only an archived profile's published version uses. */
let archivedConnector: string;

async function seedConnection(
  integration: string,
  config: Record<string, string>,
  credential: Record<string, string>,
): Promise<string> {
  const id = newId('connection');
  const sealed = await new Sealer(h.config.integrations).seal(JSON.stringify(credential), id);
  await h
    .db()
    .insert(connections)
    .values({
      id,
      orgId: w.orgId,
      integration,
      name: `${integration} ${id.slice(-8)}`,
      config,
      credentialCiphertext: sealed.ciphertext,
      credentialNonce: sealed.nonce,
      credentialKeyVersion: sealed.keyVersion,
    });
  return id;
}

type Bindings = Partial<
  Pick<
    typeof profileVersions.$inferInsert,
    'modelConnectionId' | 'gitConnectionId' | 'repositories' | 'connectorBindings'
  >
>;

/** A profile with a published version (`bindings`), optionally archived. */
async function publishedProfile(bindings: Bindings, archived = false): Promise<void> {
  const profileId = newId('profile');
  await h
    .db()
    .insert(sandboxProfiles)
    .values({
      id: profileId,
      orgId: w.orgId,
      name: `pub ${profileId}`,
      archivedAt: archived ? new Date() : null,
    });
  await h
    .db()
    .insert(profileVersions)
    .values({
      id: newId('profileVersion'),
      profileId,
      orgId: w.orgId,
      number: 1,
      status: 'published',
      publishedAt: new Date(),
      modelConnectionId: w.connectionId,
      ...bindings,
    });
}

/** A fresh profile whose draft binds `bindings` and has a setup script. */
async function draft(bindings: Bindings): Promise<{ profileId: string; versionId: string }> {
  const profileId = newId('profile');
  const versionId = newId('profileVersion');
  await h
    .db()
    .insert(sandboxProfiles)
    .values({ id: profileId, orgId: w.orgId, name: `draft ${profileId}` });
  await h
    .db()
    .insert(profileVersions)
    .values({
      id: versionId,
      profileId,
      orgId: w.orgId,
      number: 1,
      setupScript: 'curl -s https://api.github.com/user/repos',
      modelConnectionId: w.connectionId,
      ...bindings,
      createdAt: new Date(h.now - 60_000),
      updatedAt: new Date(h.now - 60_000),
    });
  return { profileId, versionId };
}

interface Problem {
  code: string;
  detail: string;
  permission?: string;
  errors?: { path: string; code: string; message: string }[];
}

async function runTest(role: Role, bindings: Bindings) {
  const { profileId, versionId } = await draft(bindings);
  return h.call<Problem & { id: string; kind: string }>(
    'POST',
    `/orgs/${w.orgId}/profiles/${profileId}/versions/${versionId}/setup-tests`,
    { cookie: w.people[role].cookie },
  );
}

beforeAll(async () => {
  w = await createWorld(h);
  git = await seedConnection('github_pat', {}, { token: h.secret(`ghp_${'s'.repeat(36)}`) });
  connector = await seedConnection(
    'http_api_key',
    { base_url: 'https://tools.example.com', placement: 'header', target: 'X-Api-Key' },
    { api_key: h.secret('tools-key-0001') },
  );
  unpublishedModel = await seedConnection('openai', {}, { api_key: h.secret('sk-unpublished-model-0001') });
  archivedConnector = await seedConnection(
    'http_api_key',
    { base_url: 'https://old.example.com', placement: 'header', target: 'X-Api-Key' },
    { api_key: h.secret('old-key-0001') },
  );
  await publishedProfile({
    gitConnectionId: git,
    repositories: [{ repository: 'acme/widgets' }],
    connectorBindings: [{ connectionId: connector }],
  });
  await publishedProfile({ connectorBindings: [{ connectionId: archivedConnector }] }, true);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const CASES: {
  readonly name: string;
  readonly bindings: () => Bindings;
  /** Where the member's refusal points. */
  readonly refused?: string;
}[] = [
  {
    name: 'bindings a published profile already uses',
    bindings: () => ({
      gitConnectionId: git,
      repositories: [{ repository: 'acme/widgets' }],
      connectorBindings: [{ connectionId: connector }],
    }),
  },
  {
    name: 'a model connection no published profile uses',
    bindings: () => ({ modelConnectionId: unpublishedModel }),
    refused: 'modelConnectionId',
  },
  {
    name: 'a repository the git connection is not published for',
    bindings: () => ({
      gitConnectionId: git,
      repositories: [{ repository: 'acme/widgets' }, { repository: 'acme/payroll' }],
    }),
    refused: 'repositories.1.repository',
  },
  {
    name: 'the git connection for every repository (none listed)',
    bindings: () => ({ gitConnectionId: git }),
    refused: 'gitConnectionId',
  },
  {
    name: 'a connector only an archived profile uses',
    bindings: () => ({ connectorBindings: [{ connectionId: archivedConnector }] }),
    refused: 'connectorBindings.0.connectionId',
  },
];

describe('who may run a setup test against which connections', () => {
  for (const c of CASES)
    it(`${c.name}: owner and admin may; a member ${c.refused === undefined ? 'may' : 'gets 403'}`, async () => {
      for (const role of ['owner', 'admin'] as const) {
        const reply = await runTest(role, c.bindings());
        expect(reply.status, `${role}: ${reply.text}`).toBe(201);
      }
      const member = await runTest('member', c.bindings());
      if (c.refused === undefined) {
        expect(member.status, member.text).toBe(201);
        expect(member.json.kind).toBe('setup_test');
        return;
      }
      expect(member.status, member.text).toBe(403);
      expect(member.headers.get('content-type')).toBe('application/problem+json');
      expect(member.json).toMatchObject({ code: 'forbidden', permission: 'profiles.publish' });
      expect(member.json.errors).toContainEqual(
        expect.objectContaining({ path: c.refused, code: 'connection_not_usable' }),
      );
      expect(member.json.detail).toContain('publish');
    });
});

describe('when the build begins', () => {
  /** A pending setup test as the API would have written it, `ageMs` ago. */
  async function pendingTest(versionId: string, createdBy: string, ageMs: number): Promise<string> {
    const id = newId('snapshot');
    await h
      .db()
      .insert(snapshots)
      .values({
        id,
        orgId: w.orgId,
        profileVersionId: versionId,
        kind: 'setup_test',
        provider: 'docker',
        createdBy,
        createdAt: new Date(h.now - ageMs),
      });
    return id;
  }

  it('refuses a draft edited after the test was asked for', async () => {
    const { versionId } = await draft({});
    const snapshotId = await pendingTest(versionId, w.people.admin.userId, 30_000);
    // The draft changes after the request (as a member's PATCH racing the build would).
    await h
      .db()
      .update(profileVersions)
      .set({ modelConnectionId: unpublishedModel, updatedAt: new Date(h.now) })
      .where(eq(profileVersions.id, versionId));
    const outcome = await beginBuild(h.db(), h.config, snapshotId);
    expect(outcome).toMatchObject({ ok: false, finished: false });
    expect(outcome.ok ? '' : 'reason' in outcome ? outcome.reason : '').toContain('changed after');
  });

  it("refuses a requester who may no longer use the draft's connections", async () => {
    const { versionId } = await draft({ modelConnectionId: unpublishedModel });
    // Asked for while an admin; a member now (role changed, or the row forged).
    const snapshotId = await pendingTest(versionId, w.people.member.userId, 1_000);
    const outcome = await beginBuild(h.db(), h.config, snapshotId);
    expect(outcome).toMatchObject({ ok: false, finished: false });
    expect(outcome.ok ? '' : 'reason' in outcome ? outcome.reason : '').toContain('modelConnectionId');
  });

  it('lets an unchanged, permitted draft through', async () => {
    const { versionId } = await draft({ connectorBindings: [{ connectionId: connector }] });
    const snapshotId = await pendingTest(versionId, w.people.member.userId, 1_000);
    const outcome = await beginBuild(h.db(), h.config, snapshotId);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  });
});
