import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { ApiError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { Notice, ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { Dialog } from '../ui/dialog.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { Time } from '../ui/time.tsx';
import { ConnectionForm } from './connection-form.tsx';
import { integrationsQuery } from './connections-page.tsx';

// One connection: what it brokers, whether it works (Test connection), its
// settings (secrets only as "stored"), and revoke / delete.

export function ConnectionPage() {
  const { orgId, can } = useOrg();
  const { connectionId } = useParams({ from: '/orgs/$orgId/connections/$connectionId' });
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const key = ['connections', orgId, connectionId];
  const connection = useQuery({ queryKey: key, queryFn: () => api.connection(orgId, connectionId) });
  const catalog = useQuery(integrationsQuery);
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const manage = can('connections.manage');
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ['connections', orgId] });
  };

  const test = useMutation({ mutationFn: () => api.testConnection(orgId, connectionId) });
  const update = useMutation({
    mutationFn: (body: Parameters<typeof api.updateConnection>[2]) =>
      api.updateConnection(orgId, connectionId, body),
    onSuccess: async (updated) => {
      queryClient.setQueryData(key, updated);
      setEditing(false);
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: () => api.deleteConnection(orgId, connectionId),
    onSuccess: async () => {
      await refresh();
      await navigate({ to: '/orgs/$orgId/connections', params: { orgId } });
    },
  });

  if (connection.isPending) return <Loading what="the connection" />;
  if (connection.data === undefined) return <ProblemAlert error={connection.error} />;
  const c = connection.data;
  const integration = catalog.data?.items.find((i) => i.key === c.integration);
  const fieldErrors = update.error instanceof ApiError ? update.error.fieldErrors : [];

  return (
    <>
      <PageHeader
        title={c.name}
        actions={
          manage && (
            <>
              {integration?.testable === true && (
                <Button variant="primary" busy={test.isPending} onClick={() => test.mutate()}>
                  Test connection
                </Button>
              )}
              <Button onClick={() => setEditing((e) => !e)} aria-expanded={editing}>
                {editing ? 'Cancel editing' : 'Edit'}
              </Button>
              <Button
                busy={update.isPending && !editing}
                onClick={() => update.mutate({ status: c.status === 'revoked' ? 'active' : 'revoked' })}
              >
                {c.status === 'revoked' ? 'Restore' : 'Revoke'}
              </Button>
              <Button variant="danger" onClick={() => setConfirmDelete(true)}>
                Delete
              </Button>
            </>
          )
        }
      >
        {integration?.displayName ?? c.integration} · <StatusBadge status={c.status} />
        {c.statusReason !== null && ` ${c.statusReason}`}
      </PageHeader>

      {test.data !== undefined && (
        <div role="status" className={`alert ${test.data.ok ? 'alert-success' : 'alert-error'}`}>
          <strong>{test.data.ok ? 'Connection works.' : 'Connection test failed.'}</strong> {test.data.detail}{' '}
          <span className="muted small">
            ({test.data.request}, {test.data.durationMs} ms)
          </span>
        </div>
      )}
      <ProblemAlert error={test.error} />
      {!editing && fieldErrors.length === 0 && <ProblemAlert error={update.error} />}

      {editing && integration !== undefined ? (
        <section className="narrow section" aria-label="Edit connection">
          <ConnectionForm
            integration={integration}
            existing={c}
            busy={update.isPending}
            serverErrors={fieldErrors}
            submitLabel="Save changes"
            onSubmit={({ name, config, credentials }) =>
              update.mutate({ name, config, ...(credentials === undefined ? {} : { credentials }) })
            }
          />
          {fieldErrors.length === 0 && <ProblemAlert error={update.error} />}
        </section>
      ) : (
        <dl className="facts">
          <dt>Credentials</dt>
          <dd>
            {c.credentialFields.length === 0
              ? 'none'
              : c.credentialFields.map((f) => (
                  <span key={f} className="chip">
                    {f}: stored, hidden
                  </span>
                ))}
          </dd>
          {Object.entries(c.config).map(([name, value]) => (
            <div key={name} className="fact">
              <dt>{integration?.configFields.find((f) => f.name === name)?.label ?? name}</dt>
              <dd>
                <code>{String(value)}</code>
              </dd>
            </div>
          ))}
          <dt>Brokered hosts</dt>
          <dd>
            {integration === undefined
              ? '…'
              : [...new Set(integration.routes.flatMap((r) => r.hosts))].join(', ') ||
                'the host of its base URL'}
          </dd>
          <dt>Sandbox environment</dt>
          <dd>{integration?.env.join(', ') || 'none'}</dd>
          <dt>Created</dt>
          <dd>
            <Time iso={c.createdAt} />
          </dd>
        </dl>
      )}
      {integration?.testable === false && manage && (
        <Notice>
          {integration.displayName} connections cannot be tested from here; start a session to try one.
        </Notice>
      )}

      <Dialog open={confirmDelete} title={`Delete ${c.name}?`} onClose={() => setConfirmDelete(false)}>
        <p>
          Sessions that use it lose access at once. A connection that a profile version uses cannot be
          deleted; revoke it instead.
        </p>
        <ProblemAlert error={remove.error} />
        <div className="row">
          <Button variant="danger" busy={remove.isPending} onClick={() => remove.mutate()}>
            Delete connection
          </Button>
          <Button onClick={() => setConfirmDelete(false)}>Cancel</Button>
        </div>
      </Dialog>
    </>
  );
}
