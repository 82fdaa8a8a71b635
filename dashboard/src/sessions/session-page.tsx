import { AGENT_NAMES } from '@airlock/schema/api';
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
import { Tabs } from '../ui/tabs.tsx';
import { Time } from '../ui/time.tsx';
import { ActivityFeed } from './activity-feed.tsx';

// A session: its status (polled while it changes), the live terminals — the
// agent's, and a shell next to it for looking around — what its sandbox
// reached for, and its status history.

const ENDED = new Set(['stopped', 'failed']);
const BOOTING = new Set(['pending', 'provisioning']);

export function SessionPage() {
  const { orgId, can } = useOrg();
  const { sessionId } = useParams({ from: '/orgs/$orgId/sessions/$sessionId' });
  const queryClient = useQueryClient();
  const [readOnly, setReadOnly] = useState(!can('sessions.start'));
  const [terminal, setTerminal] = useState<'agent' | 'shell'>('agent');
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
        · {s.mode}
        {s.agentRuntime !== null && (
          <>
            {' '}
            ·{' '}
            <span title="The agent and the CLI version its snapshot installed">
              {AGENT_NAMES[s.agentRuntime]} {s.agentVersion}
            </span>
          </>
        )}{' '}
        · started <Time iso={s.createdAt} />
        {s.failureReason !== null && ` · ${s.failureReason}`}
      </PageHeader>
      <ProblemAlert error={stop.error} />
      {s.leakBlockedAt !== null && (
        <div role="alert" className="alert alert-error">
          <strong>Credential leak blocked</strong> (first at <Time iso={s.leakBlockedAt} />
          ): this session's sandbox sent a key, or the placeholder that stands for one, to a host that is not
          that key's route. Airlock refused the request; nothing was sent.{' '}
          <Link
            to="/orgs/$orgId/audit"
            params={{ orgId }}
            search={{ sessionId: s.id, decision: 'leak_blocked' }}
          >
            See what was blocked
          </Link>
        </div>
      )}
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
              <Tabs
                label="Terminals"
                selected={terminal}
                onSelect={setTerminal}
                tabs={[
                  { key: 'agent', label: 'Agent' },
                  { key: 'shell', label: 'Shell' },
                ]}
              >
                {terminal === 'agent' ? (
                  // The gateway knows the session once its sandbox is being started; an
                  // attach before that could only be refused.
                  BOOTING.has(s.status) ? (
                    <p className="alert alert-info" role="status">
                      The terminal opens once the sandbox has started.
                    </p>
                  ) : (
                    <TerminalView
                      key={`agent-${readOnly}`}
                      orgId={orgId}
                      sessionId={s.id}
                      readOnly={readOnly}
                    />
                  )
                ) : (
                  <ShellTerminal
                    key={`shell-${readOnly}`}
                    orgId={orgId}
                    sessionId={s.id}
                    running={s.status === 'running'}
                    readOnly={readOnly || !can('sessions.start')}
                  />
                )}
              </Tabs>
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

/** The shell next to the agent: opened on first view by whoever may type (idempotent), then attached. */
function ShellTerminal({
  orgId,
  sessionId,
  running,
  readOnly,
}: {
  orgId: string;
  sessionId: string;
  running: boolean;
  readOnly: boolean;
}) {
  const open = useQuery({
    queryKey: ['terminal-open', orgId, sessionId, 'shell'],
    queryFn: () => api.openTerminal(orgId, sessionId, 'shell'),
    enabled: running && !readOnly,
    staleTime: Number.POSITIVE_INFINITY,
    retry: 2,
  });
  if (!running)
    return (
      <p className="alert alert-info" role="status">
        A shell opens once the session is running.
      </p>
    );
  if (!readOnly && open.isPending) return <Loading what="the shell" />;
  return (
    <>
      <ProblemAlert error={open.error} />
      <TerminalView orgId={orgId} sessionId={sessionId} readOnly={readOnly} terminal="shell" />
    </>
  );
}
