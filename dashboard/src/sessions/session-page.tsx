import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { TerminalView } from '../terminal/terminal-view.tsx';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { Time } from '../ui/time.tsx';
import { ActivityFeed } from './activity-feed.tsx';

// A session: its status (polled while it changes), the live terminal, what
// its sandbox reached for, and its status history.

const ENDED = new Set(['stopped', 'failed']);

export function SessionPage() {
  const { orgId, can } = useOrg();
  const { sessionId } = useParams({ from: '/orgs/$orgId/sessions/$sessionId' });
  const queryClient = useQueryClient();
  const [readOnly, setReadOnly] = useState(!can('sessions.start'));
  const session = useQuery({
    queryKey: ['session', orgId, sessionId],
    queryFn: () => api.session(orgId, sessionId),
    refetchInterval: (q) => (q.state.data !== undefined && ENDED.has(q.state.data.status) ? false : 3000),
  });
  const events = useQuery({
    queryKey: ['session-events', orgId, sessionId, session.data?.status],
    queryFn: () => api.sessionEvents(orgId, sessionId),
  });
  const profile = useQuery({
    queryKey: ['profile', orgId, session.data?.profileId],
    queryFn: () => api.profile(orgId, session.data?.profileId ?? ''),
    enabled: session.data !== undefined,
  });
  const stop = useMutation({
    mutationFn: () => api.stopSession(orgId, sessionId),
    onSuccess: (updated) => {
      queryClient.setQueryData(['session', orgId, sessionId], updated);
      void queryClient.invalidateQueries({ queryKey: ['sessions', orgId] });
    },
  });
  if (session.isPending) return <Loading what="the session" />;
  if (session.data === undefined) return <ProblemAlert error={session.error} />;
  const s = session.data;
  const ended = ENDED.has(s.status);
  return (
    <>
      <PageHeader
        title={`Session ${s.id}`}
        actions={
          !ended &&
          can('sessions.stop') && (
            <Button
              variant="danger"
              busy={stop.isPending || s.status === 'stopping'}
              onClick={() => stop.mutate()}
            >
              {s.status === 'stopping' ? 'Stopping' : 'Stop session'}
            </Button>
          )
        }
      >
        <StatusBadge status={s.status} />{' '}
        <Link to="/orgs/$orgId/profiles/$profileId" params={{ orgId, profileId: s.profileId }}>
          {profile.data?.name ?? s.profileId}
        </Link>{' '}
        · {s.mode} · started <Time iso={s.createdAt} />
        {s.failureReason !== null && ` · ${s.failureReason}`}
      </PageHeader>
      <ProblemAlert error={stop.error} />
      {s.prompt !== null && (
        <p>
          <strong>Prompt:</strong> {s.prompt}
        </p>
      )}
      <div className="session-layout">
        <div>
          {ended ? (
            <p className="alert alert-info" role="status">
              This session has {s.status}; its terminal is closed.
            </p>
          ) : (
            <>
              {can('sessions.start') && (
                <label className="checkbox">
                  <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly(e.target.checked)} />{' '}
                  Watch read-only
                </label>
              )}
              <TerminalView key={String(readOnly)} orgId={orgId} sessionId={s.id} readOnly={readOnly} />
            </>
          )}
          <section aria-labelledby="history-title" className="section">
            <h2 id="history-title">Status history</h2>
            <ProblemAlert error={events.error} />
            <ol className="timeline">
              {events.data?.items.map((e) => (
                <li key={e.id}>
                  <StatusBadge status={e.toStatus} /> <Time iso={e.at} />
                  {e.reason !== null && <span className="muted"> — {e.reason}</span>}
                </li>
              ))}
            </ol>
          </section>
        </div>
        <ActivityFeed sessionId={s.id} live={!ended} />
      </div>
    </>
  );
}
