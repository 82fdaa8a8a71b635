import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { ApiError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { ConnectionForm } from './connection-form.tsx';
import { integrationsQuery } from './connections-page.tsx';

export function NewConnectionPage() {
  const { orgId } = useOrg();
  const { integration: key } = useSearch({ from: '/orgs/$orgId/connections/new' });
  const catalog = useQuery(integrationsQuery);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const integration = catalog.data?.items.find((i) => i.key === key);
  const create = useMutation({
    mutationFn: (input: {
      name: string;
      config: Record<string, string>;
      credentials: Record<string, string> | undefined;
    }) =>
      api.createConnection(orgId, {
        integration: key ?? '',
        name: input.name,
        config: input.config,
        credentials: input.credentials ?? {},
      }),
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: ['connections', orgId] });
      await navigate({
        to: '/orgs/$orgId/connections/$connectionId',
        params: { orgId, connectionId: created.id },
      });
    },
  });
  if (catalog.isPending) return <Loading what="the catalog" />;
  if (integration === undefined)
    return (
      <>
        <PageHeader title="Unknown integration" />
        <ProblemAlert
          error={catalog.error ?? new Error(`There is no integration "${key ?? ''}" in the catalog.`)}
        />
        <Link to="/orgs/$orgId/connections" params={{ orgId }}>
          Back to connections
        </Link>
      </>
    );
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : [];
  return (
    <>
      <PageHeader title={`Connect ${integration.displayName}`}>{integration.description}</PageHeader>
      <div className="narrow">
        <ConnectionForm
          integration={integration}
          busy={create.isPending}
          serverErrors={fieldErrors}
          submitLabel="Save connection"
          onSubmit={(input) => create.mutate(input)}
        />
        {fieldErrors.length === 0 && <ProblemAlert error={create.error} />}
      </div>
    </>
  );
}
