import { EGRESS_DECISIONS } from '@airlock/schema/api';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Loading } from '../ui/loading.tsx';
import { Time } from '../ui/time.tsx';

// What the session's sandbox reached for, live: every egress decision the
// gateway audited (brokered with a credential, passthrough, denied, a leak
// blocked), newest first, polled from the audit API filtered by this session.

/** What a blocked leak carried and where (the audit never holds the value itself). */
function leakSummary(detail: Readonly<Record<string, unknown>>): string {
  const what = detail.leak === 'placeholder' ? 'the placeholder' : `a key of ${String(detail.connection)}`;
  const where = typeof detail.header === 'string' ? `header ${detail.header}` : String(detail.where);
  return `carried ${what} in ${where} (${String(detail.form)})`;
}

export function ActivityFeed({ sessionId, live }: { sessionId: string; live: boolean }) {
  const { orgId, can } = useOrg();
  const [decision, setDecision] = useState<(typeof EGRESS_DECISIONS)[number] | ''>('');
  const allowed = can('audit.read');
  const activity = useQuery({
    queryKey: ['activity', orgId, sessionId, decision],
    queryFn: () =>
      api.audit(orgId, { sessionId, kind: 'egress', limit: 100, ...(decision === '' ? {} : { decision }) }),
    enabled: allowed,
    refetchInterval: live ? 2000 : false,
  });
  return (
    <section className="activity" aria-labelledby="activity-title">
      <header className="row">
        <h2 id="activity-title">Egress activity</h2>
        {live && allowed && <span className="muted small">live</span>}
        {allowed && (
          <label className="inline">
            <span className="visually-hidden">Decision</span>
            <select value={decision} onChange={(e) => setDecision(e.target.value as typeof decision)}>
              <option value="">All decisions</option>
              {EGRESS_DECISIONS.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
        )}
      </header>
      {!allowed ? (
        <p className="muted">Your role cannot read the audit trail; an owner or admin can.</p>
      ) : activity.isPending ? (
        <Loading what="activity" />
      ) : (
        <>
          <ProblemAlert error={activity.error} />
          {activity.data?.items.length === 0 ? (
            <p className="muted">
              No outbound requests yet. Every request the sandbox makes shows up here: brokered (credential
              injected), passthrough (allowlisted) or denied.
            </p>
          ) : (
            <ol className="feed" aria-live="polite">
              {activity.data?.items.map((e) => (
                <li key={e.id} className={`feed-item feed-${e.decision ?? 'none'}`}>
                  <StatusBadge status={e.decision ?? 'unknown'} />
                  <code className="feed-request">
                    {e.method} {e.host === '*' ? '(other hosts)' : e.host}
                    {e.path}
                  </code>
                  <span className="muted small">
                    {e.status === null ? '' : `${e.status} · `}
                    {e.count > 1 ? `×${e.count} · last ` : ''}
                    {e.count === 1 && e.durationMs !== null ? `${e.durationMs} ms · ` : ''}
                    <Time iso={e.count > 1 ? e.lastAt : e.at} />
                  </span>
                  {typeof e.detail.reason === 'string' && <span className="small">{e.detail.reason}</span>}
                  {e.decision === 'leak_blocked' && <span className="small">{leakSummary(e.detail)}</span>}
                </li>
              ))}
            </ol>
          )}
          <Link to="/orgs/$orgId/audit" params={{ orgId }} search={{ sessionId }}>
            Open in the audit trail
          </Link>
        </>
      )}
    </section>
  );
}
