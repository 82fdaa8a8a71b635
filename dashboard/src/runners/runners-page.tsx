import type { RunnerCredentials } from '@airlock/schema/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { TextField } from '../ui/field.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { SecretOnce } from '../ui/secret-once.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';

// Runners (machines that run Docker sandboxes for this org): their health and
// how much of their capacity is in use, and registering a new one.

export function RunnersPage() {
  const { orgId, can } = useOrg();
  const queryClient = useQueryClient();
  const runners = useQuery({
    queryKey: ['runners', orgId],
    queryFn: () => api.runners(orgId),
    refetchInterval: 10_000,
  });
  const quota = useQuery({
    queryKey: ['quota', orgId],
    queryFn: () => api.quota(orgId),
    refetchInterval: 10_000,
  });
  const [name, setName] = useState('');
  const [created, setCreated] = useState<RunnerCredentials | null>(null);
  const register = useMutation({
    mutationFn: () => api.registerRunner(orgId, { name }),
    onSuccess: async (result) => {
      setCreated(result);
      setName('');
      await queryClient.invalidateQueries({ queryKey: ['runners', orgId] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.revokeRunner(orgId, id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['runners', orgId] }),
  });
  const items = runners.data?.items ?? [];
  const active = items.filter((r) => r.revokedAt === null);
  const used = active.reduce((n, r) => n + r.activeSandboxes, 0);
  const capacity = active.filter((r) => r.healthy).reduce((n, r) => n + r.capacity, 0);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    register.mutate();
  };
  return (
    <>
      <PageHeader title="Runners">
        Machines that run this organization's Docker sandboxes. Each holds a connection to Airlock and reports
        its health; sessions go to a healthy runner with free capacity.
      </PageHeader>
      <section className="quota" aria-label="Quota">
        <p>
          <strong>{used}</strong> of <strong>{capacity}</strong> sandbox slots in use on healthy runners
        </p>
        {quota.data !== undefined && (
          <p>
            <strong>{quota.data.activeSessions}</strong> of{' '}
            <strong>{quota.data.maxConcurrentSessions}</strong> concurrent sessions allowed for this
            organization · at most {quota.data.sessionStartsPerMinute} starts a minute · sessions stop after{' '}
            {Math.round(quota.data.idleTimeoutSeconds / 60)} idle minutes or{' '}
            {Math.round(quota.data.sessionTtlSeconds / 3600)} hours
          </p>
        )}
        <ProblemAlert error={quota.error} />
      </section>
      <ProblemAlert error={runners.error ?? revoke.error} />
      {runners.isPending ? (
        <Loading what="runners" />
      ) : items.length === 0 ? (
        <EmptyState title="No runners registered">
          {can('runners.manage')
            ? 'Register a runner below, then start it on a machine with Docker using the token shown once. ./dev start runs one locally.'
            : 'An owner or admin registers runners.'}
        </EmptyState>
      ) : (
        <Table
          caption="Runners"
          columns={[
            'Name',
            'Health',
            'Sandboxes',
            'Provider',
            'Version',
            'Last heartbeat',
            can('runners.manage') && 'Actions',
          ]}
        >
          {items.map((r) => (
            <tr key={r.id}>
              <td>{r.name}</td>
              <td>
                <StatusBadge status={r.status === 'online' && !r.healthy ? 'unhealthy' : r.status} />
              </td>
              <td>
                <meter
                  min={0}
                  max={r.capacity}
                  value={r.activeSandboxes}
                  aria-label={`${r.name} sandboxes in use`}
                />{' '}
                {r.activeSandboxes} / {r.capacity}
              </td>
              <td>{r.provider}</td>
              <td>{r.version ?? <span className="muted">—</span>}</td>
              <td>
                <Time iso={r.lastHeartbeatAt} />
              </td>
              {can('runners.manage') && (
                <td>
                  {r.revokedAt === null && (
                    <Button
                      variant="danger"
                      busy={revoke.isPending && revoke.variables === r.id}
                      onClick={() => revoke.mutate(r.id)}
                    >
                      Revoke
                    </Button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </Table>
      )}
      {can('runners.manage') && (
        <section className="section narrow" aria-labelledby="register-runner">
          <h2 id="register-runner">Register a runner</h2>
          {created !== null && (
            <SecretOnce label={`Runner token for ${created.runner.name}`} value={created.token} />
          )}
          <form onSubmit={onSubmit} className="row end">
            <TextField label="Name" required value={name} onChange={(e) => setName(e.target.value)} />
            <Button type="submit" variant="primary" busy={register.isPending}>
              Register
            </Button>
          </form>
          <ProblemAlert error={register.error} />
        </section>
      )}
    </>
  );
}
