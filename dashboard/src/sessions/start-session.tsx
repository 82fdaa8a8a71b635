import type { Profile, Snapshot } from '@airlock/schema/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useId } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { Button } from '../ui/button.tsx';

// Starting a session of a profile's latest published version. The button is
// disabled, with the reason next to it, until that version's snapshot is
// ready — the same rule the API enforces with a 409.

export function startBlocker(profile: Profile, snapshot: Snapshot | undefined): string | null {
  if (profile.archivedAt !== null) return 'The profile is archived.';
  if (profile.latestPublished === null)
    return 'Publish the draft first: sessions start from a published version.';
  if (snapshot === undefined) return `Version ${profile.latestPublished.number} has no snapshot yet.`;
  switch (snapshot.status) {
    case 'ready':
      return null;
    case 'failed':
      return `The snapshot of v${profile.latestPublished.number} failed${snapshot.failureReason === null ? '' : `: ${snapshot.failureReason}`}. Rebuild it from the Snapshots tab.`;
    default:
      return `The snapshot of v${profile.latestPublished.number} is ${snapshot.status}; sessions can start once it is ready.`;
  }
}

export function useLatestSnapshot(profile: Profile | undefined) {
  const { orgId } = useOrg();
  const versionId = profile?.latestPublished?.id;
  return useQuery({
    queryKey: ['snapshots', orgId, versionId],
    queryFn: () => api.snapshots(orgId, versionId),
    enabled: versionId !== undefined,
    select: (page) => page.items.find((s) => s.kind === 'snapshot'),
    refetchInterval: (query) => {
      const latest = query.state.data?.items.find((s) => s.kind === 'snapshot');
      return latest === undefined || latest.status === 'pending' || latest.status === 'building'
        ? 2000
        : false;
    },
  });
}

export function StartSessionButton({
  profile,
  label = 'Start session',
}: {
  profile: Profile;
  label?: string;
}) {
  const { orgId, can } = useOrg();
  const reasonId = useId();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const snapshot = useLatestSnapshot(profile);
  const start = useMutation({
    mutationFn: () => api.startSession(orgId, { profileId: profile.id }, crypto.randomUUID()),
    onSuccess: async (session) => {
      await queryClient.invalidateQueries({ queryKey: ['sessions', orgId] });
      await navigate({ to: '/orgs/$orgId/sessions/$sessionId', params: { orgId, sessionId: session.id } });
    },
  });
  if (!can('sessions.start')) return null;
  const loading = profile.latestPublished !== null && snapshot.isPending;
  const blocker = loading ? 'Checking the snapshot…' : startBlocker(profile, snapshot.data);
  return (
    <div className="start-session">
      <Button
        variant="primary"
        busy={start.isPending}
        disabled={blocker !== null}
        aria-describedby={blocker === null ? undefined : reasonId}
        onClick={() => start.mutate()}
      >
        {label}
      </Button>
      {blocker !== null && (
        <p id={reasonId} className="muted small start-reason">
          {blocker}
        </p>
      )}
      <ProblemAlert error={start.error} />
    </div>
  );
}
