import type { Integration } from '@airlock/schema/api';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';

// Connections of the org and the catalog to add one from.

export const integrationsQuery = {
  queryKey: ['integrations'],
  queryFn: () => api.integrations(),
  staleTime: 300_000,
};

const KIND_LABEL: Record<Integration['kind'], string> = {
  model: 'Model provider',
  git: 'Git',
  connector: 'Connector',
  sandbox_provider: 'Sandbox provider',
};

export function ConnectionsPage() {
  const { orgId, can } = useOrg();
  const connections = useQuery({ queryKey: ['connections', orgId], queryFn: () => api.connections(orgId) });
  const catalog = useQuery(integrationsQuery);
  const byKey = new Map((catalog.data?.items ?? []).map((i) => [i.key, i]));
  const manage = can('connections.manage');

  return (
    <>
      <PageHeader title="Connections">
        Accounts Airlock brokers for your sandboxes. Their secrets stay here: a sandbox only ever sees a
        placeholder, and the gateway places the real credential on each allowed request.
      </PageHeader>
      <ProblemAlert error={connections.error} />
      {connections.isPending ? (
        <Loading what="connections" />
      ) : connections.data?.items.length === 0 ? (
        <EmptyState title="No connections yet">
          {manage
            ? 'Add a model provider first (OpenAI or Anthropic): every profile needs one for its agent. Pick one from the catalog below.'
            : 'An owner or admin of this organization adds connections; ask one to connect a model provider.'}
        </EmptyState>
      ) : (
        <Table caption="Connections" columns={['Name', 'Integration', 'Status', 'Updated']}>
          {connections.data?.items.map((c) => (
            <tr key={c.id}>
              <td>
                <Link to="/orgs/$orgId/connections/$connectionId" params={{ orgId, connectionId: c.id }}>
                  {c.name}
                </Link>
              </td>
              <td>{byKey.get(c.integration)?.displayName ?? c.integration}</td>
              <td>
                <StatusBadge status={c.status} />
                {c.statusReason !== null && <span className="muted"> {c.statusReason}</span>}
              </td>
              <td>
                <Time iso={c.updatedAt} />
              </td>
            </tr>
          ))}
        </Table>
      )}

      <section aria-labelledby="catalog-title" className="section">
        <h2 id="catalog-title">Catalog</h2>
        <ProblemAlert error={catalog.error} />
        {catalog.isPending && <Loading what="the catalog" />}
        <ul className="cards">
          {catalog.data?.items.map((integration) => (
            <li key={integration.key} className="card">
              <h3>{integration.displayName}</h3>
              <p className="muted small">{KIND_LABEL[integration.kind]}</p>
              <p>{integration.description}</p>
              <p className="small muted">
                Brokers{' '}
                {[...new Set(integration.routes.flatMap((r) => r.hosts))].join(', ') ||
                  'the host of the URL you give it'}
              </p>
              {manage && (
                <Link
                  className="btn btn-secondary"
                  to="/orgs/$orgId/connections/new"
                  params={{ orgId }}
                  search={{ integration: integration.key }}
                  aria-label={`Connect ${integration.displayName}`}
                >
                  Connect
                </Link>
              )}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
