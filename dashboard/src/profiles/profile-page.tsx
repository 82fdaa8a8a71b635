import type { ProfileVersion, Snapshot } from '@airlock/schema/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useCallback, useMemo, useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { integrationsQuery } from '../connections/connections-page.tsx';
import { StartSessionButton } from '../sessions/start-session.tsx';
import { Notice, ProblemAlert } from '../ui/alert.tsx';
import { Button } from '../ui/button.tsx';
import { Dialog } from '../ui/dialog.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { Tabs } from '../ui/tabs.tsx';
import { DiffView } from './diff-view.tsx';
import { DraftEditor } from './draft-editor.tsx';
import type { ProfileTab } from './profile-tabs.ts';
import { SnapshotLog } from './snapshot-log.tsx';
import { SnapshotsTab } from './snapshots-tab.tsx';
import { TriggersTab } from './triggers-tab.tsx';
import { diffVersions } from './version-diff.ts';
import { VersionsTab } from './versions-tab.tsx';

// One profile: the draft editor, the published versions (read-only, with
// their diffs), snapshots with live build logs, and the triggers that start
// it. The tab is in the URL so every view can be linked and reloaded.

export function ProfilePage() {
  const { orgId, can } = useOrg();
  const { profileId } = useParams({ from: '/orgs/$orgId/profiles/$profileId' });
  const search = useSearch({ from: '/orgs/$orgId/profiles/$profileId' });
  const navigate = useNavigate({ from: '/orgs/$orgId/profiles/$profileId' });
  const tab: ProfileTab = search.tab ?? 'draft';
  const queryClient = useQueryClient();

  const profile = useQuery({
    queryKey: ['profile', orgId, profileId],
    queryFn: () => api.profile(orgId, profileId),
  });
  const versions = useQuery({
    queryKey: ['versions', orgId, profileId],
    queryFn: () => api.versions(orgId, profileId),
  });
  const connections = useQuery({ queryKey: ['connections', orgId], queryFn: () => api.connections(orgId) });
  const catalog = useQuery(integrationsQuery);
  const [dirty, setDirty] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [setupTest, setSetupTest] = useState<Snapshot | null>(null);
  const [published, setPublished] = useState<Snapshot | null>(null);
  const onDirtyChange = useCallback((d: boolean) => setDirty(d), []);

  const all = versions.data?.items ?? [];
  const draft = all.find((v) => v.status === 'draft');
  const latest = all.find((v) => v.status === 'published');
  const names = useMemo(
    () => new Map((connections.data?.items ?? []).map((c) => [c.id, c])),
    [connections.data],
  );

  const refresh = async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: ['versions', orgId, profileId] }),
      queryClient.invalidateQueries({ queryKey: ['profile', orgId, profileId] }),
      queryClient.invalidateQueries({ queryKey: ['profiles', orgId] }),
      queryClient.invalidateQueries({ queryKey: ['snapshots', orgId] }),
    ]);
  };
  const testScript = useMutation({
    mutationFn: (v: ProfileVersion) => api.testSetupScript(orgId, profileId, v.id),
    onSuccess: (snapshot) => setSetupTest(snapshot),
  });
  const publish = useMutation({
    mutationFn: (v: ProfileVersion) => api.publish(orgId, profileId, v.id),
    onSuccess: async (result) => {
      setPublishing(false);
      setPublished(result.snapshot);
      await refresh();
    },
  });

  if (profile.isPending || versions.isPending) return <Loading what="the profile" />;
  if (profile.data === undefined) return <ProblemAlert error={profile.error} />;
  const p = profile.data;
  const select = (next: ProfileTab) => void navigate({ search: { tab: next } });

  return (
    <>
      <PageHeader
        title={p.name}
        actions={
          <>
            {draft !== undefined && can('profiles.publish') && (
              <Button
                variant="secondary"
                disabled={dirty}
                title={dirty ? 'Save the draft first' : undefined}
                onClick={() => {
                  publish.reset();
                  setPublishing(true);
                }}
              >
                Publish v{draft.number}…
              </Button>
            )}
            <StartSessionButton profile={p} />
          </>
        }
      >
        {p.description !== '' ? `${p.description} · ` : ''}
        {latest === undefined ? 'Not published yet' : `Latest published: v${latest.number}`}
      </PageHeader>
      <ProblemAlert error={versions.error ?? connections.error} />
      {published !== null && (
        <div className="section">
          <Notice tone="success">Published. Sessions can start once its snapshot is ready.</Notice>
          <SnapshotLog orgId={orgId} snapshot={published} title="Snapshot build" />
        </div>
      )}

      <Tabs
        label="Profile"
        selected={tab}
        onSelect={select}
        tabs={[
          { key: 'draft', label: draft === undefined ? 'Draft' : `Draft (v${draft.number})` },
          { key: 'versions', label: 'Versions' },
          { key: 'snapshots', label: 'Snapshots' },
          { key: 'triggers', label: 'Triggers' },
        ]}
      >
        {tab === 'draft' &&
          (draft === undefined ? (
            <p>This profile has no draft (it is archived).</p>
          ) : (
            <>
              <DraftEditor
                version={draft}
                connections={connections.data?.items ?? []}
                integrations={catalog.data?.items ?? []}
                testing={
                  testScript.isPending || setupTest?.status === 'pending' || setupTest?.status === 'building'
                }
                onTestScript={() => testScript.mutate(draft)}
                onDirtyChange={onDirtyChange}
              />
              <ProblemAlert error={testScript.error} title="Setup script test" />
              {setupTest !== null && (
                <SnapshotLog
                  key={setupTest.id}
                  orgId={orgId}
                  snapshot={setupTest}
                  title="Setup script test"
                />
              )}
            </>
          ))}
        {tab === 'versions' && <VersionsTab versions={all} names={names} selectedId={search.version} />}
        {tab === 'snapshots' && <SnapshotsTab profileId={profileId} versions={all} />}
        {tab === 'triggers' && <TriggersTab profileId={profileId} />}
      </Tabs>

      {draft !== undefined && (
        <Dialog
          open={publishing}
          title={`Publish version ${draft.number}`}
          onClose={() => setPublishing(false)}
          wide
        >
          <p>
            Publishing freezes version {draft.number}, builds its snapshot, and opens version{' '}
            {draft.number + 1} as the new draft. New sessions and triggers use it once its snapshot is ready.
          </p>
          <DiffView
            diff={diffVersions(latest ?? null, draft, names)}
            beforeLabel={latest === undefined ? 'nothing published' : `v${latest.number}`}
            afterLabel={`v${draft.number}`}
          />
          <ProblemAlert error={publish.error} />
          <div className="row">
            <Button variant="primary" busy={publish.isPending} onClick={() => publish.mutate(draft)}>
              Publish v{draft.number}
            </Button>
            <Button onClick={() => setPublishing(false)}>Cancel</Button>
          </div>
        </Dialog>
      )}
    </>
  );
}
