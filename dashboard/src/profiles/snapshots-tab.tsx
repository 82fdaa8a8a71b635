import type { ProfileVersion } from '@airlock/schema/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { Loading } from '../ui/loading.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';
import { SnapshotLog } from './snapshot-log.tsx';

/** Snapshots (and setup tests) of this profile's versions; pick one to follow its log. */
export function SnapshotsTab({
  profileId,
  versions,
}: {
  profileId: string;
  versions: readonly ProfileVersion[];
}) {
  const { orgId, can } = useOrg();
  const queryClient = useQueryClient();
  const snapshots = useQuery({
    queryKey: ['snapshots', orgId],
    queryFn: () => api.snapshots(orgId),
    refetchInterval: (q) =>
      q.state.data?.items.some((s) => s.status === 'pending' || s.status === 'building') ? 2000 : false,
  });
  const numbers = new Map(versions.map((v) => [v.id, v.number]));
  const mine = (snapshots.data?.items ?? []).filter((s) => numbers.has(s.profileVersionId));
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const selected = mine.find((s) => s.id === selectedId) ?? mine[0];
  const rebuild = useMutation({
    mutationFn: (versionId: string) => api.rebuildSnapshot(orgId, profileId, versionId),
    onSuccess: async (snapshot) => {
      setSelectedId(snapshot.id);
      await queryClient.invalidateQueries({ queryKey: ['snapshots', orgId] });
    },
  });
  if (snapshots.isPending) return <Loading what="snapshots" />;
  if (mine.length === 0)
    return (
      <>
        <ProblemAlert error={snapshots.error} />
        <EmptyState title="No snapshots yet">
          Publishing a version builds its snapshot; its log appears here.
        </EmptyState>
      </>
    );
  return (
    <div className="stack">
      <Table caption="Snapshots" columns={['Version', 'Kind', 'Status', 'Created']}>
        {mine.map((s) => (
          <tr
            key={s.id}
            aria-selected={s.id === selected?.id}
            className={s.id === selected?.id ? 'selected' : undefined}
          >
            <td>
              <button type="button" className="link" onClick={() => setSelectedId(s.id)}>
                v{numbers.get(s.profileVersionId)}
              </button>
            </td>
            <td>{s.kind === 'setup_test' ? 'setup test' : 'snapshot'}</td>
            <td>
              <StatusBadge status={s.status} />
            </td>
            <td>
              <Time iso={s.createdAt} />
            </td>
          </tr>
        ))}
      </Table>
      {selected !== undefined && (
        <div>
          <SnapshotLog
            key={selected.id}
            orgId={orgId}
            snapshot={selected}
            title={`${selected.kind === 'setup_test' ? 'Setup test' : 'Snapshot'} of v${numbers.get(selected.profileVersionId)}`}
          />
          {selected.kind === 'snapshot' && selected.status === 'failed' && can('profiles.publish') && (
            <Button busy={rebuild.isPending} onClick={() => rebuild.mutate(selected.profileVersionId)}>
              Rebuild snapshot
            </Button>
          )}
          <ProblemAlert error={rebuild.error} />
        </div>
      )}
    </div>
  );
}
