import { SESSION_STATUSES, type SessionStatus } from '@airlock/schema/api';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { SelectField } from '../ui/field.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';
import { StartSessionButton } from './start-session.tsx';

// Sessions, newest first, with live status (polled while any is in flight),
// and a start form for any published profile.

const LIVE: readonly SessionStatus[] = ['pending', 'provisioning', 'starting', 'running', 'stopping'];

export function SessionsPage() {
  const { orgId, can } = useOrg();
  const [status, setStatus] = useState<SessionStatus | ''>('');
  const sessions = useInfiniteQuery({
    queryKey: ['sessions', orgId, status],
    queryFn: ({ pageParam }) =>
      api.sessions(orgId, {
        ...(status === '' ? {} : { status }),
        ...(pageParam === '' ? {} : { cursor: pageParam }),
      }),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.items.some((s) => LIVE.includes(s.status))) ? 3000 : false,
  });
  const profiles = useQuery({ queryKey: ['profiles', orgId], queryFn: () => api.profiles(orgId) });
  const names = new Map((profiles.data?.items ?? []).map((p) => [p.id, p.name]));
  const startable = (profiles.data?.items ?? []).filter((p) => p.latestPublished !== null);
  const [profileId, setProfileId] = useState('');
  const chosen = startable.find((p) => p.id === profileId) ?? startable[0];
  const rows = sessions.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <>
      <PageHeader title="Sessions">
        Agents running in sandboxes. Open one to watch or type in its terminal and see every request it makes.
      </PageHeader>
      {can('sessions.start') && (
        <section className="toolbar" aria-label="Start a session">
          {startable.length === 0 ? (
            <p className="muted">
              {profiles.isPending ? 'Loading profiles…' : 'No published profile yet. '}
              {!profiles.isPending && (
                <Link to="/orgs/$orgId/profiles" params={{ orgId }}>
                  Publish a profile
                </Link>
              )}
              {!profiles.isPending && ' to start sessions from it.'}
            </p>
          ) : (
            <>
              <SelectField
                label="Profile"
                value={chosen?.id ?? ''}
                onChange={(e) => setProfileId(e.target.value)}
              >
                {startable.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name} (v{p.latestPublished?.number})
                  </option>
                ))}
              </SelectField>
              {chosen !== undefined && <StartSessionButton key={chosen.id} profile={chosen} />}
            </>
          )}
        </section>
      )}
      <div className="toolbar">
        <SelectField
          label="Status"
          value={status}
          onChange={(e) => setStatus(e.target.value as SessionStatus | '')}
        >
          <option value="">Any</option>
          {SESSION_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
      </div>
      <ProblemAlert error={sessions.error} />
      {sessions.isPending ? (
        <Loading what="sessions" />
      ) : rows.length === 0 ? (
        <EmptyState title={status === '' ? 'No sessions yet' : `No ${status} sessions`}>
          {status === ''
            ? 'Start one from a published profile above; its terminal opens in the browser.'
            : 'Try another status filter.'}
        </EmptyState>
      ) : (
        <Table caption="Sessions" columns={['Session', 'Profile', 'Status', 'Mode', 'Started']}>
          {rows.map((s) => (
            <tr key={s.id}>
              <td>
                <Link to="/orgs/$orgId/sessions/$sessionId" params={{ orgId, sessionId: s.id }}>
                  <code>{s.id}</code>
                </Link>
              </td>
              <td>{names.get(s.profileId) ?? s.profileId}</td>
              <td>
                <StatusBadge status={s.status} />
                {s.leakBlockedAt !== null && (
                  <>
                    {' '}
                    <StatusBadge status="leak_blocked" label="leak blocked" />
                  </>
                )}
              </td>
              <td>{s.triggerId === null ? s.mode : `${s.mode} (trigger)`}</td>
              <td>
                <Time iso={s.createdAt} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      {sessions.hasNextPage && (
        <Button busy={sessions.isFetchingNextPage} onClick={() => void sessions.fetchNextPage()}>
          Older sessions
        </Button>
      )}
    </>
  );
}
