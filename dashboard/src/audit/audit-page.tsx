import { AUDIT_KINDS, type AuditEvent, EGRESS_DECISIONS } from '@airlock/schema/api';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { SelectField, TextField } from '../ui/field.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';

// The audit trail: every egress decision and control action, attributed to
// a person (or token), a session and a connection. Filters live in the URL;
// pages follow the API's cursor (older), with a stack to go back (newer).

const FILTERS = ['sessionId', 'userId', 'connectionId', 'host', 'decision', 'kind', 'action'] as const;
type Filter = (typeof FILTERS)[number];
export type AuditSearch = Partial<Record<Filter, string>>;

export function auditSearch(search: Record<string, unknown>): AuditSearch {
  const out: AuditSearch = {};
  for (const key of FILTERS) {
    const value = search[key];
    if (typeof value === 'string' && value !== '') out[key] = value;
  }
  return out;
}

export function AuditPage() {
  const { orgId } = useOrg();
  const search = useSearch({ from: '/orgs/$orgId/audit' });
  const navigate = useNavigate({ from: '/orgs/$orgId/audit' });
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const [draft, setDraft] = useState<AuditSearch>(search);
  const page = useQuery({
    queryKey: ['audit', orgId, search, cursor],
    queryFn: () =>
      api.audit(orgId, {
        ...search,
        decision: search.decision as AuditEvent['decision'] & string,
        kind: search.kind as AuditEvent['kind'],
        limit: 50,
        ...(cursor === undefined ? {} : { cursor }),
      }),
    placeholderData: keepPreviousData,
  });
  const members = useQuery({ queryKey: ['members', orgId], queryFn: () => api.members(orgId) });
  const connections = useQuery({ queryKey: ['connections', orgId], queryFn: () => api.connections(orgId) });
  const who = new Map((members.data?.items ?? []).map((m) => [m.userId, m.email]));
  const connectionName = new Map((connections.data?.items ?? []).map((c) => [c.id, c.name]));

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setCursors([]);
    void navigate({ search: auditSearch(draft) });
  };
  const set = (key: Filter, value: string) => setDraft((d) => ({ ...d, [key]: value }));
  const filtered = Object.keys(search).length > 0;

  return (
    <>
      <PageHeader title="Audit">
        Who did what: every request a sandbox made (brokered, passthrough, denied) and every change in this
        organization, with the person, session and connection behind it.
      </PageHeader>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit trail">
        <TextField
          label="Session"
          placeholder="ses_…"
          value={draft.sessionId ?? ''}
          onChange={(e) => set('sessionId', e.target.value)}
        />
        <SelectField
          label="Person"
          value={draft.userId ?? ''}
          onChange={(e) => set('userId', e.target.value)}
        >
          <option value="">Anyone</option>
          {members.data?.items.map((m) => (
            <option key={m.userId} value={m.userId}>
              {m.email}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Connection"
          value={draft.connectionId ?? ''}
          onChange={(e) => set('connectionId', e.target.value)}
        >
          <option value="">Any</option>
          {connections.data?.items.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Host"
          placeholder="api.openai.com"
          value={draft.host ?? ''}
          onChange={(e) => set('host', e.target.value)}
        />
        <SelectField
          label="Decision"
          value={draft.decision ?? ''}
          onChange={(e) => set('decision', e.target.value)}
        >
          <option value="">Any</option>
          {EGRESS_DECISIONS.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </SelectField>
        <SelectField label="Kind" value={draft.kind ?? ''} onChange={(e) => set('kind', e.target.value)}>
          <option value="">Any</option>
          {AUDIT_KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Action"
          placeholder="connection.created"
          value={draft.action ?? ''}
          onChange={(e) => set('action', e.target.value)}
        />
        <div className="row end">
          <Button type="submit" variant="primary">
            Search
          </Button>
          {filtered && (
            <Button
              onClick={() => {
                setDraft({});
                setCursors([]);
                void navigate({ search: {} });
              }}
            >
              Clear
            </Button>
          )}
        </div>
      </form>
      <ProblemAlert error={page.error} />
      {page.isPending ? (
        <Loading what="audit events" />
      ) : page.data?.items.length === 0 ? (
        <EmptyState title={filtered ? 'No events match' : 'Nothing audited yet'}>
          {filtered
            ? 'Loosen the filters, or clear them.'
            : 'Changes to this organization and every request a session makes are recorded here.'}
        </EmptyState>
      ) : (
        <Table
          caption="Audit events, newest first"
          columns={['When', 'What', 'Decision', 'Who', 'Session', 'Connection']}
          className="audit-table"
          busy={page.isFetching}
        >
          {page.data?.items.map((e) => (
            <tr key={e.id}>
              <td>
                <Time iso={e.at} />
              </td>
              <td>
                {e.kind === 'egress' ? (
                  <code>
                    {e.method} {e.host === '*' ? '(other hosts)' : e.host}
                    {e.path}
                    {e.status === null ? '' : ` → ${e.status}`}
                  </code>
                ) : (
                  <span>{e.action}</span>
                )}
                {e.count > 1 && (
                  // Repeated denials are one row per host and minute (ADR 0115).
                  <span className="muted small">
                    {' '}
                    ×{e.count}, last <Time iso={e.lastAt} />
                  </span>
                )}
              </td>
              <td>
                {e.decision === null ? <span className="muted">—</span> : <StatusBadge status={e.decision} />}
              </td>
              <td>
                {e.actorUserId === null ? (
                  <span className="muted">{e.triggerId === null ? 'system' : `trigger ${e.triggerId}`}</span>
                ) : (
                  (who.get(e.actorUserId) ?? e.actorUserId)
                )}
                {e.actorTokenId !== null && <span className="muted small"> via API token</span>}
              </td>
              <td>
                {e.sessionId === null ? (
                  <span className="muted">—</span>
                ) : (
                  <Link to="/orgs/$orgId/sessions/$sessionId" params={{ orgId, sessionId: e.sessionId }}>
                    <code>{e.sessionId}</code>
                  </Link>
                )}
              </td>
              <td>
                {e.connectionId === null ? (
                  <span className="muted">—</span>
                ) : (
                  (connectionName.get(e.connectionId) ?? <code>{e.connectionId}</code>)
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <nav className="row pager" aria-label="Audit pages">
        <Button disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer
        </Button>
        <Button
          disabled={page.data?.nextCursor == null}
          busy={page.isFetching && cursors.length > 0}
          onClick={() => {
            const next = page.data?.nextCursor;
            if (next != null) setCursors((c) => [...c, next]);
          }}
        >
          Older
        </Button>
      </nav>
    </>
  );
}
