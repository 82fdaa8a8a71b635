import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// "Test setup script": a setup_test snapshot of the draft, followed through
// the snapshot log cursor; never of a published version, never empty, one at
// a time, and invisible to session starts (they use kind `snapshot` only).

const h = new Harness();
let w: World;
beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  await h.close();
});

interface Snapshot {
  id: string;
  kind: string;
  status: string;
  profileVersionId: string;
}

const path = (versionId: string) =>
  `/orgs/${w.orgId}/profiles/${w.profileId}/versions/${versionId}/setup-tests`;

describe('setup-script tests', () => {
  it('refuse an empty draft script and published versions with 409', async () => {
    const empty = await h.call<{ detail: string }>('POST', path(w.draftVersionId), {
      cookie: w.people.member.cookie,
    });
    expect(empty.status).toBe(409);
    expect(empty.json.detail).toContain('no setup script');
    const published = await h.call<{ detail: string }>('POST', path(w.publishedVersionId), {
      cookie: w.people.member.cookie,
    });
    expect(published.status).toBe(409);
    expect(published.json.detail).toContain('frozen');
  });

  it('create a setup_test snapshot of the draft whose logs follow like a build', async () => {
    const saved = await h.call(
      'PATCH',
      `/orgs/${w.orgId}/profiles/${w.profileId}/versions/${w.draftVersionId}`,
      {
        cookie: w.people.member.cookie,
        body: { setupScript: 'echo installing\nnpm ci\n' },
      },
    );
    expect(saved.status, saved.text).toBe(200);
    const reply = await h.call<Snapshot>('POST', path(w.draftVersionId), { cookie: w.people.member.cookie });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.json).toMatchObject({ kind: 'setup_test', profileVersionId: w.draftVersionId });
    const again = await h.call<{ detail: string; snapshotId: string }>('POST', path(w.draftVersionId), {
      cookie: w.people.member.cookie,
    });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ snapshotId: reply.json.id });
    expect(again.json.detail).toContain('still');
    const logs = await h.call<{ lines: { seq: number }[]; nextAfter: number }>(
      'GET',
      `/orgs/${w.orgId}/snapshots/${reply.json.id}/logs`,
      { cookie: w.people.member.cookie },
    );
    expect(logs.status).toBe(200);
    // The cursor to poll with next: the last line's seq, or still 0 before the first line.
    const lines = logs.json.lines;
    expect(logs.json.nextAfter).toBe(lines.at(-1)?.seq ?? 0);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
    // A session still starts from the published version's ready snapshot, not the test.
    const started = await h.call<{ snapshotId: string }>('POST', `/orgs/${w.orgId}/sessions`, {
      cookie: w.people.member.cookie,
      body: { profileId: w.profileId },
    });
    expect(started.json.snapshotId).toBe(w.snapshotId);
  });
});
